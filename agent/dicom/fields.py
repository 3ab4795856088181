"""Reading doseedge's own records defensively: other parts of the agent may add or change fields, and
a report must never fail because one is missing or of another shape."""

from __future__ import annotations

__all__ = ["KAP_UNITS", "quantity", "table"]

from typing import Any

KAP_UNITS = ("Gy·cm²", "Gy.cm2")


def table(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def quantity(value: Any, *units: str) -> float | None:
    """A `{"value", "unit"}` field, if it is one in one of `units` with a non-negative number."""
    if not isinstance(value, dict) or value.get("unit") not in units:
        return None
    number = value.get("value")
    return float(number) if isinstance(number, int | float) and number >= 0 else None
