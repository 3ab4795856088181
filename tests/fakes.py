"""Shared fakes: a clock tests advance, a scripted byte transport, a recording MQTT subscriber, and
`run_doseedge`, the CLI as a person runs it (a real process on this tree)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from agent.commands.auth import AuthConfig, Keyring, Role, Sender
from agent.commands.keys import add_sender
from agent.commands.router import CommandRouter
from core.errors import TransportError
from core.signing import SenderKey

DOSEEDGE = [sys.executable, "-m", "agent.cli"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def run_doseedge(*args: str, timeout_s: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`doseedge <args>` in a child process, output captured as text."""
    return subprocess.run(
        [*DOSEEDGE, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout_s
    )


class FakeClock:
    def __init__(self, start_mono: float = 1000.0) -> None:
        self.mono = start_mono
        self.wall_time = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return self.wall_time

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall_time += timedelta(seconds=seconds)


class FakeTransport:
    """Answers each write with the next scripted reply (bytes), or stays silent for None.

    Reading advances the injected clock by the wait it was given when nothing is queued, so a
    driver's timeout expires in fake time without sleeping.
    """

    def __init__(self, clock: FakeClock, replies: dict[bytes, list[bytes | None]] | None = None) -> None:
        self.clock = clock
        self.replies = replies or {}
        self.pending = b""
        self.writes: list[bytes] = []
        self.opened = 0
        self.is_open = False
        self.unplugged = False
        self.baudrate = 9600

    def open(self) -> None:
        if self.unplugged:
            raise TransportError("cannot open: no such device")
        self.opened += 1
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def write(self, data: bytes) -> None:
        if self.unplugged:
            raise TransportError("write failed: device disconnected")
        self.writes.append(data)
        queue = self.replies.get(data.strip())
        if queue:
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
            if reply is not None:
                self.pending += reply

    def read(self, max_wait_s: float) -> bytes:
        if self.unplugged:
            raise TransportError("read failed: device disconnected")
        if not self.pending:
            self.clock.advance(max_wait_s)
            return b""
        data, self.pending = self.pending, b""
        return data

    def discard_input(self) -> None:
        self.pending = b""

    def set_baudrate(self, baudrate: int) -> None:
        self.baudrate = baudrate


class Subscriber:
    """A real paho client on the test broker that records every message it receives.

    Persistent session (clean_session False, QoS 1) so a broker restart loses nothing for it.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topic: str,
        client_id: str = "test-subscriber",
        login: tuple[str, str] | None = None,
    ) -> None:
        self.messages: deque[tuple[float, str, dict[str, Any], bool]] = deque()
        self.batches: deque[tuple[float, str, dict[str, Any]]] = deque()  # readings.v2, also unpacked above
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise RuntimeError("subscriber could not subscribe")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            body = {"_raw": message.payload.decode(errors="replace")}
        now = time.monotonic()
        with self._lock:
            if (
                body.get("schema") == "doseedge.readings.v2"
            ):  # several readings in one message (docs/mqtt.md):
                self.batches.append((now, message.topic, body))  # kept, and unpacked as a consumer does
                topic = message.topic.replace("/readings/", "/reading/")
                self.messages.extend((now, topic, item, False) for item in body["readings"])
                return
            self.messages.append((now, message.topic, body, bool(message.retain)))

    def bodies(self, suffix: str) -> list[dict[str, Any]]:
        with self._lock:
            return [b for _, t, b, _ in self.messages if t.endswith(suffix)]

    def bodies_under(self, part: str) -> list[dict[str, Any]]:
        """Bodies of every topic containing `part` (e.g. "/cmd_result/": all commands' results)."""
        with self._lock:
            return [b for _, t, b, _ in self.messages if part in t]

    def wait_for(self, predicate: Any, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return predicate(self)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass(frozen=True)
class FakeSender:
    id: str
    role: str


class FakeKeyring:
    """The operators' keyring as the operator view sees it (agent/web/auth.py Keyring): id → (role,
    secret). The real one (agent/commands/auth.py) keeps hashed secrets; the page cannot tell."""

    def __init__(self, operators: dict[str, tuple[str, str]]) -> None:
        self.operators = operators
        self.checked: list[str] = []

    def check_secret(self, sender_id: str, secret: str) -> FakeSender | None:
        self.checked.append(sender_id)
        found = self.operators.get(sender_id)
        if found is None or found[1] != secret:
            return None
        return FakeSender(sender_id, found[0])


class LocalRouter(CommandRouter):
    """The command router as a local, already-authenticated channel reaches it (a physicist, channel
    "test"), for unit tests of the handlers; the signed MQTT path has its own tests."""

    SENDER = Sender("test-physicist", Role.PHYSICIST)

    def __init__(self, clock: Any = None) -> None:
        super().__init__(clock or FakeClock(), Keyring(AuthConfig(rate_per_min=6000, rate_burst=1000)))

    def dispatch(self, name: str, payload: bytes) -> dict[str, Any]:
        return self.dispatch_local(name, json.loads(payload or b"{}"), self.SENDER, "test")


def station_senders(directory: Path) -> tuple[AuthConfig, dict[str, SenderKey]]:
    """A senders file with a physicist and an operator (keys as `doseedge keygen` makes them)."""
    senders = directory / "senders.toml"
    keys = {
        role.value: add_sender(senders, f"test-{role.value}", role, directory / f"{role.value}.key")
        for role in Role
    }
    return AuthConfig(senders_file=str(senders)), keys


def provisioned(config: Path, directory: Path) -> Path:
    """A shipped production config with its /etc/doseedge files made for real in `directory` (CA,
    credentials and senders file, modes as the install script sets them): what a provisioned box has."""
    etc = directory / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "broker-ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (etc / "mqtt-credentials").write_text("station\nsecret\n")
    (etc / "mqtt-credentials").chmod(0o600)
    add_sender(etc / "senders.toml", "physicist-1", Role.PHYSICIST, directory / "physicist-1.key")
    copy = directory / config.name
    copy.write_text(config.read_text(encoding="utf-8").replace("/etc/doseedge/", f"{etc}/"))
    return copy


def plaintext_for_tests(text: str, senders_file: str) -> str:
    """A production config pointed at a private plaintext test broker: no TLS, no broker password
    (the test Mosquitto is anonymous on loopback), the test's own senders file."""
    text = re.sub(r"(?m)^(tls_ca_file|credentials_file) = .*\n", "", text)
    return text.replace('senders_file = "/etc/doseedge/senders.toml"', f'senders_file = "{senders_file}"')
