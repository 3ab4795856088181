"""JSON bodies of everything doseedge publishes. The interface is documented in docs/mqtt.md.

Every body has `schema` (name and version), `ts` (ISO-8601 UTC), `site`, `station`; the outbox adds
`seq` and `record_id`. Every quantity is `{"value", "unit"}` built by `quantity()`: the unit as its
UCUM code (core/units.py), the value rounded (no float noise), so the convention lives in one place.
"""

from __future__ import annotations

__all__ = ["alarm_body", "envelope", "quantity", "reading_body", "rounded", "status_body"]

import math
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from core.units import round_significant, ucum
from drivers.model import Reading

# A measurement keeps every digit an instrument can give (none gives ten) and loses only float noise
# of the scaling (0.1 × 3 = 0.30000000000000004); a derived quantity keeps 6 significant digits.
MEASURED_DIGITS = 10


def rounded(value: float, resolution: float | None = None) -> float:
    """`value` at `resolution` (the instrument's step, when known), else at 6 significant digits."""
    if resolution and math.isfinite(value / resolution):
        return round_significant(round(value / resolution) * resolution, 12)
    return round_significant(value)


def quantity(value: float | None, unit: str, resolution: float | None = None, **extra: Any) -> dict[str, Any]:
    """`{"value", "unit"}` with the UCUM code of `unit` and the value rounded; `extra` keys follow."""
    return {"value": None if value is None else rounded(value, resolution), "unit": ucum(unit), **extra}


def envelope(schema: str, ts: datetime, site: str, station: str) -> dict[str, Any]:
    return {"schema": schema, "ts": iso_utc(ts), "site": site, "station": station}


def reading_body(base: dict[str, Any], reading: Reading, derived: dict[str, Any]) -> dict[str, Any]:
    return {
        **base,
        "device": reading.device,
        "status": reading.status.value,
        **({"labels": reading.labels} if reading.labels else {}),
        **({"device_info": reading.device_info} if reading.device_info else {}),
        "measurements": [
            {
                "quantity": m.quantity,
                "value": round_significant(m.value, MEASURED_DIGITS),
                "unit": ucum(m.unit),
                "raw_value": round_significant(m.raw_value, MEASURED_DIGITS),
                "raw_unit": ucum(m.raw_unit),
            }
            for m in reading.measurements
        ],
        **derived,
    }


def alarm_body(
    base: dict[str, Any],
    *,
    alarm_id: str,
    alarm_type: str,
    state: str,
    severity: str,
    message: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        **base,
        "alarm_id": alarm_id,
        "type": alarm_type,
        "state": state,
        "severity": severity,
        "message": message,
        **details,
    }


def status_body(base: dict[str, Any], state: str, version: str) -> dict[str, Any]:
    return {**base, "state": state, "agent_version": version}
