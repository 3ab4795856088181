"""Capintec CRC accuracy-test replies `s<n>` and `a<n>`: pure codec, no I/O (driver: drivers/capintec.py).

Source: the firmware, `smirza-mirion/crc_emulator` `firmware/CRC-25R_Calib/PCComm_25.c`,
`pc_get_source` and `pc_read_accuracy`. Both read what the calibrator already holds for the
accuracy test of its **main chamber** (`M<ch>`); neither starts a measurement. Source numbers are
1–5 (`acc_data[5]`; the firmware does not check the bound, so the driver does).

- `s<n>` → `$[` + `Ds` + n + serial number (10) + nuclide (5) + reference activity (6) + unit
  digit + `C` if the source is the constancy source else space + checksum + two spaces + `#`.
- `a<n>` → `$P` + `Da` + n + measured activity (6) + unit digit + variation in % (5) + checksum
  + `#`. With no measurement for that source (`ms_kun == -1`) the 12 data bytes are spaces.

What the public source does **not** fix, so the values are parsed but kept raw: how the firmware
formats the activity and variation texts (alignment, decimals, sign, a `%`), and whether the unit
digit uses the read-chamber table (`1` µCi … `6` GBq). `activity_mbq` and `variation_percent` are
given only when the text is a plain number (and the digit a known unit); the raw text always is.
Firmware quirk: `pc_read_accuracy` copies both texts with `strncpy`, so a text shorter than its
field puts a NUL in the reply and the UART stops there: no `#`, the driver times out.
"""

from __future__ import annotations

__all__ = [
    "AccuracyMeasurement",
    "AccuracySource",
    "format_accuracy_measurement",
    "format_accuracy_source",
    "parse_accuracy_measurement",
    "parse_accuracy_source",
]

import re
from dataclasses import dataclass
from typing import Any

from core.errors import FrameError
from drivers.capintec_codec import UNITS, encode_frame, normalise_nuclide

_SOURCE_RE = re.compile(rb"^Ds([1-5])(.{10})(.{5})(.{6})([0-9 ])([C ])$", re.DOTALL)
_MEASUREMENT_RE = re.compile(rb"^Da([1-5])(.{6})([0-9 ])(.{5})$", re.DOTALL)
_PLAIN_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)$")


def _number(text: str) -> float | None:
    return float(text) if _PLAIN_NUMBER.match(text) else None


def _mbq(text: str, digit: str) -> float | None:
    value = _number(text)
    return None if value is None or digit not in UNITS else value * UNITS[digit].to_mbq


@dataclass(frozen=True)
class AccuracySource:
    number: int
    serial_number: str
    nuclide_field: str  # as sent, stripped (`Cs137`, `Co 57`)
    activity_text: str  # the reference activity the calibrator holds for this source, as sent
    unit_digit: str
    constancy: bool  # flagged `C`: this source is also the constancy source

    def as_data(self) -> dict[str, Any]:
        return {
            "source": self.number,
            "serial_number": self.serial_number,
            "nuclide": normalise_nuclide(self.nuclide_field),
            "nuclide_raw": self.nuclide_field,
            "activity_raw": self.activity_text,
            "unit_digit": self.unit_digit,
            "activity_mbq": _mbq(self.activity_text, self.unit_digit),
            "constancy_source": self.constancy,
        }


@dataclass(frozen=True)
class AccuracyMeasurement:
    number: int
    activity_text: str  # "" when the calibrator has no measurement for this source
    unit_digit: str
    variation_text: str  # the firmware's % variation from the reference, as sent

    @property
    def measured(self) -> bool:
        return bool(self.activity_text or self.unit_digit or self.variation_text)

    def as_data(self) -> dict[str, Any]:
        return {
            "source": self.number,
            "measured": self.measured,
            "activity_raw": self.activity_text,
            "unit_digit": self.unit_digit,
            "activity_mbq": _mbq(self.activity_text, self.unit_digit),
            "variation_raw": self.variation_text,
            "variation_percent": _number(self.variation_text.rstrip("%").strip()),
        }


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def parse_accuracy_source(payload: bytes) -> AccuracySource:
    match = _SOURCE_RE.match(payload)
    if not match:
        raise FrameError(f"bad accuracy-source reply {payload[:40]!r}")
    return AccuracySource(
        number=int(match.group(1)),
        serial_number=_text(match.group(2)),
        nuclide_field=_text(match.group(3)),
        activity_text=_text(match.group(4)),
        unit_digit=_text(match.group(5)),
        constancy=match.group(6) == b"C",
    )


def parse_accuracy_measurement(payload: bytes) -> AccuracyMeasurement:
    match = _MEASUREMENT_RE.match(payload)
    if not match:
        raise FrameError(f"bad accuracy-measurement reply {payload[:40]!r}")
    return AccuracyMeasurement(
        number=int(match.group(1)),
        activity_text=_text(match.group(2)),
        unit_digit=_text(match.group(3)),
        variation_text=_text(match.group(4)),
    )


def format_accuracy_source(
    number: int, serial_number: str, nuclide_field: str, activity_text: str, unit_digit: str, constancy: bool
) -> bytes:
    """Device side of `s<n>`, laid out as `pc_get_source` does (two spaces before `#`)."""
    payload = (
        f"Ds{number}{serial_number[:10].ljust(10)}{nuclide_field[:5].ljust(5)}"
        f"{activity_text[:6].ljust(6)}{unit_digit[:1] or ' '}{'C' if constancy else ' '}"
    )
    return encode_frame(payload.encode("latin-1"))[:-1] + b"  #"


def format_accuracy_measurement(
    number: int, activity_text: str = "", unit_digit: str = "", variation_text: str = ""
) -> bytes:
    """Device side of `a<n>`; all defaults: no measurement for that source (blank fields)."""
    payload = f"Da{number}{activity_text[:6].rjust(6)}{unit_digit[:1] or ' '}{variation_text[:5].rjust(5)}"
    return encode_frame(payload.encode("latin-1"))
