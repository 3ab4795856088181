"""The demos' own sender: a physicist key made on first run next to the demo's senders file.

Demo commands are signed like any other (core/signing.py): the demo front desk signs over MQTT, and
with no broker the same signed bytes go into the agent's router, so the demo shows the real path.
"""

from __future__ import annotations

__all__ = ["DEMO_SENDER", "demo_key", "signed_command"]

from pathlib import Path
from typing import Any

from agent.app import Agent
from agent.commands.auth import Role
from agent.commands.keys import ensure_sender
from agent.config import AgentConfig
from core.signing import SenderKey, signed_payload

DEMO_SENDER = "demo-desk"


def demo_key(config: AgentConfig) -> SenderKey:
    """Call before the Agent is built (it loads the senders file once)."""
    senders = config.auth.senders_file
    if not senders:
        raise ValueError(f"{config.source}: the demo needs [auth].senders_file")
    return ensure_sender(senders, DEMO_SENDER, Role.PHYSICIST, Path(senders).with_name(f"{DEMO_SENDER}.key"))


def signed_command(agent: Agent, key: SenderKey, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Into the agent's router directly (no broker), signed exactly as over MQTT."""
    topic = f"{agent.root}/cmd/{name}"
    payload = signed_payload(key.sender, key.key, topic, args, int(agent.clock.wall().timestamp() * 1000))
    return agent.run_command(name, payload)
