"""Safety review: paths by which an alarm could be lost, never raised, or never shown.

Each test is one such path; all run in injected time except the poller-task test, which runs the
real asyncio loop for a handful of 10 ms polls.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import struct
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

import agent.store.held as held_module
from agent.config import parse_config
from agent.console import Console
from agent.notices import AlarmNotice, Evaluation
from agent.pipeline import Pipeline
from agent.poller import DevicePoller
from agent.store.outbox import Outbox, StoredMessage
from core.errors import TransportError
from drivers.model import Measurement, Reading
from drivers.ptw_diamentor import PtwDiamentorConfig
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
DEVICE = PtwDiamentorConfig(
    name="dap1", driver="ptw_diamentor", port="x", lost_after_failures=2, poll_interval_s=0.01
)


def kap_reading(kap: float = 1.0) -> Reading:
    return Reading("dap1", (Measurement("kap", kap, "Gy·cm²", kap, "Gy·cm²"),))


class Driver:
    """Connect and poll outcomes scripted per call; an exception is raised, None reads."""

    def __init__(self, connects: list[Exception | None], polls: list[Exception | None]) -> None:
        self.connects, self.polls = connects, polls
        self.counters: Counter[str] = Counter()

    def connect(self) -> dict[str, str]:
        outcome = self.connects.pop(0) if self.connects else None
        if outcome is not None:
            raise outcome
        return {}

    def poll(self) -> Reading:
        outcome = self.polls.pop(0) if self.polls else None
        if outcome is not None:
            raise outcome
        return kap_reading()

    def close(self) -> None:
        pass


class FlakyOutbox(Outbox):
    """A real outbox whose writes can be made to fail, as a full or read-only disk does."""

    inject_failure = False

    def _insert_held(self, messages: list[StoredMessage]) -> list[StoredMessage]:
        if self.inject_failure:
            raise sqlite3.OperationalError("disk I/O error")
        return super()._insert_held(messages)


def make_pipeline(tmp_path: Path) -> tuple[Pipeline, FlakyOutbox, FakeClock]:
    config = parse_config((ROOT / "config" / "demo.toml").read_text())
    outbox = FlakyOutbox(tmp_path / "o.sqlite")
    clock = FakeClock()
    return Pipeline(config, outbox, clock, lambda: None), outbox, clock


def stored_alarms(outbox: Outbox) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in outbox.pending(100_000) if m.topic == "alarm"]


def transitions_of(poller_driver: Driver, steps: int) -> tuple[list[bool], DevicePoller]:
    transitions: list[bool] = []
    poller = DevicePoller(
        DEVICE, poller_driver, FakeClock(), lambda r: None, lambda d, up, e: transitions.append(up)
    )
    for _ in range(steps):
        poller.settle(poller.step())
    return transitions, poller


def test_a_device_that_never_connects_is_lost() -> None:
    """Wrong port from the first poll: the failed connects count toward lost_after_failures."""
    transitions, poller = transitions_of(Driver([TransportError("cannot open /dev/ttyX")] * 5, []), 3)
    assert transitions == [False]
    assert poller.lost and poller.counters["errors_transport"] == 3


def test_an_unexpected_driver_exception_is_a_counted_failure_not_a_dead_poller() -> None:
    """A driver bug (struct.error, KeyError…) is not a DriverError: it must still be caught, counted,
    and end in device_lost, not escape the worker thread and kill the device's poll task."""
    transitions, poller = transitions_of(Driver([], [struct.error("unpack"), KeyError("kap"), None]), 3)
    assert transitions == [False, True]
    assert poller.counters["errors_driver"] == 2 and poller.counters["readings"] == 1
    assert "KeyError" in poller.last_error or "kap" in poller.last_error


def test_the_poll_task_survives_a_failing_reading_handler() -> None:
    """An exception downstream of a reading must not end the device's poll task (silently: the task's
    exception would only surface when the agent stops)."""
    handled: list[Reading] = []

    def on_reading(reading: Reading) -> None:
        handled.append(reading)
        if len(handled) == 1:
            raise RuntimeError("bug downstream")
        if len(handled) >= 3:
            stop.set()

    stop = asyncio.Event()
    poller = DevicePoller(DEVICE, Driver([], []), FakeClock(), on_reading, lambda d, up, e: None)

    async def main() -> None:
        await asyncio.wait_for(poller.run(stop), timeout=5.0)

    asyncio.run(main())
    assert len(handled) >= 3
    assert poller.counters["errors_agent"] == 1


