"""Assembles one agent from a validated config and runs it on an asyncio loop."""

from __future__ import annotations

__all__ = ["Agent"]

import asyncio
import json
import logging
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from agent.backpressure import Backpressure, stretch_notice
from agent.bridge_room import attach_bridges
from agent.clock import Clock, SystemClock
from agent.commands.auth import Keyring, Sender
from agent.commands.device import DeviceCommands
from agent.commands.router import CommandRouter
from agent.config import AgentConfig
from agent.console import Console
from agent.fluoro.commands import register_fluoro_commands
from agent.health import device_health, health_body
from agent.heap import freeze_startup_heap
from agent.instance_lock import InstanceLocks, serial_device
from agent.link.batches import BATCH_SCHEMA
from agent.link.forwarder import Forwarder
from agent.link.mqtt_link import MqttLink
from agent.link.refusals import RefusalAlarms
from agent.notices import AlarmNotice
from agent.payloads import envelope, status_body
from agent.pipeline import Pipeline, alarm_out
from agent.poller import DevicePoller
from agent.security import refusal_record, start_warnings
from agent.store.deep_check import deep_check, mark_damaged
from agent.store.outbox import Outbox, OutMessage, Priority, StoreAlarm
from agent.store.writer import Committed, StoreWriter
from agent.web.auth import Keyring as LoginKeyring
from core.errors import StartRefused, StoreError
from drivers.registry import build_driver

