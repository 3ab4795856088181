"""Restart safety in injected time: the agent is "killed" (its objects dropped, the store file kept, as
after SIGKILL: only committed transactions survive) and a new one starts on the same store, its
monotonic clock reset as after a reboot and its wall clock moved on by the gap."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.config import parse_config
from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from drivers.model import Measurement, Reading
from tests.agent.room import carm_toml, kap_triggers
from tests.fakes import FakeClock

CONFIG = carm_toml("procedure_idle_s = 60.0", kap_triggers(0.02, 0.04))
RATE = 0.4  # Gy·cm²/min over 40 cm²: ~12 mGy/min at the entrance, under the 25 mGy/min level


class Meter:
    """The DAP meter's counter, which keeps counting while the agent is down."""

    def __init__(self) -> None:
        self.kap = 0.0

    def reading(self, kap_rate: float) -> Reading:
        m = (
            Measurement("kap", self.kap, "Gy·cm²", self.kap, "Gy·cm²"),
            Measurement("kap_rate", kap_rate, "Gy·cm²/min", kap_rate, "Gy·cm²/min"),
        )
        return Reading("dap1", m)


class Agent:
    """One run of the agent: pipeline + outbox on the store file, resumed from what it holds."""

    def __init__(self, path: Path, clock: FakeClock, meter: Meter) -> None:
        self.clock, self.meter = clock, meter
        self.outbox = Outbox(path)
        self.first_seq = self.outbox.stats()["next_seq"]
        self.pipeline = Pipeline(parse_config(CONFIG), self.outbox, clock, lambda: None)
        self.pipeline.resume(self.outbox.load_state())

    def beam(self, kap_rate: float, seconds: float, every_s: float = 0.5) -> None:
        for _ in range(round(seconds / every_s)):
            self.clock.advance(every_s)
            self.meter.kap += kap_rate * every_s / 60.0
            self.pipeline.on_reading(self.meter.reading(kap_rate))

    def restart(self, gap_s: float, during: float = 0.0) -> Agent:
        """Killed now; the meter counts `during` Gy·cm²/min while the agent is down `gap_s`; a new
        run starts with a monotonic clock that began again (a reboot)."""
        self.outbox.close()
        clock = FakeClock(start_mono=3.0)
        clock.wall_time = self.clock.wall_time + timedelta(seconds=gap_s)
        self.meter.kap += during * gap_s / 60.0
        return Agent(self.outbox.path, clock, self.meter)

    def sent(self, topic: str, since_start: bool = False) -> list[dict[str, Any]]:
        bodies = [json.loads(m.payload) for m in self.outbox.pending(100_000) if m.topic == topic]
        return [b for b in bodies if not since_start or b["seq"] >= self.first_seq]

    def alarms(
        self, alarm_type: str, state: str = "raised", since_start: bool = False
    ) -> list[dict[str, Any]]:
        alarms = self.sent("alarm", since_start)
        return [b for b in alarms if b["type"] == alarm_type and b["state"] == state]

    def procedure_ids(self) -> list[str]:
        return [b["procedure"]["procedure_id"] for b in self.sent("reading/dap1") if "procedure" in b]

    def kap_total(self) -> float:
        return float(self.sent("reading/dap1")[-1]["procedure"]["kap"]["value"])


def trigger_indices(agent: Agent) -> list[int]:
    return [b["index"] for b in agent.alarms("fluoro_trigger")]


@pytest.fixture
def first(tmp_path: Path) -> Agent:
    return Agent(tmp_path / "outbox.sqlite", FakeClock(), Meter())


