"""Decay arithmetic against values computed by hand (2^(−Δt/T½), four significant figures)."""

from __future__ import annotations

import pytest

from limits.decay import administered_activity_mbq, decay_factor, load_half_lives

H = 3600.0
D = 86400.0


@pytest.fixture(scope="module")
def half() -> dict[str, float]:
    table = load_half_lives()
    return {n: table.get(n).half_life_s for n in ("Tc-99m", "F-18", "I-131", "Cs-137")}


@pytest.mark.parametrize(
    ("nuclide", "a0_mbq", "elapsed_s", "expected_mbq"),
    [
        # Tc-99m, T½ 6.0067 h: one half-life; 2 h: 2^(−2/6.0067) = 0.7940; 30 min: 0.9439
        ("Tc-99m", 740.0, 6.0067 * H, 370.0),
        ("Tc-99m", 740.0, 2 * H, 587.5),
        ("Tc-99m", 500.0, 0.5 * H, 471.9),
        # F-18, T½ 109.77 min: 60 min: 2^(−60/109.77) = 0.6847; two half-lives: 1/4
        ("F-18", 370.0, 60 * 60, 253.3),
        ("F-18", 400.0, 2 * 109.77 * 60, 100.0),
        # I-131, T½ 8.0252 d: 1 d: 2^(−1/8.0252) = 0.9173; 7 d: 0.5465
        ("I-131", 1100.0, 1 * D, 1009.0),
        ("I-131", 3700.0, 7 * D, 2022.0),
        # correcting back in time grows the activity: Tc-99m, 1 h earlier: 2^(1/6.0067) = 1.1223
        ("Tc-99m", 400.0, -1 * H, 448.9),
    ],
)
def test_decay_matches_hand_computed(
    half: dict[str, float], nuclide: str, a0_mbq: float, elapsed_s: float, expected_mbq: float
) -> None:
    assert a0_mbq * decay_factor(half[nuclide], elapsed_s) == pytest.approx(expected_mbq, rel=5e-4)


def test_cs137_check_source_loses_2_3_percent_a_year(half: dict[str, float]) -> None:
    # 2^(−1/30.08) = 0.97722
    assert decay_factor(half["Cs-137"], 365.25 * D) == pytest.approx(0.97722, rel=1e-4)


def test_administered_is_pre_minus_residual_both_decayed_to_injection(half: dict[str, float]) -> None:
    # pre 600 MBq measured 1 h before injection: 600 × 0.8910 = 534.6;
    # residual 20 MBq measured 10 min after: 20 × 2^(+10/360.4) = 20.39  → 514.2 MBq
    given = administered_activity_mbq(600.0, 1 * H, 20.0, -600.0, half["Tc-99m"])
    assert given == pytest.approx(514.2, rel=5e-4)


def test_every_half_life_is_cited_and_unknown_nuclides_are_refused() -> None:
    table = load_half_lives()
    assert all(h.citation for h in table.rows.values())
    assert not table.get("Mo-99").checked  # not in the reference: marked [check]
    assert table.get("Tc-99m").checked
    with pytest.raises(KeyError, match="Pu-239"):
        table.get("Pu-239")
