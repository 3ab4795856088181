"""Which guidance row (regulation Tables 1–3) an irradiation event speaks of, from its codes.

Radiography (Table 1): target region + image view → exam + projection; the value read is the event's
Dose (RP) — the console's reference-point air kerma, without backscatter, so a proxy that under-reads
Table 1's entrance surface dose. CT (Table 2): target region → exam; the value is the event's mean
CTDIvol. Mammography (Table 3): cranio-caudal views only; the value is the event's average glandular
dose, with or without grid. An event no row fits is simply not compared.
"""

from __future__ import annotations

__all__ = ["ExamValue", "exam_values"]

from dataclasses import dataclass
from typing import Any

from agent.dicom import codes as c
from agent.dicom.content import find_all, first, num, value_code

TABLE1 = "dz-2015-table1-radiography"
TABLE2 = "dz-2015-table2-ct"
TABLE3 = "dz-2015-table3-mammography"

# Target Region codes (SNOMED, legacy SRT/SNM3 spellings and SCT) → the tables' exam keys.
_REGION = {
    "T-D3000": "chest",
    "51185008": "chest",
    "T-D4000": "abdomen",
    "818981001": "abdomen",
    "T-D6000": "pelvis",
    "12921003": "pelvis",
    "T-15710": "hip_joint",
    "24136001": "hip_joint",
    "T-D1100": "head",
    "69536005": "head",
    "T-11100": "skull",
    "89546000": "skull",
    "T-11503": "lumbar_spine",
    "122496007": "lumbar_spine",
    "T-11502": "thoracic_spine",
    "122495006": "thoracic_spine",
}
_VIEW = {
    "R-10206": "AP",
    "399348003": "AP",
    "R-10214": "PA",
    "399300004": "PA",
    "R-10232": "LAT",
    "399067008": "LAT",
}
_CT_EXAM = {"head": "head", "abdomen": "abdomen", "lumbar_spine": "lumbar_spine"}
_RADIOGRAPHY_EXAM = {"abdomen": "abdomen_ivu_cholecystography", "head": "skull"}


@dataclass(frozen=True)
class ExamValue:
    """One value a guidance table speaks of (Tables 1–3), found in the report."""

    table: str  # dz-2015-table1-radiography | …table2-ct | …table3-mammography
    key: tuple[tuple[str, str], ...]  # the guidance row's key: exam, projection, grid
    value_mgy: float
    quantity: str  # what was read: dose_rp, ctdivol, agd


def _region(event: Any) -> str | None:
    code = value_code(first(event, c.TARGET_REGION))
    return _REGION.get(code[0]) if code else None


def exam_values(ds: Any, kind: str, problems: list[str]) -> list[ExamValue]:
    out: list[ExamValue] = []
    if kind == "ct":
        for n, event in enumerate(find_all(ds, c.CT_ACQUISITION), 1):
            exam = _CT_EXAM.get(_region(event) or "")
            value, problem = num(first(event, c.CTDIVOL), "mGy", f"CT event {n} CTDIvol")
            if problem:
                problems.append(problem)
            if exam and value is not None:
                out.append(ExamValue(TABLE2, (("exam", exam),), value, "ctdivol"))
        return out
    events = find_all(ds, c.IRRADIATION_EVENT)
    for n, event in enumerate(events, 1):
        if kind == "mammography":
            view = value_code(first(event, c.IMAGE_VIEW))
            value, problem = num(first(event, c.AGD), "mGy", f"event {n} average glandular dose")
            if problem:
                problems.append(problem)
            if view in c.CRANIO_CAUDAL and value is not None:
                grid = "false" if value_code(first(event, c.XRAY_GRID)) == c.NO_GRID else "true"
                out.append(ExamValue(TABLE3, (("exam", "mammography_cc"), ("grid", grid)), value, "agd"))
        elif kind == "radiography":
            region = _region(event)
            view = value_code(first(event, c.IMAGE_VIEW))
            projection = _VIEW.get(view[0]) if view else None
            value, problem = num(first(event, c.EVENT_DOSE_RP), "mGy", f"event {n} Dose (RP)")
            if problem:
                problems.append(problem)
            if region and projection and value is not None:
                exam = _RADIOGRAPHY_EXAM.get(region, region)
                key = (("exam", exam), ("projection", projection))
                out.append(ExamValue(TABLE1, key, value, "dose_rp"))
    return out
