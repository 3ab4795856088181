"""Radioactive decay: A(t) = A0 · exp(−ln2 · Δt / T½).

Half-lives are cited data (limits/data/half-lives.toml), never literals in code. Times are
seconds; Δt may be negative (correcting a measurement back to an earlier reference time).
"""

from __future__ import annotations

__all__ = ["HalfLife", "HalfLifeTable", "administered_activity_mbq", "decay_factor", "load_half_lives"]

import math
import tomllib
from dataclasses import dataclass
from importlib import resources

SECONDS_PER = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "y": 365.25 * 86400.0}


@dataclass(frozen=True)
class HalfLife:
    nuclide: str
    half_life_s: float
    as_given: str  # "6.0067 h", as in the source
    citation: str

    @property
    def checked(self) -> bool:
        """False when the source marks the value [check]."""
        return "[check]" not in self.citation


@dataclass(frozen=True)
class HalfLifeTable:
    rows: dict[str, HalfLife]

    def get(self, nuclide: str) -> HalfLife:
        try:
            return self.rows[nuclide]
        except KeyError:
            known = ", ".join(sorted(self.rows))
            raise KeyError(f"no half-life for {nuclide!r} in limits/data/half-lives.toml ({known})") from None

    def __contains__(self, nuclide: object) -> bool:
        return nuclide in self.rows


def decay_factor(half_life_s: float, elapsed_s: float) -> float:
    """A(t0 + elapsed) / A(t0)."""
    return math.exp(-math.log(2) * elapsed_s / half_life_s)


def administered_activity_mbq(
    pre_mbq: float, pre_elapsed_s: float, residual_mbq: float, residual_elapsed_s: float, half_life_s: float
) -> float:
    """Pre-measured activity decayed to injection minus the residual decayed to injection (§5).

    `*_elapsed_s` is injection time minus that measurement's time (a residual measured after the
    injection has a negative elapsed time and is corrected back).
    """
    return pre_mbq * decay_factor(half_life_s, pre_elapsed_s) - residual_mbq * decay_factor(
        half_life_s, residual_elapsed_s
    )


def load_half_lives(name: str = "half-lives") -> HalfLifeTable:
    path = resources.files("limits") / "data" / f"{name}.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    rows = {}
    for row in raw["nuclide"]:
        unit = str(row["unit"])
        value = float(row["half_life"])
        seconds = value * SECONDS_PER[unit]
        rows[str(row["nuclide"])] = HalfLife(
            str(row["nuclide"]), seconds, f"{value:g} {unit}", str(row["citation"])
        )
    return HalfLifeTable(rows)
