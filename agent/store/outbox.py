"""The durable outbox: every message is committed to SQLite (WAL) before it is published, and
deleted only when the broker acknowledged it (QoS 1 PUBACK). Spec: docs/store.md.

Each message gets a per-station monotonic `seq` and a globally unique `record_id` at append
time, inside the same transaction, so a consumer can drop duplicates and see gaps. The store is
bounded by `[store] max_bytes`: a `store_pressure` alarm is committed before eviction starts, and
eviction takes readings, then records, oldest first — never an alarm — and counts each one
(agent/store/bound.py). A disk that refuses writes raises StoreError (the pipeline holds messages
in memory) and a `store_failing` alarm; a damaged file at start-up is moved aside
(agent/store/recovery.py). The message types live in agent/store/messages.py and are exported here.
"""

from __future__ import annotations

__all__ = [
    "AlarmFactory",
    "OutMessage",
    "Outbox",
    "Priority",
    "StoreAlarm",
    "StoredMessage",
    "read_stats",
]

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.config import StoreConfig
from agent.store.bound import EVICTABLE, evict, limit_bytes, used_bytes
from agent.store.messages import (
    AlarmFactory,
    OutMessage,
    Priority,
    StoreAlarm,
    StoredMessage,
    plain_alarm,
)
from agent.store.recovery import COLUMNS, Recovery, open_or_recover
from core.errors import StoreError

log = logging.getLogger(__name__)
# The agent's own state (open procedure, alarm book: agent/restart_state.py), one JSON row per key,
# written in the same transaction as the messages it goes with, so the two never disagree after a kill.
STATE_SCHEMA = "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
DEAD_LETTER_MAX = 10_000  # refused messages kept for inspection (all are counted in meta)


