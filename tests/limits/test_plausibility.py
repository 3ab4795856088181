"""limits/plausibility.py by tables: ranges, the credible rise, counter semantics, the rebase."""

from __future__ import annotations

import math

import pytest

from drivers.modbus_map import QUANTITY_UNITS
from drivers.profile import CANONICAL_UNITS
from limits.plausibility import REBASE_AFTER, CounterMemory, judge, judge_reading, load_plausibility
from limits.trigger_levels import load_trigger_set
from limits.triggers import TriggerState, evaluate
from tests.work import work_budget

TABLE = load_plausibility()
KAP = TABLE.bounds["kap"]


def test_every_quantity_a_driver_can_produce_has_a_bound_in_its_canonical_unit() -> None:
    units = {**QUANTITY_UNITS, **CANONICAL_UNITS}
    for quantity, unit in units.items():
        assert TABLE.bounds[quantity].unit == unit.replace("1/s", "1/s"), quantity


@pytest.mark.parametrize(
    ("last", "value", "dt", "wrap", "ok", "event_or_reason"),
    [
        (10.0, 10.5, 0.25, 0.0, True, ""),  # a rise
        (10.0, 9.995, 0.25, 0.0, True, ""),  # jitter
        (10.0, 0.2, 0.25, 0.0, True, "reset"),  # towards zero
        (1000.0, 500.0, 0.25, 0.0, False, "drop_not_reset"),  # half-way down: not a reset
        (10.0, 100.0, 0.25, 0.0, False, "rise_too_fast"),  # 90 Gy·cm² in 0.25 s
        (10.0, 100.0, 1.0, 0.0, True, ""),  # the same in 1 s: within the 250 Gy·cm²/s ceiling
        (995.0, 2.0, 0.25, 1000.0, True, "wrap"),
        (500.0, 2.0, 0.25, 1000.0, True, "reset"),
        (995.0, 1500.0, 10.0, 1000.0, False, "above_max"),  # beyond the documented wrap
        (10.0, -6.0, 0.25, 0.0, False, "below_min"),
        (10.0, math.nan, 0.25, 0.0, False, "not_a_number"),
        (10.0, math.inf, 0.25, 0.0, False, "not_a_number"),
        (10.0, 1e30, 0.25, 0.0, False, "above_max"),
    ],
)
def test_kap_counter(
    last: float, value: float, dt: float, wrap: float, ok: bool, event_or_reason: str
) -> None:
    _, verdict = judge(KAP, CounterMemory(last, 0.0), value, dt, wrap)
    assert verdict.ok is ok
    assert (verdict.event if ok else verdict.reason) == event_or_reason


def test_a_counter_stuck_on_a_new_level_is_taken_up_again_as_a_rebase_never_as_dose() -> None:
    memory = {"kap": CounterMemory(10.0, 0.0)}
    events = []
    for i in range(1, REBASE_AFTER + 2):
        memory, (verdict,) = judge_reading(TABLE, memory, [("kap", 5000.0 + i * 0.01)], i * 0.25)
        events.append(verdict.event if verdict.ok else verdict.reason)
    assert events == ["rise_too_fast"] * (REBASE_AFTER - 1) + ["rebase", ""]


def test_one_implausible_value_withholds_the_whole_reading_and_its_counters_do_not_move() -> None:
    memory = {"kap": CounterMemory(10.0, 0.0)}
    kept, verdicts = judge_reading(TABLE, memory, [("kap", 10.1), ("kap_rate", 1e9)], 0.25)
    assert [v.ok for v in verdicts] == [True, False]
    assert kept["kap"].value == 10.0
    _, (unknown,) = judge_reading(TABLE, {}, [("mystery", 1.0)], 0.0)
    assert (unknown.ok, unknown.reason) == (False, "no_bound")


@pytest.mark.parametrize("total", [1e17, 1e30, 1e308, math.inf, math.nan])
def test_trigger_evaluation_of_any_total_is_bounded_work(total: float) -> None:
    levels = load_trigger_set("ncrp168-sir").levels
    with work_budget(5_000):
        state, crossings = evaluate(TriggerState(), {"kap": total, "kar": total, "psd": total}, levels)
    if math.isfinite(total):
        assert crossings and all(c.index <= 10**6 for c in crossings)
    else:
        assert crossings == []
    with work_budget(5_000):
        assert evaluate(state, {"kap": total, "kar": total, "psd": total}, levels)[1] == []
