"""The plausibility gate: every reading of every driver passes here before any monitor sees it.

limits/plausibility.py judges each value (range, credible rise, counter semantics). A reading with
an implausible value is **withheld** from the monitors — it never enters a total, a trigger, a rate
or a judgement — but it is still stored, as it was, with the reasons (`implausible` in the reading
message), counted per device (`…/health`: `implausible_values`), and alarmed: `implausible_value`
is raised `warning` at the first one and escalated to `high` if another comes during beam-on (a
meter that keeps sending absurd values while the beam is on is a meter whose dose is not being
judged). It clears after `CLEAR_AFTER` consecutive plausible readings from the device.
"""

from __future__ import annotations

__all__ = ["CLEAR_AFTER", "GateResult", "PlausibilityGate"]

import math
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.notices import AlarmNotice
from core.units import ucum
from drivers.model import Measurement, Reading
from limits.plausibility import (
    CounterMemory,
    PlausibilityTable,
    Verdict,
    judge_reading,
    level_ranges,
    load_plausibility,
)

CLEAR_AFTER = 10
REASONS = {
    "not_a_number": "not a number",
    "below_min": "below the physical minimum",
    "above_max": "above the physical maximum",
    "rise_too_fast": "a rise faster than any X-ray tube can deliver",
    "drop_not_reset": "a drop that is neither a reset to zero nor the counter's wrap",
    "no_bound": "a quantity with no plausibility bound",
}


@dataclass
class GateResult:
    reading: Reading | None  # what the monitors may see; None = withheld
    rejected: list[dict[str, Any]] = field(default_factory=list)  # → the stored reading, `implausible`
    alarms: list[AlarmNotice] = field(default_factory=list)
    rebased: tuple[str, ...] = ()  # counters taken up again after a break: not a dose step


@dataclass
class _DeviceAlarm:
    alarm_id: str
    severity: str
    plausible_since: int = 0


def _number(value: float) -> float | str:
    """JSON-safe and without float noise: 9 significant digits, non-finite values as text."""
    return float(f"{value:.9g}") if math.isfinite(value) else str(value)


class PlausibilityGate:
    def __init__(
        self, table: PlausibilityTable | None = None, wraps: Mapping[str, Mapping[str, float]] | None = None
    ) -> None:
        self.table = table or load_plausibility()
        self.wraps = wraps or {}  # device → quantity → documented counter wrap
        self.memory: dict[str, dict[str, CounterMemory]] = {}
        self.rejected: Counter[str] = Counter()  # per device: readings withheld
        self._alarms: dict[str, _DeviceAlarm] = {}
        self._levels = level_ranges(self.table)

    def check(self, reading: Reading, t_mono: float, beam_on: bool) -> GateResult:
        device = reading.device
        if device not in self.wraps and self._levels_in_range(reading.measurements):
            return GateResult(reading, alarms=self._plausible(device))  # judge_reading's answer
        values = [(m.quantity, m.value) for m in reading.measurements]
        memory, verdicts = judge_reading(
            self.table, self.memory.get(device, {}), values, t_mono, self.wraps.get(device)
        )
        self.memory[device] = memory
        bad = [v for v in verdicts if not v.ok]
        if not bad:
            rebased = tuple(v.quantity for v in verdicts if v.event == "rebase")
            return GateResult(reading, alarms=self._plausible(device), rebased=rebased)
        self.rejected[device] += 1
        rejected = [self._entry(v) for v in bad]
        return GateResult(None, rejected, self._implausible(device, bad[0], rejected, beam_on))

    def _levels_in_range(self, measurements: tuple[Measurement, ...]) -> bool:
        """Every value a level inside its bound (NaN fails the comparison): plausible, nothing to
        remember. Most readings of most instruments; anything else goes through `judge_reading`."""
        levels = self._levels
        for m in measurements:
            span = levels.get(m.quantity)
            if span is None or not span[0] <= m.value <= span[1]:
                return False
        return True

    @staticmethod
    def _entry(verdict: Verdict) -> dict[str, Any]:
        bound = verdict.bound
        entry: dict[str, Any] = {
            "quantity": verdict.quantity,
            "value": {"value": _number(verdict.value), "unit": ucum(bound.unit) if bound else "1"},
            "reason": verdict.reason,
        }
        if bound is not None:
            entry["limits"] = {**bound.limits(), "unit": ucum(bound.unit)}
        return entry

    def _implausible(
        self, device: str, first: Verdict, rejected: list[dict[str, Any]], beam_on: bool
    ) -> list[AlarmNotice]:
        active = self._alarms.get(device)
        if active is not None:
            active.plausible_since = 0
            if active.severity == "high" or not beam_on:
                return []
        severity = "high" if active is not None else "warning"
        alarm_id = active.alarm_id if active is not None else str(uuid.uuid4())
        self._alarms[device] = _DeviceAlarm(alarm_id, severity)
        entry = rejected[0]
        value, unit = entry["value"]["value"], first.bound.unit if first.bound else ""
        shown = f"{value:.4g}" if isinstance(value, float) else value
        if severity == "high":
            message = (
                f"{device} keeps sending impossible values during beam-on ({first.quantity} {shown} "
                f"{unit}): its dose is not being judged"
            )
        else:
            message = (
                f"{device} sent an impossible {first.quantity} of {shown} {unit} "
                f"({REASONS.get(first.reason, first.reason)}): the reading is kept but not used"
            )
        details = {
            "device": device,
            "quantity": first.quantity,
            "value": entry["value"],
            "reason": first.reason,
            "limits": entry.get("limits", {}),
            "rejected": rejected,
            "implausible_readings": self.rejected[device],
            "beam_on": beam_on,
        }
        return [AlarmNotice(alarm_id, "implausible_value", "raised", severity, message, details)]

    def _plausible(self, device: str) -> list[AlarmNotice]:
        active = self._alarms.get(device)
        if active is None:
            return []
        active.plausible_since += 1
        if active.plausible_since < CLEAR_AFTER:
            return []
        del self._alarms[device]
        message = f"{device} is sending plausible values again"
        details = {"device": device, "implausible_readings": self.rejected[device]}
        return [
            AlarmNotice(active.alarm_id, "implausible_value", "cleared", active.severity, message, details)
        ]
