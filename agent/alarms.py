"""The alarm lifecycle: raised → acknowledged (command `cmd/alarm_ack`) → cleared.

The book holds the active set that `<root>/alarm/active` (retained) always shows. Two kinds:
- condition alarms (dose rate, device lost) clear when their condition ends; an acknowledgement
  only records that someone saw them;
- latching alarms (cumulative triggers, the five-minute signal) have no condition that ends: they
  clear when acknowledged (21 CFR 1020.32(h)(2): "until reset"), or when their procedure closes.
"""

from __future__ import annotations

__all__ = ["HISTORY_MAX", "ActiveAlarm", "AlarmBook"]

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.notices import AlarmNotice
from core.errors import CommandError

HISTORY_MAX = 1000


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
        self.changed = False  # since the last alarm/active message
        self.revision = 0  # bumped on every change: agent/restart_state.py saves the book when it moves

    def apply(self, notice: AlarmNotice, wall: datetime) -> None:
        if notice.state == "raised":
            self.active[notice.alarm_id] = ActiveAlarm(notice, wall)
            self.changed = True
            self.revision += 1
        elif notice.state == "cleared" and notice.alarm_id in self.active:
            self.history[notice.alarm_id] = self.active.pop(notice.alarm_id)
            self._prune()
            self.changed = True
            self.revision += 1

    def _prune(self) -> None:
        """Keep the newest HISTORY_MAX cleared alarms (their acknowledgements feed the procedure
        record): a box that runs for months must not grow without end (issue 12, finding 5)."""
        while len(self.history) > HISTORY_MAX:
            del self.history[next(iter(self.history))]

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
        self.revision += 1
        notice = entry.notice
        details = {**notice.details, "acknowledged_by": by}
        if notice.latching:
            self.history[alarm_id] = self.active.pop(alarm_id)
            self._prune()
            details["reason"] = "acknowledged"
            return replace(
                notice, state="cleared", message=f"Acknowledged: {notice.message}", details=details
            )
        return replace(notice, state="acknowledged", details=details)

    # ------------------------------------------------------------ surviving a restart

    def dump(self, history_ids: Iterable[str] = ()) -> dict[str, Any]:
        """The active set, and the acknowledgements of the cleared alarms named in `history_ids` (the
        open procedure's record lists them), as JSON-ready data for agent/restart_state.py."""
        history = [self.history[i] for i in history_ids if i in self.history]
        return {
            "active": [_entry_data(e) for e in self.active.values()],
            "history": [_entry_data(replace(e, notice=replace(e.notice, details={}))) for e in history],
        }

    def load(self, data: dict[str, Any]) -> None:
        """Replace the book's contents with what `dump` wrote."""
        self.active = {e.notice.alarm_id: e for e in map(_entry_from, data.get("active", []))}
        self.history = {e.notice.alarm_id: e for e in map(_entry_from, data.get("history", []))}
        self.changed = True
        self.revision += 1

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


def _entry_data(entry: ActiveAlarm) -> dict[str, Any]:
    n = entry.notice
    return {
        "alarm_id": n.alarm_id,
        "type": n.alarm_type,
        "state": n.state,
        "severity": n.severity,
        "message": n.message,
        "details": n.details,
        "latching": n.latching,
        "raised": entry.raised.isoformat(),
        "acknowledged": entry.acknowledged.isoformat() if entry.acknowledged else None,
        "acknowledged_by": entry.acknowledged_by,
    }


def _entry_from(data: dict[str, Any]) -> ActiveAlarm:
    notice = AlarmNotice(
        data["alarm_id"],
        data["type"],
        data["state"],
        data["severity"],
        data["message"],
        data["details"],
        bool(data["latching"]),
    )
    acknowledged = data["acknowledged"]
    return ActiveAlarm(
        notice,
        datetime.fromisoformat(data["raised"]),
        datetime.fromisoformat(acknowledged) if acknowledged else None,
        data["acknowledged_by"],
    )
