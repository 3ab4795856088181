"""Load cited dose-rate level tables into typed, frozen objects, checked as they enter.

A level table decides when the monitor alarms, so it is validated like any outside input: every
row needs a mode, a positive finite rate in mGy/min and a citation; the table needs a `[source]`
and a `normal` row; `high_level` may not be below `normal`. A problem is a `LevelTableError` naming
the table and the row — never a traceback, never a silently repaired level.

Tables are looked up by name only (letters, digits, '-', '_'), first in the shipped `limits/data`,
then in one site folder the config names (`[fluoroscopy] levels_dir`): a name such as "../../x"
cannot load a file from anywhere else.
"""

from __future__ import annotations

__all__ = ["LevelTableError", "RateLevel", "RateLevelTable", "load_rate_levels"]

import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,99}$")
MODES = ("normal", "high_level")
MAX_RATE_MGY_MIN = 1000.0  # ten times the highest regulatory level: above it, a typo


class LevelTableError(ValueError):
    """A level table that cannot be used: unknown name, outside the allowed folders, or invalid."""


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


def _text(name: str, site_dir: str) -> str:
    if not _NAME.match(name):
        raise LevelTableError(
            f"level table name {name!r}: use the name of a table in limits/data or in levels_dir "
            "(letters, digits, '-', '_'; no path)"
        )
    shipped = resources.files("limits") / "data" / f"{name}.toml"
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    if site_dir:
        site = Path(site_dir) / f"{name}.toml"
        if site.is_file():
            return site.read_text(encoding="utf-8")
    where = "limits/data" + (f" or {site_dir}" if site_dir else "")
    raise LevelTableError(f"no level table {name!r} in {where}")


def _level(name: str, i: int, row: Any, document: str) -> RateLevel:
    where = f"level table {name!r}, [[level]] {i + 1}"
    if not isinstance(row, dict):
        raise LevelTableError(f"{where}: not a table")
    mode, rate, citation = row.get("mode"), row.get("rate_mgy_min"), row.get("citation")
    if mode not in MODES:
        raise LevelTableError(f"{where}: mode must be one of {', '.join(MODES)}, not {mode!r}")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate):
        raise LevelTableError(f"{where} ({mode}): rate_mgy_min must be a number")
    if not 0 < rate <= MAX_RATE_MGY_MIN:
        raise LevelTableError(f"{where} ({mode}): rate_mgy_min {rate} must be > 0 and ≤ {MAX_RATE_MGY_MIN:g}")
    if row.get("unit", "mGy/min") != "mGy/min":
        raise LevelTableError(f"{where} ({mode}): unit must be mGy/min")
    if not isinstance(citation, str) or not citation.strip():
        raise LevelTableError(f"{where} ({mode}): every level needs a citation")
    return RateLevel(mode, float(rate), f"{citation} ({document})")


def load_rate_levels(name: str = "dz-2015-table4-fluoroscopy", site_dir: str = "") -> RateLevelTable:
    """LevelTableError for anything but a complete, plausible, cited table."""
    try:
        raw = tomllib.loads(_text(name, site_dir))
    except tomllib.TOMLDecodeError as exc:
        raise LevelTableError(f"level table {name!r} is not valid TOML: {exc}") from None
    source = raw.get("source")
    if not isinstance(source, dict) or not all(
        isinstance(source.get(k), str) and source[k] for k in ("id", "document", "quantity")
    ):
        raise LevelTableError(f"level table {name!r}: needs a [source] with id, document and quantity")
    rows = raw.get("level")
    if not isinstance(rows, list) or not rows:
        raise LevelTableError(f"level table {name!r}: needs [[level]] rows")
    levels: dict[str, RateLevel] = {}
    for i, row in enumerate(rows):
        level = _level(name, i, row, source["document"])
        if level.mode in levels:
            raise LevelTableError(f"level table {name!r}: two rows for mode {level.mode!r}")
        levels[level.mode] = level
    if "normal" not in levels:
        raise LevelTableError(f"level table {name!r}: needs a 'normal' row (the mode judged by default)")
    high = levels.get("high_level")
    if high is not None and high.rate_mgy_min < levels["normal"].rate_mgy_min:
        raise LevelTableError(
            f"level table {name!r}: high_level {high.rate_mgy_min:g} mGy/min is below normal "
            f"{levels['normal'].rate_mgy_min:g} mGy/min"
        )
    return RateLevelTable(source["id"], source["quantity"], levels)
