"""Pure evaluator of the fluoroscopy entrance dose-rate guidance level (the regulation's Table 4).

`evaluate(state, sample, table, policy) -> (state, events)` has no I/O and no clock of its own:
time comes in the sample (monotonic seconds), so tests drive it with plain numbers.

Behaviour:
- the rate judged is the mean of the samples in the last `window_s` (pulsed fluoroscopy is spiky);
- an alarm is raised once the mean has stayed above the level for `raise_after_s`;
- it clears once the mean has stayed below `clear_below_fraction × level` for `clear_after_s`
  (hysteresis: no flapping around the level);
- a mode with no level in the table (acquisition: cine, DSA; off) is recorded but not judged;
- samples older than `max_gap_s` are forgotten (a silent meter is the poller's alarm, not a rate);
- a sample earlier than the last one (cannot happen on a monotonic clock) restarts the window.

Guarantees (tests/limits/test_dose_rate_properties.py checks them with hypothesis):
- samples that are all at or below the level never raise an alarm;
- with `raise_after_s ≥ window_s` (the config enforces it) one spike sample never raises an alarm
  on its own: it has left the window before the mean can have stayed above for `raise_after_s`;
- a rate held above the level from time t raises the alarm by t + `detection_delay_s(policy, p)`,
  where p is the longest interval between samples:
      window_s + raise_after_s + 2·p
  (one p until the first sample shows the step, one p for a sample to land after raise_after_s).
  This excludes any averaging inside the meter itself, which adds its own response time.
"""

from __future__ import annotations

__all__ = [
    "RateCleared",
    "RateExceeded",
    "RatePolicy",
    "RateSample",
    "RateState",
    "detection_delay_s",
    "evaluate",
]

import math
from dataclasses import dataclass, replace

from limits.levels import RateLevel, RateLevelTable


@dataclass(frozen=True)
class RatePolicy:
    window_s: float = 2.0
    raise_after_s: float = 2.0
    clear_below_fraction: float = 0.9
    clear_after_s: float = 2.0
    max_gap_s: float = 5.0


@dataclass(frozen=True)
class RateSample:
    t_s: float
    rate_mgy_min: float
    mode: str


@dataclass(frozen=True)
class ActiveRateAlarm:
    level: RateLevel
    raised_at_s: float
    peak_mean_mgy_min: float


@dataclass(frozen=True)
class RateState:
    window: tuple[tuple[float, float], ...] = ()
    above_since_s: float | None = None
    below_since_s: float | None = None
    active: ActiveRateAlarm | None = None

    @property
    def mean_mgy_min(self) -> float:
        if not self.window:
            return 0.0
        return math.fsum(r for _, r in self.window) / len(self.window)


@dataclass(frozen=True)
class RateExceeded:
    level: RateLevel
    mean_mgy_min: float
    above_since_s: float
    t_s: float


@dataclass(frozen=True)
class RateCleared:
    level: RateLevel
    mean_mgy_min: float
    peak_mean_mgy_min: float
    raised_at_s: float
    t_s: float
    reason: str


RateEvent = RateExceeded | RateCleared


def detection_delay_s(policy: RatePolicy, sample_interval_s: float) -> float:
    """Worst-case time from a step above the level to the alarm (see the module docstring)."""
    return policy.window_s + policy.raise_after_s + 2.0 * sample_interval_s


def _clear(state: RateState, t_s: float, reason: str) -> tuple[RateState, list[RateEvent]]:
    if state.active is None:
        return state, []
    event = RateCleared(
        state.active.level,
        state.mean_mgy_min,
        state.active.peak_mean_mgy_min,
        state.active.raised_at_s,
        t_s,
        reason,
    )
    return replace(state, active=None, below_since_s=None, above_since_s=None), [event]


def evaluate(
    state: RateState, sample: RateSample, table: RateLevelTable, policy: RatePolicy
) -> tuple[RateState, list[RateEvent]]:
    level = table.for_mode(sample.mode)
    if level is None:
        idle, events = _clear(RateState(active=state.active), sample.t_s, "mode_not_judged")
        return replace(idle, window=()), events

    if state.active is not None and state.active.level.mode != level.mode:
        state, events = _clear(state, sample.t_s, "mode_changed")
    else:
        events = []

    if state.window and sample.t_s < state.window[-1][0]:
        state = replace(state, window=(), above_since_s=None, below_since_s=None)
    kept = tuple(
        (t, r)
        for t, r in state.window
        if sample.t_s - t < policy.window_s and sample.t_s - t <= policy.max_gap_s
    )
    state = replace(state, window=(*kept, (sample.t_s, sample.rate_mgy_min)))
    mean = state.mean_mgy_min

    if mean > level.rate_mgy_min:
        above = state.above_since_s if state.above_since_s is not None else sample.t_s
        state = replace(state, above_since_s=above, below_since_s=None)
        if state.active is None and sample.t_s - above >= policy.raise_after_s:
            state = replace(state, active=ActiveRateAlarm(level, sample.t_s, mean))
            events.append(RateExceeded(level, mean, above, sample.t_s))
    elif mean < level.rate_mgy_min * policy.clear_below_fraction:
        below = state.below_since_s if state.below_since_s is not None else sample.t_s
        state = replace(state, above_since_s=None, below_since_s=below)
        if state.active is not None and sample.t_s - below >= policy.clear_after_s:
            state, cleared_events = _clear(state, sample.t_s, "below_level")
            events.extend(cleared_events)
    else:
        state = replace(state, above_since_s=None, below_since_s=None)

    if state.active is not None and mean > state.active.peak_mean_mgy_min:
        state = replace(state, active=replace(state.active, peak_mean_mgy_min=mean))
    return state, events
