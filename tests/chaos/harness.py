"""Chaos-test harness: a simulated DIAMENTOR, an agent subprocess on a temp config, a de-duplicating consumer.

The agent runs as `doseedge run -c <config>` so SIGKILL is a real kill; the simulator runs here, on a
real pty; the broker is the private Mosquitto from the `broker` fixture (loopback only).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limits.dosimetry import Geometry
from simulators.procedure import Procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.fakes import DOSEEDGE, Subscriber

GEOMETRY = Geometry(40.0, 60.0, 65.0, 1.4)
# Short beam-on/off cycles at ~40 mGy/min: every cycle raises and clears an alarm and closes a record.
CYCLE = [(0.4, 0.0), (0.8, 40.0), (0.4, 0.0)]

CONFIG = """
[station]
site = "chaos"
station_id = "room-1"

[mqtt]
host = "127.0.0.1"
port = {port}
topic_prefix = "t"
reconnect_min_s = 0.1
reconnect_max_s = 0.8
max_inflight = 20
watchdog_s = 5.0
health_interval_s = 1.0

[store]
path = "{store}"

[fluoroscopy]
dap_meter = "dap1"
field_area_at_reference_cm2 = 40.0
source_to_reference_cm = 60.0
source_to_entrance_cm = 65.0
backscatter_factor = 1.4
window_s = 0.2
raise_after_s = 0.2
clear_after_s = 0.0

[[devices]]
name = "dap1"
driver = "ptw_diamentor"
port = "{pty}"
poll_interval_s = 0.05
timeout_s = 0.5
"""


@dataclass(frozen=True)
class Rig:
    """What the `rig` fixture (tests/chaos/conftest.py) sets up; it stops the simulator afterwards."""

    subscriber: Subscriber
    config: Path  # the agent's station.toml
    store: Path  # the outbox file that config names


def start_simulator() -> tuple[DiamentorSimulator, str]:
    simulator = DiamentorSimulator(Procedure.from_esak(CYCLE, GEOMETRY, loop=True))
    return simulator, simulator.start()


def write_config(tmp: Path, port: int, pty: str) -> Path:
    path = tmp / "station.toml"
    path.write_text(CONFIG.format(port=port, store=tmp / "outbox.sqlite", pty=pty))
    return path


class AgentProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [*DOSEEDGE, "run", "-c", str(config), "--quiet"],
            stdout=self._log,
            stderr=self._log,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        self._log.close()
        return code


def store_state(path: Path) -> tuple[int, set[int]]:
    """(next_seq, seqs still unsent) read straight from the store file, as the agent left it."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (next_seq,) = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
        unsent = {row[0] for row in db.execute("SELECT seq FROM outbox")}
    finally:
        db.close()
    return int(next_seq), unsent


def consumer(host: str, port: int, client_id: str = "chaos-consumer") -> Subscriber:
    return Subscriber(host, port, "t/chaos/room-1/#", client_id=client_id)


def first_arrivals(subscriber: Subscriber, suffix: str) -> list[dict[str, Any]]:
    """De-duplicate by record_id, keeping the order of first arrival."""
    seen: set[str] = set()
    out = []
    for body in subscriber.bodies(suffix):
        rid = body.get("record_id")
        if rid is not None and rid not in seen:
            seen.add(rid)
            out.append(body)
    return out


def received_seqs(subscriber: Subscriber) -> set[int]:
    return {b["seq"] for b in subscriber.bodies("") if "seq" in b and "record_id" in b}


def skipped_seqs(subscriber: Subscriber) -> set[int]:
    """The seqs announced as skipped on store/seq_skipped (never assigned, or lost with the store)."""
    ranges = [
        b for b in subscriber.bodies("/store/seq_skipped") if b.get("schema") == "doseedge.seq_skipped.v1"
    ]
    return {seq for b in ranges for seq in range(b["from_seq"], b["to_seq"] + 1)}


def wait_until(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())
