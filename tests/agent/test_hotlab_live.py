"""What the hot-lab monitor tells the live view, and over-range as the Capintec really sends it."""

from __future__ import annotations

from pathlib import Path

from agent.hotlab.view import record_line, status_text
from drivers.model import Reading, Status
from tests.agent.hotlab_fixtures import Bench, activity


def states(bench: Bench, reading: Reading, seconds: int) -> list[str]:
    found = []
    for _ in range(seconds):
        bench.clock.advance(1.0)
        result = bench.monitor.observe(reading, bench.clock.monotonic(), bench.clock.wall())
        bench.out.alarms += result.alarms
        bench.out.records += result.records
        found.append(result.derived["activity_state"])
    return found


def test_over_range_without_a_number_raises_and_clears(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    # drivers/capintec.py: unit digit 0 → status over_range and no measurement at all
    over = Reading("dc1", (), Status.OVER_RANGE, {}, {"nuclide": "Tc-99m", "chamber": "1"})
    assert states(bench, over, 2) == ["over_range", "over_range"]
    assert len(bench.alarms("activity_over_range")) == 1
    assert bench.monitor.live is not None and bench.monitor.live.activity_mbq is None
    assert "OVER_RANGE" in status_text(bench.monitor.live)
    states(bench, activity(0.003), 1)
    assert len(bench.alarms("activity_over_range", "cleared")) == 1
    assert bench.records("activity") == []


def test_state_is_stable_while_the_measured_syringe_stays_in_the_well(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    assert states(bench, activity(0.003), 2) == ["empty", "empty"]
    assert states(bench, activity(120.0), 1) == ["settling"]
    seen = states(bench, activity(555.0), 8)
    first_stable = seen.index("stable")
    assert seen[:first_stable] == ["settling"] * first_stable
    assert seen[first_stable:] == ["stable"] * (len(seen) - first_stable)  # not back to "settling"
    assert len(bench.records("activity")) == 1
    assert states(bench, activity(111.0), 1) == ["settling"]  # withdrawn half-way: another insertion
    live = bench.monitor.live
    assert live is not None and live.nuclide == "Tc-99m" and live.activity_mbq == 111.0
    assert "111.000 MBq settling" in status_text(live)


def test_record_lines_show_the_checks_with_their_source(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    bench.monitor.cmd_context(
        {
            "exam": "bone_imaging",
            "nuclide": "Tc-99m",
            "chemical_form": "phosphonate",
            "prescribed_activity_mbq": 550,
        }
    )
    states(bench, activity(555.0), 6)
    (record,) = [r for r in bench.out.records if r.kind == "activity"]
    text = record_line(record)
    assert text is not None
    assert "record/activity: Tc-99m 555.0 MBq" in text
    assert "check prescribed: 555.0 vs 550 MBq ±20 % → ok (US 10 CFR 35.63(d)" in text
    assert "check table5: 555.0 vs 600 MBq max → ok" in text and "Tableau 5" in text
