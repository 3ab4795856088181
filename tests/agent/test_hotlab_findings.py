"""Issue 11: each finding of the hot-lab review, through the Capintec simulator on a real pty."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from agent.clock import iso_utc
from simulators.hotlab_session import SessionScript
from tests.agent.hotlab_pty import PtyBench

# A syringe on its own: background 1 s, a glimpse of the check source (too short to settle),
# the syringe lowered 2–4 s and at rest until 14 s.
SYRINGE = SessionScript(
    t_background_s=1.0,
    t_source_s=1.5,
    t_empty_s=2.0,
    t_lowering_s=4.0,
    t_at_rest_s=14.0,
    t_withdrawn_s=15.0,
    t_eluate_s=15.5,
    cycle_s=100.0,
)


# How the simulated syringes really decay (physics, independent of the agent's data under test).
PHYSICAL_HALF_LIFE_S = {
    "Tc-99m": 6.0067 * 3600,
    "F-18": 109.77 * 60,
    "I-123": 13.22 * 3600,
    "Lu-177": 6.647 * 86400,
    "Ga-68": 67.71 * 60,
    "O-15": 122.24,
    "Rb-82": 75.45,
}


def syringe(mbq: float, nuclide: str = "Tc-99m") -> SessionScript:
    return replace(
        SYRINGE,
        syringe_mbq_at_start=mbq,
        syringe_nuclide=nuclide,
        syringe_half_life_s=PHYSICAL_HALF_LIFE_S[nuclide],
    )


@pytest.fixture
def benches(tmp_path: Path) -> Iterator[list[PtyBench]]:
    made: list[PtyBench] = []
    yield made
    for bench in made:
        bench.close()


def bench_for(benches: list[PtyBench], tmp: Path, script: SessionScript, **overrides: object) -> PtyBench:
    bench = PtyBench(tmp, script, **overrides)
    benches.append(bench)
    return bench


# ---- 1. Children are checked for every radiopharmaceutical on the card --------------------------
def test_a_10_kg_child_given_600_mbq_dmsa_is_judged_on_the_card(
    benches: list[PtyBench], tmp_path: Path
) -> None:
    bench = bench_for(benches, tmp_path, syringe(600.0))
    result = bench.command("hotlab_context", radiopharmaceutical="tc99m_dmsa", weight_kg=10, nuclide="Tc-99m")
    assert result["ok"] is True and result["warnings"] == [], result
    bench.run(13)
    (record,) = bench.records("activity")
    (paediatric,) = [c for c in record["checks"] if c["check"] == "paediatric"]  # type: ignore[attr-defined]
    assert paediatric["exceeded"] and paediatric["eanm"]["class"] == "B"
    assert paediatric["eanm"]["card_activity_mbq"] == 18.5  # 6.8 × 2.71 = 18.4 → the 18.5 MBq minimum
    assert len(bench.alarms("activity_paediatric")) == 1


@pytest.mark.parametrize(
    ("key", "nuclide", "mbq", "weight_kg", "card_class", "row_kg", "card_mbq"),
    [
        ("tc99m_mag3", "Tc-99m", 30.0, 5.9, "A", 6.0, 17.49),  # 11.9 × 1.47; 5.9 kg → the 6 kg row
        ("i123_sodium_iodide", "I-123", 10.0, 20.0, "C", 20.0, 5.0),  # 0.6 × 8.33
    ],
)
def test_class_a_and_c_entries_are_checked_not_raised(
    benches: list[PtyBench],
    tmp_path: Path,
    key: str,
    nuclide: str,
    mbq: float,
    weight_kg: float,
    card_class: str,
    row_kg: float,
    card_mbq: float,
) -> None:
    bench = bench_for(benches, tmp_path, syringe(mbq, nuclide))
    assert bench.command("hotlab_context", radiopharmaceutical=key, weight_kg=weight_kg, nuclide=nuclide)[
        "ok"
    ]
    bench.run(13)
    (record,) = bench.records("activity")
    (paediatric,) = [c for c in record["checks"] if c["check"] == "paediatric"]  # type: ignore[attr-defined]
    eanm = paediatric["eanm"]
    assert (eanm["class"], eanm["weight_row_kg"]) == (card_class, row_kg)
    assert eanm["card_activity_mbq"] == pytest.approx(card_mbq, abs=0.01)
    assert paediatric["exceeded"] is (mbq > card_mbq * 1.2)


def test_a_weight_with_nothing_on_the_card_warns_paediatric_not_checked(
    benches: list[PtyBench], tmp_path: Path
) -> None:
    bench = bench_for(benches, tmp_path, syringe(3000.0, "Lu-177"))
    result = bench.command("hotlab_context", radiopharmaceutical="lu177_psma", weight_kg=30, nuclide="Lu-177")
    assert result["ok"] is True and "paediatric_not_checked" in str(result["warnings"])
    bench.run(13)
    (record,) = bench.records("activity")
    assert record["checks"] == []
    (missing,) = record["not_checked"]  # type: ignore[misc]
    assert missing["check"] == "paediatric" and "not on the EANM dosage card" in missing["reason"]
    (alarm,) = bench.alarms("paediatric_not_checked")
    assert alarm["severity"] == "warning" and alarm["weight_kg"] == 30.0


def test_a_weight_without_a_radiopharmaceutical_warns_too(benches: list[PtyBench], tmp_path: Path) -> None:
    bench = bench_for(benches, tmp_path, syringe(600.0))
    assert bench.command("hotlab_context", weight_kg=10, nuclide="Tc-99m")["ok"]
    bench.run(13)
    assert "no radiopharmaceutical" in bench.alarms("paediatric_not_checked")[0]["reason"]


# ---- 3. Constancy against the instrument's own acceptance readings, on every clinical setting -----
CS_SOURCE = {
    "serial": "CS-1234",
    "nuclide": "Cs-137",
    "certified_activity_mbq": 7.4,
    "certified_at": "2024-11-22T09:00:00Z",
}
ACCEPTED_AT = "2026-03-01T09:00:00Z"


def cs137_at(moment: str) -> float:
    """The certificate decayed to `moment` (both are 09:00 UTC)."""
    days = {"2026-03-01T09:00:00Z": 464.0}[moment]
    return 7.4 * 0.5 ** (days / (30.08 * 365.25))


def test_constancy_is_judged_against_the_acceptance_reading_on_every_clinical_setting(
    benches: list[PtyBench], tmp_path: Path
) -> None:
    # This calibrator has always shown the source 6 % high on its own setting (within accuracy);
    # on the Tc-99m setting it showed 1.90 × at acceptance and now shows 12 % more: a Tc-99m
    # calibration-factor error only a constancy check on that setting can catch.
    script = SessionScript(
        cs137_drift_per_day=0.0,
        source_settings=(("Cs-137", 1.06), ("Tc-99m", 1.90 * 1.12)),
        t_background_s=1.0,
        t_source_s=13.0,
        t_empty_s=14.0,
        t_lowering_s=16.0,
        t_at_rest_s=26.0,
        t_withdrawn_s=27.0,
        t_eluate_s=27.5,
        cycle_s=100.0,
    )
    bench = bench_for(benches, tmp_path, script, clinical_settings=("Tc-99m",), constancy_due_local="12:00")
    acceptance = [
        {
            "setting": "Cs-137",
            "reading_mbq": round(cs137_at(ACCEPTED_AT) * 1.06, 4),
            "measured_at": ACCEPTED_AT,
        },
        {
            "setting": "Tc-99m",
            "reading_mbq": round(cs137_at(ACCEPTED_AT) * 1.90, 4),
            "measured_at": ACCEPTED_AT,
        },
    ]
    assert bench.command("hotlab_source", **CS_SOURCE, acceptance_readings=acceptance)["ok"]
    armed = bench.command("hotlab_qc", test="constancy", source_serial="CS-1234")
    assert armed["settings"] == ["Cs-137", "Tc-99m"]
    bench.run(26)
    results = {r["setting"]: r for r in bench.records("qc")}
    assert set(results) == {"Cs-137", "Tc-99m"}
    own, tc = results["Cs-137"], results["Tc-99m"]
    assert own["result"] == "pass" and abs(own["deviation_fraction"]) < 0.01  # type: ignore[arg-type]
    assert own["baseline"]["kind"] == "acceptance_reading"  # type: ignore[index]
    assert tc["result"] == "fail" and tc["deviation_fraction"] == pytest.approx(0.12, abs=0.01)
    (alarm,) = bench.alarms("qc_constancy")
    assert alarm["setting"] == "Tc-99m" and alarm["severity"] == "high"
    # the source read on the Tc-99m setting is QC, not a patient; the syringe after it is a patient
    assert [r["nuclide"] for r in bench.records("activity")] == ["Tc-99m"]
    assert bench.records("activity")[0]["calibration"]["constancy_today"] == "fail"  # type: ignore[index]


def test_accuracy_stays_against_the_certificate(benches: list[PtyBench], tmp_path: Path) -> None:
    bench = bench_for(benches, tmp_path, syringe(600.0))
    acceptance = [{"setting": "Cs-137", "reading_mbq": 7.4, "measured_at": ACCEPTED_AT}]
    assert bench.command("hotlab_source", **CS_SOURCE, acceptance_readings=acceptance)["ok"]
    expected = 7.4 * 0.5 ** (730.0 / (30.08 * 365.25))
    done = bench.command("hotlab_qc", test="accuracy", source_serial="CS-1234", measured_mbq=expected * 1.06)
    assert done["result"] == "pass" and "certified" in str(done["message"])
    (qc,) = bench.records("qc")
    assert qc["expected"]["value"] == pytest.approx(expected, rel=1e-3)  # type: ignore[index]


def test_a_clinical_setting_without_an_acceptance_reading_is_refused_with_the_reason(
    benches: list[PtyBench], tmp_path: Path
) -> None:
    bench = bench_for(benches, tmp_path, syringe(600.0), clinical_settings=("Tc-99m", "F-18"))
    assert bench.command("hotlab_source", **CS_SOURCE)["ok"]
    refused = bench.command("hotlab_qc", test="constancy", source_serial="CS-1234")
    assert refused["ok"] is False and "no acceptance reading on the Tc-99m setting" in str(refused["error"])


# ---- 4. Short-lived PET nuclides can be recorded -------------------------------------------------
@pytest.mark.parametrize(("nuclide", "mbq"), [("Rb-82", 1500.0), ("O-15", 800.0), ("Ga-68", 150.0)])
def test_short_lived_nuclides_are_recorded_decay_corrected(
    benches: list[PtyBench], tmp_path: Path, nuclide: str, mbq: float
) -> None:
    bench = bench_for(benches, tmp_path, syringe(mbq, nuclide))
    bench.run(13)
    (record,) = bench.records("activity")
    assert record["nuclide"] == nuclide
    stable_t = 4.0 + 3.0  # at rest from 4 s, a full 3 s window after it
    low, high = bench.session.syringe_mbq(stable_t + 1.5), bench.session.syringe_mbq(stable_t - 0.5)
    assert low * 0.99 <= record["activity"]["value"] <= high * 1.01  # type: ignore[index,operator]


# ---- 5. Smaller findings -------------------------------------------------------------------------
def test_f18_drawn_30_min_early_without_a_planned_time_is_not_an_alarm(
    benches: list[PtyBench], tmp_path: Path
) -> None:
    early = 370.0 * 2 ** (30 / 109.77)  # 449 MBq: 370 MBq half an hour later
    bench = bench_for(benches, tmp_path, syringe(early, "F-18"))
    assert bench.command("hotlab_context", nuclide="F-18", prescribed_activity_mbq=370)["ok"]
    bench.run(13)
    (record,) = bench.records("activity")
    (prescribed,) = record["checks"]  # type: ignore[misc]
    assert prescribed["exceeded"] is False
    assert "no planned administration time" in prescribed["assumed"]
    assert prescribed["within_tolerance_from"] < prescribed["within_tolerance_until"]
    assert bench.alarms("activity_prescribed") == []


def test_with_a_planned_time_the_prescription_is_judged_then(benches: list[PtyBench], tmp_path: Path) -> None:
    bench = bench_for(benches, tmp_path, syringe(449.0, "F-18"))
    later = iso_utc(bench.clock.wall() + timedelta(minutes=30))
    assert bench.command(
        "hotlab_context", nuclide="F-18", prescribed_activity_mbq=300, planned_administration=later
    )["ok"]
    bench.run(13)
    (prescribed,) = bench.records("activity")[0]["checks"]  # type: ignore[misc]
    assert prescribed["exceeded"] is True and prescribed["judged_at"] == later  # 370 vs 300 MBq: +23 %
    assert prescribed["value"]["value"] == pytest.approx(449.0 * 2 ** (-30 / 109.77), rel=0.01)


def test_an_i131_overdose_without_a_planned_time_still_alarms(tmp_path: Path) -> None:
    from tests.agent.hotlab_fixtures import Bench, activity

    bench = Bench(tmp_path)
    bench.monitor.cmd_context({"nuclide": "I-131", "prescribed_activity_mbq": 3700})
    bench.feed(activity(4500.0, nuclide="I-131"), 6)  # +22 %: I-131 takes days to decay into tolerance
    (alarm,) = bench.alarms("activity_prescribed")
    assert "no planned administration time" in alarm["assumed"] and alarm["within_tolerance_from"]


def test_myocardial_spect_isonitriles_is_judged_by_row_42_with_the_reason(
    benches: list[PtyBench], tmp_path: Path
) -> None:
    bench = bench_for(benches, tmp_path, syringe(450.0))
    ctx = bench.command(
        "hotlab_context", exam="myocardial_spect", nuclide="Tc-99m", chemical_form="isonitriles"
    )
    assert ctx["ok"]
    bench.run(13)
    (table5,) = bench.records("activity")[0]["checks"]  # type: ignore[misc]
    assert table5["exceeded"] is False and table5["level"]["value"] == 600.0
    assert table5["table5"]["rows"] == [42] and table5["table5"]["set_aside_rows"] == [39]
    assert "SPECT" in table5["table5"]["reason"]
    assert bench.alarms("activity_table5") == []


def test_mag3_is_accepted_and_the_row_that_judged_it_is_named(
    benches: list[PtyBench], tmp_path: Path
) -> None:
    bench = bench_for(benches, tmp_path, syringe(150.0))
    assert bench.command("hotlab_context", exam="renography", nuclide="Tc-99m", chemical_form="mag3")["ok"]
    bench.run(13)
    (table5,) = bench.records("activity")[0]["checks"]  # type: ignore[misc]
    assert table5["exceeded"] and table5["table5"]["rows"] == [54]
    (alarm,) = bench.alarms("activity_table5")
    assert "row 54" in alarm["message"] and "globuline 3" in alarm["message"]
