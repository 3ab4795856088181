"""Simulator → agent → real Mosquitto → subscriber, with the broker stopped and restarted mid-run."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from agent.app import Agent
from agent.config import AgentConfig, parse_config
from core.signing import read_key_file, signed_payload
from simulators.mosquitto import MosquittoBroker
from simulators.procedure import Procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.fakes import Subscriber, station_senders

ROOT = Path(__file__).resolve().parents[1]


def e2e_config(tmp_path: Path, broker: MosquittoBroker) -> AgentConfig:
    text = (ROOT / "config" / "demo.toml").read_text()
    text = text.replace('path = "var/demo/outbox.sqlite"', f'path = "{tmp_path}/outbox.sqlite"')
    text = text.replace('topic_prefix = "doseedge"', 'topic_prefix = "e2e"\nreconnect_max_s = 0.5')
    auth, _ = station_senders(tmp_path)
    text = text.replace('senders_file = "var/demo/senders.toml"', f'senders_file = "{auth.senders_file}"')
    return parse_config(text).with_mqtt(broker.host, broker.port)


def run_agent(agent: Agent, seconds: float) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: asyncio.run(agent.run(duration_s=seconds, install_signals=False)), daemon=True
    )
    thread.start()
    return thread


def test_alarm_raised_cleared_and_nothing_lost_across_a_broker_restart(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    config = e2e_config(tmp_path, broker)
    assert config.fluoroscopy is not None
    procedure = Procedure.from_esak(
        [(1.0, 0.0), (2.0, 14.0), (5.0, 40.0), (5.0, 10.0), (1.5, 0.0)], config.fluoroscopy.geometry()
    )
    simulator = DiamentorSimulator(procedure)
    config = config.with_device_port("dap1", simulator.start())
    subscriber = Subscriber(broker.host, broker.port, "e2e/#")
    agent = Agent(config)
    try:
        thread = run_agent(agent, seconds=16.0)
        assert subscriber.wait_for(lambda s: len(s.bodies("/reading/dap1")) >= 5, 8)
        broker.stop()  # mid-procedure, while the dose rate is over the level
        time.sleep(2.0)
        assert agent.outbox.depth() > 0, "records must accumulate in the store while the broker is down"
        broker.start()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert subscriber.wait_for(lambda s: len(s.bodies("/record/irradiation")) >= 1, 10)
    finally:
        simulator.stop()
        time.sleep(0.5)
        subscriber.close()

    summary = agent.last_summary
    assert summary["unsent_in_store"] == 0
    stored = {}
    for _, topic, body, _ in list(subscriber.messages):
        if "seq" in body:
            stored[body["record_id"]] = (body["seq"], topic, body)
    seqs = sorted(seq for seq, _, _ in stored.values())
    assert seqs == list(range(1, len(seqs) + 1)), "a gap in seq means a record was lost"
    assert (
        len(seqs)
        == summary["readings"]
        + summary["alarms_raised"]
        + summary["alarms_cleared"]
        + summary["records"]
        + summary["alarm_active"]  # retained alarm/active snapshots (docs/fluoroscopy.md)
        + summary["levels"]  # retained citation texts (docs/mqtt.md)
    )

    alarms = [b for _, t, b in sorted(stored.values(), key=lambda x: x[0]) if t.endswith("/alarm")]
    assert [a["state"] for a in alarms if a["type"] == "fluoro_dose_rate"] == ["raised", "cleared"]
    raised = next(a for a in alarms if a["state"] == "raised")
    assert raised["level"]["value"] == 25.0 and raised["level"]["unit"] == "mGy/min"
    assert 25 < raised["value"]["value"] <= 41

    statuses = [b["state"] for _, t, b, _ in subscriber.messages if t.endswith("/status")]
    assert statuses[0] == "online" and statuses[-1] == "offline"


def test_command_round_trip_through_the_broker(tmp_path: Path, broker: MosquittoBroker) -> None:
    config = e2e_config(tmp_path, broker)
    simulator = DiamentorSimulator(Procedure(()))
    config = config.with_device_port("dap1", simulator.start())
    subscriber = Subscriber(broker.host, broker.port, "e2e/#", client_id="cmd-test")
    agent = Agent(config)
    thread = run_agent(agent, seconds=4.0)
    try:
        assert subscriber.wait_for(lambda s: s.bodies("/status"), 5)
        root = "e2e/demo-hospital/carm-1"
        key = read_key_file(tmp_path / "operator.key")
        now_ms = int(time.time() * 1000)
        ping = signed_payload(key.sender, key.key, f"{root}/cmd/ping", {"command_id": "c1"}, now_ms)
        subscriber.client.publish(f"{root}/cmd/ping", ping, qos=1)
        subscriber.client.publish(f"{root}/cmd/ping", b"not json", qos=1)
        launch = signed_payload(key.sender, key.key, f"{root}/cmd/launch", {}, now_ms)
        subscriber.client.publish(f"{root}/cmd/launch", launch, qos=1)
        assert subscriber.wait_for(lambda s: len(s.bodies("/cmd_result/ping")) >= 2, 5)
        assert subscriber.wait_for(lambda s: len(s.bodies("/cmd_result/launch")) >= 1, 5)
    finally:
        thread.join(timeout=10)
        simulator.stop()
        subscriber.close()
    ok, bad = subscriber.bodies("/cmd_result/ping")[:2]
    assert ok["ok"] is True and ok["command_id"] == "c1" and ok["by"] == "test-operator"
    assert bad["ok"] is False and "not JSON" in bad["error"]
    assert "unknown command" in subscriber.bodies("/cmd_result/launch")[0]["error"]
