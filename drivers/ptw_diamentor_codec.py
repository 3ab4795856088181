"""PTW DIAMENTOR codec, pure (no I/O): CR LF telegrams, replies, errors and the DAP unit table.

Protocol source and confidence: see drivers/ptw_diamentor.py (PyMeasure's ptwDIAMENTOR driver and
PTW's RS-232 convention; medium-high). Used both ways: by the driver and by the simulator
(simulators/ptw_diamentor.py), so both speak the same bytes. Tested with byte strings
(tests/drivers/test_ptw_diamentor_codec.py).
"""

from __future__ import annotations

__all__ = [
    "BAUD_CODES",
    "DAP_UNITS",
    "ERRORS",
    "MAX_LINE",
    "DapUnit",
    "DiamentorSample",
    "decode_line",
    "encode_command",
    "format_measurement",
    "parse_measurement",
    "parse_reply",
    "parse_unit",
    "parse_value",
]

import math
import re
from dataclasses import dataclass

from core.errors import DeviceError, FrameError

MAX_LINE = 128
ERRORS = {
    "E1": "syntax error, unknown command",
    "E4": "charge overflow",
    "E5": "maximum input current exceeded",
    "E6": "chamber voltage out of range",
    "E7": "parameter is write protected",
    "E9": "parameter out of range",
    "E23": "EEPROM read/write error",
    "E24": "not calibrated electrically",
    "E25": "input buffer overrun",
    "E26": "firmware malfunction",
}


@dataclass(frozen=True)
class DapUnit:
    code: int
    label: str
    to_gy_cm2: float


BAUD_CODES = {9600: 0, 19200: 1, 38400: 2, 57600: 3, 115200: 4}

DAP_UNITS = {
    1: DapUnit(1, "cGy·cm²", 0.01),
    2: DapUnit(2, "Gy·cm²", 1.0),
    3: DapUnit(3, "µGy·m²", 0.01),
    4: DapUnit(4, "R·cm²", 0.00876),
}


@dataclass(frozen=True)
class DiamentorSample:
    """One `M` reply, raw, in the meter's own unit."""

    dap: float
    dap_rate: float
    irradiation_time_s: int
    extra: tuple[str, ...]


def encode_command(command: str) -> bytes:
    """A telegram: ASCII text terminated by CR LF. Used both ways (host and simulator)."""
    return command.encode("ascii") + b"\r\n"


def decode_line(buffer: bytes) -> tuple[int, str | None]:
    """Find one CR LF telegram at the start of `buffer`.

    Returns (consumed, text); (0, None) means "need more bytes"; (n, None) an empty line to skip.
    Raises FrameError(consumed=…) for a telegram that is not printable ASCII or is too long.
    """
    end = buffer.find(b"\n")
    if end < 0:
        if len(buffer) > MAX_LINE:
            raise FrameError(f"no line end within {MAX_LINE} bytes", consumed=len(buffer))
        return 0, None
    raw = buffer[:end].rstrip(b"\r")
    consumed = end + 1
    if len(raw) > MAX_LINE:
        raise FrameError(f"line longer than {MAX_LINE} bytes", consumed=consumed)
    if any(b < 0x20 or b > 0x7E for b in raw):
        raise FrameError(f"non-printable bytes in line {raw[:40]!r}", consumed=consumed)
    text = raw.decode("ascii").strip()
    return consumed, (text or None)


_ERROR_RE = re.compile(r"^E\d{1,2}$")


def parse_reply(text: str, expect_prefix: str) -> str:
    """Raise DeviceError for an `E<n>` reply; FrameError if the reply is not the one expected."""
    if _ERROR_RE.match(text):
        raise DeviceError(f"DIAMENTOR {text}: {ERRORS.get(text, 'unknown error')}", code=text)
    if not text.startswith(expect_prefix):
        raise FrameError(f"unexpected reply {text[:40]!r}, wanted {expect_prefix!r}…", consumed=0)
    return text


def parse_unit(text: str) -> DapUnit:
    match = re.fullmatch(r"U(\d)", text)
    if not match or int(match.group(1)) not in DAP_UNITS:
        raise FrameError(f"bad unit reply {text[:40]!r}")
    return DAP_UNITS[int(match.group(1))]


_NUMBER = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"


def parse_value(text: str, prefix: str) -> float:
    """`PRE1013.2` → 1013.2; FrameError unless `text` is `prefix` followed by a number."""
    match = re.fullmatch(rf"{re.escape(prefix)}\s*({_NUMBER})", text)
    if not match:
        raise FrameError(f"bad {prefix} reply {text[:40]!r}")
    return float(match.group(1))


_M_RE = re.compile(rf"^M({_NUMBER}),({_NUMBER}),(\d+),(\d+)((?:,[^,]*)*)$")


def parse_measurement(text: str) -> DiamentorSample:
    match = _M_RE.match(text)
    if not match:
        raise FrameError(f"bad measurement reply {text[:60]!r}")
    minutes, seconds = int(match.group(3)), int(match.group(4))
    if seconds >= 60:
        raise FrameError(f"seconds field {seconds} ≥ 60 in {text[:60]!r}")
    extra = tuple(match.group(5).split(",")[1:]) if match.group(5) else ()
    dap, dap_rate = float(match.group(1)), float(match.group(2))
    if not (math.isfinite(dap) and math.isfinite(dap_rate)):
        # `1e999` parses as inf: no display shows it. A finite but absurd value is a frame the meter
        # could send; it is judged (and stored, marked) by limits/plausibility.py, not dropped here.
        raise FrameError(f"measurement is not a finite number in {text[:60]!r}")
    return DiamentorSample(
        dap=dap,
        dap_rate=dap_rate,
        irradiation_time_s=minutes * 60 + seconds,
        extra=extra,
    )


def format_measurement(dap: float, dap_rate: float, irradiation_time_s: int) -> str:
    """Device side of `M`, as the simulator sends it."""
    minutes, seconds = divmod(int(irradiation_time_s), 60)
    return f"M{dap:.2f},{dap_rate:.2f},{minutes},{seconds}"
