"""The Capintec CRC-25R / CRC-55tR wire codec: pure functions, no I/O (driver: drivers/capintec.py).

Frames both ways are `$` + L + payload + C + `#`, L = chr(len(payload) + 0x41), C the Capintec
checksum over L + payload (`capintec_checksum`; payload `L` gives `$BL6#`). Quirks kept from the
firmware source (`smirza-mirion/crc_emulator`, `PCComm_25.c`, `crc.h`), each covered by a golden frame:

- `S` (serial number): the firmware writes L = `C` (2) but sends 8 payload bytes, and sums bytes
  past the end of its buffer for C. The length and checksum of that reply are *not* validated.
- `d` (daily-test data check) and `C`/`A` pad with spaces between C and `#`: trailing spaces are allowed.
- Error frames are `$e<code>    #` (no length, no checksum).
- Read chamber `R<n>` answers `DR` (or `BR` while the reading is frozen) + chamber digit + nuclide
  or calibration number (8 chars) + activity (6 chars, right aligned) + unit digit, `0` meaning
  over-range (the number is then meaningless) and `7` mV (zero test).

Host side: `encode_frame`, `decode_frame`, `parse_*`, `to_measurements`; device side (the
simulator): `format_*`.
"""

from __future__ import annotations

__all__ = [
    "ACK",
    "ACK_REQUEST",
    "ERRORS",
    "UNITS",
    "CapintecFrame",
    "ChamberReading",
    "capintec_checksum",
    "decode_frame",
    "device_nuclide_name",
    "encode_frame",
    "format_activity",
    "format_error",
    "format_reading",
    "format_serial",
    "normalise_nuclide",
    "parse_configuration",
    "parse_daily_check",
    "parse_reading",
    "parse_serial",
    "to_measurements",
]

import re
from dataclasses import dataclass

from core.errors import FrameError
from drivers.model import Measurement, Status

ACK = b"$O#"
ACK_REQUEST = b"@"
MAX_FRAME = 160  # the longest reply (AutoCal `L`) is 130 bytes
ERRORS = {
    "0": "receive error (no @ before the frame)",
    "1": "checksum error",
    "2": "unknown command",
    "3": "length error",
    "4": "no such chamber",
    "5": "isotope error",
    "6": "not on the measurement screen",
    "7": "no beta measurement",
    "8": "no wipe measurement",
    "9": "no test ready",
    ":": "no end character",
}


@dataclass(frozen=True)
class UnitCode:
    label: str
    to_mbq: float


# Unit digit of the read-chamber reply. `0` (over-range) and `7` (mV) are not activities.
UNITS = {
    "1": UnitCode("µCi", 0.037),
    "2": UnitCode("mCi", 37.0),
    "3": UnitCode("Ci", 37000.0),
    "4": UnitCode("kBq", 0.001),
    "5": UnitCode("MBq", 1.0),
    "6": UnitCode("GBq", 1000.0),
}
OVER_RANGE, MILLIVOLT = "0", "7"


@dataclass(frozen=True)
class CapintecFrame:
    kind: str  # "ack" | "data" | "error"
    payload: bytes = b""
    code: str = ""


@dataclass(frozen=True)
class ChamberReading:
    chamber: int
    nuclide_field: str  # as sent, stripped: `Tc99m`, `F 18`, or a calibration number
    activity_text: str
    unit_digit: str
    frozen: bool

    @property
    def over_range(self) -> bool:
        return self.unit_digit == OVER_RANGE


def capintec_checksum(data: bytes) -> int:
    """The firmware's checksum (crc.h): byte sum folded into the printable range 0x26–0x7E."""
    cs = sum(data) & 0xFF
    while cs > 0x7E:
        cs -= 0x7E
    if cs < 0x26:
        cs += 0x26
    return cs


