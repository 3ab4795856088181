"""EANM paediatric dosage card: baseline × class-B multiple of the weight row, never below the minimum."""

from __future__ import annotations

import pytest

from limits.hotlab import check_paediatric, paediatric_activity_mbq
from limits.hotlab_data import load_card, load_policy

CARD = load_card()
BONE = CARD.radiopharmaceuticals["tc99m_bisphosphonates"]


@pytest.mark.parametrize(
    ("weight_kg", "row_kg", "multiple", "activity_mbq", "minimum_applied"),
    [
        (2.0, 3.0, 1.0, 40.0, True),  # below the card's first row: 3 kg row; 35 MBq < minimum 40
        (3.0, 3.0, 1.0, 40.0, True),
        (9.99, 8.0, 2.14, 74.9, False),  # 35 × 2.14, just below the 10 kg row
        (10.0, 10.0, 2.71, 94.85, False),  # the reference's example: ≈ 95 MBq at 10 kg
        (19.9, 18.0, 4.43, 155.05, False),
        (20.0, 20.0, 4.86, 170.1, False),
        (30.0, 30.0, 6.86, 240.1, False),
        (40.0, 40.0, 8.86, 310.1, False),
        (50.0, 50.0, 10.71, 374.85, False),
        (52.0, 52.0, 11.29, 395.15, False),  # ranged row 52–54 kg
        (55.9, 52.0, 11.29, 395.15, False),
        (56.0, 56.0, 12.0, 420.0, False),
        (68.0, 68.0, 14.0, 490.0, False),
        (90.0, 68.0, 14.0, 490.0, False),  # heavier than the card: its last row
    ],
)
def test_weight_row_boundaries(
    weight_kg: float, row_kg: float, multiple: float, activity_mbq: float, minimum_applied: bool
) -> None:
    activity, used = paediatric_activity_mbq(CARD, BONE, weight_kg)
    assert used["weight_row_kg"] == row_kg
    assert used["multiple"] == multiple
    assert activity == pytest.approx(activity_mbq)
    assert used["minimum_applied"] is minimum_applied


def test_rows_given_by_the_reference_are_distinguished_from_check_rows() -> None:
    given = {r.weight_kg: r.multiple for r in CARD.class_rows["B"] if r.given_by_reference}
    assert given == {3.0: 1.0, 10.0: 2.71, 20.0: 4.86, 30.0: 6.86, 40.0: 8.86, 50.0: 10.71, 68.0: 14.0}
    multiples = [r.multiple for r in CARD.class_rows["B"]]
    assert multiples == sorted(multiples)


def test_paediatric_check_flags_above_card_plus_tolerance() -> None:
    tolerance = load_policy()["paediatric_tolerance_fraction"]
    assert not check_paediatric(110.0, CARD, BONE, 10.0, tolerance).exceeded  # 94.85 × 1.2 = 113.8
    finding = check_paediatric(120.0, CARD, BONE, 10.0, tolerance)
    assert finding.exceeded
    assert finding.level == pytest.approx(113.82)
    assert "[check]" in finding.citation
