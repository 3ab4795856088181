"""The terminal view (agent/console.py): one status line that fits the terminal, and every other
line — alarms, notes, the log's own lines — on a line of its own above it, never glued onto it."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from pathlib import Path

from agent.config import parse_config
from agent.console import Console, fit, visible_len
from agent.notices import AlarmNotice
from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\033\[[0-9;]*[A-Za-z]")


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def pipeline(tmp_path: Path) -> Pipeline:
    config = parse_config((ROOT / "config" / "demo.toml").read_text())
    return Pipeline(config, Outbox(tmp_path / "o.sqlite"), FakeClock(), lambda: None)


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows: `\\r` returns to the line start, `\\033[K` erases what follows."""
    lines = []
    for line in raw.split("\n"):
        lines.append(ANSI.sub("", line.split("\r")[-1]))
    return lines


def test_the_status_line_fits_an_80_column_terminal_and_keeps_rate_and_alarm(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    status = "BROKER DOWN, STORE UNAVAILABLE: IN MEMORY ONLY, 12345 unsent"
    console = Console(p, lambda: status, FakeTty(), width=lambda: 80)
    p.store([p.alarm_message(AlarmNotice("a1", "fluoro_dose_rate", "raised", "high", "over"))])
    full = console.line()
    assert visible_len(full) > 80  # the whole line would wrap
    shown = console.fitted()
    assert visible_len(shown) <= 79
    assert "dose rate" in shown and "ALARM: fluoro_dose_rate" in shown
    assert "\033[41;97m" in shown  # the alarm keeps its colour


def test_fit_cuts_a_single_part_that_is_too_long() -> None:
    assert fit([(3, "x" * 200)], 40) == "x" * 39 + "…"
    assert fit([(0, "low"), (3, "high")], 8) == "high"


def test_log_lines_go_above_the_status_line_not_onto_it(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    out = FakeTty()
    console = Console(p, lambda: "broker up, 0 unsent", out)
    handler = logging.StreamHandler(out)  # the log on the same terminal
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(console.run(stop))
        for _ in range(200):  # until the status line is on screen
            if "no alarm" in out.getvalue():
                break
            await asyncio.sleep(0.01)
        logging.getLogger("test").warning("a log line while the status line is shown")
        console.note("Operator view: http://localhost:8080/")
        stop.set()
        await asyncio.wait_for(task, 5)

    try:
        asyncio.run(run())
    finally:
        root.removeHandler(handler)
    lines = screen_lines(out.getvalue())
    assert "WARNING a log line while the status line is shown" in lines
    assert "Operator view: http://localhost:8080/" in lines
    assert handler.stream is out  # given back when the view stops
