"""Broker killed and restarted many times while the simulator streams: nothing is lost (issue 3)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from simulators.mosquitto import MosquittoBroker
from tests.chaos.harness import AgentProcess, Rig, first_arrivals, received_seqs, store_state, wait_until

pytestmark = pytest.mark.broker


def test_every_record_and_alarm_arrives_in_seq_order_across_broker_restarts(
    tmp_path: Path, broker: MosquittoBroker, rig: Rig
) -> None:
    rng = random.Random(3)
    subscriber = rig.subscriber
    agent = AgentProcess(rig.config, tmp_path / "agent.log")
    try:
        assert wait_until(lambda: len(received_seqs(subscriber)) > 20, 15), "agent never published"
        for _ in range(8):
            time.sleep(rng.uniform(0.3, 1.2))  # streaming
            broker.stop()  # a broker that goes away mid-stream (its queue for the consumer is saved)
            time.sleep(rng.uniform(0.1, 1.0))
            broker.start()
        time.sleep(2.0)
    finally:
        code = agent.stop()
    assert code == 0
    next_seq, unsent = store_state(rig.store)
    wait_until(lambda: received_seqs(subscriber) | unsent >= set(range(1, next_seq)), 10)
    subscriber.close()
    missing = set(range(1, next_seq)) - received_seqs(subscriber) - unsent
    assert not missing, (
        f"{len(missing)} committed messages neither delivered nor kept: {sorted(missing)[:10]}"
    )
    alarms = first_arrivals(subscriber, "/alarm")
    records = first_arrivals(subscriber, "/record/irradiation")
    assert len(alarms) >= 4 and len(records) >= 2, "the scenario must produce alarms and records"
    for stream in (alarms, records):
        seqs = [b["seq"] for b in stream]
        assert seqs == sorted(seqs), "after de-duplication, per-station seq order"
    health = subscriber.bodies("/health")
    assert health and max(h["link"]["reconnects"] for h in health) >= 1
