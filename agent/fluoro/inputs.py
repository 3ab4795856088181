"""The generator as an input to the fluoroscopy monitor (agent/fluoro/monitor.py): its latest reading, the
mode it reports, and the entrance dose rate from its parameters with the room's tube-output calibration
(limits/entrance.py) — used when there is no DAP meter, or the meter's last reading is stale.

A generator's `mode` label (normal | high_level | acquisition | off) overrides the configured mode, with
one rule that needs both inputs: when the generator has ended a run but the meter still shows its dose
rate, that tail belongs to the run and is judged in the run's mode ("end of its last run").
"""

from __future__ import annotations

__all__ = ["MODES", "MODE_SOURCES", "Generator", "GeneratorInput", "fresh"]

from dataclasses import dataclass

from agent.fluoro.config import FluoroscopyConfig
from limits.dosimetry import Geometry
from limits.entrance import EntranceRate, from_generator

MODES = ("normal", "high_level", "acquisition", "off")

# `mode_source` codes on the wire (docs/mqtt.md) and what each means
MODE_SOURCES = {
    "config": "the station's configured mode (no fresh generator reading)",
    "generator": "the mode the generator reports",
    "generator_run_tail": "the generator's last run: ended, the meter still shows its dose rate",
    "generator_label_unknown": "the generator sent a mode label doseedge does not know: judged as normal",
    "config_generator_off": "the configured mode: the generator says off, the meter sees beam",
    "mode_input": "a wired mode input of the reading's device (drivers/bridge.py)",
}


def fresh(t_s: float | None, now: float, max_gap_s: float) -> bool:
    return t_s is not None and now - t_s <= max_gap_s


@dataclass(frozen=True)
class Generator:
    t_s: float
    values: dict[str, float]
    mode: str | None

    @property
    def beam_on(self) -> bool:
        if "beam_on" in self.values:
            return self.values["beam_on"] >= 0.5
        return self.mode not in (None, "off")


class GeneratorInput:
    """The generator's latest reading and the mode of its last beam-on reading (`run_mode`), kept until
    the meter sees the beam off: the meter's tail of a run belongs to that run. Counts into `counters`
    (`invalid_generator_readings`, `unknown_modes`), the monitor's dict."""

    def __init__(
        self, config: FluoroscopyConfig, geometry: Geometry, max_gap_s: float, counters: dict[str, int]
    ) -> None:
        self.config = config
        self.geometry = geometry
        self.max_gap_s = max_gap_s
        self.counters = counters
        self.latest: Generator | None = None
        self.run_mode: str | None = None

    def update(self, t_mono: float, values: dict[str, float], mode: str | None) -> Generator:
        gen = self.latest = Generator(t_mono, values, mode)
        if gen.beam_on and gen.mode in MODES[:3]:
            self.run_mode = gen.mode
        return gen

    def end_run(self) -> None:
        """The meter sees no beam: the last run's tail is over."""
        self.run_mode = None

    def fresh(self, now: float) -> bool:
        return self.latest is not None and fresh(self.latest.t_s, now, self.max_gap_s)

    def beam_on(self, now: float) -> bool:
        return self.latest is not None and self.fresh(now) and self.latest.beam_on

    def resolve_mode(self, now: float, meter_beam: bool) -> tuple[str, str]:
        """The mode to judge in, and where it came from."""
        gen = self.latest
        if gen is None or gen.mode is None or not self.fresh(now):
            return self.config.mode, "config"
        if meter_beam and not gen.beam_on and self.run_mode is not None:
            # The generator has ended the run (pedal up, mode off or another program selected) but
            # the meter, polled a moment later or averaging, still shows its dose rate.
            return self.run_mode, "generator_run_tail"
        if gen.mode not in MODES:
            self.counters["unknown_modes"] += 1
            return "normal", "generator_label_unknown"
        if gen.mode == "off" and meter_beam:
            return self.config.mode, "config_generator_off"
        return gen.mode, "generator"

    def field(self, now: float) -> tuple[float | None, float | None]:
        gen = self.latest
        if gen is None or not self.fresh(now):
            return None, None
        return gen.values.get("field_area"), gen.values.get("sid")

    def entrance_rate(self) -> EntranceRate | None:
        """From the latest parameters, or None without a tube-output calibration or kvp and mA."""
        gen, tube = self.latest, self.config.tube_output
        if gen is None or tube is None:
            return None
        v = gen.values
        if any(q not in v for q in ("kvp", "tube_current")):
            return None
        if not gen.beam_on:
            return EntranceRate(0.0, 0.0, "generator", {"method": "generator", "beam_on": False})
        try:
            return from_generator(
                v["kvp"],
                v["tube_current"],
                v.get("pulse_rate", 0.0),
                v.get("pulse_width", 0.0),
                tube,
                self.geometry,
                v.get("filtration_cu"),
            )
        except ValueError:
            self.counters["invalid_generator_readings"] += 1
            return None
