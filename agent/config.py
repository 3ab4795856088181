"""Station configuration: TOML parsed once into typed, frozen objects.

Every problem is reported with its key and, where found, its line; unknown keys are errors.
Units are in key names. Checks across sections live in agent/config_checks.py, nowhere else.
"""

from __future__ import annotations

__all__ = [
    "AgentConfig",
    "AuthConfig",
    "FluoroscopyConfig",
    "HotlabConfig",
    "MqttConfig",
    "StationConfig",
    "StoreConfig",
    "TriggersConfig",
    "load_config",
    "parse_config",
]

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from agent.commands.auth import AuthConfig
from agent.config_checks import activimeter_problems, cross_checks, fluoro_room_problems, id_problems
from agent.dicom.config import DicomConfig
from agent.fluoro.config import FluoroscopyConfig, TriggersConfig, build_rate_levels, build_triggers
from agent.hotlab.config import HotlabConfig
from agent.web.config import WebConfig
from core.errors import ConfigError, ConfigProblem
from core.tomlschema import LineIndex, build_dataclass
from drivers.registry import DRIVERS, DriverConfig
from limits.levels import RateLevelTable
from limits.trigger_levels import TriggerSet


@dataclass(frozen=True)
class StationConfig:
    site: str
    station_id: str
    description: str = ""

    def validate(self) -> list[tuple[str, str]]:
        return id_problems("site", self.site) + id_problems("station_id", self.station_id)


@dataclass(frozen=True)
class MqttConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    topic_prefix: str = "doseedge"
    client_id: str = ""
    keepalive_s: int = 30
    max_inflight: int = 100
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    # Store-and-forward hardening (issue 3, docs/store.md).
    protocol: Literal["auto", "5", "3.1.1"] = "auto"  # auto: MQTT 5, fall back to 3.1.1 if refused
    session_expiry_s: int = 7 * 24 * 3600  # MQTT 5 persistent session lifetime
    max_queued_messages: int = 1000  # paho's outgoing queue bound (≥ max_inflight)
    watchdog_s: float = 10.0  # restart the network loop if it has not turned for this long
    replay_max_msg_s: float = 10000.0  # backlog messages per second after an outage (live goes first)
    health_interval_s: float = 30.0  # period of …/health
    tls_ca_file: str = ""  # enables TLS with CA verification
    tls_cert_file: str = ""  # client certificate (mutual TLS), with tls_key_file
    tls_key_file: str = ""
    credentials_file: str = ""  # two lines: username, password (never logged)
    insecure: bool = False  # allow credentials over plaintext (loud warning at start and in health)
    # Refusing and half-dead brokers (issue 12, docs/store.md "Refused and unacknowledged").
    ack_timeout_s: float = 20.0  # oldest message in flight unacknowledged this long: force a reconnect
    healthy_after_s: float = 10.0  # the reconnect back-off resets only after a connection lived this long
    alarm_window: int = 10  # in-flight slots only alarms may use (never behind readings or records)
    # Overload (issue 17, agent/backpressure.py): polls wait while this many messages are unpublished.
    live_backlog_max: int = 1000  # messages taken in and not yet published before polls are held
    poll_hold_max_s: float = 1.0  # longest a held poll waits (each device is still read this often)
    # Several readings per message under a backlog (issue 17, docs/mqtt.md `readings`); 1: never.
    max_readings_per_message: int = 50  # readings of one device packed in one message when they queue

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if self.max_queued_messages < self.max_inflight:
            problems.append(("max_queued_messages", "must be ≥ max_inflight"))
        if not 0.5 <= self.watchdog_s <= 3600:
            problems.append(("watchdog_s", "must be 0.5–3600"))
        if self.replay_max_msg_s <= 0:
            problems.append(("replay_max_msg_s", "must be > 0"))
        if not 1 <= self.health_interval_s <= 86400:
            problems.append(("health_interval_s", "must be 1–86400"))
        if not 0 <= self.session_expiry_s <= 0xFFFFFFFF:
            problems.append(("session_expiry_s", "must be 0–4294967295"))
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            problems.append(("tls_cert_file", "tls_cert_file and tls_key_file go together"))
        if self.credentials_file and not self.tls_ca_file and not self.insecure:
            problems.append(
                ("credentials_file", "password over plaintext refused: set tls_ca_file (or insecure = true)")
            )
        if self.tls_cert_file and not self.tls_ca_file:
            problems.append(("tls_ca_file", "a client certificate needs tls_ca_file (TLS on)"))
        if not 1 <= self.port <= 65535:
            problems.append(("port", "must be 1–65535"))
        if not 1 <= self.ack_timeout_s <= 3600:
            problems.append(("ack_timeout_s", "must be 1–3600"))
        if not 0 <= self.healthy_after_s <= 3600:
            problems.append(("healthy_after_s", "must be 0–3600"))
        if not 1 <= self.alarm_window <= 65535:
            problems.append(("alarm_window", "must be 1–65535"))
        if not 10 <= self.live_backlog_max <= 1_000_000:
            problems.append(("live_backlog_max", "must be 10–1000000"))
        if not 0.05 <= self.poll_hold_max_s <= 60:
            problems.append(("poll_hold_max_s", "must be 0.05–60"))
        if not 1 <= self.max_readings_per_message <= 1000:
            problems.append(("max_readings_per_message", "must be 1–1000"))
        if not self.topic_prefix or any(c in self.topic_prefix for c in "#+"):
            problems.append(("topic_prefix", "must be non-empty and contain no '#' or '+'"))
        if not 5 <= self.keepalive_s <= 3600:
            problems.append(("keepalive_s", "must be 5–3600"))
        if not 1 <= self.max_inflight <= 65535:
            problems.append(("max_inflight", "must be 1–65535"))
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            problems.append(("reconnect_min_s", "must be > 0 and ≤ reconnect_max_s"))
        return problems


