"""The live view a radiographer glances at: dose rate, cumulative KAP, alarm, broker and store state.

On a terminal it redraws one status line in place and prints alarms as lines of their own, in
colour; elsewhere (logs, CI) it prints a status line every `every_s` seconds and every alarm.
"""

from __future__ import annotations

__all__ = ["Console"]

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import TextIO

from agent.fluoro.monitor import FluoroMonitor
from agent.hotlab.view import status_text as hotlab_status
from agent.notices import AlarmNotice
from agent.pipeline import Pipeline

log = logging.getLogger(__name__)
RED, GREEN, YELLOW, BOLD, RESET = "\033[41;97m", "\033[32m", "\033[33m", "\033[1m", "\033[0m"


def procedure_text(fluoro: FluoroMonitor) -> list[str]:
    """The open procedure's running totals (agent/fluoro/procedure.py), or nothing between procedures."""
    current, totals = fluoro.procedure.current, fluoro.procedure.totals()
    if current is None:
        return []
    return [
        f"procedure Ka,r {totals['kar']:.1f} mGy, fluoro {totals['fluoro_time']:.0f} s, "
        f"{current.acquisition_count} acq, PSD ≤ {totals['psd']:.1f} mGy"
    ]


class Console:
    def __init__(
        self,
        pipeline: Pipeline,
        status: Callable[[], str],
        out: TextIO = sys.stdout,
        every_s: float = 1.0,
    ) -> None:
        self.pipeline = pipeline
        self.status = status
        self.out = out
        self.tty = out.isatty()
        self.every_s = every_s
        pipeline.alarm_listeners.append(self.alarm)

    def _paint(self, text: str, colour: str) -> str:
        return f"{colour}{text}{RESET}" if self.tty else text

    def line(self) -> str:
        fluoro = self.pipeline.fluoro
        parts = []
        if fluoro is not None:
            level = fluoro.table.for_mode(fluoro.mode)
            limit = f" / {level.rate_mgy_min:g}" if level else ""
            beam = self._paint("BEAM ON ", YELLOW) if fluoro.beam_on else "beam off"
            mode = f"{fluoro.mode} from {fluoro.mode_source.split(' ')[0]}{'' if level else ', not judged'}"
            parts.append(f"{beam}  dose rate {fluoro.esak_rate_mgy_min:6.1f}{limit} mGy/min ({mode})")
            parts.append(f"KAP {fluoro.kap_total_gy_cm2:8.3f} Gy·cm²")
            parts += procedure_text(fluoro)
        if self.pipeline.hotlab is not None:
            parts.append(hotlab_status(self.pipeline.hotlab.live))
        active = list(self.pipeline.active_alarms.values())
        if active:
            # the most severe one (the newest among equals), not merely the newest: a store warning
            # must not hide a dose-rate alarm
            shown = max(enumerate(active), key=lambda ia: (ia[1].severity == "high", ia[0]))[1]
            more = f" (+{len(active) - 1})" if len(active) > 1 else ""
            parts.append(self._paint(f" ALARM: {shown.alarm_type}{more} ", RED))
        else:
            parts.append(self._paint("no alarm", GREEN))
        parts.append(self.status())
        return "  |  ".join(parts)

    def alarm(self, notice: AlarmNotice) -> None:
        if notice.state == "raised":
            text = self._paint(f"!! ALARM  {notice.message}", RED + BOLD)
        elif notice.state == "acknowledged":  # seen, still active: not "cleared"
            by = notice.details.get("acknowledged_by", "")
            text = self._paint(f"   acknowledged by {by}: {notice.message}", BOLD)
        else:
            text = self._paint(f"   cleared {notice.message}", GREEN)
        prefix = "\r\033[K" if self.tty else ""
        self.out.write(f"{prefix}{text}\n")
        self.out.flush()

    async def run(self, stop: asyncio.Event) -> None:
        interval = 0.25 if self.tty else self.every_s
        while not stop.is_set():
            try:
                text = self.line()
            except Exception as exc:  # a broken view must say so, not freeze on its last good line
                log.exception("live view failed")
                text = self._paint(f" LIVE VIEW ERROR ({type(exc).__name__}): see the log ", RED)
            try:
                self.out.write(("\r\033[K" + text) if self.tty else (text + "\n"))
                self.out.flush()
            except OSError:
                log.exception("live view output failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
        if self.tty:
            self.out.write("\n")
