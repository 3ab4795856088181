"""`doseedge demo --station hotlab`: a simulated Capintec CRC-25R playing a hot-lab session + the agent.

The session (simulators/hotlab_session.py `demo_script`): background, a Cs-137 check source that
has drifted +12 % (QC day 6), a 555 MBq Tc-99m syringe lowered into the well then at rest, an
eluate beyond range. Before it starts, a front desk sends what a RIS would: the check source's
certificate (`cmd/hotlab_source`), a constancy QC to take from the next stable Cs-137 reading
(`cmd/hotlab_qc`) and the preparation context of a bone scan (`cmd/hotlab_context`) — over MQTT
when a broker answers, straight into the agent's command router otherwise. The agent then records
the syringe with its checks (prescription, Table 5), fails the constancy QC and raises its alarm.
"""

from __future__ import annotations

__all__ = ["HOTLAB_CONFIG", "run_hotlab_demo", "setup_commands"]

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.app import Agent
from agent.clock import iso_utc
from agent.demo.diamentor import broker_answers
from agent.demo.keyring import DemoKeyring
from agent.demo.options import demo_config
from agent.demo.sender import demo_key, signed_command
from agent.hotlab.view import record_line
from core.signing import SenderKey
from simulators.capintec import CapintecSimulator
from simulators.front_desk import FrontDesk
from simulators.hotlab_session import HotlabSession, SessionScript, demo_script

