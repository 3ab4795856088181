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
    "check_table5",
    "paediatric_activity_mbq",
    "retained_from_dose_rate_mbq",
]

from dataclasses import dataclass, field
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
    """Activity at administration vs the prescription; exceeded beyond ± tolerance."""
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


def check_table5(activity_mbq: float, match: Table5Match) -> Finding:
    level = match.max_activity_mbq
    row = match.rows[0]
    ambiguous = " (ambiguous row in the seed, lowest level used)" if match.ambiguous else ""
    return Finding(
        "table5",
        activity_mbq > level,
        activity_mbq,
        level,
        "MBq",
        match.citation,
        f"Activity {activity_mbq:.1f} MBq is above the {level:g} MBq maximum usual activity for "
        f"{row.exam_fr} with {row.nuclide}{ambiguous}",
        {"table5": match.as_details()},
    )


def paediatric_activity_mbq(
    card: PaediatricCard, pharma: CardRadiopharmaceutical, weight_kg: float
) -> tuple[float, dict[str, Any]]:
    """EANM card: baseline × multiple(weight row, class), never below the minimum (dosimetry.md §5)."""
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
        "multiple": row.multiple,
        "row_given_by_reference": row.given_by_reference,
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


def check_mo99(
    mo99_kbq: float,
    tc99m_mbq: float,
    level: PolicyValue,
    mo99_half_life_s: float,
    tc99m_half_life_s: float,
    elapsed_s: float = 0.0,
) -> Finding:
    """Mo-99 per Tc-99m in an eluate, decayed `elapsed_s` ahead (to administration); ≤ level."""
    mo = mo99_kbq * decay_factor(mo99_half_life_s, elapsed_s)
    tc = tc99m_mbq * decay_factor(tc99m_half_life_s, elapsed_s)
    ratio = mo / tc
    return Finding(
        "mo99_breakthrough",
        ratio > level.value,
        ratio,
        level.value,
        "kBq/MBq",
        level.citation,
        f"Mo-99 breakthrough {ratio:.3f} kBq/MBq is above {level.value:g} kBq/MBq",
        {"mo99_kbq": mo99_kbq, "tc99m_mbq": tc99m_mbq, "decayed_s": elapsed_s},
    )
