"""A C-arm procedure run in injected time, its records fed to a DicomStation; DICOM tool helpers."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent.config import parse_config
from agent.dicom.station import DicomStation
from agent.notices import Evaluation, RecordNotice
from simulators.procedure import Procedure
from tests.agent.room import GEOMETRY, Room, carm_toml
from tests.fakes import FakeClock

ACTIVITY_RECORD: dict[str, Any] = {  # the fields agent/hotlab/monitor.py puts in record/activity
    "nuclide": "Tc-99m",
    "chamber": "1",
    "activity": {"value": 612.3, "unit": "MBq"},
    "displayed": {"value": 612.3, "unit": "MBq"},
    "measured_at": "2026-11-22T09:00:00Z",
    "device": "cal1",
    "context": {"examination": "bone", "planned_administration": "2026-11-22T09:40:00+00:00"},
    "activity_at_administration": {"value": 567.9, "unit": "MBq", "decay_corrected": True},
    "checks": [],
}


def dicom_toml(outbox: Path, extra: str = "") -> str:
    return (
        carm_toml() + f'\n[dicom]\noutbox_folder = "{outbox}"\ncalibration_factor = 1.02\n'
        f'calibration_date = "2026-01-15"\ncalibration_uncertainty_percent = 5.0\n{extra}\n'
    )


def station(outbox: Path, extra: str = "") -> tuple[DicomStation, list[Evaluation]]:
    published: list[Evaluation] = []
    config = parse_config(dicom_toml(outbox, extra))
    return DicomStation(config, FakeClock(), published.append), published


def live_procedure_records() -> list[RecordNotice]:
    """Two beam-on runs (fluoroscopy at 20 then 40 mGy/min), then idle until the procedure closes."""
    procedure = Procedure.from_esak(
        [(2.0, 0.0), (20.0, 20.0), (5.0, 0.0), (10.0, 40.0), (70.0, 0.0)], GEOMETRY
    )
    room = Room(procedure)
    room.run(107.0, 0.25)
    assert len(room.record("procedure")) == 1
    return [r for r in room.records if r.kind in {"irradiation", "procedure"}]


def validate(path: Path) -> None:
    """dciodvfy reports no error and dsrdump reads the whole document."""
    for tool in ("dciodvfy", "dsrdump", "storescp"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: run scripts/ensure-dicom-tools.sh (make test does)")
    check = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    errors = [line for line in (check.stdout + check.stderr).splitlines() if line.startswith("Error")]
    assert errors == [], errors
    dump = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    assert "E:" not in dump.stderr and "F:" not in dump.stderr, dump.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
