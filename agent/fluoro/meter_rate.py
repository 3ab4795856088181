"""The KAP rate from the meter's counter (limits/kap_rate.py) and the `meter_rate_mismatch` alarm.

Where a meter gives only cumulative KAP, the rate judged is the counter's change over `window_s`,
so the dose-rate check, the procedure and the frozen-meter watch work (issue 9, finding 3). Where it
gives both, they are compared on every reading; when they disagree for `after_s`,
`meter_rate_mismatch` (warning) is raised once and, while it lasts, the **higher** of the two is
judged. Each reading carries `kap_rate_check` (both rates, their ratio and the time base that fits).
"""

from __future__ import annotations

__all__ = ["MeterRate"]

import uuid
from collections import deque
from typing import Any

from agent.notices import AlarmNotice
from agent.payloads import quantity
from limits.kap_rate import counter_rate, disagree, time_base_fit

MAX_SAMPLES = 512  # bounds the window whatever the poll rate


class MeterRate:
    def __init__(self, window_s: float, floor_gy_cm2_min: float, time_base_s: float, after_s: float) -> None:
        self.window_s = window_s
        self.floor = floor_gy_cm2_min
        self.time_base_s = time_base_s
        self.after_s = after_s
        self._window: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)
        self._reported: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)
        self._since: float | None = None
        self._alarm_id: str | None = None
        self.check: dict[str, Any] | None = None

    @property
    def mismatch(self) -> bool:
        return self._alarm_id is not None

    def forget(self) -> None:
        """The counter was taken up again after implausible values: no step across the break."""
        self._window.clear()
        self._reported.clear()

    def observe(
        self, device: str, t_s: float, kap: float, reported: float | None
    ) -> tuple[float | None, list[AlarmNotice]]:
        """The counter's rate (Gy·cm²/min, None until two samples) and any alarm notices."""
        if self._window and kap < self._window[-1][1]:
            self._window.clear()  # a reset or wrap: start again
        self._window.append((t_s, kap))
        if reported is not None:
            self._reported.append((t_s, reported))
        for window in (self._window, self._reported):
            while window and t_s - window[0][0] > self.window_s:
                window.popleft()
        derived = counter_rate(self._window)
        self.check = None
        if derived is None or reported is None or not self._reported:
            return derived, []
        # A pulsed beam makes the displayed rate spiky: compare its mean over the same window.
        reported = sum(r for _, r in self._reported) / len(self._reported)
        ratio = derived / reported if reported > 0 else None
        self.check = {
            "reported": quantity(reported, "Gy.cm2/min"),
            "from_counter": quantity(derived, "Gy.cm2/min"),
            "ratio": None if ratio is None else round(ratio, 3),
            "time_base_fit": "none" if ratio is None else time_base_fit(ratio, self.time_base_s),
        }
        return derived, self._judge(device, t_s, disagree(reported, derived, self.floor))

    def _judge(self, device: str, t_s: float, differ: bool) -> list[AlarmNotice]:
        if not differ:
            self._since = None
            if self._alarm_id is None:
                return []
            alarm_id, self._alarm_id = self._alarm_id, None
            message = f"{device}: reported KAP rate and KAP counter agree again"
            return [
                AlarmNotice(
                    alarm_id, "meter_rate_mismatch", "cleared", "warning", message, {"device": device}
                )
            ]
        self._since = t_s if self._since is None else self._since
        if self._alarm_id is not None or t_s - self._since < self.after_s:
            return []
        self._alarm_id = str(uuid.uuid4())
        check = self.check or {}
        message = (
            f"{device}: the KAP rate it reports ({check['reported']['value']:g} Gy·cm²/min) disagrees "
            f"with its KAP counter ({check['from_counter']['value']:g} Gy·cm²/min): the higher is judged"
        )
        details = {"device": device, **check, "configured_time_base_s": self.time_base_s}
        return [AlarmNotice(self._alarm_id, "meter_rate_mismatch", "raised", "warning", message, details)]
