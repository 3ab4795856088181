"""Properties of the dose-rate evaluator (hypothesis), in plain numbers for time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from limits.dose_rate import RateExceeded, RatePolicy, RateSample, RateState, detection_delay_s, evaluate
from limits.levels import load_rate_levels

TABLE = load_rate_levels()
LEVEL = TABLE.levels["normal"].rate_mgy_min

policies = st.builds(
    lambda w, extra, clear: RatePolicy(window_s=w, raise_after_s=w + extra, clear_after_s=clear),
    st.floats(0.25, 5.0),
    st.floats(0.0, 3.0),
    st.floats(0.0, 5.0),
)
intervals = st.floats(0.05, 1.0)


def run(policy: RatePolicy, samples: list[tuple[float, float]]) -> list[float]:
    state, raised = RateState(), []
    for t, rate in samples:
        state, events = evaluate(state, RateSample(t, rate, "normal"), TABLE, policy)
        raised += [t for e in events if isinstance(e, RateExceeded)]
    return raised


@settings(max_examples=300, deadline=None)
@given(policies, st.lists(st.tuples(intervals, st.floats(0.0, LEVEL)), min_size=1, max_size=200))
def test_rate_never_above_level_never_alarms(policy: RatePolicy, steps: list[tuple[float, float]]) -> None:
    t, samples = 0.0, []
    for dt, rate in steps:
        t += dt
        samples.append((t, rate))
    assert run(policy, samples) == []


@settings(max_examples=300, deadline=None)
@given(
    policies,
    st.floats(0.05, 1.0),
    st.lists(st.floats(0.0, 1.0), min_size=0, max_size=40),
    st.floats(LEVEL * 1.0001, LEVEL * 20),
    st.lists(st.floats(0.0, 1.0), min_size=400, max_size=400),
)
def test_rate_held_above_level_alarms_within_documented_delay(
    policy: RatePolicy, p_max: float, before: list[float], rate: float, jitter: list[float]
) -> None:
    """Below the level (any values ≤ level), then held above from t_step; samples at irregular
    intervals no longer than p_max. The alarm must come by t_step + detection_delay_s."""
    t, samples = 0.0, []
    for fraction in before:
        t += p_max * max(jitter[len(samples)], 0.25)
        samples.append((t, LEVEL * fraction))
    t_step = t + 1e-6
    deadline = t_step + detection_delay_s(policy, p_max)
    while t <= deadline + p_max:
        t += p_max * max(jitter[len(samples) % len(jitter)], 0.25)
        samples.append((t, rate))
    raised = run(policy, samples)
    assert raised, "held above the level and never alarmed"
    assert raised[0] <= deadline + 1e-9


@settings(max_examples=300, deadline=None)
@given(
    policies,
    intervals,
    st.lists(st.floats(0.0, LEVEL), min_size=20, max_size=120),
    st.integers(0, 19),
    st.floats(LEVEL, LEVEL * 1000),
)
def test_one_spike_never_alarms(
    policy: RatePolicy, dt: float, rates: list[float], at: int, spike: float
) -> None:
    rates[at] = spike
    assert run(policy, [(i * dt, r) for i, r in enumerate(rates)]) == []
