"""The plausibility gate covers every driver (agent/plausibility.py): a generator's or an activimeter's
absurd value is withheld from the monitors, stored marked, counted and alarmed like a dose meter's;
the alarm escalates when repeated during beam-on and clears after plausible readings."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from agent.config import parse_config
from agent.pipeline import Pipeline
from agent.plausibility import CLEAR_AFTER, PlausibilityGate
from agent.store.outbox import Outbox
from drivers.model import Measurement, Reading
from limits.plausibility import Bound, load_plausibility
from tests.agent.room import carm_toml
from tests.fakes import FakeClock


def _pipeline(tmp_path: Path) -> tuple[Pipeline, Outbox, FakeClock]:
    clock = FakeClock()
    outbox = Outbox(tmp_path / "o.sqlite")
    return Pipeline(parse_config(carm_toml()), outbox, clock, lambda: None), outbox, clock


def _stored(outbox: Outbox, topic: str) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in outbox.pending(100_000) if m.topic == topic]


def _one(device: str, quantity: str, value: float, unit: str) -> Reading:
    return Reading(device, (Measurement(quantity, value, unit, value, unit),))


def test_a_generator_and_an_activimeter_absurd_value_are_withheld_marked_counted_and_alarmed(
    tmp_path: Path,
) -> None:
    pipeline, outbox, _clock = _pipeline(tmp_path)
    pipeline.on_reading(_one("gen1", "kvp", 80.0, "kV"))
    pipeline.on_reading(_one("gen1", "kvp", 8e6, "kV"))
    pipeline.on_reading(_one("cal1", "activity", -5e5, "MBq"))
    pipeline.on_reading(_one("cal1", "activity", float("nan"), "MBq"))
    assert dict(pipeline.plausibility.rejected) == {"gen1": 1, "cal1": 2}
    gen = [r for r in _stored(outbox, "reading/gen1") if r.get("implausible")]
    assert gen[0]["implausible"][0]["reason"] == "above_max"
    cal = [r["implausible"][0] for r in _stored(outbox, "reading/cal1") if r.get("implausible")]
    assert [c["value"]["value"] for c in cal] == [-500000.0, "nan"]
    alarms = [
        (a["device"], a["severity"]) for a in _stored(outbox, "alarm") if a["type"] == "implausible_value"
    ]
    assert alarms == [("gen1", "warning"), ("cal1", "warning")]


def test_repeated_during_beam_on_the_alarm_becomes_high_then_clears_after_plausible_readings(
    tmp_path: Path,
) -> None:
    pipeline, outbox, clock = _pipeline(tmp_path)
    kap = 0.0

    def meter(kap: float, rate: float) -> Reading:
        return Reading(
            "dap1",
            (
                Measurement("kap", kap, "Gy·cm²", kap, "Gy·cm²"),
                Measurement("kap_rate", rate, "Gy·cm²/min", rate, "Gy·cm²/min"),
            ),
        )

    for _ in range(8):  # beam on, 6 Gy·cm²/min
        clock.advance(0.25)
        kap += 0.025
        pipeline.on_reading(meter(kap, 6.0))
    assert pipeline.fluoro is not None and pipeline.fluoro.beam_on
    for _ in range(3):
        clock.advance(0.25)
        pipeline.on_reading(meter(kap, 1e9))
    for _ in range(CLEAR_AFTER):
        clock.advance(0.25)
        kap += 0.025
        pipeline.on_reading(meter(kap, 6.0))
    alarms = [a for a in _stored(outbox, "alarm") if a["type"] == "implausible_value"]
    assert [(a["state"], a["severity"]) for a in alarms] == [
        ("raised", "warning"),
        ("raised", "high"),
        ("cleared", "high"),
    ]
    assert len({a["alarm_id"] for a in alarms}) == 1
    procedure = pipeline.fluoro.procedure.current
    assert procedure is not None
    assert any(entry["type"] == "implausible_value" for entry in procedure.alarms)


class _JudgedInFull(PlausibilityGate):
    """The gate without its short way for in-range levels: every reading through `judge_reading`."""

    def _levels_in_range(self, measurements: tuple[Measurement, ...]) -> bool:
        return False


def _edge_values(bound: Bound) -> list[float]:
    step = max(abs(bound.max - bound.min) * 1e-9, 1e-12)
    middle = (bound.min + bound.max) / 2
    return [bound.min, bound.max, middle, bound.min - step, bound.max + step, math.nan, math.inf, -math.inf]


def test_the_short_way_for_in_range_levels_gives_judge_readings_answer_for_every_bound() -> None:
    """Every quantity of the table at its ends, inside, just outside, NaN and ±inf; alone and together
    with an in-range level, a counter, a quantity without a bound; on a device with wraps (a level's too).
    The gate (short way taken when it may be) and the gate judging everything in full agree on what
    the monitors see, what is rejected and why, the alarms, the rebases and what is remembered."""
    table = load_plausibility()
    level = next(b for b in table.bounds.values() if b.kind == "level")
    wraps = {"dap1": {"kap": 9_999.0, level.quantity: level.min + (level.max - level.min) / 4}}
    fast, full = PlausibilityGate(table, wraps), _JudgedInFull(table, wraps)
    counter = next(b for b in table.bounds.values() if b.kind == "counter")
    t = 0.0
    for bound in table.bounds.values():
        for value in _edge_values(bound):
            for device in ("gen1", "dap1"):
                companions: list[tuple[str, float, str]] = [
                    (level.quantity, (level.min + level.max) / 2, level.unit)
                ]
                for extra in ([], companions, [(counter.quantity, t, counter.unit)], [("no_such", 1.0, "1")]):
                    t += 1.0
                    values = [(bound.quantity, value, bound.unit), *extra]
                    reading = Reading(device, tuple(Measurement(q, v, u, v, u) for q, v, u in values))
                    a, b = fast.check(reading, t, beam_on=False), full.check(reading, t, beam_on=False)
                    assert (a.reading is None) == (b.reading is None), (bound.quantity, value, extra)
                    assert a.rejected == b.rejected and a.rebased == b.rebased
                    assert [(n.alarm_type, n.state, n.severity) for n in a.alarms] == [
                        (n.alarm_type, n.state, n.severity) for n in b.alarms
                    ]
                    assert {d: m for d, m in fast.memory.items() if m} == {
                        d: m for d, m in full.memory.items() if m
                    }
    assert fast.rejected == full.rejected and sum(fast.rejected.values()) > 0


def test_an_in_range_reading_still_clears_the_implausible_alarm_on_the_short_way(tmp_path: Path) -> None:
    """A generator's absurd kV raises `implausible_value`; plausible generator readings (all levels in
    range: the short way) count towards clearing it, and it clears after CLEAR_AFTER of them."""
    gate = PlausibilityGate()
    bad = gate.check(_one("gen1", "kvp", 1e6, "kV"), 0.0, beam_on=False)
    assert bad.reading is None and [a.state for a in bad.alarms] == ["raised"]
    states = [
        a.state
        for i in range(CLEAR_AFTER)
        for a in gate.check(_one("gen1", "kvp", 70.0, "kV"), 1.0 + i, False).alarms
    ]
    assert states == ["cleared"]
