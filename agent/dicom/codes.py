"""Concept codes of the dose-report templates (DICOM PS3.16: TID 10001, 10011, 10021), as (value, scheme).

Reports are matched on code value and coding scheme, never on meaning text (vendors spell it
"Dose(RP) Total", "Total Number Of Radiographic Frames", …) nor on nesting depth. Where consoles still
send a retired or legacy code (SNOMED via the old SRT scheme), both are listed as one concept.
"""

from __future__ import annotations

Code = tuple[str, str]

XRAY_SR = "1.2.840.10008.5.1.4.1.1.88.67"
RADIOPHARMACEUTICAL_SR = "1.2.840.10008.5.1.4.1.1.88.68"

# Roots and containers.
XRAY_REPORT: Code = ("113701", "DCM")
RADIOPHARMACEUTICAL_REPORT: Code = ("113500", "DCM")
ACCUMULATED_XRAY: Code = ("113702", "DCM")
IRRADIATION_EVENT: Code = ("113706", "DCM")
CT_ACCUMULATED: Code = ("113811", "DCM")
CT_ACQUISITION: Code = ("113819", "DCM")
ADMINISTRATION: Code = ("113502", "DCM")
CALIBRATION: Code = ("122505", "DCM")

# Accumulated projection X-ray totals (TID 10002).
DAP_TOTAL: Code = ("113722", "DCM")
DOSE_RP_TOTAL: Code = ("113725", "DCM")
FLUORO_DAP_TOTAL: Code = ("113726", "DCM")
FLUORO_DOSE_RP_TOTAL: Code = ("113728", "DCM")
FLUORO_TIME_TOTAL: Code = ("113730", "DCM")
ACQUISITION_DAP_TOTAL: Code = ("113727", "DCM")
ACQUISITION_DOSE_RP_TOTAL: Code = ("113729", "DCM")
ACQUISITION_TIME_TOTAL: Code = ("113855", "DCM")
ACQUISITION_PLANE: Code = ("113764", "DCM")
REFERENCE_POINT_DEFINITION: Code = ("113780", "DCM")
ACCUMULATED_AGD: Code = ("111637", "DCM")

# Irradiation event (TID 10003) and its geometry/technique.
EVENT_UID: Code = ("113769", "DCM")
DATETIME_STARTED: Code = ("111526", "DCM")
EVENT_TYPE: Code = ("113721", "DCM")
EVENT_DAP: Code = ("122130", "DCM")
EVENT_DOSE_RP: Code = ("113738", "DCM")
AGD: Code = ("111631", "DCM")
IRRADIATION_DURATION: Code = ("113742", "DCM")
TARGET_REGION: Code = ("123014", "DCM")
IMAGE_VIEW: Code = ("111031", "DCM")
XRAY_GRID: Code = ("111635", "DCM")
NO_GRID: Code = ("111646", "DCM")
FLUOROSCOPY = frozenset({("44491008", "SCT"), ("P5-06000", "SRT")})
STATIONARY_ACQUISITION: Code = ("113611", "DCM")
CRANIO_CAUDAL = frozenset({("399162004", "SCT"), ("R-10242", "SRT"), ("R-10242", "SNM3")})

# CT (TID 10011).
CT_DLP_TOTAL: Code = ("113813", "DCM")
CTDIVOL: Code = ("113830", "DCM")
DLP: Code = ("113838", "DCM")

# Radiopharmaceutical administration (TID 10021).
RADIOPHARMACEUTICAL_AGENT = frozenset({("349358000", "SCT"), ("F-61FDB", "SRT")})
RADIONUCLIDE = frozenset({("89457008", "SCT"), ("C-10072", "SRT")})
HALF_LIFE = frozenset({("304283002", "SCT"), ("R-42806", "SRT")})
ADMINISTERED_ACTIVITY: Code = ("113507", "DCM")
START_DATETIME: Code = ("123003", "DCM")

# Procedure reported (121058) values that say what kind of room sent the report.
PROCEDURE_REPORTED: Code = ("121058", "DCM")
MAMMOGRAPHY = frozenset({("71651007", "SCT"), ("P5-40010", "SRT")})
CT_PROCEDURE = frozenset({("77477000", "SCT"), ("P5-08000", "SRT")})


def is_code(item: Code, wanted: Code | frozenset[Code]) -> bool:
    return item in wanted if isinstance(wanted, frozenset) else item == wanted
