"""Capintec CRC-25R simulator: the firmware's PC protocol on a pty, driven by an ActivitySource.

Speaks the driver's codec (drivers/capintec_codec.py): `@` → `$O#`, then one framed command → one
reply. A frame not preceded by `@` gets `e0`, as on the instrument. Answers `R<n>`, `S` (with the
firmware's wrong length and checksum), `G`, `d`, `I<ch><key>`, `M<ch>`, and the accuracy-test
reads `s<n>` / `a<n>` (drivers/capintec_accuracy.py) from `accuracy_sources` and
`accuracy_results`; anything else `e2`.

Fault knobs beyond SerialFaults (simulators/serial_sim.py): `frozen` (replies `BR`),
`zero_test_mv` (unit digit 7 with that many mV), `daily_ok`. `faults.error` is an `e<code>`
reply to the next command; `faults.over_range` forces unit digit 0.
"""

from __future__ import annotations

__all__ = ["CapintecSimulator"]

import threading
import time
from collections.abc import Callable

from core.errors import FrameError
from drivers.capintec_accuracy import format_accuracy_measurement, format_accuracy_source
from drivers.capintec_codec import (
    ACK,
    decode_frame,
    device_nuclide_name,
    encode_frame,
    format_activity,
    format_error,
    format_reading,
    format_serial,
)
from simulators.activity_source import ActivitySource, demo_source
from simulators.serial_sim import SerialSimulator


class CapintecSimulator(SerialSimulator):
    def __init__(
        self,
        source: ActivitySource | None = None,
        chamber_types: str = "RNNNNNNNNN",
        si_units: bool = True,
        serial_number: str = "251234",
        monotonic: Callable[[], float] = time.monotonic,
        keys: dict[int, str] | None = None,
    ) -> None:
        super().__init__()
        self.source = source or demo_source()
        self.chamber_types = chamber_types.ljust(10, "N")[:10]
        self.si_units = si_units
        self.serial_number = serial_number
        self._monotonic = monotonic
        self._t0 = monotonic()
        self.keys = keys or {1: "Tc-99m", 2: "F-18", 3: "I-131", 4: "Cs-137"}
        self.selected: dict[int, str] = {}
        self.main_chamber = 1
        self.frozen = False
        self.zero_test_mv: float | None = None
        self.daily_ok = True
        # Accuracy test (main chamber): source n → (serial, nuclide, reference MBq, constancy source)
        # and n → (measured MBq, variation %) once "measured" on the calibrator.
        self.accuracy_sources: dict[int, tuple[str, str, float, bool]] = {
            1: ("CS-1234", "Cs-137", 7.4, True),
            2: ("CO-5678", "Co-57", 185.0, False),
        }
        self.accuracy_results: dict[int, tuple[float, float]] = {}
        self._armed = False
        self._lock = threading.Lock()

    def start(self, link: str | None = None) -> str:
        self._t0 = self._monotonic()
        return super().start(link)

    def restart_source(self) -> None:
        """Time zero of the ActivitySource is now (a scripted session starts when the demo is ready)."""
        self._t0 = self._monotonic()

    def source_time_s(self) -> float:
        return self._monotonic() - self._t0

    def device_reply(self, buffer: bytes) -> tuple[int, list[bytes]]:
        if buffer[:1] == b"@":
            self._armed = True
            return 1, [ACK]
        marks = [i for i in (buffer.find(b"@"), buffer.find(b"$")) if i >= 0]
        first = min(marks) if marks else len(buffer)
        if first > 0:
            return first, []  # line noise before '@' or '$' is dropped, as the firmware does
        try:
            consumed, frame = decode_frame(buffer)
        except FrameError as exc:
            self._armed = False
            return exc.consumed, [format_error("1")]
        if frame is None:
            return 0, []
        if not self._armed:
            return consumed, [format_error("0")]
        self._armed = False
        return consumed, [self.respond(frame.payload)]

    def respond(self, command: bytes) -> bytes:
        with self._lock:
            self.requests += 1
            if self.faults.error is not None:
                code, self.faults.error = self.faults.error, None
                return format_error(code)
            text = command.decode("latin-1")
            head = text[:1]
            if head == "R" and len(text) == 2:
                return self._read(text[1])
            if head == "S" and len(text) == 1:
                return format_serial(self.serial_number)
            if head == "G" and len(text) == 1:
                return encode_frame(b"DG" + self.chamber_types.encode())
            if head == "d" and len(text) == 1:
                return encode_frame(b"Dd" + (b"G" if self.daily_ok else b"B"))[:-1] + b" #"
            if head == "I" and len(text) == 3:
                if not self._exists(text[1]):
                    return format_error("4")
                nuclide = self.keys.get(int(text[2])) if text[2].isdigit() else None
                if nuclide is None:
                    return format_error("5")
                self.selected[int(text[1])] = nuclide
                return encode_frame(b"D" + command)
            if head == "M" and len(text) == 2:
                if not self._exists(text[1]):
                    return format_error("4")
                self.main_chamber = int(text[1])
                return encode_frame(b"D" + command)
            if head in "sa" and len(text) == 2 and text[1] in "12345":
                return self._accuracy(head, int(text[1]))
            if head in "RSGdIMsa":
                return format_error("3")
            return format_error("2")

    def _accuracy(self, head: str, number: int) -> bytes:
        if head == "s":
            if number not in self.accuracy_sources:
                return format_accuracy_source(number, "", "", "", "", False)
            serial, nuclide, activity_mbq, constancy = self.accuracy_sources[number]
            text, unit = format_activity(activity_mbq, self.si_units)
            name = device_nuclide_name(nuclide)
            return format_accuracy_source(number, serial, name, text.strip(), unit, constancy)
        if number not in self.accuracy_results:
            return format_accuracy_measurement(number)
        measured_mbq, variation_pct = self.accuracy_results[number]
        text, unit = format_activity(measured_mbq, self.si_units)
        return format_accuracy_measurement(number, text, unit, f"{variation_pct:+.1f}")

    def _exists(self, digit: str) -> bool:
        return digit.isdigit() and 1 <= int(digit) <= 8 and self.chamber_types[int(digit) - 1] != "N"

    def _read(self, digit: str) -> bytes:
        if not self._exists(digit):
            return format_error("4")
        chamber = int(digit)
        nuclide, activity_mbq, over_range = self.source.reading_at(self.source_time_s(), chamber)
        shown = device_nuclide_name(self.selected.get(chamber, nuclide))
        if over_range or self.faults.over_range:
            return format_reading(chamber, shown, "", "0", self.frozen)
        if self.zero_test_mv is not None:
            return format_reading(chamber, shown, f"{self.zero_test_mv:.2f}", "7", self.frozen)
        text, unit = format_activity(activity_mbq, self.si_units)
        return format_reading(chamber, shown, text, unit, self.frozen)

    def corrupt(self, reply: bytes) -> bytes:
        """Bad checksum: change the checksum byte, keep the frame intact."""
        if reply.startswith(b"$") and len(reply) > 4 and reply[1:2] not in (b"e", b"O"):
            cs = reply[-2]
            return reply[:-2] + bytes([0x26 + (cs - 0x26 + 1) % 0x59]) + b"#"
        return reply  # the handshake `$O#` and error frames carry no checksum
