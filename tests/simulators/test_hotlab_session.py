"""The hot-lab session scenario: what the activimeter simulators will display."""

from __future__ import annotations

import pytest

from limits.activimeter_qc import check_constancy
from limits.hotlab_data import load_policy
from simulators.hotlab_session import HotlabSession

POLICY = load_policy()


def constancy_on_cycle(session: HotlabSession, cycle: int) -> str:
    t = cycle * session.script.cycle_s + (session.script.t_background_s + session.script.t_source_s) / 2
    nuclide, mbq, over = session.reading_at(t, 1)
    assert nuclide == "Cs-137" and not over
    return check_constancy(
        mbq,
        session.expected_cs137_mbq(t),
        POLICY["constancy_action_fraction"],
        POLICY["constancy_warning_fraction"],
    ).result


def test_check_source_drifts_from_pass_through_warning_to_fail() -> None:
    session = HotlabSession()
    assert [constancy_on_cycle(session, c) for c in range(7)] == [
        "pass", "pass", "pass", "warning", "warning", "fail", "fail"
    ]  # fmt: skip


def test_syringe_decays_in_real_time_and_eluate_is_over_range() -> None:
    session = HotlabSession()
    s = session.script
    _, at_rest, _ = session.reading_at(s.t_lowering_s + 1, 1)
    _, one_h_later, _ = session.reading_at(s.t_lowering_s + 1 + 3600 - 3600 % s.cycle_s, 1)
    assert at_rest == pytest.approx(session.syringe_mbq(s.t_lowering_s + 1), rel=0.005)
    assert one_h_later / at_rest == pytest.approx(
        0.5 ** ((3600 - 3600 % s.cycle_s) / (6.0067 * 3600)), rel=0.01
    )
    assert session.reading_at(s.t_withdrawn_s + 1, 1)[2] is True
    assert session.reading_at(s.t_lowering_s + 1, 2)[1] < 0.01  # the other chamber stays empty
