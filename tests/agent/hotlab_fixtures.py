"""Shared builders for the hot-lab tests: config, readings, a monitor with a recording publish."""

from __future__ import annotations

from pathlib import Path

from agent.hotlab.config import HotlabConfig
from agent.hotlab.monitor import HotlabMonitor
from agent.notices import Evaluation
from drivers.model import Measurement, Reading, Status
from tests.fakes import FakeClock


def hotlab_config(tmp: Path, **overrides: object) -> HotlabConfig:
    values: dict[str, object] = {
        "activimeter": "dc1",
        "calibration_date": "2026-03-01",
        "background_max_mbq": 0.05,
        "zero_tolerance_mbq": 0.005,
        "store_path": str(tmp / "hotlab.json"),
        "pseudonym_key_path": str(tmp / "pseudonym.key"),
        "constancy_due_local": "09:00",
        "timezone": "Africa/Algiers",  # UTC+1: the FakeClock's 09:00 UTC is 10:00 local
    }
    values.update(overrides)
    config = HotlabConfig(**values)  # type: ignore[arg-type]
    assert config.validate() == []
    return config


def activity(
    mbq: float, nuclide: str = "Tc-99m", status: Status = Status.OK, raw_unit: str = "MBq"
) -> Reading:
    raw = mbq / 37.0 if raw_unit == "mCi" else mbq
    return Reading(
        "dc1",
        (Measurement("activity", mbq, "MBq", raw, raw_unit),),
        status,
        {"model": "CRC-55tR"},
        {"nuclide": nuclide, "chamber": "1"},
    )


class Bench:
    """A monitor fed readings once a second in fake time; collects everything it produces."""

    def __init__(self, tmp: Path, **overrides: object) -> None:
        self.clock = FakeClock()
        self.monitor = HotlabMonitor(hotlab_config(tmp, **overrides), self.clock)
        self.out = Evaluation()
        self.monitor.publish = self._collect

    def _collect(self, evaluation: Evaluation) -> None:
        self.out.alarms += evaluation.alarms
        self.out.records += evaluation.records

    def feed(self, reading: Reading, seconds: int = 1) -> None:
        for _ in range(seconds):
            self.clock.advance(1.0)
            self._collect(self.monitor.observe(reading, self.clock.monotonic(), self.clock.wall()))

    def records(self, kind: str) -> list[dict[str, object]]:
        return [r.details for r in self.out.records if r.kind == kind]

    def alarms(self, alarm_type: str, state: str = "raised") -> list[dict[str, object]]:
        return [
            {"message": a.message, "severity": a.severity, "id": a.alarm_id, **a.details}
            for a in self.out.alarms
            if a.alarm_type == alarm_type and a.state == state
        ]
