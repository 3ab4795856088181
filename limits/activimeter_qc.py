"""Activimeter quality control, pure: constancy, accuracy, linearity, background and zero.

Activimeter QC practice (AAPM TG-181; IAEA TRS-454): constancy daily with a long-lived check
source, action level ±10 % (±5 % warning, AAPM TG-181 [check]). Constancy is a test of the
instrument against ITSELF: the expected
value is the instrument's own acceptance reading of that source on that nuclide setting, decay-
corrected (so a calibrator reading a steady +6 % passes every day and a change of 6 % is caught),
and it is made on every setting used clinically (an error in the Tc-99m calibration factor is
invisible on the Cs-137 setting). Without an acceptance reading on the source's own setting the
certificate stands in, and the record says so. Accuracy is against the certificate:
accuracy at installation, annually and after repair (±10 %); linearity quarterly; the daily test also
checks background and zero. The regulation asks that the calibration results be recorded (Art. 24, 26).
"""

from __future__ import annotations

__all__ = [
    "AcceptanceReading",
    "QcResult",
    "ReferenceSource",
    "check_accuracy",
    "check_background",
    "check_constancy",
    "check_linearity",
    "check_zero",
    "constancy_baseline",
    "expected_activity_mbq",
]

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from limits.decay import HalfLife, decay_factor
from limits.hotlab_data import PolicyValue


@dataclass(frozen=True)
class AcceptanceReading:
    """What this instrument showed for the source on one nuclide setting at acceptance (or after
    the last recalibration): the constancy baseline of that setting."""

    setting: str
    reading_mbq: float
    measured_at: datetime  # aware

    def as_document(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "reading_mbq": self.reading_mbq,
            "measured_at": self.measured_at.isoformat(),
        }


@dataclass(frozen=True)
class ReferenceSource:
    serial: str
    nuclide: str
    certified_activity_mbq: float
    certified_at: datetime  # aware, from the certificate
    acceptance: tuple[AcceptanceReading, ...] = ()

    def acceptance_on(self, setting: str) -> AcceptanceReading | None:
        return next((a for a in self.acceptance if a.setting == setting), None)

    def as_document(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "nuclide": self.nuclide,
            "certified_activity_mbq": self.certified_activity_mbq,
            "certified_at": self.certified_at.isoformat(),
            "acceptance": [a.as_document() for a in self.acceptance],
        }


@dataclass(frozen=True)
class QcResult:
    test: str  # constancy | accuracy | linearity | background | zero
    result: str  # pass | warning | fail
    measured: float
    expected: float | None
    unit: str
    message: str
    levels: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.result != "fail"


def expected_activity_mbq(source: ReferenceSource, at: datetime, half_life: HalfLife) -> float:
    if half_life.nuclide != source.nuclide:
        raise ValueError(f"half-life of {half_life.nuclide} given for a {source.nuclide} source")
    elapsed = (at - source.certified_at).total_seconds()
    return source.certified_activity_mbq * decay_factor(half_life.half_life_s, elapsed)


def constancy_baseline(
    source: ReferenceSource, setting: str, at: datetime, half_life: HalfLife
) -> tuple[float, dict[str, Any]]:
    """Expected constancy reading on `setting` at `at`: the acceptance reading there, decayed.

    ValueError when the setting has no acceptance reading and is not the source's own setting.
    """
    if half_life.nuclide != source.nuclide:
        raise ValueError(f"half-life of {half_life.nuclide} given for a {source.nuclide} source")
    accepted = source.acceptance_on(setting)
    if accepted is not None:
        elapsed = (at - accepted.measured_at).total_seconds()
        return accepted.reading_mbq * decay_factor(half_life.half_life_s, elapsed), {
            "kind": "acceptance_reading",
            "setting": setting,
            "reading_mbq": accepted.reading_mbq,
            "measured_at": accepted.measured_at.isoformat(),
            "half_life": half_life.as_given,
        }
    if setting == source.nuclide:
        return expected_activity_mbq(source, at, half_life), {
            "kind": "certificate",
            "setting": setting,
            "note": "no acceptance reading on this setting: the certificate stands in, so the "
            "instrument's accuracy error is inside the constancy deviation",
            "half_life": half_life.as_given,
        }
    raise ValueError(
        f"source {source.serial} has no acceptance reading on the {setting} setting: "
        "register one (hotlab_source acceptance_readings) before a constancy check there"
    )


