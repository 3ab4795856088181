"""The pipeline: reading → normalise → evaluate → store → publish.

A reading enters in `on_reading` (drivers already normalised it to canonical units), is judged
by the room's monitor (agent/fluoro/monitor.py → limits/), and every resulting message is committed to the
outbox in one transaction before the forwarder is woken to publish it. Alarms reach the live
view before the store is touched, so a failing disk never hides an alarm.
"""

from __future__ import annotations

__all__ = ["Pipeline", "alarm_out"]

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from agent.alarms import AlarmBook
from agent.citations import CitationBook
from agent.clock import Clock
from agent.config import AgentConfig
from agent.fluoro.monitor import FluoroMonitor
from agent.fluoro.patients import patient_ledger
from agent.hotlab.monitor import HotlabMonitor
from agent.notices import AlarmNotice, Evaluation, Monitor, RecordNotice
from agent.payloads import alarm_body, envelope, reading_body
from agent.plausibility import PlausibilityGate
from agent.report_filter import ReportFilter
from agent.restart_state import StateWriter, resume
from agent.store.outbox import Outbox, OutMessage, Priority, StoredMessage
from agent.store.writer import Committed, StoreWriter
from core.errors import StoreError
from drivers.model import Reading

log = logging.getLogger(__name__)


def alarm_out(base: dict[str, Any], notice: AlarmNotice) -> OutMessage:
    """The `alarm` message for a notice, on a `doseedge.alarm.v2` envelope."""
    body = alarm_body(
        base,
        alarm_id=notice.alarm_id,
        alarm_type=notice.alarm_type,
        state=notice.state,
        severity=notice.severity,
        message=notice.message,
        details=notice.details,
    )
    return OutMessage("alarm", body, Priority.ALARM)


