"""Raise-once / clear-once alarm state for conditions that persist (QC missing, over-range…).

A condition raised while already raised produces nothing; clearing a condition that is not raised
produces nothing; a cleared notice carries the id of the raised one.
"""

from __future__ import annotations

__all__ = ["AlarmLatch"]

import uuid
from typing import Any

from agent.notices import AlarmNotice


class AlarmLatch:
    def __init__(self) -> None:
        self._raised: dict[str, AlarmNotice] = {}

    def is_raised(self, key: str) -> bool:
        return key in self._raised

    def raise_(
        self, key: str, alarm_type: str, severity: str, message: str, details: dict[str, Any]
    ) -> AlarmNotice | None:
        if key in self._raised:
            return None
        notice = AlarmNotice(str(uuid.uuid4()), alarm_type, "raised", severity, message, details)
        self._raised[key] = notice
        return notice

    def clear(self, key: str, message: str, details: dict[str, Any] | None = None) -> AlarmNotice | None:
        raised = self._raised.pop(key, None)
        if raised is None:
            return None
        return AlarmNotice(
            raised.alarm_id, raised.alarm_type, "cleared", raised.severity, message, details or {}
        )

    def keys(self, prefix: str = "") -> list[str]:
        return [k for k in self._raised if k.startswith(prefix)]
