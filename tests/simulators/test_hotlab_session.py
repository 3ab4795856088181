"""The hot-lab session scenario: what the activimeter simulators will display."""

from __future__ import annotations

import pytest

from drivers.capintec import Capintec, CapintecConfig
from drivers.model import Status
from drivers.transport import SerialTransport
from limits.activimeter_qc import check_constancy
from limits.decay import load_half_lives
from limits.hotlab_data import load_policy
from limits.stability import StabilityDetector, StabilityPolicy
from simulators.capintec import CapintecSimulator
from simulators.hotlab_session import HotlabSession, demo_script

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


def test_demo_script_one_cycle_gives_a_failing_check_source_and_one_syringe_measurement() -> None:
    session = HotlabSession(demo_script())
    s = session.script
    assert constancy_on_cycle(session, 0) == "fail"  # day 6: +12 % against ±10 %
    half_lives = load_half_lives()
    detector = StabilityDetector(StabilityPolicy())
    found = []
    for step in range(int(s.cycle_s / 0.5)):
        t = step * 0.5
        nuclide, mbq, over = session.reading_at(t, 1)
        m = detector.sample(t, mbq, nuclide, "1", not over, half_lives.get(nuclide).half_life_s)
        if m is not None:
            found.append((m.nuclide, round(m.activity_mbq)))
    assert [n for n, _ in found] == ["Cs-137", "Tc-99m"]  # the lowering and the withdrawal are not
    assert found[1][1] == pytest.approx(555, abs=2)
    assert session.reading_at(s.t_withdrawn_s + 0.5, 1)[2] is True  # the eluate: over range


def test_the_capintec_simulator_plays_the_session_over_a_real_pty() -> None:
    clock = [100.0]
    session = HotlabSession(demo_script())
    sim = CapintecSimulator(session, monotonic=lambda: clock[0])
    path = sim.start()
    try:
        config = CapintecConfig(
            name="crc", driver="capintec_crc", port=path, timeout_s=0.5, ack_timeout_s=0.5
        )
        driver = Capintec(config, SerialTransport(path, 9600))
        driver.connect()
        clock[0] += 500.0
        sim.restart_source()  # session time zero is now
        seen = []
        for t in (1.0, 6.0, 20.0, 29.0):
            clock[0] = 600.0 + t
            seen.append(driver.poll())
        driver.close()
    finally:
        sim.stop()
    background, check_source, syringe, eluate = seen
    assert background.labels["nuclide"] == "Tc-99m" and background.get("activity").value < 0.01
    assert check_source.labels["nuclide"] == "Cs-137"
    assert check_source.get("activity").value == pytest.approx(
        session.expected_cs137_mbq(6.0) * 1.12, rel=0.01
    )
    assert syringe.get("activity").value == pytest.approx(session.syringe_mbq(20.0), rel=0.005)
    assert syringe.get("activity").raw_unit == "MBq"
    assert eluate.status == Status.OVER_RANGE and eluate.measurements == ()
