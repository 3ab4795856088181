"""A room with a DAP meter AND a generator, in injected time: the two instruments are polled a moment
apart, so the meter can still show a run's dose rate after the generator has ended the run."""

from __future__ import annotations

import pytest

from simulators.procedure import Procedure
from tests.agent.room import GEOMETRY, Room, generator_reading, with_generator

POLL_S = 0.25


@pytest.mark.parametrize("after", ["off", "normal"])
def test_the_meters_tail_of_an_acquisition_run_stays_an_acquisition(after: str) -> None:
    """The generator ends a 600 mGy/min cine run (mode `off`, or the fluoroscopy program selected
    again with the pedal up) one poll before the meter's beam stops. That last meter sample belongs
    to the acquisition: no one-sample "normal fluoroscopy" run at 600 mGy/min in the record."""
    procedure = Procedure.from_esak([(1.0, 0.0), (2.3, 600.0), (3.0, 0.0)], GEOMETRY)
    room = Room(procedure, with_generator())
    room.run(1.0, POLL_S, generator_reading("acquisition", False))
    room.run(2.0, POLL_S, generator_reading("acquisition", True, kvp=80.0, tube_current=400.0))
    room.run(3.0, POLL_S, generator_reading(after, False))

    tail = [d for d in room.derived if d.get("beam_on") and d["mode_source"] == "generator_run_tail"]
    assert tail, "the scenario must have a meter sample after the generator ended the run"
    assert {d["mode"] for d in tail} == {"acquisition"}
    (run,) = room.record("irradiation")
    assert run["mode"] == "acquisition" and run["judged"] is False
    assert run["irradiation_time"]["value"] == pytest.approx(2.25)
    assert room.raised("fluoro_dose_rate") == []
    current = room.monitor.procedure.current
    assert current is not None and set(current.peak_esak) == {"acquisition"}
    assert current.acquisition_count == 1


def test_a_new_run_after_the_meter_saw_the_beam_off_takes_the_generators_word_again() -> None:
    """The held mode ends when the meter sees the beam off: a later beam the generator reports as
    off is judged in the configured mode (normal, 25 mGy/min), not as the old acquisition."""
    procedure = Procedure.from_esak([(1.1, 0.0), (2.0, 600.0), (1.0, 0.0), (8.5, 60.0)], GEOMETRY)
    room = Room(procedure, with_generator())
    room.run(1.0, POLL_S, generator_reading("off", False))
    room.run(2.0, POLL_S, generator_reading("acquisition", True, kvp=80.0, tube_current=400.0))
    room.run(9.0, POLL_S, generator_reading("off", False))  # generator interface says off: trust the meter
    assert [r["mode"] for r in room.record("irradiation")] == ["acquisition"]
    ((_, alarm),) = room.raised("fluoro_dose_rate")
    assert alarm.details["mode"] == "normal"
    assert alarm.details["mode_source"] == "config_generator_off"  # generator off, meter sees beam
