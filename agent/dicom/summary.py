"""What a dose report says, in doseedge's units: the `doseedge dicom read` contract (docs/dicom.md).

`summarise(dataset, file)` is pure: the caller has already read the file. A file that is not a dose
report, or a value that cannot be used, becomes a line in `problems`, never an exception.
"""

from __future__ import annotations

__all__ = ["DoseReport", "ExamValue", "Plane", "summarise"]

from dataclasses import asdict, dataclass, field
from typing import Any

from agent.dicom import codes as c
from agent.dicom.content import Item, children, find_all, first, name_of, num, value_code
from agent.dicom.exams import ExamValue, exam_values

PLANE_FIELDS = (
    ("kap_gy_cm2", c.DAP_TOTAL, "Gy.cm2"),
    ("dose_rp_gy", c.DOSE_RP_TOTAL, "Gy"),
    ("fluoro_kap_gy_cm2", c.FLUORO_DAP_TOTAL, "Gy.cm2"),
    ("fluoro_dose_rp_gy", c.FLUORO_DOSE_RP_TOTAL, "Gy"),
    ("fluoro_time_s", c.FLUORO_TIME_TOTAL, "s"),
    ("acquisition_kap_gy_cm2", c.ACQUISITION_DAP_TOTAL, "Gy.cm2"),
    ("acquisition_dose_rp_gy", c.ACQUISITION_DOSE_RP_TOTAL, "Gy"),
)
_EVENTS = frozenset({c.IRRADIATION_EVENT, c.CT_ACQUISITION})
_ROOTS = {c.XRAY_REPORT: "10001", c.RADIOPHARMACEUTICAL_REPORT: "10021"}


@dataclass
class Plane:
    kap_gy_cm2: float | None = None
    dose_rp_gy: float | None = None
    fluoro_kap_gy_cm2: float | None = None
    fluoro_dose_rp_gy: float | None = None
    fluoro_time_s: float | None = None
    acquisition_kap_gy_cm2: float | None = None
    acquisition_dose_rp_gy: float | None = None


@dataclass
class DoseReport:
    file: str
    sop_instance_uid: str | None = None
    template: str | None = None
    manufacturer: str | None = None
    events: int = 0
    planes: list[Plane] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Not in the JSON contract: what the checks need.
    kind: str = "unknown"  # fluoroscopy | radiography | mammography | ct | radiopharmaceutical | unknown
    patient_id: str = ""  # stays on the box; the checks use it only to accumulate per patient
    study_uid: str = ""
    exams: list[ExamValue] = field(default_factory=list)
    administered_mbq: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sop_instance_uid": self.sop_instance_uid,
            "template": self.template,
            "manufacturer": self.manufacturer,
            "events": self.events,
            "planes": [{k: _round(v) for k, v in asdict(p).items()} for p in self.planes],
            "problems": list(self.problems),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def _text(ds: Any, keyword: str) -> str | None:
    value = ds.get(keyword)
    return str(value).strip() or None if value is not None else None


def summarise(ds: Any, file: str) -> DoseReport:
    report = DoseReport(file, _text(ds, "SOPInstanceUID"), manufacturer=_text(ds, "Manufacturer"))
    report.patient_id = _text(ds, "PatientID") or ""
    report.study_uid = _text(ds, "StudyInstanceUID") or ""
    root = name_of(ds)
    if root not in _ROOTS:
        report.problems.append(
            f"not a dose report: root concept {root} (SOP class {_text(ds, 'SOPClassUID')})"
        )
        return report
    report.template = _template(ds, root, report.problems)
    if report.template == "10021":
        _radiopharmaceutical(ds, report)
        return report
    report.events = len(find_all(ds, _EVENTS, stop=_EVENTS))
    for container in find_all(ds, c.ACCUMULATED_XRAY, stop=_EVENTS):
        report.planes.append(_plane(container, len(report.planes) + 1, report.problems))
    report.kind = _kind(ds, report)
    report.exams = exam_values(ds, report.kind, report.problems)
    return report


def _template(ds: Any, root: tuple[str, str], problems: list[str]) -> str:
    for entry in ds.get("ContentTemplateSequence") or []:
        tid = str(entry.get("TemplateIdentifier") or "").strip()
        if tid:
            return tid
    inferred = "10011" if first(ds, c.CT_ACCUMULATED) is not None else _ROOTS[root]
    problems.append(f"no template identifier: TID {inferred} inferred from the content")
    return inferred


def _plane(container: Item, n: int, problems: list[str]) -> Plane:
    plane = Plane()
    for attr, code, unit in PLANE_FIELDS:
        value, problem = num(first(container, code), unit, f"plane {n} {attr} ({code[0]})")
        setattr(plane, attr, value)
        if problem:
            problems.append(problem)
    return plane


def _kind(ds: Any, report: DoseReport) -> str:
    if report.template == "10011" or first(ds, c.CT_ACCUMULATED) is not None:
        return "ct"
    procedure = value_code(first(ds, c.PROCEDURE_REPORTED, stop=_EVENTS))
    if procedure in c.MAMMOGRAPHY:
        return "mammography"
    for event in find_all(ds, c.IRRADIATION_EVENT, stop=_EVENTS):
        if value_code(first(event, c.EVENT_TYPE)) in c.FLUOROSCOPY:
            return "fluoroscopy"
    if any(p.fluoro_kap_gy_cm2 or p.fluoro_time_s for p in report.planes):
        return "fluoroscopy"
    return "radiography"


def _radiopharmaceutical(ds: Any, report: DoseReport) -> None:
    report.kind = "radiopharmaceutical"
    administrations = find_all(ds, c.ADMINISTRATION)
    report.events = len(administrations)
    total = 0.0
    for n, admin in enumerate(administrations, 1):
        value, problem = num(first(admin, c.ADMINISTERED_ACTIVITY), "MBq", f"administration {n} activity")
        if problem:
            report.problems.append(problem)
        total += value or 0.0
    report.administered_mbq = total if administrations else None
    if not children(ds):
        report.problems.append("empty report: no content")
