"""The two per-message costs of numbering a message (issue 17, docs/decisions.md §25): its JSON body and
its `record_id`.

`dumps`: orjson (~1 µs a reading body against ~12 µs for `json.dumps`), compact, UTF-8, keys in the
body's order. A body orjson cannot write the way `json.dumps` did goes through `json.dumps`: one it
refuses (an integer over 64 bits, a key that is not a string) and one holding `null` — orjson writes a
NaN or an infinity as `null`, while an implausible frame is stored as it was (`NaN`), so any body
with a `null` in it is written by `json.dumps`, byte for byte as before. What remains different is the
spelling of an exponent (`1e16`, not `1e+16`): the same number to every JSON reader.

`RecordIds`: a UUID (RFC 9562 version 8, the form schemas/ check) made of 74 random bits drawn once
per store opening and a 48-bit counter: unique like a uuid4 across stations and restarts, without
16 bytes from the OS and a UUID object per message.
"""

from __future__ import annotations

__all__ = ["RecordIds", "dumps"]

import json
import uuid
from typing import Any

import orjson

COUNTER = (1 << 48) - 1


def dumps(body: dict[str, Any]) -> bytes:
    try:
        payload = orjson.dumps(body)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    if b"null" in payload:  # maybe a NaN or an infinity orjson wrote as null: the standard encoder
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return payload


class RecordIds:
    """`next()`: a uuid4's first 80 bits with the version set to 8, then a 48-bit counter that starts
    at the uuid4's last 48 bits: distinct for 2**48 messages, random across openings."""

    def __init__(self) -> None:
        start = uuid.uuid4().int & ~(0xF << 76) | (0x8 << 76)
        self._prefix = str(uuid.UUID(int=start))[:24]  # xxxxxxxx-xxxx-8xxx-Vxxx-
        self._start = start & COUNTER
        self._count = 0

    def next(self) -> str:
        self._count += 1
        return f"{self._prefix}{(self._start + self._count) & COUNTER:012x}"
