"""The durable outbox: every message is committed to SQLite (WAL) before it is published, and
deleted only when the broker acknowledged it (QoS 1 PUBACK). Spec: docs/store.md.

Each message gets a per-station monotonic `seq` and a globally unique `record_id` at append
time, inside the same transaction, so a consumer can drop duplicates and see gaps.
"""

from __future__ import annotations

__all__ = ["OutMessage", "Outbox", "Priority", "StoredMessage"]

import json
import sqlite3
import uuid
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from agent.errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL UNIQUE,
    record_id TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL,
    topic TEXT NOT NULL,
    qos INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, id);
"""


class Priority(IntEnum):
    """Lower sends first (and, once bounded, is evicted last)."""

    ALARM = 0
    RECORD = 1
    READING = 2


@dataclass(frozen=True)
class OutMessage:
    topic: str  # relative to the station root, e.g. "alarm", "reading/dap1"
    body: dict[str, Any]
    priority: Priority
    qos: int = 1
    retain: bool = False  # only for state topics (alarm/active): the broker keeps the last one


@dataclass(frozen=True)
class StoredMessage:
    id: int
    seq: int
    record_id: str
    priority: int
    topic: str
    qos: int
    payload: bytes
    retain: bool = False


class Outbox:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
            if "retain" not in columns:  # stores written before the retain flag existed
                self._db.execute("ALTER TABLE outbox ADD COLUMN retain INTEGER NOT NULL DEFAULT 0")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('next_seq', 1)")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc

    def append(self, messages: list[OutMessage]) -> list[StoredMessage]:
        """Commit all `messages` in one transaction (group commit) and return them as stored."""
        if not messages:
            return []
        stored: list[StoredMessage] = []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            (seq,) = self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
            for message in messages:
                record_id = str(uuid.uuid4())
                body = {**message.body, "seq": seq, "record_id": record_id}
                payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
                cursor = self._db.execute(
                    "INSERT INTO outbox (seq, record_id, priority, topic, qos, payload, retain)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        seq,
                        record_id,
                        int(message.priority),
                        message.topic,
                        message.qos,
                        payload,
                        message.retain,
                    ),
                )
                assert cursor.lastrowid is not None
                stored.append(
                    StoredMessage(
                        cursor.lastrowid,
                        seq,
                        record_id,
                        message.priority,
                        message.topic,
                        message.qos,
                        payload,
                        message.retain,
                    )
                )
                seq += 1
            self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (seq,))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store append failed ({self.path}): {exc}") from exc
        return stored

    def pending(self, limit: int, exclude: set[int] | None = None) -> list[StoredMessage]:
        """Oldest first within priority, skipping ids already in flight."""
        exclude = exclude or set()
        rows = self._db.execute(
            "SELECT id, seq, record_id, priority, topic, qos, payload, retain FROM outbox"
            " ORDER BY priority, id LIMIT ?",
            (limit + len(exclude),),
        ).fetchall()
        stored = [
            StoredMessage(i, seq, rid, prio, topic, qos, payload, bool(retain))
            for i, seq, rid, prio, topic, qos, payload, retain in rows
            if i not in exclude
        ]
        return stored[:limit]

    def delete(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in ids])
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"store delete failed ({self.path}): {exc}") from exc

    def depth(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def close(self) -> None:
        self._db.close()

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
