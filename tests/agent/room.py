"""A fluoroscopy room in injected time: the DIAMENTOR device model (real codec, no pty) and an
optional generator fake feeding a FluoroMonitor, for table-driven scenarios that never sleep."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from agent.config import FluoroscopyConfig
from agent.fluoro.monitor import FluoroMonitor
from agent.notices import AlarmNotice, RecordNotice
from drivers.model import Measurement, Reading
from drivers.ptw_diamentor import DAP_UNITS, PtwDiamentorConfig, parse_measurement, to_measurements
from limits.dosimetry import Geometry
from limits.levels import load_rate_levels
from limits.trigger_levels import load_trigger_set
from simulators.procedure import Procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.fakes import FakeClock

GEOMETRY = Geometry(40.0, 60.0, 65.0, 1.4, 1.0)  # as CARM_TOML below
FLUORO = FluoroscopyConfig(
    field_area_at_reference_cm2=40.0,
    source_to_reference_cm=60.0,
    source_to_entrance_cm=65.0,
    backscatter_factor=1.4,
    dap_meter="dap1",
    procedure_idle_s=60.0,
)
METER = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port="/dev/null")

CARM_TOML = """
[station]
site = "s"
station_id = "carm"
[fluoroscopy]
dap_meter = "dap1"
field_area_at_reference_cm2 = 40.0
source_to_reference_cm = 60.0
source_to_entrance_cm = 65.0
backscatter_factor = 1.4
{fluoro}
{triggers}
[[devices]]
name = "dap1"
driver = "ptw_diamentor"
port = "/dev/null"
"""


def carm_toml(fluoro: str = "", triggers: str = "") -> str:
    """A C-arm station config (one DIAMENTOR) with extra [fluoroscopy] keys and a [triggers] table."""
    return CARM_TOML.format(fluoro=fluoro, triggers=triggers)


def kap_triggers(first: float, every: float) -> str:
    """The NCRP 168 preset with the KAP notification lowered so a short test crosses it."""
    return (
        '[triggers]\npreset = "ncrp168-sir"\n[[triggers.override]]\n'
        f'id = "kap_notification"\nfirst = {first}\nevery = {every}'
    )


def generator_reading(mode: str, beam_on: bool, **values: float) -> Reading:
    units = {"kvp": "kV", "tube_current": "mA", "pulse_rate": "1/s", "pulse_width": "ms"}
    measurements = [Measurement(q, v, units.get(q, "cm"), v, units.get(q, "cm")) for q, v in values.items()]
    measurements.append(Measurement("beam_on", float(beam_on), "1", float(beam_on), "1"))
    return Reading("gen1", tuple(measurements), labels={"mode": mode})


class Room:
    def __init__(self, procedure: Procedure, config: FluoroscopyConfig = FLUORO, preset: str = "ncrp168-sir"):
        self.clock = FakeClock()
        self.monitor = FluoroMonitor(config, load_rate_levels(), load_trigger_set(preset))
        self.meter = DiamentorSimulator(procedure, monotonic=self.clock.monotonic)
        self.alarms: list[tuple[float, AlarmNotice]] = []
        self.records: list[RecordNotice] = []
        self.derived: list[dict[str, Any]] = []
        self.t0 = self.clock.monotonic()

    @property
    def t(self) -> float:
        return self.clock.monotonic() - self.t0

    def meter_reading(self) -> Reading:
        sample = parse_measurement(self.meter.respond("M") or "")
        return Reading("dap1", to_measurements(sample, DAP_UNITS[self.meter.unit.code], METER))

    def observe(self, reading: Reading) -> None:
        result = self.monitor.observe(reading, self.clock.monotonic(), self.clock.wall())
        self.alarms += [(self.t, a) for a in result.alarms]
        self.records += result.records
        self.derived.append(result.derived)

    def run(self, seconds: float, every_s: float = 0.25, generator: Reading | None = None) -> None:
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.clock.advance(every_s)
            if generator is not None:
                self.observe(generator)
            self.observe(self.meter_reading())

    def jump_wall_clock(self, seconds: float) -> None:
        self.clock.wall_time += timedelta(seconds=seconds)

    def raised(self, alarm_type: str) -> list[tuple[float, AlarmNotice]]:
        return [(t, a) for t, a in self.alarms if a.alarm_type == alarm_type and a.state == "raised"]

    def record(self, kind: str) -> list[dict[str, Any]]:
        return [r.details for r in self.records if r.kind == kind]


def with_generator(config: FluoroscopyConfig = FLUORO) -> FluoroscopyConfig:
    return replace(config, generator="gen1")
