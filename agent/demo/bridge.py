"""`doseedge demo --station bridge`: the room bridge board's firmware on a pty (simulators/bridge.py)
playing a beam-on sequence, a pulse train over the level and a press of the room button, with the
agent on config/demo-bridge.toml. The terminal shows the live view and what the room hears and sees."""

from __future__ import annotations

__all__ = ["BRIDGE_CONFIG", "run_bridge_demo"]

import asyncio
import json
import sys
from pathlib import Path
from typing import TextIO

from agent.app import Agent
from agent.demo.diamentor import broker_answers, run_then_close
from agent.demo.options import demo_config
from agent.demo.sender import demo_key
from core.signing import SenderKey
from simulators.bridge import BridgeSimulator, demo_scenario

BRIDGE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo-bridge.toml"
SHOWN = {
    "off": "quiet, green light (the agent is watching)",
    "dose_rate": "BUZZER 200/200 ms, RED FLASHING — dose rate over the level",
    "trigger": "three beeps every 2 s, amber — a procedure trigger",
    "monitor_lost": "BUZZER 1 s/1 s, AMBER FLASHING — dose not watched",
    "acknowledged": "quiet, red steady — alarm acknowledged, still active",
}
SCENARIO_S = 30.0


async def _watch_room(simulator: BridgeSimulator, out: TextIO, stop_after_s: float) -> None:
    shown = ""
    loop = asyncio.get_running_loop()
    end = loop.time() + stop_after_s
    while loop.time() < end:
        if simulator.pattern_shown != shown:
            shown = simulator.pattern_shown
            out.write(f"  [room] {SHOWN[shown]}\n")
        await asyncio.sleep(0.1)


async def _run(
    agent: Agent, simulator: BridgeSimulator, out: TextIO, duration_s: float, key: SenderKey
) -> None:
    watcher = asyncio.create_task(_watch_room(simulator, out, duration_s))
    try:
        await run_then_close(agent, max(0.0, duration_s - 1.0), duration_s, key)
    finally:
        watcher.cancel()


def run_bridge_demo(config_path: Path, duration_s: float | None, mqtt: tuple[str, int] | None) -> int:
    config = demo_config(config_path, mqtt)
    simulator = BridgeSimulator(demo_scenario(loop=duration_s is not None and duration_s > SCENARIO_S))
    pty = simulator.start()
    config = config.with_device_port("bridge", pty)
    out = sys.stdout
    out.write(f"doseedge demo — room bridge firmware (under CPython) on {pty}\n")
    out.write("  beam on at 3 s, pulse rate over the level from 8 s, room button at 17 s, beam off at 26 s\n")
    host, port = config.mqtt.host, config.mqtt.port
    if not broker_answers(host, port):
        out.write(f"No MQTT broker at {host}:{port}: records stay in {config.store.path}.\n")
    key = demo_key(config)  # the demo's own signed sender, made before the agent loads its keyring
    agent = Agent(config, console_out=out)
    try:
        asyncio.run(_run(agent, simulator, out, duration_s if duration_s is not None else SCENARIO_S, key))
    finally:
        simulator.stop()
    rooms = {room.poller.name: dict(room.counters) for room in agent.bridge_rooms}
    out.write("\nRoom bridge: " + json.dumps(rooms) + "\n")
    out.write("Summary: " + json.dumps(agent.last_summary, indent=2, ensure_ascii=False) + "\n")
    return 0
