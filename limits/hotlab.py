"""Pure checks of a radiopharmaceutical activity against the hot lab's levels.

Each check returns a `Finding`: the value, the level it was compared with (unit and citation) and
whether it is exceeded. The agent (agent/hotlab/monitor.py) turns exceeded findings into alarms and puts
every finding in the activity record, so a physicist can re-derive each number.
"""

from __future__ import annotations

__all__ = [
    "Finding",
    "check_discharge",
    "check_mo99",
    "check_paediatric",
    "check_prescribed",
    "check_prescribed_unplanned",
    "check_table5",
    "mo99_ratio",
    "paediatric_activity_mbq",
    "retained_from_dose_rate_mbq",
]

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from limits.decay import decay_factor
from limits.hotlab_data import (
    CardRadiopharmaceutical,
    DischargeLevel,
    PaediatricCard,
    PolicyValue,
    Table5Match,
)


@dataclass(frozen=True)
class Finding:
    check: str  # prescribed | table5 | paediatric | discharge | mo99_breakthrough
    exceeded: bool
    value: float
    level: float
    unit: str
    citation: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "exceeded": self.exceeded,
            "value": {"value": round(self.value, 4), "unit": self.unit},
            "level": {"value": self.level, "unit": self.unit, "citation": self.citation},
            **self.details,
        }


def check_prescribed(activity_mbq: float, prescribed_mbq: float, tolerance: PolicyValue) -> Finding:
    """Activity at the planned administration vs the prescription; exceeded beyond ± tolerance."""
    deviation = (activity_mbq - prescribed_mbq) / prescribed_mbq
    exceeded = abs(deviation) > tolerance.value
    word = "above" if deviation > 0 else "below"
    return Finding(
        "prescribed",
        exceeded,
        activity_mbq,
        prescribed_mbq,
        "MBq",
        tolerance.citation,
        f"Activity {activity_mbq:.1f} MBq is {abs(deviation) * 100:.0f} % {word} the prescribed "
        f"{prescribed_mbq:g} MBq (tolerance ±{tolerance.value * 100:g} %)",
        {"deviation_fraction": round(deviation, 4), "tolerance_fraction": tolerance.value},
    )


def check_prescribed_unplanned(
    activity_mbq: float,
    prescribed_mbq: float,
    tolerance: PolicyValue,
    half_life_s: float | None,
    window: PolicyValue,
) -> Finding:
    """No planned administration time: assume the dose is given within `window` after measurement.

    Within tolerance if the decaying activity is inside ±tolerance of the prescription at some
    moment of the window (an F-18 dose drawn 30 min early passes; a 20 % I-131 overdose does not;
    an under-dose only gets worse). Without a half-life it is judged as it is now.
    """
    high, low = prescribed_mbq * (1 + tolerance.value), prescribed_mbq * (1 - tolerance.value)
    if half_life_s is None:
        finding = check_prescribed(activity_mbq, prescribed_mbq, tolerance)
        finding.details["assumed"] = "administration at measurement (no half-life: no decay correction)"
        return finding
    lam = math.log(2) / half_life_s
    enter_s = math.log(activity_mbq / high) / lam if activity_mbq > high else 0.0
    leave_s = math.log(activity_mbq / low) / lam if activity_mbq >= low else None
    within = leave_s is not None and enter_s <= window.value
    deviation = (activity_mbq - prescribed_mbq) / prescribed_mbq
    if within:
        message = f"Activity {activity_mbq:.1f} MBq is within ±{tolerance.value * 100:g} % of the prescribed"
    elif leave_s is None:
        message = f"Activity {activity_mbq:.1f} MBq is already more than {tolerance.value * 100:g} % below"
    else:
        message = (
            f"Activity {activity_mbq:.1f} MBq stays more than {tolerance.value * 100:g} % above for "
            f"{enter_s / 60:.0f} min, beyond the {window.value / 60:g} min assumed before administration: "
            "above"
        )
    return Finding(
        "prescribed",
        not within,
        activity_mbq,
        prescribed_mbq,
        "MBq",
        f"{tolerance.citation}; window: {window.citation}",
        f"{message} the prescribed {prescribed_mbq:g} MBq (no planned administration time)",
        {
            "deviation_fraction": round(deviation, 4),
            "tolerance_fraction": tolerance.value,
            "assumed": f"no planned administration time: administration within {window.value:g} s "
            "after measurement",
            "window_s": window.value,
            "within_tolerance_from_s": round(enter_s, 1) if leave_s is not None else None,
            "within_tolerance_until_s": round(leave_s, 1) if leave_s is not None else None,
        },
    )


def check_table5(activity_mbq: float, match: Table5Match) -> Finding:
    level = match.max_activity_mbq
    row = match.rows[0]
    if match.set_aside:
        how = f" (row {row.row}; rows {match.set_aside} set aside, see the reason)"
    elif len(match.rows) > 1:
        how = f" (rows {[r.row for r in match.rows]} disagree: the lowest level is used)"
    else:
        how = f" (row {row.row}, printed «{row.chemical_form_fr}»)"
    return Finding(
        "table5",
        activity_mbq > level,
        activity_mbq,
        level,
        "MBq",
        match.citation,
        f"Activity {activity_mbq:.1f} MBq is above the {level:g} MBq maximum usual activity for "
        f"{row.exam_fr} with {row.nuclide}{how}",
        {"table5": match.as_details()},
    )


