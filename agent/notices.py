"""What the evaluate step produces, before it becomes an MQTT message: alarms and records."""

from __future__ import annotations

__all__ = ["AlarmNotice", "Evaluation", "Monitor", "RecordNotice"]

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from drivers.model import Reading


@dataclass(frozen=True)
class AlarmNotice:
    alarm_id: str
    alarm_type: str  # fluoro_dose_rate, device_lost, …
    state: str  # raised | acknowledged | cleared
    severity: str  # high | warning
    message: str  # one sentence a radiographer can read at the table
    details: dict[str, Any] = field(default_factory=dict)
    latching: bool = False  # no condition clears it: acknowledgement does (agent/alarms.py)


@dataclass(frozen=True)
class RecordNotice:
    kind: str  # irradiation, …  → topic record/<kind>
    details: dict[str, Any]


@dataclass
class Evaluation:
    """What a monitor made of one reading: fields added to the reading message, alarms, records."""

    derived: dict[str, Any] = field(default_factory=dict)
    alarms: list[AlarmNotice] = field(default_factory=list)
    records: list[RecordNotice] = field(default_factory=list)


class Monitor(Protocol):
    """The evaluate step of one kind of room (fluoroscopy, hot lab…). Pure logic lives in limits/."""

    def concerns(self, reading: Reading) -> bool: ...

    def observe(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation: ...
