"""`[dicom]` in the station config: where reports come in, where written ones go (docs/dicom.md)."""

from __future__ import annotations

__all__ = ["DicomConfig"]

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class DicomConfig:
    outbox_folder: str = "var/doseedge/dicom"  # reports written, pending C-STOREs, irradiation journals
    watch_folder: str = ""  # RDSR files dropped here are read, then moved to done/ or rejected/
    watch_interval_s: float = 5.0
    scp_enabled: bool = False  # a Storage SCP consoles can send RDSRs to
    scp_host: str = "127.0.0.1"  # loopback unless the site opens it on purpose
    scp_port: int = 11112
    scp_ae_title: str = "DOSEEDGE"
    peer_host: str = ""  # C-STORE every written report to this PACS / dose registry; "" = outbox only
    peer_port: int = 104
    peer_ae_title: str = ""
    retry_s: float = 30.0  # wait before retrying a peer that refused or was down
    median_window: int = 20  # patients per exam type in the rolling median against Tables 1–3
    write_procedure_reports: bool = True  # TID 10001 at the close of every live procedure
    write_activity_reports: bool = True  # TID 10021 for every hot-lab administration
    calibration_factor: float = 1.0  # DAP meter calibration written in the report
    calibration_date: str = ""  # YYYY-MM-DD of that calibration
    calibration_uncertainty_percent: float = 0.0  # 0 = not stated in the report

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        for key, port in (("scp_port", self.scp_port), ("peer_port", self.peer_port)):
            if not 1 <= port <= 65535:
                problems.append((key, "must be 1–65535"))
        for key, title in (("scp_ae_title", self.scp_ae_title), ("peer_ae_title", self.peer_ae_title)):
            if len(title) > 16 or "\\" in title or (key == "scp_ae_title" and not title.strip()):
                problems.append((key, "an AE title is 1–16 characters, no backslash"))
        if self.peer_host and not self.peer_ae_title:
            problems.append(("peer_ae_title", "needed with peer_host"))
        if not 1 <= self.median_window <= 1000:
            problems.append(("median_window", "must be 1–1000"))
        if not 0.5 <= self.retry_s <= 86400 or not 0.1 <= self.watch_interval_s <= 3600:
            problems.append(("retry_s", "retry_s 0.5–86400 and watch_interval_s 0.1–3600"))
        if not 0.5 <= self.calibration_factor <= 2.0:
            problems.append(("calibration_factor", "must be 0.5–2.0"))
        if not 0 <= self.calibration_uncertainty_percent <= 100:
            problems.append(("calibration_uncertainty_percent", "must be 0–100"))
        if self.calibration_date:
            try:
                date.fromisoformat(self.calibration_date)
            except ValueError:
                problems.append(("calibration_date", "must be YYYY-MM-DD"))
        if self.scp_enabled and not self.watch_folder:
            problems.append(("scp_enabled", "the SCP drops received reports in watch_folder: set it"))
        if not self.outbox_folder:
            problems.append(("outbox_folder", "must not be empty"))
        return problems
