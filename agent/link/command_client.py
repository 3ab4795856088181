"""`doseedge command`: sign one command, publish it on the station's `cmd/<name>`, wait for its result.

For integrators and tests: the same wire format a RIS or a front-desk tool must produce
(core/signing.py). It reads the station's config for the broker (host, port, TLS CA, topic root) and
the sender's key file (`--key`, refused when group/world-readable); broker credentials of its own
come from `--credentials` (two lines, user and password), never from the station's.
"""

from __future__ import annotations

__all__ = ["parse_args_text", "send_command"]

import json
import secrets
import ssl
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import AgentConfig
from agent.link.mqtt_link import read_credentials
from core.signing import SenderKey, signed_payload


def parse_args_text(items: list[str]) -> dict[str, Any]:
    """`key=value` pairs; a value that parses as JSON is taken as JSON (numbers, true, objects)."""
    args: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        try:
            args[key] = json.loads(value)
        except ValueError:
            args[key] = value
    return args


def send_command(
    config: AgentConfig,
    name: str,
    args: dict[str, Any],
    key: SenderKey,
    credentials_file: str = "",
    timeout_s: float = 10.0,
) -> dict[str, Any]:
    """The station's answer; TimeoutError when none comes, ConnectionError when the broker refuses."""
    station = config.station
    root = f"{config.mqtt.topic_prefix}/{station.site}/{station.station_id}"
    command_id = f"{key.sender}-{secrets.token_hex(6)}"
    topic = f"{root}/cmd/{name}"
    answer: dict[str, Any] = {}
    ready, got = threading.Event(), threading.Event()

    def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            answer["refused"] = str(reason)
            ready.set()
            return
        client.subscribe(f"{root}/cmd_result/#", qos=1)

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(body, dict) and body.get("command_id") == command_id and body.get("stage") != "queued":
            answer.update(body)
            got.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"doseedge-command-{secrets.token_hex(4)}")
    if config.mqtt.tls_ca_file:
        client.tls_set(ca_certs=config.mqtt.tls_ca_file, cert_reqs=ssl.CERT_REQUIRED)
    if credentials_file:
        client.username_pw_set(*read_credentials(credentials_file))
    client.on_connect = on_connect
    client.on_subscribe = lambda *a: ready.set()
    client.on_message = on_message
    client.connect(config.mqtt.host, config.mqtt.port, keepalive=30)
    client.loop_start()
    try:
        if not ready.wait(timeout_s) or "refused" in answer:
            raise ConnectionError(
                f"broker {config.mqtt.host}:{config.mqtt.port}: {answer.get('refused', 'no answer')}"
            )
        body = {**args, "command_id": command_id}
        payload = signed_payload(key.sender, key.key, topic, body, int(time.time() * 1000))
        client.publish(topic, payload, qos=1)
        if not got.wait(timeout_s):
            raise TimeoutError(f"no result for {topic} within {timeout_s:g} s (is the agent running?)")
        return answer
    finally:
        client.disconnect()
        client.loop_stop()
