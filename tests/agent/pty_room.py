"""A fluoroscopy room built from a station config, with the real DIAMENTOR simulator on a pseudo-terminal
polled by the registry's driver through the agent's DevicePoller — on an injected clock: the simulator
integrates its script on the same FakeClock the monitor judges with, so a 16-minute pause takes no
real time and no test sleeps."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, parse_config
from agent.fluoro.monitor import FluoroMonitor
from agent.fluoro.patients import PatientLedger
from agent.notices import AlarmNotice, RecordNotice
from agent.poller import DevicePoller
from drivers.model import Reading
from drivers.registry import build_driver
from simulators.procedure import Procedure, Segment
from simulators.ptw_diamentor import DiamentorSimulator
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def shipped(name: str) -> AgentConfig:
    """A config from config/, as shipped."""
    return parse_config((ROOT / "config" / name).read_text(), f"config/{name}")


def script(*steps: tuple[float, float]) -> Procedure:
    """(seconds, KAP rate in Gy·cm²/min) steps; 0 = beam off."""
    return Procedure(tuple(Segment(seconds, rate) for seconds, rate in steps))


class PtyRoom:
    def __init__(self, config: AgentConfig, procedure: Procedure, ledger: PatientLedger | None = None):
        assert config.fluoroscopy is not None and config.rate_levels is not None
        self.clock = FakeClock()
        self.simulator = DiamentorSimulator(procedure, monotonic=self.clock.monotonic)
        meter = config.fluoroscopy.dap_meter
        config = config.with_device_port(meter, self.simulator.start())
        # a generous reply timeout: on a loaded 2-core machine the simulator's thread may wait its turn
        # (the timeout bounds a wait, it never shortens a passing run)
        device = replace(next(d for d in config.devices if d.name == meter), timeout_s=10.0)
        self.poller = DevicePoller(device, build_driver(device), self.clock, self._observe, self._lost)
        self.monitor = FluoroMonitor(config.fluoroscopy, config.rate_levels, config.triggers, patients=ledger)
        self.alarms: list[AlarmNotice] = []
        self.records: list[RecordNotice] = []
        self.readings = 0

    def _observe(self, reading: Reading) -> None:
        self.readings += 1
        result = self.monitor.observe(reading, self.clock.monotonic(), self.clock.wall())
        self.alarms += result.alarms
        self.records += result.records

    def _lost(self, device: str, available: bool, error: str) -> None:
        raise AssertionError(f"{device} lost over the pty: {error}")

    def run(self, seconds: float, every_s: float = 0.5) -> None:
        for _ in range(round(seconds / every_s)):
            self.clock.advance(every_s)
            self.poller.settle(self.poller.step())

    def open(self, patient: str | None) -> str:
        opened = self.monitor.open_procedure(self.clock.monotonic(), self.clock.wall(), "test", patient)
        assert opened is not None
        return opened

    def close(self) -> None:
        result = self.monitor.close_procedure(self.clock.monotonic(), self.clock.wall(), "command (test)")
        self.alarms += result.alarms
        self.records += result.records

    def stop(self) -> None:
        self.poller.driver.close()
        self.simulator.stop()

    def raised(self, alarm_type: str) -> list[AlarmNotice]:
        return [a for a in self.alarms if a.alarm_type == alarm_type and a.state == "raised"]

    def triggers(self) -> list[str]:
        return [str(a.details["trigger"]) for a in self.raised("fluoro_trigger")]

    def record(self, kind: str) -> list[dict[str, Any]]:
        return [r.details for r in self.records if r.kind == kind]
