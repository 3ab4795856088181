"""A station's DICOM side: writes a report for every live procedure and hot-lab administration, sends
them to the configured peer, reads the reports consoles drop in the watched folder or send to the SCP,
and publishes what it found as records. Built only when the config has `[dicom]` (agent/app.py).

It listens to the pipeline's records and never changes the fluoroscopy monitor. Records it makes are
handed to the pipeline from the loop (`publish`), never from inside a record listener.
"""

from __future__ import annotations

__all__ = ["DicomStation"]

import asyncio
import hashlib
import json
import logging
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent import payloads
from agent.clock import Clock
from agent.config import AgentConfig
from agent.dicom.checks import GuidanceMedians, report_totals, trigger_crossings
from agent.dicom.config import DicomConfig
from agent.dicom.fields import KAP_UNITS, quantity, table
from agent.dicom.files import read_report
from agent.dicom.identity import identity_for
from agent.dicom.network import StorageScp, send_report
from agent.dicom.report_outbox import ReportOutbox
from agent.dicom.summary import DoseReport
from agent.dicom.write_nm import nm_report
from agent.dicom.write_xray import Calibration, xray_report
from agent.notices import AlarmNotice, Evaluation, RecordNotice
from limits.triggers import TriggerState, evaluate

log = logging.getLogger(__name__)


