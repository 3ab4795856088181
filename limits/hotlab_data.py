"""The hot lab's cited level data (limits/data/*.toml) as typed, frozen objects, with lookups.

- Table 5 (maximum usual activity per examination), looked up by exam + nuclide (+ chemical form);
- Table 6 (maximum activity at discharge of a treated patient);
- the EANM paediatric dosage card (class B multiples, baseline and minimum per radiopharmaceutical);
- policy numbers (tolerances, QC action levels, Mo-99 breakthrough) with their citations.
"""

from __future__ import annotations

__all__ = [
    "CardRadiopharmaceutical",
    "CardRow",
    "DischargeLevel",
    "HotlabData",
    "PaediatricCard",
    "PolicyValue",
    "Table5",
    "Table5Match",
    "Table5Row",
    "load_hotlab_data",
]

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from limits.decay import HalfLifeTable, load_half_lives


def _data(name: str) -> dict[str, Any]:
    path = resources.files("limits") / "data" / f"{name}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no level table {name!r} in limits/data")
    return tomllib.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Table5Row:
    row: int
    seed_line: int
    exam: str
    exam_fr: str
    nuclide: str
    chemical_form: str
    chemical_form_fr: str
    max_activity_mbq: float
    layout: str
    ambiguous: bool
    note: str
    citation: str


@dataclass(frozen=True)
class Table5Match:
    """What a lookup found. When rows disagree the lowest level is used, and `ambiguous` says so."""

    rows: tuple[Table5Row, ...]

    @property
    def max_activity_mbq(self) -> float:
        return min(r.max_activity_mbq for r in self.rows)

    @property
    def ambiguous(self) -> bool:
        return len({r.max_activity_mbq for r in self.rows}) > 1 or any(r.ambiguous for r in self.rows)

    @property
    def citation(self) -> str:
        return "; ".join(r.citation for r in self.rows)

    def as_details(self) -> dict[str, Any]:
        return {
            "value": self.max_activity_mbq,
            "unit": "MBq",
            "citation": self.citation,
            "rows": [r.row for r in self.rows],
            "ambiguous": self.ambiguous,
            "notes": [r.note for r in self.rows if r.note],
        }


@dataclass(frozen=True)
class Table5:
    source_id: str
    rows: tuple[Table5Row, ...]

    def row(self, number: int) -> Table5Row:
        for r in self.rows:
            if r.row == number:
                return r
        raise KeyError(f"Table 5 has no row {number}")

    def lookup(self, exam: str, nuclide: str, chemical_form: str | None = None) -> Table5Match:
        """Rows for an exam and nuclide (and chemical form, when given). KeyError when none match."""
        found = tuple(
            r
            for r in self.rows
            if r.exam == exam
            and r.nuclide == nuclide
            and (chemical_form is None or r.chemical_form == chemical_form)
        )
        if not found:
            form = f", chemical form {chemical_form!r}" if chemical_form else ""
            raise KeyError(f"Table 5 has no row for exam {exam!r}, nuclide {nuclide!r}{form}")
        return Table5Match(found)

    @property
    def exams(self) -> list[str]:
        return sorted({r.exam for r in self.rows})


@dataclass(frozen=True)
class DischargeLevel:
    nuclide: str
    max_activity_mbq: float
    citation: str


@dataclass(frozen=True)
class CardRow:
    weight_kg: float
    weight_max_kg: float
    multiple: float
    given_by_reference: bool


@dataclass(frozen=True)
class CardRadiopharmaceutical:
    key: str
    name: str
    nuclide: str
    card_class: str
    baseline_mbq: float
    minimum_mbq: float
    citation: str


@dataclass(frozen=True)
class PaediatricCard:
    source_id: str
    class_rows: dict[str, tuple[CardRow, ...]]
    radiopharmaceuticals: dict[str, CardRadiopharmaceutical]

    def row_for(self, card_class: str, weight_kg: float) -> CardRow:
        """The heaviest row at or below the weight; the lightest row below it [check]."""
        rows = self.class_rows[card_class]
        chosen = rows[0]
        for row in rows:
            if row.weight_kg <= weight_kg:
                chosen = row
        return chosen


@dataclass(frozen=True)
class PolicyValue:
    key: str
    value: float
    unit: str
    citation: str


@dataclass(frozen=True)
class HotlabData:
    half_lives: HalfLifeTable
    table5: Table5
    discharge: dict[str, DischargeLevel]
    card: PaediatricCard
    policy: dict[str, PolicyValue]


def _citation(source: dict[str, Any], row: int, seed_line: int) -> str:
    return f"{source['id']} row {row} (seed line {seed_line}): {source['table']}"


def load_table5(name: str = "dz-2015-table5-nuclear-medicine") -> Table5:
    raw = _data(name)
    src = raw["source"]
    rows = tuple(
        Table5Row(
            row=int(r["row"]),
            seed_line=int(r["seed_line"]),
            exam=str(r["exam"]),
            exam_fr=str(r["exam_fr"]),
            nuclide=str(r["nuclide"]),
            chemical_form=str(r["chemical_form"]),
            chemical_form_fr=str(r["chemical_form_fr"]),
            max_activity_mbq=float(r["max_activity_mbq"]),
            layout=str(r["layout"]),
            ambiguous=bool(r["ambiguous"]),
            note=str(r["note"]),
            citation=_citation(src, int(r["row"]), int(r["seed_line"])),
        )
        for r in raw["row"]
    )
    return Table5(str(src["id"]), rows)


def load_discharge(name: str = "dz-2015-table6-discharge") -> dict[str, DischargeLevel]:
    raw = _data(name)
    src = raw["source"]
    return {
        str(r["nuclide"]): DischargeLevel(
            str(r["nuclide"]),
            float(r["max_activity_mbq"]),
            _citation(src, int(r["row"]), int(r["seed_line"])),
        )
        for r in raw["row"]
    }


def load_card(name: str = "eanm-2016-paediatric-card") -> PaediatricCard:
    raw = _data(name)
    rows = tuple(
        CardRow(
            float(r["weight_kg"]),
            float(r["weight_max_kg"]),
            float(r["multiple"]),
            bool(r["given_by_reference"]),
        )
        for r in raw["class_b"]
    )
    pharma = {
        str(r["key"]): CardRadiopharmaceutical(
            str(r["key"]),
            str(r["name"]),
            str(r["nuclide"]),
            str(r["class"]),
            float(r["baseline_mbq"]),
            float(r["minimum_mbq"]),
            str(r["citation"]),
        )
        for r in raw["radiopharmaceutical"]
    }
    return PaediatricCard(str(raw["source"]["id"]), {"B": rows}, pharma)


def load_policy(name: str = "hotlab-policy") -> dict[str, PolicyValue]:
    raw = _data(name)
    return {
        str(r["key"]): PolicyValue(str(r["key"]), float(r["value"]), str(r["unit"]), str(r["citation"]))
        for r in raw["policy"]
    }


def load_hotlab_data() -> HotlabData:
    return HotlabData(load_half_lives(), load_table5(), load_discharge(), load_card(), load_policy())
