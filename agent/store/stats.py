"""The store's own figures (`…/health` `store`, `doseedge store status`), from any connection,
also a read-only one."""

from __future__ import annotations

__all__ = ["file_size", "read_stats"]

import sqlite3
from pathlib import Path
from typing import Any

from agent.store.bound import EVICTABLE, used_bytes
from agent.store.messages import Priority


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
