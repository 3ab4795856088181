"""Load cited level tables from limits/data/*.toml into typed, frozen objects."""

from __future__ import annotations

__all__ = ["RateLevel", "RateLevelTable", "load_rate_levels"]

import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class RateLevel:
    mode: str
    rate_mgy_min: float
    citation: str


@dataclass(frozen=True)
class RateLevelTable:
    source_id: str
    quantity: str
    levels: dict[str, RateLevel]

    def for_mode(self, mode: str) -> RateLevel | None:
        return self.levels.get(mode)


def _data(name: str) -> dict[str, object]:
    path = resources.files("limits") / "data" / f"{name}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no level table {name!r} in limits/data")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_rate_levels(name: str = "dz-2015-table4-fluoroscopy") -> RateLevelTable:
    raw = _data(name)
    source = raw["source"]
    assert isinstance(source, dict)
    rows = raw["level"]
    assert isinstance(rows, list)
    levels = {}
    for row in rows:
        citation = f"{row['citation']} ({source['document']})"
        levels[row["mode"]] = RateLevel(row["mode"], float(row["rate_mgy_min"]), citation)
    return RateLevelTable(str(source["id"]), str(source["quantity"]), levels)
