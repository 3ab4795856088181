"""The plausibility gate covers every driver (agent/plausibility.py): a generator's or an activimeter's
absurd value is withheld from the monitors, stored marked, counted and alarmed like a dose meter's;
the alarm escalates when repeated during beam-on and clears after plausible readings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.config import parse_config
from agent.pipeline import Pipeline
from agent.plausibility import CLEAR_AFTER
from agent.store.outbox import Outbox
from drivers.model import Measurement, Reading
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
