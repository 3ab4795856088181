"""What the page shows, as one JSON-ready dict built from the agent's live state.

Everything the page reads goes through `snapshot()`: the monitors' fields are read defensively
(`getattr` with a default), so a field another part of the agent renames or adds shows as "not
known" on the page instead of breaking it. Numbers are rounded for display; units are in the keys.
A dose-rate number is marked `live: false` when the device feeding it is lost or no reading has
arrived for `stale_after_s`: the page then shows no number, never the last one as if it were now.
"""

from __future__ import annotations

__all__ = ["alarms_view", "fluoro_view", "health_view", "hotlab_view", "next_marks", "qc_today"]

from datetime import date, datetime, timedelta
from typing import Any

from limits.triggers import TriggerState

QUANTITIES = ("kar", "kap", "fluoro_time", "psd")
UNITS = {"kar": "mGy", "psd": "mGy", "kap": "Gy·cm²", "fluoro_time": "s"}
QC_TESTS = ("constancy", "accuracy", "linearity", "background", "zero")


def _num(value: Any, digits: int) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value), digits)


def next_marks(triggers: Any, state: Any) -> dict[str, dict[str, Any]]:
    """Per quantity, the lowest trigger level not yet reached in this procedure (canonical unit)."""
    marks: dict[str, dict[str, Any]] = {}
    levels = getattr(triggers, "levels", ()) or ()
    state = state if isinstance(state, TriggerState) else TriggerState()
    for level in levels:
        n = state.index_of(level.id)
        if level.every <= 0 and n > 0:
            continue  # once-only level, already reached
        threshold = level.threshold(n)
        quantity = level.quantity
        if quantity not in marks or threshold < marks[quantity]["value"]:
            marks[quantity] = {
                "value": round(threshold, 4),
                "kind": level.kind,
                "severity": level.severity,
                "label": level.describe(n).split(" ", 1)[1],
                "citation": level.citation,
            }
    return marks


def fluoro_view(
    monitor: Any, devices: dict[str, Any], reading_age_s: float | None, stale_s: float
) -> dict[str, Any]:
    config = getattr(monitor, "config", None)
    inputs = [d for d in (getattr(config, "dap_meter", ""), getattr(config, "generator", "")) if d]
    lost = [d for d in inputs if devices.get(d, {}).get("availability") == "lost"]
    silent = reading_age_s is None or reading_age_s > stale_s
    mode = str(getattr(monitor, "mode", "unknown"))
    table = getattr(monitor, "table", None)
    level = table.for_mode(mode) if table is not None else None
    procedure = getattr(monitor, "procedure", None)
    current = getattr(procedure, "current", None)
    totals = procedure.totals() if current is not None and procedure is not None else {}
    return {
        "rate": {
            "live": not lost and not silent,
            "why_not_live": f"{', '.join(lost)} lost" if lost else ("no reading" if silent else ""),
            "esak_mgy_min": _num(getattr(monitor, "esak_rate_mgy_min", None), 2),
            "beam_on": bool(getattr(monitor, "beam_on", False)),
            "mode": mode,
            "mode_source": str(getattr(monitor, "mode_source", "")),
            "level_mgy_min": level.rate_mgy_min if level is not None else None,
            "level_citation": level.citation if level is not None else "",
        },
        "procedure": {
            "open": current is not None,
            "procedure_id": getattr(current, "procedure_id", None),
            "totals": {q: _num(totals.get(q, 0.0), 4) for q in QUANTITIES},
            "units": UNITS,
            "marks": next_marks(
                getattr(procedure, "triggers", None), getattr(current, "triggers", TriggerState())
            ),
            "acquisitions": getattr(current, "acquisition_count", 0),
        },
        "kap_meter_gy_cm2": _num(getattr(monitor, "kap_total_gy_cm2", None), 4),
    }


def qc_today(monitor: Any, wall: datetime) -> dict[str, Any]:
    """Today's QC (local date of the station) and the calibration's due date; read from the hot
    lab's document store, so the feed calls it on a slower rhythm than the live numbers."""
    qc = getattr(monitor, "qc", None)
    if qc is None:
        return {}
    local_date = qc.local_date(wall)
    tests = {}
    for test in QC_TESTS:
        done = qc.store.qc_on(local_date, test)
        tests[test] = str(done[-1].get("result", "?")) if done else None
    config = getattr(monitor, "config", None)
    calibration: dict[str, Any] = {}
    try:
        calibrated = date.fromisoformat(str(getattr(config, "calibration_date", "")))
        due = calibrated + timedelta(days=int(getattr(config, "calibration_interval_days", 0)))
        calibration = {"due": due.isoformat(), "status": "valid" if wall.date() <= due else "overdue"}
    except ValueError:
        calibration = {"status": "unknown"}
    return {"date": local_date, "constancy": tests["constancy"] or "missing", "tests": tests, **calibration}


def hotlab_view(monitor: Any, recent: list[dict[str, Any]], qc: dict[str, Any]) -> dict[str, Any]:
    live = getattr(monitor, "live", None)
    context = getattr(monitor, "context", None)
    return {
        "live": None
        if live is None
        else {
            "nuclide": live.nuclide,
            "chamber": live.chamber,
            "activity_mbq": _num(live.activity_mbq, 3),
            "state": live.state,
        },
        "context": context.as_details() if context is not None else {},
        "recent": recent,
        "qc_today": qc,
    }


def alarms_view(book: Any) -> list[dict[str, Any]]:
    """Active alarms, the most severe and then the newest first."""
    alarms = list(book.snapshot()) if book is not None else []
    alarms.sort(key=lambda a: a.get("raised_at", ""), reverse=True)
    alarms.sort(key=lambda a: a.get("severity") != "high")
    return alarms


def health_view(health: dict[str, Any], store_unavailable: str) -> dict[str, Any]:
    link = health.get("link", {})
    store = health.get("store", {})
    return {
        "devices": {
            name: {
                "availability": d.get("availability"),
                "driver": d.get("driver"),
                "last_error": d.get("last_error", ""),
            }
            for name, d in health.get("devices", {}).items()
        },
        "link": {"connected": bool(link.get("connected")), "last_error": link.get("last_error", "")},
        "store": {
            "unsent": store.get("unsent"),
            "pressure": bool(store.get("pressure")),
            "in_memory": bool(store_unavailable),
        },
    }