class DicomStation:
    def __init__(self, config: AgentConfig, clock: Clock, publish: Callable[[Evaluation], None]) -> None:
        assert config.dicom is not None
        self.config = config
        self.dicom: DicomConfig = config.dicom
        self.clock = clock
        self.publish = publish
        self.station = f"{config.station.site}/{config.station.station_id}"
        self.outbox = ReportOutbox(self.dicom.outbox_folder, queue=bool(self.dicom.peer_host))
        self.medians = GuidanceMedians(self.dicom.median_window)
        self.patients: dict[str, tuple[dict[str, float], TriggerState]] = {}
        self.counters: Counter[str] = Counter()
        self.peer_error = ""
        self._held: list[RecordNotice] = []
        self._alarms: list[AlarmNotice] = []
        # One id per station, so an outage raised before a restart is cleared by the first send after it.
        self._peer_alarm_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"doseedge:{self.station}:dicom_peer"))
        self.scp: StorageScp | None = None
        self._seen: dict[str, tuple[int, int]] = {}  # watched file → (size, mtime) at the last scan
        if self.outbox.queue and self.outbox.pending():
            self.peer_error = "reports queued before the agent started"
        fluoro = config.fluoroscopy
        self.by_dosimeter = bool(fluoro and fluoro.dap_meter)
        model = ", ".join(sorted({d.driver for d in config.devices})) or "doseedge agent"
        self.equipment = {
            "manufacturer": "doseedge",
            "model": model[:64],
            "serial": config.station.station_id[:64],
            "station": self.station,
        }

    # --- writing -------------------------------------------------------------------------------
    def on_record(self, notice: RecordNotice) -> None:
        """Pipeline record listener (loop thread). Writing is local file I/O, milliseconds."""
        details = notice.details
        if notice.kind == "irradiation" and details.get("procedure_id"):
            self.outbox.journal(str(details["procedure_id"]), details)
        elif notice.kind == "procedure" and self.dicom.write_procedure_reports:
            self._write_procedure(details)
        elif notice.kind == "activity" and self.dicom.write_activity_reports:
            self._write_activity(details)

    def _write_procedure(self, record: dict[str, Any]) -> None:
        procedure_id = str(record.get("procedure_id") or "")
        if not procedure_id:
            return
        runs = self.outbox.runs_of(procedure_id)
        who = identity_for(self.station, procedure_id, record)
        d = self.dicom
        calibration = Calibration(d.calibration_factor, d.calibration_date, d.calibration_uncertainty_percent)
        ds = xray_report(
            record, runs, who, self.station, self.equipment, calibration, self.by_dosimeter, self.clock.wall()
        )
        totals = table(record, "totals")
        extra = {
            "procedure_id": procedure_id,
            "events": len(runs),
            "kap": {"value": quantity(totals.get("kap"), *KAP_UNITS), "unit": "Gy.cm2"},
        }
        self._store(ds, "xray", who.generated, extra)
        self.outbox.forget_runs(procedure_id)

    def _write_activity(self, record: dict[str, Any]) -> None:
        key = json.dumps(
            [record.get(k) for k in ("measured_at", "device", "nuclide", "activity")], default=str
        )
        record_id = "activity-" + hashlib.sha256(key.encode()).hexdigest()[:24]
        who = identity_for(self.station, record_id, record)
        ds = nm_report(record, record_id, who, self.station, self.equipment, self.clock.wall())
        self._store(
            ds,
            "radiopharmaceutical",
            who.generated,
            {"activity_record": record_id, "nuclide": record.get("nuclide")},
        )

    def _store(self, ds: Any, report: str, generated: bool, extra: dict[str, Any]) -> None:
        from io import BytesIO

        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        path = self.outbox.put(str(ds.SOPInstanceUID), buffer.getvalue())
        if path is None:
            self.counters["reports_already_written"] += 1
            return
        self.counters["reports_written"] += 1
        peer = self._peer_name() if self.dicom.peer_host else None
        self._hold(
            RecordNotice(
                "dicom_report",
                {
                    "report": report,
                    "sop_instance_uid": str(ds.SOPInstanceUID),
                    "file": path.name,
                    "identity_generated": generated,
                    "queued_for": peer,
                    **extra,
                },
            )
        )

    def _hold(self, notice: RecordNotice) -> None:
        self._held.append(notice)
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:
            pass  # no loop (a test calling on_record directly): flush() is called by the caller

    def flush(self) -> None:
        if self._held or self._alarms:
            held, self._held = self._held, []
            alarms, self._alarms = self._alarms, []
            self.publish(Evaluation(alarms=alarms, records=held))

    # --- sending -------------------------------------------------------------------------------
    def pump_sender(self) -> int:
        """Send what is queued, oldest first; stop at the first failure (the peer is down). Blocking."""
        sent = 0
        d = self.dicom
        for path in self.outbox.pending():
            try:
                error = send_report(path, d.peer_host, d.peer_port, d.peer_ae_title, d.scp_ae_title)
            except Exception as exc:  # network, refused, malformed answer: keep it queued
                error = f"{type(exc).__name__}: {exc}"
            if error:
                if not self.peer_error:
                    self._peer_down(error)
                self.peer_error = error
                self.counters["send_failures"] += 1
                return sent
            if self.peer_error:
                self._peer_back()
            self.peer_error = ""
            self.outbox.sent(path)
            self.counters["reports_sent"] += 1
            sent += 1
            self._hold(RecordNotice("dicom_sent", {"sop_instance_uid": path.stem, "peer": self._peer_name()}))
        return sent

    def _peer_down(self, error: str) -> None:
        """Loud once per outage: reports are safe on disk, but the registry is not receiving them."""
        waiting = len(self.outbox.pending())
        log.warning("DICOM peer not reachable, %d report(s) wait: %s", waiting, error)
        message = f"Dose registry not reachable: {waiting} DICOM report(s) wait in the outbox"
        details = {"peer": self._peer_name(), "error": error, "waiting": waiting}
        notice = AlarmNotice(
            self._peer_alarm_id, "dicom_peer_unreachable", "raised", "warning", message, details
        )
        self._alarms.append(notice)

    def _peer_back(self) -> None:
        log.info("DICOM peer back: sending queued reports")
        message = "Dose registry reachable again: queued DICOM reports are being sent"
        details = {"peer": self._peer_name()}
        self._alarms.append(
            AlarmNotice(self._peer_alarm_id, "dicom_peer_unreachable", "cleared", "warning", message, details)
        )

    def _peer_name(self) -> str:
        return f"{self.dicom.peer_ae_title}@{self.dicom.peer_host}:{self.dicom.peer_port}"

    # --- reading -------------------------------------------------------------------------------
    def ingest(self, report: DoseReport) -> list[RecordNotice]:
        """Checks on one report read from outside; patient identifiers never enter a record."""
        body = {k: v for k, v in report.as_json().items() if k != "file"}
        body["file"] = Path(report.file).name
        body["kind"] = report.kind
        records = [RecordNotice("dicom_received", body)]
        if report.kind == "fluoroscopy" and self.config.triggers is not None:
            totals = report_totals(report)
            body["trigger_crossings"] = trigger_crossings(totals, self.config.triggers)
            if report.patient_id:
                body["patient_trigger_crossings"] = self._patient(report.patient_id, totals)
        if report.kind == "radiopharmaceutical" and report.administered_mbq is not None:
            body["administered_activity"] = payloads.quantity(report.administered_mbq, "MBq")
        for median in self.medians.add(report):
            records.append(
                RecordNotice("dicom_guidance", {"sop_instance_uid": report.sop_instance_uid, **median})
            )
        return records

    def _patient(self, patient_id: str, totals: dict[str, float]) -> list[dict[str, Any]]:
        assert self.config.triggers is not None
        sums, state = self.patients.get(patient_id, ({}, TriggerState()))
        sums = {k: sums.get(k, 0.0) + totals.get(k, 0.0) for k in set(sums) | set(totals)}
        state, crossings = evaluate(state, sums, self.config.triggers.levels)
        self.patients[patient_id] = (sums, state)
        return [
            {"id": c.level.id, "level": c.level.describe(c.index), "value": round(c.value, 4)}
            for c in crossings
        ]

    def scan_watch_folder(self) -> list[RecordNotice]:
        """Read the files that did not change since the previous scan (a console may still be writing
        one: a half-written file must not be rejected), then move each to done/ or rejected/."""
        folder = Path(self.dicom.watch_folder)
        records: list[RecordNotice] = []
        seen, self._seen = self._seen, {}
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            stat = path.stat()
            self._seen[path.name] = (stat.st_size, stat.st_mtime_ns)
            if seen.get(path.name) != self._seen[path.name]:
                continue
            del self._seen[path.name]
            report = read_report(path)
            usable = report.template is not None
            target = folder / ("done" if usable else "rejected")
            target.mkdir(exist_ok=True)
            shutil.move(str(path), target / path.name)
            self.counters["files_read" if usable else "files_rejected"] += 1
            records += self.ingest(report)
        return records

    # --- running -------------------------------------------------------------------------------
    def start(self) -> None:
        """The SCP, if configured. A port already taken is loud (an alarm), not the end of the agent."""
        if not self.dicom.scp_enabled:
            return
        d = self.dicom
        self.scp = StorageScp(d.scp_host, d.scp_port, d.scp_ae_title, Path(d.watch_folder))
        try:
            self.scp.start()
        except OSError as exc:
            self.scp = None
            log.error("DICOM SCP could not listen on %s:%d: %s", d.scp_host, d.scp_port, exc)
            message = f"DICOM receiver not running: cannot listen on {d.scp_host}:{d.scp_port}"
            details = {"error": str(exc), "port": d.scp_port}
            self._alarms.append(
                AlarmNotice(str(uuid.uuid4()), "dicom_scp_failed", "raised", "warning", message, details)
            )

    async def run(self, stop: asyncio.Event) -> None:
        self.start()
        next_send = 0.0
        try:
            while not stop.is_set():
                try:
                    if self.dicom.watch_folder and Path(self.dicom.watch_folder).is_dir():
                        self._held += await asyncio.to_thread(self.scan_watch_folder)
                    if self.dicom.peer_host and self.clock.monotonic() >= next_send:
                        await asyncio.to_thread(self.pump_sender)
                        if self.peer_error:
                            next_send = self.clock.monotonic() + self.dicom.retry_s
                except Exception:  # the DICOM side's one catch site: a bug here never ends the task
                    self.counters["loop_errors"] += 1
                    log.exception("DICOM station step failed")
                self.flush()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.dicom.watch_interval_s)
                except TimeoutError:
                    pass
        finally:
            if self.scp is not None:
                self.scp.stop()
