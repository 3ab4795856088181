"""Issue 9, findings 4, 5 and 7: safe room set-ups, refused by `check-config` and at start (one check,
agent/config_checks.py), and the shipped C-arm room judged on the real DIAMENTOR over a pty."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import parse_config
from core.errors import ConfigError
from limits.dosimetry import esak_rate_mgy_min
from simulators.procedure import Procedure
from tests.agent.pty_room import ROOT, PtyRoom, script, shipped
from tests.agent.room import FLUORO, GEOMETRY, Room, carm_toml, generator_reading, with_generator
from tests.fakes import run_doseedge

CONFIGS = sorted(p.name for p in (ROOT / "config").glob("*.toml"))


def problems(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return {p.key: p.message for p in caught.value.problems}


def test_finding_4_a_fixed_high_level_is_refused_with_what_to_change() -> None:
    found = problems(carm_toml('mode = "high_level"'))
    message = found["fluoroscopy.mode"]
    assert "4× its 25 mGy/min level" in message and 'mode = "normal"' in message and "generator" in message
    assert "fluoroscopy.mode" in problems(carm_toml('mode = "acquisition"'))
    with_generator = problems(carm_toml('mode = "high_level"\ngenerator = "gen1"'))  # its fallback
    assert "while generator gen1 gives no fresh mode" in with_generator["fluoroscopy.mode"]


def test_finding_4_check_config_refuses_it_too(tmp_path: Path) -> None:
    station = tmp_path / "room.toml"
    station.write_text(carm_toml('mode = "high_level"'))
    done = run_doseedge("check-config", "-c", str(station), timeout_s=60)
    assert done.returncode != 0
    assert "fluoroscopy.mode" in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_finding_4_the_shipped_carm_room_alarms_on_normal_fluoroscopy_at_60_mgy_min() -> None:
    config = shipped("carm-room.toml")
    assert config.fluoroscopy is not None
    per_kap = esak_rate_mgy_min(1.0, config.fluoroscopy.geometry())
    room = PtyRoom(config, script((1.0, 0.0), (12.0, 60.0 / per_kap), (4.0, 0.0)))
    try:
        room.run(17.0)
    finally:
        room.stop()
    (alarm,) = room.raised("fluoro_dose_rate")
    assert alarm.details["mode"] == "normal" and alarm.details["mode_source"] == "config"
    assert alarm.details["level"]["value"] == 25.0
    assert alarm.details["value"]["value"] == pytest.approx(60.0, rel=0.02)


def test_finding_5_a_larger_assumed_field_is_refused() -> None:
    message = problems(carm_toml().replace("= 40.0", "= 150.0"))["fluoroscopy.field_area_at_reference_cm2"]
    assert "40–80 cm²" in message and "at most 40 cm²" in message


def test_finding_5_250_gy_cm2_through_a_60_cm2_field_fires_the_ka_r_levels_in_the_carm_room() -> None:
    """True Ka,r 250 / 60 cm² = 4.2 Gy: above the 3 Gy notification. The old 150 cm² made it 1.7 Gy."""
    room = PtyRoom(shipped("carm-room.toml"), script((1.0, 0.0), (600.0, 25.0), (10.0, 0.0)))
    try:
        room.run(611.0, every_s=2.0)
    finally:
        room.stop()
    assert room.monitor.procedure.totals()["kap"] == pytest.approx(250.0, rel=0.01)
    assert {"kar_notification", "kar_substantial"} <= set(room.triggers())
    assert "kap_notification" not in room.triggers()  # 300 Gy·cm²: the KAP levels still run, unreached
    room.close()
    (record,) = room.record("procedure")
    area = record["factors"]["field_area"]
    assert area["assumed_at_reference_cm2"] == 40.0 and area["measured_at_reference_cm2"] is None
    assert area["kap_by_area"]["assumed"]["value"] == pytest.approx(250.0, rel=0.01)
    assert "kap_over_assumed_area" in area["kar_by_source"]
    assert "field_area_at_reference_cm2" not in record["factors"]  # not shown as if it were used


def test_finding_5_a_room_without_kap_triggers_is_refused() -> None:
    found = problems(carm_toml(triggers='[triggers]\npreset = "cfr-time-signal"'))
    assert "KAP" in found["triggers"]


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_pass_the_new_checks_with_an_under_couch_table(name: str) -> None:
    config = shipped(name)
    if config.fluoroscopy is not None:
        assert 0.7 <= config.fluoroscopy.table_transmission <= 0.85  # literature for an under-couch tube
        assert config.fluoroscopy.field_area_at_reference_cm2 <= 40.0


def test_finding_7_generator_route_needs_the_current_definition_and_the_filtration() -> None:
    tube = "tube_output = { kv = [60.0, 80.0], output_ugy_mas_at_1m = [30.0, 55.0] }"
    found = problems(carm_toml(tube))
    assert '"pulse"' in found["fluoroscopy.tube_output.tube_current"]
    assert "mm Cu" in found["fluoroscopy.tube_output.filtration_cu_mm"]


@pytest.mark.parametrize("key", ["kap_calibration", "kar_calibration"])
def test_finding_7_calibration_factors_are_checked_and_stored_with_every_record(key: str) -> None:
    assert "commissioning" in problems(carm_toml(f"{key} = 3.0"))["fluoroscopy." + key]
    config = parse_config(
        (ROOT / "config" / "carm-room.toml").read_text().replace(f"{key} = 1.0", f"{key} = 1.25")
    )
    room = PtyRoom(config, script((1.0, 0.0), (10.0, 1.2), (4.0, 0.0)))
    try:
        room.run(15.0)
    finally:
        room.stop()
    room.close()
    (irradiation,) = room.record("irradiation")
    (procedure,) = room.record("procedure")
    assert irradiation["factors"][key] == 1.25 and procedure["factors"][key] == 1.25
    factor = 1.25 if key == "kap_calibration" else 1.0
    assert procedure["totals"]["kap"]["value"] == pytest.approx(0.2 * factor, rel=0.02)
    assert irradiation["kap"]["value"] == pytest.approx(0.19 * factor, rel=0.02)  # from its first sample


def test_records_say_which_field_areas_were_measured_and_which_assumed() -> None:
    """A generator reporting the field for half the run, then silent: both records split the two."""
    room = Room(Procedure.from_esak([(20.0, 20.0)], GEOMETRY), with_generator(FLUORO))
    field = generator_reading("normal", True, field_area=300.0, sid=120.0)  # 75 cm² at 60 cm
    room.run(8.0, generator=field)
    room.run(8.0)  # the generator is silent: the assumed area
    room.run(6.0)  # beam off (the script ends at 20 s)
    room.records += room.monitor.close_procedure(room.clock.monotonic(), room.clock.wall(), "t").records
    (irradiation,) = room.record("irradiation")
    assert irradiation["field_area_sources"] == ["assumed", "measured"]
    (procedure,) = room.record("procedure")
    area = procedure["factors"]["field_area"]
    assert area["measured_at_reference_cm2"] == {"min": 75.0, "max": 75.0}
    assert area["assumed_at_reference_cm2"] == FLUORO.field_area_at_reference_cm2
    assert set(area["kap_by_area"]) == {"measured", "assumed"}
    assert set(area["kar_by_source"]) == {"kap_over_measured_area", "kap_over_assumed_area"}
