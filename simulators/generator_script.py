"""A scripted X-ray generator: what the technique, mode and beam do over time.

Times are seconds since the script started on the simulator's own monotonic clock. The numbers
are plausible for an interventional C-arm (pulsed fluoroscopy at 70–90 kV and a few mA; pulsed
acquisition at hundreds of mA), not any one product's. `from_procedure` derives a script from a
KAP-rate Procedure (simulators/procedure.py) so a generator and a DAP-meter simulator can play the
same demo: beam on exactly when the KAP rate is above zero.
"""

from __future__ import annotations

__all__ = ["GeneratorScript", "GeneratorState", "GeneratorStep", "fluoroscopy_script"]

from dataclasses import dataclass, replace

from simulators.procedure import Procedure


@dataclass(frozen=True)
class GeneratorState:
    mode: str = "off"  # off | normal | high_level | acquisition
    beam_on: bool = False
    kvp: float = 0.0
    tube_current_ma: float = 0.0
    pulse_rate_per_s: float = 0.0
    pulse_width_ms: float = 0.0
    field_area_cm2: float = 400.0
    sid_cm: float = 100.0

    def values(self) -> dict[str, float]:
        """Engineering values by canonical quantity name (drivers/modbus_map.QUANTITY_UNITS)."""
        return {
            "kvp": self.kvp,
            "tube_current": self.tube_current_ma,
            "pulse_rate": self.pulse_rate_per_s,
            "pulse_width": self.pulse_width_ms,
            "field_area": self.field_area_cm2,
            "sid": self.sid_cm,
            "beam_on": 1.0 if self.beam_on else 0.0,
        }

    def labels(self) -> dict[str, str]:
        return {"mode": self.mode}


@dataclass(frozen=True)
class GeneratorStep:
    duration_s: float
    state: GeneratorState


@dataclass(frozen=True)
class GeneratorScript:
    steps: tuple[GeneratorStep, ...]
    loop: bool = False

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.steps)

    def state_at(self, t_s: float) -> GeneratorState:
        total = self.duration_s
        if total <= 0 or t_s < 0:
            return GeneratorState()
        if self.loop:
            t_s %= total
        for step in self.steps:
            if t_s < step.duration_s:
                return step.state
            t_s -= step.duration_s
        return self.steps[-1].state if self.steps else GeneratorState()

    @staticmethod
    def constant(state: GeneratorState) -> GeneratorScript:
        return GeneratorScript((GeneratorStep(1e9, state),))

    @staticmethod
    def from_procedure(procedure: Procedure) -> GeneratorScript:
        """Beam on in normal fluoroscopy while the KAP rate is > 0; technique rises with the rate."""
        steps = []
        for segment in procedure.segments:
            rate = segment.kap_rate_gy_cm2_min
            kvp = min(60.0 + 1.5 * rate, 110.0) if rate > 0 else 70.0
            on = rate > 0
            state = replace(
                NORMAL_FLUORO, beam_on=on, kvp=kvp, tube_current_ma=min(0.5 * rate, 20.0) if on else 0.0
            )
            steps.append(GeneratorStep(segment.duration_s, state))
        return GeneratorScript(tuple(steps), procedure.loop)


NORMAL_FLUORO = GeneratorState(
    mode="normal",
    beam_on=True,
    kvp=72.0,
    tube_current_ma=2.4,
    pulse_rate_per_s=15.0,
    pulse_width_ms=8.0,
    field_area_cm2=400.0,
    sid_cm=100.0,
)


def fluoroscopy_script(loop: bool = False) -> GeneratorScript:
    """Idle, pulsed fluoroscopy, a high-level run, collimation, a pulsed acquisition, idle."""
    idle = replace(NORMAL_FLUORO, mode="off", beam_on=False, tube_current_ma=0.0)
    pedal_up = replace(NORMAL_FLUORO, beam_on=False, tube_current_ma=0.0)
    high = replace(NORMAL_FLUORO, mode="high_level", kvp=88.0, tube_current_ma=9.5, pulse_rate_per_s=30.0)
    collimated = replace(NORMAL_FLUORO, field_area_cm2=225.0, sid_cm=105.0)
    acquisition = replace(
        NORMAL_FLUORO,
        mode="acquisition",
        kvp=80.0,
        tube_current_ma=320.0,
        pulse_rate_per_s=7.5,
        pulse_width_ms=6.0,
        field_area_cm2=225.0,
        sid_cm=105.0,
    )
    return GeneratorScript(
        (
            GeneratorStep(2.0, idle),
            GeneratorStep(5.0, NORMAL_FLUORO),
            GeneratorStep(1.0, pedal_up),
            GeneratorStep(3.0, high),
            GeneratorStep(1.0, pedal_up),
            GeneratorStep(4.0, collimated),
            GeneratorStep(2.0, replace(collimated, beam_on=False, tube_current_ma=0.0)),
            GeneratorStep(3.0, acquisition),
            GeneratorStep(3.0, idle),
        ),
        loop,
    )
