"""The MQTT link, the only module that imports paho-mqtt (2.x, CallbackAPIVersion.VERSION2).

- MQTT 5 with a persistent session (clean_start off, session expiry); with `protocol = "auto"` a broker
  that refuses version 5 gets 3.1.1 (clean_session off) on the next attempt;
- its own network thread turns `client.loop()`; reconnects with exponential back-off and jitter
  (agent/link/backoff.py); a watchdog thread rebuilds the client and the thread if the loop stops turning;
- `…/status` is retained: birth `online` on every connect, last-will `offline`;
- QoS 1, in-flight window and outgoing queue bounded (`max_inflight`, `max_queued_messages`);
- reports PUBACKs by message id through `on_ack` (the outbox deletes only then), and a refusal (PUBACK or
  PUBREC reason ≥ 0x80, e.g. 0x87 "not authorized" from an ACL) through `on_refused`: never as an ack;
- back-off resets only once a connection stayed up `healthy_after_s` (a broker that accepts CONNECT and
  then drops us is retried slower and slower, not 13 times a second); `kick()` forces a reconnect (the
  forwarder calls it when acknowledgements stop coming on a live connection);
- a clean `stop()` publishes `offline` with a fresh timestamp, then sends DISCONNECT (the broker discards
  the last will, so the retained status is ours, not the will's stale one);
- TLS with CA verification and optional client certificate; username/password from a file, never logged;
  TLS and authentication failures at ERROR with their cause, once per distinct cause;
- callbacks never raise: an exception inside a paho callback would end its loop.
"""

from __future__ import annotations

__all__ = ["MqttLink", "read_credentials"]

import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from agent.config import MqttConfig
from agent.link.backoff import backoff_s
from core.errors import ConfigError, ConfigProblem

log = logging.getLogger(__name__)
REFUSED_VERSION = {1, 132}  # 3.1.1 "unacceptable protocol version", 5 "unsupported protocol version"


