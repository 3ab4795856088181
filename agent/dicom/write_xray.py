"""An X-Ray Radiation Dose SR (TID 10001) for one procedure doseedge measured live.

From `record/procedure` (totals) and the procedure's `record/irradiation` messages (one irradiation
event per beam-on run). Source of dose information: the measuring device — a DAP meter is a Dosimeter
(SCT 15869005), a generator or bridge estimate is System Calculated (DCM 113940). The calibration
container carries the station's DAP-meter calibration ([dicom] in the station config).

Fluoro / acquisition Dose (RP) totals are not written: doseedge's Ka,r is one running total, and
splitting it by mode would invent numbers. Their DAP split comes from the irradiation records.
"""

from __future__ import annotations

__all__ = ["Calibration", "xray_report"]

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydicom.dataset import Dataset

from agent.dicom.codes import XRAY_SR
from agent.dicom.fields import KAP_UNITS, quantity, table
from agent.dicom.identity import deterministic_uid
from agent.dicom.sr_build import Identity, code, container, datetime_item, document, num_item, text, uid_item

GY_M2 = ("Gy.m2", "Gy.m2")
GY = ("Gy", "Gy")
S = ("s", "s")
PLANE = ("113764", "DCM", "Acquisition Plane")
SINGLE_PLANE = ("113622", "DCM", "Single Plane")
DOSIMETER = ("15869005", "SCT", "Dosimeter")
SYSTEM_CALCULATED = ("113940", "DCM", "System Calculated")
FLUORO_EVENT = ("44491008", "SCT", "Fluoroscopy")
ACQUISITION_EVENT = ("113611", "DCM", "Stationary Acquisition")


@dataclass(frozen=True)
class Calibration:
    factor: float
    date: str  # YYYY-MM-DD, "" when unknown
    uncertainty_percent: float


def _event(run: dict[str, Any], uid: str) -> Dataset:
    acquisition = run.get("mode") == "acquisition"
    started = datetime.fromisoformat(str(run.get("started", "")).replace("Z", "+00:00"))
    children = [
        code("HAS CONCEPT MOD", PLANE, SINGLE_PLANE),
        datetime_item("CONTAINS", ("111526", "DCM", "DateTime Started"), started),
        code(
            "CONTAINS",
            ("113721", "DCM", "Irradiation Event Type"),
            ACQUISITION_EVENT if acquisition else FLUORO_EVENT,
        ),
        uid_item("CONTAINS", ("113769", "DCM", "Irradiation Event UID"), uid),
        num_item(
            "CONTAINS",
            ("122130", "DCM", "Dose Area Product"),
            (quantity(run.get("kap"), *KAP_UNITS) or 0) / 1e4,
            GY_M2,
        ),
    ]
    duration = quantity(run.get("irradiation_time"), "s")
    if duration is not None:
        children.append(num_item("CONTAINS", ("113742", "DCM", "Irradiation Duration"), duration, S))
    return container("CONTAINS", ("113706", "DCM", "Irradiation Event X-Ray Data"), children)


