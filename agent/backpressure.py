"""Back-pressure from the link to the pollers: when the box cannot publish what it reads, polls
stretch, so what is published stays fresh and the backlog stays bounded (issue 17, docs/performance.md
"Overload").

The backlog is what the agent took in and has not yet sent: readings waiting for the store writer,
plus rows committed since the connection came up that the forwarder has not yet published (while the
broker is down, nothing is "late": every reading is buffered, as the store is for).

Before each poll the poller awaits `admit(device)`. Below `high` it returns at once (two integer
reads). Above it, the poll waits until the backlog is back under `low` (half of `high`) or
`max_hold_s` has passed, whichever is first — so every device is still read at least once per poll
interval + `max_hold_s`, and a device `exempt` says must be read (the fluoroscopy room's instruments
during beam-on) is never held. Every held poll is counted per device, with the time held; the first
hold raises `polls_stretched` (warning) once, and it clears after `clear_after_s` without a hold.

Why a count, not a time: the forwarder publishes oldest first, so the age of the newest reading
published is the backlog divided by the publish rate; with `high` = 1000 and the ~2 700 messages/s this
machine publishes (docs/performance.md), that is ~0.4 s. The backlog is bounded as long as the devices,
each read at least once per interval + `max_hold_s`, produce less than the link can carry.
"""

from __future__ import annotations

__all__ = ["Backpressure", "stretch_notice"]

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

from agent.notices import AlarmNotice

log = logging.getLogger(__name__)
WATCH_S = 0.02  # how often one watcher task looks at the backlog while polls are held


class Backpressure:
    def __init__(
        self,
        backlog: Callable[[], int],
        monotonic: Callable[[], float],
        *,
        high: int,
        max_hold_s: float,
        clear_after_s: float = 30.0,
        exempt: Callable[[str], bool] = lambda device: False,
        on_change: Callable[[bool, str], None] = lambda stretching, detail: None,
    ) -> None:
        self.backlog = backlog
        self.monotonic = monotonic
        self.high = high
        self.low = high // 2
        self.max_hold_s = max_hold_s
        self.clear_after_s = clear_after_s
        self.exempt = exempt
        self.on_change = on_change
        self.holding = False  # the backlog went over `high` and has not come back under `low`
        self.alarmed = False
        self.stretched: Counter[str] = Counter()  # held polls per device
        self.held_s: dict[str, float] = {}  # seconds held per device
        self.peak_backlog = 0
        self._last_hold = 0.0
        self._drained: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def admit(self, device: str) -> None:
        """Awaited before each poll of `device` (agent/poller.py)."""
        if not self.holding:
            backlog = self.backlog()
            if backlog <= self.high:
                self._maybe_clear()
                return
            self._start_holding(backlog)
        if self.exempt(device):
            return
        started = self.monotonic()
        self._last_hold = started
        self.stretched[device] += 1
        if not self.alarmed:
            self.alarmed = True
            self.on_change(True, self._detail(device))
        assert self._drained is not None
        try:
            await asyncio.wait_for(self._drained.wait(), self.max_hold_s)
        except TimeoutError:
            pass
        self.held_s[device] = self.held_s.get(device, 0.0) + self.monotonic() - started
        self._last_hold = self.monotonic()

    def _start_holding(self, backlog: int) -> None:
        self.holding = True
        self.peak_backlog = max(self.peak_backlog, backlog)
        self._drained = asyncio.Event()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        """One task for all held pollers: release them when the backlog is back under `low`."""
        assert self._drained is not None
        while True:
            backlog = self.backlog()
            self.peak_backlog = max(self.peak_backlog, backlog)
            if backlog <= self.low:
                break
            await asyncio.sleep(WATCH_S)
        self.holding = False
        self._drained.set()

    def _maybe_clear(self) -> None:
        if self.alarmed and self.monotonic() - self._last_hold >= self.clear_after_s:
            self.alarmed = False
            self.on_change(False, f"no poll held for {self.clear_after_s:.0f} s")

    def _detail(self, device: str) -> str:
        return (
            f"{self.backlog()} messages not yet published (bound {self.high}); polls of {device} and "
            f"others wait up to {self.max_hold_s:g} s for the link to catch up"
        )

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()

    def health(self) -> dict[str, object]:
        return {
            "holding": self.holding,
            "alarmed": self.alarmed,
            "backlog": self.backlog(),
            "backlog_bound": self.high,
            "peak_backlog": self.peak_backlog,
            "polls_stretched": sum(self.stretched.values()),
            "held_s": round(sum(self.held_s.values()), 3),
            "by_device": {
                device: {"polls": polls, "held_s": round(self.held_s.get(device, 0.0), 3)}
                for device, polls in self.stretched.items()
            },
        }


def stretch_notice(alarm_id: str, stretching: bool, detail: str) -> AlarmNotice:
    """The `polls_stretched` alarm: raised once when polls start to wait for the link, cleared once."""
    if stretching:
        message = (
            "The box cannot publish as fast as it reads: polls are stretched so that what is published "
            f"stays current; alarms and records still go first ({detail})"
        )
    else:
        message = f"Polls keep their interval again ({detail})"
    state = "raised" if stretching else "cleared"
    return AlarmNotice(alarm_id, "polls_stretched", state, "warning", message, {"detail": detail})
