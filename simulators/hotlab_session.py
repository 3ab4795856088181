"""A scripted hot-lab session for activimeter simulators: what is in the well at each moment.

Implements the `ActivitySource` shape the activimeter simulators read from
(`reading_at(t_s, chamber) -> (nuclide setting, activity MBq, over_range)`), without importing it.
Time `t_s` is seconds since the session started; the cycle repeats every `cycle_s`:

  background → Cs-137 constancy source (drifts out of tolerance, day by day), read on each nuclide
  setting of `source_settings` in turn → empty → a syringe (Tc-99m unless `syringe_nuclide` says
  otherwise, e.g. Rb-82 or O-15) lowered into the well (a ramp: not a measurement) → syringe at
  rest, decaying in real time → withdrawn → Mo-99/Tc-99m generator eluate beyond range (over-range) → empty.

Each simulated cycle counts as one QC day for the drift of the check source. Noise is deterministic
(a hash of time), so tests can rely on the figures.
"""

from __future__ import annotations

__all__ = ["HotlabSession", "SessionScript", "demo_script"]

import math
import zlib
from dataclasses import dataclass

TC99M_HALF_LIFE_S = 6.0067 * 3600  # limits/data/half-lives.toml (DDEP/NNDC)
CS137_HALF_LIFE_S = 30.08 * 365.25 * 86400


@dataclass(frozen=True)
class SessionScript:
    background_mbq: float = 0.004
    noise_fraction: float = 0.003
    cs137_certified_mbq: float = 7.4  # 200 µCi check source
    cs137_age_s: float = 2 * 365.25 * 86400  # since its certificate
    cs137_drift_per_day: float = 0.02  # apparent response drift: +2 %/day → out of ±10 % by day 6
    # The source read on each setting in turn: (setting, what the display shows per MBq of Cs-137).
    # On its own setting a calibrator shows the activity (× its own bias, e.g. 1.06); on another
    # nuclide's setting it applies that nuclide's calibration factor (simulator values, not a device's).
    source_settings: tuple[tuple[str, float], ...] = (("Cs-137", 1.0),)
    first_day: int = 0  # the QC day of the first cycle (6: the check source is already out of tolerance)
    syringe_mbq_at_start: float = 740.0
    syringe_nuclide: str = "Tc-99m"
    syringe_half_life_s: float = TC99M_HALF_LIFE_S  # the half-life the syringe really decays with
    range_max_mbq: float = 100_000.0
    eluate_mbq: float = 150_000.0
    t_background_s: float = 10.0
    t_source_s: float = 20.0  # Cs-137 in the well until here
    t_empty_s: float = 25.0
    t_lowering_s: float = 31.0  # syringe lowered from t_empty_s to here
    t_at_rest_s: float = 60.0
    t_withdrawn_s: float = 63.0
    t_eluate_s: float = 70.0
    cycle_s: float = 80.0


class HotlabSession:
    def __init__(self, script: SessionScript | None = None, chamber: int = 1) -> None:
        self.script = script or SessionScript()
        self.chamber = chamber

    def _noise(self, t_s: float) -> float:
        h = zlib.crc32(f"{t_s:.3f}".encode()) / 0xFFFFFFFF
        return 1 + self.script.noise_fraction * (2 * h - 1)

    def expected_cs137_mbq(self, t_s: float) -> float:
        """What the certificate says the check source holds now (no drift)."""
        s = self.script
        return s.cs137_certified_mbq * math.exp(-math.log(2) * (s.cs137_age_s + t_s) / CS137_HALF_LIFE_S)

    def syringe_mbq(self, t_s: float) -> float:
        s = self.script
        return s.syringe_mbq_at_start * math.exp(-math.log(2) * t_s / s.syringe_half_life_s)

    def source_setting(self, phase_s: float) -> tuple[str, float]:
        """The setting the check source is read on at this moment of its phase, and its response."""
        s = self.script
        share = (s.t_source_s - s.t_background_s) / len(s.source_settings)
        index = min(int((phase_s - s.t_background_s) // share), len(s.source_settings) - 1)
        return s.source_settings[index]

    def reading_at(self, t_s: float, chamber: int) -> tuple[str, float, bool]:
        s = self.script
        if chamber != self.chamber:
            return "Tc-99m", s.background_mbq * self._noise(t_s), False
        day, phase = divmod(t_s, s.cycle_s)
        noise = self._noise(t_s)
        if phase < s.t_background_s:
            return "Tc-99m", s.background_mbq * noise, False
        if phase < s.t_source_s:
            drift = 1 + s.cs137_drift_per_day * (s.first_day + day)
            setting, response = self.source_setting(phase)
            return setting, self.expected_cs137_mbq(t_s) * response * drift * noise, False
        if phase < s.t_empty_s:
            return "Tc-99m", s.background_mbq * noise, False
        if phase < s.t_lowering_s:
            depth = (phase - s.t_empty_s) / (s.t_lowering_s - s.t_empty_s)
            geometry = depth**3  # far above the well the chamber sees little
            return s.syringe_nuclide, max(self.syringe_mbq(t_s) * geometry, s.background_mbq) * noise, False
        if phase < s.t_at_rest_s:
            return s.syringe_nuclide, self.syringe_mbq(t_s) * noise, False
        if phase < s.t_withdrawn_s:
            return s.syringe_nuclide, self.syringe_mbq(t_s) * 0.2 * noise, False
        if phase < s.t_eluate_s:
            return "Tc-99m", s.range_max_mbq, s.eluate_mbq > s.range_max_mbq
        return "Tc-99m", s.background_mbq * noise, False


def demo_script() -> SessionScript:
    """`doseedge demo --station hotlab`: one short cycle on the 7th QC day (the source is +12 %).

    Cs-137 in the well 3–10 s, a 555 MBq (15 mCi) Tc-99m syringe lowered 12–15 s and at rest until
    26 s, withdrawn, an eluate beyond range 27–31 s. A bone scan's 600 MBq (Table 5 row 1) is above it.
    """
    return SessionScript(
        first_day=6,
        syringe_mbq_at_start=555.0,
        t_background_s=3.0,
        t_source_s=10.0,
        t_empty_s=12.0,
        t_lowering_s=15.0,
        t_at_rest_s=26.0,
        t_withdrawn_s=27.0,
        t_eluate_s=31.0,
        cycle_s=34.0,
    )
