"""Issue 9, finding 3: a meter that reports only cumulative KAP (or Ka,r) used to be ignored — 400 Gy·cm²
delivered, no procedure, no trigger, no frozen-meter watch. Its rate is now the counter's change over
the window (agent/fluoro/meter_rate.py). The room in injected time (tests/agent/room.py)."""

from __future__ import annotations

from drivers.model import Measurement, Reading
from simulators.procedure import Procedure
from tests.agent.room import Room, generator_reading, with_generator

POLL_S = 0.25


def counter(quantity: str, value: float) -> Reading:
    unit = {"kap": "Gy·cm²", "air_kerma": "mGy"}[quantity]
    return Reading("dap1", (Measurement(quantity, value, unit, value, unit),))


def test_400_gy_cm2_from_a_kap_only_meter_opens_a_procedure_fires_triggers_and_the_rate_alarm() -> None:
    room = Room(Procedure(()))
    kap = 0.0
    for _ in range(int(7 * 60 / POLL_S)):  # 60 Gy·cm²/min for 7 minutes: 420 Gy·cm²
        room.clock.advance(POLL_S)
        kap += 60.0 * POLL_S / 60
        room.observe(counter("kap", kap))
    procedure = room.monitor.procedure.current
    assert procedure is not None and procedure.kap_gy_cm2 > 400
    fired = {a.details["trigger"] for _, a in room.raised("fluoro_trigger")}
    assert "kap_notification" in fired
    assert room.raised("fluoro_dose_rate")
    assert room.derived[-1]["rate_source"] == "kap_counter"


def test_a_kap_only_meter_that_stops_counting_while_the_generator_says_beam_on_is_frozen() -> None:
    room = Room(Procedure(()), with_generator())
    kap, beam = 0.0, generator_reading("normal", True)
    for i in range(int(20 / POLL_S)):
        room.clock.advance(POLL_S)
        if i < 20:
            kap += 0.05
        room.observe(beam)
        room.observe(counter("kap", kap))
    assert room.raised("dose_meter_frozen")


def test_a_kar_only_meter_is_judged_on_its_counter() -> None:
    room = Room(Procedure(()))
    kar = 0.0
    for _ in range(int(10 / POLL_S)):  # 40 mGy/min K_ref → 48 mGy/min entrance: above 25
        room.clock.advance(POLL_S)
        kar += 40.0 * POLL_S / 60
        room.observe(counter("air_kerma", kar))
    assert room.raised("fluoro_dose_rate")
    assert room.derived[-1]["rate_source"] == "air_kerma_counter"