class Pipeline:
    def __init__(self, config: AgentConfig, outbox: Outbox, clock: Clock, wake: Callable[[], None]) -> None:
        self.config = config
        self.outbox = outbox
        self.clock = clock
        self.wake = wake
        self.alarm_book = AlarmBook()
        self.citations = CitationBook()
        self._overrunning: set[str] = set()  # devices whose polls overrun (one poll_overrun alarm)
        self._overrun_alarm_id = ""
        self.fluoro: FluoroMonitor | None = None
        self.monitors: list[Monitor] = []
        if config.fluoroscopy is not None and config.rate_levels is not None:
            meter = next((d for d in config.devices if d.name == config.fluoroscopy.dap_meter), None)
            self.fluoro = FluoroMonitor(
                config.fluoroscopy,
                config.rate_levels,
                config.triggers,
                self.alarm_book,
                patient_ledger(outbox.path, config.fluoroscopy.patient_lookback_days),
                float(getattr(meter, "dap_rate_time_base_s", 1.0)),
            )
            self.monitors.append(self.fluoro)
        self.hotlab: HotlabMonitor | None = None
        if config.hotlab is not None:
            self.hotlab = HotlabMonitor(config.hotlab, clock)
            self.hotlab.publish = self.publish_evaluation
            self.monitors.append(self.hotlab)
        self.plausibility = PlausibilityGate(wraps=_counter_wraps(config))
        self.alarm_listeners: list[Callable[[AlarmNotice], None]] = []
        self.record_listeners: list[Callable[[RecordNotice], None]] = []
        self.counters: Counter[str] = Counter()
        self._lost_alarm_ids: dict[str, str] = {}
        self._failed_monitors: dict[str, str] = {}  # monitor name → its monitor_failed alarm id
        self._lost_now: set[str] = set()  # lost in this run (the poller will say when it is back)
        self._state = StateWriter()  # procedure and alarm book, saved with every batch
        self._window = config.store.commit_window_s  # readings wait at most this long for a commit
        self._waiting: list[OutMessage] = []
        self._waiting_since = 0.0
        self.store_ok = True
        self.writer: StoreWriter | None = None  # set while the agent runs: commits off the loop
        # what each commit stored, or that it failed: the forwarder's (agent/link/forwarder.py `committed`)
        self.on_stored: Callable[[list[StoredMessage], bool], None] = lambda stored, failed: None
        self.report = ReportFilter(config.store.report_deadband, config.store.report_max_interval_s)

    @property
    def active_alarms(self) -> dict[str, AlarmNotice]:
        return {alarm_id: entry.notice for alarm_id, entry in self.alarm_book.active.items()}

    def _base(self, schema: str, wall: datetime | None = None) -> dict[str, Any]:
        station = self.config.station
        return envelope(schema, wall or self.clock.wall(), station.site, station.station_id)

    def on_reading(self, reading: Reading) -> None:
        self.counters["readings"] += 1
        if reading.device in self._lost_alarm_ids and reading.device not in self._lost_now:
            self.on_availability(reading.device, True, "")  # lost before a restart, answering now
        derived: dict[str, Any] = {}
        alarms: list[AlarmNotice] = []
        records: list[RecordNotice] = []
        t_mono, wall = self.clock.monotonic(), self.clock.wall()
        gate = self.plausibility.check(reading, t_mono, self.fluoro.beam_on if self.fluoro else False)
        alarms += gate.alarms
        if self.fluoro is not None:
            for notice in gate.alarms:
                self.fluoro.procedure.note_alarm(notice)
            if gate.rebased:
                self.fluoro.forget_counters(reading.device)
        if gate.reading is None:  # implausible: stored as it was, marked, judged by no monitor
            derived["implausible"] = gate.rejected
        for monitor in self.monitors if gate.reading is not None else ():
            try:
                if not monitor.concerns(reading):
                    continue
                result = monitor.observe(reading, t_mono, wall)
            except Exception as exc:  # a monitor's bug: the reading is kept, the failure is an alarm
                alarms += self._monitor_failed(monitor, reading, exc)
                continue
            alarms += self._monitor_back(monitor)
            derived.update(result.derived)
            alarms += result.alarms
            records += result.records
        beam_on = self.fluoro is not None and self.fluoro.beam_on
        force = beam_on or bool(alarms or records or self.alarm_book.active) or gate.reading is None
        if not self.report.report(reading, t_mono, force):  # judged above; unchanged: not sent
            self.counters["readings_unreported"] += 1
            return
        messages = [
            OutMessage(
                f"reading/{reading.device}",
                reading_body(self._base("doseedge.reading.v2", wall), reading, derived),
                Priority.READING,
            )
        ]
        self.store(messages + self._notice_messages(alarms, records) if alarms or records else messages)

    def _monitor_failed(self, monitor: Monitor, reading: Reading, exc: Exception) -> list[AlarmNotice]:
        """A monitor raised: its readings are not being judged. Loud once (high), counted always."""
        self.counters["monitor_errors"] += 1
        name = type(monitor).__name__
        if name in self._failed_monitors:
            return []
        log.exception("MONITOR FAILED: %s on a reading from %s", name, reading.device)
        self._failed_monitors[name] = alarm_id = str(uuid.uuid4())
        message = f"Dose evaluation failed ({name}): readings are stored but not judged"
        details = {"monitor": name, "device": reading.device, "error": f"{type(exc).__name__}: {exc}"}
        return [AlarmNotice(alarm_id, "monitor_failed", "raised", "high", message, details)]

    def _monitor_back(self, monitor: Monitor) -> list[AlarmNotice]:
        name = type(monitor).__name__
        alarm_id = self._failed_monitors.pop(name, None)
        if alarm_id is None:
            return []
        message = f"Dose evaluation ({name}) is working again"
        return [AlarmNotice(alarm_id, "monitor_failed", "cleared", "high", message, {"monitor": name})]

    def publish_evaluation(self, result: Evaluation) -> None:
        """Alarms and records a monitor produced outside a reading (e.g. from a command)."""
        self.store(self._notice_messages(result.alarms, result.records))

    def _notice_messages(self, alarms: list[AlarmNotice], records: list[RecordNotice]) -> list[OutMessage]:
        messages = [self.alarm_message(a) for a in alarms]
        messages += [
            OutMessage(
                f"record/{r.kind}",
                {**self._base(f"doseedge.record.{r.kind}.v2"), **self.citations.record(r.details)},
                Priority.RECORD,
            )
            for r in records
        ]
        self.counters["records"] += len(records)
        for record in records:
            for listener in self.record_listeners:
                self._tell(listener, record)
        return messages

    def on_availability(self, device: str, available: bool, error: str) -> None:
        """A device was lost or recovered (agent/poller.py decides when)."""
        beam_on = self.fluoro.beam_on if self.fluoro is not None else False
        if not available:
            self._lost_now.add(device)
            if device in self._lost_alarm_ids:  # still the one raised before a restart
                return
            alarm_id = str(uuid.uuid4())
            self._lost_alarm_ids[device] = alarm_id
            during = " during beam-on" if beam_on else ""
            fluoro = self.config.fluoroscopy
            effect = fluoro.loss_effect(device) if fluoro is not None else "dose is not being monitored"
            notice = AlarmNotice(
                alarm_id,
                "device_lost",
                "raised",
                "high" if beam_on else "warning",
                f"Lost contact with {device}{during}: {effect}",
                {
                    "device": device,
                    "error": error,
                    "beam_on_at_loss": beam_on,
                },
            )
            if self.fluoro is not None:
                self.fluoro.procedure.note_alarm(notice)
        else:
            self._lost_now.discard(device)
            alarm_id = self._lost_alarm_ids.pop(device, str(uuid.uuid4()))
            notice = AlarmNotice(
                alarm_id,
                "device_lost",
                "cleared",
                "warning",
                f"{device} is answering again",
                {"device": device},
            )
        self.store([self.alarm_message(notice)])

    def on_poll_overrun(self, device: str, overrunning: bool, detail: str) -> None:
        """A device's polls no longer fit their interval (agent/poller.py decides when): the box is
        overloaded. Readings still come, further apart. One alarm for the station, however many devices
        overrun together: raised by the first, cleared when the last keeps its interval again (per
        device counts are in health)."""
        was = bool(self._overrunning)
        if overrunning:
            self._overrunning.add(device)
        else:
            self._overrunning.discard(device)
        details = {"device": device, "devices_overrunning": len(self._overrunning)}
        if overrunning and not was:
            self._overrun_alarm_id = str(uuid.uuid4())
            message = f"Polling of {device} is stretched, the box cannot keep up: {detail}"
            notice = AlarmNotice(
                self._overrun_alarm_id, "poll_overrun", "raised", "warning", message, details
            )
        elif was and not self._overrunning:
            message = f"Polling keeps its interval again ({device}: {detail})"
            notice = AlarmNotice(
                self._overrun_alarm_id, "poll_overrun", "cleared", "warning", message, details
            )
        else:
            return
        self.store([self.alarm_message(notice)])

    def must_poll(self, device: str) -> bool:
        """The fluoroscopy room's instruments during beam-on are read at their interval even when the
        link is behind (agent/backpressure.py): the dose is judged at the box, not at the broker."""
        fluoro = self.fluoro
        return fluoro is not None and fluoro.beam_on and fluoro.concerns_device(device)

    def adopt_lost_alarm(self, device: str, alarm_id: str) -> None:
        """A `device_lost` active before a restart: cleared by the device's next reading."""
        self._lost_alarm_ids[device] = alarm_id

    def resume(self, saved: dict[str, str]) -> None:
        """At start-up: restore the procedure and alarm state saved with the last batch
        (agent/restart_state.py) and publish the restored retained `alarm/active`."""
        result = resume(self, saved)
        self.store([*self._notice_messages(result.alarms, result.records), self.active_message()])

    def alarm_message(self, notice: AlarmNotice) -> OutMessage:
        """Count, show and build an alarm (the monitors', device_lost, and the store's own)."""
        self.counters[f"alarms_{notice.state}"] += 1
        self.alarm_book.apply(notice, self.clock.wall())
        for listener in self.alarm_listeners:
            self._tell(listener, notice)
        cited = replace(notice, details=self.citations.cite(notice.details))
        return alarm_out(self._base("doseedge.alarm.v2"), cited)

    def _tell(self, listener: Callable[[Any], None], notice: AlarmNotice | RecordNotice) -> None:
        """A listener (the live view…) that fails must not stop the alarm being stored and sent."""
        try:
            listener(notice)
        except Exception:
            self.counters["listener_errors"] += 1
            log.exception("alarm/record listener failed")

    def acknowledge(self, alarm_id: str, by: str) -> AlarmNotice:
        """`cmd/alarm_ack`: CommandError for an unknown or already acknowledged alarm."""
        notice = self.alarm_book.acknowledge(alarm_id, by, self.clock.wall())
        self.store([self.alarm_message(notice)])
        return notice

    def active_message(self, watched: bool = True) -> OutMessage:
        """The retained `alarm/active` set (published after every change, and at start). At a clean
        stop it is published once more with `watched: false`: the set is what it was when the agent
        stopped, and nothing watches it any more (a kill leaves it `true`: read it with …/status)."""
        self.alarm_book.changed = False
        self.counters["alarm_active"] += 1
        body = {
            **self._base("doseedge.alarm_active.v2"),
            "watched": watched,
            "alarms": self.alarm_book.snapshot(),
        }
        return OutMessage("alarm/active", body, Priority.ALARM, retain=True)

    def levels_message(self) -> OutMessage:
        """The retained `levels` message: every citation text by id (agent/citations.py)."""
        self.counters["levels"] += 1
        body = {**self._base("doseedge.levels.v1"), **self.citations.levels()}
        return OutMessage("levels", body, Priority.ALARM, retain=True)

    def store(self, messages: list[OutMessage]) -> None:
        """Commit (group commit) and wake the forwarder. Readings alone may wait up to
        `[store] commit_window_s` to share one commit (the write budget, docs/store.md); anything else
        (an alarm, a record, alarm/active, a command result) commits at once, with the readings waiting.
        A store that refuses the write holds the messages itself, numbered and publishable
        (agent/store/held.py): alarms still reach MQTT."""
        if self.citations.changed:  # before the alarms that name them, in the same batch
            messages = [self.levels_message(), *messages]
        if self.alarm_book.changed:
            messages = [*messages, self.active_message()]
        now = self.clock.monotonic()
        if self._window > 0 and all(m.priority == Priority.READING for m in messages):
            if not self._waiting:
                self._waiting_since = now
            self._waiting += messages
            if now - self._waiting_since < self._window:
                return
            messages = []
        self.flush(messages)

    def flush_due(self) -> None:
        """Commit readings that waited their window (the agent calls this a few times a window)."""
        if self._waiting and self.clock.monotonic() - self._waiting_since >= self._window:
            self.flush([])

    def flush(self, messages: list[OutMessage] | None = None) -> None:
        """Commit what waits and `messages`: handed to the store writer's thread while the agent
        runs (agent/store/writer.py; `committed` follows on the loop), else here and now."""
        batch, self._waiting = [*self._waiting, *(messages or [])], []
        readings_only = self._window > 0 and all(m.priority == Priority.READING for m in batch)
        state = self._state.rows(self)
        revision = self.alarm_book.revision
        if self.writer is not None:
            self.writer.submit(batch, state, readings_only, revision)
            return
        result = Committed(state, len(batch), revision)
        try:
            result.stored = self.outbox.append(batch, state=state, readings_only=readings_only)
        except StoreError as exc:
            result.error = exc
        self.committed(result)

    def committed(self, result: Committed) -> None:
        """A commit is done (on the loop thread): count a failure, note the state written, hand what
        was committed to the forwarder (agent/link/forwarder.py: live readings from memory) and wake it."""
        if self.writer is not None and self.writer.shed:
            self.counters["readings_shed"] = self.writer.shed  # the writer could not keep up
        if result.error is not None:
            self.counters["store_errors"] += 1
            if self.store_ok:
                log.error("STORE FAILING, keeping messages in memory: %s", result.error)
            self.store_ok = False
            self.counters["unstored_dropped"] = self.outbox.held.dropped
            self.on_stored([], True)  # the forwarder reads the store (and what it holds) from here on
            self.wake()
            return
        if not self.store_ok:
            log.warning("store recovered; held messages written")
        self._state.written(result.state, result.revision)
        self.store_ok = True
        self.on_stored(result.stored, False)
        self.wake()


def _counter_wraps(config: AgentConfig) -> dict[str, dict[str, float]]:
    """A counter's documented wrap caps its plausible range (limits/plausibility.py)."""
    fluoro = config.fluoroscopy
    if fluoro is None or not fluoro.dap_meter or fluoro.kap_counter_wrap_gy_cm2 <= 0:
        return {}
    return {fluoro.dap_meter: {"kap": fluoro.kap_counter_wrap_gy_cm2}}
