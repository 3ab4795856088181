"""A scripted procedure: what the beam does over time, as a list of segments.

Times are seconds since the script started on the simulator's own monotonic clock. A segment
holds a KAP rate in Gy·cm²/min (0 = beam off). `from_esak` builds a script from entrance dose
rates for a given room geometry, so a scenario can be written in the numbers of the guidance level.
"""

from __future__ import annotations

__all__ = ["Procedure", "Segment"]

from dataclasses import dataclass

from limits.dosimetry import Geometry, esak_rate_mgy_min


@dataclass(frozen=True)
class Segment:
    duration_s: float
    kap_rate_gy_cm2_min: float


@dataclass(frozen=True)
class Procedure:
    segments: tuple[Segment, ...]
    loop: bool = False

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)

    def kap_rate_at(self, t_s: float) -> float:
        total = self.duration_s
        if total <= 0 or t_s < 0:
            return 0.0
        if self.loop:
            t_s %= total
        for segment in self.segments:
            if t_s < segment.duration_s:
                return segment.kap_rate_gy_cm2_min
            t_s -= segment.duration_s
        return 0.0

    @staticmethod
    def from_esak(steps: list[tuple[float, float]], geometry: Geometry, loop: bool = False) -> Procedure:
        """`steps` are (duration_s, entrance dose rate in mGy/min)."""
        per_unit_kap = esak_rate_mgy_min(1.0, geometry)
        return Procedure(tuple(Segment(d, esak / per_unit_kap) for d, esak in steps), loop)


def demo_procedure(geometry: Geometry, loop: bool = False) -> Procedure:
    """A short C-arm run that crosses 25 mGy/min and comes back under it."""
    return Procedure.from_esak(
        [
            (3.0, 0.0),  # idle
            (6.0, 14.0),  # normal fluoroscopy, well below the level
            (8.0, 38.0),  # thick patient, steep angle: above 25 mGy/min
            (6.0, 12.0),  # collimated, back below
            (4.0, 0.0),  # beam off
        ],
        geometry,
        loop,
    )
