"""What a hot-lab station shows on the live view and in the demo: the well's state, each record in a line.

Console (agent/console.py) adds `status_text(monitor.live)` to its status line when the station has
a [hotlab] table; the hot-lab demo prints `record_line` for every record as it is made.
"""

from __future__ import annotations

__all__ = ["LiveState", "record_line", "status_text"]

from dataclasses import dataclass
from typing import Any

from agent.notices import RecordNotice


@dataclass(frozen=True)
class LiveState:
    """The last activimeter reading as the monitor judged it."""

    nuclide: str
    chamber: str
    activity_mbq: float | None  # None when over range (the device's number is meaningless)
    state: str  # empty | settling | stable | over_range | frozen | …


def status_text(live: LiveState | None) -> str:
    if live is None:
        return "activimeter: no reading yet"
    if live.activity_mbq is None:
        return f"{live.nuclide} ch{live.chamber} ---- MBq {live.state.upper()}"
    return f"{live.nuclide} ch{live.chamber} {live.activity_mbq:9.3f} MBq {live.state}"


def _check_text(check: dict[str, Any]) -> str:
    value, level = check["value"], check["level"]
    tolerance = check.get("tolerance_fraction")
    bound = f" ±{tolerance * 100:g} %" if tolerance is not None else " max"
    verdict = "EXCEEDED" if check["exceeded"] else "ok"
    return (
        f"    check {check['check']}: {value['value']:.1f} vs {level['value']:g} {level['unit']}{bound}"
        f" → {verdict} ({level['citation']})"
    )


def record_line(record: RecordNotice) -> str | None:
    """One readable paragraph for an activity or QC record; None for other kinds."""
    d = record.details
    if record.kind == "activity":
        at_admin = d.get("activity_at_administration", {})
        lines = [
            f"== record/activity: {d['nuclide']} {d['activity']['value']:.1f} MBq "
            f"(displayed {d['displayed']['value']} {d['displayed']['unit']}, chamber {d['chamber']}, "
            f"{d['stability']['samples']} samples within {d['stability']['spread_fraction'] * 100:.2f} %)",
            f"    at administration: {at_admin.get('value', 0):.1f} MBq"
            + (f" (decayed to {at_admin['to']})" if at_admin.get("decay_corrected") else ""),
        ]
        lines += [_check_text(c) for c in d.get("checks", [])]
        lines += [f"    NOT CHECKED {m['check']}: {m['reason']}" for m in d.get("not_checked", [])]
        return "\n".join(lines)
    if record.kind == "qc":
        setting = f" on the {d['setting']} setting" if d.get("setting") else ""
        return f"== record/qc: {d['test']} {d['result'].upper()}{setting} — {d['message']}"
    return None
