"""The evaluate step for a fluoroscopy room: DAP-meter reading → entrance dose rate → guidance level.

Holds the state of the pure evaluator (limits/dose_rate.py) and of the current irradiation
(beam-on to beam-off), and turns their events into alarm and record notices with every factor used.
"""

from __future__ import annotations

__all__ = ["FluoroMonitor"]

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.config import FluoroscopyConfig
from agent.notices import AlarmNotice, Evaluation, RecordNotice
from drivers.model import Reading
from limits.dose_rate import RateCleared, RateExceeded, RateSample, RateState, evaluate
from limits.dosimetry import esak_rate_mgy_min
from limits.levels import RateLevelTable

MODE_TEXT = {"normal": "normal fluoroscopy", "high_level": "high-level fluoroscopy"}


@dataclass
class _Irradiation:
    started: datetime
    kap_gy_cm2: float = 0.0
    time_s: float = 0.0
    peak_esak_mgy_min: float = 0.0
    rate_alarms: int = 0


class FluoroMonitor:
    def __init__(self, config: FluoroscopyConfig, table: RateLevelTable) -> None:
        self.config = config
        self.table = table
        self.geometry = config.geometry()
        self.policy = config.policy()
        self.factors = self.geometry.factors()
        self.state = RateState()
        self._alarm_id: str | None = None
        self._irradiation: _Irradiation | None = None
        self._last_kap: float | None = None
        self._last_time: float | None = None
        self.kap_total_gy_cm2 = 0.0
        self.esak_rate_mgy_min = 0.0
        self.beam_on = False

    @property
    def mode(self) -> str:
        return self.config.mode

    def concerns(self, reading: Reading) -> bool:
        return reading.device == self.config.dap_meter

    def observe(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        kap_m, rate_m, time_m = (reading.get(q) for q in ("kap", "kap_rate", "irradiation_time"))
        if kap_m is None or rate_m is None:
            return Evaluation({})
        kap_delta = self._delta(kap_m.value, "_last_kap")
        time_delta = self._delta(time_m.value, "_last_time") if time_m else 0.0
        self.kap_total_gy_cm2 = kap_m.value
        esak = esak_rate_mgy_min(max(rate_m.value, 0.0), self.geometry)
        self.esak_rate_mgy_min = esak
        beam_on = rate_m.value >= self.config.beam_on_kap_rate_gy_cm2_min
        result = Evaluation(
            {
                "esak_rate": {"value": round(esak, 4), "unit": "mGy/min"},
                "mode": self.mode,
                "beam_on": beam_on,
            }
        )
        self._track_irradiation(beam_on, wall, kap_delta, time_delta, esak, result)
        self.state, events = evaluate(
            self.state, RateSample(t_mono, esak, self.mode), self.table, self.policy
        )
        for event in events:
            result.alarms.append(self._notice(event, reading.device, wall))
            if isinstance(event, RateExceeded) and self._irradiation is not None:
                self._irradiation.rate_alarms += 1
        return result

    def _delta(self, value: float, attr: str) -> float:
        """Increase since the last reading; a drop means the meter was reset (counts from zero)."""
        last: float | None = getattr(self, attr)
        setattr(self, attr, value)
        if last is None:
            return 0.0
        return value - last if value >= last else value

    def _track_irradiation(
        self,
        beam_on: bool,
        wall: datetime,
        kap_delta: float,
        time_delta: float,
        esak: float,
        result: Evaluation,
    ) -> None:
        if beam_on and self._irradiation is None:
            self._irradiation = _Irradiation(started=wall)
        current = self._irradiation
        if current is not None:
            current.kap_gy_cm2 += kap_delta
            current.time_s += time_delta
            current.peak_esak_mgy_min = max(current.peak_esak_mgy_min, esak)
        if not beam_on and current is not None:
            self._irradiation = None
            result.records.append(
                RecordNotice(
                    "irradiation",
                    {
                        "started": iso_utc(current.started),
                        "ended": iso_utc(wall),
                        "mode": self.mode,
                        "kap": {"value": round(current.kap_gy_cm2, 6), "unit": "Gy·cm²"},
                        "irradiation_time": {"value": current.time_s, "unit": "s"},
                        "peak_esak_rate": {
                            "value": round(current.peak_esak_mgy_min, 4),
                            "unit": "mGy/min",
                        },
                        "rate_alarms": current.rate_alarms,
                        "factors": self.factors,
                        "levels_source": self.table.source_id,
                    },
                )
            )
        self.beam_on = beam_on

    def _notice(self, event: RateExceeded | RateCleared, device: str, wall: datetime) -> AlarmNotice:
        level = event.level
        details: dict[str, Any] = {
            "device": device,
            "mode": level.mode,
            "level": {"value": level.rate_mgy_min, "unit": "mGy/min", "citation": level.citation},
            "value": {"value": round(event.mean_mgy_min, 3), "unit": "mGy/min"},
            "averaged_over_s": self.policy.window_s,
            "factors": self.factors,
        }
        mode_text = MODE_TEXT.get(level.mode, level.mode)
        if isinstance(event, RateExceeded):
            self._alarm_id = str(uuid.uuid4())
            message = (
                f"Entrance dose rate {event.mean_mgy_min:.1f} mGy/min is above the "
                f"{level.rate_mgy_min:g} mGy/min guidance level for {mode_text}"
            )
            return AlarmNotice(self._alarm_id, "fluoro_dose_rate", "raised", "high", message, details)
        alarm_id = self._alarm_id or str(uuid.uuid4())
        self._alarm_id = None
        details["peak"] = {"value": round(event.peak_mean_mgy_min, 3), "unit": "mGy/min"}
        details["reason"] = event.reason
        message = (
            f"Entrance dose rate back to {event.mean_mgy_min:.1f} mGy/min, below the "
            f"{level.rate_mgy_min:g} mGy/min level (peak {event.peak_mean_mgy_min:.1f})"
        )
        return AlarmNotice(alarm_id, "fluoro_dose_rate", "cleared", "high", message, details)
