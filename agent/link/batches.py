"""Several readings in one MQTT message when a backlog exists (issue 17; docs/mqtt.md `readings`,
docs/decisions.md §25).

A QoS 1 publish through paho costs ~100 µs of Python per message (publish, PUBACK, hand-over to the loop):
that, not SQLite, bounds how many readings a second one core can send. When more readings wait than the
in-flight window can take one by one, the forwarder packs consecutive readings of one device into a
`doseedge.readings.v2` message on `readings/<device>`: the envelope, `device`, `count` and `readings`, the
stored `doseedge.reading.v2` bodies byte for byte (each keeps its own `ts`, `seq`, `record_id`). Every
row of a batch is deleted only when the batch is acknowledged; a batch lost with the connection is sent
again, whole (at-least-once, like a single message). Alarms, records and command results are never
packed, and without a backlog nothing is: one reading per message, as before.
"""

from __future__ import annotations

__all__ = ["BATCH_SCHEMA", "Outgoing", "pack", "single"]

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from agent.store.messages import StoredMessage

BATCH_SCHEMA = "doseedge.readings.v2"


class Outgoing(NamedTuple):
    """One MQTT message the forwarder sends and the stored rows it carries."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    priority: int
    rows: tuple[int, ...]


def single(message: StoredMessage) -> Outgoing:
    return Outgoing(
        message.topic, message.payload, message.qos, message.retain, message.priority, (message.id,)
    )


def pack(
    readings: list[StoredMessage], slots: int, per_message: int, envelope: Callable[[], dict[str, Any]]
) -> list[Outgoing]:
    """At most `slots` messages for `readings` (oldest first): one per reading when they fit, else
    up to `per_message` readings of one device per message. Readings left out are sent next time."""
    if per_message <= 1 or len(readings) <= slots:
        return [single(m) for m in readings[:slots]]
    by_topic: dict[str, list[StoredMessage]] = {}
    for message in readings:
        by_topic.setdefault(message.topic, []).append(message)
    chunks = [
        group[start : start + per_message]
        for group in by_topic.values()
        for start in range(0, len(group), per_message)
    ]
    chunks.sort(key=lambda chunk: chunk[0].id)  # the oldest reading's message first
    base = envelope()
    return [_batch(chunk, base) if len(chunk) > 1 else single(chunk[0]) for chunk in chunks[:slots]]


def _batch(chunk: list[StoredMessage], base: dict[str, Any]) -> Outgoing:
    first = chunk[0]
    device = first.topic.partition("/")[2]
    head = json.dumps(
        {**base, "device": device, "count": len(chunk)}, ensure_ascii=False, separators=(",", ":")
    )
    payload = b"".join((head[:-1].encode(), b',"readings":[', b",".join(m.payload for m in chunk), b"]}"))
    return Outgoing(
        f"readings/{device}", payload, first.qos, False, first.priority, tuple(m.id for m in chunk)
    )
