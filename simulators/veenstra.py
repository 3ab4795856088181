"""Veenstra simulators on a pty, sharing drivers/veenstra.py's codec, driven by an ActivitySource.

`Vik202Simulator` answers `!GV`, `!F<code>` (`>OK`, or `>ERR` for an unknown code), `!R` (activity
in Bq of chamber 1); anything else `>ERR`. `faults.error` replaces the next reply's body;
`faults.over_range` answers `!R` with `>OVER`.
`Vdc404Simulator` streams `Tc-99m:123.45 MBq` lines every `period_s` from its own thread once
started; the fault knobs apply to each line.
"""

from __future__ import annotations

__all__ = ["Vdc404Simulator", "Vik202Simulator"]

import threading
import time
from collections.abc import Callable

from core.errors import FrameError
from drivers.veenstra import FACTORS, format_activity_bq, format_reply, format_stream_line, split_reply
from simulators.activity_source import ActivitySource, demo_source
from simulators.serial_sim import SerialSimulator


class Vik202Simulator(SerialSimulator):
    def __init__(
        self,
        source: ActivitySource | None = None,
        version: str = "VIK-202 V2.10",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.source = source or demo_source()
        self.version = version
        self.factor_code = 236
        self._monotonic = monotonic
        self._t0 = monotonic()

    def start(self, link: str | None = None) -> str:
        self._t0 = self._monotonic()
        return super().start(link)

    def device_reply(self, buffer: bytes) -> tuple[int, list[bytes]]:
        try:
            consumed, text = split_reply(buffer)
        except FrameError as exc:
            return exc.consumed, [format_reply("ERR")]
        if consumed == 0 or text is None:
            return consumed, []
        self.requests += 1
        if self.faults.error is not None:
            body, self.faults.error = self.faults.error, None
            return consumed, [format_reply(body)]
        return consumed, [self.respond(text)]

    def respond(self, text: str) -> bytes:
        if text == "!GV":
            return format_reply(self.version)
        if text.startswith("!F") and text[2:].isdigit():
            if int(text[2:]) not in FACTORS:
                return format_reply("ERR")
            self.factor_code = int(text[2:])
            return format_reply("OK")
        if text == "!R":
            _, activity_mbq, over_range = self.source.reading_at(self._monotonic() - self._t0, 1)
            if over_range or self.faults.over_range:
                return format_reply("OVER")
            return format_activity_bq(activity_mbq * 1e6)
        return format_reply("ERR")


class Vdc404Simulator(SerialSimulator):
    def __init__(
        self,
        source: ActivitySource | None = None,
        period_s: float = 0.2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.source = source or demo_source()
        self.period_s = period_s
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    def device_reply(self, buffer: bytes) -> tuple[int, list[bytes]]:
        return len(buffer), []  # the VDC-404 ignores what it is sent

    def line(self) -> bytes:
        nuclide, activity_mbq, over_range = self.source.reading_at(self._monotonic() - self._t0, 1)
        if over_range or self.faults.over_range:
            return f"{nuclide}:OVER\r\n".encode()
        return format_stream_line(nuclide, activity_mbq)

    def start(self, link: str | None = None) -> str:
        self._t0 = self._monotonic()
        path = super().start(link)
        self._running.set()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._stream, name="vdc404 stream", daemon=True)
            self._thread.start()
        return path

    def _stream(self) -> None:
        while self._running.is_set():
            self.pty.send(self._handle_stream())
            time.sleep(self.period_s)

    def _handle_stream(self) -> list[bytes]:
        _, replies = self._apply_faults(0, [self.line()])
        return replies

    def stop(self) -> None:
        self._running.clear()
        super().stop()
