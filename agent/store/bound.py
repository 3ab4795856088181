"""The outbox's bound (docs/store.md, "what happens when full"): used bytes, the thresholds, eviction.

`max_bytes` bounds the database *and* its WAL: `wal_budget` of it is kept for the WAL, whose automatic
checkpoint runs at half that budget and which is truncated back to it (agent/store/recovery.py
`connect`), so the pages of the database get `max_bytes − wal_budget`. Before issue 12 the WAL was
not counted and checkpointed at ~4 MB: it alone filled a small volume.

`store_pressure` is raised at `pressure_fraction` of `max_bytes`, before anything is evicted; above
`max_bytes` the oldest readings go first, then records, down to `evict_to_fraction`. Alarms are never
evicted. These functions run inside the outbox's append transaction.
"""

from __future__ import annotations

__all__ = ["EVICTABLE", "evict", "limit_bytes", "used_bytes", "wal_budget"]

import sqlite3
from collections.abc import Callable

from agent.config import StoreConfig
from agent.store.messages import Priority

EVICTABLE = (Priority.RESULT, Priority.READING, Priority.RECORD)  # eviction order


def used_bytes(db: sqlite3.Connection, page_size: int) -> int:
    """Pages in use (WAL excluded) times the page size."""
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    (free,) = db.execute("PRAGMA freelist_count").fetchone()
    return int((pages - free) * page_size)


def wal_budget(config: StoreConfig) -> int:
    """Bytes of `max_bytes` kept for the WAL: an eighth, at most `wal_max_bytes`, at least 32 KiB."""
    return max(32 * 1024, min(config.wal_max_bytes, config.max_bytes // 8))


def limit_bytes(config: StoreConfig, which: str) -> float:
    fraction = {
        "pressure": config.pressure_fraction,
        "clear": config.pressure_clear_fraction,
        "evict_to": config.evict_to_fraction,
        "max": 1.0,
    }[which]
    return fraction * (config.max_bytes - wal_budget(config))


def evict(
    db: sqlite3.Connection, used: int, target: float, page_size: int, count: Callable[[str, int], None]
) -> int:
    """Delete oldest readings, then records, until `used` is at `target`; return the bytes then used."""
    for priority in EVICTABLE:
        while used > target:
            (found,) = db.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE priority=? LIMIT 1)", (priority,)
            ).fetchone()
            if not found:
                break
            batch = max(16, int((used - target) / max(1, _row_bytes(db))))
            deleted = db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE priority=? ORDER BY id LIMIT ?)",
                (priority, batch),
            ).rowcount
            count(f"evicted_{priority.name.lower()}", deleted)
            used = used_bytes(db, page_size)
    return used


def _row_bytes(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT AVG(LENGTH(payload)) FROM (SELECT payload FROM outbox LIMIT 200)")
    (average,) = row.fetchone()
    return int((average or 200) + 120)  # payload + key, index and cell overhead