def _level(p: PolicyValue) -> dict[str, Any]:
    return {"fraction": p.value, "citation": p.citation}


def check_constancy(
    measured_mbq: float, expected_mbq: float, action: PolicyValue, warning: PolicyValue
) -> QcResult:
    deviation = measured_mbq / expected_mbq - 1
    if abs(deviation) > action.value:
        result = "fail"
    elif abs(deviation) > warning.value:
        result = "warning"
    else:
        result = "pass"
    return QcResult(
        "constancy",
        result,
        measured_mbq,
        expected_mbq,
        "MBq",
        f"Constancy {result}: {measured_mbq:.3f} MBq vs {expected_mbq:.3f} MBq expected "
        f"({deviation * 100:+.1f} %, action ±{action.value * 100:g} %, warning ±{warning.value * 100:g} %)",
        {"action": _level(action), "warning": _level(warning)},
        {"deviation_fraction": round(deviation, 5)},
    )


def check_accuracy(measured_mbq: float, expected_mbq: float, tolerance: PolicyValue) -> QcResult:
    deviation = measured_mbq / expected_mbq - 1
    result = "fail" if abs(deviation) > tolerance.value else "pass"
    return QcResult(
        "accuracy",
        result,
        measured_mbq,
        expected_mbq,
        "MBq",
        f"Accuracy {result}: {measured_mbq:.3f} MBq vs certified {expected_mbq:.3f} MBq "
        f"({deviation * 100:+.1f} %, tolerance ±{tolerance.value * 100:g} %)",
        {"tolerance": _level(tolerance)},
        {"deviation_fraction": round(deviation, 5)},
    )


def check_background(measured_mbq: float, max_mbq: float, citation: str) -> QcResult:
    result = "fail" if measured_mbq > max_mbq else "pass"
    return QcResult(
        "background",
        result,
        measured_mbq,
        None,
        "MBq",
        f"Background {result}: {measured_mbq:.4f} MBq (maximum {max_mbq:g} MBq)",
        {"max": {"value": max_mbq, "unit": "MBq", "citation": citation}},
    )


def check_zero(measured_mbq: float, tolerance_mbq: float, citation: str) -> QcResult:
    result = "fail" if abs(measured_mbq) > tolerance_mbq else "pass"
    return QcResult(
        "zero",
        result,
        measured_mbq,
        0.0,
        "MBq",
        f"Zero {result}: empty chamber reads {measured_mbq:+.4f} MBq (tolerance ±{tolerance_mbq:g} MBq)",
        {"tolerance": {"value": tolerance_mbq, "unit": "MBq", "citation": citation}},
    )


def check_linearity(
    points: list[tuple[float, float]], half_life_s: float, tolerance: PolicyValue
) -> QcResult:
    """Decaying-source linearity: (t_s, measured MBq) points against the best-fitting decay curve.

    With the half-life known, ln A0 = mean(ln A_i + λ t_i) is the least-squares fit; each point's
    deviation from A0 · exp(−λ t_i) must stay within the tolerance.
    """
    if len(points) < 3 or any(a <= 0 for _, a in points):
        raise ValueError("linearity needs at least 3 positive measurements")
    lam = math.log(2) / half_life_s
    ln_a0 = sum(math.log(a) + lam * t for t, a in points) / len(points)
    deviations = [a / math.exp(ln_a0 - lam * t) - 1 for t, a in points]
    worst = max(deviations, key=abs)
    result = "fail" if abs(worst) > tolerance.value else "pass"
    return QcResult(
        "linearity",
        result,
        max(a for _, a in points),
        None,
        "MBq",
        f"Linearity {result}: worst deviation {worst * 100:+.2f} % over {len(points)} points, "
        f"{min(a for _, a in points):.3g}–{max(a for _, a in points):.4g} MBq "
        f"(tolerance ±{tolerance.value * 100:g} %)",
        {"tolerance": _level(tolerance)},
        {
            "points": [
                {"t_s": t, "measured_mbq": a, "deviation_fraction": round(d, 5)}
                for (t, a), d in zip(points, deviations, strict=True)
            ],
            "fitted_a0_mbq": round(math.exp(ln_a0), 4),
        },
    )
