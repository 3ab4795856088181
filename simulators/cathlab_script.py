"""One beam timeline for a C-arm room, played by both a DAP-meter and a generator simulator.

A room with a PTW DIAMENTOR and a generator interface box sees one beam through two instruments.
`scripts()` turns a list of `BeamStep`s (mode and entrance dose rate) into the two simulators'
scripts so that they agree: beam on at the same moments, the meter's KAP rate equal to what the
room's geometry gives for the step's entrance dose rate with the generator's field area and SID,
and the generator's technique (mA) chosen so that its tube-output estimate gives that same rate.

Mode changes happen with the pedal up, as on a real console (the operator selects the program,
then presses the pedal): in a beam-off step between two runs the generator shows the previous
run's mode for the first half and the next run's mode for the second half. Two instruments polled
a fraction of a second apart therefore never pair one run's dose rate with another run's mode.

The numbers are plausible for an interventional C-arm, not any one product's.
"""

from __future__ import annotations

__all__ = ["BeamStep", "CathlabScripts", "cathlab_timeline", "scripts"]

from dataclasses import dataclass, replace

from limits.dosimetry import Geometry
from limits.entrance import TubeOutput, from_generator, from_kap_rate
from simulators.generator_script import GeneratorScript, GeneratorState, GeneratorStep
from simulators.procedure import Procedure, Segment

# Technique and field per mode (the mA is derived from the dose rate asked for).
_TECHNIQUE: dict[str, GeneratorState] = {
    "normal": GeneratorState("normal", True, 72.0, 0.0, 15.0, 8.0, 400.0, 100.0),
    "high_level": GeneratorState("high_level", True, 88.0, 0.0, 30.0, 8.0, 400.0, 100.0),
    "acquisition": GeneratorState("acquisition", True, 80.0, 0.0, 7.5, 6.0, 225.0, 105.0),
}


@dataclass(frozen=True)
class BeamStep:
    duration_s: float
    mode: str  # normal | high_level | acquisition while the beam is on; "off" = pedal up
    esak_mgy_min: float = 0.0  # entrance surface air-kerma rate while the beam is on


@dataclass(frozen=True)
class CathlabScripts:
    meter: Procedure  # for simulators/ptw_diamentor.py
    generator: GeneratorScript  # for simulators/modbus_generator.py

    @property
    def duration_s(self) -> float:
        return self.meter.duration_s


def cathlab_timeline() -> tuple[BeamStep, ...]:
    """Normal fluoroscopy under 25, a high-level run above 100, a cine/DSA burst far above both."""
    return (
        BeamStep(1.0, "off"),
        BeamStep(3.0, "normal", 15.0),  # under the 25 mGy/min level
        BeamStep(1.0, "off"),
        BeamStep(6.5, "high_level", 140.0),  # above the 100 mGy/min level for longer than the delay
        BeamStep(1.0, "off"),
        BeamStep(2.0, "acquisition", 600.0),  # not judged against fluoroscopy levels
        BeamStep(1.5, "off"),
    )


def _beam_mode(steps: tuple[BeamStep, ...], i: int, direction: int) -> str:
    j = i + direction
    while 0 <= j < len(steps):
        if steps[j].mode != "off":
            return steps[j].mode
        j += direction
    return "off"


def _on_state(step: BeamStep, geometry: Geometry, tube: TubeOutput) -> tuple[float, GeneratorState]:
    """(KAP rate in Gy·cm²/min, generator state) giving `step.esak_mgy_min` through both inputs."""
    base = _TECHNIQUE[step.mode]
    per_kap = from_kap_rate(1.0, geometry, base.field_area_cm2, base.sid_cm).esak_mgy_min
    per_ma = from_generator(
        base.kvp, 1.0, base.pulse_rate_per_s, base.pulse_width_ms, tube, geometry
    ).esak_mgy_min
    return step.esak_mgy_min / per_kap, replace(base, tube_current_ma=step.esak_mgy_min / per_ma)


def scripts(
    steps: tuple[BeamStep, ...], geometry: Geometry, tube: TubeOutput, loop: bool = False
) -> CathlabScripts:
    segments: list[Segment] = []
    states: list[GeneratorStep] = []
    for i, step in enumerate(steps):
        if step.mode != "off":
            kap_rate, state = _on_state(step, geometry, tube)
            segments.append(Segment(step.duration_s, kap_rate))
            states.append(GeneratorStep(step.duration_s, state))
            continue
        half = step.duration_s / 2
        for mode in (_beam_mode(steps, i, -1), _beam_mode(steps, i, +1)):
            technique = _TECHNIQUE.get(mode, GeneratorState())
            states.append(
                GeneratorStep(half, replace(technique, mode=mode, beam_on=False, tube_current_ma=0.0))
            )
            segments.append(Segment(half, 0.0))
    return CathlabScripts(Procedure(tuple(segments), loop), GeneratorScript(tuple(states), loop))
