"""Report by exception for routine readings (issue 17; docs/decisions.md §14, docs/store.md).

An idle device polled at 10 Hz sends the same values ten times a second: each one a commit and an
MQTT message. With `[store] report_deadband` > 0 a reading is stored and published only when
- a value moved by more than the deadband (a fraction of the last *reported* value; any move away
  from zero, any change of a flag such as `beam_on`), or its status changed, or
- `[store] report_max_interval_s` passed since the device's last reported reading (a heartbeat: a
  consumer still sees the device is alive and what it reads), or
- the caller forces it: beam-on, an alarm active, the reading raised an alarm or a record, or it
  was implausible (agent/pipeline.py decides).
Every reading is still judged by the monitors: only the routine `reading/<device>` message is left
out, never an alarm or a record, so no dose record is lost. Left-out readings are counted.
"""

from __future__ import annotations

__all__ = ["ReportFilter"]

from drivers.model import Reading


class ReportFilter:
    def __init__(self, deadband: float, max_interval_s: float) -> None:
        self.deadband = deadband  # 0: every reading is reported
        self.max_interval_s = max_interval_s
        self._last: dict[str, tuple[float, str, dict[str, float]]] = {}  # device → (t, status, values)

    def report(self, reading: Reading, t_s: float, force: bool) -> bool:
        """Whether this reading is stored and published; remembers it when it is."""
        if self.deadband <= 0:  # off (the default): every reading, nothing to remember
            return True
        values = {m.quantity: m.value for m in reading.measurements}
        status = str(reading.status)
        last = self._last.get(reading.device)
        if not (force or last is None or self._changed(last, t_s, status, values)):
            return False
        self._last[reading.device] = (t_s, status, values)
        return True

    def _changed(
        self, last: tuple[float, str, dict[str, float]], t_s: float, status: str, values: dict[str, float]
    ) -> bool:
        t_last, status_last, values_last = last
        if (
            t_s - t_last >= self.max_interval_s
            or status != status_last
            or values.keys() != values_last.keys()
        ):
            return True
        for quantity, value in values.items():
            before = values_last[quantity]
            if abs(value - before) > self.deadband * abs(before) or (before == 0) != (value == 0):
                return True
        return False
