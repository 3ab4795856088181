"""What every driver hands to the agent: a normalised reading in canonical units.

Canonical units (the generic driver model of docs/drivers.md): KAP Gy·cm², KAP rate Gy·cm²/min, air kerma mGy,
air-kerma rate mGy/min, time s, activity MBq. The raw value and unit are kept beside the
canonical one so a physicist can re-derive every number.
"""

from __future__ import annotations

__all__ = ["Measurement", "Reading", "Status"]

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    OVER_RANGE = "over_range"
    FROZEN = "frozen"
    ERROR = "error"
    STALE = "stale"


@dataclass(frozen=True)
class Measurement:
    quantity: str
    value: float
    unit: str
    raw_value: float
    raw_unit: str


@dataclass(frozen=True)
class Reading:
    device: str
    measurements: tuple[Measurement, ...]
    status: Status = Status.OK
    device_info: dict[str, str] = field(default_factory=dict)  # firmware, unit, serial…
    labels: dict[str, str] = field(default_factory=dict)  # what the value is of: nuclide, chamber…

    def get(self, quantity: str) -> Measurement | None:
        for m in self.measurements:
            if m.quantity == quantity:
                return m
        return None
