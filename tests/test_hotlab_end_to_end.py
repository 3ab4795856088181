"""Hot lab end to end: Capintec simulator on a real pty → agent → real Mosquitto → subscriber.

The preparation context, the check source and the constancy QC arrive as real MQTT commands on
<root>/cmd/…; the subscriber must see the activity record (nuclide, MBq, checks), the failed QC
record and its alarm, and the eluate's over-range raised and cleared.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from agent.app import Agent
from agent.config import parse_config
from agent.demo.hotlab import setup_commands
from core.signing import SenderKey, signed_payload
from simulators.capintec import CapintecSimulator
from simulators.hotlab_session import HotlabSession, demo_script
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber, station_senders

ROOT = Path(__file__).resolve().parents[1]
STATION = "e2e/demo-hospital/hotlab-1"
# The demo session, compressed: Cs-137 1–4.5 s, syringe lowered 5.5–7 s, at rest to 11 s, eluate 11.5–13 s.
SCRIPT = replace(
    demo_script(),
    t_background_s=1.0,
    t_source_s=4.5,
    t_empty_s=5.5,
    t_lowering_s=7.0,
    t_at_rest_s=11.0,
    t_withdrawn_s=11.5,
    t_eluate_s=13.0,
    cycle_s=14.0,
)


def now_ms() -> int:
    return int(time.time() * 1000)


def hotlab_text(tmp_path: Path) -> str:
    text = (ROOT / "config" / "demo-hotlab.toml").read_text()
    text = text.replace('topic_prefix = "doseedge"', 'topic_prefix = "e2e"\nreconnect_max_s = 0.5')
    text = text.replace("var/demo-hotlab/", f"{tmp_path}/")
    text = text.replace("poll_interval_s = 0.5", "poll_interval_s = 0.25")
    return text.replace("stable_window_s = 3.0", "stable_window_s = 2.0")


def command(
    subscriber: Subscriber, name: str, args: dict[str, object], command_id: str, key: SenderKey
) -> dict[str, object]:
    topic = f"{STATION}/cmd/{name}"
    payload = signed_payload(key.sender, key.key, topic, {**args, "command_id": command_id}, now_ms())
    subscriber.client.publish(topic, payload, qos=1)

    def answered(s: Subscriber) -> bool:
        return any(b.get("command_id") == command_id for b in s.bodies(f"/cmd_result/{name}"))

    assert subscriber.wait_for(answered, 5), f"no result for cmd/{name}"
    return next(b for b in subscriber.bodies(f"/cmd_result/{name}") if b["command_id"] == command_id)


def test_activity_record_qc_and_constancy_alarm_reach_a_subscriber(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    config = parse_config(hotlab_text(tmp_path)).with_mqtt(broker.host, broker.port)
    _, keys = station_senders(tmp_path)  # the senders file the config names, tmp_path/senders.toml
    key = keys["physicist"]
    session = HotlabSession(SCRIPT)
    simulator = CapintecSimulator(session)
    config = config.with_device_port("crc1", simulator.start())
    subscriber = Subscriber(broker.host, broker.port, "e2e/#", client_id="hotlab-e2e")
    agent = Agent(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(agent.run(install_signals=False)), daemon=True
    )
    thread.start()
    try:
        assert subscriber.wait_for(lambda s: s.bodies("/status"), 5)
        for _ in range(10):  # the agent subscribes to cmd/# as it connects
            ping = signed_payload(key.sender, key.key, f"{STATION}/cmd/ping", {}, now_ms())
            subscriber.client.publish(f"{STATION}/cmd/ping", ping, qos=1)
            if subscriber.wait_for(lambda s: s.bodies("/cmd_result/ping"), 0.5):
                break
        for i, (name, args) in enumerate(setup_commands(SCRIPT, agent.clock.wall())):
            result = command(subscriber, name, args, f"c{i}", key)
            assert result["ok"] is True, result
        simulator.restart_source()

        def everything(s: Subscriber) -> bool:
            over_range = [a["state"] for a in s.bodies("/alarm") if a["type"] == "activity_over_range"]
            return bool(s.bodies("/record/activity") and s.bodies("/record/qc")) and over_range == [
                "raised",
                "cleared",
            ]

        assert subscriber.wait_for(everything, 25)
    finally:
        loop.call_soon_threadsafe(agent.request_stop)
        thread.join(timeout=15)
        simulator.stop()
        subscriber.close()
    assert not thread.is_alive()

    (activity,) = subscriber.bodies("/record/activity")
    assert activity["schema"] == "doseedge.record.activity.v2" and activity["record_id"]
    assert activity["nuclide"] == "Tc-99m" and activity["device"] == "crc1"
    assert activity["activity"]["unit"] == "MBq"
    assert activity["activity"]["value"] == pytest.approx(session.syringe_mbq(9.0), rel=0.01)
    assert activity["displayed"]["unit"] == "MBq"  # the CRC-25R in SI units, as the device showed it
    assert activity["context"]["exam"] == "bone_imaging"
    assert activity["context"]["patient_pseudonym"].startswith("pid-")
    checks = {c["check"]: c for c in activity["checks"]}
    assert set(checks) == {"prescribed", "table5"}
    table5 = checks["table5"]["level"]
    assert table5["value"] == 600.0 and "Tableau 5" in activity["citations"][table5["citation_id"]]
    assert not checks["prescribed"]["exceeded"] and not checks["table5"]["exceeded"]

    (qc,) = subscriber.bodies("/record/qc")
    assert qc["test"] == "constancy" and qc["result"] == "fail" and qc["entry"] == "activimeter"
    assert qc["deviation_fraction"] == pytest.approx(0.12, abs=0.01)
    assert qc["source"]["serial"] == "CS137-DEMO-0001"

    raised = [
        a for a in subscriber.bodies("/alarm") if a["type"] == "qc_constancy" and a["state"] == "raised"
    ]
    assert len(raised) == 1 and raised[0]["severity"] == "high"
    states = {b.get("activity_state") for b in subscriber.bodies("/reading/crc1")}
    assert {"empty", "settling", "stable", "over_range"} <= states
    everything_sent = json.dumps([b for _, t, b, _ in subscriber.messages if "/cmd/" not in t])
    assert "DEMO-PATIENT-0001" not in everything_sent  # the raw identifier never leaves the box