def read_credentials(path: str) -> tuple[str, str]:
    """Username and password, one per line. The values are never logged or shown."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigProblem("mqtt.credentials_file", f"cannot read: {exc}")]) from exc
    if len(lines) < 2 or not lines[0]:
        raise ConfigError(
            path, [ConfigProblem("mqtt.credentials_file", "expected two lines: user, password")]
        )
    return lines[0], lines[1]


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        root: str,
        client_id: str,
        status_body: Callable[[str], dict[str, Any]],
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.root = root
        self.client_id = client_id
        self._status_body = status_body
        self._rand = rand
        self._credentials = read_credentials(config.credentials_file) if config.credentials_file else None
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.on_ack: Callable[[int], None] = lambda mid: None
        self.on_refused: Callable[[int, str], None] = lambda mid, reason: None
        self.on_state: Callable[[bool], None] = lambda up: None
        self.on_command: Callable[[str, bytes, bool], None] = lambda name, payload, retained: None
        self.reconnects = 0
        self.watchdog_restarts = 0
        self.last_error = ""
        self.protocol = "3.1.1" if config.protocol == "3.1.1" else "5"
        self._ever_connected = False
        self._stopping = False
        self._refused_version = False
        self._logged_cause = ""
        self._connack_refused = False
        self._attempt = 0
        self._up_since: float | None = None  # monotonic time of the last CONNACK (network thread)
        self._kick = threading.Event()
        self.kicks = 0
        self._beat = time.monotonic()
        self._generation = 0
        self._client = self._build()
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None

    # ------------------------------------------------------------------ set-up

    def _build(self) -> Any:
        v5 = self.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        client.will_set(self._status_topic, self._status("offline"), qos=1, retain=True)
        client.max_inflight_messages_set(self.config.max_inflight)
        client.max_queued_messages_set(self.config.max_queued_messages)
        if self.config.tls_ca_file:
            client.tls_set(
                ca_certs=self.config.tls_ca_file,
                certfile=self.config.tls_cert_file or None,
                keyfile=self.config.tls_key_file or None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        if self._credentials is not None:
            client.username_pw_set(*self._credentials)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_socket_register_write = lambda *args: None  # publish only queues; our thread writes
        return client

    @property
    def _status_topic(self) -> str:
        return f"{self.root}/status"

    def _status(self, state: str) -> bytes:
        return json.dumps(self._status_body(state), separators=(",", ":")).encode()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # ------------------------------------------------------------------ threads

    def start(self) -> None:
        self._stop.clear()
        self._stopping = False
        self._start_loop()
        self._watchdog = threading.Thread(target=self._watch, name="mqtt-watchdog", daemon=True)
        self._watchdog.start()

    def _start_loop(self) -> None:
        self._beat = time.monotonic()
        generation = self._generation
        self._thread = threading.Thread(
            target=self._run, args=(self._client, generation), name=f"mqtt-loop-{generation}", daemon=True
        )
        self._thread.start()

    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self._stop.is_set()

    def _connect(self, client: Any, first: bool) -> None:
        self._connack_refused = False
        if not first:
            client.reconnect()
        elif self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.config.session_expiry_s
            client.connect(
                self.config.host,
                self.config.port,
                self.config.keepalive_s,
                clean_start=False,
                properties=props,
            )
        else:
            client.connect(self.config.host, self.config.port, self.config.keepalive_s)

    def _run(self, client: Any, generation: int) -> None:
        """The network loop: connect, turn `loop()`, back off with jitter after every failure."""
        first = True
        while self._current(generation):
            self._beat = time.monotonic()
            try:
                if first or not client.is_connected():
                    self._connect(client, first)
                    first = False
                while self._current(generation):
                    self._beat = time.monotonic()
                    self._note_healthy()
                    if self._kick.is_set():
                        self._kick.clear()
                        client.disconnect()
                        client.loop(timeout=0.1)
                        break
                    if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
                        break
            except Exception as exc:  # OSError, ssl errors, a broken CONNACK: never end the thread
                self._failed(exc)
            if self._refused_version and self._fallback(generation):
                return
            self._up_since = None
            self._mark_down()
            self._pause(
                backoff_s(self._attempt, self.config.reconnect_min_s, self.config.reconnect_max_s, self._rand)
            )
            self._attempt += 1

    def _failed(self, exc: Exception) -> None:
        """A connection that failed or broke: TLS failures at ERROR with their cause (once per cause,
        the back-off retries them); anything else is logged at DEBUG, the link's own state tells."""
        self.last_error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            cause = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
            self._log_cause(f"TLS failure: {cause} ({exc})")
        else:
            log.debug("MQTT loop: %s", self.last_error)

    def _log_cause(self, cause: str) -> None:
        self.last_error = cause
        if cause != self._logged_cause:
            self._logged_cause = cause
            log.error("MQTT connection to %s:%s failed: %s", self.config.host, self.config.port, cause)

    def _note_healthy(self) -> None:
        """Reset the back-off only after the connection stayed up `healthy_after_s`."""
        since = self._up_since
        if since is not None and self._attempt and time.monotonic() - since >= self.config.healthy_after_s:
            self._attempt = 0

    def kick(self, why: str) -> None:
        """Drop the connection and reconnect (with back-off): called from any thread."""
        if self.connected:
            log.error("MQTT reconnect forced: %s", why)
            self.kicks += 1
            self.last_error = why
            self._kick.set()

    @property
    def attempt(self) -> int:
        """Reconnect attempts since the last healthy connection (the back-off exponent)."""
        return self._attempt

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._beat = time.monotonic()
            self._stop.wait(min(0.25, max(0.0, deadline - time.monotonic())))

    def _watch(self) -> None:
        """Restart the network loop if its thread died or stopped turning (the paho failure mode)."""
        period = self.config.watchdog_s
        while not self._stop.wait(period / 4):
            thread = self._thread
            stale = time.monotonic() - self._beat > period
            if thread is not None and (not thread.is_alive() or stale):
                self.restart("network thread " + ("stuck" if thread.is_alive() else "dead"))

    def restart(self, why: str) -> None:
        """Rebuild the client and its loop thread (watchdog, protocol fallback)."""
        with self._lock:
            log.error("MQTT link restart: %s", why)
            self.watchdog_restarts += 1
            self._generation += 1
            self._mark_down()
            old = self._client
            self._client = self._build()
            self._start_loop()
        try:
            old.disconnect()
        except Exception:
            pass

    def _fallback(self, generation: int) -> bool:
        if self.config.protocol != "auto" or self.protocol != "5" or self._ever_connected:
            return False
        log.warning("broker refused MQTT 5: falling back to MQTT 3.1.1")
        self.protocol = "3.1.1"
        self._refused_version = False
        with self._lock:
            if generation != self._generation:
                return True
            self._generation += 1
            self._client = self._build()
            self._start_loop()
        return True

    def _mark_down(self) -> None:
        if self._connected.is_set():
            self._connected.clear()
            try:
                self.on_state(False)
            except Exception:
                log.exception("error in on_state")

    def stop(self) -> None:
        """Clean stop: `offline` (fresh timestamp, retained), then DISCONNECT while the network thread
        still turns, so the broker drops the last will instead of publishing its stale body."""
        client = self._client
        if self.connected:
            info = client.publish(self._status_topic, self._status("offline"), qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and self.connected and time.monotonic() < deadline:
                time.sleep(0.01)
            self._stopping = True
            client.disconnect()
            while self.connected and time.monotonic() < deadline + 1.0:
                time.sleep(0.01)
        self._stop.set()
        for thread in (self._thread, self._watchdog):
            if thread is not None:
                thread.join(timeout=2.0)
        try:
            client.disconnect()
        except Exception:
            pass
        self._connected.clear()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        """Hand one message to paho; return its message id, or None if it was not accepted."""
        if not self.connected:
            return None
        info = self._client.publish(f"{self.root}/{topic}", payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    # paho callbacks: run on the network thread, must never raise.

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        try:
            if reason.is_failure:
                if self.protocol == "5" and getattr(reason, "value", None) in REFUSED_VERSION:
                    self._refused_version = True
                    self.last_error = f"connection refused: {reason}"
                    log.warning(
                        "broker %s:%s refused the connection: %s", self.config.host, self.config.port, reason
                    )
                    return
                self._connack_refused = True
                self._log_cause(f"connection refused: {reason} (check credentials_file, certificate, ACL)")
                return
            self._logged_cause = ""
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            self._up_since = time.monotonic()
            client.publish(self._status_topic, self._status("online"), qos=1, retain=True)
            # MQTT 5: keep the retain flag on live delivery too, so a retained command is always seen
            # as one and refused (agent/commands/auth.py); 3.1.1 flags it on (re)subscription only.
            if self.protocol == "5":
                client.subscribe(
                    f"{self.root}/cmd/#", options=SubscribeOptions(qos=1, retainAsPublished=True)
                )
            else:
                client.subscribe(f"{self.root}/cmd/#", qos=1)
            self._connected.set()
            log.info("connected to broker %s:%s (MQTT %s)", self.config.host, self.config.port, self.protocol)
            self.on_state(True)
        except Exception:
            log.exception("error in on_connect")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        try:
            was = self._connected.is_set()
            self._up_since = None
            self._mark_down()
            said = self._connack_refused  # the CONNACK already gave the cause
            if not was and not self._stop.is_set() and reason.is_failure and not said:
                hint = (
                    "did the broker refuse this client's certificate?"
                    if self.config.tls_ca_file
                    else "a TLS port? set tls_ca_file"
                )
                self._log_cause(f"closed before the broker accepted it ({reason}): {hint}")
            if was and not self._stop.is_set() and not self._stopping:
                self.last_error = f"disconnected: {reason}"
                log.warning("lost broker %s:%s (%s); retrying", self.config.host, self.config.port, reason)
        except Exception:
            log.exception("error in on_disconnect")

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        try:
            if reason is not None and getattr(reason, "is_failure", False):
                log.error("broker refused message %s: %s", mid, reason)
                self.on_refused(mid, str(reason))
                return
            self.on_ack(mid)
        except Exception:
            log.exception("error in on_publish")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            prefix = f"{self.root}/cmd/"
            if message.topic.startswith(prefix):
                self.on_command(message.topic[len(prefix) :], bytes(message.payload), bool(message.retain))
        except Exception:
            log.exception("error in on_message")
