"""A front-desk tool or RIS, as seen by a station: commands on `<root>/cmd/<name>`, results back.

The demo and the end-to-end tests use it to send the preparation context, reference sources and QC
requests the way a hospital system would: through the hospital's broker, never a port on the box.
Each command carries a `command_id`; `send` waits for the `cmd_result/<name>` with that id. Given a
sender key (core/signing.py) it signs every command, as the station requires; without one it sends
unsigned commands (for tests that show they are refused).
"""

from __future__ import annotations

__all__ = ["FrontDesk"]

import itertools
import json
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.signing import SenderKey, signed_payload


class FrontDesk:
    def __init__(
        self,
        host: str,
        port: int,
        root: str,
        client_id: str = "doseedge-front-desk",
        key: SenderKey | None = None,
    ) -> None:
        self.root = root
        self.key = key
        self._results: dict[str, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self._ids = itertools.count(1)
        self._client_id = client_id
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{root}/cmd_result/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not subscribed.wait(5.0):
            self.close()
            raise ConnectionError(f"front desk could not subscribe at {host}:{port}")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("command_id"), str):
            with self._arrived:
                self._results[body["command_id"]] = body
                self._arrived.notify_all()

    def send(self, name: str, args: dict[str, Any], timeout_s: float = 5.0) -> dict[str, Any]:
        """Publish one command (QoS 1) and wait for its result; TimeoutError when none comes."""
        command_id = f"{self._client_id}-{next(self._ids)}"
        body = {**args, "command_id": command_id}
        topic = f"{self.root}/cmd/{name}"
        if self.key is not None:
            payload = signed_payload(self.key.sender, self.key.key, topic, body, int(time.time() * 1000))
        else:
            payload = json.dumps(body).encode()
        self.client.publish(topic, payload, qos=1)
        with self._arrived:
            if not self._arrived.wait_for(lambda: command_id in self._results, timeout_s):
                raise TimeoutError(f"no result for cmd/{name} within {timeout_s} s")
            return self._results.pop(command_id)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
