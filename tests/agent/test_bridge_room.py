"""The room's pattern from the active alarms (agent/bridge_room.py), the documented delay in polls,
and the live view showing an acknowledgement as such."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from agent.alarms import ActiveAlarm
from agent.bridge_room import pattern_delay_polls, room_pattern
from agent.console import Console
from agent.notices import AlarmNotice
from limits.dose_rate import RatePolicy

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
