"""Content items of a structured report, read by concept code and scheme (pure: no file, no network).

Works on anything shaped like a pydicom Dataset (attribute access, `get`), so the parser needs no
pydicom import of its own. Every reader here returns what it found plus a problem string where a value
was present but unusable (empty, unknown unit, not a number) — the caller lists those in `problems`
instead of failing the file.
"""

from __future__ import annotations

__all__ = ["Item", "children", "code_of", "find_all", "first", "num", "value_code"]

import math
from collections.abc import Iterator
from typing import Any

from agent.dicom.codes import Code

Item = Any  # a pydicom Dataset holding one content item

# Canonical unit per dimension and the factor from each UCUM spelling seen in real reports.
UNITS: dict[str, dict[str, float]] = {
    "Gy.cm2": {
        "Gy.cm2": 1.0,
        "Gy.m2": 1e4,
        "Gym2": 1e4,
        "dGy.cm2": 0.1,
        "cGy.cm2": 0.01,
        "mGy.cm2": 1e-3,
        "uGy.m2": 1e-2,
        "uGy.cm2": 1e-6,
        "mGy.m2": 10.0,
    },
    "Gy": {"Gy": 1.0, "dGy": 0.1, "cGy": 0.01, "mGy": 1e-3, "uGy": 1e-6},
    "s": {"s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0},
    "mGy": {"mGy": 1.0, "Gy": 1e3, "uGy": 1e-3},
    "mGy.cm": {"mGy.cm": 1.0, "Gy.cm": 1e3, "mGy.mm": 0.1},
    "MBq": {"MBq": 1.0, "Bq": 1e-6, "kBq": 1e-3, "GBq": 1e3, "mCi": 37.0, "uCi": 0.037},
}


def code_of(seq: Any) -> Code | None:
    """(value, scheme) of the first code in a code sequence; long/URN code values are accepted."""
    if not seq:
        return None
    entry = seq[0]
    value = entry.get("CodeValue") or entry.get("LongCodeValue") or entry.get("URNCodeValue")
    scheme = entry.get("CodingSchemeDesignator") or ""
    return (str(value).strip(), str(scheme).strip()) if value else None


def name_of(item: Item) -> Code | None:
    return code_of(item.get("ConceptNameCodeSequence"))


def children(item: Item) -> list[Item]:
    return list(item.get("ContentSequence") or [])


def find_all(root: Item, wanted: Code | frozenset[Code], stop: frozenset[Code] = frozenset()) -> list[Item]:
    """Every item named `wanted` at any depth below `root`; does not descend into items named in `stop`."""
    return list(_walk(root, wanted if isinstance(wanted, frozenset) else frozenset({wanted}), stop))


def _walk(root: Item, wanted: frozenset[Code], stop: frozenset[Code]) -> Iterator[Item]:
    for child in children(root):
        name = name_of(child)
        if name in wanted:
            yield child
        if name not in stop:
            yield from _walk(child, wanted, stop)


def first(root: Item, wanted: Code | frozenset[Code], stop: frozenset[Code] = frozenset()) -> Item | None:
    found = find_all(root, wanted, stop)
    return found[0] if found else None


def value_code(item: Item | None) -> Code | None:
    """The coded value of a CODE item (None for TEXT and others: vendors send free text here too)."""
    if item is None or item.get("ValueType") != "CODE":
        return None
    return code_of(item.get("ConceptCodeSequence"))


def num(item: Item | None, unit: str, label: str) -> tuple[float | None, str | None]:
    """The value of a NUM item in the canonical `unit`: (value, None), (None, None) when the item is
    absent, or (None, problem) when it is present but unusable."""
    if item is None:
        return None, None
    measured = item.get("MeasuredValueSequence")
    if not measured:
        return None, f"{label}: no measured value"
    entry = measured[0]
    raw = entry.get("NumericValue")
    units = code_of(entry.get("MeasurementUnitsCodeSequence"))
    try:
        value = float(raw) if raw is not None and str(raw).strip() != "" else None
    except (TypeError, ValueError):
        return None, f"{label}: not a number ({raw!r})"
    if value is None:
        return None, f"{label}: empty numeric value"
    factor = UNITS[unit].get(units[0]) if units else None
    if factor is None:
        return None, f"{label}: unit {units[0] if units else None!r} is not a {unit} unit"
    if not math.isfinite(value) or value < 0:
        return None, f"{label}: implausible value {value}"
    return value * factor, None