HOTLAB_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo-hotlab.toml"
SOURCE_SERIAL = "CS137-DEMO-0001"
EXAM, NUCLIDE, FORM = "bone_imaging", "Tc-99m", "phosphonate"  # Table 5 row 1
HIDDEN = {"schema", "ts", "site", "station", "seq", "record_id", "command", "command_id"}
Send = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def setup_commands(script: SessionScript, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """What the front desk sends before the session starts (the check source's certificate matches it)."""
    certified_at = now - timedelta(seconds=script.cs137_age_s)
    return [
        (
            "hotlab_source",
            {
                "serial": SOURCE_SERIAL,
                "nuclide": "Cs-137",
                "certified_activity_mbq": script.cs137_certified_mbq,
                "certified_at": iso_utc(certified_at),
            },
        ),
        ("hotlab_qc", {"test": "constancy", "source_serial": SOURCE_SERIAL, "operator": "tech-demo"}),
        (
            "hotlab_context",
            {
                "exam": EXAM,
                "nuclide": NUCLIDE,
                "chemical_form": FORM,
                "prescribed_activity_mbq": 540,
                "planned_administration": iso_utc(now + timedelta(minutes=15)),
                "patient_id": "DEMO-PATIENT-0001",
                "dispense_id": "D-0001",
                "operator": "tech-demo",
            },
        ),
    ]


async def _until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _sender(agent: Agent, key: SenderKey, broker_up: bool) -> tuple[Send, str, FrontDesk | None]:
    """Over MQTT through the broker when the agent got connected, else into the agent's router."""
    if broker_up and await _until(lambda: agent.link.connected, 5.0):
        host, port = agent.config.mqtt.host, agent.config.mqtt.port
        client_id = f"doseedge-demo-desk-{os.getpid()}"
        desk = await asyncio.to_thread(FrontDesk, host, port, agent.root, client_id, key)
        for _ in range(10):  # the agent subscribes to cmd/# as it connects: wait until it answers
            if not agent.link.connected:
                break
            try:
                await asyncio.to_thread(desk.send, "ping", {}, 0.5)
                break
            except TimeoutError:
                continue

        async def over_mqtt(name: str, args: dict[str, Any]) -> dict[str, Any]:
            return await asyncio.to_thread(desk.send, name, args)

        return over_mqtt, f"MQTT {agent.root}/cmd/", desk

    async def direct(name: str, args: dict[str, Any]) -> dict[str, Any]:
        return signed_command(agent, key, name, args) or {"ok": False, "error": "rate limited"}

    return direct, "the agent's command router, cmd/", None


async def _play(
    agent: Agent,
    simulator: CapintecSimulator,
    script: SessionScript,
    duration_s: float | None,
    broker_up: bool,
    key: SenderKey,
) -> None:
    out = agent.console.out if agent.console is not None else sys.stdout
    running = asyncio.create_task(agent.run(duration_s=duration_s))
    desk = None
    try:
        await _until(lambda: agent.stop_event is not None, 5.0)
        send, via, desk = await _sender(agent, key, broker_up)
        for name, args in setup_commands(script, agent.clock.wall()):
            if running.done():  # --duration shorter than the set-up
                break
            try:
                result = await send(name, args)
            except TimeoutError as exc:
                out.write(f"-> {via}{name}: {exc}\n")
                continue
            shown = {k: v for k, v in result.items() if k not in HIDDEN}
            out.write(f"-> {via}{name} {json.dumps(args, ensure_ascii=False)}\n   <- {json.dumps(shown)}\n")
        out.write("\nSession starts: background, Cs-137 check source, Tc-99m syringe, eluate over range.\n\n")
        simulator.restart_source()
        if duration_s is None:
            end_s = script.t_eluate_s + 2.5  # the over-range has cleared
            await _until(lambda: running.done() or simulator.source_time_s() >= end_s, end_s + 5.0)
            agent.request_stop()
        await running
    finally:
        if desk is not None:
            desk.close()
        if not running.done():
            agent.request_stop()
            await running


def run_hotlab_demo(
    config_path: Path,
    duration_s: float | None,
    mqtt: tuple[str, int] | None,
    web: tuple[str, int] | None = None,
) -> int:
    config = demo_config(config_path, mqtt, web)
    keyring = DemoKeyring()
    hotlab = config.hotlab
    assert hotlab is not None, "the hot-lab demo config needs a [hotlab] table"
    script = demo_script()
    simulator = CapintecSimulator(HotlabSession(script), serial_number="259999")
    pty = simulator.start()
    config = config.with_device_port(hotlab.activimeter, pty)
    host, port = config.mqtt.host, config.mqtt.port
    out = sys.stdout
    out.write(f"doseedge demo — hot lab: simulated Capintec CRC-25R on {pty}\n")
    broker_up = broker_answers(host, port)
    if broker_up:
        out.write(f"Publishing to the MQTT broker at {host}:{port} under {config.mqtt.topic_prefix}/…\n")
    else:
        out.write(
            f"No MQTT broker answers at {host}:{port}: records are kept in the local store "
            f"({config.store.path}) and will be sent when a broker answers; commands go straight to "
            "the agent. (--mqtt HOST:PORT to change)\n"
        )
    sender_key = demo_key(config)  # the demo's own signed sender, made before the agent loads its keyring
    agent = Agent(config, console_out=out, keyring=keyring)
    if config.web.enabled:  # the address follows as soon as the page is served
        out.write(f"{keyring.login_text()} (the operator view's address follows)\n")
    assert agent.pipeline.hotlab is not None
    qc = agent.pipeline.hotlab.qc
    for key in ("prescribed_tolerance_fraction", "constancy_action_fraction"):
        level = qc.policy(key)
        out.write(f"Level {key}: ±{level.value * 100:g} % ({level.citation})\n")
    table5 = agent.pipeline.hotlab.data.table5.lookup(EXAM, NUCLIDE, FORM)
    out.write(f"Level Table 5 {EXAM}, {NUCLIDE}: {table5.max_activity_mbq:g} MBq ({table5.citation})\n\n")

    def show(record: Any) -> None:
        line = record_line(record)
        if line is not None:
            out.write(line + "\n")

    agent.pipeline.record_listeners.append(show)
    try:
        asyncio.run(_play(agent, simulator, script, duration_s, broker_up, sender_key))
    finally:
        simulator.stop()
    out.write("\nSummary: " + json.dumps(agent.last_summary, indent=2, ensure_ascii=False) + "\n")
    return 0
