"""Reading dose-report files from disk (the I/O side of summary.py): one DoseReport per path, never raises."""

from __future__ import annotations

__all__ = ["read_report"]

from pathlib import Path

from agent.dicom.summary import DoseReport, summarise

MAX_BYTES = 64 * 1024 * 1024  # a dose report is kilobytes; anything this big is not one


def read_report(path: str | Path) -> DoseReport:
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            return DoseReport(str(path), problems=[f"not read: larger than {MAX_BYTES} bytes"])
        ds = pydicom.dcmread(path, force=False)
    except (OSError, InvalidDicomError, ValueError, EOFError) as exc:
        return DoseReport(str(path), problems=[f"not read: {type(exc).__name__}: {exc}"])
    try:
        return summarise(ds, str(path))
    except Exception as exc:  # a malformed element deep in a vendor file: say so, keep going
        return DoseReport(str(path), problems=[f"not parsed: {type(exc).__name__}: {exc}"])
