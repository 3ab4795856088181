"""When is an activimeter reading a measurement? (A syringe being lowered into the well is not.)

A measurement is taken once per insertion: when, over the last `window_s`, at least `min_samples`
readings of the same nuclide setting and chamber are all above `presence_mbq` and their spread
(max − min, after decay correction to the newest sample) is within `tolerance_fraction` of their
mean. After that the detector stays quiet until the chamber is emptied, the nuclide setting or
chamber changes, or the activity moves out of the band of the recorded value (another syringe),
decay taken into account. Over-range, frozen or failed readings are never measurements and
restart the window.
"""

from __future__ import annotations

__all__ = ["StabilityDetector", "StabilityPolicy", "StableMeasurement"]

from collections import deque
from dataclasses import dataclass

from limits.decay import decay_factor


@dataclass(frozen=True)
class StabilityPolicy:
    window_s: float = 3.0
    tolerance_fraction: float = 0.02
    presence_mbq: float = 0.5
    min_samples: int = 3


@dataclass(frozen=True)
class StableMeasurement:
    t_mono: float
    activity_mbq: float  # mean of the window, decay-corrected to t_mono
    nuclide: str
    chamber: str
    samples: int
    spread_fraction: float
    window_s: float


class StabilityDetector:
    def __init__(self, policy: StabilityPolicy) -> None:
        self.policy = policy
        self._samples: deque[tuple[float, float]] = deque()
        self._setting: tuple[str, str] | None = None
        self._recorded: tuple[float, float] | None = None  # (t, activity) of this insertion's record

    def _restart(self, forget_record: bool) -> None:
        self._samples.clear()
        if forget_record:
            self._recorded = None

    def sample(
        self,
        t_mono: float,
        activity_mbq: float,
        nuclide: str,
        chamber: str,
        valid: bool = True,
        half_life_s: float | None = None,
    ) -> StableMeasurement | None:
        """Feed one reading; returns a measurement the first time the insertion is stable."""
        if (nuclide, chamber) != self._setting:
            self._setting = (nuclide, chamber)
            self._restart(forget_record=True)
        if not valid:
            self._restart(forget_record=False)
            return None
        if activity_mbq < self.policy.presence_mbq:
            self._restart(forget_record=True)
            return None

        def corrected(t: float, value: float) -> float:
            return value if half_life_s is None else value * decay_factor(half_life_s, t_mono - t)

        if self._recorded is not None:
            t_rec, a_rec = self._recorded
            expected = corrected(t_rec, a_rec)
            if abs(activity_mbq - expected) <= self.policy.tolerance_fraction * expected:
                return None
            self._restart(forget_record=True)  # another source in the well
        self._samples.append((t_mono, activity_mbq))
        # Keep the newest sample at or before the window's start, so the samples span the window.
        while len(self._samples) >= 2 and self._samples[1][0] <= t_mono - self.policy.window_s:
            self._samples.popleft()
        if len(self._samples) < self.policy.min_samples:
            return None
        if t_mono - self._samples[0][0] < self.policy.window_s:
            return None
        values = [corrected(t, v) for t, v in self._samples]
        mean = sum(values) / len(values)
        spread = (max(values) - min(values)) / mean
        if spread > self.policy.tolerance_fraction:
            return None
        self._recorded = (t_mono, mean)
        return StableMeasurement(t_mono, mean, nuclide, chamber, len(values), spread, self.policy.window_s)
