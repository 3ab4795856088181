"""`dose_meter_frozen`: the alarm notices for limits/meter_watch.py (a meter answering, beam on, KAP
not increasing). A condition alarm: raised once, cleared when KAP increases or the beam-on evidence
ends, with the same alarm_id."""

from __future__ import annotations

__all__ = ["MeterWatch"]

import uuid
from typing import Any

from agent.notices import AlarmNotice
from agent.payloads import quantity
from limits.meter_watch import MeterFrozen, MeterSample, MeterWatchState, evaluate


class MeterWatch:
    def __init__(self, frozen_after_s: float) -> None:
        self.frozen_after_s = frozen_after_s
        self.state = MeterWatchState()
        self._alarm_id: str | None = None

    def observe(self, device: str, sample: MeterSample, procedure_id: str | None) -> list[AlarmNotice]:
        self.state, events = evaluate(self.state, sample, self.frozen_after_s)
        notices = []
        for event in events:
            details: dict[str, Any] = {
                "device": device,
                "seconds_without_increase": round(event.seconds_without_increase, 2),
                "last_kap": quantity(event.last_kap_gy_cm2, "Gy·cm²"),
                "frozen_after_s": self.frozen_after_s,
                "procedure_id": procedure_id,
            }
            if isinstance(event, MeterFrozen):
                self._alarm_id = str(uuid.uuid4())
                details["evidence"] = list(event.evidence)
                message = (
                    f"Dose is not being measured: the beam is on but {device} has not counted any dose "
                    f"for {event.seconds_without_increase:.0f} s (meter frozen or chamber disconnected?)"
                )
                notices.append(
                    AlarmNotice(self._alarm_id, "dose_meter_frozen", "raised", "high", message, details)
                )
            else:
                alarm_id, self._alarm_id = self._alarm_id or str(uuid.uuid4()), None
                details["reason"] = event.reason
                why = "counting dose again" if event.reason == "kap_increased" else "beam off"
                message = f"{device} dose meter: {why}"
                notices.append(
                    AlarmNotice(alarm_id, "dose_meter_frozen", "cleared", "high", message, details)
                )
        return notices