class BrokenMonitor:
    def __init__(self) -> None:
        self.broken = True

    def concerns(self, reading: Reading) -> bool:
        return True

    def observe(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        if self.broken:
            raise ZeroDivisionError("float division by zero")
        return Evaluation()


def test_a_monitor_that_raises_is_a_high_alarm_and_the_reading_is_still_stored(tmp_path: Path) -> None:
    pipeline, outbox, _clock = make_pipeline(tmp_path)
    broken = BrokenMonitor()
    pipeline.monitors.append(broken)
    pipeline.on_reading(kap_reading(1.0))
    pipeline.on_reading(kap_reading(1.1))
    broken.broken = False
    pipeline.on_reading(kap_reading(1.2))

    alarms = stored_alarms(outbox)
    assert [(a["type"], a["state"], a["severity"]) for a in alarms] == [
        ("monitor_failed", "raised", "high"),
        ("monitor_failed", "cleared", "high"),
    ]
    assert alarms[0]["alarm_id"] == alarms[1]["alarm_id"]
    assert pipeline.counters["monitor_errors"] == 2
    assert len([m for m in outbox.pending(100_000) if m.topic == "reading/dap1"]) == 3


def test_a_failing_alarm_listener_does_not_lose_the_alarm(tmp_path: Path) -> None:
    pipeline, outbox, _clock = make_pipeline(tmp_path)

    def broken_view(notice: AlarmNotice) -> None:
        raise BrokenPipeError("console gone")

    pipeline.alarm_listeners.insert(0, broken_view)
    shown: list[AlarmNotice] = []
    pipeline.alarm_listeners.append(shown.append)
    pipeline.on_availability("dap1", False, "silent")

    assert [a["type"] for a in stored_alarms(outbox)] == ["device_lost"]
    assert [n.alarm_type for n in shown] == ["device_lost"]  # the other listeners still hear it
    assert pipeline.counters["listener_errors"] == 1


def test_the_in_memory_hold_drops_readings_never_alarms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(held_module, "MAX_HELD", 20)
    pipeline, outbox, clock = make_pipeline(tmp_path)
    outbox.inject_failure = True
    pipeline.on_availability("dap1", False, "silent")  # an alarm, then many readings, all unstored
    for i in range(50):  # 0.24 Gy·cm²/min from the counter: below any level
        pipeline.on_reading(kap_reading(i * 0.001))
        clock.advance(0.25)
    outbox.inject_failure = False
    pipeline.on_reading(kap_reading(0.05))

    assert [a["type"] for a in stored_alarms(outbox)] == [
        "store_failing",
        "device_lost",
        "store_failing",
    ], "raised, the held alarm, cleared"
    assert pipeline.counters["unstored_dropped"] > 0


def test_the_status_line_shows_the_most_severe_alarm_not_the_newest(tmp_path: Path) -> None:
    pipeline, _outbox, _clock = make_pipeline(tmp_path)
    console = Console(pipeline, lambda: "broker up", io.StringIO())
    rate = AlarmNotice("a1", "fluoro_dose_rate", "raised", "high", "over the level")
    pressure = AlarmNotice("a2", "store_pressure", "raised", "warning", "store nearly full")
    pipeline.store([pipeline.alarm_message(rate)])
    pipeline.store([pipeline.alarm_message(pressure)])

    line = console.line()
    assert "fluoro_dose_rate" in line and "+1" in line
    pipeline.store([pipeline.alarm_message(AlarmNotice("a1", "fluoro_dose_rate", "cleared", "high", ""))])
    assert "store_pressure" in console.line() and "+1" not in console.line()


def test_a_broken_live_view_says_so_instead_of_freezing(tmp_path: Path) -> None:
    pipeline, _outbox, _clock = make_pipeline(tmp_path)
    out = io.StringIO()

    def broken_status() -> str:
        raise ValueError("status went wrong")

    console = Console(pipeline, broken_status, out)

    async def one_frame() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(console.run(stop))
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(one_frame())
    assert "LIVE VIEW ERROR (ValueError)" in out.getvalue()
