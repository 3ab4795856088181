"""`record/procedure`: the summary of a closed procedure, for the ten-year record (docs/fluoroscopy.md):
totals, peaks, alarms with their acknowledgements, counter events, restarts, factors, levels' sources."""

from __future__ import annotations

__all__ = ["procedure_record"]

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.fluoro.procedure_state import OpenProcedure
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
) -> dict[str, Any]:
    psd, psd_factors = psd_estimate(current.kar_mgy, geometry, tissue_to_air)
    alarms = [
        {**{k: v for k, v in a.items() if k != "latching"}, **acknowledgement(a["alarm_id"])}
        for a in current.alarms
    ]
    return {
        "procedure_id": current.procedure_id,
        "opened_at": iso_utc(current.opened_at),
        "closed_at": iso_utc(wall),
        "duration_s": round(t_s - current.opened_t, 3),
        "opened_by": current.opened_by,
        "closed_by": by,
        "totals": {
            "kar": {"value": round(current.kar_mgy, 4), "unit": "mGy"},
            "kap": {"value": round(current.kap_gy_cm2, 6), "unit": "Gy·cm²"},
            "fluoro_time": {"value": round(current.fluoro_time_s, 3), "unit": "s"},
            "acquisition_time": {"value": round(current.acquisition_time_s, 3), "unit": "s"},
            "acquisition_count": current.acquisition_count,
            "psd_estimate": {"value": round(psd, 4), "unit": "mGy", "factors": psd_factors},
        },
        "peaks": {
            "esak_rate_by_mode": {
                m: {"value": round(v, 4), "unit": "mGy/min"} for m, v in current.peak_esak.items()
            },
            "k_ref_rate": {"value": round(current.peak_k_ref_mgy_min, 4), "unit": "mGy/min"},
        },
        "alarms": alarms,
        "counter_events": current.counter_events,
        "restarts": current.restarts,
        "factors": {**geometry.factors(), "tissue_to_air": tissue_to_air},
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
