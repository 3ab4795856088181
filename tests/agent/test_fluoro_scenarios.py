"""Table-driven fluoroscopy scenarios in injected time: the DIAMENTOR device model (real codec) and a
generator fake feed the FluoroMonitor; nothing sleeps."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from limits.dose_rate import detection_delay_s
from limits.dosimetry import esak_rate_mgy_min
from simulators.procedure import Procedure
from tests.agent.room import FLUORO, GEOMETRY, Room, generator_reading, with_generator

POLL_S = 0.25
DELAY_S = detection_delay_s(FLUORO.policy(), POLL_S)
TO_ENTRANCE = esak_rate_mgy_min(1.0, GEOMETRY) / (1000.0 / GEOMETRY.field_area_at_reference_cm2)

# (name, configured mode, entrance rate mGy/min, pulsed?, rate alarm expected)
RATE_SCENARIOS = [
    ("normal just under 25", "normal", 24.5, False, False),
    ("normal just over 25", "normal", 25.5, False, True),
    ("high-level at 60", "high_level", 60.0, False, False),
    ("high-level at 110", "high_level", 110.0, False, True),
    ("pulsed 20 mean, spikes of 80", "normal", 20.0, True, False),
    ("pulsed 30 mean, spikes of 120", "normal", 30.0, True, True),
    ("normal room at 110", "normal", 110.0, False, True),
]


@pytest.mark.parametrize(("name", "mode", "esak", "pulsed", "alarm"), RATE_SCENARIOS)
def test_dose_rate_scenarios(name: str, mode: str, esak: float, pulsed: bool, alarm: bool) -> None:
    pulses = {"pulse_rate_hz": 3.0, "pulse_duty": 0.25} if pulsed else {}
    procedure = Procedure.from_esak([(2.0, 0.0), (30.0, esak), (10.0, 0.0)], GEOMETRY, **pulses)
    room = Room(procedure, replace(FLUORO, mode=mode))  # type: ignore[arg-type]
    room.run(42.0, POLL_S)
    raised = room.raised("fluoro_dose_rate")
    if pulsed:
        assert max(d["esak_rate"]["value"] for d in room.derived) >= 3.9 * esak  # the samples were spiky
    if not alarm:
        assert raised == []
        return
    assert len(raised) == 1
    t_raised, notice = raised[0]
    assert t_raised <= 2.0 + DELAY_S
    assert notice.details["mode"] == mode and notice.severity == "high"
    assert notice.details["factors"]["backscatter_factor"] == 1.4
    cleared = [a for _, a in room.alarms if a.state == "cleared" and a.alarm_id == notice.alarm_id]
    assert len(cleared) == 1  # beam off afterwards: the condition ended


def test_acquisition_burst_recorded_not_judged() -> None:
    """The generator says acquisition (it overrides the configured normal mode): 300 mGy/min is
    recorded as an acquisition run and counted, never judged against 25."""
    # the beam starts and stops 0.1 s after the generator's label changes (polls are 0.25 s apart)
    procedure = Procedure.from_esak([(1.1, 0.0), (5.0, 300.0), (3.0, 0.0)], GEOMETRY)
    room = Room(procedure, with_generator())
    room.run(1.0, POLL_S, generator_reading("off", False))
    room.run(5.0, POLL_S, generator_reading("acquisition", True, kvp=80.0, tube_current=400.0))
    room.run(3.0, POLL_S, generator_reading("off", False))
    assert room.raised("fluoro_dose_rate") == []
    (run,) = room.record("irradiation")
    assert run["mode"] == "acquisition" and run["judged"] is False
    assert run["peak_esak_rate"]["value"] == pytest.approx(300.0, rel=0.01)
    assert room.monitor.procedure.current is not None
    assert room.monitor.procedure.current.acquisition_count == 1
    assert room.derived[-1]["mode_source"] == "generator"


def test_generator_only_room_judges_from_tube_output() -> None:
    from limits.entrance import TubeOutput

    config = replace(
        FLUORO,
        dap_meter="",
        generator="gen1",
        tube_output=TubeOutput(
            (60.0, 80.0, 100.0), (40.0, 60.0, 80.0), tube_current="pulse", filtration_cu_mm=0.0
        ),
    )
    room = Room(Procedure(()), config)
    # 80 kV, 10 mA, 15/s × 8 ms: 60 µGy/mAs × 1.2 mAs/s = 4.32 mGy/min at 1 m → ESAK ≈ 14.3 mGy/min
    low = generator_reading("normal", True, kvp=80.0, tube_current=10.0, pulse_rate=15.0, pulse_width=8.0)
    high = generator_reading("normal", True, kvp=80.0, tube_current=25.0, pulse_rate=15.0, pulse_width=8.0)
    for reading in [low] * 40 + [high] * 40:
        room.clock.advance(POLL_S)
        room.observe(reading)
    raised = room.raised("fluoro_dose_rate")
    assert len(raised) == 1 and 10.0 < raised[0][0] <= 10.0 + DELAY_S
    assert raised[0][1].details["factors"]["method"] == "generator"
    assert raised[0][1].details["factors"]["tube_output_ugy_mas_at_1m"] == 60.0


def test_long_procedure_crosses_3_4_5_gy_and_60_min_each_once() -> None:
    esak = 95.0  # high-level mode, under its 100 mGy/min level for 70 minutes
    beam_s = 70 * 60.0 + 5.0
    procedure = Procedure.from_esak([(1.0, 0.0), (beam_s, esak), (120.0, 0.0)], GEOMETRY)
    room = Room(procedure, replace(FLUORO, mode="high_level"))
    room.run(beam_s + 121.0, every_s=1.0)
    assert room.raised("fluoro_dose_rate") == []
    triggers = [(a.details["trigger"], a.details["index"]) for _, a in room.raised("fluoro_trigger")]
    assert all(n == 1 for n in Counter(triggers).values()), "a trigger level was raised twice"
    k_ref_mgy_s = esak / TO_ENTRANCE / 60.0
    at = {
        key: t
        for t, a in room.raised("fluoro_trigger")
        for key in [(a.details["trigger"], a.details["index"])]
    }
    for index, gray in enumerate((3, 4, 5)):
        assert at[("kar_notification", index)] == pytest.approx(1.0 + gray * 1000 / k_ref_mgy_s, abs=3.0)
    assert at[("kar_substantial", 0)] == pytest.approx(at[("kar_notification", 2)], abs=1.0)
    assert at[("fluoro_time_substantial", 0)] == pytest.approx(1.0 + 3600.0, abs=3.0)
    assert [i for t, i in triggers if t == "fluoro_time_signal"] == list(range(14))  # 5 … 70 min
    (record,) = room.record("procedure")
    assert record["closed_by"] == "idle"
    assert record["totals"]["kar"]["value"] == pytest.approx(k_ref_mgy_s * beam_s, rel=0.005)
    assert record["totals"]["fluoro_time"]["value"] == pytest.approx(beam_s, abs=2.0)
    assert {a["trigger"] for a in record["alarms"]} >= {"kar_notification", "kar_substantial"}
    assert record["levels"]["trigger_preset"] == "ncrp168-sir"
    assert record["totals"]["psd_estimate"]["factors"]["tissue_to_air"] == 1.06
    # latching trigger alarms still active at close are cleared with the procedure
    closed = [a for _, a in room.alarms if a.state == "cleared" and a.alarm_type == "fluoro_trigger"]
    assert len(closed) == len(triggers)


def test_meter_reset_mid_procedure_neither_loses_nor_doubles() -> None:
    esak = 20.0
    procedure = Procedure.from_esak([(1.0, 0.0), (60.0, esak), (70.0, 0.0)], GEOMETRY)
    room = Room(procedure)
    room.run(31.0, POLL_S)
    room.meter.respond("RES")
    room.run(100.0, POLL_S)
    (record,) = room.record("procedure")
    kap_rate_per_s = esak / esak_rate_mgy_min(1.0, GEOMETRY) / 60.0
    assert record["totals"]["kap"]["value"] == pytest.approx(
        60.0 * kap_rate_per_s, abs=POLL_S * kap_rate_per_s
    )
    assert {e["counter"] for e in record["counter_events"]} == {"kap", "time"}
    assert {e["event"] for e in record["counter_events"]} == {"reset"}


def test_wall_clock_jump_makes_no_rate_and_no_dose() -> None:
    esak = 20.0
    procedure = Procedure.from_esak([(1.0, 0.0), (40.0, esak), (70.0, 0.0)], GEOMETRY)
    room = Room(procedure)
    room.run(11.0, POLL_S)
    room.jump_wall_clock(+3600.0)
    room.run(10.0, POLL_S)
    room.jump_wall_clock(-7200.0)
    room.run(90.0, POLL_S)
    assert room.alarms == []
    assert max(d["esak_rate"]["value"] for d in room.derived) == pytest.approx(esak, rel=0.01)
    (record,) = room.record("procedure")
    assert record["totals"]["fluoro_time"]["value"] == pytest.approx(40.0, abs=1.0)
    assert record["duration"]["value"] == pytest.approx(40.0 + 60.0, abs=1.0)  # monotonic, not wall


def test_procedure_opens_on_beam_and_closes_after_idle() -> None:
    procedure = Procedure.from_esak(
        [(5.0, 0.0), (10.0, 10.0), (30.0, 0.0), (5.0, 10.0), (65.0, 0.0)], GEOMETRY
    )
    room = Room(procedure)
    room.run(115.0, POLL_S)
    (record,) = room.record("procedure")  # the 30 s gap is shorter than procedure_idle_s: one procedure
    assert record["opened_by"] == "beam_on" and record["closed_by"] == "idle"
    assert record["totals"]["fluoro_time"]["value"] == pytest.approx(15.0, abs=1.0)
