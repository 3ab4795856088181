"""A store on a read-only file system (an SD card the kernel remounted read-only after errors) must
not stop the agent: dose is still monitored and alarmed at the table, the records are kept in memory,
and a high `store_failing` alarm says so. Uses a real read-only bind mount (needs root)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.app import Agent
from agent.config import parse_config
from simulators.mosquitto import MosquittoBroker
from simulators.procedure import Procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.fakes import Subscriber

ROOT = Path(__file__).resolve().parents[2]


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    source, target = tmp_path / "disk", tmp_path / "mnt"
    source.mkdir()
    target.mkdir()
    if _mount("--bind", str(source), str(target)).returncode != 0:
        pytest.skip("needs root with mount privileges for a real read-only bind mount")
    try:
        done = _mount("-o", "remount,bind,ro", str(target))
        assert done.returncode == 0, done.stderr
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=10)


def test_unwritable_store_is_a_loud_alarm_and_monitoring_goes_on(
    read_only_dir: Path, broker: MosquittoBroker
) -> None:
    text = (ROOT / "config" / "demo.toml").read_text()
    text = text.replace('path = "var/demo/outbox.sqlite"', f'path = "{read_only_dir}/outbox.sqlite"')
    config = parse_config(text).with_mqtt(broker.host, broker.port)
    assert config.fluoroscopy is not None
    geometry = config.fluoroscopy.geometry()
    simulator = DiamentorSimulator(Procedure.from_esak([(1.0, 10.0), (6.0, 45.0)], geometry))
    config = config.with_device_port("dap1", simulator.start())
    subscriber = Subscriber(broker.host, broker.port, "doseedge/#", client_id="ro-test")
    try:
        agent = Agent(config)  # must not raise
        assert agent.store_unavailable
        asyncio.run(agent.run(duration_s=7.0, install_signals=False))
    finally:
        simulator.stop()
    assert subscriber.wait_for(lambda s: len(s.bodies("/alarm")) >= 2, 5)
    subscriber.close()
    alarms = {(a["type"], a["state"]): a for a in subscriber.bodies("/alarm")}
    failing = alarms[("store_failing", "raised")]
    assert failing["severity"] == "high" and failing["in_memory"] is True
    assert ("fluoro_dose_rate", "raised") in alarms, "the dose-rate alarm still reaches the table"
    assert not (read_only_dir / "outbox.sqlite").exists()