def encode_frame(payload: bytes) -> bytes:
    """`$` + L + payload + C + `#`. Used both ways (host commands, simulator replies)."""
    body = bytes([len(payload) + 0x41]) + payload
    return b"$" + body + bytes([capintec_checksum(body)]) + b"#"


def _printable(data: bytes) -> bool:
    # 0xFD is the firmware's stand-in for '÷' in calibration numbers.
    return all(0x20 <= b <= 0x7E or b == 0xFD for b in data)


def decode_frame(buffer: bytes) -> tuple[int, CapintecFrame | None]:
    """Find one frame at the start of `buffer`.

    Returns (0, None) for "need more bytes". Raises FrameError(consumed=…) for junk before `$`, a
    frame cut by a new `$`, a bad length, a bad checksum or non-printable bytes; the caller drops
    `consumed` bytes and tries again, so a valid frame after garbage is still found.
    """
    if not buffer:
        return 0, None
    start = buffer.find(b"$")
    if start < 0:
        raise FrameError(f"no '$' in {buffer[:20]!r}", consumed=len(buffer))
    if start > 0:
        raise FrameError(f"junk before '$': {buffer[: min(start, 20)]!r}", consumed=start)
    end = buffer.find(b"#", 1)
    restart = buffer.find(b"$", 1)
    if restart > 0 and (end < 0 or restart < end):
        raise FrameError(f"frame cut by a new '$': {buffer[:restart][:40]!r}", consumed=restart)
    if end < 0:
        if len(buffer) > MAX_FRAME:
            raise FrameError(f"no '#' within {MAX_FRAME} bytes", consumed=len(buffer))
        return 0, None
    consumed = end + 1
    content = buffer[1:end]
    if not _printable(content):
        raise FrameError(f"non-printable bytes in {content[:40]!r}", consumed=consumed)
    if content == b"O":
        return consumed, CapintecFrame("ack")
    if content[:1] == b"e":
        if len(content) < 2 or content[2:].strip(b" "):
            raise FrameError(f"malformed error frame {content!r}", consumed=consumed)
        return consumed, CapintecFrame("error", code=chr(content[1]))
    if len(content) == 10 and content[:3] == b"CDS":
        # Serial number: the firmware's L and C are wrong (PCComm_25.c pc_send_sn). Do not validate.
        return consumed, CapintecFrame("data", content[1:9])
    if not content:
        raise FrameError("empty frame '$#'", consumed=consumed)
    length = content[0] - 0x41
    if length < 0 or len(content) < length + 2:
        raise FrameError(f"length byte {content[:1]!r} does not fit {content[:40]!r}", consumed=consumed)
    body, cs, padding = content[: length + 1], content[length + 1], content[length + 2 :]
    if padding.strip(b" "):
        raise FrameError(f"bytes after the checksum in {content[:40]!r}", consumed=consumed)
    if capintec_checksum(body) != cs:
        raise FrameError(f"checksum {chr(cs)!r} wrong for {body[:40]!r}", consumed=consumed)
    return consumed, CapintecFrame("data", body[1:])


_READ_RE = re.compile(rb"^([DB])R([1-8])(.{8})(.{6})([0-7])$", re.DOTALL)
_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)\s*$")


def parse_reading(payload: bytes) -> ChamberReading:
    match = _READ_RE.match(payload)
    if not match:
        raise FrameError(f"bad read-chamber reply {payload[:40]!r}")
    text = match.group(4).decode("latin-1")
    unit = match.group(5).decode()
    if unit != OVER_RANGE and not _NUMBER_RE.match(text):
        raise FrameError(f"activity field {text!r} is not a number")
    return ChamberReading(
        chamber=int(match.group(2)),
        nuclide_field=match.group(3).decode("latin-1").strip(),
        activity_text=text.strip(),
        unit_digit=unit,
        frozen=match.group(1) == b"B",
    )


def parse_serial(payload: bytes) -> str:
    if len(payload) != 8 or payload[:2] != b"DS":
        raise FrameError(f"bad serial-number reply {payload[:40]!r}")
    return payload[2:].decode("latin-1").strip()


