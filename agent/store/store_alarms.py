"""The outbox's own alarms and its bound, as a base of agent/store/outbox.py `Outbox` (kept apart to
keep that module short): `store_pressure` raised before eviction and cleared below the clear fraction
(agent/store/bound.py), `store_failing` (its id kept in memory: the store cannot be written),
`store_recovered` with the rows a damaged store still held. Raise/clear pairs share an `alarm_id`,
kept in the `store_alarms` table when the store can be written.
"""

from __future__ import annotations

__all__ = ["StoreAlarms"]

import logging
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from agent.config import StoreConfig
from agent.store.bound import evict, limit_bytes, used_bytes
from agent.store.messages import AlarmFactory, OutMessage, StoreAlarm, StoredMessage
from agent.store.recovery import COLUMNS, Recovery
from agent.store.seqmark import SeqMark

log = logging.getLogger(__name__)


class StoreAlarms:
    """Needs, from the outbox: its connection, config, alarm factory, seq mark and `_insert`."""

    path: Any
    config: StoreConfig
    over_bound: bool
    evictions: int
    _db: sqlite3.Connection
    _page_size: int
    _alarm: AlarmFactory
    _failing_alarm_id: str
    _mark: SeqMark | None
    _next_seq: int
    _wall: Callable[[], float]

    def _insert(self, messages: list[OutMessage]) -> list[StoredMessage]:
        raise NotImplementedError

    def _count(self, key: str, n: int) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ bound (agent/store/bound.py)

    def used_bytes(self) -> int:
        return used_bytes(self._db, self._page_size)

    def _limit(self, which: str) -> float:
        return limit_bytes(self.config, which)

    def _enforce_bound(self) -> list[StoredMessage]:
        """Inside the append transaction: raise store_pressure, then evict if over the bound."""
        stored: list[StoredMessage] = []
        used = self.used_bytes()
        if used >= self._limit("pressure") and not self._alarm_id("store_pressure"):
            alarm = self._store_alarm(
                "store_pressure",
                "raised",
                "warning",
                "The record store is nearly full: oldest readings will be dropped, then records",
                {"used_bytes": used, "max_bytes": self.config.max_bytes},
            )
            stored += self._insert([alarm])
        if used > self._limit("max"):
            self.evictions += 1  # rows may be gone that a reader holds in memory (agent/link/forwarder.py)
            used = evict(self._db, used, self._limit("evict_to"), self._page_size, self._count)
            over = used > self._limit("max")
            if over and not self.over_bound:
                log.error("store %s over its bound with alarms only (%d bytes)", self.path, used)
            self.over_bound = over
        return stored

    # ------------------------------------------------------------------ store alarms

    def _alarm_id(self, alarm_type: str) -> str:
        row = self._db.execute("SELECT alarm_id FROM store_alarms WHERE alarm_type=?", (alarm_type,))
        found = row.fetchone()
        return str(found[0]) if found else ""

    def _store_alarm(
        self, alarm_type: str, state: str, severity: str, message: str, details: dict[str, Any] | None = None
    ) -> OutMessage:
        """Build a store alarm; raise/clear pairs share an alarm_id (kept in the store when possible)."""
        if alarm_type == "store_failing":  # the store cannot be written: keep the id in memory
            if state == "raised" or not self._failing_alarm_id:
                self._failing_alarm_id = str(uuid.uuid4())
            alarm_id = self._failing_alarm_id
        elif state == "raised":
            alarm_id = str(uuid.uuid4())
            self._db.execute("INSERT OR REPLACE INTO store_alarms VALUES (?, ?)", (alarm_type, alarm_id))
        else:
            alarm_id = self._alarm_id(alarm_type) or str(uuid.uuid4())
            self._db.execute("DELETE FROM store_alarms WHERE alarm_type=?", (alarm_type,))
        return self._alarm(StoreAlarm(alarm_id, alarm_type, state, severity, message, details or {}))

    def _restore(self, recovery: Recovery) -> None:
        """Fill a fresh store with what a damaged one still held, and say so with an alarm."""
        floor = recovery.next_seq or int(self._wall() * 1000) * 1000  # never go back
        if self._mark is not None and self._mark.found:
            floor = max(floor, self._mark.reserved)  # nothing the damaged store may have used
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany(
            f"INSERT OR IGNORE INTO outbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            recovery.rows,
        )
        self._next_seq = floor
        self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (floor,))
        details = {
            "problem": recovery.problem,
            "moved_to": recovery.moved_to,
            "rows_salvaged": len(recovery.rows),
            "rows_rejected": recovery.rejected,
            "next_seq": floor,
        }
        raised = self._store_alarm(
            "store_recovered",
            "raised",
            "high",
            "The record store was damaged: moved aside, readable rows kept, fresh store started",
            details,
        )
        self._insert([raised])
        self._db.execute("DELETE FROM store_alarms WHERE alarm_type='store_recovered'")
        self._db.execute("COMMIT")
