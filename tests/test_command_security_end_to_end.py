"""Issue 10, done when: against a real Mosquitto, forged (unsigned, wrong key, unknown sender, wrong
role), replayed, expired, future-dated and retained commands are refused, answered and recorded, and
change nothing — the meter is not reset, the procedure stays open, the latching alarm stays raised;
then correctly signed commands from the right roles work end to end through `doseedge command`.

The DIAMENTOR simulator on a real pty counts 0.1 Gy·cm² of beam, which crosses the (lowered) KAP
notification trigger: a latching alarm, and a procedure opened by the beam."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from agent.app import Agent
from agent.config import parse_config
from core.signing import SenderKey, new_key, read_key_file, signed_payload
from simulators.mosquitto import MosquittoBroker
from simulators.procedure import Procedure, Segment
from simulators.ptw_diamentor import DiamentorSimulator
from tests.agent.room import kap_triggers
from tests.fakes import Subscriber, run_doseedge, station_senders
from tests.test_device_health import run_until_stopped

ROOT = Path(__file__).resolve().parents[1]
STATION = "e2e/demo-hospital/carm-1"


def station_file(tmp_path: Path, broker: MosquittoBroker) -> Path:
    auth, _ = station_senders(tmp_path)
    text = (ROOT / "config" / "demo.toml").read_text()
    text = text.replace('path = "var/demo/outbox.sqlite"', f'path = "{tmp_path}/outbox.sqlite"')
    text = text.replace('topic_prefix = "doseedge"', 'topic_prefix = "e2e"\nreconnect_max_s = 0.5')
    text = text.replace("port = 1883", f"port = {broker.port}")
    text = text.replace('senders_file = "var/demo/senders.toml"', f'senders_file = "{auth.senders_file}"')
    path = tmp_path / "station.toml"
    path.write_text(text + "\n" + kap_triggers(0.05, 0.05) + "\n")
    return path


def signed(key: SenderKey, name: str, args: dict[str, Any], age_s: float = 0.0) -> bytes:
    ts_ms = int((time.time() - age_s) * 1000)
    return signed_payload(key.sender, key.key, f"{STATION}/cmd/{name}", args, ts_ms)


def _kap(reading: dict[str, Any]) -> float:
    return next(float(m["value"]) for m in reading["measurements"] if m["quantity"] == "kap")


def _results(subscriber: Subscriber) -> dict[str, dict[str, Any]]:
    return {b["command_id"]: b for b in subscriber.bodies_under("/cmd_result/") if b.get("command_id")}


def test_forged_replayed_expired_and_retained_commands_change_nothing_signed_ones_work(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    path = station_file(tmp_path, broker)
    operator, physicist = read_key_file(tmp_path / "operator.key"), read_key_file(tmp_path / "physicist.key")
    intruder = SenderKey("test-physicist", new_key())  # claims a real sender, holds another key
    stranger = SenderKey("dr-chief-physicist", new_key())  # not in the senders file
    simulator = DiamentorSimulator(Procedure((Segment(0.3, 0.0), Segment(1.0, 6.0), Segment(600.0, 0.0))))
    config = parse_config(path.read_text(), str(path)).with_device_port("dap1", simulator.start())
    subscriber = Subscriber(broker.host, broker.port, "e2e/#", client_id="security-e2e")
    # A valid physicist reset, left retained on the broker before the agent connects.
    reset = {"command_id": "retained-reset", "device": "dap1", "action": "reset"}
    subscriber.client.publish(
        f"{STATION}/cmd/device_command", signed(physicist, "device_command", reset), 1, True
    )
    agent = Agent(config)
    thread, stop = run_until_stopped(agent)
    try:
        raised = subscriber.wait_for(
            lambda s: any(a["type"] == "fluoro_trigger" for a in s.bodies("/alarm")), 10
        )
        assert raised, "the beam must cross the lowered KAP notification trigger"
        assert subscriber.wait_for(lambda s: _kap(s.bodies("/reading/dap1")[-1]) > 0.09, 5)
        alarm_id = next(a["alarm_id"] for a in subscriber.bodies("/alarm") if a["type"] == "fluoro_trigger")
        ack = {"alarm_id": alarm_id, "by": "Dr. Chief Physicist"}
        close = {"by": "Dr. Chief Physicist"}
        unsigned = json.dumps({**ack, "command_id": "unsigned-ack"}).encode()
        forged = [
            ("alarm_ack", unsigned),
            ("procedure_close", signed(intruder, "procedure_close", {**close, "command_id": "wrong-key"})),
            ("alarm_ack", signed(stranger, "alarm_ack", {**ack, "command_id": "unknown-sender"})),
            ("device_command", signed(operator, "device_command", {**reset, "command_id": "wrong-role"})),
            ("procedure_close", signed(operator, "procedure_close", {"command_id": "expired"}, age_s=600)),
            ("alarm_ack", signed(operator, "alarm_ack", {**ack, "command_id": "future"}, age_s=-600)),
            ("alarm_ack", signed(operator, "ping", {"command_id": "other-topic"})),  # signed for ping
        ]
        ping = signed(operator, "ping", {"command_id": "replayed"})
        for name, payload in [*forged, ("ping", ping), ("ping", ping)]:
            subscriber.client.publish(f"{STATION}/cmd/{name}", payload, qos=1)
        expected = {
            "retained-reset": "retained",
            "unsigned-ack": "unsigned",
            "wrong-key": "bad_signature",
            "unknown-sender": "unknown_sender",
            "wrong-role": "role",
            "expired": "expired",
            "future": "future",
            "other-topic": "bad_signature",
        }
        answered = subscriber.wait_for(lambda s: set(expected) <= set(_results(s)), 8)
        assert answered, sorted(_results(subscriber))
        assert subscriber.wait_for(lambda s: len(s.bodies("/cmd_result/ping")) == 2, 5)
        results = _results(subscriber)
        assert {cid: results[cid].get("refused") for cid in expected} == expected
        assert all(results[cid]["ok"] is False and results[cid]["error"] for cid in expected)
        first, again = subscriber.bodies("/cmd_result/ping")
        assert first["ok"] is True and first["by"] == "test-operator"
        assert again["ok"] is False and again["refused"] == "replayed"
        assert subscriber.wait_for(lambda s: len(s.bodies("/record/command_refused")) == len(expected) + 1, 5)
        recorded = {r["command_id"]: r["reason"] for r in subscriber.bodies("/record/command_refused")}
        assert recorded == {**expected, "replayed": "replayed"}

        # Nothing changed: meter not reset, procedure still open, the alarm still raised.
        polled = len(subscriber.bodies("/reading/dap1"))  # two more polls: a reset would show as 0
        assert subscriber.wait_for(lambda s: len(s.bodies("/reading/dap1")) >= polled + 2, 5)
        assert _kap(subscriber.bodies("/reading/dap1")[-1]) == pytest.approx(0.1, rel=0.05)
        assert simulator.dap_gy_cm2 == pytest.approx(0.1, rel=0.05)
        assert agent.pipeline.fluoro is not None and agent.pipeline.fluoro.procedure.current is not None
        assert (
            subscriber.bodies("/record/procedure") == [] and subscriber.bodies("/record/device_action") == []
        )
        active = subscriber.bodies("/alarm/active")[-1]["alarms"]
        assert alarm_id in [a["alarm_id"] for a in active]

        # The right roles, signed by `doseedge command`: an operator acknowledges, a physicist resets.
        ran = run_doseedge(
            "command", "-c", str(path), "alarm_ack", f"alarm_id={alarm_id}", "by=someone-else",
            "--key", str(tmp_path / "operator.key"), timeout_s=30,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr + ran.stdout
        acked = json.loads(ran.stdout)
        assert acked["ok"] is True and acked["state"] == "cleared" and acked["by"] == "test-operator"
        refused = run_doseedge(
            "command", "-c", str(path), "device_command", "device=dap1", "action=reset",
            "--key", str(tmp_path / "operator.key"), timeout_s=30,
        )  # fmt: skip
        assert refused.returncode == 1 and json.loads(refused.stdout)["refused"] == "role"
        done = run_doseedge(
            "command", "-c", str(path), "device_command", "device=dap1", "action=reset",
            "--key", str(tmp_path / "physicist.key"), timeout_s=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr + done.stdout
        assert json.loads(done.stdout)["stage"] == "done"
        assert subscriber.wait_for(lambda s: s.bodies("/record/device_action"), 5)
    finally:
        stop()
        thread.join(timeout=15)
        simulator.stop()
        subscriber.client.publish(f"{STATION}/cmd/device_command", b"", 1, True)  # clear the retained one
        subscriber.close()
    assert simulator.dap_gy_cm2 == 0.0
    (action,) = subscriber.bodies("/record/device_action")
    assert action["by"] == "test-physicist" and action["channel"] == "mqtt" and action["action"] == "reset"
    acknowledged = [a for a in subscriber.bodies("/alarm") if a.get("acknowledged_by")]
    assert acknowledged[-1]["acknowledged_by"] == "test-operator via mqtt"
