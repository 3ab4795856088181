"""Graceful overload through the whole agent (issue 17): when the link cannot publish what the
devices produce, polls are held (counted, in health, `polls_stretched` raised once), the backlog of
unpublished messages stays bounded, and an alarm raised meanwhile is published before the readings
that waited. A real agent, a real Mosquitto, a real subscriber; the devices are fakes at the driver
boundary, and the link is gated at the forwarder (`publish` answers "queue full" while closed, as
paho does when its outgoing queue is full). Counted, not timed: waits are for conditions."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

from agent.app import Agent
from agent.config import parse_config
from agent.notices import AlarmNotice
from drivers.model import Measurement, Reading, Status
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber

HIGH = 40
DEVICES = 4
CONFIG = """
[station]
site = "s"
station_id = "busy"
[store]
path = "{store}"
[mqtt]
live_backlog_max = {high}
poll_hold_max_s = 60.0
"""
DEVICE = """
[[devices]]
name = "gen{i}"
driver = "modbus"
profile = "example_xray_generator"
transport = "tcp"
host = "127.0.0.1"
tcp_port = 1
poll_interval_s = 0.05
"""


class InstantDevice:
    """A generator that answers every poll at once: more readings than the link will take."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counters: Counter[str] = Counter()
        self.polls = 0

    def connect(self) -> dict[str, str]:
        return {"model": "fake"}

    def poll(self) -> Reading:
        self.polls += 1
        measurement = Measurement("kvp", 70.0 + self.polls % 5, "kV", 70.0 + self.polls % 5, "kV")
        return Reading(device=self.name, status=Status.OK, measurements=(measurement,))

    def close(self) -> None:
        pass


class GatedLink:
    """The agent's link as the forwarder sees it, with a gate the test closes and opens."""

    def __init__(self, link: Any) -> None:
        self.link = link
        self.open = True

    @property
    def connected(self) -> bool:
        return bool(self.link.connected)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        if not self.open:
            return None
        return self.link.publish(topic, payload, qos, retain)  # type: ignore[no-any-return]


async def until(predicate: Any, turns: int = 3000) -> None:
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never reached")


def test_a_link_that_cannot_keep_up_holds_polls_bounds_the_backlog_and_alarms_go_first(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    text = CONFIG.format(store=tmp_path / "o.sqlite", high=HIGH) + "".join(
        DEVICE.format(i=i) for i in range(DEVICES)
    )
    agent = Agent(parse_config(text).with_mqtt(broker.host, broker.port))
    for poller in agent.pollers:
        poller.driver = InstantDevice(poller.name)
    gate = GatedLink(agent.link)
    agent.forwarder.link = gate
    subscriber = Subscriber(broker.host, broker.port, "doseedge/s/busy/#", client_id="overload-sub")
    backlogs: list[int] = []
    mark: list[int] = []

    async def scenario() -> None:
        task = asyncio.create_task(agent.run(install_signals=False))
        await until(lambda: agent.forwarder.published > 20)  # connected, readings flowing
        gate.open = False  # the link stops taking messages
        pressure = agent.backpressure
        await until(lambda: all(pressure.stretched[f"gen{i}"] for i in range(DEVICES)))
        for _ in range(20):  # every device is held: the backlog no longer grows
            backlogs.append(agent._backlog())
            await asyncio.sleep(0.01)
        dose = AlarmNotice("dose-1", "rate_high", "raised", "high", "test: dose rate over the level", {})
        agent.pipeline.store([agent.pipeline.alarm_message(dose)])
        await until(lambda: agent.writer is not None and agent.writer.queued() == 0)
        mark.append(len(subscriber.messages))
        gate.open = True  # the link catches up
        await until(lambda: not pressure.holding and agent.forwarder.unpublished() < HIGH // 2)
        polls_at_release[0] = sum(d.polls for d in drivers())
        await until(lambda: sum(d.polls for d in drivers()) > polls_at_release[0] + 40)
        health.append(agent.health())
        agent.request_stop()
        await task

    def drivers() -> list[InstantDevice]:
        return [p.driver for p in agent.pollers]  # type: ignore[misc]

    polls_at_release = [0]
    health: list[dict[str, Any]] = []
    try:
        asyncio.run(scenario())
        assert subscriber.wait_for(lambda s: any(b.get("alarm_id") == "dose-1" for b in s.bodies("/alarm")))
    finally:
        subscriber.close()

    # bounded: the bound, plus one reading per device already past its check, plus the
    # polls_stretched alarm and alarm/active it committed
    assert max(backlogs) <= HIGH + DEVICES + 2, backlogs
    overload = health[0]["overload"]
    assert overload["polls_stretched"] >= DEVICES and overload["peak_backlog"] > HIGH
    stretched = [b for b in subscriber.bodies("/alarm") if b["type"] == "polls_stretched"]
    assert [b["state"] for b in stretched] == ["raised"]  # once, however many polls were held
    after = [(t, b) for _, t, b, _ in list(subscriber.messages)[mark[0] :]]
    first_reading = next(i for i, (t, _) in enumerate(after) if "/reading/" in t)
    dose_at = next(i for i, (t, b) in enumerate(after) if t.endswith("/alarm") and b["alarm_id"] == "dose-1")
    assert dose_at < first_reading  # the alarm went before the readings that waited
    assert json.loads(json.dumps(overload))["by_device"]["gen0"]["polls"] >= 1  # health is JSON
