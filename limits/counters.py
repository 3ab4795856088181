"""Pure handling of a meter's cumulative counters (KAP, air kerma, irradiation time).

A meter reset (RES, power cycle, new patient pressed mid-procedure) or a counter wrap makes the
value drop. `counter_step` turns each new value into the increase since the last one without
losing or doubling dose:
- increase: the difference;
- a drop within `jitter_fraction` of the high-water mark: no increase (display jitter), and the
  high-water mark is kept, so the same dose is not counted again when the value comes back;
- a drop from the top `WRAP_BAND` of a known wrap value to the bottom of the range: a wrap,
  increase = (wrap_at − previous) + current;
- any other drop: a reset, increase = current (the meter counts from zero again). Only what the
  meter integrated between the last reading before the reset and the reset itself is unseen: at most
  one poll interval of beam-on.
"""

from __future__ import annotations

__all__ = ["CounterStep", "counter_step"]

from dataclasses import dataclass

WRAP_BAND = 0.9


@dataclass(frozen=True)
class CounterStep:
    delta: float
    baseline: float  # what the next value is compared with
    event: str  # "" | "first" | "jitter" | "reset" | "wrap"


def counter_step(
    previous: float | None, current: float, wrap_at: float = 0.0, jitter_fraction: float = 1e-3
) -> CounterStep:
    if previous is None:
        return CounterStep(0.0, current, "first")
    if current >= previous:
        return CounterStep(current - previous, current, "")
    if previous - current <= jitter_fraction * abs(previous):
        return CounterStep(0.0, previous, "jitter")
    if wrap_at > 0 and previous >= WRAP_BAND * wrap_at and current <= (1 - WRAP_BAND) * wrap_at:
        return CounterStep(wrap_at - previous + current, current, "wrap")
    return CounterStep(max(current, 0.0), current, "reset")
