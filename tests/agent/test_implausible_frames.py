"""Issue 9, findings 1–3: absurd DIAMENTOR frames must neither stop the monitor nor invent dose, and a
meter that gives only cumulative KAP is still judged — the real simulator on a real pty, the real
driver and pipeline, injected time (tests/agent/pty_room.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.procedure import Procedure, Segment
from tests.agent.pty_pipeline_room import PtyRoom
from tests.work import work_budget

# 10 Gy·cm²/min: 100 mGy/min K_ref on the 100 cm² reference field, 219 mGy/min entrance rate: over 25.
STEADY = Procedure((Segment(600.0, 10.0),))
PER_READING_LINES = 50_000  # a normal reading costs a few thousand traced lines


@pytest.fixture
def make_room(tmp_path: Path) -> Iterator[type[PtyRoom]]:
    rooms: list[PtyRoom] = []

    def build(*args: object, **kwargs: object) -> PtyRoom:
        room = PtyRoom(tmp_path / str(len(rooms)), *args, **kwargs)  # type: ignore[arg-type]
        rooms.append(room)
        return room

    (tmp_path / "0").mkdir()
    (tmp_path / "1").mkdir()
    yield build  # type: ignore[misc]
    for room in rooms:
        room.close()


@pytest.mark.parametrize("absurd", [1e30, 1e17, -1e30])
def test_finding1_an_absurd_kap_frame_is_judged_in_bounded_work_and_monitoring_goes_on(
    make_room: type[PtyRoom], absurd: float
) -> None:
    room = make_room(STEADY)
    room.run(2.0)
    room.simulator.faults.dap = absurd  # every M reply now says KAP = absurd (µGy·m²)
    with work_budget(4 * PER_READING_LINES):
        room.run(1.0)
    room.simulator.faults.dap = None
    with work_budget(20 * PER_READING_LINES):
        room.run(5.0)  # readings go on, and are judged
    assert room.alarms("implausible_value"), "the absurd frames raise implausible_value"
    assert room.alarms("fluoro_dose_rate"), "the real 219 mGy/min is still judged"
    assert room.alarms("fluoro_trigger") == []
    assert room.procedure_kap < 10.0 * 8 / 60 + 0.1


def test_finding2_one_absurd_kap_frame_adds_nothing_to_the_procedure(make_room: type[PtyRoom]) -> None:
    room = make_room(STEADY)
    room.run(2.0)
    room.simulator.faults.dap = 99_999_999.0  # one frame: 10⁶ Gy·cm²
    room.run(0.25)
    room.simulator.faults.dap = None
    room.run(2.0)
    assert room.alarms("fluoro_trigger") == [], "no trigger from an invented 10⁶ Gy·cm²"
    assert room.procedure_kap == pytest.approx(10.0 * 4.25 / 60, abs=0.1)
    (alarm,) = room.alarms("implausible_value")
    assert alarm["device"] == "dap1" and alarm["quantity"] == "kap"
    marked = [r for r in room.stored("reading/dap1") if r.get("implausible")]
    assert len(marked) == 1, "the frame is stored as it was, marked"
    assert marked[0]["implausible"][0]["value"] == {"value": 999_999.99, "unit": "Gy.cm2"}


def test_finding2_a_negative_frame_then_a_valid_one_adds_no_dose(make_room: type[PtyRoom]) -> None:
    room = make_room(STEADY)
    room.run(2.0)
    room.simulator.faults.dap = -600.0  # -6 Gy·cm²
    room.run(0.25)
    room.simulator.faults.dap = None
    room.run(2.0)
    assert room.procedure_kap == pytest.approx(10.0 * 4.25 / 60, abs=0.1)


def test_finding2_an_absurd_rate_raises_no_dose_rate_alarm(make_room: type[PtyRoom]) -> None:
    room = make_room(Procedure((Segment(600.0, 0.5),)))  # 11 mGy/min: below the level
    room.run(2.0)
    room.simulator.faults.dap_rate = 1e7
    room.run(5.0)
    assert room.alarms("fluoro_dose_rate") == []
    assert room.alarms("implausible_value")


def test_finding2_an_absurd_irradiation_time_fires_no_time_trigger(make_room: type[PtyRoom]) -> None:
    room = make_room(STEADY)
    room.run(2.0)
    room.simulator.faults.irradiation_s = 99 * 60 + 59
    room.run(0.5)
    room.simulator.faults.irradiation_s = None
    room.run(1.0)
    fired = [a for a in room.alarms("fluoro_trigger") if a["quantity"] == "fluoro_time"]
    assert fired == []
    current = room.pipeline.fluoro.procedure.current if room.pipeline.fluoro else None
    assert current is not None and current.fluoro_time_s < 10


def test_finding3_a_meter_whose_rate_stays_zero_is_judged_from_its_cumulative_kap(
    make_room: type[PtyRoom],
) -> None:
    """The meter counts KAP but its rate field says 0 (a meter that reports only cumulative KAP)."""
    room = make_room(STEADY, fluoro="procedure_idle_s = 60.0", triggers=_kap_trigger(1.0))
    room.simulator.faults.dap_rate = 0.0
    room.run(16.0)
    assert room.pipeline.fluoro is not None and room.pipeline.fluoro.procedure.current is not None
    assert room.alarms("fluoro_dose_rate"), "219 mGy/min from ΔKAP/Δt"
    assert [a["trigger"] for a in room.alarms("fluoro_trigger")] == ["kap_notification"]
    (mismatch,) = room.alarms("meter_rate_mismatch")
    assert mismatch["device"] == "dap1"


def test_meter_rate_time_base_that_does_not_fit_raises_a_mismatch_naming_the_one_that_fits(
    make_room: type[PtyRoom],
) -> None:
    """Configured per minute, the simulator sends per second: the reported rate is 60× too low."""
    room = make_room(STEADY, time_base_s=60.0)
    room.run(15.0)
    (mismatch,) = room.alarms("meter_rate_mismatch")
    assert mismatch["time_base_fit"] == "per_second"
    assert room.alarms("fluoro_dose_rate"), "judged on the higher (counter) rate"


def test_configured_time_base_that_fits_raises_no_mismatch(make_room: type[PtyRoom]) -> None:
    room = make_room(
        Procedure((Segment(3.0, 0.0), Segment(10.0, 10.0), Segment(5.0, 0.0), Segment(10.0, 2.0)))
    )
    room.run(28.0)
    assert room.alarms("meter_rate_mismatch") == []
    checks = [r["kap_rate_check"] for r in room.stored("reading/dap1") if "kap_rate_check" in r]
    assert checks and checks[-1]["time_base_fit"] == "per_second"


def _kap_trigger(first: float) -> str:
    return (
        '[triggers]\npreset = "ncrp168-sir"\n[[triggers.override]]\n'
        f'id = "kap_notification"\nfirst = {first}\nevery = 0.0'
    )
