"""The hot lab's cited level data (limits/data/*.toml) as typed, frozen objects, with lookups.

- Table 5 (maximum usual activity per examination), looked up by exam + nuclide (+ chemical form);
- Table 6 (maximum activity at discharge of a treated patient);
- the EANM paediatric dosage card (limits/hotlab_card.py: classes A/B/C, every radiopharmaceutical);
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
    "Table5Choice",
    "Table5Match",
    "Table5Row",
    "load_card",
    "load_hotlab_data",
]

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from limits.decay import HalfLifeTable, load_half_lives
from limits.hotlab_card import CardRadiopharmaceutical, CardRow, PaediatricCard, load_card


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
    chemical_form_aliases: tuple[str, ...]
    ambiguous: bool
    note: str
    citation: str


@dataclass(frozen=True)
class Table5Match:
    """What a lookup found. When rows disagree the lowest level is used, and `ambiguous` says so;
    a pairing the data resolves (`[[choice]]`) keeps the chosen row and says which were set aside, why."""

    rows: tuple[Table5Row, ...]
    set_aside: tuple[int, ...] = ()
    reason: str = ""
    read_as: str = ""  # a chemical form matched through an alias, e.g. the order's «globuline 3» as MAG3

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
            **({"set_aside_rows": list(self.set_aside), "reason": self.reason} if self.set_aside else {}),
            **({"read_as": self.read_as} if self.read_as else {}),
        }


@dataclass(frozen=True)
class Table5Choice:
    exam: str
    nuclide: str
    chemical_form: str
    row: int
    set_aside: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Table5:
    source_id: str
    rows: tuple[Table5Row, ...]
    choices: tuple[Table5Choice, ...] = ()

    def row(self, number: int) -> Table5Row:
        for r in self.rows:
            if r.row == number:
                return r
        raise KeyError(f"Table 5 has no row {number}")

    def lookup(self, exam: str, nuclide: str, chemical_form: str | None = None) -> Table5Match:
        """Rows for an exam and nuclide (and chemical form or its alias, when given). KeyError when none."""
        found = tuple(
            r
            for r in self.rows
            if r.exam == exam
            and r.nuclide == nuclide
            and (
                chemical_form is None
                or chemical_form == r.chemical_form
                or chemical_form in r.chemical_form_aliases
            )
        )
        if not found:
            form = f", chemical form {chemical_form!r}" if chemical_form else ""
            raise KeyError(f"Table 5 has no row for exam {exam!r}, nuclide {nuclide!r}{form}")
        set_aside: tuple[int, ...] = ()
        reason = ""
        for c in self.choices:
            if (c.exam, c.nuclide) == (exam, nuclide) and chemical_form in (None, c.chemical_form):
                set_aside += tuple(r.row for r in found if r.row in c.set_aside)
                reason = c.reason
        kept = tuple(r for r in found if r.row not in set_aside)
        aliased = [r for r in kept if chemical_form is not None and chemical_form != r.chemical_form]
        read_as = (
            f"chemical form {chemical_form!r} read as {aliased[0].chemical_form!r} "
            f"(printed «{aliased[0].chemical_form_fr}»), row {aliased[0].row}"
            if aliased
            else ""
        )
        return Table5Match(kept, set_aside, reason if set_aside else "", read_as)

    def named(self, number: int) -> Table5Match:
        """A row a context names directly: judged by that row alone."""
        return Table5Match((self.row(number),))

    @property
    def exams(self) -> list[str]:
        return sorted({r.exam for r in self.rows})


@dataclass(frozen=True)
class DischargeLevel:
    nuclide: str
    max_activity_mbq: float
    citation: str


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
            chemical_form_aliases=tuple(str(a) for a in r.get("chemical_form_aliases", ())),
            ambiguous=bool(r["ambiguous"]),
            note=str(r["note"]),
            citation=_citation(src, int(r["row"]), int(r["seed_line"])),
        )
        for r in raw["row"]
    )
    choices = tuple(
        Table5Choice(
            str(c["exam"]),
            str(c["nuclide"]),
            str(c["chemical_form"]),
            int(c["row"]),
            tuple(int(n) for n in c["set_aside"]),
            str(c["reason"]),
        )
        for c in raw.get("choice", ())
    )
    return Table5(str(src["id"]), rows, choices)


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


def load_policy(name: str = "hotlab-policy") -> dict[str, PolicyValue]:
    raw = _data(name)
    return {
        str(r["key"]): PolicyValue(str(r["key"]), float(r["value"]), str(r["unit"]), str(r["citation"]))
        for r in raw["policy"]
    }


def load_hotlab_data() -> HotlabData:
    return HotlabData(load_half_lives(), load_table5(), load_discharge(), load_card(), load_policy())
