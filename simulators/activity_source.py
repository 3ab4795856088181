"""What is in an activimeter's chamber over time: the seam between a hot-lab scenario and a simulator.

An `ActivitySource` answers `reading_at(t_s, chamber) -> (nuclide, activity_mbq, over_range)` for
seconds since the simulator started. Activimeter simulators (Capintec, Veenstra, Atomlab) read it on
every request, so a scripted hot-lab session can drive them. Nuclides are written the normalised
way (`Tc-99m`, `F-18`, `Cs-137`). Two simple sources ship here; richer sessions implement the same
protocol elsewhere.

Half-lives as in limits/data/half-lives.toml, DDEP/NNDC evaluated values (Tc-99m 6.0067 h,
F-18 109.77 min, I-131 8.0252 d, Cs-137 30.08 y).
"""

from __future__ import annotations

__all__ = ["HALF_LIFE_S", "ActivitySource", "ConstantSource", "DecayingSource", "demo_source"]

import math
from dataclasses import dataclass
from typing import Protocol

HALF_LIFE_S = {
    "Tc-99m": 6.0067 * 3600,
    "F-18": 109.77 * 60,
    "I-131": 8.0252 * 86400,
    "I-123": 13.22 * 3600,
    "Cs-137": 30.08 * 365.25 * 86400,
    "Co-57": 271.8 * 86400,
}


class ActivitySource(Protocol):
    def reading_at(self, t_s: float, chamber: int) -> tuple[str, float, bool]:
        """(nuclide, activity in MBq, over_range) in `chamber` at `t_s` seconds."""
        ...


@dataclass(frozen=True)
class ConstantSource:
    """A fixed activity, e.g. a Cs-137 constancy source (decay negligible over a session)."""

    nuclide: str = "Cs-137"
    activity_mbq: float = 7.4
    over_range_mbq: float = 222_000.0  # ~6 Ci, CRC-25R top of range [check per model]

    def reading_at(self, t_s: float, chamber: int) -> tuple[str, float, bool]:
        return self.nuclide, self.activity_mbq, self.activity_mbq > self.over_range_mbq


@dataclass(frozen=True)
class DecayingSource:
    """A syringe decaying from `activity0_mbq` at t = 0: A(t) = A0 · exp(−ln2 · t / T½)."""

    nuclide: str = "Tc-99m"
    activity0_mbq: float = 740.0
    half_life_s: float = HALF_LIFE_S["Tc-99m"]
    over_range_mbq: float = 222_000.0

    def reading_at(self, t_s: float, chamber: int) -> tuple[str, float, bool]:
        activity = self.activity0_mbq * math.exp(-math.log(2) * max(t_s, 0.0) / self.half_life_s)
        return self.nuclide, activity, activity > self.over_range_mbq


def demo_source() -> ActivitySource:
    """A Tc-99m syringe of 740 MBq (20 mCi), decaying."""
    return DecayingSource()
