"""Pure evaluator of cumulative trigger levels over a procedure's running totals.

`evaluate(state, totals, levels) -> (state, crossings)`: `totals` maps a quantity (kar, psd, kap,
fluoro_time) to its running total in the canonical unit (trigger_levels.CANONICAL_UNIT). Each level
of each trigger (first, first + every, first + 2·every, …; only the first when every = 0) is crossed
at most once per procedure: the state remembers the next index of every trigger, so a total that
stays above a level, or a re-evaluation, never raises it twice. A new procedure starts from
`TriggerState()`.
"""

from __future__ import annotations

__all__ = ["Crossing", "TriggerState", "evaluate"]

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from limits.trigger_levels import TriggerLevel

MAX_CROSSINGS_PER_STEP = 20  # beyond this a jump reports only its highest level, with the count skipped
_REL_TOL = 1e-9  # 3 Gy reached as 2999.9999999 mGy by float sums still counts as 3 Gy
MAX_INDEX = 10**6  # a million levels of one trigger: far beyond any total a patient can reach
_MAX_CORRECTIONS = 4  # floor() of a float quotient is off by at most one; four is generous


@dataclass(frozen=True)
class Crossing:
    level: TriggerLevel
    index: int  # 0 = first level, 1 = first + every, …
    threshold: float  # canonical unit
    value: float  # the running total that crossed it, canonical unit
    skipped: int = 0  # levels of this trigger crossed in the same step and not reported separately


@dataclass(frozen=True)
class TriggerState:
    next_index: tuple[tuple[str, int], ...] = ()

    def index_of(self, trigger_id: str) -> int:
        return dict(self.next_index).get(trigger_id, 0)


def _reached(value: float, threshold: float) -> bool:
    return value >= threshold - _REL_TOL * max(1.0, abs(threshold))


def _highest_index(level: TriggerLevel, value: float) -> int:
    """Index of the highest level at or below `value` (caller checked the first is reached).

    Computed, then corrected by at most `_MAX_CORRECTIONS` steps each way for float rounding: never a
    loop in proportion to the value. A total beyond `MAX_INDEX` levels (only an absurd total, which
    limits/plausibility.py keeps out) is capped there, so the work per reading stays bounded.
    """
    if level.every <= 0:
        return 0
    steps = (value / level.factor - level.first) / level.every
    if not math.isfinite(steps) or steps >= MAX_INDEX:
        return MAX_INDEX
    n = max(0, math.floor(steps))
    for _ in range(_MAX_CORRECTIONS):
        if not _reached(value, level.threshold(n + 1)):
            break
        n += 1
    for _ in range(_MAX_CORRECTIONS):
        if n == 0 or _reached(value, level.threshold(n)):
            break
        n -= 1
    return n


def evaluate(
    state: TriggerState, totals: Mapping[str, float], levels: Iterable[TriggerLevel]
) -> tuple[TriggerState, list[Crossing]]:
    next_index = dict(state.next_index)
    crossings: list[Crossing] = []
    for level in levels:
        value = totals.get(level.quantity)
        if value is None or not math.isfinite(value):
            continue
        n = next_index.get(level.id, 0)
        if (level.every <= 0 and n > 0) or not _reached(value, level.threshold(n)):
            continue
        top = _highest_index(level, value)
        if top - n + 1 > MAX_CROSSINGS_PER_STEP:
            crossings.append(Crossing(level, top, level.threshold(top), value, skipped=top - n))
        else:
            crossings.extend(Crossing(level, i, level.threshold(i), value) for i in range(n, top + 1))
        next_index[level.id] = top + 1
    return TriggerState(tuple(sorted(next_index.items()))), crossings
