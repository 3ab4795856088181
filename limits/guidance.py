"""Load the regulation's guidance-level tables (limits/data/dz-2015-table*.toml) into typed rows.

Tables 1–3 (radiography ESD, CT, mammography) are reference data for records and reports; Table 4
(fluoroscopy dose rate) is what the live check uses (limits/levels.py). Each row keeps its unit,
citation and the `check` flag of rows whose source layout is ambiguous.
"""

from __future__ import annotations

__all__ = ["GUIDANCE_TABLES", "GuidanceRow", "GuidanceTable", "load_guidance_table"]

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

GUIDANCE_TABLES = (
    "dz-2015-table1-radiography",
    "dz-2015-table2-ct",
    "dz-2015-table3-mammography",
    "dz-2015-table4-fluoroscopy",
)
_KEYS = ("exam", "projection", "grid", "mode")


@dataclass(frozen=True)
class GuidanceRow:
    key: dict[str, str]  # what the row is about: exam, projection, grid, mode
    value: float
    unit: str
    row: str
    citation: str
    check: bool
    note: str = ""


@dataclass(frozen=True)
class GuidanceTable:
    source_id: str
    table: str
    quantity: str
    unit: str
    rows: tuple[GuidanceRow, ...] = field(default_factory=tuple)

    def find(self, **key: str) -> GuidanceRow | None:
        for row in self.rows:
            if all(row.key.get(k) == v for k, v in key.items()):
                return row
        return None


def read_data(name: str) -> dict[str, Any]:
    path = resources.files("limits") / "data" / f"{name}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no level table {name!r} in limits/data")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_guidance_table(name: str) -> GuidanceTable:
    raw = read_data(name)
    source = raw["source"]
    rows = []
    for item in raw["level"]:
        value = item["value"] if "value" in item else item["rate_mgy_min"]
        key = {k: str(item[k]).lower() for k in _KEYS if k in item}
        rows.append(
            GuidanceRow(
                key,
                float(value),
                str(item["unit"]),
                str(item["row"]),
                str(item["citation"]),
                bool(item["check"]),
                str(item.get("note", "")),
            )
        )
    return GuidanceTable(
        str(source["id"]), str(source["table"]), str(source["quantity"]), str(source["unit"]), tuple(rows)
    )
