"""EANM paediatric dosage card: every class, every radiopharmaceutical, the weight rule, worked examples."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from limits.hotlab import check_paediatric, paediatric_activity_mbq
from limits.hotlab_data import load_card, load_policy

CARD = load_card()
BONE = CARD.radiopharmaceuticals["tc99m_bisphosphonates"]


@pytest.mark.parametrize(
    ("key", "card_class", "activities_mbq"),
    [
        # The card's published bone-scan example (the reference quotes 95 MBq at 10 kg).
        ("tc99m_bisphosphonates", "B", [40, 95, 170, 240, 310, 375]),
        # Class A and C worked the card's way from the transcribed multiples [check]: MAG3 11.9 MBq
        # (minimum 15), I-123 sodium iodide 0.6 MBq (minimum 3).
        ("tc99m_mag3", "A", [15, 23, 34, 43, 51, 58]),
        ("i123_sodium_iodide", "C", [3, 3, 5, 8, 11, 14]),
    ],
)
def test_worked_examples_for_each_class(key: str, card_class: str, activities_mbq: list[int]) -> None:
    pharma = CARD.radiopharmaceuticals[key]
    assert pharma.card_class == card_class
    got = [round(paediatric_activity_mbq(CARD, pharma, kg)[0]) for kg in (3.5, 10, 20, 30, 40, 50)]
    assert got == activities_mbq


@pytest.mark.parametrize(
    ("weight_kg", "row_kg"),
    [
        (2.0, 3.0),  # below the card's first row: the 3 kg row
        (3.5, 3.0),  # half-way: the lighter row
        (5.0, 4.0),
        (5.1, 6.0),
        (5.9, 6.0),  # the finding: a 5.9 kg child was judged on the 4 kg row
        (9.99, 10.0),
        (19.9, 20.0),
        (53.0, 52.0),  # ranged row 52–54 kg
        (55.0, 52.0),
        (55.1, 56.0),
        (68.0, 68.0),
        (90.0, 68.0),  # heavier than the card: its last row
    ],
)
def test_a_weight_between_rows_uses_the_nearest_row(weight_kg: float, row_kg: float) -> None:
    assert CARD.weight_rule == "nearest"
    for card_class in ("A", "B", "C"):
        assert CARD.row_for(card_class, weight_kg).weight_kg == row_kg
    _, used = paediatric_activity_mbq(CARD, BONE, weight_kg)
    assert used["weight_row_kg"] == row_kg and "nearest" in used["weight_rule"]


def test_every_class_has_every_row_and_grows_with_weight() -> None:
    weights = [r.weight_kg for r in CARD.class_rows["B"]]
    assert weights[:5] == [3.0, 4.0, 6.0, 8.0, 10.0] and weights[-1] == 68.0 and len(weights) == 30
    for card_class in ("A", "B", "C"):
        rows = CARD.class_rows[card_class]
        assert [r.weight_kg for r in rows] == weights
        multiples = [r.multiple for r in rows]
        assert multiples[0] == 1.0 and multiples == sorted(multiples)
    assert (
        CARD.class_rows["A"][-1].multiple
        < CARD.class_rows["B"][-1].multiple
        < CARD.class_rows["C"][-1].multiple
    )


def test_rows_given_by_the_reference_are_distinguished_from_check_rows() -> None:
    given = {r.weight_kg: r.multiple for r in CARD.class_rows["B"] if r.given_by_reference}
    assert given == {3.0: 1.0, 10.0: 2.71, 20.0: 4.86, 30.0: 6.86, 40.0: 8.86, 50.0: 10.71, 68.0: 14.0}
    assert not any(r.given_by_reference for c in ("A", "C") for r in CARD.class_rows[c])
    raw = tomllib.loads((resources.files("limits") / "data" / "eanm-2016-paediatric-card.toml").read_text())
    assert all("[check]" in row["unverified"] for row in raw["row"])  # every row has unverified multiples


def test_the_whole_card_is_loaded_and_unverified_entries_say_check() -> None:
    pharma = CARD.radiopharmaceuticals
    assert len(pharma) >= 30
    assert {p.card_class for p in pharma.values()} == {"A", "B", "C"}
    for nuclide in ("Tc-99m", "I-123", "I-131", "F-18", "Ga-68"):
        assert any(p.nuclide == nuclide for p in pharma.values())
    for p in pharma.values():
        assert p.baseline_mbq > 0 and p.minimum_mbq > 0
        assert p.checked or "[check]" in p.citation, p.key
    assert [p.key for p in pharma.values() if p.checked] == ["tc99m_bisphosphonates"]
    assert CARD.find("tc99m_mdp") is BONE and CARD.find("lu177_psma") is None


def test_paediatric_check_flags_above_card_plus_tolerance() -> None:
    tolerance = load_policy()["paediatric_tolerance_fraction"]
    assert not check_paediatric(110.0, CARD, BONE, 10.0, tolerance).exceeded  # 94.85 × 1.2 = 113.8
    finding = check_paediatric(120.0, CARD, BONE, 10.0, tolerance)
    assert finding.exceeded
    assert finding.level == pytest.approx(113.82)
    assert "[check]" in finding.citation
    dmsa = CARD.radiopharmaceuticals["tc99m_dmsa"]  # the finding: 600 MBq to a 10 kg child
    assert check_paediatric(600.0, CARD, dmsa, 10.0, tolerance).exceeded
