"""A QC day that passes, one that fails, one where the constancy check is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.hotlab.qc import HotlabStore
from core.errors import StoreError
from tests.agent.hotlab_fixtures import Bench, activity
from tests.fakes import LocalRouter

SOURCE = {
    "serial": "CS-1234",
    "nuclide": "Cs-137",
    "certified_activity_mbq": 7.4,
    "certified_at": "2024-11-22T12:00:00Z",
}
# On the FakeClock's 2026-11-22 09:00 UTC: 729.875 d after the certificate, 2^(−1.99829/30.08) = 0.95500
EXPECTED_MBQ = 7.4 * 0.95500


def setup(tmp_path: Path, **overrides: object) -> tuple[Bench, LocalRouter]:
    bench = Bench(tmp_path, **overrides)
    bench.monitor.register_commands(router := LocalRouter())
    assert router.dispatch("hotlab_source", json.dumps(SOURCE).encode())["ok"]
    return bench, router


def run_constancy(bench: Bench, router: LocalRouter, measured_mbq: float) -> None:
    armed = router.dispatch(
        "hotlab_qc", b'{"test": "constancy", "source_serial": "CS-1234", "operator": "phys-1"}'
    )
    assert armed["armed"] == "constancy"
    bench.feed(activity(0.002), 2)
    bench.feed(activity(measured_mbq, nuclide="Cs-137"), 6)


def test_a_day_that_passes(tmp_path: Path) -> None:
    bench, router = setup(tmp_path, constancy_due_local="12:00")  # done at 10:00 local, before due
    run_constancy(bench, router, EXPECTED_MBQ * 1.01)
    (qc,) = bench.records("qc")
    assert qc["result"] == "pass" and qc["test"] == "constancy"
    assert qc["expected"]["value"] == pytest.approx(EXPECTED_MBQ, rel=1e-4)  # type: ignore[index]
    assert qc["local_date"] == "2026-11-22" and qc["operator"] == "test-physicist via test"  # authenticated
    assert bench.records("activity") == []  # the check source is not a patient measurement
    assert bench.alarms("qc_constancy_missing") == [] and bench.alarms("qc_constancy") == []
    bench.feed(activity(300.0), 6)
    assert bench.records("activity")[0]["calibration"]["constancy_today"] == "pass"  # type: ignore[index]
    # background and zero, entered by hand; both recorded
    assert router.dispatch("hotlab_qc", b'{"test": "background", "measured_mbq": 0.01}')["result"] == "pass"
    assert router.dispatch("hotlab_qc", b'{"test": "zero", "measured_mbq": 0.02}')["result"] == "fail"
    assert len(bench.alarms("qc_zero")) == 1
    # the documents survive a restart of the box, readable
    bench.monitor.store.close()
    reopened = HotlabStore(tmp_path / "hotlab.json")
    assert [d["result"] for d in reopened.qc_on("2026-11-22", "constancy")] == ["pass"]
    assert reopened.source("CS-1234").certified_activity_mbq == 7.4
    assert "CS-1234" in (tmp_path / "hotlab.json").read_text(encoding="utf-8")


def test_a_day_that_fails(tmp_path: Path) -> None:
    bench, router = setup(tmp_path)
    run_constancy(bench, router, EXPECTED_MBQ * 1.12)  # the source drifted out of ±10 %
    (qc,) = bench.records("qc")
    assert qc["result"] == "fail"
    (alarm,) = bench.alarms("qc_constancy")
    assert alarm["severity"] == "high"
    assert "±10 %" in str(alarm["levels"]["action"]["citation"])  # type: ignore[index]
    bench.feed(activity(300.0), 6)
    assert bench.records("activity")[0]["calibration"]["constancy_today"] == "fail"  # type: ignore[index]
    run_constancy(bench, router, EXPECTED_MBQ * 1.06)  # repeated after repair: warning level
    assert len(bench.alarms("qc_constancy", "cleared")) == 1
    assert bench.alarms("qc_constancy")[-1]["severity"] == "warning"


def test_a_day_without_constancy_check(tmp_path: Path) -> None:
    bench, router = setup(tmp_path, constancy_due_local="10:30")  # FakeClock: 10:00 local
    bench.feed(activity(0.002), 60 * 29)
    assert bench.alarms("qc_constancy_missing") == []
    bench.feed(activity(0.002), 60 * 2)  # past 10:30 local
    (missing,) = bench.alarms("qc_constancy_missing")
    assert missing["local_date"] == "2026-11-22"
    bench.feed(activity(0.002), 60)
    assert len(bench.alarms("qc_constancy_missing")) == 1  # raised once, not every reading
    router.dispatch(
        "hotlab_qc",
        json.dumps({"test": "constancy", "source_serial": "CS-1234", "measured_mbq": EXPECTED_MBQ}).encode(),
    )
    assert len(bench.alarms("qc_constancy_missing", "cleared")) == 1


def test_linearity_and_accuracy_runs(tmp_path: Path) -> None:
    bench, router = setup(tmp_path)
    tc = {
        "serial": "TC-LIN",
        "nuclide": "Tc-99m",
        "certified_activity_mbq": 30000,
        "certified_at": "2026-11-20T08:00:00Z",
    }
    router.dispatch("hotlab_source", json.dumps(tc).encode())
    hl_h = 6.0067
    points = [
        {"at": f"2026-11-20T{8 + h:02d}:00:00Z", "measured_mbq": 30000 * 0.5 ** (h / hl_h)}
        for h in (0, 4, 8, 12)
    ]
    done = router.dispatch(
        "hotlab_qc", json.dumps({"test": "linearity", "source_serial": "TC-LIN", "points": points}).encode()
    )
    assert done["result"] == "pass"
    acc = router.dispatch(
        "hotlab_qc",
        json.dumps(
            {"test": "accuracy", "source_serial": "CS-1234", "measured_mbq": EXPECTED_MBQ * 0.85}
        ).encode(),
    )
    assert acc["result"] == "fail"
    assert {r["test"] for r in bench.records("qc")} == {"linearity", "accuracy"}
    assert "unknown" not in str(
        router.dispatch("hotlab_qc", b'{"test": "constancy", "source_serial": "NOPE"}')
    )


def test_a_store_file_from_before_docstore_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "hotlab.json"
    qc_row = {"test": "constancy", "result": "pass", "local_date": "2026-11-21"}
    path.write_text(json.dumps({"reference_sources": {"1": SOURCE}, "qc_results": {"1": qc_row}}))
    store = HotlabStore(path)
    assert store.source("CS-1234").certified_activity_mbq == 7.4
    assert store.qc_on("2026-11-21", "constancy") == [qc_row]
    store.add_qc({**qc_row, "result": "fail"})
    assert [d["result"] for d in store.qc_on("2026-11-21", "constancy")] == ["pass", "fail"]


def test_a_corrupt_store_file_is_refused_and_left_in_place(tmp_path: Path) -> None:
    path = tmp_path / "hotlab.json"
    path.write_text('{"reference_sources": {"1": {"serial"')
    with pytest.raises(StoreError, match="not overwriting"):
        HotlabStore(path)
    assert path.read_text().startswith('{"reference_sources"') and not list(tmp_path.glob("*.corrupt-*"))
