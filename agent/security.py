"""The station's security posture, checked in one place: files, transport, refused commands.

- `file_problems`: what `check-config` (and `run`, before anything starts) says about the TLS files,
  the MQTT credentials and the senders file — missing, unreadable, or readable by group/world;
- `start_warnings`: insecure settings the operator chose (`insecure = true`), repeated loudly at
  start and in every `…/health`;
- `refusal_record`: the `record/command_refused` a refused command leaves in the ten-year record.
"""

from __future__ import annotations

__all__ = ["file_problems", "refusal_record", "start_warnings"]

import os
from typing import Any

from agent.clock import Clock, iso_utc
from agent.commands.auth import Keyring
from agent.config import AgentConfig
from agent.store.messages import OutMessage, Priority
from core.errors import ConfigProblem
from core.signing import too_open


def _readable(key: str, path: str) -> list[ConfigProblem]:
    if not os.path.isfile(path):
        return [ConfigProblem(key, f"{path} does not exist or is not a file")]
    if not os.access(path, os.R_OK):
        return [ConfigProblem(key, f"{path} is not readable by this user")]
    return []


def file_problems(config: AgentConfig) -> list[ConfigProblem]:
    mqtt = config.mqtt
    problems: list[ConfigProblem] = []
    for key in ("tls_ca_file", "tls_cert_file"):
        path = getattr(mqtt, key)
        if path:
            problems += _readable(f"mqtt.{key}", path)
    for key in ("tls_key_file", "credentials_file"):
        path = getattr(mqtt, key)
        if path:
            problem = too_open(path)
            if problem:
                problems.append(ConfigProblem(f"mqtt.{key}", f"{path} {problem}"))
    hotlab = config.hotlab
    if hotlab is not None and os.path.exists(hotlab.pseudonym_key_path):  # made 0600 on first run
        problem = too_open(hotlab.pseudonym_key_path)
        if problem:
            problems.append(
                ConfigProblem("hotlab.pseudonym_key_path", f"{hotlab.pseudonym_key_path} {problem}")
            )
    if config.auth.senders_file:
        try:
            Keyring.load(config.auth)
        except ValueError as exc:
            problems.append(ConfigProblem("auth.senders_file", str(exc)))
    return problems


def start_warnings(config: AgentConfig) -> list[str]:
    mqtt = config.mqtt
    warnings = []
    if mqtt.insecure and not mqtt.tls_ca_file:
        what = "the broker password" if mqtt.credentials_file else "everything"
        warnings.append(
            f"mqtt.insecure = true: {what} crosses the network in plaintext to {mqtt.host}:{mqtt.port}"
        )
    return warnings


def refusal_record(base: dict[str, Any], result: dict[str, Any], clock: Clock) -> OutMessage:
    body = {
        **base,
        "command": result["command"],
        "command_id": result.get("command_id"),
        "reason": result["refused"],
        "error": result.get("error"),
        "by": result.get("by"),
        "channel": result.get("channel"),
        "at": iso_utc(clock.wall()),
    }
    return OutMessage("record/command_refused", body, Priority.RESULT)
