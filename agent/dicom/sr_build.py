"""Building a dose structured report with pydicom: content items and the document around them.

Only the DICOM station and the tests import this (pydicom loads here, not at agent start-up). The
document carries the modules the X-Ray / Radiopharmaceutical Radiation Dose SR IODs require (Patient,
General Study, SR Document Series, General and Enhanced General Equipment, SR Document General and
Content, SOP Common); `dciodvfy` checks them in tests/agent/dicom/test_write.py.
"""

from __future__ import annotations

__all__ = ["Identity", "code", "container", "datetime_item", "document", "num_item", "text", "uid_item"]

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian

SOFTWARE_VERSION = "doseedge 0.1.0"


@dataclass(frozen=True)
class Identity:
    """Patient and study of one report (agent/dicom/identity.py decides where they come from)."""

    patient_id: str
    patient_name: str
    birth_date: str  # YYYYMMDD or ""
    sex: str  # M | F | O | ""
    study_uid: str
    series_uid: str
    sop_uid: str
    accession: str
    generated: bool  # True: no patient context; the identity is doseedge's own, marked so


def _code_seq(value: str, scheme: str, meaning: str) -> Sequence:
    entry = Dataset()
    entry.CodeValue = value
    entry.CodingSchemeDesignator = scheme
    entry.CodeMeaning = meaning
    return Sequence([entry])


def _item(relationship: str, value_type: str, name: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = _code_seq(*name)
    return item


def container(relationship: str, name: tuple[str, str, str], children: list[Dataset]) -> Dataset:
    item = _item(relationship, "CONTAINER", name)
    item.ContinuityOfContent = "SEPARATE"
    item.ContentSequence = Sequence(children)
    return item


def code(relationship: str, name: tuple[str, str, str], value: tuple[str, str, str]) -> Dataset:
    item = _item(relationship, "CODE", name)
    item.ConceptCodeSequence = _code_seq(*value)
    return item


def num_item(relationship: str, name: tuple[str, str, str], value: float, unit: tuple[str, str]) -> Dataset:
    item = _item(relationship, "NUM", name)
    measured = Dataset()
    measured.NumericValue = _ds(value)
    measured.MeasurementUnitsCodeSequence = _code_seq(unit[0], "UCUM", unit[1])
    item.MeasuredValueSequence = Sequence([measured])
    return item


def _ds(value: float) -> str:
    """A Decimal String of at most 16 characters."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.6e}"


def text(relationship: str, name: tuple[str, str, str], value: str) -> Dataset:
    item = _item(relationship, "TEXT", name)
    item.TextValue = value
    return item


def uid_item(relationship: str, name: tuple[str, str, str], value: str) -> Dataset:
    item = _item(relationship, "UIDREF", name)
    item.UID = value
    return item


def datetime_item(relationship: str, name: tuple[str, str, str], value: datetime) -> Dataset:
    item = _item(relationship, "DATETIME", name)
    item.DateTime = dicom_datetime(value)
    return item


def dicom_datetime(value: datetime) -> str:
    """UTC, without an offset suffix (dcmtk rejects one inside SR content; the document says +0000)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y%m%d%H%M%S")


def document(
    sop_class: str,
    root: tuple[str, str, str],
    template: str,
    content: list[Dataset],
    who: Identity,
    when: datetime,
    equipment: dict[str, str],
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(who.sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = who.sop_uid
    when = when.astimezone(UTC) if when.tzinfo is not None else when
    date, time = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.TimezoneOffsetFromUTC = "+0000"
    _patient(ds, who)
    ds.StudyInstanceUID = who.study_uid
    ds.StudyDate, ds.StudyTime = date, time
    ds.ReferringPhysicianName = ""
    ds.StudyID = who.sop_uid[-16:]
    ds.AccessionNumber = who.accession
    ds.Modality = "SR"
    ds.SeriesInstanceUID = who.series_uid
    ds.SeriesNumber = 1
    ds.SeriesDescription = "Radiation dose report (doseedge)"
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.Manufacturer = equipment["manufacturer"]
    ds.ManufacturerModelName = equipment["model"]
    ds.DeviceSerialNumber = equipment["serial"]
    ds.SoftwareVersions = SOFTWARE_VERSION
    ds.StationName = equipment["station"][:16]
    ds.InstanceNumber = 1
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ContentDate, ds.ContentTime = date, time
    ds.PerformedProcedureCodeSequence = Sequence()
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = _code_seq(*root)
    ds.ContinuityOfContent = "SEPARATE"
    template_entry = Dataset()
    template_entry.MappingResource = "DCMR"
    template_entry.TemplateIdentifier = template
    ds.ContentTemplateSequence = Sequence([template_entry])
    ds.ContentSequence = Sequence(content)
    return ds


def _patient(ds: Any, who: Identity) -> None:
    ds.PatientName = who.patient_name
    ds.PatientID = who.patient_id
    ds.PatientBirthDate = who.birth_date
    ds.PatientSex = who.sex
    if who.generated:
        ds.IssuerOfPatientID = "DOSEEDGE-GENERATED"
        ds.PatientComments = "No patient context: identity generated by doseedge, not a real patient ID"