def paediatric_activity_mbq(
    card: PaediatricCard, pharma: CardRadiopharmaceutical, weight_kg: float
) -> tuple[float, dict[str, Any]]:
    """EANM paediatric dosage card (2016): baseline × multiple(weight row, class), never below the minimum."""
    row = card.row_for(pharma.card_class, weight_kg)
    computed = pharma.baseline_mbq * row.multiple
    activity = max(computed, pharma.minimum_mbq)
    return activity, {
        "radiopharmaceutical": pharma.key,
        "class": pharma.card_class,
        "baseline_mbq": pharma.baseline_mbq,
        "minimum_mbq": pharma.minimum_mbq,
        "weight_kg": weight_kg,
        "weight_row_kg": row.weight_kg,
        "weight_row_max_kg": row.weight_max_kg,
        "weight_rule": card.weight_rule_citation,
        "multiple": row.multiple,
        "row_given_by_reference": row.given_by_reference,
        "card_values_checked": pharma.checked and row.given_by_reference,
        "minimum_applied": computed < pharma.minimum_mbq,
        "card_activity_mbq": round(activity, 2),
        "citation": f"{card.source_id}: {pharma.citation}",
    }


def check_paediatric(
    activity_mbq: float,
    card: PaediatricCard,
    pharma: CardRadiopharmaceutical,
    weight_kg: float,
    tolerance: PolicyValue,
) -> Finding:
    card_mbq, used = paediatric_activity_mbq(card, pharma, weight_kg)
    level = card_mbq * (1 + tolerance.value)
    return Finding(
        "paediatric",
        activity_mbq > level,
        activity_mbq,
        round(level, 2),
        "MBq",
        f"{used['citation']}; tolerance: {tolerance.citation}",
        f"Activity {activity_mbq:.1f} MBq for a {weight_kg:g} kg child is above the EANM card "
        f"activity {card_mbq:.1f} MBq + {tolerance.value * 100:g} %",
        {"eanm": used, "tolerance_fraction": tolerance.value},
    )


def retained_from_dose_rate_mbq(dose_rate_usv_h: float, mbq_per_usv_h: float) -> float:
    """Retained activity from a dose-rate reading and the site's measured conversion factor."""
    return dose_rate_usv_h * mbq_per_usv_h


def check_discharge(retained_mbq: float, level: DischargeLevel) -> Finding:
    return Finding(
        "discharge",
        retained_mbq > level.max_activity_mbq,
        retained_mbq,
        level.max_activity_mbq,
        "MBq",
        level.citation,
        f"Retained {level.nuclide} activity {retained_mbq:.0f} MBq is above the "
        f"{level.max_activity_mbq:g} MBq discharge level",
    )


def mo99_ratio(
    mo99_kbq: float,
    mo99_at: datetime,
    tc99m_mbq: float,
    tc99m_at: datetime,
    at: datetime,
    mo99_half_life_s: float,
    tc99m_half_life_s: float,
) -> float:
    """kBq Mo-99 per MBq Tc-99m at `at`, each activity decayed from its own measurement time."""
    mo = mo99_kbq * decay_factor(mo99_half_life_s, (at - mo99_at).total_seconds())
    tc = tc99m_mbq * decay_factor(tc99m_half_life_s, (at - tc99m_at).total_seconds())
    return mo / tc


def check_mo99(
    mo99_kbq: float,
    mo99_at: datetime,
    tc99m_mbq: float,
    tc99m_at: datetime,
    now: datetime,
    planned: datetime | None,
    level: PolicyValue,
    mo99_half_life_s: float,
    tc99m_half_life_s: float,
) -> tuple[Finding, datetime | None]:
    """Mo-99 breakthrough judged at the planned administration (else now), and when the eluate
    reaches the limit: Tc-99m decays faster than Mo-99, so the ratio only grows."""

    def ratio(at: datetime) -> float:
        return mo99_ratio(mo99_kbq, mo99_at, tc99m_mbq, tc99m_at, at, mo99_half_life_s, tc99m_half_life_s)

    growth = math.log(2) / tc99m_half_life_s - math.log(2) / mo99_half_life_s  # per second
    start = ratio(tc99m_at)
    limit_at = (  # no Mo-99 detected: the limit is never reached
        tc99m_at + timedelta(seconds=math.log(level.value / start) / growth) if start > 0 else None
    )
    judged_at = planned or now
    value = ratio(judged_at)
    when = "at the planned administration" if planned else "now (no planned administration time)"
    finding = Finding(
        "mo99_breakthrough",
        value > level.value,
        value,
        level.value,
        "kBq/MBq",
        level.citation,
        f"Mo-99 breakthrough {value:.3f} kBq/MBq {when} is above {level.value:g} kBq/MBq",
        {
            "mo99_kbq": mo99_kbq,
            "tc99m_mbq": tc99m_mbq,
            "ratio_now": {"value": round(ratio(now), 4), "unit": "kBq/MBq"},
            "ratio_at_administration": None
            if planned is None
            else {"value": round(value, 4), "unit": "kBq/MBq"},
            "judged_at": "planned_administration" if planned else "now",
        },
    )
    return finding, limit_at
