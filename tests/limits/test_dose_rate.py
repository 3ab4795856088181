"""The fluoroscopy dose-rate evaluator, table-driven in plain numbers (no clock, no sleeping)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from limits.dose_rate import RateCleared, RateExceeded, RatePolicy, RateSample, RateState, evaluate
from limits.dosimetry import Geometry, esak_rate_mgy_min
from limits.levels import load_rate_levels

TABLE = load_rate_levels()
POLICY = RatePolicy(window_s=2.0, raise_after_s=1.0, clear_below_fraction=0.9, clear_after_s=2.0)
STEP_S = 0.25


def run(rates: list[float], mode: str = "normal", policy: RatePolicy = POLICY) -> list[tuple[float, object]]:
    state, seen = RateState(), []
    for i, rate in enumerate(rates):
        t = i * STEP_S
        state, events = evaluate(state, RateSample(t, rate, mode), TABLE, policy)
        seen += [(t, e) for e in events]
    return seen


def held(rate: float, seconds: float) -> list[float]:
    return [rate] * int(seconds / STEP_S)


def test_levels_are_the_seed_table_4_values_with_citation() -> None:
    assert TABLE.levels["normal"].rate_mgy_min == 25.0
    assert TABLE.levels["high_level"].rate_mgy_min == 100.0
    assert "Tableau 4" in TABLE.levels["normal"].citation


@pytest.mark.parametrize(
    ("mode", "rate", "alarms"),
    [
        ("normal", 24.9, False),
        ("normal", 25.1, True),
        ("high_level", 60.0, False),
        ("high_level", 110.0, True),
        ("acquisition", 300.0, False),  # cine/DSA: recorded, not judged against fluoro levels
    ],
)
def test_held_rate_against_the_level(mode: str, rate: float, alarms: bool) -> None:
    events = run(held(rate, 10), mode)
    assert any(isinstance(e, RateExceeded) for _, e in events) is alarms


def test_raised_once_then_cleared_once_with_hysteresis() -> None:
    events = run(held(0, 1) + held(40, 5) + held(23.5, 5) + held(10, 5))
    kinds = [type(e).__name__ for _, e in events]
    # 23.5 is under 25 but above 0.9 × 25 = 22.5: hysteresis keeps the alarm up until 10.
    assert kinds == ["RateExceeded", "RateCleared"]
    cleared = events[1][1]
    assert isinstance(cleared, RateCleared)
    assert cleared.peak_mean_mgy_min == pytest.approx(40)
    assert events[1][0] >= 11.0  # only after the rate fell to 10 (from t = 11 s) and stayed there


def test_a_single_sample_over_the_level_does_not_alarm() -> None:
    assert run([*held(10, 3), 60.0, *held(10, 5)]) == []


def test_mode_change_to_acquisition_clears_an_active_fluoro_alarm() -> None:
    state = RateState()
    for i in range(12):
        state, _ = evaluate(state, RateSample(i * STEP_S, 50, "normal"), TABLE, POLICY)
    assert state.active is not None
    state, events = evaluate(state, RateSample(3.0, 300, "acquisition"), TABLE, POLICY)
    assert state.active is None and isinstance(events[0], RateCleared)
    assert events[0].reason == "mode_not_judged"


@given(st.lists(st.floats(min_value=0, max_value=24.99), min_size=1, max_size=200))
def test_a_rate_always_below_the_level_never_alarms(rates: list[float]) -> None:
    assert run(rates) == []


@given(
    st.floats(min_value=25.01, max_value=5000),
    st.lists(st.floats(min_value=0, max_value=24.99), max_size=40),
)
def test_a_rate_held_above_alarms_within_the_documented_delay(rate: float, before: list[float]) -> None:
    """Documented worst case: window_s + raise_after_s after the excess starts (plus one poll)."""
    start = len(before) * STEP_S
    events = run(before + held(rate, 10))
    raised = [t for t, e in events if isinstance(e, RateExceeded)]
    assert raised, "a held excess must alarm"
    assert raised[0] - start <= POLICY.window_s + POLICY.raise_after_s + STEP_S


def test_entrance_dose_rate_formula_with_every_factor() -> None:
    geometry = Geometry(
        field_area_at_reference_cm2=100,
        source_to_reference_cm=60,
        source_to_entrance_cm=65,
        backscatter_factor=1.4,
        table_transmission=0.8,
    )
    # 2 Gy·cm²/min over 100 cm² = 20 mGy/min at the reference point; × (60/65)² × 1.4 × 0.8
    assert esak_rate_mgy_min(2.0, geometry) == pytest.approx(20 * (60 / 65) ** 2 * 1.4 * 0.8)
