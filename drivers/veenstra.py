"""Veenstra activimeters: VIK-202 (request/response) and VDC-404 (line stream).

Protocol source and confidence (Veenstra VIK-202 / VDC-404 RS-232 descriptions):
- **VIK-202 — medium.** 9600 8N1; commands `!<cmd>` + CR; replies are lines starting with `>`;
  settings answer `>OK`. `!R` → activity in **Bq**; `!F<code>` selects a nuclide factor (`!F236`
  Tc-99m, `!F762` F-18, `!F447` I-131, `!F618` I-123, `!F587` Cs-137); `!GV` software version, the
  safe probe used at connect (`!BOFF` changes background subtraction: never sent). Assumed, not
  documented: the number after `>` may carry a ` Bq` suffix and exponent notation; a reply other
  than a number, `OK` or a version is a device error.
- **VDC-404 — low.** Streams lines at 9600 8N1 such as `Tc-99m:123.45 MBq` (nuclide, colon,
  value, space, unit). Line end assumed CR and/or LF.

Layout: frozen configs, a pure codec (`encode_command`, `split_reply`, `parse_*` and the device-side
`format_*` the simulators use) and two thin drivers over an injected transport.
"""

from __future__ import annotations

__all__ = [
    "FACTORS",
    "STREAM_UNITS_MBQ",
    "Vdc404",
    "Vdc404Config",
    "Vik202",
    "Vik202Config",
    "encode_command",
    "format_activity_bq",
    "format_reply",
    "format_stream_line",
    "parse_activity_bq",
    "parse_stream_line",
    "split_reply",
]

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import DeviceError, FrameError, TransportError
from drivers.capintec_codec import normalise_nuclide
from drivers.checks import polling_problems
from drivers.framing import await_frame, latest_frame
from drivers.model import Measurement, Reading, Status
from drivers.transport import ByteTransport

MAX_LINE = 96
FACTORS = {236: "Tc-99m", 762: "F-18", 447: "I-131", 618: "I-123", 587: "Cs-137"}
STREAM_UNITS_MBQ = {
    "Bq": 1e-6,
    "kBq": 1e-3,
    "MBq": 1.0,
    "GBq": 1e3,
    "uCi": 0.037,
    "µCi": 0.037,
    "mCi": 37.0,
    "Ci": 37000.0,
}


@dataclass(frozen=True)
class Vik202Config:
    name: str
    driver: str
    port: str
    baudrate: int = 9600
    factor_code: int = 236
    poll_interval_s: float = 1.0
    timeout_s: float = 1.0
    lost_after_failures: int = 2

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.baudrate != 9600:
            problems.append(("baudrate", "the VIK-202 runs at 9600 8N1"))
        if self.factor_code not in FACTORS:
            known = ", ".join(f"{c} ({n})" for c, n in FACTORS.items())
            problems.append(("factor_code", f"unknown factor code (known: {known})"))
        return problems + polling_problems(self, poll_interval_s=(0.2, 60))


@dataclass(frozen=True)
class Vdc404Config:
    name: str
    driver: str
    port: str
    baudrate: int = 9600
    poll_interval_s: float = 1.0
    timeout_s: float = 3.0  # the stream's own period decides; allow a few lines' worth
    lost_after_failures: int = 2

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.baudrate != 9600:
            problems.append(("baudrate", "the VDC-404 streams at 9600 8N1"))
        return problems + polling_problems(self, poll_interval_s=(0.1, 60), timeout_s=(0.1, 30))


# ---------------------------------------------------------------- codec (pure, no I/O)


def encode_command(command: str) -> bytes:
    return b"!" + command.encode("ascii") + b"\r"


def split_reply(buffer: bytes) -> tuple[int, str | None]:
    """One CR- and/or LF-terminated line; (n, None) skips an empty one."""
    ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
    if not ends:
        if len(buffer) > MAX_LINE:
            raise FrameError(f"no line end within {MAX_LINE} bytes", consumed=len(buffer))
        return 0, None
    end = min(ends)
    line, consumed = buffer[:end], end + 1
    if len(line) > MAX_LINE or any(b < 0x20 or b > 0x7E for b in line if b != 0xB5):
        raise FrameError(f"bad line {line[:40]!r}", consumed=consumed)
    text = line.decode("latin-1").strip()
    return consumed, (text or None)


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ACTIVITY_RE = re.compile(rf"^>\s*({_NUMBER})\s*(?:Bq)?$")


def parse_reply(text: str) -> str:
    """The text after `>`; FrameError if the line is not a reply."""
    if not text.startswith(">"):
        raise FrameError(f"not a VIK-202 reply: {text[:40]!r}")
    return text[1:].strip()


def parse_activity_bq(text: str) -> float:
    match = _ACTIVITY_RE.match(text)
    if match:
        return float(match.group(1))
    body = parse_reply(text)
    if body == "OK":
        raise FrameError("got >OK where an activity was expected (a stale settings reply)")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 ]{0,15}", body):
        raise FrameError(f"bad reply to !R: {text[:40]!r}")
    raise DeviceError(f"VIK-202 answered {text[:40]!r} to !R", code=body[:16])


