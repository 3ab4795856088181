"""Reports coming in (watched folder, Storage SCP) and the checks on them: fluoroscopy totals through
the live cumulative triggers (per report and per patient), Tables 1–3 as a rolling median."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.dicom.checks import GuidanceMedians
from agent.dicom.exams import ExamValue
from agent.dicom.summary import DoseReport
from tests.agent.dicom.station_fixtures import free_port, station
from tests.agent.room import kap_triggers

DATA = Path(__file__).parent / "data"
LOW_KAP = kap_triggers(first=5.0, every=5.0)  # Gy·cm²: the Canon file's 12.66 crosses 5 and 10


def watched(tmp_path: Path, extra: str = "") -> tuple[object, list[object], Path]:
    folder = tmp_path / "watch"
    folder.mkdir()
    dicom, published = station(tmp_path / "out", f'watch_folder = "{folder}"\n{extra}')
    return dicom, published, folder


def test_every_file_dropped_is_read_and_moved(tmp_path: Path) -> None:
    dicom, _, folder = watched(tmp_path)
    for path in DATA.glob("*.dcm"):
        shutil.copy(path, folder)
    (folder / "not-dicom.dcm").write_bytes(b"junk")
    assert dicom.scan_watch_folder() == []  # type: ignore[attr-defined]  # first seen: maybe still being written
    records = dicom.scan_watch_folder()  # type: ignore[attr-defined]
    received = [r.details for r in records if r.kind == "dicom_received"]
    assert len(received) == 16
    assert sorted(p.name for p in (folder / "done").iterdir()) == sorted(p.name for p in DATA.glob("*.dcm"))
    assert [p.name for p in (folder / "rejected").iterdir()] == ["not-dicom.dcm"]
    for body in received:
        assert "patient_id" not in body and all("Patient" not in str(k) for k in body)


def test_fluoroscopy_totals_cross_the_live_triggers_and_accumulate_per_patient(tmp_path: Path) -> None:
    from agent.config import parse_config
    from agent.dicom.station import DicomStation
    from tests.agent.dicom.station_fixtures import dicom_toml
    from tests.fakes import FakeClock

    config = parse_config(dicom_toml(tmp_path / "out").replace("\n[dicom]", LOW_KAP + "\n[dicom]", 1))
    dicom = DicomStation(config, FakeClock(), lambda _: None)
    from agent.dicom.files import read_report

    canon = read_report(DATA / "RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm")
    (first,) = [r.details for r in dicom.ingest(canon) if r.kind == "dicom_received"]
    crossed = [c["level"] for c in first["trigger_crossings"] if c["id"] == "kap_notification"]
    assert crossed == ["kap 5 Gy·cm², then every 5 Gy·cm²", "kap 10 Gy·cm²"]
    assert [c["id"] for c in first["patient_trigger_crossings"]] == ["kap_notification", "kap_notification"]
    (second,) = [r.details for r in dicom.ingest(canon) if r.kind == "dicom_received"]  # same patient again
    assert [c["level"] for c in second["patient_trigger_crossings"]] == [
        "kap 15 Gy·cm²",
        "kap 20 Gy·cm²",
        "kap 25 Gy·cm²",
    ]


def test_rolling_median_of_the_last_n_patients_against_table_2() -> None:
    medians = GuidanceMedians(window=3)
    results = []
    for ctdivol in (30.0, 20.0, 40.0, 10.0):
        report = DoseReport(
            "f", kind="ct", exams=[ExamValue("dz-2015-table2-ct", (("exam", "abdomen"),), ctdivol, "ctdivol")]
        )
        (result,) = medians.add(report)
        results.append((result["median"]["value"], result["patients"], result["exceeded"]))
    assert results == [(30.0, 1, True), (25.0, 2, False), (30.0, 3, True), (20.0, 3, False)]
    assert result["level"]["value"] == 25.0 and "Tableau 2" in result["level"]["citation"]


def test_real_ct_and_mammography_files_are_compared(tmp_path: Path) -> None:
    dicom, _, folder = watched(tmp_path)
    for name in ("CT-RDSR-Toshiba_DoseCheck.dcm", "MG-RDSR-Hologic_2D.dcm"):
        shutil.copy(DATA / name, folder)
    dicom.scan_watch_folder()  # type: ignore[attr-defined]
    guidance = [r.details for r in dicom.scan_watch_folder() if r.kind == "dicom_guidance"]  # type: ignore[attr-defined]
    by_exam = {g["exam"]["exam"]: g for g in guidance}
    assert (
        by_exam["abdomen"]["median"] == {"value": 5.3, "unit": "mGy"} and not by_exam["abdomen"]["exceeded"]
    )
    assert by_exam["mammography_cc"]["median"]["value"] == pytest.approx(1.29)
    assert by_exam["mammography_cc"]["level"]["value"] == 3.0  # with grid


def test_storage_scp_receives_a_console_report(tmp_path: Path) -> None:
    port = free_port()
    dicom, _, _folder = watched(tmp_path, f"scp_enabled = true\nscp_port = {port}")
    dicom.start()  # type: ignore[attr-defined]
    try:
        sent = subprocess.run(
            ["storescu", "-aec", "DOSEEDGE", "127.0.0.1", str(port), str(DATA / "RF-RDSR-Siemens-Zee.dcm")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
    finally:
        dicom.scp.stop()  # type: ignore[attr-defined]
    dicom.scan_watch_folder()  # type: ignore[attr-defined]
    (received,) = [r.details for r in dicom.scan_watch_folder() if r.kind == "dicom_received"]  # type: ignore[attr-defined]
    assert received["planes"][0]["kap_gy_cm2"] == pytest.approx(0.16)


def test_a_file_still_growing_is_not_read_until_it_stops(tmp_path: Path) -> None:
    dicom, _, folder = watched(tmp_path)
    data = (DATA / "RF-RDSR-GE.dcm").read_bytes()
    partial = folder / "copying.dcm"
    partial.write_bytes(data[:1000])
    assert dicom.scan_watch_folder() == []  # type: ignore[attr-defined]
    partial.write_bytes(data)  # the console finished writing
    assert dicom.scan_watch_folder() == []  # type: ignore[attr-defined]
    (received,) = [r for r in dicom.scan_watch_folder() if r.kind == "dicom_received"]  # type: ignore[attr-defined]
    assert received.details["problems"] == [] and not (folder / "rejected").exists()


def test_scp_port_taken_is_an_alarm_not_a_crash(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        dicom, published, _folder = watched(tmp_path, f"scp_enabled = true\nscp_port = {port}")
        dicom.start()  # type: ignore[attr-defined]
    assert dicom.scp is None  # type: ignore[attr-defined]
    dicom.flush()  # type: ignore[attr-defined]
    (alarm,) = published[0].alarms  # type: ignore[attr-defined]
    assert alarm.alarm_type == "dicom_scp_failed" and alarm.details["port"] == port
