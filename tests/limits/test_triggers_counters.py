"""Cumulative triggers (each level once), meter counters (reset and wrap neither lose nor double)."""

from __future__ import annotations

import pytest

from limits.counters import counter_step
from limits.trigger_levels import load_trigger_set
from limits.triggers import TriggerState, evaluate

LEVELS = load_trigger_set("ncrp168-sir").levels


def crossings_along(quantity: str, path: list[float]) -> list[tuple[str, int]]:
    state, seen = TriggerState(), []
    for value in path:
        state, crossings = evaluate(state, {quantity: value}, LEVELS)
        seen += [(c.level.id, c.index) for c in crossings]
    return seen


def test_kar_crosses_3_4_5_gy_once_each() -> None:
    path = [x * 100.0 for x in range(0, 61)] + [6000.0] * 5  # mGy, 0 → 6 Gy then held
    seen = crossings_along("kar", path)
    assert seen == [
        ("kar_notification", 0),
        ("kar_notification", 1),
        ("kar_notification", 2),  # 5 Gy: the notification and the substantial level, one alarm each
        ("kar_substantial", 0),
        ("kar_notification", 3),
    ]


def test_fluoro_time_signal_every_5_min_and_60_min_substantial() -> None:
    seen = crossings_along("fluoro_time", [float(s) for s in range(0, 3601, 30)])
    signals = [i for t, i in seen if t == "fluoro_time_signal"]
    assert signals == list(range(12))  # 5, 10, … 60 min
    assert ("fluoro_time_notification", 0) in seen and ("fluoro_time_notification", 2) in seen
    assert seen.count(("fluoro_time_substantial", 0)) == 1


def test_float_sum_just_under_level_still_counts() -> None:
    assert ("kar_notification", 0) in crossings_along("kar", [sum([0.1] * 30000)])  # 2999.9999… mGy


def test_a_jump_reports_each_level_crossed() -> None:
    assert crossings_along("kap", [0.0, 650.0]) == [
        ("kap_notification", 0),
        ("kap_notification", 1),
        ("kap_notification", 2),
        ("kap_notification", 3),
        ("kap_substantial", 0),
    ]


@pytest.mark.parametrize(
    ("previous", "current", "wrap_at", "delta", "event"),
    [
        (None, 5.0, 0.0, 0.0, "first"),
        (5.0, 7.5, 0.0, 2.5, ""),
        (100.0, 3.0, 0.0, 3.0, "reset"),  # counted from zero again: nothing doubled
        (100.0, 99.95, 0.0, 0.0, "jitter"),  # display jitter is not a reset (would double 99.95)
        (9990.0, 15.0, 10000.0, 25.0, "wrap"),
        (5000.0, 15.0, 10000.0, 15.0, "reset"),  # far from the top: a reset, not a wrap
    ],
)
def test_counter_step(
    previous: float | None, current: float, wrap_at: float, delta: float, event: str
) -> None:
    step = counter_step(previous, current, wrap_at)
    assert step.delta == pytest.approx(delta)
    assert step.event == event


def test_jitter_keeps_high_water_mark_so_nothing_is_counted_twice() -> None:
    total, baseline = 0.0, None
    for value in [10.0, 12.0, 11.995, 12.0, 13.0]:
        step = counter_step(baseline, value)
        total, baseline = total + step.delta, step.baseline
    assert total == pytest.approx(3.0)
