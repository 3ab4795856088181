"""The cath-lab timeline gives the DAP-meter and generator simulators one beam: checked sample by sample."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from agent.config import load_config
from limits.dosimetry import Geometry
from limits.entrance import TubeOutput, from_generator, from_kap_rate
from simulators.cathlab_script import BeamStep, cathlab_timeline, scripts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def room() -> tuple[Geometry, TubeOutput]:
    fluoro = load_config(ROOT / "config" / "cathlab.toml").fluoroscopy
    assert fluoro is not None and fluoro.tube_output is not None
    return fluoro.geometry(), fluoro.tube_output


def test_meter_and_generator_agree_on_beam_mode_and_dose_rate_at_every_instant(
    room: tuple[Geometry, TubeOutput],
) -> None:
    geometry, tube = room
    steps = cathlab_timeline()
    played = scripts(steps, geometry, tube)
    assert played.meter.duration_s == pytest.approx(played.generator.duration_s)
    assert played.duration_s == pytest.approx(sum(s.duration_s for s in steps))
    t, seen = 0.0, set()
    while t < played.duration_s:
        kap_rate = played.meter.kap_rate_at(t)
        state = played.generator.state_at(t)
        assert state.beam_on == (kap_rate > 0), t
        if state.beam_on:
            via_meter = from_kap_rate(kap_rate, geometry, state.field_area_cm2, state.sid_cm).esak_mgy_min
            via_generator = from_generator(
                state.kvp, state.tube_current_ma, state.pulse_rate_per_s, state.pulse_width_ms, tube, geometry
            ).esak_mgy_min
            assert via_generator == pytest.approx(via_meter, rel=1e-9)
            seen.add((state.mode, round(via_meter, 6)))
        t += 0.05
    wanted = {(s.mode, s.esak_mgy_min) for s in steps if s.mode != "off"}
    assert seen == wanted


def test_modes_change_only_with_the_pedal_up(room: tuple[Geometry, TubeOutput]) -> None:
    geometry, tube = room
    steps = (BeamStep(1.0, "off"), BeamStep(2.0, "normal", 10.0), BeamStep(2.0, "off"))
    steps += (BeamStep(1.0, "acquisition", 300.0), BeamStep(1.0, "off"))
    played = scripts(steps, geometry, tube).generator
    modes = [(played.state_at(t / 10).mode, played.state_at(t / 10).beam_on) for t in range(70)]
    changes = [(a, b) for a, b in itertools.pairwise(modes) if a[0] != b[0]]
    assert changes, "the script must change mode"
    assert all(not a[1] and not b[1] for a, b in changes), changes
    assert [m for m, _ in changes[0]] == ["off", "normal"]
    assert modes[-1] == ("off", False)