def format_reply(body: str) -> bytes:
    return b">" + body.encode("latin-1") + b"\r\n"


def format_activity_bq(activity_bq: float) -> bytes:
    return format_reply(f"{activity_bq:.4E} Bq")


_STREAM_RE = re.compile(
    rf"^(?P<nuclide>[A-Za-z0-9\- ]{{1,10}}):\s*(?:(?P<value>{_NUMBER})\s+(?P<unit>\S+)|(?P<over>OVER))$"
)


def parse_stream_line(text: str) -> tuple[str, float | None, str]:
    """`Tc-99m:123.45 MBq` → (nuclide normalised, value, unit); `Tc-99m:OVER` → value None
    (over-range: assumed spelling, as the simulator writes it)."""
    match = _STREAM_RE.match(text)
    if not match or (match.group("unit") or "MBq") not in STREAM_UNITS_MBQ:
        raise FrameError(f"bad VDC-404 line {text[:60]!r}")
    nuclide = match.group("nuclide").strip()
    nuclide = normalise_nuclide(nuclide) or nuclide
    if match.group("over"):
        return nuclide, None, ""
    return nuclide, float(match.group("value")), match.group("unit")


def format_stream_line(nuclide: str, activity_mbq: float) -> bytes:
    unit = "GBq" if activity_mbq >= 1000 else "MBq" if activity_mbq >= 1 else "kBq"
    value = activity_mbq / STREAM_UNITS_MBQ[unit]
    return f"{nuclide}:{value:.2f} {unit}\r\n".encode()


# ---------------------------------------------------------------- drivers (move bytes only)


class Vik202:
    quantities = ("activity",)

    def __init__(
        self, config: Vik202Config, transport: ByteTransport, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._transport = transport
        self._monotonic = monotonic
        self._connected = False
        self.info: dict[str, str] = {}
        self.counters: Counter[str] = Counter()

    def _transact(self, command: str, accept: Callable[[str], bool]) -> str:
        self._transport.discard_input()
        self._transport.write(encode_command(command))
        text, _ = await_frame(
            self._transport, split_reply, accept, self.config.timeout_s,
            self._monotonic, self.counters, f"{self.config.name} (!{command})",
        )  # fmt: skip
        return text

    def connect(self) -> dict[str, str]:
        self._transport.open()
        version = parse_reply(self._transact("GV", lambda t: t.startswith(">") and t != ">OK"))
        self.select_factor(self.config.factor_code)
        self.info = {"software": version, "factor": f"{self.config.factor_code}"}
        self._connected = True
        return self.info

    def select_factor(self, code: int) -> None:
        reply = self._transact(f"F{code}", lambda t: t.startswith(">"))
        if parse_reply(reply) != "OK":
            raise DeviceError(f"{self.config.name}: !F{code} answered {reply[:40]!r}", code=reply[:16])

    def poll(self) -> Reading:
        if not self._connected:
            raise TransportError(f"{self.config.name}: not connected")
        activity_bq = parse_activity_bq(self._transact("R", lambda t: t.startswith(">") and t != ">OK"))
        nuclide = FACTORS[self.config.factor_code]
        measurement = Measurement("activity", activity_bq * 1e-6, "MBq", activity_bq, "Bq")
        return Reading(
            self.config.name, (measurement,), device_info=dict(self.info), labels={"nuclide": nuclide}
        )

    def close(self) -> None:
        self._connected = False
        self._transport.close()


class Vdc404:
    quantities = ("activity",)

    def __init__(
        self, config: Vdc404Config, transport: ByteTransport, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._transport = transport
        self._monotonic = monotonic
        self._buffer = b""
        self._connected = False
        self.counters: Counter[str] = Counter()

    def connect(self) -> dict[str, str]:
        self._transport.open()
        self._buffer = b""
        self._connected = True
        return {"mode": "stream"}

    def _decode(self, buffer: bytes) -> tuple[int, tuple[str, float | None, str] | None]:
        consumed, text = split_reply(buffer)
        if text is None:
            return consumed, None
        try:
            return consumed, parse_stream_line(text)
        except FrameError as exc:
            raise FrameError(str(exc), consumed=consumed) from exc

    def poll(self) -> Reading:
        if not self._connected:
            raise TransportError(f"{self.config.name}: not connected")
        (nuclide, value, unit), self._buffer = latest_frame(
            self._transport, self._decode, self.config.timeout_s,
            self._monotonic, self.counters, f"{self.config.name} (stream)", self._buffer,
        )  # fmt: skip
        if value is None:
            return Reading(self.config.name, (), Status.OVER_RANGE, labels={"nuclide": nuclide})
        measurement = Measurement("activity", value * STREAM_UNITS_MBQ[unit], "MBq", value, unit)
        return Reading(self.config.name, (measurement,), labels={"nuclide": nuclide})

    def close(self) -> None:
        self._connected = False
        self._transport.close()