def _accumulated(record: dict[str, Any], runs: list[dict[str, Any]], calibration: Calibration) -> Dataset:
    totals = table(record, "totals")
    kap = quantity(totals.get("kap"), *KAP_UNITS) or 0.0
    kar_mgy = quantity(totals.get("kar"), "mGy")
    acq_kap = sum(quantity(r.get("kap"), *KAP_UNITS) or 0.0 for r in runs if r.get("mode") == "acquisition")
    fluoro_kap = max(kap - acq_kap, 0.0)
    cal = [
        code("CONTAINS", ("113794", "DCM", "Dose Measurement Device"), DOSIMETER),
        num_item("CONTAINS", ("122322", "DCM", "Calibration Factor"), calibration.factor, ("1", "no units")),
        num_item(
            "CONTAINS",
            ("113763", "DCM", "Calibration Uncertainty"),
            calibration.uncertainty_percent,
            ("%", "Percent"),
        ),
    ]
    if calibration.date:
        cal.insert(
            1,
            datetime_item(
                "CONTAINS",
                ("113723", "DCM", "Calibration DateTime"),
                datetime.fromisoformat(calibration.date),
            ),
        )
    children = [
        code("HAS CONCEPT MOD", PLANE, SINGLE_PLANE),
        container("CONTAINS", ("122505", "DCM", "Calibration"), cal),
        num_item("CONTAINS", ("113722", "DCM", "Dose Area Product Total"), kap / 1e4, GY_M2),
        num_item("CONTAINS", ("113726", "DCM", "Fluoro Dose Area Product Total"), fluoro_kap / 1e4, GY_M2),
        num_item(
            "CONTAINS",
            ("113730", "DCM", "Total Fluoro Time"),
            quantity(totals.get("fluoro_time"), "s") or 0.0,
            S,
        ),
        num_item("CONTAINS", ("113727", "DCM", "Acquisition Dose Area Product Total"), acq_kap / 1e4, GY_M2),
        num_item(
            "CONTAINS",
            ("113855", "DCM", "Total Acquisition Time"),
            quantity(totals.get("acquisition_time"), "s") or 0.0,
            S,
        ),
    ]
    if kar_mgy is not None:
        children.append(num_item("CONTAINS", ("113725", "DCM", "Dose (RP) Total"), kar_mgy / 1000, GY))
        children.append(
            code(
                "CONTAINS",
                ("113780", "DCM", "Reference Point Definition"),
                ("113860", "DCM", "15cm from Isocenter toward Source"),
            )
        )
    return container("CONTAINS", ("113702", "DCM", "Accumulated X-Ray Dose Data"), children)


def xray_report(
    record: dict[str, Any],
    runs: list[dict[str, Any]],
    who: Identity,
    station: str,
    equipment: dict[str, str],
    calibration: Calibration,
    measured_by_dosimeter: bool,
    when: datetime,
) -> Dataset:
    """The report of one closed procedure; `runs` are its irradiation records in order."""
    procedure_id = str(record.get("procedure_id", ""))
    source = DOSIMETER if measured_by_dosimeter else SYSTEM_CALCULATED
    content = [
        code(
            "HAS CONCEPT MOD", ("121058", "DCM", "Procedure reported"), ("113704", "DCM", "Projection X-Ray")
        ),
        code("HAS OBS CONTEXT", ("121005", "DCM", "Observer Type"), ("121007", "DCM", "Device")),
        uid_item(
            "HAS OBS CONTEXT", ("121012", "DCM", "Device Observer UID"), deterministic_uid(station, "device")
        ),
        text("HAS OBS CONTEXT", ("121013", "DCM", "Device Observer Name"), equipment["station"][:64]),
        text("HAS OBS CONTEXT", ("121014", "DCM", "Device Observer Manufacturer"), equipment["manufacturer"]),
        text("HAS OBS CONTEXT", ("121015", "DCM", "Device Observer Model Name"), equipment["model"]),
        text("HAS OBS CONTEXT", ("121016", "DCM", "Device Observer Serial Number"), equipment["serial"]),
        code("HAS OBS CONTEXT", ("113705", "DCM", "Scope of Accumulation"), ("113014", "DCM", "Study")),
        _accumulated(record, runs, calibration),
    ]
    content[-2].ContentSequence = [
        uid_item("HAS PROPERTIES", ("110180", "DCM", "Study Instance UID"), who.study_uid)
    ]
    for n, run in enumerate(runs):
        content.append(_event(run, deterministic_uid(station, procedure_id, "event", str(n))))
    content.append(code("CONTAINS", ("113854", "DCM", "Source of Dose Information"), source))
    root = ("113701", "DCM", "X-Ray Radiation Dose Report")
    return document(XRAY_SR, root, "10001", content, who, when, equipment)
