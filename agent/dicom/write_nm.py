"""A Radiopharmaceutical Radiation Dose SR (TID 10021) for one hot-lab administration (`record/activity`).

Administered activity is the measured activity decay-corrected to the planned administration when the
record says it was (hot lab's own calculation, kept as is); the raw activimeter reading is the
pre-administration measured activity, measured by a dose calibrator (DCM 113541).
"""

from __future__ import annotations

__all__ = ["nm_report"]

from datetime import datetime
from typing import Any

from pydicom.dataset import Dataset

from agent.dicom.codes import RADIOPHARMACEUTICAL_SR
from agent.dicom.fields import quantity, table
from agent.dicom.identity import deterministic_uid
from agent.dicom.sr_build import Identity, code, container, datetime_item, document, num_item, uid_item

MBQ = ("MBq", "MBq")
# Radionuclide codes (SNOMED CT, CID 18 "Radiopharmaceutical Isotope").
NUCLIDES = {
    "Tc-99m": ("72454006", "SCT", "^99m^Technetium"),
    "F-18": ("77004003", "SCT", "^18^Fluorine"),
    "I-131": ("1368003", "SCT", "^131^Iodine"),
    "I-123": ("21572004", "SCT", "^123^Iodine"),
    "Tl-201": ("60057003", "SCT", "^201^Thallium"),
    "Ga-67": ("2008008", "SCT", "^67^Gallium"),
    "In-111": ("56609000", "SCT", "^111^Indium"),
    "Lu-177": ("447553000", "SCT", "^177^Lutetium"),
}


def _moment(value: Any, fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return fallback


def nm_report(
    record: dict[str, Any],
    record_id: str,
    who: Identity,
    station: str,
    equipment: dict[str, str],
    when: datetime,
) -> Dataset:
    measured = quantity(record.get("activity"), "MBq") or 0.0
    administered = quantity(record.get("activity_at_administration"), "MBq")
    context = table(record, "context")
    started = _moment(context.get("planned_administration") or record.get("measured_at"), when)
    admin = [
        uid_item(
            "CONTAINS",
            ("113503", "DCM", "Radiopharmaceutical Administration Event UID"),
            deterministic_uid(station, record_id, "administration"),
        ),
        datetime_item("CONTAINS", ("123003", "DCM", "Radiopharmaceutical Start DateTime"), started),
        num_item(
            "CONTAINS",
            ("113507", "DCM", "Administered activity"),
            administered if administered is not None else measured,
            MBQ,
        ),
        num_item("CONTAINS", ("113508", "DCM", "Pre-Administration Measured Activity"), measured, MBQ),
        code(
            "CONTAINS", ("113540", "DCM", "Activity Measurement Device"), ("113541", "DCM", "Dose Calibrator")
        ),
    ]
    nuclide = NUCLIDES.get(str(record.get("nuclide", "")))
    if nuclide is not None:
        admin.insert(1, code("CONTAINS", ("89457008", "SCT", "Radionuclide"), nuclide))
    content = [
        container("CONTAINS", ("113502", "DCM", "Radiopharmaceutical Administration"), admin),
    ]
    root = ("113500", "DCM", "Radiopharmaceutical Radiation Dose Report")
    return document(RADIOPHARMACEUTICAL_SR, root, "10021", content, who, when, equipment)
