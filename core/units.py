"""The one table of units on the wire: every unit doseedge publishes, as its UCUM code.

Drivers, limits and configs speak in display units ("Gy·cm²", "µGy·m²/s", "0.1 kV") because that is
what the instruments and the regulation print. A consumer of the MQTT interface needs one machine
convention instead: UCUM (the Unified Code for Units of Measure, case-sensitive form), which HL7 FHIR
and DICOM use too. `ucum()` is the only translation; agent.payloads.quantity() calls it for every
`{"value", "unit"}` it builds, and the v2 JSON Schemas (schemas/common.json) accept exactly the codes
of this table, so a unit that slips past it fails the tests instead of reaching a consumer.

A device's own raw unit with no UCUM equivalent (an ADC count, a register step) is carried as a UCUM
annotation (`{adc_count}`): dimensionless, honest about what it is, still valid UCUM.
"""

from __future__ import annotations

__all__ = ["UCUM", "UCUM_CODES", "round_significant", "ucum"]

import functools
import math
import re

# display form (as drivers, limits and profiles write it) → UCUM code
UCUM: dict[str, str] = {
    # kerma-area product and its rate
    "Gy·cm²": "Gy.cm2",
    "cGy·cm²": "cGy.cm2",
    "µGy·m²": "uGy.m2",
    "R·cm²": "R.cm2",
    "Gy·cm²/min": "Gy.cm2/min",
    "Gy·cm²/s": "Gy.cm2/s",
    "cGy·cm²/s": "cGy.cm2/s",
    "cGy·cm²/min": "cGy.cm2/min",
    "µGy·m²/s": "uGy.m2/s",
    "µGy·m²/min": "uGy.m2/min",
    "R·cm²/s": "R.cm2/s",
    "R·cm²/min": "R.cm2/min",
    # air kerma and its rate
    "mGy": "mGy",
    "µGy": "uGy",
    "Gy": "Gy",
    "mGy/min": "mGy/min",
    "mGy/s": "mGy/s",
    "µGy/s": "uGy/s",
    "µSv/h": "uSv/h",
    # activity
    "Bq": "Bq",
    "kBq": "kBq",
    "MBq": "MBq",
    "GBq": "GBq",
    "µCi": "uCi",
    "mCi": "mCi",
    # time, geometry, generator technique
    "s": "s",
    "min": "min",
    "ms": "ms",
    "h": "h",
    "d": "d",
    "kg": "kg",
    "cm": "cm",
    "mm": "mm",
    "cm²": "cm2",
    "mm²": "mm2",
    "kV": "kV",
    "mA": "mA",
    "mAs": "mA.s",
    "V": "V",
    "mV": "mV",
    "1/s": "/s",
    "1": "1",
    "%": "%",
    # register steps of generators (a raw value counts tenths of the unit)
    "0.1 kV": "hV",
    "0.1 ms": "10*-4.s",
    "0.1 pulse/s": "10*-1/s",
    # raw units with no physical dimension: UCUM annotations
    "ADC counts": "{adc_count}",
    "adc_u16": "{adc_count}",
    "counts/s": "{count}/s",
}

UCUM_CODES: frozenset[str] = frozenset(UCUM.values())
_ANNOTATION = re.compile(r"[^A-Za-z0-9_]+")


def ucum(unit: str) -> str:
    """The UCUM code of a display unit (or of a code already in the table).

    An unknown unit is carried as an annotation `{…}` rather than refused: the reading it belongs
    to is still a reading, and the schema tests flag the annotation on the `unit` of a quantity.
    """
    if unit in UCUM:
        return UCUM[unit]
    if unit in UCUM_CODES:
        return unit
    return "{" + (_ANNOTATION.sub("_", unit).strip("_") or "unknown") + "}"


def round_significant(value: float, digits: int = 6) -> float:
    """`value` to `digits` significant digits: no float noise (0.029500000000000002 → 0.0295)."""
    if value == 0 or not math.isfinite(value):
        return value
    return _rounded(value, digits)


@functools.lru_cache(maxsize=4096, typed=True)  # instruments repeat their values: ~16 calls a reading
def _rounded(value: float, digits: int) -> float:
    shown = float(f"{value:.{digits}g}")  # text rounding: no overflow near the float's limits
    return shown if math.isfinite(shown) else value