@dataclass(frozen=True)
class StoreConfig:
    """The outbox bound and its pressure alarm (docs/store.md)."""

    path: str = "var/doseedge/outbox.sqlite"
    max_bytes: int = 256 * 1024 * 1024  # used pages on disk; WAL excluded (bounded by wal_max_bytes)
    pressure_fraction: float = 0.8  # store_pressure raised at this use, before any eviction
    pressure_clear_fraction: float = 0.6  # … and cleared below this
    evict_to_fraction: float = 0.9  # once above max_bytes, evict down to this
    wal_max_bytes: int = 16 * 1024 * 1024
    # Write budget (issue 12): readings share one commit per window, acknowledged rows are deleted in
    # one transaction per window. 0 = every reading its own commit (the most durable, ~50 KB/message).
    commit_window_s: float = 0.0
    # A larger store is opened at once and checked in the background once monitoring runs
    # (agent/store/deep_check.py): quick_check reads every page, ~12 ms per MB here.
    startup_check_max_bytes: int = 32 * 1024 * 1024
    # Report by exception (issue 17, agent/report_filter.py): 0 = every reading is stored and sent.
    report_deadband: float = 0.0  # fraction of the last reported value a reading must move by
    report_max_interval_s: float = 10.0  # … or this long since the device's last reported reading

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if self.startup_check_max_bytes < 0:
            problems.append(("startup_check_max_bytes", "must be ≥ 0 (0: always check in the background)"))
        if not 0 <= self.report_deadband <= 1:
            problems.append(("report_deadband", "must be 0–1 (a fraction of the last reported value)"))
        if not 0.1 <= self.report_max_interval_s <= 3600:
            problems.append(("report_max_interval_s", "must be 0.1–3600 s"))
        if self.max_bytes < 64 * 1024:
            problems.append(("max_bytes", "must be ≥ 65536"))
        if not 0.1 <= self.pressure_clear_fraction < self.pressure_fraction < 1:
            problems.append(
                ("pressure_fraction", "need 0.1 ≤ pressure_clear_fraction < pressure_fraction < 1")
            )
        if not self.pressure_fraction <= self.evict_to_fraction < 1:
            problems.append(("evict_to_fraction", "must be ≥ pressure_fraction and < 1"))
        if self.wal_max_bytes < 0:
            problems.append(("wal_max_bytes", "must be ≥ 0"))
        if not 0 <= self.commit_window_s <= 10:
            problems.append(("commit_window_s", "must be 0–10 s (readings lost at a power cut: this long)"))
        return problems


