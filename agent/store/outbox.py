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

import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from agent.config import StoreConfig
from agent.store.bound import wal_budget
from agent.store.deadletter import move_to_dead_letter
from agent.store.deep_check import full_check_due
from agent.store.held import Held
from agent.store.json_body import RecordIds, dumps
from agent.store.messages import (
    AlarmFactory,
    OutMessage,
    Priority,
    StoreAlarm,
    StoredMessage,
    plain_alarm,
)
from agent.store.recovery import COLUMNS, open_or_recover
from agent.store.seqmark import SeqMark, skipped_message
from agent.store.stats import file_size, read_stats
from agent.store.store_alarms import StoreAlarms
from core.errors import StoreError

log = logging.getLogger(__name__)
SYNC_LAG_S = 5.0  # readings-only commits are fsynced at least this often (docs/store.md, write budget)
PROBE_HELD = 64  # a store refusing writes with this many held: retry with the new messages alone first
# The agent's own state (open procedure, alarm book: agent/restart_state.py), one JSON row per key,
# written in the same transaction as the messages it goes with, so the two never disagree after a kill.
STATE_SCHEMA = "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
F = TypeVar("F", bound=Callable[..., Any])
Row = tuple[int, str, int, str, int, bytes, int, float]  # the outbox table's COLUMNS


