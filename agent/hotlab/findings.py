"""Which checks a stable activity measurement gets, given the preparation context, and why not.

Each check that applies returns a `Finding` (limits/hotlab.py); each check a context asks for but
that cannot be made is a `not_checked` entry with the reason (the monitor raises a warning for it),
so a missing input is never a silent pass: a child's weight with nothing on the EANM card to judge
it by is `paediatric_not_checked`.
"""

from __future__ import annotations

__all__ = ["Judgement", "judge"]

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent.clock import iso_utc
from agent.hotlab.context import PreparationContext
from limits import hotlab as checks
from limits.hotlab_data import HotlabData, PolicyValue


@dataclass
class Judgement:
    findings: list[checks.Finding] = field(default_factory=list)
    not_checked: list[dict[str, Any]] = field(default_factory=list)


def judge(
    ctx: PreparationContext,
    data: HotlabData,
    policy: Callable[[str], PolicyValue],
    measured_mbq: float,
    at_admin_mbq: float,
    nuclide: str,
    wall: datetime,
) -> Judgement:
    """`at_admin_mbq` is the measurement decayed to the planned administration (or as measured)."""
    out = Judgement()
    if ctx.prescribed_activity_mbq is not None:
        out.findings.append(_prescribed(ctx, data, policy, measured_mbq, at_admin_mbq, nuclide, wall))
    if ctx.table5_row is not None and ctx.nuclide == nuclide:
        out.findings.append(checks.check_table5(at_admin_mbq, data.table5.named(ctx.table5_row)))
    elif ctx.exam is not None and ctx.nuclide == nuclide:
        match = data.table5.lookup(ctx.exam, nuclide, ctx.chemical_form)
        out.findings.append(checks.check_table5(at_admin_mbq, match))
    if ctx.weight_kg is not None:
        reason = None
        pharma = data.card.find(ctx.radiopharmaceutical) if ctx.radiopharmaceutical else None
        if ctx.radiopharmaceutical is None:
            reason = "a weight is given but no radiopharmaceutical: the EANM card needs one"
        elif pharma is None:
            reason = f"radiopharmaceutical {ctx.radiopharmaceutical!r} is not on the EANM dosage card"
        elif pharma.nuclide != nuclide:
            reason = f"measured on the {nuclide} setting; {pharma.key} on the card is {pharma.nuclide}"
        else:
            tolerance = policy("paediatric_tolerance_fraction")
            out.findings.append(
                checks.check_paediatric(at_admin_mbq, data.card, pharma, ctx.weight_kg, tolerance)
            )
        if reason is not None:
            out.not_checked.append(
                {
                    "check": "paediatric",
                    "reason": reason,
                    "weight_kg": ctx.weight_kg,
                    "radiopharmaceutical": ctx.radiopharmaceutical,
                    "card": data.card.source_id,
                }
            )
    return out


def _prescribed(
    ctx: PreparationContext,
    data: HotlabData,
    policy: Callable[[str], PolicyValue],
    measured_mbq: float,
    at_admin_mbq: float,
    nuclide: str,
    wall: datetime,
) -> checks.Finding:
    assert ctx.prescribed_activity_mbq is not None
    tolerance = policy("prescribed_tolerance_fraction")
    if ctx.planned_administration is not None:
        finding = checks.check_prescribed(at_admin_mbq, ctx.prescribed_activity_mbq, tolerance)
        finding.details["judged_at"] = iso_utc(ctx.planned_administration)
        return finding
    half_life = data.half_lives.rows.get(nuclide)
    finding = checks.check_prescribed_unplanned(
        measured_mbq,
        ctx.prescribed_activity_mbq,
        tolerance,
        half_life.half_life_s if half_life else None,
        policy("unplanned_administration_window_s"),
    )
    for key in ("within_tolerance_from", "within_tolerance_until"):
        offset = finding.details.pop(f"{key}_s", None)
        if offset is not None:
            finding.details[key] = iso_utc(wall + timedelta(seconds=offset))
    return finding
