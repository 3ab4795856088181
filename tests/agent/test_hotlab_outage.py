"""Hot-lab records survive a broker outage like every other record (real Mosquitto, real agent)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from agent.app import Agent
from agent.config import parse_config
from simulators.mosquitto import MosquittoBroker
from tests.agent.hotlab_fixtures import activity, hotlab_config
from tests.fakes import FakeClock, LocalRouter, Subscriber

pytestmark = pytest.mark.broker


async def _until(predicate: object, timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return bool(predicate())  # type: ignore[operator]


def test_activity_and_qc_records_reach_the_subscriber_after_the_broker_returns(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    base = parse_config(
        f'[station]\nsite = "h1"\nstation_id = "hotlab-1"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n'
        f'[store]\npath = "{tmp_path / "outbox.sqlite"}"\n'
    )
    config = dataclasses.replace(base, hotlab=hotlab_config(tmp_path))
    clock = FakeClock()
    agent = Agent(config, clock=clock)
    subscriber = Subscriber(broker.host, broker.port, "doseedge/h1/hotlab-1/record/#", "hotlab-outage-sub")

    def feed(reading: object, seconds: int) -> None:
        for _ in range(seconds):
            clock.advance(1.0)
            agent.pipeline.on_reading(reading)  # type: ignore[arg-type]

    async def scenario() -> None:
        task = asyncio.create_task(agent.run(install_signals=False))
        assert await _until(lambda: agent.link.connected, 5.0)
        await asyncio.to_thread(broker.stop)
        assert await _until(lambda: not agent.link.connected, 5.0)
        feed(activity(0.002), 2)
        for mbq in (30.0, 200.0, 500.0):
            feed(activity(mbq), 1)
        feed(activity(555.0), 6)  # one activity record while the broker is down
        qc = {"test": "background", "measured_mbq": 0.01}
        agent.run_local("hotlab_qc", qc, LocalRouter.SENDER, "test")  # one QC record
        assert agent.outbox.depth() >= 2
        await asyncio.to_thread(broker.start)
        got = await _until(
            lambda: subscriber.bodies("record/activity") and subscriber.bodies("record/qc"), 15.0
        )
        agent.request_stop()
        await task
        assert got

    try:
        asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    finally:
        subscriber.close()
    (record,) = subscriber.bodies("record/activity")
    assert record["schema"] == "doseedge.record.activity.v2"
    assert record["activity"]["value"] == pytest.approx(555.0, rel=1e-3)
    assert record["seq"] >= 1 and record["record_id"]
    (qc,) = subscriber.bodies("record/qc")
    assert qc["test"] == "background" and qc["result"] == "pass"
