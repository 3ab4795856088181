"""The `seq` high-water mark kept outside the database, so `seq` is never reused (issue 12, finding 4).

SQLite alone cannot promise it: a flipped byte in a WAL frame makes SQLite drop that frame and every
later one (8 committed rows gone, their seqs handed out again), a deleted `-wal` after a kill loses the
rows committed since the last checkpoint, a zeroed header loses the file. So `<store>.seq` (a few bytes
of JSON, written atomically: temp file, fsync, rename, fsync of the directory) holds the end of a block of
`BLOCK` seqs reserved *before* any of them is committed, and at a clean stop the exact next seq.

At start: after a clean stop whose next seq matches the database, numbering simply continues; otherwise
(kill, power cut, damage, a store file replaced) it continues from the reserved end, above any seq that
may have been used, and the outbox publishes the skipped range on `store/seq_skipped` so a consumer
can tell "never assigned or lost with the store" from a silent loss. One small file write per `BLOCK`
messages (and one per start and stop): nothing against the write budget.
"""

from __future__ import annotations

__all__ = ["BLOCK", "SeqMark", "skipped_message"]

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from agent.clock import iso_utc
from agent.store.messages import OutMessage, Priority

log = logging.getLogger(__name__)
BLOCK = 1000


class SeqMark:
    def __init__(self, store: Path) -> None:
        self.path = Path(f"{store}.seq")
        self.reserved = 0  # seqs below this may have been handed out
        self._clean_next: int | None = None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.reserved = int(data["reserved"])
            clean = data.get("clean_next")
            self._clean_next = int(clean) if clean is not None else None
            self.found = True
        except FileNotFoundError:
            self.found = False
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("seq mark %s unreadable (%s): continuing from the store's own count", self.path, exc)
            self.found = False

    def start(self, db_next: int) -> tuple[int, str]:
        """The first seq to use, and why it skips ahead of the database's own count ("" if it does not)."""
        if not self.found or db_next >= self.reserved or self._clean_next == db_next:
            reason = ""
        elif self._clean_next is not None:
            reason = "store_replaced_or_damaged"
        else:
            reason = "unclean_stop"
        start = db_next if not reason else self.reserved
        self._write(max(self.reserved, start + BLOCK), None)  # a first block; dirty until close()
        return start, reason

    def cover(self, next_seq: int) -> None:
        """Before committing seqs below `next_seq`: make sure the mark on disk is above them (OSError
        if it cannot be written and they are not covered: the caller treats it as a refused write)."""
        if next_seq + BLOCK // 2 <= self.reserved:
            return
        try:  # extended half a block early, so a full disk still leaves seqs for held alarms
            self._write(next_seq + BLOCK, None)
        except OSError:
            if next_seq > self.reserved:
                raise

    def close(self, next_seq: int) -> None:
        try:
            self._write(max(self.reserved, next_seq), next_seq)
        except OSError as exc:
            log.error("seq mark %s not written at stop: %s", self.path, exc)

    def _write(self, reserved: int, clean_next: int | None) -> None:
        temp = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps({"reserved": reserved, "clean_next": clean_next}).encode()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.reserved, self._clean_next = reserved, clean_next


def skipped_message(first: int, end: int, reason: str, now_s: float) -> OutMessage:
    """`store/seq_skipped`: seqs `first`…`end − 1` were never assigned, or were lost with the store."""
    body = {
        "schema": "doseedge.seq_skipped.v1",
        "ts": iso_utc(datetime.fromtimestamp(now_s, UTC)),
        "from_seq": first,
        "to_seq": end - 1,
        "reason": reason,
    }
    return OutMessage("store/seq_skipped", body, Priority.ALARM)
