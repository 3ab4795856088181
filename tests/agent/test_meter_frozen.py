"""A dose meter that keeps answering but stops counting while the beam is on (display hold, frozen
firmware, chamber unplugged from the electrometer) raises `dose_meter_frozen`: the fluoroscopy room
in injected time (tests/agent/room.py), with the real DIAMENTOR codec."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.notices import AlarmNotice
from drivers.model import Measurement, Reading
from simulators.procedure import Procedure
from tests.agent.room import FLUORO, GEOMETRY, Room, generator_reading, with_generator

POLL_S = 0.25
BEAM_ON = generator_reading("normal", True)
BEAM_OFF = generator_reading("off", False)


class HeldRoom(Room):
    """The meter's reply frozen at the moment `hold` is set (a display hold / frozen firmware)."""

    held: Reading | None = None
    hold = False

    def meter_reading(self) -> Reading:
        if not self.hold:
            self.held = super().meter_reading()
        assert self.held is not None
        return self.held


def events(room: Room) -> list[tuple[float, AlarmNotice]]:
    return [(t, a) for t, a in room.alarms if a.alarm_type == "dose_meter_frozen"]


@pytest.mark.parametrize("after_s", [3.0, 5.0])
def test_generator_beam_on_and_meter_not_counting_alarms_after_the_configured_time(after_s: float) -> None:
    """Chamber unplugged: the meter answers with rate 0 and a constant KAP; the generator says beam on."""
    room = Room(
        Procedure.from_esak([(30.0, 0.0)], GEOMETRY), replace(with_generator(), frozen_meter_after_s=after_s)
    )
    room.run(2.0, POLL_S, BEAM_OFF)
    room.run(after_s - POLL_S, POLL_S, BEAM_ON)
    assert events(room) == [], "not before the configured time"
    room.run(2 * POLL_S, POLL_S, BEAM_ON)
    ((t, alarm),) = events(room)
    assert 2.0 + after_s - POLL_S <= t <= 2.0 + after_s + POLL_S
    assert (alarm.state, alarm.severity) == ("raised", "high")
    assert alarm.message.startswith("Dose is not being measured")
    assert alarm.details["device"] == "dap1"
    assert alarm.details["evidence"] == ["generator beam_on"]
    assert alarm.details["seconds_without_increase"] >= after_s
    assert alarm.details["last_kap"] == {"value": 0.0, "unit": "Gy.cm2"}

    room.run(3.0, POLL_S, BEAM_OFF)  # beam-on evidence ends: cleared, same alarm
    (_, cleared) = events(room)[-1]
    assert (cleared.state, cleared.alarm_id, cleared.details["reason"]) == (
        "cleared",
        alarm.alarm_id,
        "beam_off",
    )
    assert len(events(room)) == 2


def test_meter_rate_with_kap_held_alarms_without_a_generator_then_clears_when_kap_counts() -> None:
    """Display hold during a 15 mGy/min run: rate shown > 0, KAP constant; no generator in the room."""
    room = HeldRoom(Procedure.from_esak([(1.0, 0.0), (60.0, 15.0)], GEOMETRY), FLUORO)
    room.run(3.0, POLL_S)
    assert room.monitor.kap_total_gy_cm2 > 0
    room.hold = True
    room.run(4.5, POLL_S)
    assert events(room) == []
    room.run(1.0, POLL_S)
    ((t, alarm),) = events(room)
    assert 7.75 <= t <= 8.25
    assert alarm.details["evidence"] == ["meter rate"]
    assert alarm.details["last_kap"]["value"] == pytest.approx(room.monitor.kap_total_gy_cm2)
    procedure = room.monitor.procedure.current
    assert procedure is not None and alarm.details["procedure_id"] == procedure.procedure_id
    assert any(entry["alarm_id"] == alarm.alarm_id for entry in procedure.alarms)

    room.hold = False
    room.run(1.0, POLL_S)
    (_, cleared) = events(room)[-1]
    assert (cleared.state, cleared.alarm_id, cleared.details["reason"]) == (
        "cleared",
        alarm.alarm_id,
        "kap_increased",
    )


def test_normal_beam_off_with_constant_kap_does_not_alarm() -> None:
    """A run, then a minute with the beam off (generator says off, meter rate 0, KAP unchanged)."""
    room = Room(Procedure.from_esak([(1.0, 0.0), (10.0, 15.0), (60.0, 0.0)], GEOMETRY), with_generator())
    room.run(1.0, POLL_S, BEAM_OFF)
    room.run(10.0, POLL_S, BEAM_ON)
    room.run(60.0, POLL_S, BEAM_OFF)
    assert room.monitor.kap_total_gy_cm2 > 0
    assert events(room) == []


def meter(kap: float, rate: float) -> Reading:
    return Reading(
        "dap1",
        (
            Measurement("kap", kap, "Gy·cm²", kap, "Gy·cm²"),
            Measurement("kap_rate", rate, "Gy·cm²/min", rate, "Gy·cm²/min"),
        ),
    )


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.floats(0.05, 4.0), st.floats(1e-5, 0.5), st.floats(0.0, 20.0)), min_size=1, max_size=120
    )
)
def test_kap_strictly_increasing_during_beam_on_never_alarms(steps: list[tuple[float, float, float]]) -> None:
    """Generator beam on throughout, meter polled at irregular intervals with KAP always increasing."""
    room = Room(Procedure.from_esak([(1.0, 0.0)], GEOMETRY), with_generator())
    kap = 0.0
    for dt, dkap, rate in steps:
        room.clock.advance(dt)
        kap += dkap
        room.observe(BEAM_ON)
        room.observe(meter(kap, rate))
    assert events(room) == []
