"""cmd/device_command end to end: a real MQTT message through a private Mosquitto to the agent, the
DIAMENTOR simulator on a real pty. `reset` zeroes the meter's cumulative DAP between two polls and
the readings after it show zero; the action is recorded; a malformed command is answered and
counted; once the meter is unplugged and lost, a command is refused, not left hanging."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from agent.app import Agent
from core.signing import read_key_file, signed_payload
from simulators.mosquitto import MosquittoBroker
from simulators.procedure import Procedure, Segment
from simulators.ptw_diamentor import DiamentorSimulator
from tests.fakes import Subscriber
from tests.test_device_health import run_until_stopped
from tests.test_end_to_end import e2e_config


def _result(
    subscriber: Subscriber, command_id: str | None, stage: str | None = None
) -> dict[str, Any] | None:
    for body in subscriber.bodies("/cmd_result/device_command"):
        if body.get("command_id") == command_id and (stage is None or body.get("stage") == stage):
            return body
    return None


def _kap(reading: dict[str, Any]) -> float:
    return next(float(m["value"]) for m in reading["measurements"] if m["quantity"] == "kap")


def test_reset_over_mqtt_zeroes_the_meter_and_is_recorded_then_a_lost_meter_refuses(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    # 0.1 Gy·cm² of beam in the first two seconds, then the beam stays off.
    simulator = DiamentorSimulator(Procedure((Segment(0.3, 0.0), Segment(1.0, 6.0), Segment(600.0, 0.0))))
    config = e2e_config(tmp_path, broker).with_device_port("dap1", simulator.start())
    subscriber = Subscriber(broker.host, broker.port, "e2e/#", client_id="device-command-test")
    agent = Agent(config)
    topic = f"{agent.root}/cmd/device_command"
    thread, stop = run_until_stopped(agent)

    key = read_key_file(tmp_path / "physicist.key")  # device actions need the physicist role

    def send(body: dict[str, Any] | bytes) -> None:
        now_ms = int(time.time() * 1000)
        payload = (
            body if isinstance(body, bytes) else signed_payload(key.sender, key.key, topic, body, now_ms)
        )
        subscriber.client.publish(topic, payload, qos=1)

    try:
        assert subscriber.wait_for(
            lambda s: any(_kap(r) == pytest.approx(0.1, rel=0.02) for r in s.bodies("/reading/dap1")), 8
        ), "the meter must have counted the beam"
        reset = {"command_id": "reset-1", "device": "dap1", "action": "reset", "by": "physicist A"}
        send(reset)
        assert subscriber.wait_for(lambda s: _result(s, "reset-1", "done") is not None, 8)
        assert subscriber.wait_for(lambda s: s.bodies("/record/device_action"), 5)
        done = _result(subscriber, "reset-1", "done")
        assert done is not None

        def after(s: Subscriber) -> list[dict[str, Any]]:
            return [r for r in s.bodies("/reading/dap1") if r["seq"] > done["seq"]]

        assert subscriber.wait_for(lambda s: len(after(s)) >= 2, 5)

        send({"command_id": "bad-1", "device": "dap1", "action": "set_unit", "args": {"unit_code": "two"}})
        send(b"{not json")
        assert subscriber.wait_for(lambda s: _result(s, "bad-1") is not None, 5)
        assert subscriber.wait_for(lambda s: _result(s, None) is not None, 5)

        simulator.unplug()
        deadline = time.monotonic() + 8
        while not agent.pollers[0].lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert agent.pollers[0].lost
        send({"command_id": "reset-2", "device": "dap1", "action": "reset"})
        assert subscriber.wait_for(lambda s: _result(s, "reset-2") is not None, 5)
    finally:
        stop()
        thread.join(timeout=15)
        simulator.stop()
        subscriber.close()
    assert not thread.is_alive()

    queued = _result(subscriber, "reset-1", "queued")
    assert queued is not None and queued["ok"] is True and queued["schema"] == "doseedge.cmd_result.v2"
    assert done["ok"] is True and done["effect"] == "changes_measurement"
    assert simulator.dap_gy_cm2 == 0.0
    before = [r for r in subscriber.bodies("/reading/dap1") if r["seq"] < queued["seq"]]
    assert _kap(before[-1]) == pytest.approx(0.1, rel=0.02)
    assert all(_kap(r) == 0.0 for r in after(subscriber))  # every reading after the reset shows it

    (record,) = subscriber.bodies("/record/device_action")
    assert record["schema"] == "doseedge.record.device_action.v1" and record["device"] == "dap1"
    assert (record["action"], record["args"], record["by"]) == (
        "reset",
        {},
        "test-physicist",
    )  # not free text
    assert record["channel"] == "mqtt"
    assert record["result"] == {"ok": True, "data": {}} and record["command_id"] == "reset-1"
    assert record["at"].endswith("Z") and "record_id" in record

    bad = _result(subscriber, "bad-1")
    assert bad is not None and bad["ok"] is False and "'unit_code' must be int" in bad["error"]
    not_json = _result(subscriber, None)
    assert not_json is not None and "not JSON" in not_json["error"]
    assert agent.commands.counters["rejected"] == 3  # the malformed two and the refusal below
    lost = _result(subscriber, "reset-2")
    assert lost is not None and lost["ok"] is False and lost["error"].startswith("device dap1 is lost")
