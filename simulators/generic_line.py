"""Simulators for profile-driven instruments, framing with the driver's own LineCodec.

- `AtomlabSimulator`: a Biodex Atomlab 500 answering `^C` (or `1`) + CR with one report line in
  the layout the `atomlab500` profile assumes, from an ActivitySource.
- `DapLineSimulator`: the `dap-ascii-example` profile's multi-drop DAP meters; one instance is a
  whole RS-485 line with several meters (`meters={"01": procedure, "02": …}`), each answering
  only `#<its address>M`. Over-range is `<addr>:OVR`, `faults.error` answers `<addr>:ERR<code>`.
"""

from __future__ import annotations

__all__ = ["AtomlabSimulator", "DapLineSimulator"]

import threading
import time
from collections.abc import Callable

from core.errors import FrameError
from drivers.framing import split_line
from drivers.generic_line import LineCodec
from drivers.profile import load_profile
from simulators.activity_source import ActivitySource, demo_source
from simulators.procedure import Procedure, Segment
from simulators.serial_sim import SerialSimulator


class AtomlabSimulator(SerialSimulator):
    baudrate = 19200

    def __init__(
        self, source: ActivitySource | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.codec = LineCodec(load_profile("atomlab500"))
        self.source = source or demo_source()
        self._monotonic = monotonic
        self._t0 = monotonic()

    def start(self, link: str | None = None) -> str:
        self._t0 = self._monotonic()
        return super().start(link)

    def device_reply(self, buffer: bytes) -> tuple[int, list[bytes]]:
        end = buffer.find(b"\r")
        if end < 0:
            return (len(buffer), []) if len(buffer) > 64 else (0, [])
        command = buffer[:end].strip(b"\n")
        self.requests += 1
        if command not in (b"\x03", b"1"):
            return end + 1, [self.codec.encode("ERR CMD")]
        if self.faults.error is not None:
            code, self.faults.error = self.faults.error, None
            return end + 1, [self.codec.encode(f"ERR{code}")]
        nuclide, activity_mbq, over_range = self.source.reading_at(self._monotonic() - self._t0, 1)
        if over_range or self.faults.over_range:
            return end + 1, [self.codec.encode(f"{nuclide:<8} OVER")]
        value, unit = (activity_mbq / 1000, "GBq") if activity_mbq >= 1000 else (activity_mbq, "MBq")
        return end + 1, [self.codec.encode(f"{nuclide:<8} {value:8.3f} {unit}")]


class DapLineSimulator(SerialSimulator):
    def __init__(
        self,
        meters: dict[str, Procedure] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.codec = LineCodec(load_profile("dap-ascii-example"))
        self.meters = meters or {"01": Procedure((Segment(3600, 3.0),))}
        self._monotonic = monotonic
        self._t0 = self._last = monotonic()
        self.kap_gy_cm2 = dict.fromkeys(self.meters, 0.0)
        self.served: dict[str, int] = dict.fromkeys(self.meters, 0)
        self._lock = threading.Lock()

    def device_reply(self, buffer: bytes) -> tuple[int, list[bytes]]:
        try:
            consumed, line = split_line(buffer, b"\r\n", 128)
        except FrameError as exc:
            return exc.consumed, []
        if line is None:
            return consumed, []
        text = line.decode("latin-1")
        address = text[1:3]
        if not (text.startswith("#") and text.endswith("M") and address in self.meters):
            return consumed, []  # not for a meter on this line: silence, as on RS-485
        self.requests += 1
        return consumed, [self.codec.encode(self.respond(address))]

    def respond(self, address: str) -> str:
        with self._lock:
            now = self._monotonic()
            for name, procedure in self.meters.items():
                rate = procedure.kap_rate_at(now - self._t0)
                self.kap_gy_cm2[name] += rate * (now - self._last) / 60.0
            self._last = now
            self.served[address] += 1
            if self.faults.error is not None:
                code, self.faults.error = self.faults.error, None
                return f"{address}:ERR{code}"
            if self.faults.over_range:
                return f"{address}:OVR"
            rate_gy_cm2_min = self.meters[address].kap_rate_at(now - self._t0)
            # µGy·m² = 0.01 Gy·cm²; the meter's rate is per second
            kap_ugy_m2 = self.kap_gy_cm2[address] * 100
            return f"{address}:{kap_ugy_m2:.2f} uGym2,{rate_gy_cm2_min * 100 / 60:.3f} uGym2/s*"
