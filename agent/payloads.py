"""JSON bodies of everything doseedge publishes. The interface is documented in docs/mqtt.md.

Every body has `schema` (name and version), `ts` (ISO-8601 UTC), `site`, `station`; the outbox adds
`seq` and `record_id`. Values carry explicit units.
"""

from __future__ import annotations

__all__ = ["alarm_body", "envelope", "reading_body", "status_body"]

from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from drivers.model import Reading


def envelope(schema: str, ts: datetime, site: str, station: str) -> dict[str, Any]:
    return {"schema": schema, "ts": iso_utc(ts), "site": site, "station": station}


def reading_body(base: dict[str, Any], reading: Reading, derived: dict[str, Any]) -> dict[str, Any]:
    return {
        **base,
        "device": reading.device,
        "status": reading.status.value,
        **({"labels": reading.labels} if reading.labels else {}),
        "measurements": [
            {
                "quantity": m.quantity,
                "value": m.value,
                "unit": m.unit,
                "raw_value": m.raw_value,
                "raw_unit": m.raw_unit,
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
