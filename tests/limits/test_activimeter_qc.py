"""Activimeter QC, pure: constancy levels, accuracy, linearity, background, zero."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from limits import activimeter_qc as qc
from limits.decay import load_half_lives
from limits.hotlab_data import load_policy

POLICY = load_policy()
HALF = load_half_lives()
SOURCE = qc.ReferenceSource("CS-1234", "Cs-137", 7.4, datetime(2024, 11, 22, 12, 0, tzinfo=UTC))


def test_expected_activity_is_decay_corrected_from_the_certificate() -> None:
    two_years = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 730 d = 1.9986 y: 2^(−1.9986/30.08) = 0.95499
    assert qc.expected_activity_mbq(SOURCE, two_years, HALF.get("Cs-137")) == pytest.approx(
        7.4 * 0.95499, rel=1e-4
    )
    with pytest.raises(ValueError):
        qc.expected_activity_mbq(SOURCE, two_years, HALF.get("Co-57"))


@pytest.mark.parametrize(
    ("measured", "result"),
    [(7.0, "pass"), (7.5, "warning"), (6.7, "warning"), (7.8, "fail"), (6.2, "fail")],
)
def test_constancy_levels(measured: float, result: str) -> None:
    r = qc.check_constancy(
        measured, 7.067, POLICY["constancy_action_fraction"], POLICY["constancy_warning_fraction"]
    )
    assert r.result == result
    assert r.levels["action"]["fraction"] == 0.10 and r.levels["warning"]["fraction"] == 0.05


def test_accuracy_background_zero() -> None:
    assert qc.check_accuracy(7.7, 7.067, POLICY["accuracy_fraction"]).result == "pass"
    assert qc.check_accuracy(7.9, 7.067, POLICY["accuracy_fraction"]).result == "fail"
    assert qc.check_background(0.02, 0.05, "site").result == "pass"
    assert qc.check_background(0.06, 0.05, "site").result == "fail"
    assert qc.check_zero(-0.004, 0.005, "site").result == "pass"
    assert qc.check_zero(0.006, 0.005, "site").result == "fail"


def test_linearity_of_a_decaying_tc99m_source() -> None:
    hl = HALF.get("Tc-99m").half_life_s
    points = [(h * 3600.0, 30_000.0 * 0.5 ** (h * 3600.0 / hl)) for h in (0, 6, 12, 24, 48)]
    good = qc.check_linearity(points, hl, POLICY["linearity_fraction"])
    assert good.result == "pass"
    assert good.details["fitted_a0_mbq"] == pytest.approx(30_000.0)
    # the chamber saturating at the top of the range: the highest reading 20 % low
    bad_points = [(points[0][0], points[0][1] * 0.8), *points[1:]]
    assert qc.check_linearity(bad_points, hl, POLICY["linearity_fraction"]).result == "fail"
    with pytest.raises(ValueError):
        qc.check_linearity(points[:2], hl, POLICY["linearity_fraction"])
