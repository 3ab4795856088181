"""Brokers that refuse, freeze or swallow acknowledgements (issue 12, findings 1, 2 and 8), through a
real Mosquitto: with an ACL file, stopped with SIGSTOP, and behind a proxy that passes CONNACK and then
drops every acknowledgement."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.store.messages import OutMessage, Priority
from simulators.mosquitto import MosquittoBroker
from simulators.mqtt_proxy import AckSwallowingProxy
from tests.chaos.linkrig import ROOT, LinkRig, wait
from tests.fakes import Subscriber

pytestmark = pytest.mark.broker


def readings(n: int) -> list[OutMessage]:
    return [OutMessage("reading/dap1", {"n": i}, Priority.READING) for i in range(n)]


def test_a_topic_the_broker_refuses_is_dead_lettered_and_never_blocks_an_alarm(tmp_path: Path) -> None:
    with MosquittoBroker(acl=f"topic deny {ROOT}/reading/#\ntopic readwrite #\n") as broker:
        watcher = Subscriber(broker.host, broker.port, f"{ROOT}/#")
        rig = LinkRig(tmp_path / "o.sqlite", broker.port)
        rig.start()
        try:
            assert wait(lambda: rig.link.connected)
            rig.append(readings(60))  # three windows' worth of readings the ACL refuses
            assert wait(lambda: rig.forwarder.refused >= 20)
            rig.append([OutMessage("alarm", {"type": "fluoro_dose_rate", "n": 1}, Priority.ALARM)])
            assert watcher.wait_for(
                lambda w: any(b.get("type") == "fluoro_dose_rate" for b in w.bodies("/alarm"))
            )
            assert wait(lambda: rig.forwarder.refused == 60 and rig.depth() == 0), "all refused moved out"
            refused = [b for b in watcher.bodies("/alarm") if b.get("type") == "message_refused"]
            assert len(refused) == 1 and refused[0]["topic"] == "reading/dap1", "alarmed once per topic"
            assert "authorized" in refused[0]["reason"].lower()
            assert rig.outbox.stats()["dead_lettered"] == 60
            assert rig.link.reconnects == 0
        finally:
            rig.close()
            watcher.close()


def test_no_acknowledgement_on_a_live_connection_forces_a_reconnect(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    proxy = AckSwallowingProxy(broker.host, broker.port)
    watcher = Subscriber(broker.host, broker.port, f"{ROOT}/alarm")
    rig = LinkRig(tmp_path / "o.sqlite", proxy.port, keepalive_s=600, ack_timeout_s=20.0)
    rig.start()
    try:
        assert wait(lambda: rig.link.connected and rig.forwarder.in_flight == 0)
        proxy.swallow()
        rig.append([OutMessage("alarm", {"type": "a", "n": 1}, Priority.ALARM)])
        assert wait(lambda: rig.forwarder.in_flight == 1)
        rig.clock.advance(21.0)  # past ack_timeout_s, in fake time
        assert wait(lambda: rig.forwarder.ack_timeouts == 1 and rig.link.kicks == 1)
        proxy.heal()
        assert wait(lambda: rig.depth() == 0), "acknowledged after the forced reconnect"
        assert proxy.connections >= 2
    finally:
        rig.close()
        proxy.close()
        watcher.close()


def test_a_frozen_broker_is_left_after_the_ack_deadline(tmp_path: Path, broker: MosquittoBroker) -> None:
    rig = LinkRig(tmp_path / "o.sqlite", broker.port, keepalive_s=600, ack_timeout_s=20.0)
    rig.start()
    try:
        assert wait(lambda: rig.link.connected)
        broker.freeze()
        rig.append([OutMessage("alarm", {"type": "a", "n": 1}, Priority.ALARM)])
        assert wait(lambda: rig.forwarder.in_flight == 1)
        rig.clock.advance(21.0)
        assert wait(lambda: rig.link.kicks == 1 and not rig.link.connected)
        broker.thaw()
        assert wait(lambda: rig.depth() == 0)
    finally:
        broker.thaw()
        rig.close()


def test_back_off_grows_over_connections_that_do_not_stay_healthy(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    rig = LinkRig(tmp_path / "o.sqlite", broker.port, healthy_after_s=3600.0)
    rig.start()
    try:
        for n in range(1, 4):
            assert wait(lambda: rig.link.connected)
            rig.link.kick("test: connection dropped right after CONNACK")
            assert wait(lambda n=n: rig.link.kicks == n and rig.link.reconnects == n)
        assert rig.link.attempt == 3, "each short-lived connection doubles the next delay"
    finally:
        rig.close()


def test_alarms_have_their_own_slots_in_flight(tmp_path: Path, broker: MosquittoBroker) -> None:
    """Readings the broker holds unacknowledged fill their share of the window, never the alarms'."""
    proxy = AckSwallowingProxy(broker.host, broker.port)
    watcher = Subscriber(broker.host, broker.port, f"{ROOT}/alarm")
    rig = LinkRig(tmp_path / "o.sqlite", proxy.port, keepalive_s=600)
    rig.start()
    try:
        assert wait(lambda: rig.link.connected and rig.forwarder.in_flight == 0)
        proxy.swallow()
        rig.append(readings(100))
        assert wait(lambda: rig.forwarder.in_flight == 16), "20 − 4 alarm slots"
        rig.append([OutMessage("alarm", {"type": "a", "n": 1}, Priority.ALARM)])
        assert watcher.wait_for(lambda w: len(w.bodies("/alarm")) == 1)
    finally:
        rig.close()
        proxy.close()
        watcher.close()
