"""Reading real RDSRs from several vendors (OpenREM's public test files, tests/agent/dicom/data/).

The expected totals are the values in each file's Accumulated X-Ray Dose Data container, read with
dcmtk's `dsrdump -Ee` (Eurocolumbus: with a plain pydicom walk of the content tree, dsrdump stops on it)
and converted by hand to Gy·cm², Gy and s — not the parser's own output.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pydicom
import pytest

from agent.cli import main
from agent.dicom.files import read_report

DATA = Path(__file__).parent / "data"

# file: (events, kap, dose_rp, fluoro_kap, fluoro_dose_rp, fluoro_time, acq_kap, acq_dose_rp)
FLUORO = {
    # Gy.m2, legacy SRT code for the fluoroscopy event type
    "RF-No-kVp-and-others.dcm": (20, 0.2954178618, 1.313381045e-3, 0.2954178618, 1.313381045e-3, 19.4, 0, 0),
    # dGy.cm2 and Dose (RP) in mGy, TEXT reference point
    "RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm": (
        18,
        12.6596,
        0.030573,
        10.6281,
        0.025664,
        111.0,
        2.0315,
        0.004909,
    ),
    "RF-RDSR-Eurocolumbus.dcm": (4, 0.09, 0.000394, 0, 0, 0, 0.09, 0.000394),
    # no template identifier
    "RF-RDSR-GE-OECEliteMiniView.dcm": (
        22,
        0.013316568,
        2.2034578e-4,
        0.013316568,
        2.2034578e-4,
        11.18,
        0,
        0,
    ),
    # "Dose(RP) Total" spelled without a space: matched by code, not meaning
    "RF-RDSR-GE.dcm": (8, 2.4126, 0.0117317, 2.4126, 0.0117317, 72.46, 0, 0),
    "RF-RDSR-Philips_Allura.dcm": (
        3,
        1.5356864017,
        0.00427128035068,
        0.10558274005,
        0.00029308116866,
        13.0,
        1.4301036616,
        0.00397819918202,
    ),
    # Gym2
    "RF-RDSR-Siemens-Zee.dcm": (8, 0.16, 0.00252, 0.16, 0.00252, 28.0, 0, 0),
}
FIELDS = (
    "kap_gy_cm2", "dose_rp_gy", "fluoro_kap_gy_cm2", "fluoro_dose_rp_gy", "fluoro_time_s",
    "acquisition_kap_gy_cm2", "acquisition_dose_rp_gy",
)  # fmt: skip


def run_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> list[dict[str, object]]:
    assert main(["dicom", "read", *map(str, paths), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("name", sorted(FLUORO))
def test_fluoroscopy_totals_match_the_accumulated_container(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (got,) = run_json(capsys, DATA / name)
    events, *totals = FLUORO[name]
    assert got["events"] == events
    assert got["template"] == "10001"
    (plane,) = got["planes"]  # type: ignore[misc]
    for key, want in zip(FIELDS, totals, strict=True):
        assert plane[key] == pytest.approx(want, rel=1e-5), key


def test_every_shared_file_is_read_with_exactly_the_contract_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = sorted(DATA.glob("*.dcm"))
    assert len(files) == 15
    got = run_json(capsys, *files)
    assert len(got) == len(files)
    for line, path in zip(got, files, strict=True):
        assert set(line) == {
            "file",
            "sop_instance_uid",
            "template",
            "manufacturer",
            "events",
            "planes",
            "problems",
        }
        assert line["file"] == str(path)
        assert line["template"] in {"10001", "10011", "10021"}
        assert str(line["sop_instance_uid"]).startswith("1.")
        for plane in line["planes"]:  # type: ignore[attr-defined]
            assert set(plane) == set(FIELDS)
    by_name = {Path(str(line["file"])).name: line for line in got}
    assert by_name["CT-RDSR-Toshiba_DoseCheck.dcm"]["template"] == "10011"
    assert by_name["CT-RDSR-Toshiba_DoseCheck.dcm"]["events"] == 2
    assert by_name["NM-RRDSR-Siemens.dcm"]["template"] == "10021"
    assert by_name["RF-RDSR-GE-OECEliteMiniView.dcm"]["problems"] == [
        "no template identifier: TID 10001 inferred from the content"
    ]


def test_empty_values_are_problems_not_failures() -> None:
    report = read_report(DATA / "DX-RDSR-Canon_CXDI.dcm")
    (plane,) = report.planes
    assert plane.kap_gy_cm2 == pytest.approx(0.107)  # 1.07E-05 Gy.m2
    assert plane.dose_rp_gy is None
    assert "plane 1 dose_rp_gy (113725): no measured value" in report.problems


def test_radiopharmaceutical_activity_and_kinds() -> None:
    assert read_report(DATA / "NM-RRDSR-Siemens.dcm").administered_mbq == 394.0
    assert read_report(DATA / "NM-RRDSR-Siemens-Extended.dcm").administered_mbq == 250.0
    assert read_report(DATA / "MG-RDSR-Hologic_2D.dcm").kind == "mammography"
    assert read_report(DATA / "CT-RDSR-Siemens-Multi-1.dcm").kind == "ct"
    assert read_report(DATA / "DX-RDSR-Carestream_DRXEvolution.dcm").kind == "radiography"
    assert read_report(DATA / "RF-No-kVp-and-others.dcm").kind == "fluoroscopy"  # legacy P5-06000


def test_two_planes_are_two_entries(tmp_path: Path) -> None:
    ds = pydicom.dcmread(DATA / "RF-RDSR-Siemens-Zee.dcm")
    accumulated = next(i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113702")
    plane_b = copy.deepcopy(accumulated)
    for item in plane_b.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeValue == "113722":
            item.MeasuredValueSequence[0].NumericValue = "3e-005"
    ds.ContentSequence.append(plane_b)
    ds.save_as(tmp_path / "biplane.dcm")
    report = read_report(tmp_path / "biplane.dcm")
    assert [p.kap_gy_cm2 for p in report.planes] == pytest.approx([0.16, 0.3])


def test_unknown_unit_and_garbage_are_reported(tmp_path: Path) -> None:
    ds = pydicom.dcmread(DATA / "RF-RDSR-Siemens-Zee.dcm")
    accumulated = next(i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113702")
    for item in accumulated.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeValue == "113722":
            item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue = "R.cm2"
    ds.save_as(tmp_path / "odd.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"\0" * 200)
    odd = read_report(tmp_path / "odd.dcm")
    assert odd.planes[0].kap_gy_cm2 is None
    assert odd.planes[0].fluoro_kap_gy_cm2 == pytest.approx(0.16)
    assert any("'R.cm2' is not a Gy.cm2 unit" in p for p in odd.problems)
    junk = read_report(tmp_path / "junk.dcm")
    assert junk.template is None and junk.problems[0].startswith("not read")
    assert main(["dicom", "read", str(tmp_path / "junk.dcm")]) == 1


def test_table_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dicom", "read", str(DATA / "RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm")]) == 0
    out = capsys.readouterr().out
    assert "RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm" in out and "12.66" in out and "30.57" in out
