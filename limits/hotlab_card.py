"""The EANM paediatric dosage card as typed data: weight rows × classes A/B/C, radiopharmaceuticals.

`A = baseline × multiple(weight row, class)`, never below the radiopharmaceutical's minimum. The
card prints discrete weight rows (3, 4, 6 … 50, 52–54 … 64–66, 68 kg); which row a weight between
two rows uses is the card data's `weight_rule` (limits/data/eanm-2016-paediatric-card.toml), cited
in every finding. Values not verified against the printed card carry `[check]` in their citation.
"""

from __future__ import annotations

__all__ = ["CardRadiopharmaceutical", "CardRow", "PaediatricCard", "load_card"]

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

CLASSES = ("A", "B", "C")


@dataclass(frozen=True)
class CardRow:
    weight_kg: float
    weight_max_kg: float  # the card's ranged rows (52–54 kg …) carry their upper end here
    multiple: float
    given_by_reference: bool  # class B rows from a reviewed quotation of the card; all others are [check]


@dataclass(frozen=True)
class CardRadiopharmaceutical:
    key: str
    name: str
    nuclide: str
    card_class: str
    baseline_mbq: float
    minimum_mbq: float
    aliases: tuple[str, ...]
    checked: bool
    citation: str


@dataclass(frozen=True)
class PaediatricCard:
    source_id: str
    weight_rule: str  # "nearest" (ties to the lighter row) or "down" (heaviest row at or below)
    weight_rule_citation: str
    class_rows: dict[str, tuple[CardRow, ...]]
    radiopharmaceuticals: dict[str, CardRadiopharmaceutical]

    def find(self, name: str) -> CardRadiopharmaceutical | None:
        """A radiopharmaceutical by key or alias (`tc99m_mdp` is the bisphosphonates entry)."""
        found = self.radiopharmaceuticals.get(name)
        if found is not None:
            return found
        return next((p for p in self.radiopharmaceuticals.values() if name in p.aliases), None)

    def row_for(self, card_class: str, weight_kg: float) -> CardRow:
        """The printed row a weight uses, by the card data's weight rule."""
        rows = self.class_rows[card_class]
        for row in rows:
            if row.weight_kg <= weight_kg <= row.weight_max_kg:
                return row
        if weight_kg < rows[0].weight_kg:
            return rows[0]
        if weight_kg > rows[-1].weight_max_kg:
            return rows[-1]
        below = max((r for r in rows if r.weight_max_kg < weight_kg), key=lambda r: r.weight_kg)
        above = min((r for r in rows if r.weight_kg > weight_kg), key=lambda r: r.weight_kg)
        if self.weight_rule == "down":
            return below
        return above if above.weight_kg - weight_kg < weight_kg - below.weight_max_kg else below


def load_card(name: str = "eanm-2016-paediatric-card") -> PaediatricCard:
    path = resources.files("limits") / "data" / f"{name}.toml"
    raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    src = raw["source"]
    if src["weight_rule"] not in ("nearest", "down"):
        raise ValueError(f"{name}: weight_rule must be 'nearest' or 'down'")
    class_rows = {
        cls: tuple(
            CardRow(
                float(r["weight_kg"]),
                float(r["weight_max_kg"]),
                float(r[f"class_{cls.lower()}"]),
                cls == "B" and bool(r["class_b_given"]),
            )
            for r in raw["row"]
        )
        for cls in CLASSES
    }
    pharma = {}
    for r in raw["radiopharmaceutical"]:
        if r["class"] not in CLASSES:
            raise ValueError(f"{name}: {r['key']} has class {r['class']!r} (A, B or C)")
        pharma[str(r["key"])] = CardRadiopharmaceutical(
            str(r["key"]),
            str(r["name"]),
            str(r["nuclide"]),
            str(r["class"]),
            float(r["baseline_mbq"]),
            float(r["minimum_mbq"]),
            tuple(str(a) for a in r["aliases"]),
            bool(r["checked"]),
            str(r["citation"]),
        )
    return PaediatricCard(
        str(src["id"]), str(src["weight_rule"]), str(src["weight_rule_citation"]), class_rows, pharma
    )
