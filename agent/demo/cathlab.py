"""`doseedge demo --station cathlab`: a DIAMENTOR and a Modbus generator simulator playing one beam
timeline (normal fluoroscopy, a high-level run above 100 mGy/min, a cine/DSA burst) into the agent on
config/demo-cathlab.toml. The live view shows the mode and where it comes from, the dose rate against
the level for that mode, and the procedure's running totals; every record is printed as it is made,
and the procedure is closed by a `procedure_close` command at the end so its record is printed too."""

from __future__ import annotations

__all__ = ["CATHLAB_CONFIG", "run_cathlab_demo"]

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from agent.app import Agent
from agent.demo.cathlab_room import CathlabSimulators
from agent.demo.diamentor import broker_answers, run_then_close
from agent.demo.keyring import DemoKeyring
from agent.demo.options import demo_config
from agent.demo.sender import demo_key
from agent.notices import RecordNotice

CATHLAB_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo-cathlab.toml"


def _record_line(record: RecordNotice) -> str:
    d = record.details
    if record.kind == "irradiation":
        judged = "judged" if d["judged"] else "NOT judged (no fluoroscopy level for this mode)"
        return (
            f"   record irradiation: {d['mode']} {d['irradiation_time']['value']:.1f} s, peak "
            f"{d['peak_esak_rate']['value']:.1f} mGy/min, {judged}, {d['rate_alarms']} dose-rate alarm(s)"
        )
    if record.kind == "procedure":
        t = d["totals"]
        return (
            f"   record procedure {d['procedure_id'][:8]}…: Ka,r {t['kar']['value']:.2f} mGy, KAP "
            f"{t['kap']['value']:.3f} Gy·cm², fluoroscopy {t['fluoro_time']['value']:.1f} s, "
            f"{t['acquisition_count']} acquisition(s), PSD estimate {t['psd_estimate']['value']:.2f} mGy, "
            f"{len(d['alarms'])} alarm(s); closed by {d['closed_by']}"
        )
    return f"   record {record.kind}"


def _print_records(out: TextIO) -> Callable[[RecordNotice], None]:
    def listener(record: RecordNotice) -> None:
        out.write(_record_line(record) + "\n")
        out.flush()

    return listener


def run_cathlab_demo(
    config_path: Path,
    duration_s: float | None,
    mqtt: tuple[str, int] | None,
    web: tuple[str, int] | None = None,
) -> int:
    config = demo_config(config_path, mqtt, web)
    keyring = DemoKeyring()
    room = CathlabSimulators(config)
    config = room.start()
    out = sys.stdout
    host, port = config.mqtt.host, config.mqtt.port
    out.write(
        f"doseedge cath-lab demo — simulated PTW DIAMENTOR on {room.meter.path}, "
        f"simulated generator (EXAMPLE Modbus map) on {room.generator.url}\n"
    )
    if broker_answers(host, port):
        out.write(f"Publishing to the MQTT broker at {host}:{port} under {config.mqtt.topic_prefix}/…\n")
    else:
        out.write(
            f"No MQTT broker answers at {host}:{port}: records are kept in the local store "
            f"({config.store.path}). (--mqtt HOST:PORT to change)\n"
        )
    if config.rate_levels is not None:
        for level in config.rate_levels.levels.values():
            out.write(f"Guidance level {level.mode}: {level.rate_mgy_min:g} mGy/min ({level.citation})\n")
    out.write(
        "Dose rate from the DAP meter's KAP rate and the generator's field; mode from the generator.\n"
        "Script: normal fluoroscopy 15 mGy/min, high-level 140 mGy/min, acquisition 600 mGy/min.\n\n"
    )
    close_after = room.duration_s + 0.5
    duration = duration_s if duration_s is not None else close_after + 2.0
    key = demo_key(config)  # the demo's own signed sender, made before the agent loads its keyring
    agent = Agent(config, console_out=out, keyring=keyring)
    if config.web.enabled:  # the address follows as soon as the page is served
        out.write(f"{keyring.login_text()} (the operator view's address follows)\n")
    agent.pipeline.record_listeners.append(_print_records(out))
    room.restart_scripts()
    try:
        asyncio.run(run_then_close(agent, close_after, duration, key))
    finally:
        room.stop()
    out.write("\nSummary: " + json.dumps(agent.last_summary, indent=2, ensure_ascii=False) + "\n")
    return 0
