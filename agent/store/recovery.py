"""Opening the outbox file, and what to do when it is damaged (docs/store.md, "corrupt").

A store that cannot be opened or fails `PRAGMA quick_check` is moved aside (with its -wal and -shm),
every row SQLite can still read is salvaged, and the caller starts a fresh store with those rows.
The agent never refuses to start because of its store.
"""

from __future__ import annotations

__all__ = ["SCHEMA", "Recovery", "SalvagedRow", "connect", "open_or_recover"]

import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agent.store.deep_check import clear_mark
from agent.store.header import repaired_copy
from agent.store.private import private_dir, private_file, tighten
from core.errors import StartRefused

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL UNIQUE,
    record_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    topic TEXT NOT NULL,
    qos INTEGER NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0,
    created_s REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, id);
CREATE TABLE IF NOT EXISTS store_alarms (alarm_type TEXT PRIMARY KEY, alarm_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    refused_s REAL NOT NULL
);
"""
# 1 KiB pages: a commit rewrites whole pages in the WAL, and a reading touches a handful of them, so
# small pages cut the bytes written per message ~2× against 4 KiB (docs/decisions.md, write budget).
# record_id has no index of its own (it did until issue 12): a UUID key dirtied a random index page per
# message, and the store never looks a row up by record_id (consumers de-duplicate on it).
PAGE_SIZE = 1024
COLUMNS = "seq, record_id, priority, topic, qos, payload, retain, created_s"
SALVAGE_CHUNK = 1000
SALVAGE_EMPTY_CHUNKS = 20  # stop after this many id ranges with nothing readable

# (seq, record_id, priority, topic, qos, payload, retain, created_s)
SalvagedRow = tuple[int, str, int, str, int, bytes, int, float]


@dataclass
class Recovery:
    """What happened to a damaged store file at start-up."""

    problem: str
    moved_to: str
    rows: list[SalvagedRow] = field(default_factory=list)
    rejected: int = 0  # rows read back but damaged (bad types, payload not matching seq/record_id)
    next_seq: int = 0  # 0: nothing readable


def connect(path: Path, wal_max_bytes: int) -> sqlite3.Connection:
    """Open in WAL mode, synchronous FULL; checkpoint at half of `wal_max_bytes` (the WAL's share of
    the bound, agent/store/bound.py `wal_budget`) and truncate the WAL back to it after a checkpoint."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect only on a new file
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(f"PRAGMA journal_size_limit={int(wal_max_bytes)}")
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.execute(f"PRAGMA wal_autocheckpoint={max(4, int(wal_max_bytes) // 2 // int(page_size))}")
    db.executescript(SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    if "retain" not in columns:  # stores written before the retain flag existed
        db.execute("ALTER TABLE outbox ADD COLUMN retain INTEGER NOT NULL DEFAULT 0")
    if "created_s" not in columns:  # stores written before the age of a row was kept
        db.execute("ALTER TABLE outbox ADD COLUMN created_s REAL NOT NULL DEFAULT 0")
    return db


def _check(path: Path, wal_max_bytes: int) -> tuple[sqlite3.Connection | None, str]:
    db = None
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        result = [row[0] for row in db.execute("PRAGMA quick_check")]
        if result != ["ok"]:
            db.close()
            return None, "; ".join(result[:5])
        db.close()
        return connect(path, wal_max_bytes), ""
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        return None, str(exc)


def _light_open(path: Path, wal_max_bytes: int) -> sqlite3.Connection | None:
    """Open without reading every page: header, schema and the `meta` row (agent/store/deep_check.py)."""
    db = None
    try:
        db = connect(path, wal_max_bytes)
        db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
        return db
    except sqlite3.Error:
        if db is not None:
            db.close()
        return None


def _move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{target}{suffix}"))
    tighten(target)
    return target


def _intact(row: tuple[object, ...]) -> bool:
    """A salvaged row is kept only if every field has its type and the payload names the same message."""
    seq, record_id, priority, topic, qos, payload, retain, created_s = row
    if not (
        isinstance(seq, int)
        and isinstance(record_id, str)
        and priority in (0, 1, 2, 3)
        and isinstance(topic, str)
        and qos in (0, 1, 2)
        and isinstance(payload, bytes)
        and retain in (0, 1)
        and isinstance(created_s, int | float)
    ):
        return False
    try:
        body = json.loads(payload)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("seq") == seq and body.get("record_id") == record_id


def _rows(db: sqlite3.Connection, first: int, count: int) -> list[tuple[int, ...]]:
    """Rows with id in [first, first+count); row by row if the range crosses a damaged page."""
    query = f"SELECT id, {COLUMNS} FROM outbox WHERE id >= ? AND id < ? ORDER BY id"
    try:
        return db.execute(query, (first, first + count)).fetchall()
    except sqlite3.Error:
        rows = []
        for row_id in range(first, first + count):
            try:
                rows += db.execute(query, (row_id, row_id + 1)).fetchall()
            except sqlite3.Error:
                continue
        return rows


def _salvage(moved: Path, recovery: Recovery) -> None:
    try:
        db = sqlite3.connect(f"file:{moved}?mode=ro", uri=True)
        db.execute("PRAGMA writable_schema=ON")  # tolerate index root pages lost to truncation
    except sqlite3.Error:
        return
    try:
        try:
            (value,) = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
            recovery.next_seq = int(value)
        except (sqlite3.Error, TypeError, ValueError):
            pass
        try:
            (last_id,) = db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
        except (sqlite3.Error, TypeError):
            last_id = None
        try:
            (first,) = db.execute("SELECT MIN(id) FROM outbox").fetchone()
        except sqlite3.Error:
            first = None
        first, empty = first or 1, 0
        while first <= last_id if last_id is not None else empty < SALVAGE_EMPTY_CHUNKS:
            chunk = _rows(db, first, SALVAGE_CHUNK)
            empty = 0 if chunk else empty + 1
            rows = [tuple(row[1:]) for row in chunk]
            valid = [row for row in rows if _intact(row)]
            recovery.rows += valid  # type: ignore[arg-type]
            recovery.rejected += len(rows) - len(valid)
            first += SALVAGE_CHUNK
    finally:
        db.close()
    if recovery.rows:
        recovery.next_seq = max(recovery.next_seq, max(row[0] for row in recovery.rows) + 1)


def open_or_recover(
    path: Path, wal_max_bytes: int, full_check: bool = True
) -> tuple[sqlite3.Connection, Recovery | None]:
    """Open the store at `path`; a damaged file is moved aside and its readable rows returned.

    Raises sqlite3.Error / OSError only if a *fresh* store cannot be created either (no disk at all).
    """
    if str(path) == ":memory:":
        return connect(path, wal_max_bytes), None
    if path.is_dir():  # a misconfigured path: never move someone's directory aside
        raise StartRefused(f"store path {path} is a directory: name a file inside it")
    private_dir(path.parent)
    private_file(path)  # 0600 before SQLite opens it: its -wal and -shm get the same mode
    tighten(path)  # files left by an older install
    if path.stat().st_size == 0:
        return connect(path, wal_max_bytes), None
    if not full_check:  # a large store: the cheap checks now, quick_check after monitoring starts
        light = _light_open(path, wal_max_bytes)
        if light is not None:
            return light, None
    db, problem = _check(path, wal_max_bytes)
    clear_mark(path)
    if db is not None:
        return db, None
    moved = _move_aside(path)
    private_file(path)
    recovery = Recovery(problem, str(moved))
    _salvage(moved, recovery)
    repaired = repaired_copy(moved) if not recovery.rows else None
    if repaired is not None:  # the header was damaged, the pages may not be
        _salvage(repaired, recovery)
        repaired.unlink(missing_ok=True)
    log.error(
        "STORE DAMAGED (%s): moved to %s, %d rows salvaged, starting a fresh store",
        problem,
        moved,
        len(recovery.rows),
    )
    return connect(path, wal_max_bytes), recovery
