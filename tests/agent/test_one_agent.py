"""One agent per store and per serial port; a directory is never taken for a store; `store status`
says when a store is missing, unreadable or not SQLite (issue 12, findings 6 and 7)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.app import Agent
from agent.cli import main
from agent.config import load_config
from agent.instance_lock import InstanceLocks
from agent.store.outbox import Outbox, OutMessage, Priority
from core.errors import StartRefused
from tests.fakes import run_doseedge

CONFIG = """
[station]
site = "s"
station_id = "room"

[mqtt]
port = 1

[store]
path = "{store}"
{devices}
"""
DEVICE = """
[[devices]]
name = "dap1"
driver = "ptw_diamentor"
port = "{port}"
"""


def config_file(tmp_path: Path, name: str, store: Path, port: str = "") -> Path:
    path = tmp_path / f"{name}.toml"
    devices = DEVICE.format(port=port) if port else ""
    path.write_text(CONFIG.format(store=store, devices=devices))
    return path


def test_a_second_agent_on_the_same_store_refuses_to_start(tmp_path: Path) -> None:
    config = config_file(tmp_path, "a", tmp_path / "outbox.sqlite")
    first = Agent(load_config(config))
    try:
        second = run_doseedge("run", "-c", str(config), "--quiet", "--duration", "5", timeout_s=60)
        assert second.returncode == 4
        assert "in use by another doseedge agent" in second.stderr and str(os.getpid()) in second.stderr
    finally:
        first.outbox.close()
        first.locks.release()
    again = Agent(load_config(config))  # the lock goes with its holder
    again.outbox.close()
    again.locks.release()


def test_a_second_agent_on_the_same_serial_port_refuses_to_start(tmp_path: Path) -> None:
    controller, device = os.openpty()
    port = os.ttyname(device)
    first = Agent(load_config(config_file(tmp_path, "a", tmp_path / "a.sqlite", port)))
    try:
        with pytest.raises(StartRefused, match=r"serial port .* in use by another doseedge agent"):
            Agent(load_config(config_file(tmp_path, "b", tmp_path / "b.sqlite", port)))
        assert not (tmp_path / "b.sqlite").exists() or Outbox(tmp_path / "b.sqlite").depth() == 0
    finally:
        first.outbox.close()
        first.locks.release()
        os.close(controller)
        os.close(device)


def test_a_directory_as_store_path_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "keep.txt").write_text("a physicist's notes")
    config = load_config(config_file(tmp_path, "a", folder))
    with pytest.raises(StartRefused, match="is a directory"):
        Agent(config)
    with pytest.raises(StartRefused, match="is a directory"):
        Outbox(folder)
    assert (folder / "keep.txt").read_text() == "a physicist's notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.toml", "records"]


def files(folder: Path) -> list[str]:
    """The files in `folder`, leaving out SQLite's own -wal/-shm next to the store."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("name", ["out#box.sqlite", "out?box.sqlite", "out%41box.sqlite"])
def test_store_status_escapes_the_path_and_fails_on_a_bad_store(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / name
    outbox = Outbox(store)
    outbox.append([OutMessage("alarm", {"n": 1}, Priority.ALARM)])
    outbox.close()
    config = config_file(tmp_path, "a", store)
    before = files(tmp_path)
    assert main(["store", "status", "-c", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["integrity"] == "ok" and status["depth"]["alarm"] == 1
    assert files(tmp_path) == before, "no stray file"
    store.write_bytes(b"not a database at all" * 100)
    assert main(["store", "status", "-c", str(config)]) == 1
    assert json.loads(capsys.readouterr().out)["readable"] is False
    store.unlink()
    assert main(["store", "status", "-c", str(config)]) == 1


def test_a_device_node_that_is_not_a_serial_port_is_not_locked() -> None:
    """/dev/null (configs without hardware) is shared by every process on the machine: locking it made
    any two such agents, in any two test runs, refuse each other."""
    first, second = InstanceLocks(), InstanceLocks()
    first.take_device(Path("/dev/null"), "null")
    second.take_device(Path("/dev/null"), "null")  # no StartRefused
    first.release()
    second.release()
