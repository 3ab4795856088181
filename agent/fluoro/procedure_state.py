"""The open procedure as data, and its JSON form for surviving a restart (agent/restart_state.py).

Monotonic times do not survive a reboot (the clock starts again near zero), so they are written as
ages — seconds before the moment the state was saved — and read back against the new monotonic
clock, shifted by the wall-clock gap the agent was down (`saved_t`, below). The wall clock decides
only how long the gap was; every duration inside one run of the agent stays on the monotonic clock.
"""

from __future__ import annotations

__all__ = [
    "OpenProcedure",
    "ProcedureSample",
    "procedure_data",
    "procedure_from",
    "sample_data",
    "sample_from",
]

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.fluoro.patients import EarlierDose
from limits.triggers import TriggerState


@dataclass(frozen=True)
class ProcedureSample:
    t_s: float  # monotonic
    wall: datetime
    beam_on: bool
    mode: str  # normal | high_level | acquisition | off
    k_ref_rate_mgy_min: float
    esak_rate_mgy_min: float
    area_ref_cm2: float  # field area at the reference plane, for KAP → Ka,r
    kap_gy_cm2: float | None = None  # the meter's counters, when it has them
    kar_mgy: float | None = None
    irradiation_time_s: float | None = None
    kap_rate_gy_cm2_min: float | None = None
    area_source: str = "assumed"  # measured (generator field_area at sid) | assumed (configured)


@dataclass
class OpenProcedure:
    procedure_id: str
    opened_at: datetime
    opened_t: float  # monotonic
    opened_by: str
    last_beam_t: float  # monotonic
    kar_mgy: float = 0.0
    kap_gy_cm2: float = 0.0
    fluoro_time_s: float = 0.0
    acquisition_time_s: float = 0.0
    acquisition_count: int = 0
    peak_esak: dict[str, float] = field(default_factory=dict)
    peak_k_ref_mgy_min: float = 0.0
    triggers: TriggerState = field(default_factory=TriggerState)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    counter_events: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)  # [{at, gap_s}] agent restarts
    patient: str | None = None  # pseudonym (agent/fluoro/patients.py)
    patient_source: str = ""  # procedure_open | carried_over
    earlier: EarlierDose | None = None  # the patient's earlier procedures, found at open
    # KAP by where the field area came from, Ka,r by how it was obtained, the measured areas seen
    kap_by_area: dict[str, float] = field(default_factory=dict)
    kar_by_source: dict[str, float] = field(default_factory=dict)
    measured_area_cm2: list[float] = field(default_factory=list)  # [min, max] at the reference plane

    def add(
        self,
        s: ProcedureSample,
        last: ProcedureSample | None,
        kap: float,
        kar: float,
        time: float,
        kar_source: str,
    ) -> None:
        """One sample's steps into the totals; `last` is the sample before it."""
        self.kap_gy_cm2 += kap
        self.kar_mgy += kar
        if kap > 0:
            self.kap_by_area[s.area_source] = self.kap_by_area.get(s.area_source, 0.0) + kap
        if kar > 0:
            self.kar_by_source[kar_source] = self.kar_by_source.get(kar_source, 0.0) + kar
        if s.beam_on and s.area_source == "measured":
            seen = self.measured_area_cm2 or [s.area_ref_cm2, s.area_ref_cm2]
            self.measured_area_cm2 = [min(seen[0], s.area_ref_cm2), max(seen[1], s.area_ref_cm2)]
        if s.mode == "acquisition":
            self.acquisition_time_s += time
            if s.beam_on and (last is None or not last.beam_on or last.mode != "acquisition"):
                self.acquisition_count += 1
        else:
            self.fluoro_time_s += time
        if s.beam_on:
            self.last_beam_t = s.t_s
            self.peak_esak[s.mode] = max(self.peak_esak.get(s.mode, 0.0), s.esak_rate_mgy_min)
            self.peak_k_ref_mgy_min = max(self.peak_k_ref_mgy_min, s.k_ref_rate_mgy_min)


