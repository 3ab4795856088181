"""The MQTT link, the only module that imports paho-mqtt (2.x, CallbackAPIVersion.VERSION2).

- connects in the background and retries with paho's exponential back-off (min…max);
- `…/status` is retained: birth `online` on every connect, last-will `offline`;
- reports PUBACKs by message id through `on_ack` (the outbox deletes only then);
- callbacks never raise: an exception inside a paho callback would kill its network thread.
"""

from __future__ import annotations

__all__ = ["MqttLink"]

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import MqttConfig

log = logging.getLogger(__name__)


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        root: str,
        client_id: str,
        status_body: Callable[[str], dict[str, Any]],
    ) -> None:
        self.config = config
        self.root = root
        self._status_body = status_body
        self._connected = threading.Event()
        self.on_ack: Callable[[int], None] = lambda mid: None
        self.on_state: Callable[[bool], None] = lambda up: None
        self.on_command: Callable[[str, bytes], None] = lambda name, payload: None
        self.reconnects = 0
        self.last_error = ""
        self._ever_connected = False
        self._stopping = False
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        self._client.will_set(self._status_topic, self._status("offline"), qos=1, retain=True)
        self._client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)  # type: ignore[arg-type]
        self._client.max_inflight_messages_set(config.max_inflight)
        self._client.max_queued_messages_set(config.max_inflight * 2)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

    @property
    def _status_topic(self) -> str:
        return f"{self.root}/status"

    def _status(self, state: str) -> bytes:
        return json.dumps(self._status_body(state), separators=(",", ":")).encode()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        if self.connected:
            info = self._client.publish(self._status_topic, self._status("offline"), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        """Hand one message to paho; return its message id, or None if it was not accepted."""
        if not self.connected:
            return None
        info = self._client.publish(f"{self.root}/{topic}", payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    # paho callbacks: run on paho's network thread, must never raise.

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        try:
            if reason.is_failure:
                self.last_error = f"connection refused: {reason}"
                log.warning(
                    "broker %s:%s refused the connection: %s",
                    self.config.host,
                    self.config.port,
                    reason,
                )
                return
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            client.publish(self._status_topic, self._status("online"), qos=1, retain=True)
            client.subscribe(f"{self.root}/cmd/#", qos=1)
            self._connected.set()
            log.info("connected to broker %s:%s", self.config.host, self.config.port)
            self.on_state(True)
        except Exception:
            log.exception("error in on_connect")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        try:
            was = self._connected.is_set()
            self._connected.clear()
            if was and not self._stopping:
                self.last_error = f"disconnected: {reason}"
                log.warning("lost broker %s:%s (%s); retrying", self.config.host, self.config.port, reason)
            self.on_state(False)
        except Exception:
            log.exception("error in on_disconnect")

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        try:
            if reason is not None and getattr(reason, "is_failure", False):
                log.error("broker rejected message %s: %s", mid, reason)
                return
            self.on_ack(mid)
        except Exception:
            log.exception("error in on_publish")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            prefix = f"{self.root}/cmd/"
            if message.topic.startswith(prefix):
                self.on_command(message.topic[len(prefix) :], bytes(message.payload))
        except Exception:
            log.exception("error in on_message")