class Outbox:
    def __init__(
        self,
        path: str | Path,
        config: StoreConfig | None = None,
        alarm: AlarmFactory = plain_alarm,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.config = config or StoreConfig(path=str(path))
        self._alarm = alarm
        self._wall = wall
        self._held: list[OutMessage] = []  # store alarms waiting for a store that accepts writes
        self.failing = ""  # last write error while the store refuses writes
        self._failing_alarm_id = ""
        self._failing_cleared: OutMessage | None = None
        self.over_bound = False
        try:
            self._db, self.recovery = open_or_recover(self.path, self.config.wal_max_bytes)
            (self._page_size,) = self._db.execute("PRAGMA page_size").fetchone()
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('next_seq', 1)")
            self._db.execute(STATE_SCHEMA)
            if self.recovery is not None:
                self._restore(self.recovery)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc

    # ------------------------------------------------------------------ writing

    def append(self, messages: list[OutMessage], state: dict[str, str] | None = None) -> list[StoredMessage]:
        """Commit all `messages` in one transaction (group commit) and return them as stored.

        `state` (key → JSON text) is written in the same transaction: see `load_state`."""
        if not messages and not self._held and not state:
            return []
        batch = self._held + messages
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if self.failing:
                if self._failing_cleared is None:
                    self._failing_cleared = self._store_alarm(
                        "store_failing", "cleared", "warning", "The record store writes again"
                    )
                batch.append(self._failing_cleared)
            stored = self._insert(batch)
            if state:
                self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", state.items())
            stored += self._enforce_bound()
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._write_failed(exc)
            raise StoreError(f"store append failed ({self.path}): {exc}") from exc
        if self.failing:
            log.warning("store %s accepts writes again", self.path)
        self._held, self.failing, self._failing_cleared = [], "", None
        return stored

    def _insert(self, messages: list[OutMessage]) -> list[StoredMessage]:
        (seq,) = self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
        now = self._wall()
        stored: list[StoredMessage] = []
        for message in messages:
            record_id = str(uuid.uuid4())
            body = {**message.body, "seq": seq, "record_id": record_id}
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            row = (seq, record_id, int(message.priority), message.topic, message.qos, payload)
            cursor = self._db.execute(
                f"INSERT INTO outbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, int(message.retain), now),
            )
            assert cursor.lastrowid is not None
            stored.append(StoredMessage(cursor.lastrowid, *row, message.retain, now))
            seq += 1
        self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (seq,))
        return stored

    def _write_failed(self, exc: sqlite3.Error) -> None:
        if not self.failing:
            log.error("STORE REFUSES WRITES (%s): %s", self.path, exc)
            self._held.append(
                self._store_alarm(
                    "store_failing",
                    "raised",
                    "high",
                    "The record store cannot write (disk full or read-only): records held in memory",
                    {"error": str(exc), "store": str(self.path)},
                )
            )
        self.failing = str(exc)

    def dead_letter(self, reasons: dict[int, str]) -> list[StoredMessage]:
        """Move messages the broker refused out of the queue into the dead-letter table (kept for a
        physicist to read, counted, at most DEAD_LETTER_MAX rows). Returns the messages moved."""
        if not reasons:
            return []
        marks = ",".join("?" * len(reasons))
        rows = self._db.execute(f"SELECT id, {COLUMNS} FROM outbox WHERE id IN ({marks})", list(reasons))
        moved = [
            StoredMessage(i, seq, rid, prio, topic, qos, payload, bool(retain), created)
            for i, seq, rid, prio, topic, qos, payload, retain, created in rows.fetchall()
        ]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO dead_letter (seq, record_id, topic, payload, reason, refused_s)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(m.seq, m.record_id, m.topic, m.payload, reasons[m.id], self._wall()) for m in moved],
            )
            self._db.executemany("DELETE FROM outbox WHERE id=?", [(m.id,) for m in moved])
            self._count("dead_lettered", len(moved))
            (kept,) = self._db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()
            if kept > DEAD_LETTER_MAX:
                self._db.execute(
                    "DELETE FROM dead_letter WHERE id IN (SELECT id FROM dead_letter ORDER BY id LIMIT ?)",
                    (kept - DEAD_LETTER_MAX,),
                )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store dead-letter failed ({self.path}): {exc}") from exc
        return moved

    def delete(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in ids])
            if self._alarm_id("store_pressure") and self.used_bytes() < self._limit("clear"):
                self._insert([self._store_alarm("store_pressure", "cleared", "warning", "store below bound")])
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store delete failed ({self.path}): {exc}") from exc

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
        next_seq = recovery.next_seq or int(self._wall() * 1000) * 1000  # never go back
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany(
            f"INSERT OR IGNORE INTO outbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            recovery.rows,
        )
        self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (next_seq,))
        details = {
            "problem": recovery.problem,
            "moved_to": recovery.moved_to,
            "rows_salvaged": len(recovery.rows),
            "rows_rejected": recovery.rejected,
            "next_seq": next_seq,
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

    # ------------------------------------------------------------------ reading

    def pending(
        self,
        limit: int,
        exclude: set[int] | None = None,
        *,
        priorities: tuple[int, ...] = (Priority.ALARM, Priority.RECORD, Priority.READING),
        min_id: int = 0,
        below_id: int | None = None,
    ) -> list[StoredMessage]:
        """Oldest first within priority, skipping ids already in flight; optionally an id range."""
        exclude = exclude or set()
        marks = ",".join("?" * len(priorities))
        rows = self._db.execute(
            f"SELECT id, {COLUMNS} FROM outbox WHERE priority IN ({marks}) AND id >= ? AND id < ?"
            " ORDER BY priority, id LIMIT ?",
            (*priorities, min_id, below_id if below_id is not None else 2**63 - 1, limit + len(exclude)),
        ).fetchall()
        return [
            StoredMessage(i, seq, rid, prio, topic, qos, payload, bool(retain), created)
            for i, seq, rid, prio, topic, qos, payload, retain, created in rows
            if i not in exclude
        ][:limit]

    def next_id(self) -> int:
        """The row id the next append will get at the earliest (AUTOINCREMENT never reuses)."""
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
        return int(row[0]) + 1 if row else 1

    def load_state(self) -> dict[str, str]:
        """The agent state last committed with `append(…, state=…)` (empty for a fresh store)."""
        return {str(k): str(v) for k, v in self._db.execute("SELECT key, value FROM state")}

    def depth(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def stats(self) -> dict[str, Any]:
        """Health as data: depth per priority, oldest unsent age, evictions, bytes (docs/store.md)."""
        return {
            **read_stats(self._db, self._wall()),
            "max_bytes": self.config.max_bytes,
            "over_bound": self.over_bound,
            "failing": self.failing,
        }

    def close(self) -> None:
        self._db.close()

    def _count(self, key: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
            (key, n),
        )

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def read_stats(db: sqlite3.Connection, now_s: float) -> dict[str, Any]:
    """The store's own figures, from any connection (also a read-only one: `doseedge store status`)."""
    depth = {p.name.lower(): 0 for p in Priority}
    for priority, count in db.execute("SELECT priority, COUNT(*) FROM outbox GROUP BY priority"):
        depth[Priority(priority).name.lower()] = int(count)
    row = db.execute("SELECT created_s FROM outbox ORDER BY id LIMIT 1").fetchone()
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    active = [r[0] for r in db.execute("SELECT alarm_type FROM store_alarms")]
    return {
        "depth": depth,
        "unsent": sum(depth.values()),
        "oldest_unsent_age_s": round(now_s - row[0], 3) if row and row[0] else 0.0,
        "evicted": {p.name.lower(): int(meta.get(f"evicted_{p.name.lower()}", 0)) for p in EVICTABLE},
        "next_seq": int(meta.get("next_seq", 1)),
        "dead_lettered": int(meta.get("dead_lettered", 0)),
        "used_bytes": used_bytes(db, page_size),
        "pressure": "store_pressure" in active,
    }
