"""Alarm lifecycle through the real pipeline and outbox: raised → acknowledged → cleared, the retained
alarm/active set, procedure commands, device_lost severity during beam-on; one broker round-trip."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from agent.config import parse_config
from agent.fluoro.commands import register_fluoro_commands
from agent.link.forwarder import Forwarder
from agent.link.mqtt_link import MqttLink
from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from drivers.model import Measurement, Reading
from simulators.mosquitto import MosquittoBroker
from tests.agent.room import carm_toml, kap_triggers
from tests.fakes import FakeClock, LocalRouter, Subscriber

CONFIG = carm_toml(triggers=kap_triggers(0.05, 0.05))


class Station:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.outbox = Outbox(tmp_path / "outbox.sqlite")
        self.pipeline = Pipeline(parse_config(CONFIG), self.outbox, self.clock, lambda: None)
        self.router = LocalRouter()
        register_fluoro_commands(self.router, self.pipeline, self.clock)
        self.kap = 0.0

    def beam(self, kap_rate: float, seconds: float, every_s: float = 0.5) -> None:
        for _ in range(int(seconds / every_s)):
            self.clock.advance(every_s)
            self.kap += kap_rate * every_s / 60.0
            m = (
                Measurement("kap", self.kap, "Gy·cm²", self.kap, "Gy·cm²"),
                Measurement("kap_rate", kap_rate, "Gy·cm²/min", kap_rate, "Gy·cm²/min"),
            )
            self.pipeline.on_reading(Reading("dap1", m))

    def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        return self.router.dispatch(name, json.dumps(args).encode())

    def sent(self, topic: str) -> list[tuple[dict[str, Any], bool]]:
        return [(json.loads(m.payload), m.retain) for m in self.outbox.pending(100_000) if m.topic == topic]


def test_trigger_alarm_ack_clears_it_and_active_set_follows(tmp_path: Path) -> None:
    station = Station(tmp_path)
    station.beam(0.5, 8.0)  # 0.5 Gy·cm²/min for 8 s: crosses the overridden 0.05 Gy·cm² level once
    raised = [b for b, _ in station.sent("alarm") if b["type"] == "fluoro_trigger"]
    assert [b["trigger"] for b in raised] == ["kap_notification"]
    assert "[[triggers.override]]" in raised[0]["level"]["source"]
    active, retained = station.sent("alarm/active")[-1]
    assert retained and [a["alarm_id"] for a in active["alarms"]] == [raised[0]["alarm_id"]]

    result = station.command("alarm_ack", {"alarm_id": raised[0]["alarm_id"], "by": "dr-a"})
    assert (
        result["ok"] and result["state"] == "cleared" and result["by"] == "test-physicist"
    )  # latching: acknowledgement clears it
    assert station.sent("alarm/active")[-1][0]["alarms"] == []
    assert not station.command("alarm_ack", {"alarm_id": raised[0]["alarm_id"]})["ok"]
    assert not station.command("alarm_ack", {"alarm_id": "nope"})["ok"]

    station.beam(0.0, 2.0)
    assert station.command("procedure_close", {"by": "dr-a"})["ok"]
    (record, _) = station.sent("record/procedure")[0]
    assert (
        record["alarms"][0]["acknowledged"] is True and record["alarms"][0]["by"] == "test-physicist via test"
    )
    assert record["closed_by"] == "test-physicist via test"  # the authenticated sender, not the free text
    assert not station.command("procedure_close", {})["ok"]


def test_rate_alarm_acknowledged_stays_active_until_condition_ends(tmp_path: Path) -> None:
    station = Station(tmp_path)
    assert station.command("procedure_open", {"by": "tech"})["ok"]
    assert not station.command("procedure_open", {})["ok"]  # already open
    station.beam(3.0, 6.0)  # 3 Gy·cm²/min over 40 cm² → ~89 mGy/min at the entrance
    (rate,) = [b for b, _ in station.sent("alarm") if b["type"] == "fluoro_dose_rate"]
    assert station.command("alarm_ack", {"alarm_id": rate["alarm_id"]})["state"] == "acknowledged"
    assert [
        a["state"] for a in station.sent("alarm/active")[-1][0]["alarms"] if a["type"] != "fluoro_trigger"
    ] == ["acknowledged"]
    station.beam(0.0, 6.0)
    assert rate["alarm_id"] not in {a["alarm_id"] for a in station.sent("alarm/active")[-1][0]["alarms"]}


def test_device_lost_is_high_during_beam_on_and_warning_otherwise(tmp_path: Path) -> None:
    station = Station(tmp_path)
    station.beam(1.0, 1.0)
    station.pipeline.on_availability("dap1", False, "timeout")
    station.pipeline.on_availability("dap1", True, "")
    station.beam(0.0, 1.0)
    station.pipeline.on_availability("dap1", False, "timeout")
    lost = [b for b, _ in station.sent("alarm") if b["type"] == "device_lost" and b["state"] == "raised"]
    assert [(b["severity"], b["beam_on_at_loss"]) for b in lost] == [("high", True), ("warning", False)]


def test_alarm_active_is_retained_on_the_broker(tmp_path: Path, broker: MosquittoBroker) -> None:
    station = Station(tmp_path)
    station.beam(1.0, 4.0)
    config = parse_config(CONFIG).with_mqtt(broker.host, broker.port)
    link = MqttLink(config.mqtt, "doseedge/s/carm", "test-agent", lambda state: {"state": state})

    async def forward() -> None:
        forwarder = Forwarder(station.outbox, link)
        loop = asyncio.get_running_loop()
        link.on_ack = lambda mid: forwarder.ack_from_thread(loop, mid)
        link.on_state = lambda up: forwarder.state_from_thread(loop, up)  # as the agent wires it
        link.start()
        for _ in range(250):
            forwarder.pump()
            if station.outbox.depth() == 0:
                return
            await asyncio.sleep(0.02)

    asyncio.run(forward())
    link.stop()
    late = Subscriber(broker.host, broker.port, "doseedge/s/carm/alarm/active", "late-joiner")
    try:
        assert late.wait_for(lambda s: s.messages, 5.0)
        _, _, body, retained = late.messages[-1]
        assert retained and body["schema"] == "doseedge.alarm_active.v2" and body["alarms"]
    finally:
        late.close()
