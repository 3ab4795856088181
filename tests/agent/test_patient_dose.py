"""Issue 9, finding 6: a patient's dose across pauses, procedures and restarts (agent/fluoro/patients.py),
on the real DIAMENTOR over a pty; the patient named by `cmd/procedure_open` and pseudonymised on the box."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from agent.commands.router import CommandRouter
from agent.config import parse_config
from agent.fluoro.commands import register_fluoro_commands
from agent.fluoro.patients import PatientLedger
from agent.pipeline import Pipeline
from agent.pseudonym import Pseudonymiser
from agent.store.outbox import Outbox
from tests.agent.pty_room import PtyRoom, script, shipped
from tests.agent.room import carm_toml
from tests.fakes import FakeClock, LocalRouter

# carm-room.toml: Ka,r = KAP ÷ the assumed 40 cm², so 100 Gy·cm² is 2.5 Gy at the reference point.
KAP_FOR_2_5_GY = 100.0
RATE = 10.0  # Gy·cm²/min: 2.5 Gy in 10 minutes
PAUSE_S = 16 * 60.0  # longer than procedure_idle_s (900 s): the first procedure closes


def two_runs_with_a_pause() -> object:
    run_s = KAP_FOR_2_5_GY / RATE * 60.0
    return script((1.0, 0.0), (run_s, RATE), (PAUSE_S, 0.0), (run_s, RATE), (5.0, 0.0))


@pytest.mark.parametrize("patient", ["pid-same", None])
def test_2_5_gy_a_16_minute_pause_and_2_5_gy_fire_the_3_gy_level_for_the_same_patient(
    patient: str | None,
) -> None:
    room = PtyRoom(shipped("carm-room.toml"), two_runs_with_a_pause())  # type: ignore[arg-type]
    try:
        room.open(patient)
        room.run(601.0, every_s=2.0)
        assert "kar_notification" not in room.triggers()  # 2.5 Gy: under 3 Gy
        room.run(PAUSE_S, every_s=4.0)
        (first,) = room.record("procedure")  # closed by the pause
        room.run(600.0, every_s=2.0)
    finally:
        room.stop()
    second = room.monitor.procedure.current
    assert second is not None and second.procedure_id != first["procedure_id"]
    fired = [a for a in room.raised("fluoro_trigger") if a.details["trigger"] == "kar_notification"]
    if patient is None:  # nothing links the two procedures: each is judged alone, and says so
        assert fired == []
        assert first["patient"]["pseudonym"] is None and "alone" in first["patient"]["note"]
        return
    alarm = fired[0]  # then 4 and 5 Gy: "every 1 Gy"
    assert alarm.details["procedure_id"] == second.procedure_id, (first, fired)
    assert alarm.details["level"]["value"] == 3.0 and alarm.details["index"] == 0
    assert alarm.details["judged_on"] == "patient" and alarm.details["patient"] == patient
    assert alarm.details["earlier_procedures"] == [first["procedure_id"]]
    assert room.monitor.procedure.patient_totals()["kar"] == pytest.approx(5000.0, rel=0.02)  # mGy
    assert room.monitor.procedure.totals()["kar"] == pytest.approx(2500.0, rel=0.02)  # this one alone
    assert "incl. 2.5 Gy from 1 earlier procedure" in alarm.message
    assert second.patient == patient and second.patient_source == "carried_over"
    assert first["patient"]["pseudonym"] == patient and first["patient"]["source"] == "procedure_open"


def test_the_patient_total_survives_a_restart_and_counts_only_the_look_back(tmp_path: Path) -> None:
    path = tmp_path / "patients.sqlite"
    config = shipped("carm-room.toml")
    room = PtyRoom(config, script((1.0, 0.0), (600.0, RATE), (5.0, 0.0)), PatientLedger(path, 365))
    try:
        room.open("pid-a")
        room.run(606.0, every_s=2.0)
        room.close()  # by the operator: the patient leaves the room
    finally:
        room.stop()
    assert room.monitor.procedure.room_patient is None

    # the agent restarts (a new process: new monitor, same ledger file); the patient comes back
    again = PtyRoom(config, script((1.0, 0.0), (150.0, RATE), (5.0, 0.0)), PatientLedger(path, 365))
    try:
        again.open("pid-a")
        again.run(156.0, every_s=2.0)  # 25 Gy·cm²: 0.625 Gy, 3.1 Gy with the earlier procedure
    finally:
        again.stop()
    assert "kar_notification" in again.triggers()

    # a year and a day later the earlier procedure no longer counts
    later = PatientLedger(path, 365).earlier("pid-a", again.clock.wall() + timedelta(days=366))
    assert later.procedure_ids == () and later.totals["kar"] == 0.0


def test_a_different_patient_named_by_the_operator_starts_from_their_own_total() -> None:
    room = PtyRoom(shipped("carm-room.toml"), two_runs_with_a_pause())  # type: ignore[arg-type]
    try:
        room.open("pid-first")
        room.run(601.0 + PAUSE_S, every_s=4.0)
        room.open("pid-second")  # the next patient, named: nothing carried over
        room.run(600.0, every_s=2.0)
    finally:
        room.stop()
    current = room.monitor.procedure.current
    assert current is not None and current.patient == "pid-second" and current.earlier is not None
    assert current.earlier.procedure_ids == ()
    assert "kar_notification" not in room.triggers()


def station(tmp_path: Path) -> tuple[Pipeline, CommandRouter, Outbox]:
    key = tmp_path / "pseudonym.key"
    config = parse_config(carm_toml(f'pseudonym_key_path = "{key}"'))
    clock = FakeClock()
    outbox = Outbox(tmp_path / "outbox.sqlite")
    pipeline = Pipeline(config, outbox, clock, lambda: None)
    router = LocalRouter()
    register_fluoro_commands(router, pipeline, clock)
    return pipeline, router, outbox


def test_procedure_open_pseudonymises_the_patient_and_never_keeps_the_raw_id(tmp_path: Path) -> None:
    pipeline, router, outbox = station(tmp_path)
    reply = router.dispatch("procedure_open", json.dumps({"by": "rt", "patient_id": "IPP-778812"}).encode())
    assert reply["ok"], reply
    expected = Pseudonymiser(tmp_path / "pseudonym.key").pseudonym("IPP-778812")
    assert reply["patient"] == expected
    assert router.dispatch("procedure_close", b'{"by": "rt"}')["ok"]
    (record,) = [json.loads(m.payload) for m in outbox.pending(1000) if m.topic == "record/procedure"]
    assert record["patient"]["pseudonym"] == expected
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name != "pseudonym.key")
    assert b"IPP-778812" not in stored  # neither in the outbox nor in the patient ledger
    assert pipeline.fluoro is not None and pipeline.fluoro.procedure.room_patient is None


@pytest.mark.parametrize("bad", [7, "", " ", "x" * 65])
def test_a_malformed_patient_id_is_refused(tmp_path: Path, bad: object) -> None:
    _, router, _ = station(tmp_path)
    reply = router.dispatch("procedure_open", json.dumps({"patient_id": bad}).encode())
    assert not reply["ok"] and "patient_id" in reply["error"]


def test_an_open_procedure_keeps_its_patient_and_earlier_dose_across_a_restart(tmp_path: Path) -> None:
    ledger = tmp_path / "patients.sqlite"
    config = shipped("carm-room.toml")
    room = PtyRoom(config, two_runs_with_a_pause(), PatientLedger(ledger, 365))  # type: ignore[arg-type]
    try:
        room.open("pid-b")
        room.run(601.0 + PAUSE_S + 300.0, every_s=4.0)  # into the second run, carried over
        saved = json.loads(json.dumps(room.monitor.snapshot(room.clock.monotonic())))
    finally:
        room.stop()
    before = room.monitor.procedure.current
    assert before is not None and before.patient == "pid-b" and before.earlier is not None

    again = PtyRoom(config, script((1.0, 0.0)), PatientLedger(ledger, 365))
    try:
        again.monitor.resume(saved, again.clock.monotonic(), again.clock.wall(), 5.0, None)
    finally:
        again.stop()
    after = again.monitor.procedure.current
    assert after is not None and after.procedure_id == before.procedure_id
    assert (after.patient, after.patient_source) == ("pid-b", "carried_over")
    assert after.earlier == before.earlier
    assert again.monitor.procedure.patient_totals()["kar"] == pytest.approx(
        room.monitor.procedure.patient_totals()["kar"]
    )
    room_patient = again.monitor.procedure.room_patient
    assert room_patient is not None and room_patient.pseudonym == "pid-b"


@pytest.mark.parametrize(("days_ago", "fires"), [(100, True), (400, False)])
def test_the_15_gy_sentinel_judges_the_patients_months(tmp_path: Path, days_ago: int, fires: bool) -> None:
    """14.5 Gy PSD estimate from a procedure `days_ago`, then ~1 Gy more: the sentinel within 12 months."""
    ledger = PatientLedger(tmp_path / "patients.sqlite", 365)
    room = PtyRoom(shipped("carm-room.toml"), script((1.0, 0.0), (240.0, RATE), (5.0, 0.0)), ledger)
    earlier = {"kar": 12000.0, "kap": 480.0, "psd": 14500.0}
    ledger.add("pid-s", "old-procedure", room.clock.wall() - timedelta(days=days_ago), earlier)
    try:
        room.open("pid-s")
        room.run(246.0, every_s=2.0)
    finally:
        room.stop()
    assert room.monitor.procedure.totals()["psd"] == pytest.approx(1190.0, rel=0.05)  # mGy, this one
    assert ("psd_sentinel" in room.triggers()) is fires
