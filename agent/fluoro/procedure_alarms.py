"""Alarms of a procedure (agent/fluoro/procedure.py): `monitor_gap`; the trigger notice for a crossed
level, judged on the patient's total when the procedure has a patient (agent/fluoro/patients.py); and
the entry kept in the procedure's record for every alarm raised during it."""

from __future__ import annotations

__all__ = ["alarm_entry", "gap_notice", "trigger_notice"]

import uuid
from typing import Any

from agent.fluoro.procedure_state import OpenProcedure
from agent.notices import AlarmNotice
from agent.payloads import quantity
from limits.trigger_levels import CANONICAL_UNIT, TriggerLevel
from limits.triggers import Crossing

NAMES = {"kar": "Ka,r", "psd": "Peak skin dose estimate", "kap": "KAP", "fluoro_time": "Fluoroscopy time"}


def trigger_notice(current: OpenProcedure, crossing: Crossing) -> AlarmNotice:
    level: TriggerLevel = crossing.level
    shown = crossing.value / level.factor
    what = level.describe(crossing.index).split(" ", 1)[1]
    earlier = current.earlier
    whose = ""
    if earlier is not None and earlier.procedure_ids and level.quantity in earlier.totals:
        n = len(earlier.procedure_ids)
        before = earlier.totals[level.quantity] / level.factor
        plural = "s" * (n > 1)
        whose = f" for this patient, incl. {before:.3g} {level.unit} from {n} earlier procedure{plural}"
    message = (
        f"{NAMES[level.quantity]} {shown:.3g} {level.unit}{whose} has reached {what} "
        f"({level.kind.replace('_', ' ')}, {level.id})"
    )
    details: dict[str, Any] = {
        "procedure_id": current.procedure_id,
        "trigger": level.id,
        "kind": level.kind,
        "quantity": level.quantity,
        "index": crossing.index,
        "skipped_levels": crossing.skipped,
        "level": quantity(
            crossing.threshold / level.factor,
            level.unit,
            citation=level.citation,
            source=level.source,
            check=level.check,
        ),
        "value": quantity(crossing.value, CANONICAL_UNIT[level.quantity]),
        "judged_on": "patient" if current.patient else "procedure",
        "patient": current.patient,
    }
    if earlier is not None:
        details["earlier_procedures"] = list(earlier.procedure_ids)
    return AlarmNotice(str(uuid.uuid4()), "fluoro_trigger", "raised", level.severity, message, details, True)


def alarm_entry(notice: AlarmNotice) -> dict[str, Any]:
    return {
        "alarm_id": notice.alarm_id,
        "type": notice.alarm_type,
        "severity": notice.severity,
        "message": notice.message,
        "latching": notice.latching,
        "trigger": notice.details.get("trigger"),
    }


def gap_notice(gap: dict[str, Any], kap_gy_cm2: float | None, procedure_id: str | None) -> AlarmNotice:
    """The monitor was down during beam-on (`kap_gy_cm2` None), or dose was found on the counters after
    a stop with the beam off (agent/fluoro/procedure.py, `resume`)."""
    seconds = "an unknown time" if gap["gap_s"] is None else f"{gap['gap_s']:.1f} s"
    if kap_gy_cm2 is None:
        message = f"Dose monitor was down for {seconds} during beam-on (agent restarted)"
    else:
        message = f"{kap_gy_cm2:.3g} Gy·cm² was delivered while the dose monitor was down ({seconds})"
    details = {
        **gap,
        "procedure_id": procedure_id,
        "beam_on_at_stop": kap_gy_cm2 is None,
        **({"kap_during_gap": quantity(kap_gy_cm2, "Gy·cm²")} if kap_gy_cm2 else {}),
    }
    severity = "high" if kap_gy_cm2 is None else "warning"
    return AlarmNotice(str(uuid.uuid4()), "monitor_gap", "raised", severity, message, details, True)
