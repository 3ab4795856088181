"""The hot-lab monitor: measurement records, context, checks → alarms, pseudonymisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers.model import Status
from tests.agent.hotlab_fixtures import Bench, activity
from tests.fakes import LocalRouter


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    b = Bench(tmp_path)
    b.monitor.register_commands(router := LocalRouter())
    b.router = router  # type: ignore[attr-defined]
    return b


def command(bench: Bench, name: str, **args: object) -> dict[str, object]:
    router: LocalRouter = bench.router  # type: ignore[attr-defined]
    return router.dispatch(name, json.dumps(args).encode())


def test_a_stable_reading_becomes_one_activity_record(bench: Bench) -> None:
    bench.feed(activity(0.003), 3)  # empty well
    for mbq in (20.0, 150.0, 400.0):  # being lowered
        bench.feed(activity(mbq))
    assert bench.records("activity") == []
    bench.feed(activity(740.0, raw_unit="mCi"), 10)
    records = bench.records("activity")
    assert len(records) == 1
    rec = records[0]
    assert rec["nuclide"] == "Tc-99m" and rec["chamber"] == "1" and rec["device"] == "dc1"
    # the window's mean, decay-corrected to its newest sample: within 0.01 % of 740 MBq over 3 s
    assert rec["activity"]["value"] == pytest.approx(740.0, rel=1e-4)  # type: ignore[index]
    assert rec["activity"]["unit"] == "MBq"  # type: ignore[index]
    assert rec["displayed"] == {"value": 20.0, "unit": "mCi"}
    assert rec["calibration"]["status"] == "valid"  # type: ignore[index]
    assert rec["calibration"]["constancy_today"] == "missing"  # type: ignore[index]


def test_context_checks_and_alarms_with_their_source(bench: Bench) -> None:
    result = command(
        bench,
        "hotlab_context",
        exam="bone_imaging",
        nuclide="Tc-99m",
        chemical_form="phosphonate",
        patient_id="ALG-0042-Benali",
        prescribed_activity_mbq=600,
        planned_administration="2026-11-22T11:00:00+01:00",  # 1 h after the FakeClock's 09:00 UTC
        operator="tech-3",
        dispense_id="D-77",
    )
    assert result["ok"], result
    bench.feed(activity(900.0), 6)  # 900 MBq now → 800.3 MBq at administration (1 h of Tc-99m decay)
    rec = bench.records("activity")[0]
    at_admin = rec["activity_at_administration"]
    assert at_admin["value"] == pytest.approx(900.0 * 0.5 ** (3600 / (6.0067 * 3600)), rel=1e-4)  # type: ignore[index]
    checks = {c["check"]: c for c in rec["checks"]}  # type: ignore[attr-defined]
    assert checks["prescribed"]["exceeded"] and checks["table5"]["exceeded"]
    table5 = bench.alarms("activity_table5")[0]
    assert table5["level"]["value"] == 600.0 and "Tableau 5" in table5["level"]["citation"]
    prescribed = bench.alarms("activity_prescribed")[0]
    assert "10 CFR 35.63" in prescribed["level"]["citation"]
    everything = json.dumps([r.details for r in bench.out.records] + [a.details for a in bench.out.alarms])
    assert "Benali" not in everything and "ALG-0042" not in everything
    assert rec["context"]["patient_pseudonym"].startswith("pid-")  # type: ignore[index]
    # the next measurement supersedes the alarms
    bench.feed(activity(0.001), 2)
    bench.feed(activity(560.0), 6)
    assert len(bench.alarms("activity_table5", "cleared")) == 1


def test_same_patient_same_pseudonym_other_key_other_pseudonym(tmp_path: Path) -> None:
    a, b = Bench(tmp_path / "a"), Bench(tmp_path / "b")
    p1 = a.monitor.pseudonymiser.pseudonym("12345")
    assert p1 == a.monitor.pseudonymiser.pseudonym(" 12345 ")
    assert p1 != b.monitor.pseudonymiser.pseudonym("12345")
    assert (tmp_path / "a" / "pseudonym.key").stat().st_mode & 0o777 == 0o600


def test_paediatric_context_uses_the_eanm_card(bench: Bench) -> None:
    command(
        bench, "hotlab_context", radiopharmaceutical="tc99m_bisphosphonates", weight_kg=10, nuclide="Tc-99m"
    )
    bench.feed(activity(150.0), 6)
    alarm = bench.alarms("activity_paediatric")[0]
    assert alarm["eanm"]["card_activity_mbq"] == pytest.approx(94.85)


def test_bad_context_is_refused_with_the_reason(bench: Bench) -> None:
    assert "unknown keys" in str(command(bench, "hotlab_context", exma="bone")["error"])
    assert "no row" in str(command(bench, "hotlab_context", exam="bone_imaging", nuclide="I-131")["error"])
    assert "weight_kg" in str(command(bench, "hotlab_context", weight_kg=-3)["error"])
    assert "UTC offset" in str(
        command(bench, "hotlab_context", planned_administration="2026-11-22T10:00")["error"]
    )


def test_nuclide_mismatch_and_over_range(bench: Bench) -> None:
    command(bench, "hotlab_context", exam="thyroid_imaging", nuclide="I-123")
    bench.feed(activity(15.0, nuclide="Tc-99m"), 6)
    assert len(bench.alarms("activity_nuclide_mismatch")) == 1
    bench.feed(activity(1e5, status=Status.OVER_RANGE), 3)
    assert len(bench.alarms("activity_over_range")) == 1
    bench.feed(activity(0.002), 1)
    assert len(bench.alarms("activity_over_range", "cleared")) == 1


def test_discharge_from_entered_activity_and_from_dose_rate(tmp_path: Path) -> None:
    bench = Bench(tmp_path, discharge_mbq_per_usv_h=25.0)
    bench.monitor.register_commands(router := LocalRouter())
    ok = router.dispatch("hotlab_discharge", b'{"retained_activity_mbq": 900, "patient_id": "X1"}')
    assert ok["ok"] and ok["exceeded"] is False
    over = router.dispatch("hotlab_discharge", b'{"dose_rate_usv_h": 48}')  # 48 x 25 = 1200 MBq
    assert over["exceeded"] is True and over["retained_activity"] == {"value": 1200.0, "unit": "MBq"}
    alarm = bench.alarms("activity_discharge")[0]
    assert "Tableau 6" in alarm["check"]["level"]["citation"]  # type: ignore[index]
    assert len(bench.records("discharge")) == 2