def parse_configuration(payload: bytes) -> dict[int, str]:
    """`DG` + 10 chamber type letters (R, P, B, 8, C, K, X; N = no chamber) → {chamber: type}."""
    if len(payload) != 12 or payload[:2] != b"DG":
        raise FrameError(f"bad configuration reply {payload[:40]!r}")
    types = payload[2:].decode("latin-1")
    return {i + 1: t for i, t in enumerate(types) if t != "N"}


DAILY = {"G": "good", "B": "bad", "b": "bias_delay"}


def parse_daily_check(payload: bytes) -> str:
    if len(payload) != 3 or payload[:2] != b"Dd" or chr(payload[2]) not in DAILY:
        raise FrameError(f"bad daily data-check reply {payload[:40]!r}")
    return DAILY[chr(payload[2])]


_NUCLIDE_RE = re.compile(r"^([A-Z][a-z]?)\s*-?\s*(\d{1,3})\s*(m?)$")


def normalise_nuclide(field: str) -> str | None:
    """`Tc99m` → `Tc-99m`, `F 18` → `F-18`, `I 131` → `I-131`; None for a calibration number."""
    match = _NUCLIDE_RE.match(field.strip())
    if not match:
        return None
    return f"{match.group(1)}-{match.group(2)}{match.group(3)}"


def device_nuclide_name(nuclide: str) -> str:
    """Device side: `Tc-99m` → `Tc99m`, `F-18` → `F 18` (one-letter symbols are space padded)."""
    symbol, _, mass = nuclide.partition("-")
    return f"{symbol}{mass}" if len(symbol) == 2 else f"{symbol} {mass}"


def format_activity(activity_mbq: float, si_units: bool) -> tuple[str, str]:
    """Device side: auto-range like the display; returns (6-char field, unit digit)."""
    if si_units:
        ladder = [("4", 0.001), ("5", 1.0), ("6", 1000.0)]
    else:
        ladder = [("1", 0.037), ("2", 37.0), ("3", 37000.0)]
    digit, factor = ladder[0]
    for candidate, candidate_factor in ladder:
        if activity_mbq / candidate_factor >= 1.0:
            digit, factor = candidate, candidate_factor
    value = activity_mbq / factor
    decimals = 3 if value < 10 else 2 if value < 100 else 1 if value < 1000 else 0
    return f"{value:.{decimals}f}"[:6].rjust(6), digit


def format_reading(
    chamber: int, nuclide_field: str, activity_text: str, unit_digit: str, frozen: bool = False
) -> bytes:
    payload = (
        ("BR" if frozen else "DR")
        + str(chamber)
        + nuclide_field[:8].ljust(8)
        + activity_text[-6:].rjust(6)
        + unit_digit
    )
    return encode_frame(payload.encode("latin-1"))


def format_serial(serial_number: str, garbage_checksum: int = 0x5A) -> bytes:
    """Device side of `S`, as the firmware sends it: L says 2, the checksum is arbitrary."""
    return b"$CDS" + serial_number[:6].rjust(6).encode("ascii") + bytes([garbage_checksum]) + b"#"


def format_error(code: str) -> bytes:
    return b"$e" + code.encode("ascii")[:1] + b"    #"


def to_measurements(reading: ChamberReading) -> tuple[tuple[Measurement, ...], Status]:
    """Canonical unit MBq. Over-range carries no number (the device's is meaningless)."""
    status = Status.FROZEN if reading.frozen else Status.OK
    if reading.over_range:
        return (), Status.OVER_RANGE
    value = float(reading.activity_text)
    if reading.unit_digit == MILLIVOLT:
        return (Measurement("zero_test_signal", value, "mV", value, "mV"),), status
    unit = UNITS[reading.unit_digit]
    return (Measurement("activity", value * unit.to_mbq, "MBq", value, unit.label),), status
