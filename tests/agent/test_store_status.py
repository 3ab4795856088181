"""`doseedge store status` and an agent starting on a damaged store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.app import Agent
from agent.cli import main
from agent.config import load_config
from agent.store.outbox import Outbox, OutMessage, Priority

CONFIG = """
[station]
site = "s"
station_id = "room"

[store]
path = "{store}"
max_bytes = 131072
"""


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(CONFIG.format(store=tmp_path / "outbox.sqlite"))
    return path


def test_store_status_reads_the_file_directly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_file(tmp_path)
    assert main(["store", "status", "-c", str(config)]) == 1, "a missing store is not a healthy one"
    assert json.loads(capsys.readouterr().out)["exists"] is False
    store = load_config(config).store
    outbox = Outbox(store.path, store)
    for n in range(300):
        outbox.append([OutMessage("reading/d", {"n": n, "pad": "x" * 400}, Priority.READING)])
    outbox.append([OutMessage("alarm", {"n": 0}, Priority.ALARM)])
    assert main(["store", "status", "-c", str(config)]) == 0  # while the store is open, as in a live agent
    status = json.loads(capsys.readouterr().out)
    assert status["integrity"] == "ok" and status["pressure"] is True
    assert status["evicted"]["reading"] > 0 and status["depth"]["alarm"] == 2  # ours + store_pressure
    assert status["depth"]["reading"] == 300 - status["evicted"]["reading"]
    assert status["next_seq"] == 303 and status["oldest_unsent_age_s"] >= 0
    outbox.close()


def test_agent_starts_on_a_damaged_store_and_raises_an_alarm(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path))
    Path(config.store.path).write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)
    agent = Agent(config)
    alarms = [json.loads(m.payload) for m in agent.outbox.pending(10, priorities=(Priority.ALARM,))]
    assert [(a["type"], a["state"], a["site"], a["station"]) for a in alarms] == [
        ("store_recovered", "raised", "s", "room")
    ]
    assert list(tmp_path.glob("outbox.sqlite.corrupt-*"))
    agent.outbox.close()
