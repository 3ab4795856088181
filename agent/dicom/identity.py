"""Who a written report is about, and its UIDs — deterministic, so a report is the same report after a
restart (one report per procedure: the registry sees the same SOP Instance UID twice, never two).

UIDs are 2.25.<uuid5 as integer> (PS3.5 B.2) of the station and the record id. Patient and study come
from the procedure context when the record carries one (fields read defensively: other parts of
doseedge may add them); otherwise a generated identity marked as such in the report itself.
"""

from __future__ import annotations

__all__ = ["deterministic_uid", "identity_for"]

import uuid
from typing import Any

from agent.dicom.fields import table
from agent.dicom.sr_build import Identity

_NAMESPACE = uuid.UUID("7d6f2f4e-5a1c-4f0e-9a57-3c1f0d2b9e11")  # doseedge's own, fixed forever
GENERATED_NAME = "DOSEEDGE^GENERATED IDENTITY"


def deterministic_uid(*parts: str) -> str:
    return f"2.25.{uuid.uuid5(_NAMESPACE, '/'.join(parts)).int}"


def _text(value: Any, limit: int) -> str:
    return str(value).strip()[:limit] if isinstance(value, str | int) else ""


def identity_for(station: str, record_id: str, record: dict[str, Any]) -> Identity:
    study, context = table(record, "study"), table(record, "context")
    patient = table(record, "patient") or table(context, "patient")
    patient_id = _text(patient.get("id") or context.get("patient_id"), 64)
    study_uid = _text(study.get("study_instance_uid"), 64) or deterministic_uid(station, record_id, "study")
    uids = {
        "study_uid": study_uid,
        "series_uid": deterministic_uid(station, record_id, "series"),
        "sop_uid": deterministic_uid(station, record_id, "report"),
        "accession": _text(study.get("accession_number"), 16),
    }
    if patient_id:
        sex = _text(patient.get("sex"), 1).upper()
        birth = _text(patient.get("birth_date"), 10).replace("-", "")
        return Identity(
            patient_id=patient_id,
            patient_name=_text(patient.get("name"), 64),
            birth_date=birth if len(birth) == 8 and birth.isdigit() else "",
            sex=sex if sex in {"M", "F", "O"} else "",
            generated=False,
            **uids,
        )
    return Identity(
        patient_id=f"DOSEEDGE-{uuid.uuid5(_NAMESPACE, station + '/' + record_id).hex[:16].upper()}",
        patient_name=GENERATED_NAME,
        birth_date="",
        sex="",
        generated=True,
        **uids,
    )
