"""Monitoring starts before a long integrity check (issue 12, finding 8): a store larger than
`[store] startup_check_max_bytes` is opened at once and checked in the background; damage found then is
a `store_damaged` alarm, and the next start checks the file in full and salvages it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

from agent.app import Agent
from agent.config import StoreConfig, parse_config
from agent.store.deep_check import deep_check, full_check_due
from agent.store.outbox import Outbox, OutMessage, Priority

STATION = (
    '[station]\nsite = "s"\nstation_id = "deep"\n[mqtt]\nport = 1\n'
    '[store]\npath = "{path}"\nstartup_check_max_bytes = {limit}\n'
)


def _filled(path: Path, rows: int = 600) -> None:
    outbox = Outbox(path, StoreConfig(path=str(path)))
    for i in range(rows):
        outbox.append([OutMessage(f"reading/d{i}", {"n": i, "pad": "x" * 300}, Priority.READING)])
    outbox.close()


def _damage(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (page,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with path.open("r+b") as f:  # a leaf page deep inside the table, not the header or the schema
        f.seek(page * (path.stat().st_size // page // 2))
        f.write(b"\xff" * 64)


def test_a_large_store_opens_without_the_full_check_and_a_small_one_with_it(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    _filled(path)
    size = path.stat().st_size
    assert full_check_due(path, size) and not full_check_due(path, size - 1)
    _damage(path)
    large = Outbox(path, StoreConfig(path=str(path), startup_check_max_bytes=1024))
    assert large.deep_check_due and large.recovery is None  # opened at once: nothing read page by page
    assert deep_check(path) != ""  # … and the background check finds the damage
    large.close()
    small = Outbox(path, StoreConfig(path=str(path)))  # the default limit: checked before use
    assert small.recovery is not None and not small.deep_check_due
    small.close()


def test_damage_found_after_start_is_an_alarm_and_the_next_start_salvages(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    _filled(path)
    _damage(path)
    config = parse_config(STATION.format(path=path, limit=1024))
    agent = Agent(config)
    assert agent.outbox.deep_check_due

    async def run() -> None:
        await agent.run(duration_s=3.0, install_signals=False)

    asyncio.run(run())  # monitoring ran; the check found the damage in the background
    reopened = Outbox(path, replace(config.store, startup_check_max_bytes=1024))  # the mark: check in full
    recovery = reopened.recovery
    reopened.close()
    assert recovery is not None, "the next start must check in full and salvage"
    assert list(tmp_path.glob("o.sqlite.corrupt-*")), "the damaged file is moved aside"
    alarms = [json.loads(row[5]) for row in recovery.rows if row[3] == "alarm"]
    damaged = [a for a in alarms if a["type"] == "store_damaged"]
    assert damaged and damaged[0]["severity"] == "high" and damaged[0]["state"] == "raised"
    assert "malformed" in damaged[0]["message"]


def test_an_intact_large_store_passes_the_background_check(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    _filled(path)
    assert deep_check(path) == ""