def _locked(method: F) -> F:
    """One thread at a time on the connection: the store writer's thread commits
    (agent/store/writer.py) while the event loop reads what to publish."""

    @functools.wraps(method)
    def wrapper(self: Outbox, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Outbox(StoreAlarms):
    def __init__(
        self,
        path: str | Path,
        config: StoreConfig | None = None,
        alarm: AlarmFactory = plain_alarm,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        self.config = config or StoreConfig(path=str(path))
        self._alarm = alarm
        self._wall = wall
        self.held = Held()  # messages the store refused, numbered, publishable (agent/store/held.py)
        self.deferred: set[int] = set()  # acknowledged rows, deleted with the next commit
        self._lazy = False  # the connection is at synchronous=NORMAL (readings-only commits)
        self._synced_at = 0.0
        self.failing = ""  # last write error while the store refuses writes
        self._failing_alarm_id = ""
        self.over_bound = False
        self.evictions = 0  # transactions that evicted rows (agent/store/bound.py)
        self._next_seq = 1
        self.last_id = 0  # the highest row id committed (the forwarder's live backlog: agent/backpressure.py)
        self._mark = SeqMark(self.path) if str(path) != ":memory:" else None
        self._record_ids = RecordIds()
        try:
            memory = str(path) == ":memory:"
            full = memory or full_check_due(self.path, self.config.startup_check_max_bytes)
            self.deep_check_due = not full  # agent/app.py checks it once monitoring runs
            self._db, self.recovery = open_or_recover(self.path, wal_budget(self.config), full)
            (self._page_size,) = self._db.execute("PRAGMA page_size").fetchone()
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('next_seq', 1)")
            self._db.execute(STATE_SCHEMA)
            if self.recovery is not None:
                self._restore(self.recovery)  # numbering continues above the mark: no skip to announce
            else:
                self._next_seq = self._start_seq()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc

    def _start_seq(self) -> int:
        """Continue `seq` above anything that may have been handed out (agent/store/seqmark.py)."""
        (db_next,) = self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
        if self._mark is None:
            return int(db_next)
        start, reason = self._mark.start(int(db_next))
        if reason:
            log.error("STORE SEQ SKIPPED %d–%d (%s): rows may be lost", db_next, start - 1, reason)
            self._db.execute("BEGIN IMMEDIATE")
            self._next_seq = start
            self._insert([skipped_message(int(db_next), start, reason, self._wall())])
            self._db.execute("COMMIT")
            return self._next_seq
        return start

    # ------------------------------------------------------------------ writing

    @_locked
    def append(
        self, messages: list[OutMessage], state: dict[str, str] | None = None, *, readings_only: bool = False
    ) -> list[StoredMessage]:
        """Commit all `messages` in one transaction (group commit) and return them as stored.

        `state` (key → JSON text) is written in the same transaction: see `load_state`. If the store
        refuses the write, the messages are held in memory, numbered and publishable, a `store_failing`
        alarm is raised with them, and StoreError is raised; the next append writes them first.
        `readings_only` (the pipeline's commit window): the commit is not fsynced (synchronous=NORMAL)
        unless the last fsynced one is `SYNC_LAG_S` old; any other commit is fsynced and makes the ones
        before it durable too (the WAL is written in order)."""
        if not messages and not self.held and not state:
            return []
        lazy = readings_only and self._wall() - self._synced_at < SYNC_LAG_S
        if lazy != self._lazy:
            self._db.execute(f"PRAGMA synchronous={'NORMAL' if lazy else 'FULL'}")
            self._lazy = lazy
        if not lazy:
            self._synced_at = self._wall()
        probe = bool(self.failing) and len(self.held) >= PROBE_HELD and not self.held.unnumbered
        numbered, unnumbered = ([], []) if probe else self.held.take()  # a large hold: try the new first
        next_seq = self._next_seq
        try:
            self._db.execute("BEGIN IMMEDIATE")
            deleted = list(self.deferred)
            if deleted:
                self._delete_rows(deleted)
            stored = self._insert_held(numbered) + self._insert(unnumbered + messages)
            if state:
                self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", state.items())
            stored += self._enforce_bound()
            self._db.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            self._rollback()
            self._next_seq = next_seq
            self.held.numbered.update({m.id: m for m in numbered})
            self._write_failed(exc, unnumbered + messages)
            raise StoreError(f"store append failed ({self.path}): {exc}") from exc
        self.deferred.difference_update(deleted)
        self.last_id = max([self.last_id, *(m.id for m in stored)])
        if self.failing:  # cleared with the time the store wrote again, in its own transaction
            log.warning("store %s accepts writes again", self.path)
            self.failing = ""
            cleared = self._store_alarm(
                "store_failing", "cleared", "warning", "The record store writes again"
            )
            try:
                stored += self.append([cleared])  # and what was held, in the same transaction
            except StoreError:
                pass  # held with its time; the batch above is committed
        return stored

    def _number(self, message: OutMessage, row_id: int, now: float) -> StoredMessage:
        seq, record_id, prio, topic, qos, payload, retain, created = self._row(message, now)
        return StoredMessage(row_id, seq, record_id, prio, topic, qos, payload, bool(retain), created)

    def _row(self, message: OutMessage, now: float) -> Row:
        """The next `seq` and `record_id`, and the body as JSON: one row of the outbox table."""
        seq = self._next_seq
        self._next_seq += 1
        record_id = self._record_ids.next()
        payload = dumps({**message.body, "seq": seq, "record_id": record_id})
        return (
            seq,
            record_id,
            int(message.priority),
            message.topic,
            message.qos,
            payload,
            int(message.retain),
            now,
        )

    def _insert(self, messages: list[OutMessage]) -> list[StoredMessage]:
        if not messages:
            return []
        if self._mark is not None:
            self._mark.cover(self._next_seq + len(messages))
        now = self._wall()
        return self._insert_rows([self._row(m, now) for m in messages])

    def _insert_held(self, messages: list[StoredMessage]) -> list[StoredMessage]:
        """Insert held messages, keeping their seq and record_id."""
        rows = [
            (m.seq, m.record_id, m.priority, m.topic, m.qos, m.payload, int(m.retain), m.created_s)
            for m in messages
        ]
        return self._insert_rows(rows)

    def _insert_rows(self, rows: list[Row]) -> list[StoredMessage]:
        """One `executemany`; the ids are consecutive (AUTOINCREMENT, one writer, one transaction)."""
        if not rows:
            return []
        cursor = self._db.executemany(f"INSERT INTO outbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if cursor.rowcount != len(rows):
            raise sqlite3.OperationalError(f"inserted {cursor.rowcount} rows of {len(rows)}")
        (last,) = self._db.execute("SELECT last_insert_rowid()").fetchone()
        self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (self._next_seq,))
        first = int(last) - len(rows) + 1
        return [
            StoredMessage(first + i, seq, rid, prio, topic, qos, payload, bool(retain), created)
            for i, (seq, rid, prio, topic, qos, payload, retain, created) in enumerate(rows)
        ]

    def _write_failed(self, exc: Exception, messages: list[OutMessage]) -> None:
        if not self.failing:
            log.error("STORE REFUSES WRITES (%s): %s", self.path, exc)
            messages = [
                self._store_alarm(
                    "store_failing",
                    "raised",
                    "high",
                    "The record store cannot write (disk full or read-only): records held in memory",
                    {"error": str(exc), "store": str(self.path)},
                ),
                *messages,
            ]
        self.failing = str(exc)
        now = self._wall()
        reserved = self._mark.reserved if self._mark is not None else 2**62
        self.held.hold(messages, lambda m, i: self._number(m, i, now) if self._next_seq < reserved else None)

    @_locked
    def dead_letter(self, reasons: dict[int, str]) -> list[StoredMessage]:
        """Move messages the broker refused out of the queue (agent/store/deadletter.py)."""
        try:
            return move_to_dead_letter(self._db, reasons, self.held, self._wall(), self._count)
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store dead-letter failed ({self.path}): {exc}") from exc

    @_locked
    def delete(self, ids: list[int]) -> None:
        ids = self.held.forget(ids)
        if not ids:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._delete_rows(ids)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store delete failed ({self.path}): {exc}") from exc
        self.deferred.difference_update(ids)

    @_locked
    def defer_delete(self, ids: list[int]) -> None:
        """Acknowledged rows: deleted in the next append's transaction (no commit of their own: the
        write budget), or by `delete(list(deferred))` when no append comes. Not sent again meanwhile."""
        self.deferred.update(self.held.forget(ids))

    def _delete_rows(self, ids: list[int]) -> None:
        """Runs of consecutive ids (acknowledged batches, windows) go as one range each."""
        self._db.executemany("DELETE FROM outbox WHERE id BETWEEN ? AND ?", _runs(ids))
        if self._alarm_id("store_pressure") and self.used_bytes() < self._limit("clear"):
            self._insert([self._store_alarm("store_pressure", "cleared", "warning", "store below bound")])

    # ------------------------------------------------------------------ reading

    @_locked
    def pending(
        self,
        limit: int,
        exclude: set[int] | None = None,
        *,
        priorities: tuple[int, ...] = tuple(Priority),
        min_id: int = 0,
        below_id: int | None = None,
    ) -> list[StoredMessage]:
        """Oldest first within priority, skipping ids already in flight; optionally an id range.
        Messages held in memory (negative ids) come after the stored ones of their priority."""
        exclude = (exclude or set()) | self.deferred
        marks = ",".join("?" * len(priorities))
        rows = self._db.execute(
            f"SELECT id, {COLUMNS} FROM outbox WHERE priority IN ({marks}) AND id >= ? AND id < ?"
            " ORDER BY priority, id LIMIT ?",
            (*priorities, min_id, below_id if below_id is not None else 2**63 - 1, limit + len(exclude)),
        ).fetchall()
        found = [
            StoredMessage(i, seq, rid, prio, topic, qos, payload, bool(retain), created)
            for i, seq, rid, prio, topic, qos, payload, retain, created in rows
            if i not in exclude
        ][:limit]
        if self.held.numbered and below_id is None:
            found = sorted(found + self.held.pending(priorities, exclude), key=lambda m: m.priority)
        return found[:limit]

    @_locked
    def next_id(self) -> int:
        """The row id the next append will get at the earliest (AUTOINCREMENT never reuses)."""
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
        return int(row[0]) + 1 if row else 1

    @_locked
    def load_state(self) -> dict[str, str]:
        """The agent state last committed with `append(…, state=…)` (empty for a fresh store)."""
        return {str(k): str(v) for k, v in self._db.execute("SELECT key, value FROM state")}

    @_locked
    def depth(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    @_locked
    def stats(self) -> dict[str, Any]:
        """Health as data: depth per priority, oldest unsent age, evictions, bytes (docs/store.md)."""
        return {
            **read_stats(self._db, self._wall()),
            "max_bytes": self.config.max_bytes,
            "wal_bytes": file_size(Path(f"{self.path}-wal")),
            "wal_budget_bytes": wal_budget(self.config),
            "over_bound": self.over_bound,
            "failing": self.failing,
        }

    @_locked
    def close(self) -> int:
        """Close; returns how many messages were still held in memory (lost: the caller says so)."""
        if self.deferred:
            try:
                self.delete(list(self.deferred))
            except StoreError:
                pass  # sent again after the restart: at-least-once
        if self.held:
            try:
                self.append([])
            except StoreError:
                pass
        if self._mark is not None and not self.held:
            self._mark.close(self._next_seq)
        self._db.close()
        return len(self.held)

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


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """Sorted ids as (first, last) runs of consecutive numbers: [1, 2, 3, 7] → [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
