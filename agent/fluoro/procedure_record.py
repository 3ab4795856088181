"""`record/procedure`: the summary of a closed procedure, for the ten-year record (docs/fluoroscopy.md):
totals, peaks, alarms with their acknowledgements, counter events, restarts, factors, levels' sources,
the patient (or that there was none) with the patient's totals the triggers judged, and which field
areas were measured and which assumed."""

from __future__ import annotations

__all__ = ["procedure_record"]

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.fluoro.procedure_state import OpenProcedure
from agent.payloads import quantity
from limits.dosimetry import Geometry
from limits.entrance import psd_estimate
from limits.trigger_levels import TriggerSet


def procedure_record(
    current: OpenProcedure,
    t_s: float,
    wall: datetime,
    by: str,
    *,
    geometry: Geometry,
    tissue_to_air: float,
    acknowledgement: Callable[[str], dict[str, Any]],
    triggers: TriggerSet | None,
    levels_sources: dict[str, Any],
    patient_totals: dict[str, float],
) -> dict[str, Any]:
    psd, psd_factors = psd_estimate(current.kar_mgy, geometry, tissue_to_air)
    factors = {k: v for k, v in geometry.factors().items() if k != "field_area_at_reference_cm2"}
    alarms = [
        {**{k: v for k, v in a.items() if k != "latching"}, **acknowledgement(a["alarm_id"])}
        for a in current.alarms
    ]
    return {
        "procedure_id": current.procedure_id,
        "opened_at": iso_utc(current.opened_at),
        "closed_at": iso_utc(wall),
        "duration": quantity(t_s - current.opened_t, "s"),
        "opened_by": current.opened_by,
        "closed_by": by,
        "totals": {
            "kar": quantity(current.kar_mgy, "mGy"),
            "kap": quantity(current.kap_gy_cm2, "Gy·cm²"),
            "fluoro_time": quantity(current.fluoro_time_s, "s"),
            "acquisition_time": quantity(current.acquisition_time_s, "s"),
            "acquisition_count": current.acquisition_count,
            "psd_estimate": quantity(psd, "mGy", factors=psd_factors),
        },
        "peaks": {
            "esak_rate_by_mode": {m: quantity(v, "mGy/min") for m, v in current.peak_esak.items()},
            "k_ref_rate": quantity(current.peak_k_ref_mgy_min, "mGy/min"),
        },
        "alarms": alarms,
        "counter_events": current.counter_events,
        "restarts": current.restarts,
        "factors": {**factors, "tissue_to_air": tissue_to_air, "field_area": _areas(current, geometry)},
        "patient": _patient(current, patient_totals),
        "levels": {
            **levels_sources,
            "trigger_preset": triggers.preset if triggers else None,
            "triggers": [
                {
                    "id": t.id,
                    "level": t.describe(),
                    "citation": t.citation,
                    "source": t.source,
                    "check": t.check,
                }
                for t in (triggers.levels if triggers else ())
            ],
        },
    }


def _areas(current: OpenProcedure, geometry: Geometry) -> dict[str, Any]:
    """Which field areas were measured, which assumed, and how much dose went through each."""
    measured = current.measured_area_cm2
    return {
        "assumed_at_reference_cm2": geometry.field_area_at_reference_cm2,
        "measured_at_reference_cm2": (
            {"min": round(measured[0], 3), "max": round(measured[1], 3)} if measured else None
        ),
        "kap_by_area": {k: quantity(v, "Gy·cm²") for k, v in current.kap_by_area.items()},
        "kar_by_source": {k: quantity(v, "mGy") for k, v in current.kar_by_source.items()},
    }


def _patient(current: OpenProcedure, totals: dict[str, float]) -> dict[str, Any]:
    if current.patient is None:
        return {
            "pseudonym": None,
            "note": "no patient named: the triggers judged this procedure alone, and earlier or later "
            "procedures of the same patient are not added to it",
        }
    earlier = current.earlier
    return {
        "pseudonym": current.patient,
        "source": current.patient_source,
        "earlier_procedure_ids": list(earlier.procedure_ids) if earlier else [],
        "totals_judged": {
            "kar": quantity(totals["kar"], "mGy"),
            "kap": quantity(totals["kap"], "Gy·cm²"),
            "psd_estimate": quantity(totals["psd"], "mGy"),
        },
    }