def test_fresh_procedure_continues_with_its_totals_and_triggers(first: Agent) -> None:
    first.beam(RATE, 4.0)  # 0.027 Gy·cm²: the 0.02 level is raised
    assert trigger_indices(first) == [0]
    (trigger,) = first.alarms("fluoro_trigger")
    before_id, before_kap, meter_at_kill = first.procedure_ids()[-1], first.kap_total(), first.meter.kap

    second = first.restart(gap_s=10.0)  # meter idle while the agent is down
    (active,) = second.sent("alarm/active", since_start=True)
    assert [a["alarm_id"] for a in active["alarms"] if a["type"] == "fluoro_trigger"] == [trigger["alarm_id"]]
    (gap,) = second.alarms("monitor_gap")  # the beam was on when the agent stopped
    assert gap["severity"] == "high" and gap["gap_s"] == 10.0 and gap["procedure_id"] == before_id

    second.beam(RATE, 6.0)  # to 0.067 Gy·cm²: crosses 0.06 (index 1) once, never 0.02 again
    assert set(second.procedure_ids()) == {before_id}
    assert second.kap_total() == pytest.approx(before_kap + (second.meter.kap - meter_at_kill), abs=1e-4)
    assert trigger_indices(second) == [0, 1]

    second.beam(0.0, 61.0)  # idle: the procedure closes with its record
    (record,) = second.sent("record/procedure")
    assert record["procedure_id"] == before_id
    assert record["restarts"] == [{"at": "2026-11-22T09:00:14.000Z", "gap_s": 10.0}]
    # from the first beam-on sample (0.5 s) to 60 s after the last one, the 10 s gap included
    assert record["duration"]["value"] == pytest.approx(4.0 - 0.5 + 10.0 + 6.0 + 60.0, abs=0.01)
    assert {a["type"] for a in record["alarms"]} == {"fluoro_trigger", "monitor_gap"}


def test_trigger_crossed_while_down_is_raised_once_after_restart(first: Agent) -> None:
    first.beam(RATE, 4.0)
    second = first.restart(gap_s=6.0, during=RATE)  # the beam stayed on: 0.027 → 0.067 while down
    assert trigger_indices(second) == [0]  # nothing new until a reading shows it
    second.beam(0.0, 0.5)
    assert trigger_indices(second) == [0, 1]
    second.beam(0.0, 5.0)
    assert trigger_indices(second) == [0, 1]
    assert len(second.alarms("monitor_gap")) == 1


def test_counter_reset_while_down_neither_loses_nor_doubles_dose(first: Agent) -> None:
    first.beam(RATE, 4.0)
    before = first.kap_total()
    first.meter.kap = 0.0  # someone pressed reset on the meter while the agent was down
    second = first.restart(gap_s=5.0, during=RATE / 2)  # and it counted less than before
    second.beam(RATE, 2.0)
    assert second.kap_total() == pytest.approx(before + second.meter.kap, abs=1e-4)
    fluoro = second.pipeline.fluoro
    assert fluoro is not None
    second.pipeline.publish_evaluation(
        fluoro.close_procedure(second.clock.monotonic(), second.clock.wall(), "t")
    )
    (record,) = second.sent("record/procedure")
    assert [e["event"] for e in record["counter_events"]] == ["reset"]


