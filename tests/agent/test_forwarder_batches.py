"""Several readings per MQTT message when readings queue (issue 17, agent/link/batches.py): packed only
under a backlog, every row deleted on its batch's PUBACK and sent again after a disconnect, alarms and
records never packed and first, the message valid against schemas/doseedge.readings.v2.json."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.app import Agent
from agent.config import load_config
from agent.link.batches import BATCH_SCHEMA
from agent.link.forwarder import Forwarder
from agent.payloads import envelope, reading_body
from agent.store.outbox import Outbox, OutMessage, Priority
from drivers.model import Measurement, Reading, Status
from simulators.mosquitto import MosquittoBroker
from tests.agent.test_forwarder import deliver
from tests.fakes import Subscriber
from tests.payload_schemas import problems

TS = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


class Link:
    """The link seen from the forwarder: connected, hands out message ids, records topic and body."""

    def __init__(self) -> None:
        self.connected = True
        self.sent: list[tuple[int, str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        self.sent.append((len(self.sent) + 1, topic, json.loads(payload)))
        return len(self.sent)

    def readings(self, after: int = 0) -> list[int]:
        """The `n` of every reading sent (singly or in a batch) after the first `after` messages."""
        found = []
        for _, _, body in self.sent[after:]:
            found += [r["n"] for r in body.get("readings", [body])]
        return found


def reading_message(device: str, n: int) -> OutMessage:
    body = {"schema": "doseedge.reading.v2", "device": device, "n": n}
    return OutMessage(f"reading/{device}", body, Priority.READING)


def station_envelope() -> dict[str, Any]:
    return envelope(BATCH_SCHEMA, TS, "site", "station")


def forwarder_for(outbox: Outbox, link: Link, window: int = 10, per_message: int = 5) -> Forwarder:
    return Forwarder(
        outbox, link, window=window, alarm_window=2, per_message=per_message, envelope=station_envelope
    )


def test_one_reading_per_message_without_a_backlog(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "o.sqlite"), Link()
    forwarder = forwarder_for(outbox, link)
    outbox.append([reading_message("d", n) for n in range(8)])  # 8 live, 8 slots for readings: they fit
    assert forwarder.pump() == 8
    assert [topic for _, topic, _ in link.sent] == ["reading/d"] * 8
    assert link.readings() == list(range(8)) and forwarder.batches == 0


def test_readings_of_one_device_are_packed_when_more_wait_than_the_window_takes(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "o.sqlite"), Link()
    forwarder = forwarder_for(outbox, link)
    outbox.append([reading_message(device, n) for n in range(30) for device in ("a", "b")])
    sent = forwarder.pump()
    assert sent == 8, "the window's room for readings, in messages"
    for _, topic, body in link.sent:
        device = topic.split("/")[1]
        assert topic == f"readings/{device}" and body["schema"] == BATCH_SCHEMA
        assert body["device"] == device and body["count"] == len(body["readings"]) <= 5
        assert {r["device"] for r in body["readings"]} == {device}, "one device per message"
        ns = [r["n"] for r in body["readings"]]
        assert ns == sorted(ns), "oldest first within a device"
    assert sorted(link.readings()) == sorted(list(range(20)) * 2), "the oldest 40, each once"
    assert forwarder.batches == 8 and forwarder.batched == 40 and forwarder.in_flight == 8


def test_never_packed_with_one_reading_per_message(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "o.sqlite"), Link()
    forwarder = forwarder_for(outbox, link, per_message=1)
    outbox.append([reading_message("d", n) for n in range(30)])
    assert forwarder.pump() == 8
    assert {topic for _, topic, _ in link.sent} == {"reading/d"} and link.readings() == list(range(8))


def test_an_acknowledged_batch_deletes_all_its_rows_and_only_them(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "o.sqlite"), Link()
    forwarder = forwarder_for(outbox, link)
    outbox.append([reading_message("d", n) for n in range(100)])
    forwarder.pump()
    first, second = link.sent[0], link.sent[1]
    deliver(forwarder, acks=(first[0], second[0]))
    forwarder.pump()
    assert forwarder.acknowledged == 10
    assert outbox.depth() == 90, "the two batches' rows deleted; the ones in flight kept"
    left = {json.loads(m.payload)["n"] for m in outbox.pending(1000)}
    assert left == set(range(100)) - {r["n"] for r in first[2]["readings"] + second[2]["readings"]}


def test_a_batch_in_flight_at_a_disconnect_is_sent_again(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "o.sqlite"), Link()
    forwarder = forwarder_for(outbox, link, window=4)
    outbox.append([reading_message("d", n) for n in range(12)])
    forwarder.pump()  # 2 slots for readings (alarm_window 2): two batches of 5
    assert link.readings() == list(range(10))
    deliver(forwarder, acks=(1,), states=(False, True))  # the second batch was never acknowledged
    forwarder.pump()
    assert outbox.depth() == 7
    assert link.readings(after=2) == [5, 6, 7, 8, 9, 10, 11], "the lost batch again, then the rest"
    deliver(forwarder, acks=tuple(mid for mid, _, _ in link.sent[2:]))
    forwarder.pump()
    assert outbox.depth() == 0, "at least once: nothing stored is lost"


def test_alarms_and_records_are_never_packed_and_go_first(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "o.sqlite"), Link()
    forwarder = forwarder_for(outbox, link)
    outbox.append([reading_message("d", n) for n in range(60)])
    outbox.append(
        [OutMessage("alarm", {"schema": "doseedge.alarm.v2", "n": n}, Priority.ALARM) for n in range(3)]
        + [OutMessage("record/x", {"schema": "doseedge.record.x.v2", "n": 0}, Priority.RECORD)]
    )
    forwarder.pump()
    topics = [topic for _, topic, _ in link.sent]
    assert topics[:4] == ["alarm", "alarm", "alarm", "record/x"], "alarms, then records, each alone"
    assert topics[4:] and all(topic == "readings/d" for topic in topics[4:])


def test_a_batch_of_real_reading_bodies_validates_against_its_schema(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "o.sqlite"), Link()
    forwarder = forwarder_for(outbox, link, window=3)
    base = envelope("doseedge.reading.v2", TS, "site", "station")
    reading = Reading(
        device="gen0", status=Status.OK, measurements=(Measurement("kvp", 70.0, "kV", 70.0, "kV"),)
    )
    outbox.append([OutMessage("reading/gen0", reading_body(base, reading, {}), Priority.READING)] * 7)
    forwarder.pump()
    (_, topic, body), *_ = link.sent
    assert topic == "readings/gen0" and body["count"] == 5
    assert problems(topic, body) == []
    assert problems(topic, {**body, "readings": [{**body["readings"][0], "seq": 0}] * 2}), "items are checked"
    assert problems(topic, {k: v for k, v in body.items() if k != "device"})


CONFIG = """
[station]
site = "s"
station_id = "room"

