"""The live view a radiographer glances at: dose rate, cumulative KAP, alarm, broker and store state.

On a terminal it redraws one status line in place, cut to the terminal's width (the least
important parts go first, the dose rate and the alarm stay), and prints alarms, notes and the log's
own lines as lines of their own above it — never glued onto it. Elsewhere (logs, CI) it prints a
status line every `every_s` seconds and every alarm.
"""

from __future__ import annotations

__all__ = ["Console"]

import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from agent.fluoro.monitor import FluoroMonitor
from agent.hotlab.view import status_text as hotlab_status
from agent.notices import AlarmNotice
from agent.pipeline import Pipeline

log = logging.getLogger(__name__)
RED, GREEN, YELLOW, BOLD, RESET = "\033[41;97m", "\033[32m", "\033[33m", "\033[1m", "\033[0m"
ANSI = re.compile(r"\033\[[0-9;]*[A-Za-z]")
SEP = "  |  "


def visible_len(text: str) -> int:
    return len(ANSI.sub("", text))


def join(texts: list[str]) -> str:
    """Parts separated by `SEP`; a part in parentheses stays with the one before it."""
    line = ""
    for text in texts:
        line += (" " if text.startswith("(") else SEP) + text if line else text
    return line


def fit(parts: list[tuple[int, str]], width: int) -> str:
    """Join (priority, text) parts within `width` columns: drop the lowest priority (the last
    among equals) until the line fits, then cut the plain text of the last part kept."""
    kept = list(parts)
    while len(kept) > 1 and visible_len(join([t for _, t in kept])) > width:
        lowest = min(p for p, _ in kept)
        index = max(i for i, (p, _) in enumerate(kept) if p == lowest)
        kept.pop(index)
    line = join([t for _, t in kept])
    if visible_len(line) > width:
        line = ANSI.sub("", line)[: max(width - 1, 0)] + "…"
    return line


def terminal_width(out: TextIO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


class _AboveStatus:
    """A stream for the log's handlers while the status line is on screen: each complete line is
    written above the status line (which is then redrawn), never glued onto its end."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self.console.above(line)
        return len(text)

    def flush(self) -> None:
        pass


def procedure_text(fluoro: FluoroMonitor) -> list[str]:
    """The open procedure's running totals (agent/fluoro/procedure.py), or nothing between procedures."""
    current, totals = fluoro.procedure.current, fluoro.procedure.totals()
    if current is None:
        return []
    return [
        f"procedure Ka,r {totals['kar']:.1f} mGy, fluoro {totals['fluoro_time']:.0f} s, "
        f"{current.acquisition_count} acq, PSD est. {totals['psd']:.1f} mGy"
    ]


class Console:
    def __init__(
        self,
        pipeline: Pipeline,
        status: Callable[[], str],
        out: TextIO = sys.stdout,
        every_s: float = 1.0,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.status = status
        self.out = out
        self.tty = out.isatty()
        self.every_s = every_s
        self.width = width or (lambda: terminal_width(out))
        self.shown = ""  # the status line on screen (tty), redrawn after every line above it
        pipeline.alarm_listeners.append(self.alarm)

    def _paint(self, text: str, colour: str) -> str:
        return f"{colour}{text}{RESET}" if self.tty else text

    def line(self) -> str:
        """The whole status line (what a log gets); `fitted()` cuts it to the terminal."""
        return join([text for _, text in self.parts()])

    def fitted(self) -> str:
        return fit(self.parts(), self.width() - 1) if self.tty else self.line()

    def parts(self) -> list[tuple[int, str]]:
        """(priority, text): 3 dose rate and alarm, 2 mode and hot-lab well, 1 totals, 0 link and store."""
        fluoro = self.pipeline.fluoro
        parts: list[tuple[int, str]] = []
        if fluoro is not None:
            level = fluoro.table.for_mode(fluoro.mode)
            limit = f" / {level.rate_mgy_min:g}" if level else ""
            beam = self._paint("BEAM ON ", YELLOW) if fluoro.beam_on else "beam off"
            source = "mode input" if fluoro.mode_source == "mode_input" else fluoro.mode_source.split("_")[0]
            mode = f"{fluoro.mode} from {source}{'' if level else ', not judged'}"
            parts.append((3, f"{beam}  dose rate {fluoro.esak_rate_mgy_min:6.1f}{limit} mGy/min"))
            parts.append((2, f"({mode})"))
            parts.append((1, f"KAP {fluoro.kap_total_gy_cm2:8.3f} Gy·cm²"))
            parts += [(1, text) for text in procedure_text(fluoro)]
        if self.pipeline.hotlab is not None:
            parts.append((2, hotlab_status(self.pipeline.hotlab.live)))
        active = list(self.pipeline.active_alarms.values())
        if active:
            # the most severe one (the newest among equals), not merely the newest: a store warning
            # must not hide a dose-rate alarm
            shown = max(enumerate(active), key=lambda ia: (ia[1].severity == "high", ia[0]))[1]
            more = f" (+{len(active) - 1})" if len(active) > 1 else ""
            parts.append((3, self._paint(f" ALARM: {shown.alarm_type}{more} ", RED)))
        else:
            parts.append((3, self._paint("no alarm", GREEN)))
        parts.append((0, self.status()))
        return parts

    def above(self, text: str) -> None:
        """A line of its own: on a terminal, above the status line, which is redrawn under it."""
        if self.tty:
            self.out.write(f"\r\033[K{text}\n{self.shown}")
        else:
            self.out.write(f"{text}\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self.above(self._paint(text, BOLD))

    def alarm(self, notice: AlarmNotice) -> None:
        if notice.state == "raised":
            self.above(self._paint(f"!! ALARM  {notice.message}", RED + BOLD))
        elif notice.state == "acknowledged":  # seen, still active: not "cleared"
            by = notice.details.get("acknowledged_by", "")
            self.above(self._paint(f"   acknowledged by {by}: {notice.message}", BOLD))
        else:
            self.above(self._paint(f"   cleared {notice.message}", GREEN))

    @contextmanager
    def _log_above(self) -> Iterator[None]:
        """While the status line is on a terminal, the log's terminal handlers write above it."""
        swapped = []
        if self.tty:
            for handler in logging.getLogger().handlers:
                stream = getattr(handler, "stream", None)
                if isinstance(handler, logging.StreamHandler) and stream is not None and stream.isatty():
                    swapped.append((handler, handler.setStream(_AboveStatus(self))))
        try:
            yield
        finally:
            for handler, stream in swapped:
                handler.setStream(stream)

    async def run(self, stop: asyncio.Event) -> None:
        with self._log_above():
            await self._run(stop)

    async def _run(self, stop: asyncio.Event) -> None:
        interval = 0.25 if self.tty else self.every_s
        while not stop.is_set():
            try:
                text = self.fitted()
            except Exception as exc:  # a broken view must say so, not freeze on its last good line
                log.exception("live view failed")
                text = self._paint(f" LIVE VIEW ERROR ({type(exc).__name__}): see the log ", RED)
            try:
                self.shown = text if self.tty else ""
                self.out.write(("\r\033[K" + text) if self.tty else (text + "\n"))
                self.out.flush()
            except OSError:
                log.exception("live view output failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
        if self.tty:
            self.shown = ""
            self.out.write("\n")
