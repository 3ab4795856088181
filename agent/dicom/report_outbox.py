"""The outbox folder of written reports: durable by files, the same rules as the MQTT outbox.

`reports/<SOP Instance UID>.dcm` is every report written (atomic: temp file, fsync, rename). With a
C-STORE peer, `queue/<uid>` marks it unsent; the marker is removed only once the peer answered Success —
so nothing is lost while the peer is down or the box restarts. The file name is the deterministic SOP
Instance UID of the record, so a procedure closed again after a restart is never a second report.
`runs/<procedure_id>.jsonl` journals the irradiation records of an open procedure across restarts.
"""

from __future__ import annotations

__all__ = ["ReportOutbox"]

import json
import os
from pathlib import Path
from typing import Any


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:128] or "_"


class ReportOutbox:
    def __init__(self, folder: str | Path, queue: bool) -> None:
        self.folder = Path(folder)
        self.reports = self.folder / "reports"
        self.queue_dir = self.folder / "queue"
        self.runs = self.folder / "runs"
        self.queue = queue
        for path in (self.reports, self.queue_dir, self.runs):
            path.mkdir(parents=True, exist_ok=True)

    def put(self, sop_uid: str, data: bytes) -> Path | None:
        """Write a report once; None when this report was already written (a restart, a replay)."""
        path = self.reports / f"{_safe(sop_uid)}.dcm"
        if path.exists():
            return None
        _atomic_write(path, data)
        if self.queue:
            _atomic_write(self.queue_dir / path.stem, b"")
        return path

    def pending(self) -> list[Path]:
        return sorted(
            self.reports / f"{marker.name}.dcm"
            for marker in self.queue_dir.iterdir()
            if not marker.name.startswith(".")
        )

    def sent(self, report: Path) -> None:
        (self.queue_dir / report.stem).unlink(missing_ok=True)

    def journal(self, procedure_id: str, run: dict[str, Any]) -> None:
        with open(self.runs / f"{_safe(procedure_id)}.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(run, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def runs_of(self, procedure_id: str) -> list[dict[str, Any]]:
        path = self.runs / f"{_safe(procedure_id)}.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn last line after a power cut: that run is lost, the others are kept
        return out

    def forget_runs(self, procedure_id: str) -> None:
        (self.runs / f"{_safe(procedure_id)}.jsonl").unlink(missing_ok=True)
