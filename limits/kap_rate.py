"""The KAP rate from a meter's cumulative KAP, and its agreement with the rate the meter reports.

A meter that reports only cumulative KAP (or Ka,r) still tells the rate: the counter's change over a
window. Where a meter reports both, the two must agree; the ratio also settles a rate time base the
public protocol leaves open (the DIAMENTOR's `dap_rate` per second or per minute): a ratio near 1
means the configured base fits, near 60 or 1/60 the other one does.

Pure: `counter_rate(window)`, `time_base_fit(ratio, configured_s)`, `disagree(reported, derived)`.
"""

from __future__ import annotations

__all__ = ["MISMATCH_FRACTION", "counter_rate", "disagree", "time_base_fit"]

from collections.abc import Sequence

MISMATCH_FRACTION = 0.3  # the two rates differ by more than 30 % of the larger
_FIT_TOLERANCE = 0.3


def counter_rate(window: Sequence[tuple[float, float]]) -> float | None:
    """(t_s, counter) samples, oldest first, no reset inside → counter units per minute, or None."""
    if len(window) < 2:
        return None
    (t0, c0), (t1, c1) = window[0], window[-1]
    if t1 <= t0:
        return None
    return max(0.0, (c1 - c0) / (t1 - t0) * 60.0)


def disagree(reported: float, derived: float, floor: float) -> bool:
    """True when the larger of the two is above `floor` (beam on) and they differ by more than
    MISMATCH_FRACTION of it."""
    top = max(reported, derived)
    return top >= floor and abs(reported - derived) > MISMATCH_FRACTION * top


def time_base_fit(ratio: float, configured_s: float) -> str:
    """Which `dap_rate` time base makes reported × base agree with the counter: per_second,
    per_minute, per_hour or none. `ratio` = derived / reported with the configured base."""
    for name, base_s in (("per_second", 1.0), ("per_minute", 60.0), ("per_hour", 3600.0)):
        expected = configured_s / base_s  # reported is scaled by 60/configured; truth by 60/base
        if abs(ratio / expected - 1.0) <= _FIT_TOLERANCE:
            return name
    return "none"
