"""`doseedge demo`: simulators + agent on config/demo.toml, playing a short C-arm procedure."""

from __future__ import annotations

__all__ = ["broker_answers", "run_demo"]

import asyncio
import json
import socket
import sys
from pathlib import Path

from agent.app import Agent
from agent.demo.keyring import DemoKeyring
from agent.demo.options import demo_config
from agent.demo.sender import demo_key, signed_command
from core.signing import SenderKey
from simulators.procedure import demo_procedure
from simulators.ptw_diamentor import DiamentorSimulator

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def broker_answers(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


async def run_then_close(agent: Agent, close_after_s: float, duration_s: float, key: SenderKey) -> None:
    """Run the agent; close the demo's procedure after `close_after_s` so the next run starts afresh."""

    async def close_procedure() -> None:
        await asyncio.sleep(close_after_s)
        signed_command(agent, key, "procedure_close", {})

    closer = asyncio.create_task(close_procedure())
    try:
        await agent.run(duration_s=duration_s)
    finally:
        closer.cancel()


def run_demo(
    config_path: Path,
    duration_s: float | None,
    mqtt: tuple[str, int] | None,
    web: tuple[str, int] | None = None,
) -> int:
    config = demo_config(config_path, mqtt, web)
    keyring = DemoKeyring()
    fluoro = config.fluoroscopy
    assert fluoro is not None, "the demo config needs a [fluoroscopy] table"
    procedure = demo_procedure(fluoro.geometry())
    simulator = DiamentorSimulator(procedure)
    pty = simulator.start()
    config = config.with_device_port(fluoro.dap_meter, pty)
    host, port = config.mqtt.host, config.mqtt.port
    out = sys.stdout
    out.write(f"doseedge demo — simulated PTW DIAMENTOR on {pty}\n")
    if broker_answers(host, port):
        out.write(f"Publishing to the MQTT broker at {host}:{port} under {config.mqtt.topic_prefix}/…\n")
    else:
        out.write(
            f"No MQTT broker answers at {host}:{port}: records are kept in the local store "
            f"({config.store.path}) and will be sent when a broker answers. (--mqtt HOST:PORT to change)\n"
        )
    level = config.rate_levels.for_mode(fluoro.mode) if config.rate_levels else None
    if level is not None:
        out.write(f"Guidance level: {level.rate_mgy_min:g} mGy/min ({level.citation})\n\n")
    duration = duration_s if duration_s is not None else procedure.duration_s + 4.0
    key = demo_key(config)  # the demo's own signed sender, made before the agent loads its keyring
    agent = Agent(config, console_out=out, keyring=keyring)
    if config.web.enabled:  # the address follows as soon as the page is served
        out.write(f"{keyring.login_text()} (the operator view's address follows)\n")
    # A demo ends its procedure (record/procedure) so the next demo does not resume it from the store.
    close_after = max(0.0, min(procedure.duration_s + 1.0, duration - 1.0))
    try:
        asyncio.run(run_then_close(agent, close_after, duration, key))
    finally:
        simulator.stop()
    out.write("\nSummary: " + json.dumps(agent.last_summary, indent=2, ensure_ascii=False) + "\n")
    return 0
