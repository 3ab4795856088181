"""`doseedge dicom read PATH... [--json]`: what doseedge reads from dose reports (docs/dicom.md).

With --json, one JSON object per file per line — the contract other tools script against. Without, a
table a physicist can read. A folder stands for the files in it. Exit 1 when a file was not a dose
report doseedge could read at all; files with problems listed are still read (exit 0).
"""

from __future__ import annotations

__all__ = ["read_command"]

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from agent.dicom.files import read_report
from agent.dicom.summary import DoseReport, Plane


def _paths(args: Iterable[str]) -> list[Path]:
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        out += sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    return out


_ROW = "{:<40} {:>5} {:>6} {:>5} {:>11} {:>9} {:>8} {:>10} {:>9}\n"


def _cell(value: float | None, scale: float = 1.0, digits: int = 4) -> str:
    return "-" if value is None else f"{value * scale:.{digits}g}"


def _table(reports: list[DoseReport], out: TextIO) -> None:
    header = ("file", "tid", "events", "plane", "KAP Gy·cm²", "Ka,r mGy", "fluoro s", "fluoro KAP", "acq KAP")
    out.write(_ROW.format(*header))
    for r in reports:
        name = Path(r.file).name[:40]
        rows: list[Plane | None] = list(r.planes) or [None]
        for n, p in enumerate(rows, 1):
            cells = (
                ("-",) * 5
                if p is None
                else (
                    _cell(p.kap_gy_cm2),
                    _cell(p.dose_rp_gy, 1000),
                    _cell(p.fluoro_time_s),
                    _cell(p.fluoro_kap_gy_cm2),
                    _cell(p.acquisition_kap_gy_cm2),
                )
            )
            row = (name if n == 1 else "", r.template or "-", r.events, n if p else "-", *cells)
            out.write(_ROW.format(*row))
        if r.administered_mbq is not None:
            out.write(f"{'':<40} administered activity {r.administered_mbq:g} MBq\n")
        for problem in r.problems:
            out.write(f"{'':<40} problem: {problem}\n")


def read_command(paths: list[str], as_json: bool, out: TextIO) -> int:
    reports = [read_report(p) for p in _paths(paths)]
    if as_json:
        for report in reports:
            out.write(json.dumps(report.as_json(), ensure_ascii=False) + "\n")
    else:
        _table(reports, out)
    return 1 if any(r.template is None for r in reports) else 0
