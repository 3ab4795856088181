"""The two DICOM network roles (pynetdicom, behind this one seam): a C-STORE client that sends one
written report to the configured peer, and a Storage SCP that accepts dose reports from consoles and
drops them, atomically, into the watched folder."""

from __future__ import annotations

__all__ = ["StorageScp", "send_report"]

import logging
import os
from pathlib import Path
from typing import Any

from agent.dicom.codes import RADIOPHARMACEUTICAL_SR, XRAY_SR

log = logging.getLogger(__name__)
_DOSE_SR = (XRAY_SR, RADIOPHARMACEUTICAL_SR, "1.2.840.10008.5.1.4.1.1.88.76")
TIMEOUT_S = 10.0


def send_report(path: Path, host: str, port: int, peer_ae: str, own_ae: str) -> str:
    """C-STORE one file; "" on Success, else why not (the caller keeps it queued and retries)."""
    import pydicom
    from pynetdicom import AE

    ds = pydicom.dcmread(path)
    ae = AE(ae_title=own_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    ae.add_requested_context(ds.SOPClassUID)
    assoc = ae.associate(host, port, ae_title=peer_ae)
    if not assoc.is_established:
        return f"no association with {peer_ae}@{host}:{port}"
    try:
        status = assoc.send_c_store(ds)
    finally:
        assoc.release()
    code = getattr(status, "Status", None)
    return "" if code == 0x0000 else f"C-STORE status {code!r}"


class StorageScp:
    """Accepts the dose-report SOP classes only; each file is written as .tmp, then renamed."""

    def __init__(self, host: str, port: int, ae_title: str, folder: Path) -> None:
        self.host, self.port, self.ae_title, self.folder = host, port, ae_title, folder
        self.server: Any = None
        self.received = 0

    def _on_store(self, event: Any) -> int:
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
            name = "".join(ch for ch in str(ds.SOPInstanceUID) if ch.isdigit() or ch == ".")[:64] or "unnamed"
            tmp = self.folder / f".{name}.tmp"
            ds.save_as(tmp, enforce_file_format=True)
            os.replace(tmp, self.folder / f"{name}.dcm")
        except Exception:  # a malformed dataset from outside: refuse it, keep serving
            log.exception("DICOM SCP: could not store a received dataset")
            return 0xC210
        self.received += 1
        return 0x0000

    def start(self) -> None:
        from pynetdicom import AE, evt

        self.folder.mkdir(parents=True, exist_ok=True)
        ae = AE(ae_title=self.ae_title)
        for uid in _DOSE_SR:
            ae.add_supported_context(uid)
        self.server = ae.start_server(
            (self.host, self.port), block=False, evt_handlers=[(evt.EVT_C_STORE, self._on_store)]
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None
