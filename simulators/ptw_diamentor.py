"""PTW DIAMENTOR simulator: speaks the driver's own codec (drivers/ptw_diamentor.py) on a pty.

It integrates a scripted procedure into cumulative DAP and irradiation time on its own monotonic
clock, and answers `PTW`, `SER`, `U`, `U<n>`, `M`, `RES`, `TST`, `PRE`, `TMPA`, `BR<n>`; a host at another
speed than `baudrate` reads garbage. Fault knobs, settable at any time
from another thread: `faults.garbage` (that many next replies are preceded by a line of junk
bytes), `faults.error` (the next `M` gets this E-code), `faults.silent` (no replies at all),
`faults.dap` / `faults.dap_rate` / `faults.irradiation_s` (every `M` reply sends this number, in the
meter's unit, instead of the true one — absurd frames such as 1e30 or -5; None = the true value),
and `unplug()`.
"""

from __future__ import annotations

__all__ = ["DiamentorFaults", "DiamentorSimulator"]

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import FrameError
from drivers.ptw_diamentor_codec import DAP_UNITS, decode_line, encode_command, format_measurement
from simulators.procedure import Procedure
from simulators.pty_device import PtyDevice

JUNK = bytes([0x00, 0xFF, 0x13, 0x7F, 0x80, 0x1B]) + b"\r\n"


@dataclass
class DiamentorFaults:
    garbage: int = 0
    error: str | None = None
    silent: bool = False
    dap: float | None = None  # sent instead of the integrated DAP (meter unit)
    dap_rate: float | None = None  # sent instead of the displayed rate (meter unit per second)
    irradiation_s: float | None = None  # sent instead of the irradiation time


class DiamentorSimulator:
    def __init__(
        self,
        procedure: Procedure,
        unit_code: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
        firmware: str = "CRS 2.33",
        serial_number: str = "345678",
    ) -> None:
        self.procedure = procedure
        self.unit = DAP_UNITS[unit_code]
        self._monotonic = monotonic
        self.firmware = firmware
        self.serial_number = serial_number
        self.faults = DiamentorFaults()
        self._lock = threading.Lock()
        self._t0 = monotonic()
        self._t_last = self._t0
        self.dap_gy_cm2 = 0.0
        self.irradiation_s = 0.0
        self.requests = 0
        self.pressure_hpa = 1013.2
        self.temperature_c = 22.5
        self.baudrate = 9600  # the meter's own speed; replies are garbled if the host differs
        self.pty = PtyDevice(self.handle)

    # ------------------------------------------------------------ device model

    def restart_procedure(self) -> None:
        with self._lock:
            self._t0 = self._t_last = self._monotonic()

    def _advance(self) -> float:
        """Integrate the script up to now; return the KAP rate the meter displays now (Gy·cm²/min)."""
        now = self._monotonic()
        step = 0.05
        t = self._t_last
        while t < now:
            dt = min(step, now - t)
            rate = self.procedure.kap_rate_at(t - self._t0)
            self.dap_gy_cm2 += rate * dt / 60.0
            if rate > 0:
                self.irradiation_s += dt
            t += dt
        self._t_last = now
        return self.procedure.displayed_rate_at(now - self._t0)

    def respond(self, command: str) -> str | None:
        with self._lock:
            self.requests += 1
            if command == "PTW":
                return self.firmware
            if command == "SER":
                return f"SER{self.serial_number}"
            if command == "U":
                return f"U{self.unit.code}"
            if command == "TST":
                return ""
            if command in ("U1", "U2", "U3", "U4"):
                self.unit = DAP_UNITS[int(command[1])]
                return command
            if command == "PRE":
                return f"PRE{self.pressure_hpa:.1f}"
            if command == "TMPA":
                return f"TMPA{self.temperature_c:.1f}"
            if command in ("BR0", "BR1", "BR2", "BR3", "BR4"):
                self.baudrate = (9600, 19200, 38400, 57600, 115200)[int(command[2])]
                return command
            if command == "RES":
                self._advance()
                self.dap_gy_cm2 = 0.0
                self.irradiation_s = 0.0
                return "RES"
            if command == "M":
                rate_gy_cm2_min = self._advance()
                if self.faults.error is not None:
                    code, self.faults.error = self.faults.error, None
                    return code
                to_unit = 1.0 / self.unit.to_gy_cm2
                f = self.faults
                return format_measurement(
                    self.dap_gy_cm2 * to_unit if f.dap is None else f.dap,
                    rate_gy_cm2_min / 60.0 * to_unit if f.dap_rate is None else f.dap_rate,  # per second
                    int(self.irradiation_s if f.irradiation_s is None else f.irradiation_s),
                )
            return "E1"

    def handle(self, buffer: bytes) -> tuple[int, list[bytes]]:
        """Feed what the host sent; return (consumed, replies). Same codec as the driver."""
        try:
            consumed, command = decode_line(buffer)
        except FrameError as exc:
            return exc.consumed, [encode_command("E1")]
        if consumed == 0 or command is None:
            return consumed, []
        reply = self.respond(command)
        if reply is None or self.faults.silent:
            return consumed, []
        replies = [encode_command(reply)]
        host_baud = self.pty.host_baudrate()
        if host_baud is not None and host_baud != self.baudrate and not command.startswith("BR"):
            replies = [bytes(((b * 7) | 0x80) & 0xFF for b in r) for r in replies]  # baud mismatch
        if self.faults.garbage > 0:
            self.faults.garbage -= 1
            replies.insert(0, JUNK)
        return consumed, replies

    # ------------------------------------------------------------ pty

    def start(self) -> str:
        self.restart_procedure()
        return self.pty.start()

    @property
    def path(self) -> str:
        return self.pty.path

    def unplug(self) -> None:
        self.pty.unplug()

    stop = unplug
