"""What the evaluate step produces, before it becomes an MQTT message: alarms and records."""

from __future__ import annotations

__all__ = ["AlarmNotice", "RecordNotice"]

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AlarmNotice:
    alarm_id: str
    alarm_type: str  # fluoro_dose_rate, device_lost, …
    state: str  # raised | cleared
    severity: str  # high | warning
    message: str  # one sentence a radiographer can read at the table
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordNotice:
    kind: str  # irradiation, …  → topic record/<kind>
    details: dict[str, Any]
