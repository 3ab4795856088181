"""A syringe being lowered into the well is not a measurement; the activity at rest is, once."""

from __future__ import annotations

import pytest

from limits.decay import load_half_lives
from limits.stability import StabilityDetector, StabilityPolicy
from simulators.hotlab_session import HotlabSession

TC = load_half_lives().get("Tc-99m").half_life_s


def feed(det: StabilityDetector, session: HotlabSession, start: float, end: float, step: float = 0.5) -> list:
    found = []
    t = start
    while t < end:
        nuclide, mbq, over = session.reading_at(t, 1)
        m = det.sample(t, mbq, nuclide, "1", valid=not over, half_life_s=TC if nuclide == "Tc-99m" else None)
        if m is not None:
            found.append(m)
        t += step
    return found


def test_syringe_lowered_into_the_well_gives_one_measurement_after_it_settles() -> None:
    session = HotlabSession()
    s = session.script
    det = StabilityDetector(StabilityPolicy(window_s=3.0, tolerance_fraction=0.02, presence_mbq=0.5))
    found = feed(det, session, s.t_source_s + 0.5, s.t_withdrawn_s)
    assert len(found) == 1
    m = found[0]
    assert m.nuclide == "Tc-99m"
    # the ramp ends at t_lowering_s; the window must then be full of values at rest
    assert s.t_lowering_s + 3.0 <= m.t_mono <= s.t_lowering_s + 4.0
    assert m.activity_mbq == pytest.approx(session.syringe_mbq(m.t_mono), rel=0.005)
    assert m.spread_fraction <= 0.02


def test_no_measurement_while_lowering() -> None:
    session = HotlabSession()
    s = session.script
    det = StabilityDetector(StabilityPolicy())
    assert feed(det, session, s.t_empty_s, s.t_lowering_s) == []


def test_withdrawn_and_inserted_again_is_a_second_measurement() -> None:
    det = StabilityDetector(StabilityPolicy(window_s=2.0))
    values = [0.0, 100.0, 300.0, 300.0, 300.0, 300.0, 300.0, 0.01, 0.01, 200.0, 200.0, 200.0, 200.0, 200.0]
    found = [det.sample(float(t), v, "F-18", "1") for t, v in enumerate(values)]
    hits = [m for m in found if m is not None]
    assert [round(m.activity_mbq) for m in hits] == [300, 200]


def test_decay_alone_does_not_make_a_new_measurement() -> None:
    det = StabilityDetector(StabilityPolicy(window_s=3.0, tolerance_fraction=0.01))
    hl = load_half_lives().get("F-18").half_life_s
    hits = []
    for t in range(0, 1200, 1):  # 20 minutes of F-18 at rest: activity falls by 12 %
        m = det.sample(float(t), 400.0 * 0.5 ** (t / hl), "F-18", "1", half_life_s=hl)
        if m is not None:
            hits.append(m)
    assert len(hits) == 1


def test_over_range_and_nuclide_change() -> None:
    det = StabilityDetector(StabilityPolicy(window_s=2.0))
    for t in range(6):
        assert det.sample(float(t), 1e5, "Tc-99m", "1", valid=False) is None
    assert [det.sample(float(t), 50.0, "Tc-99m", "1") for t in range(6, 9)][-1] is not None
    # same source, operator switches the nuclide setting: a new measurement for the new setting
    hits = [det.sample(float(t), 48.0, "In-111", "1") for t in range(9, 13)]
    assert [m.nuclide for m in hits if m is not None] == ["In-111"]


@pytest.mark.parametrize(("nuclide", "drop_in_window"), [("Rb-82", 0.027), ("O-15", 0.017)])
def test_short_lived_nuclides_settle_once_decay_within_the_window_is_corrected(
    nuclide: str, drop_in_window: float
) -> None:
    hl = load_half_lives().get(nuclide).half_life_s
    assert 1 - 0.5 ** (3.0 / hl) == pytest.approx(drop_in_window, abs=0.001)
    values = [(t * 0.5, 1500.0 * 0.5 ** (t * 0.5 / hl)) for t in range(20)]
    corrected = StabilityDetector(StabilityPolicy(window_s=3.0, tolerance_fraction=0.01))
    hits = [corrected.sample(t, v, nuclide, "1", half_life_s=hl) for t, v in values]
    assert len([m for m in hits if m is not None]) == 1
    raw = StabilityDetector(StabilityPolicy(window_s=3.0, tolerance_fraction=0.01))
    assert all(raw.sample(t, v, nuclide, "1") is None for t, v in values)  # without the half-life: never
