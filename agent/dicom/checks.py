"""Checks on what was read (pure): fluoroscopy totals through the live cumulative triggers, and
radiography / CT / mammography values as a rolling median of the last N patients per exam type
against the regulation's Tables 1–3 — how reference levels are meant to be used (a typical patient,
not one patient)."""

from __future__ import annotations

__all__ = ["GuidanceMedians", "trigger_crossings"]

import statistics
from collections import deque
from typing import Any

from agent import payloads
from agent.dicom.summary import DoseReport
from limits.guidance import GuidanceTable, load_guidance_table
from limits.trigger_levels import TriggerSet
from limits.triggers import TriggerState, evaluate


def report_totals(report: DoseReport) -> dict[str, float]:
    """kap (Gy·cm²), kar (mGy), fluoro_time (s) over all planes; a quantity no plane carries is absent."""
    totals: dict[str, float] = {}
    for key, attr, scale in (
        ("kap", "kap_gy_cm2", 1.0),
        ("kar", "dose_rp_gy", 1000.0),
        ("fluoro_time", "fluoro_time_s", 1.0),
    ):
        values = [getattr(p, attr) for p in report.planes if getattr(p, attr) is not None]
        if values:
            totals[key] = sum(values) * scale
    return totals


def trigger_crossings(totals: dict[str, float], triggers: TriggerSet) -> list[dict[str, Any]]:
    """Every trigger level these totals reach, as a fresh procedure would have crossed them."""
    _, crossings = evaluate(TriggerState(), totals, triggers.levels)
    return [
        {
            "id": c.level.id,
            "level": c.level.describe(c.index),
            "kind": c.level.kind,
            "severity": c.level.severity,
            "value": round(c.value, 4),
            "citation": c.level.citation,
        }
        for c in crossings
    ]


class GuidanceMedians:
    def __init__(self, window: int) -> None:
        self.window = window
        self.tables: dict[str, GuidanceTable] = {}
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], deque[float]] = {}

    def _table(self, name: str) -> GuidanceTable:
        if name not in self.tables:
            self.tables[name] = load_guidance_table(name)
        return self.tables[name]

    def add(self, report: DoseReport) -> list[dict[str, Any]]:
        """One value per exam type per patient (the mean of the report's events of that type)."""
        per_exam: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
        quantity: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        for value in report.exams:
            per_exam.setdefault((value.table, value.key), []).append(value.value_mgy)
            quantity[(value.table, value.key)] = value.quantity
        out = []
        for (table_name, key), values in per_exam.items():
            row = self._table(table_name).find(**dict(key))
            if row is None:
                continue
            window = self.values.setdefault((table_name, key), deque(maxlen=self.window))
            window.append(statistics.fmean(values))
            median = statistics.median(window)
            out.append(
                {
                    "exam": dict(key),
                    "quantity": quantity[(table_name, key)],
                    "median": payloads.quantity(median, "mGy"),
                    "patients": len(window),
                    "window": self.window,
                    "level": payloads.quantity(row.value, row.unit, citation=row.citation, check=row.check),
                    "exceeded": median > row.value,
                }
            )
        return out
