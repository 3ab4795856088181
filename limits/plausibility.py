"""Is a measured value physically possible? Pure judgement at the entry of every reading.

Bounds are cited, reasoned data (limits/data/plausibility.toml): per quantity, in its canonical
unit, a physical range and, for cumulative counters, the fastest credible rise and the counter's
semantics — a drop is a reset only towards zero (to at most what could have been counted since) or
at the device's documented wrap. Everything else is implausible: a value that is not a number, out
of range, a rise faster than any X-ray tube can deliver, a drop that is neither reset nor wrap.

A counter whose continuity was broken by rejected values is taken up again (`rebase`) only after
`REBASE_AFTER` consecutive readings consistent with each other: the step is then not counted as dose
(the caller forgets its baseline), so a meter stuck on an absurd value can never add it to a total.

Every judgement is a fixed number of comparisons: no loop depends on a measured value.
Pure: `judge_reading(table, memory, values, t_s, wraps) -> (memory, verdicts)`; no clock, no I/O.
"""

from __future__ import annotations

__all__ = [
    "REBASE_AFTER",
    "Bound",
    "CounterMemory",
    "PlausibilityTable",
    "Verdict",
    "judge",
    "judge_reading",
    "level_ranges",
    "load_plausibility",
]

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from limits.counters import WRAP_BAND
from limits.guidance import read_data

DATA = "plausibility"
REBASE_AFTER = 3
JITTER_FRACTION = 1e-3  # as limits/counters.py: a drop this small is display jitter