log = logging.getLogger(__name__)
VERSION = "0.1.0"


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        clock: Clock | None = None,
        console_out: TextIO | None = None,
        keyring: LoginKeyring | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self._alarm_sink: Callable[[AlarmNotice], OutMessage] | None = None  # set once the pipeline is
        self.store_unavailable = ""
        self.locks = take_locks(config)  # StartRefused: another agent has the store or a port
        try:
            self.outbox = self._open_store(config)
        except BaseException:
            self.locks.release()
            raise
        station = config.station
        self.root = f"{config.mqtt.topic_prefix}/{station.site}/{station.station_id}"
        client_id = config.mqtt.client_id or f"doseedge-{station.site}-{station.station_id}"
        self.link = MqttLink(config.mqtt, self.root, client_id, self._status_body)
        self.forwarder = Forwarder(
            self.outbox,
            self.link,
            config.mqtt.max_inflight,
            config.mqtt.replay_max_msg_s,
            alarm_window=config.mqtt.alarm_window,
            ack_timeout_s=config.mqtt.ack_timeout_s,
            delete_every_s=config.store.commit_window_s,
            per_message=config.mqtt.max_readings_per_message,
            envelope=lambda: self._base(BATCH_SCHEMA),
        )
        self.pipeline = Pipeline(config, self.outbox, self.clock, self.forwarder.wake)
        self.pipeline.on_stored = self.forwarder.committed  # live readings handed over in memory
        self.forwarder.hand_over()
        self.writer: StoreWriter | None = None  # commits off the loop while the agent runs
        self._alarm_sink = self.pipeline.alarm_message
        self.security_warnings = start_warnings(config)
        self.refusals = RefusalAlarms(self.pipeline.alarm_message, self.pipeline.store)
        self.forwarder.on_refused = self.refusals.refused
        self.forwarder.on_stalled = self.link.kick
        self.commands = CommandRouter(self.clock, self._keyring(config))
        register_fluoro_commands(self.commands, self.pipeline, self.clock)
        if self.pipeline.hotlab is not None:
            self.pipeline.hotlab.register_commands(self.commands)
        self.backpressure = Backpressure(
            self._backlog,
            self.clock.monotonic,
            high=config.mqtt.live_backlog_max,
            max_hold_s=config.mqtt.poll_hold_max_s,
            exempt=self.pipeline.must_poll,
            on_change=self._stretched,
        )
        self.pollers = [
            DevicePoller(
                device,
                build_driver(device, self.clock.monotonic),
                self.clock,
                self.pipeline.on_reading,
                self.pipeline.on_availability,
                self.pipeline.on_poll_overrun,
                self.backpressure.admit,
            )
            for device in config.devices
        ]
        self.device_commands = DeviceCommands(self.pollers, self.clock, self._base, self.publish_result)
        self.device_commands.register(self.commands)
        self.bridge_rooms = attach_bridges(self.pollers, self.pipeline, self.clock, self.run_local)
        self.dicom: Any = None  # agent/dicom/station.py, only with [dicom]: pydicom loads only then
        if config.dicom is not None:
            from agent.dicom.station import DicomStation

            self.dicom = DicomStation(config, self.clock, self.pipeline.publish_evaluation)
            self.pipeline.record_listeners.append(self.dicom.on_record)
        self.console = (
            Console(self.pipeline, self.status_text, console_out) if console_out is not None else None
        )
        # the operator view (agent/web/): logins are checked against the station's senders (the same
        # keys and roles as signed commands), or against `keyring` when one is given (the demos' login)
        real = self.commands.keyring
        login = keyring if keyring is not None else (real if len(real) else None)
        self.web: Any = None  # aiohttp (~13 MB resident) is imported only for a station that serves the view
        if config.web.enabled:
            from agent.web.server import WebServer

            self.web = WebServer(self, self, login, self._announce)
        self._stretch_alarm_id = ""
        self.stop_event: asyncio.Event | None = None
        self.lost_on_stop = 0  # messages held in memory at stop that could not be written
        self.last_summary: dict[str, Any] = {}

    def _backlog(self) -> int:
        """Taken in, not yet published: queued for the store writer + committed, unpublished live rows."""
        return (self.writer.queued() if self.writer is not None else 0) + self.forwarder.unpublished()

    def _stretched(self, stretching: bool, detail: str) -> None:
        if stretching:
            self._stretch_alarm_id = str(uuid.uuid4())
        notice = stretch_notice(self._stretch_alarm_id, stretching, detail)
        self.pipeline.store([self.pipeline.alarm_message(notice)])

    def _keyring(self, config: AgentConfig) -> Keyring:
        """A senders file that cannot be used refuses every MQTT command, loudly; dose monitoring
        still starts (`doseedge run` refuses to start on it before this: check-config)."""
        try:
            keyring = Keyring.load(config.auth)
        except ValueError as exc:
            log.error("COMMANDS REFUSED: %s", exc)
            self.security_warnings.append(f"senders file unusable, every MQTT command refused: {exc}")
            return Keyring(config.auth)
        if not len(keyring):
            log.warning("no [auth] senders: every MQTT command will be refused (docs/security.md)")
        keyring.not_before_s = self.clock.wall().timestamp()
        return keyring

    def _base(self, schema: str) -> dict[str, Any]:
        station = self.config.station
        return envelope(schema, self.clock.wall(), station.site, station.station_id)

    def _status_body(self, state: str) -> dict[str, Any]:
        return status_body(self._base("doseedge.status.v1"), state, VERSION)

    def _open_store(self, config: AgentConfig) -> Outbox:
        """The outbox on disk; if it cannot be opened at all (read-only or missing file system), an
        in-memory one, so the dose is still monitored and alarmed at the table — with a loud alarm."""
        try:
            return Outbox(config.store.path, config.store, self._store_alarm)
        except StoreError as exc:
            self.store_unavailable = str(exc)
            log.error("STORE UNAVAILABLE, records are kept in memory only: %s", exc)
            return Outbox(":memory:", replace(config.store, path=":memory:"), self._store_alarm)

    def _store_unavailable_alarm(self) -> AlarmNotice:
        return AlarmNotice(
            str(uuid.uuid4()),
            "store_failing",
            "raised",
            "high",
            "The record store cannot be opened: dose is monitored, but records are kept in memory "
            "only and are lost if the box restarts",
            {"error": self.store_unavailable, "store": self.config.store.path, "in_memory": True},
        )

    def _store_alarm(self, alarm: StoreAlarm) -> OutMessage:
        """Store alarms (pressure, failing, recovered) go through the pipeline so the live view sees
        them; one raised while the outbox opens, before the pipeline exists, is only built."""
        notice = AlarmNotice(
            alarm.alarm_id, alarm.alarm_type, alarm.state, alarm.severity, alarm.message, alarm.details
        )
        if self._alarm_sink is not None:
            return self._alarm_sink(notice)
        return alarm_out(self._base("doseedge.alarm.v2"), notice)

    def health(self) -> dict[str, Any]:
        """Health as data (agent/health.py), published on …/health."""
        link = {
            "connected": self.link.connected,
            "protocol": self.link.protocol,
            "reconnects": self.link.reconnects,
            "watchdog_restarts": self.link.watchdog_restarts,
            "last_error": self.link.last_error,
            "in_flight": self.forwarder.in_flight,
            "published": self.forwarder.published,
            "acknowledged": self.forwarder.acknowledged,
            "replayed": self.forwarder.replayed,
            "batches": self.forwarder.batches,
            "batched_readings": self.forwarder.batched,
            "refused": dict(self.refusals.by_topic),
            "ack_timeouts": self.forwarder.ack_timeouts,
            "forced_reconnects": self.link.kicks,
        }
        if self.security_warnings:
            link["security_warnings"] = self.security_warnings
        devices = device_health(self.pollers, self.pipeline.plausibility.rejected)
        latency = self.forwarder.latency()
        base = self._base("doseedge.health.v1")
        body = health_body(base, self.outbox.stats(), link, latency, devices, self.pipeline.counters)
        body["commands"] = dict(self.commands.counters)
        body["overload"] = self.backpressure.health()
        return body

    async def _deep_check(self) -> None:
        """The large store's integrity check, after monitoring started (agent/store/deep_check.py)."""
        path = self.outbox.path
        problem = await asyncio.to_thread(deep_check, path)
        if not problem:
            log.info("store %s: integrity check passed", path)
            return
        mark_damaged(path, problem)
        log.error("STORE DAMAGED (%s): monitoring goes on; the next start salvages it", problem)
        message = (
            f"The store file is damaged ({problem}): stored messages may be unreadable; monitoring goes "
            "on, and the next start moves the file aside and salvages what it can"
        )
        notice = AlarmNotice(
            str(uuid.uuid4()), "store_damaged", "raised", "high", message, {"path": str(path)}
        )
        self.pipeline.store([self.pipeline.alarm_message(notice)])

    async def _publish_health(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                body = json.dumps(self.health(), separators=(",", ":")).encode()
                self.link.publish("health", body, qos=0)
            except Exception:  # health must never take the agent down
                log.exception("health snapshot failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.config.mqtt.health_interval_s)
            except TimeoutError:
                pass

    def _announce(self, text: str) -> None:
        if self.console is not None:
            self.console.note(text)
        else:
            log.info("%s", text)

    def status_text(self) -> str:
        broker = "broker up" if self.link.connected else "BROKER DOWN"
        store = "STORE UNAVAILABLE: IN MEMORY ONLY, " if self.store_unavailable else ""
        return f"{broker}, {store}{self.outbox.depth()} unsent"

    def summary(self) -> dict[str, Any]:
        return {
            "readings": self.pipeline.counters["readings"],
            "alarms_raised": self.pipeline.counters["alarms_raised"],
            "alarms_cleared": self.pipeline.counters["alarms_cleared"],
            "records": self.pipeline.counters["records"],
            "alarm_active": self.pipeline.counters["alarm_active"],
            "levels": self.pipeline.counters["levels"],
            "published": self.forwarder.published,
            "acknowledged": self.forwarder.acknowledged,
            "unsent_in_store": self.outbox.depth(),
            "store": str(self.outbox.path),
            "device_errors": {p.name: dict(p.counters) for p in self.pollers},
            "frames_rejected": {p.name: p.driver.counters["frames_rejected"] for p in self.pollers},
            "implausible_values": dict(self.pipeline.plausibility.rejected),
        }

    def run_command(self, name: str, payload: bytes, retained: bool = False) -> dict[str, Any] | None:
        """On the loop thread: a signed command from MQTT; its result is queued like any other message
        (None: dropped beyond the rate limit, only counted)."""
        result = self.commands.dispatch_signed(name, payload, f"{self.root}/cmd/{name}", retained)
        if result is not None:
            self.publish_result(result["command"], result)
        return result

    def run_local(self, name: str, args: dict[str, Any], sender: Sender, channel: str) -> dict[str, Any]:
        """On the loop thread: a command from a channel that authenticated `sender` itself."""
        result = self.commands.dispatch_local(name, args, sender, channel)
        self.publish_result(result["command"], result)
        return result

    def publish_result(self, name: str, result: dict[str, Any], records: Sequence[OutMessage] = ()) -> None:
        """A command's result on cmd_result/<name>, stored with the records it made in one transaction.
        Results are evicted before dose records (Priority.RESULT); a refusal is also recorded."""
        body = {**self._base("doseedge.cmd_result.v2"), **result}
        extra = list(records)
        if "refused" in result:
            extra.append(refusal_record(self._base("doseedge.record.command_refused.v1"), result, self.clock))
        self.pipeline.store([OutMessage(f"cmd_result/{name}", body, Priority.RESULT), *extra])

    def request_stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()

    async def run(self, duration_s: float | None = None, install_signals: bool = True) -> None:
        loop = asyncio.get_running_loop()
        self.stop_event = stop = asyncio.Event()
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        self.link.on_ack = lambda mid: self.forwarder.ack_from_thread(loop, mid)
        self.link.on_state = lambda up: self.forwarder.state_from_thread(loop, up)
        self.link.on_refused = lambda mid, why: self.forwarder.refused_from_thread(loop, mid, why)

        def on_command(name: str, payload: bytes, retained: bool) -> None:
            loop.call_soon_threadsafe(self.run_command, name, payload, retained)

        self.link.on_command = on_command
        self.pipeline.resume(self.outbox.load_state())  # restored procedure, alarm/active (retained)
        if self.store_unavailable:
            self.pipeline.store([self.pipeline.alarm_message(self._store_unavailable_alarm())])
        for warning in self.security_warnings:
            log.warning("INSECURE: %s", warning)

        def committed(done: Committed) -> None:
            loop.call_soon_threadsafe(self.pipeline.committed, done)

        writer = StoreWriter(self.outbox, committed)
        writer.start()  # from here on, commits run on the writer's thread (agent/store/writer.py)
        self.pipeline.writer, self.forwarder.hand_off_deletes = writer, writer.delete_acknowledged
        self.writer = writer
        freeze_startup_heap()  # set up: the collector stops walking the start-up heap (agent/heap.py)
        self.link.start()
        tasks = [asyncio.create_task(p.run(stop), name=p.name) for p in self.pollers]
        tasks.append(asyncio.create_task(self.forwarder.run(stop), name="forwarder"))
        tasks.append(asyncio.create_task(self._publish_health(stop), name="health"))
        if getattr(self.outbox, "deep_check_due", False):
            tasks.append(asyncio.create_task(self._deep_check(), name="store check"))
        if self.dicom is not None:
            tasks.append(asyncio.create_task(self.dicom.run(stop), name="dicom"))
        if config_window := self.config.store.commit_window_s:
            tasks.append(asyncio.create_task(self._flush_readings(stop, config_window), name="commit"))
        if self.console is not None:
            tasks.append(asyncio.create_task(self.console.run(stop), name="console"))
        if self.web is not None:
            tasks.append(asyncio.create_task(self.web.run(stop), name="web"))
        try:
            if duration_s is None:
                await stop.wait()
            else:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=duration_s)
                except TimeoutError:
                    stop.set()
            await asyncio.gather(*tasks)
            await self._drain(seconds=2.0)
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            self.backpressure.close()
            await self._stop_writer()
            await asyncio.to_thread(self.link.stop)
            self.last_summary = self.summary()
            self.lost_on_stop = self.outbox.close()  # tries once more to write what it holds
            if self.lost_on_stop:
                log.critical(
                    "STOPPED WITH %d MESSAGES NOT WRITTEN (the store refuses writes): they are lost",
                    self.lost_on_stop,
                )
                self.last_summary["lost_on_stop"] = self.lost_on_stop
            self.locks.release()
            if install_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

    async def _flush_readings(self, stop: asyncio.Event, window_s: float) -> None:
        """Commit readings that waited their window ([store] commit_window_s)."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=window_s / 4)
            except TimeoutError:
                pass
            self.pipeline.flush_due()

    async def _stop_writer(self) -> None:
        """Commits go back to the loop thread; the writer commits what is queued first (a clean stop
        loses nothing)."""
        writer, self.writer = self.writer, None
        self.pipeline.writer = self.forwarder.hand_off_deletes = None
        if writer is not None:
            await asyncio.to_thread(writer.stop)

    async def _drain(self, seconds: float) -> None:
        """On a clean stop: commit waiting readings, say `alarm/active` is no longer watched, and give
        the broker a moment to acknowledge what is in flight."""
        await self._stop_writer()
        self.pipeline.store([self.pipeline.active_message(watched=False)])
        deadline = loop_time() + seconds
        while self.link.connected and loop_time() < deadline:
            self.forwarder.pump(force_delete=True)
            if self.outbox.depth() == 0 and self.forwarder.in_flight == 0:
                return
            await asyncio.sleep(0.02)
        self.forwarder.pump(force_delete=True)


def take_locks(config: AgentConfig) -> InstanceLocks:
    """The store's lock file and one per serial port (agent/instance_lock.py), before anything opens."""
    locks = InstanceLocks()
    store = Path(config.store.path)
    try:
        if store.is_dir():
            raise StartRefused(f"[store] path {store} is a directory: name a file inside it")
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            locks.take(Path(f"{store}.lock"), f"store {store}")
        except OSError as exc:  # read-only or missing file system: the store goes in memory (loud)
            log.error("cannot lock store %s: %s", store, exc)
        for device in config.devices:
            port = str(getattr(device, "port", ""))
            node = serial_device(port)
            if node is not None:
                locks.take_device(node, f"serial port {port} (device {device.name})")
    except BaseException:
        locks.release()
        raise
    return locks


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
