"""The alarm lifecycle: raised → acknowledged (command `cmd/alarm_ack`) → cleared.

The book holds the active set that `<root>/alarm/active` (retained) always shows. Two kinds:
- condition alarms (dose rate, device lost) clear when their condition ends; an acknowledgement
  only records that someone saw them;
- latching alarms (cumulative triggers, the five-minute signal) have no condition that ends: they
  clear when acknowledged (21 CFR 1020.32(h)(2): "until reset"), or when their procedure closes.
"""

from __future__ import annotations

__all__ = ["ActiveAlarm", "AlarmBook"]

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.errors import CommandError
from agent.notices import AlarmNotice


@dataclass(frozen=True)
class ActiveAlarm:
    notice: AlarmNotice
    raised: datetime
    acknowledged: datetime | None = None
    acknowledged_by: str = ""


class AlarmBook:
    def __init__(self) -> None:
        self.active: dict[str, ActiveAlarm] = {}
        self.history: dict[str, ActiveAlarm] = {}  # cleared ones, for the procedure record
        self.changed = False

    def apply(self, notice: AlarmNotice, wall: datetime) -> None:
        if notice.state == "raised":
            self.active[notice.alarm_id] = ActiveAlarm(notice, wall)
            self.changed = True
        elif notice.state == "cleared" and notice.alarm_id in self.active:
            self.history[notice.alarm_id] = self.active.pop(notice.alarm_id)
            self.changed = True

    def is_active(self, alarm_id: str) -> bool:
        return alarm_id in self.active

    def acknowledgement(self, alarm_id: str) -> dict[str, Any]:
        entry = self.active.get(alarm_id) or self.history.get(alarm_id)
        if entry is None or entry.acknowledged is None:
            return {"acknowledged": False}
        return {
            "acknowledged": True,
            "acknowledged_at": iso_utc(entry.acknowledged),
            "by": entry.acknowledged_by,
        }

    def acknowledge(self, alarm_id: str, by: str, wall: datetime) -> AlarmNotice:
        """The notice to publish: `acknowledged`, or `cleared` for a latching alarm."""
        entry = self.active.get(alarm_id)
        if entry is None:
            raise CommandError(f"no active alarm {alarm_id!r}")
        if entry.acknowledged is not None:
            raise CommandError(f"alarm {alarm_id!r} was already acknowledged")
        acked = replace(entry, acknowledged=wall, acknowledged_by=by)
        self.active[alarm_id] = acked
        self.changed = True
        notice = entry.notice
        details = {**notice.details, "acknowledged_by": by}
        if notice.latching:
            self.history[alarm_id] = self.active.pop(alarm_id)
            details["reason"] = "acknowledged"
            return replace(
                notice, state="cleared", message=f"Acknowledged: {notice.message}", details=details
            )
        return replace(notice, state="acknowledged", details=details)

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {
                "alarm_id": alarm_id,
                "type": entry.notice.alarm_type,
                "severity": entry.notice.severity,
                "state": "acknowledged" if entry.acknowledged else "raised",
                "raised_at": iso_utc(entry.raised),
                "message": entry.notice.message,
                **({"acknowledged_by": entry.acknowledged_by} if entry.acknowledged else {}),
            }
            for alarm_id, entry in self.active.items()
        ]