@dataclass(frozen=True)
class Bound:
    quantity: str
    unit: str
    kind: str  # counter | level
    min: float
    max: float
    max_rise_per_s: float = 0.0  # counters only
    rise_slack: float = 0.0  # counters only: display resolution, poll misalignment
    reason: str = ""

    def limits(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min": self.min, "max": self.max, "unit": self.unit}
        if self.kind == "counter":
            out["max_rise_per_s"] = self.max_rise_per_s
        return out


@dataclass(frozen=True)
class PlausibilityTable:
    bounds: Mapping[str, Bound]
    source: str


@dataclass(frozen=True)
class CounterMemory:
    """The last accepted value of a counter, and the run of rejected ones since (for a rebase)."""

    value: float
    t_s: float
    seen_value: float | None = None  # last in-range value received while continuity is broken
    seen_t_s: float = 0.0
    streak: int = 0  # consecutive received values consistent with each other since the break


class Verdict(NamedTuple):  # a NamedTuple: eight of these per reading, ~1 µs less each (issue 17)
    quantity: str
    value: float
    ok: bool
    reason: str = ""  # not_a_number | below_min | above_max | rise_too_fast | drop_not_reset | no_bound
    event: str = ""  # "" | first | reset | wrap | rebase
    bound: Bound | None = None


def load_plausibility() -> PlausibilityTable:
    raw = read_data(DATA)
    bounds = {}
    for item in raw["quantity"]:
        bound = Bound(
            quantity=str(item["quantity"]),
            unit=str(item["unit"]),
            kind=str(item["kind"]),
            min=float(item["min"]),
            max=float(item["max"]),
            max_rise_per_s=float(item.get("max_rise_per_s", 0.0)),
            rise_slack=float(item.get("rise_slack", 0.0)),
            reason=str(item["reason"]),
        )
        if bound.kind not in ("counter", "level") or not bound.min < bound.max:
            raise ValueError(f"plausibility row {bound.quantity!r}: bad kind or range")
        if bound.kind == "counter" and bound.max_rise_per_s <= 0:
            raise ValueError(f"plausibility row {bound.quantity!r}: a counter needs max_rise_per_s > 0")
        bounds[bound.quantity] = bound
    return PlausibilityTable(bounds, str(raw["source"]["reference"]))


def level_ranges(table: PlausibilityTable) -> dict[str, tuple[float, float]]:
    """Quantity → (min, max) of every `level` bound. A level inside its range (the ends included) is
    plausible with no memory and no event: that is `judge_reading`'s whole answer for it, so a reading
    whose values are all such levels can be judged by these two comparisons a value (issue 17)."""
    return {q: (b.min, b.max) for q, b in table.bounds.items() if b.kind == "level"}


def _counter_step_ok(bound: Bound, last: float, last_t: float, value: float, t_s: float, wrap: float) -> str:
    """'' (a plain rise or jitter), 'reset', 'wrap', or the reason it is implausible."""
    allowed = bound.max_rise_per_s * max(0.0, t_s - last_t) + bound.rise_slack
    rise = value - last
    if rise >= 0:
        return "" if rise <= allowed else "rise_too_fast"
    if -rise <= JITTER_FRACTION * abs(last):
        return ""
    if wrap > 0 and last >= WRAP_BAND * wrap and value <= (1 - WRAP_BAND) * wrap:
        return "wrap" if wrap - last + value <= allowed else "rise_too_fast"
    if value <= allowed:
        return "reset"  # towards zero: at most what could have been counted since the reset
    return "drop_not_reset"


def judge(
    bound: Bound, memory: CounterMemory | None, value: float, t_s: float, wrap: float = 0.0
) -> tuple[CounterMemory | None, Verdict]:
    """One value. Returns the counter memory to keep if this value is accepted, and the verdict."""
    if not math.isfinite(value):
        return memory, Verdict(bound.quantity, value, False, "not_a_number", bound=bound)
    top = min(bound.max, wrap) if wrap > 0 else bound.max
    if value < bound.min or value > top:
        reason = "below_min" if value < bound.min else "above_max"
        return memory, Verdict(bound.quantity, value, False, reason, bound=bound)
    if bound.kind != "counter":
        return None, Verdict(bound.quantity, value, True, bound=bound)
    if memory is None:
        return CounterMemory(value, t_s), Verdict(bound.quantity, value, True, "", "first", bound)
    step = _counter_step_ok(bound, memory.value, memory.t_s, value, t_s, wrap)
    if step in ("", "reset", "wrap"):
        return CounterMemory(value, t_s), Verdict(bound.quantity, value, True, "", step, bound)
    # Continuity with the last accepted value is broken: is this the start of a consistent run?
    streak = 1
    if memory.seen_value is not None:
        again = _counter_step_ok(bound, memory.seen_value, memory.seen_t_s, value, t_s, wrap)
        streak = memory.streak + 1 if again == "" else 1
    if streak >= REBASE_AFTER:
        return CounterMemory(value, t_s), Verdict(bound.quantity, value, True, "", "rebase", bound)
    broken = replace(memory, seen_value=value, seen_t_s=t_s, streak=streak)
    return broken, Verdict(bound.quantity, value, False, step, bound=bound)


def judge_reading(
    table: PlausibilityTable,
    memory: Mapping[str, CounterMemory],
    values: Sequence[tuple[str, float]],
    t_s: float,
    wraps: Mapping[str, float] | None = None,
) -> tuple[dict[str, CounterMemory], list[Verdict]]:
    """Every (quantity, value) of one reading. A reading is one frame: if any value is implausible
    the whole reading is withheld, so the memory of its accepted counters does not move (only the
    run of rejected ones does). A quantity without a bound is rejected (`no_bound`): nothing
    unjudged may reach a monitor."""
    wraps = wraps or {}
    verdicts: list[Verdict] = []
    kept = dict(memory)
    if_accepted: dict[str, CounterMemory] = {}
    for quantity, value in values:
        bound = table.bounds.get(quantity)
        if bound is None:
            verdicts.append(Verdict(quantity, value, False, "no_bound"))
            continue
        if bound.kind != "counter" and quantity not in wraps and bound.min <= value <= bound.max:
            verdicts.append(Verdict(quantity, value, True, bound=bound))  # `judge`'s answer (NaN fails <=)
            continue
        new, verdict = judge(bound, memory.get(quantity), value, t_s, wraps.get(quantity, 0.0))
        verdicts.append(verdict)
        if new is None:
            continue
        if verdict.ok:
            if_accepted[quantity] = new
        else:
            kept[quantity] = new
    if all(v.ok for v in verdicts):
        kept.update(if_accepted)
    return kept, verdicts