[mqtt]
port = {port}
topic_prefix = "t"
max_readings_per_message = 20

[store]
path = "{store}"
"""


@pytest.mark.broker
def test_a_backlog_drains_in_batches_through_a_real_broker(tmp_path: Path, broker: MosquittoBroker) -> None:
    """An outage's backlog, then a connection: every reading arrives (once or more), packed, in valid
    messages, and the store is empty."""
    store = tmp_path / "o.sqlite"
    outbox = Outbox(store)
    base = envelope("doseedge.reading.v2", TS, "s", "room")
    reading = Reading(
        device="gen0", status=Status.OK, measurements=(Measurement("kvp", 70.0, "kV", 70.0, "kV"),)
    )
    stored = outbox.append(
        [OutMessage("reading/gen0", reading_body(base, reading, {}), Priority.READING)] * 500
    )
    outbox.close()
    path = tmp_path / "station.toml"
    path.write_text(CONFIG.format(port=broker.port, store=store))
    agent = Agent(load_config(path))
    subscriber = Subscriber(broker.host, broker.port, "t/s/room/#", client_id="batch-drain")
    try:

        async def run() -> None:
            task = asyncio.create_task(agent.run(install_signals=False))
            while agent.outbox.depth() > 0 or agent.forwarder.in_flight:
                await asyncio.sleep(0.05)
            agent.request_stop()
            await task

        asyncio.run(asyncio.wait_for(run(), timeout=60))
        assert subscriber.wait_for(lambda s: len(_record_ids(s)) >= 500)
    finally:
        subscriber.close()
    assert _record_ids(subscriber) == {m.record_id for m in stored}, "every stored reading arrived"
    batches = [body for _, topic, body in subscriber.batches if topic.endswith("/readings/gen0")]
    assert batches and max(b["count"] for b in batches) == 20
    for body in batches:
        assert problems("readings/gen0", body) == []
    assert agent.forwarder.batched >= 400


def _record_ids(subscriber: Subscriber) -> set[str]:
    """Every reading's record_id: the test subscriber unpacks batches into `…/reading/<device>`."""
    return {b["record_id"] for b in subscriber.bodies("/reading/gen0")}