def test_stale_procedure_is_closed_when_it_would_have_closed(first: Agent) -> None:
    first.beam(RATE, 4.0)
    first.beam(0.0, 20.0)  # beam off for 20 s of the 60 s idle time
    (trigger,) = first.alarms("fluoro_trigger")
    last_beam = first.clock.wall_time - timedelta(seconds=20.0)
    old_id = first.procedure_ids()[-1]

    second = first.restart(gap_s=3600.0)
    (record,) = second.sent("record/procedure")
    assert record["procedure_id"] == old_id and record["closed_by"] == "idle (while the agent was down)"
    assert record["closed_at"] == (last_beam + timedelta(seconds=60.0)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert record["restarts"][0]["gap_s"] == 3600.0
    cleared = second.alarms("fluoro_trigger", "cleared")
    assert [(c["alarm_id"], c["reason"]) for c in cleared] == [(trigger["alarm_id"], "procedure_closed")]
    assert second.sent("alarm/active", since_start=True)[-1]["alarms"] == []
    assert not second.alarms("monitor_gap")  # the beam was off when the agent stopped

    second.beam(RATE, 1.0)
    assert second.procedure_ids()[-1] != old_id
    assert second.kap_total() < 0.008  # the new procedure does not inherit the old totals


def test_dose_found_on_the_counter_after_a_stop_with_beam_off_raises_monitor_gap(first: Agent) -> None:
    first.beam(RATE, 2.0)
    first.beam(0.0, 2.0)
    second = first.restart(gap_s=6.0, during=RATE)
    assert not second.alarms("monitor_gap")
    second.beam(0.0, 1.0)
    (gap,) = second.alarms("monitor_gap")
    assert gap["severity"] == "warning" and gap["kap_during_gap"]["value"] == pytest.approx(0.04, abs=1e-4)
    second.beam(RATE, 2.0)
    assert len(second.alarms("monitor_gap")) == 1


def test_rate_and_device_alarms_resume_and_clear_with_the_same_id(first: Agent) -> None:
    first.beam(3.0, 6.0)  # ~89 mGy/min: above the 25 mGy/min level
    (rate,) = first.alarms("fluoro_dose_rate")
    first.pipeline.on_availability("dap1", False, "timeout")
    (lost,) = first.alarms("device_lost")
    first.pipeline.acknowledge(rate["alarm_id"], "rt-1")

    second = first.restart(gap_s=2.0)
    (active,) = second.sent("alarm/active", since_start=True)
    states = {a["type"]: a["state"] for a in active["alarms"]}
    assert states == {
        "fluoro_dose_rate": "acknowledged",
        "device_lost": "raised",
        "fluoro_trigger": "raised",
        "monitor_gap": "raised",
    }
    second.beam(0.0, 4.0)  # the meter answers: its next reading clears the loss
    assert [c["alarm_id"] for c in second.alarms("fluoro_dose_rate", "cleared")] == [rate["alarm_id"]]
    assert [c["alarm_id"] for c in second.alarms("device_lost", "cleared")] == [lost["alarm_id"]]


def test_wall_clock_gone_back_keeps_the_procedure_open(first: Agent) -> None:
    first.beam(RATE, 4.0)
    old_id = first.procedure_ids()[-1]
    second = first.restart(gap_s=-7200.0)  # RTC reset: the new wall clock is two hours earlier
    second.beam(RATE, 1.0)
    assert second.procedure_ids()[-1] == old_id
    assert second.alarms("monitor_gap")[0]["gap_s"] is None


def test_unreadable_state_is_an_alarm_not_a_crash(first: Agent) -> None:
    first.beam(RATE, 2.0)
    old_id = first.procedure_ids()[-1]
    first.outbox.append([], state={"procedure": '{"version": 1, "saved_at": "garbage"'})
    second = first.restart(gap_s=1.0)
    (alarm,) = second.alarms("state_unreadable")
    assert alarm["severity"] == "high"
    second.beam(RATE, 1.0)
    assert second.procedure_ids()[-1] != old_id


def test_no_saved_state_publishes_an_empty_active_set(first: Agent) -> None:
    (active,) = first.sent("alarm/active")
    assert active["alarms"] == []
    assert not first.sent("alarm")


def test_device_still_lost_after_restart_keeps_one_alarm(first: Agent) -> None:
    first.pipeline.on_availability("dap1", False, "timeout")
    (lost,) = first.alarms("device_lost")
    second = first.restart(gap_s=2.0)
    second.pipeline.on_availability("dap1", False, "still silent")  # the new poller notices too
    assert not second.alarms("device_lost", since_start=True)  # no second alarm for the same loss
    second.pipeline.on_availability("dap1", True, "")
    second.beam(0.0, 1.0)
    cleared = second.alarms("device_lost", "cleared", since_start=True)
    assert [c["alarm_id"] for c in cleared] == [lost["alarm_id"]]
    assert second.sent("alarm/active")[-1]["alarms"] == []
