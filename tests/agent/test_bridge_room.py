"""The room's pattern from the active alarms (agent/bridge_room.py), the documented delay in polls,
and the live view showing an acknowledgement as such."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.alarms import ActiveAlarm
from agent.app import Agent
from agent.bridge_room import pattern_delay_polls, room_pattern
from agent.commands.action_queue import ActionOutcome
from agent.config import parse_config
from agent.console import Console
from agent.notices import AlarmNotice
from drivers.model import Measurement, Reading
from limits.dose_rate import RatePolicy
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _alarm(alarm_type: str, acknowledged: bool = False) -> ActiveAlarm:
    notice = AlarmNotice(alarm_type, alarm_type, "raised", "high", "m", {})
    return ActiveAlarm(notice, T, T if acknowledged else None, "room button (bridge)" if acknowledged else "")


@pytest.mark.parametrize(
    ("active", "pattern"),
    [
        ([], "off"),
        ([_alarm("store_failing")], "off"),  # not a room alarm
        ([_alarm("fluoro_trigger")], "trigger"),
        ([_alarm("fluoro_trigger"), _alarm("device_lost")], "monitor_lost"),
        ([_alarm("dose_meter_frozen"), _alarm("fluoro_dose_rate")], "dose_rate"),
        ([_alarm("fluoro_dose_rate", acknowledged=True)], "acknowledged"),
        ([_alarm("fluoro_dose_rate", acknowledged=True), _alarm("fluoro_trigger")], "trigger"),
        ([_alarm("monitor_failed", acknowledged=True), _alarm("store_failing")], "acknowledged"),
    ],
)
def test_room_pattern_follows_the_most_urgent_unacknowledged_alarm(
    active: list[ActiveAlarm], pattern: str
) -> None:
    assert room_pattern(active) == pattern


def test_documented_delay_in_polls() -> None:
    policy = RatePolicy(window_s=2.0, raise_after_s=2.0, clear_below_fraction=0.9, clear_after_s=2.0)
    assert pattern_delay_polls(1.0, policy, 0.5) == 13
    assert pattern_delay_polls(1.0, policy, 1.0) == 8


def test_the_live_view_shows_an_acknowledgement_not_a_clearance() -> None:
    out = io.StringIO()
    listeners = SimpleNamespace(alarm_listeners=[])  # the console only subscribes to alarms
    console = Console(listeners, lambda: "", out)  # type: ignore[arg-type]
    notice = AlarmNotice(
        "a", "fluoro_dose_rate", "acknowledged", "high", "Rate over", {"acknowledged_by": "X"}
    )
    console.alarm(notice)
    assert "acknowledged by X: Rate over" in out.getvalue()
    assert "cleared" not in out.getvalue()


# ------------------------------------------------------------ the room on a real agent, in injected time


def _agent(tmp_path: Path) -> Agent:
    text = (ROOT / "config" / "demo-bridge.toml").read_text()
    text = text.replace('path = "var/demo-bridge/outbox.sqlite"', f'path = "{tmp_path}/outbox.sqlite"')
    return Agent(parse_config(text), clock=FakeClock())


def _raise(agent: Agent, alarm_type: str) -> str:
    notice = AlarmNotice(alarm_type + "-1", alarm_type, "raised", "high", "m", {})
    agent.pipeline.store([agent.pipeline.alarm_message(notice)])
    return notice.alarm_id


def _bridge_reading(presses: int = 0) -> Reading:
    labels = {"ack_button_presses": str(presses)} if presses else {}
    return Reading("bridge", (Measurement("beam_on", 0.0, "1", 0.0, "1"),), labels=labels)


def test_an_alarm_queues_the_pattern_on_the_bridge_poller_and_a_failure_is_retried(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    room, poller = agent.bridge_rooms[0], agent.pollers[0]
    _raise(agent, "fluoro_dose_rate")
    job = poller.actions.take(agent.clock.monotonic(), agent.clock.wall())
    assert job is not None and job.action.name == "pattern" and job.args == {"pattern": "dose_rate"}
    poller.actions.finish(ActionOutcome(job, False, agent.clock.wall(), True, {}, "board busy"))
    poller.actions.settle()
    assert room.counters["pattern_errors"] == 1 and room.shown == "off"
    room.on_reading(_bridge_reading())  # the next reading from the bridge tries again
    again = poller.actions.take(agent.clock.monotonic(), agent.clock.wall())
    assert again is not None and again.args == {"pattern": "dose_rate"}
    poller.actions.finish(ActionOutcome(again, True, agent.clock.wall(), True, {"pattern": "dose_rate"}))
    poller.actions.settle()
    assert room.shown == "dose_rate"
    agent.outbox.close()


def test_the_room_button_acknowledges_what_sounds_as_a_local_action(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    room = agent.bridge_rooms[0]
    room.on_reading(_bridge_reading(presses=1))
    assert room.counters["button_nothing_to_ack"] == 1
    alarm_id = _raise(agent, "fluoro_dose_rate")
    _raise(agent, "store_failing")  # not sounding in the room: not the button's to acknowledge
    room.on_reading(_bridge_reading(presses=1))
    entry = agent.pipeline.alarm_book.active[alarm_id]
    assert (
        entry.acknowledged is not None and entry.acknowledged_by == "room button (bridge) via bridge_button"
    )
    assert agent.pipeline.alarm_book.active["store_failing-1"].acknowledged is None
    assert room.counters["button_acks"] == 1
    assert room.wanted == "acknowledged"
    agent.outbox.close()
