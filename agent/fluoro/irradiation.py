"""One irradiation: beam-on to beam-off in one mode, as the fluoroscopy monitor (agent/fluoro/monitor.py) sees
it. Sums its KAP and beam-on time, keeps its peak entrance dose rate with the factors behind that
peak, counts its dose-rate alarms, and becomes a `record/irradiation` when the beam goes off or the
mode changes.
"""

from __future__ import annotations

__all__ = ["Irradiation", "IrradiationTracker"]

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.fluoro.procedure import ProcedureSample
from agent.notices import RecordNotice
from agent.payloads import quantity
from limits.entrance import EntranceRate
from limits.levels import RateLevelTable


@dataclass
class Irradiation:
    started: datetime
    mode: str
    method: str
    kap_gy_cm2: float = 0.0
    time_s: float = 0.0
    peak_esak_mgy_min: float = 0.0
    rate_alarms: int = 0
    factors: dict[str, Any] | None = None
    area_sources: set[str] = field(default_factory=set)  # measured | assumed, over the whole run


class IrradiationTracker:
    def __init__(self, table: RateLevelTable, factors: dict[str, Any], max_gap_s: float) -> None:
        self.table = table
        self.factors = factors  # the room's geometry factors, under each record's own
        self.max_gap_s = max_gap_s
        self.current: Irradiation | None = None

    def track(
        self,
        beam_on: bool,
        mode: str,
        wall: datetime,
        kap_delta: float,
        sample: ProcedureSample,
        last: ProcedureSample | None,
        rate: EntranceRate,
        procedure_id: str | None,
    ) -> list[RecordNotice]:
        """Open, extend or close the irradiation; `last` is the procedure's sample before this one.
        Returns the record of an irradiation that ended here."""
        records = []
        current = self.current
        if current is not None and (not beam_on or current.mode != mode):
            self.current = None
            records.append(self._record(current, wall, procedure_id))
            current = None
        if beam_on and current is None:
            current = self.current = Irradiation(wall, mode, rate.method)
        if current is not None:
            current.kap_gy_cm2 += kap_delta
            if last is not None and last.beam_on and 0 < sample.t_s - last.t_s <= self.max_gap_s:
                current.time_s += sample.t_s - last.t_s
            if "field_area_source" in rate.factors:
                current.area_sources.add(str(rate.factors["field_area_source"]))
            if rate.esak_mgy_min >= current.peak_esak_mgy_min:
                current.peak_esak_mgy_min = rate.esak_mgy_min
                current.factors = rate.factors
        return records

    def note_rate_alarm(self) -> None:
        """A dose-rate alarm was raised during the current irradiation, if any."""
        if self.current is not None:
            self.current.rate_alarms += 1

    def _record(self, current: Irradiation, wall: datetime, procedure_id: str | None) -> RecordNotice:
        return RecordNotice(
            "irradiation",
            {
                "started": iso_utc(current.started),
                "ended": iso_utc(wall),
                "mode": current.mode,
                "judged": self.table.for_mode(current.mode) is not None,
                "procedure_id": procedure_id,
                "kap": quantity(current.kap_gy_cm2, "Gy·cm²"),
                "irradiation_time": quantity(current.time_s, "s"),
                "peak_esak_rate": quantity(current.peak_esak_mgy_min, "mGy/min"),
                "esak_method": current.method,
                "rate_alarms": current.rate_alarms,
                "factors": {**self.factors, **(current.factors or {})},
                "field_area_sources": sorted(current.area_sources),  # [] when no area was needed
                "levels_source": self.table.source_id,
            },
        )
