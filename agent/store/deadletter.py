"""Messages the broker refused (PUBACK reason ≥ 0x80): out of the queue, into the `dead_letter` table.

A refused message is never sent again (the broker would refuse it again, and paho resent it first on
every reconnect, so everything behind it waited). It is kept for a physicist to read, with the broker's
reason, counted in `meta` (`dead_lettered`), and the table is bounded to DEAD_LETTER_MAX rows (oldest
go first; the count stays). Runs inside its own transaction on the outbox's connection.
"""

from __future__ import annotations

__all__ = ["DEAD_LETTER_MAX", "move_to_dead_letter"]

import sqlite3
from collections.abc import Callable

from agent.store.held import Held
from agent.store.messages import StoredMessage
from agent.store.recovery import COLUMNS

DEAD_LETTER_MAX = 10_000


def move_to_dead_letter(
    db: sqlite3.Connection, reasons: dict[int, str], held: Held, now: float, count: Callable[[str, int], None]
) -> list[StoredMessage]:
    """Move the rows (or held messages) named in `reasons` (id → broker's reason); return them."""
    if not reasons:
        return []
    marks = ",".join("?" * len(reasons))
    rows = db.execute(f"SELECT id, {COLUMNS} FROM outbox WHERE id IN ({marks})", list(reasons))
    moved = [
        StoredMessage(i, seq, rid, prio, topic, qos, payload, bool(retain), created)
        for i, seq, rid, prio, topic, qos, payload, retain, created in rows.fetchall()
    ]
    moved += [held.numbered.pop(i) for i in reasons if i in held.numbered]
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO dead_letter (seq, record_id, topic, payload, reason, refused_s)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(m.seq, m.record_id, m.topic, m.payload, reasons[m.id], now) for m in moved],
    )
    db.executemany("DELETE FROM outbox WHERE id=?", [(m.id,) for m in moved if m.id > 0])
    count("dead_lettered", len(moved))
    (kept,) = db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()
    if kept > DEAD_LETTER_MAX:
        db.execute(
            "DELETE FROM dead_letter WHERE id IN (SELECT id FROM dead_letter ORDER BY id LIMIT ?)",
            (kept - DEAD_LETTER_MAX,),
        )
    db.execute("COMMIT")
    return moved
