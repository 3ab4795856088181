"""Bridge readings through the fluoroscopy monitor (agent/fluoro/monitor.py), in injected time: the
X-ray-on line opens a procedure and an irradiation even at a zero rate, a rate with the line off is
still beam (a stuck or unwired lamp line never hides dose), a wired mode input sets the mode, and
a rate over the level alarms like a meter's Ka,r rate."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.fluoro.monitor import FluoroMonitor
from drivers.model import Measurement, Reading
from limits.levels import load_rate_levels
from limits.trigger_levels import load_trigger_set
from tests.agent.room import FLUORO
from tests.fakes import FakeClock

CONFIG = replace(FLUORO, dap_meter="bridge")


def _reading(rate: float, beam: bool, mode: str | None = None) -> Reading:
    measurements = (
        Measurement("air_kerma_rate", rate, "mGy/min", rate * 100, "counts/s"),
        Measurement("beam_on", float(beam), "1", float(beam), "1"),
    )
    return Reading("bridge", measurements, labels={"mode": mode} if mode else {})


def _run(steps: list[tuple[float, bool, str | None]], step_s: float = 0.5) -> tuple[FluoroMonitor, list[Any]]:
    clock = FakeClock()
    monitor = FluoroMonitor(CONFIG, load_rate_levels(), load_trigger_set("ncrp168-sir"))
    results = []
    for rate, beam, mode in steps:
        results.append(monitor.observe(_reading(rate, beam, mode), clock.monotonic(), clock.wall()))
        clock.advance(step_s)
    return monitor, results


def test_the_beam_on_line_opens_a_procedure_and_an_irradiation_at_zero_rate() -> None:
    monitor, results = _run([(0.0, False, None), (0.0, True, None), (0.0, True, None), (0.0, False, None)])
    assert [r.derived["beam_on"] for r in results] == [False, True, True, False]
    assert monitor.procedure.current is not None and monitor.procedure.current.opened_by == "beam_on"
    irradiations = [rec for r in results for rec in r.records if rec.kind == "irradiation"]
    assert len(irradiations) == 1


def test_a_rate_with_the_line_off_is_still_beam() -> None:
    _, results = _run([(5.0, False, None)])
    assert results[0].derived["beam_on"] is True


def test_a_wired_mode_input_sets_the_mode_it_is_judged_in() -> None:
    _, results = _run([(40.0, True, "high_level")] * 8)
    assert results[-1].derived["mode"] == "high_level"
    assert results[-1].derived["mode_source"] == "mode_input"
    assert not [a for r in results for a in r.alarms], "40 mGy/min is below the 100 mGy/min high-level level"


def test_a_rate_over_the_level_alarms_like_a_meters() -> None:
    _, results = _run([(40.0, True, None)] * 8)
    raised = [a for r in results for a in r.alarms if a.state == "raised"]
    assert [a.alarm_type for a in raised] == ["fluoro_dose_rate"]
