"""A scripted procedure: what the beam does over time, as a list of segments.

Times are seconds since the script started on the simulator's own monotonic clock. A segment
holds a mean KAP rate in Gy·cm²/min (0 = beam off). A pulsed segment (`pulse_rate_hz` > 0) shows
the rate a meter sampling a pulsed beam displays: `mean / pulse_duty` during a pulse, 0 between
pulses — spiky samples whose mean is the segment's rate. Cumulative KAP always integrates the mean.
`from_esak` builds a script from entrance dose rates for a given room geometry, so a scenario can
be written in the numbers of the guidance level.
"""

from __future__ import annotations

__all__ = ["Procedure", "Segment"]

from dataclasses import dataclass

from limits.dosimetry import Geometry, esak_rate_mgy_min


@dataclass(frozen=True)
class Segment:
    duration_s: float
    kap_rate_gy_cm2_min: float
    pulse_rate_hz: float = 0.0
    pulse_duty: float = 1.0  # fraction of each pulse period the displayed rate is high


@dataclass(frozen=True)
class Procedure:
    segments: tuple[Segment, ...]
    loop: bool = False

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)

    def _segment_at(self, t_s: float) -> tuple[Segment, float] | None:
        total = self.duration_s
        if total <= 0 or t_s < 0:
            return None
        if self.loop:
            t_s %= total
        for segment in self.segments:
            if t_s < segment.duration_s:
                return segment, t_s
            t_s -= segment.duration_s
        return None

    def kap_rate_at(self, t_s: float) -> float:
        """Mean KAP rate (what the cumulative KAP integrates)."""
        found = self._segment_at(t_s)
        return found[0].kap_rate_gy_cm2_min if found else 0.0

    def displayed_rate_at(self, t_s: float) -> float:
        """The KAP rate a meter shows at that instant: spiky in a pulsed segment."""
        found = self._segment_at(t_s)
        if found is None:
            return 0.0
        segment, into = found
        if segment.pulse_rate_hz <= 0:
            return segment.kap_rate_gy_cm2_min
        phase = (into * segment.pulse_rate_hz) % 1.0
        return segment.kap_rate_gy_cm2_min / segment.pulse_duty if phase < segment.pulse_duty else 0.0

    @staticmethod
    def from_esak(
        steps: list[tuple[float, float]],
        geometry: Geometry,
        loop: bool = False,
        pulse_rate_hz: float = 0.0,
        pulse_duty: float = 1.0,
    ) -> Procedure:
        """`steps` are (duration_s, entrance dose rate in mGy/min); beam-on steps may be pulsed."""
        per_unit_kap = esak_rate_mgy_min(1.0, geometry)
        return Procedure(
            tuple(
                Segment(d, esak / per_unit_kap, pulse_rate_hz if esak > 0 else 0.0, pulse_duty)
                for d, esak in steps
            ),
            loop,
        )


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