def procedure_data(p: OpenProcedure, now_t: float) -> dict[str, Any]:
    """JSON-ready; monotonic times as ages at `now_t` (seconds before it)."""
    return {
        "procedure_id": p.procedure_id,
        "opened_at": p.opened_at.isoformat(),
        "opened_age_s": now_t - p.opened_t,
        "opened_by": p.opened_by,
        "last_beam_age_s": now_t - p.last_beam_t,
        "kar_mgy": p.kar_mgy,
        "kap_gy_cm2": p.kap_gy_cm2,
        "fluoro_time_s": p.fluoro_time_s,
        "acquisition_time_s": p.acquisition_time_s,
        "acquisition_count": p.acquisition_count,
        "peak_esak": p.peak_esak,
        "peak_k_ref_mgy_min": p.peak_k_ref_mgy_min,
        "triggers": dict(p.triggers.next_index),
        "alarms": p.alarms,
        "counter_events": p.counter_events,
        "restarts": p.restarts,
        "patient": p.patient,
        "patient_source": p.patient_source,
        "earlier": p.earlier.data() if p.earlier is not None else None,
        "kap_by_area": p.kap_by_area,
        "kar_by_source": p.kar_by_source,
        "measured_area_cm2": p.measured_area_cm2,
    }


def procedure_from(d: dict[str, Any], saved_t: float) -> OpenProcedure:
    """Back from `procedure_data`; `saved_t` is when it was saved, on the current monotonic clock."""
    return OpenProcedure(
        procedure_id=d["procedure_id"],
        opened_at=datetime.fromisoformat(d["opened_at"]),
        opened_t=saved_t - float(d["opened_age_s"]),
        opened_by=d["opened_by"],
        last_beam_t=saved_t - float(d["last_beam_age_s"]),
        kar_mgy=float(d["kar_mgy"]),
        kap_gy_cm2=float(d["kap_gy_cm2"]),
        fluoro_time_s=float(d["fluoro_time_s"]),
        acquisition_time_s=float(d["acquisition_time_s"]),
        acquisition_count=int(d["acquisition_count"]),
        peak_esak={str(k): float(v) for k, v in d["peak_esak"].items()},
        peak_k_ref_mgy_min=float(d["peak_k_ref_mgy_min"]),
        triggers=TriggerState(tuple(sorted((str(k), int(v)) for k, v in d["triggers"].items()))),
        alarms=list(d["alarms"]),
        counter_events=list(d["counter_events"]),
        restarts=list(d["restarts"]),
        patient=d.get("patient"),
        patient_source=str(d.get("patient_source", "")),
        earlier=EarlierDose.from_data(d["earlier"]) if d.get("earlier") else None,
        kap_by_area={str(k): float(v) for k, v in d.get("kap_by_area", {}).items()},
        kar_by_source={str(k): float(v) for k, v in d.get("kar_by_source", {}).items()},
        measured_area_cm2=[float(v) for v in d.get("measured_area_cm2", [])],
    )


def sample_data(sample: ProcedureSample, now_t: float) -> dict[str, Any]:
    """JSON-ready, its time as an age at `now_t`."""
    return {
        "age_s": now_t - sample.t_s,
        "wall": sample.wall.isoformat(),
        "beam_on": sample.beam_on,
        "mode": sample.mode,
        "k_ref_rate_mgy_min": sample.k_ref_rate_mgy_min,
        "esak_rate_mgy_min": sample.esak_rate_mgy_min,
        "area_ref_cm2": sample.area_ref_cm2,
        "kap_gy_cm2": sample.kap_gy_cm2,
        "kar_mgy": sample.kar_mgy,
        "irradiation_time_s": sample.irradiation_time_s,
        "kap_rate_gy_cm2_min": sample.kap_rate_gy_cm2_min,
        "area_source": sample.area_source,
    }


def sample_from(d: dict[str, Any], saved_t: float) -> ProcedureSample:
    """Back from `sample_data`; `saved_t` as for `procedure_from`."""

    def number(key: str) -> float | None:
        return None if d[key] is None else float(d[key])

    return ProcedureSample(
        saved_t - float(d["age_s"]),
        datetime.fromisoformat(d["wall"]),
        bool(d["beam_on"]),
        str(d["mode"]),
        float(d["k_ref_rate_mgy_min"]),
        float(d["esak_rate_mgy_min"]),
        float(d["area_ref_cm2"]),
        kap_gy_cm2=number("kap_gy_cm2"),
        kar_mgy=number("kar_mgy"),
        irradiation_time_s=number("irradiation_time_s"),
        kap_rate_gy_cm2_min=number("kap_rate_gy_cm2_min"),
        area_source=str(d.get("area_source", "assumed")),
    )