@dataclass(frozen=True)
class AgentConfig:
    source: str
    station: StationConfig
    mqtt: MqttConfig
    store: StoreConfig
    devices: tuple[DriverConfig, ...]
    fluoroscopy: FluoroscopyConfig | None
    rate_levels: RateLevelTable | None
    triggers: TriggerSet | None = None
    hotlab: HotlabConfig | None = None
    dicom: DicomConfig | None = None  # [dicom]: docs/dicom.md
    web: WebConfig = field(default_factory=WebConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)

    def with_mqtt(self, host: str, port: int) -> AgentConfig:
        return replace(self, mqtt=replace(self.mqtt, host=host, port=port))

    def with_web(self, host: str, port: int) -> AgentConfig:
        return replace(self, web=replace(self.web, enabled=True, host=host, port=port))

    def with_device_port(self, name: str, port: str) -> AgentConfig:
        devices = tuple(replace(d, port=port) if d.name == name else d for d in self.devices)  # type: ignore[type-var]
        return replace(self, devices=devices)


_TOP = {"station", "mqtt", "store", "devices", "fluoroscopy", "hotlab", "triggers", "dicom", "web", "auth"}


def _devices(raw: Any, problems: list[ConfigProblem]) -> list[DriverConfig]:
    if not isinstance(raw, list):
        problems.append(ConfigProblem("devices", "must be a list of tables ([[devices]])"))
        return []
    devices: list[DriverConfig] = []
    for i, table in enumerate(raw):
        path = f"devices[{i}]"
        driver = table.get("driver") if isinstance(table, dict) else None
        if driver not in DRIVERS:
            known = ", ".join(sorted(DRIVERS))
            problems.append(ConfigProblem(f"{path}.driver", f"unknown driver {driver!r} (known: {known})"))
            continue
        built = build_dataclass(DRIVERS[driver].config_type, table, path, problems)
        if built is not None:
            devices.append(built)
    return devices


def parse_config(text: str, source: str = "<config>") -> AgentConfig:
    """Parse and validate; raise ConfigError listing every problem."""
    problems: list[ConfigProblem] = []
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            source, [ConfigProblem("(syntax)", str(exc), int(line.group(1)) if line else None)]
        ) from exc
    for key in raw:
        if key not in _TOP:
            problems.append(ConfigProblem(key, f"unknown table (known: {', '.join(sorted(_TOP))})"))
    station = None
    if "station" not in raw:
        problems.append(ConfigProblem("station", "required table [station] is missing"))
    else:
        station = build_dataclass(StationConfig, raw["station"], "station", problems)
    mqtt = build_dataclass(MqttConfig, raw.get("mqtt", {}), "mqtt", problems)
    store = build_dataclass(StoreConfig, raw.get("store", {}), "store", problems)
    auth = build_dataclass(AuthConfig, raw.get("auth", {}), "auth", problems)
    devices = _devices(raw.get("devices", []), problems)
    fluoro = None
    if "fluoroscopy" in raw:
        fluoro = build_dataclass(FluoroscopyConfig, raw["fluoroscopy"], "fluoroscopy", problems)
    broken = {str(t.get("name")) for t in raw.get("devices", []) if isinstance(t, dict)} - {
        d.name for d in devices
    }
    cross_checks(devices, broken, fluoro, problems)
    levels = build_rate_levels(fluoro, problems)
    triggers = build_triggers(raw.get("triggers"), fluoro, source, problems)
    problems += fluoro_room_problems(fluoro, triggers)
    hotlab = None
    if "hotlab" in raw:
        hotlab = build_dataclass(HotlabConfig, raw["hotlab"], "hotlab", problems)
        if hotlab is not None:
            problems += activimeter_problems(hotlab.activimeter, devices, broken)
    dicom = build_dataclass(DicomConfig, raw["dicom"], "dicom", problems) if "dicom" in raw else None
    web = build_dataclass(WebConfig, raw.get("web", {}), "web", problems)
    if problems:
        index = LineIndex(text)
        located = [ConfigProblem(p.key, p.message, p.line or index.line_of(p.key)) for p in problems]
        raise ConfigError(source, located)
    assert station is not None and mqtt is not None and store is not None and web is not None
    assert auth is not None
    return AgentConfig(
        source, station, mqtt, store, tuple(devices), fluoro, levels, triggers, hotlab, dicom, web, auth
    )


def load_config(path: str | Path) -> AgentConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigProblem("(file)", f"cannot read: {exc}")]) from exc
    return parse_config(text, str(path))
