"""Replay after an outage: alarms and records first, live readings never behind the backlog, bounded rate."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agent.link.forwarder import Forwarder
from agent.store.outbox import Outbox, OutMessage, Priority
from tests.fakes import FakeClock


class FakeLink:
    """The link seen from the forwarder: connected, hands out message ids, records what it got."""

    def __init__(self) -> None:
        self.connected = True
        self.sent: list[tuple[int, dict[str, object]]] = []

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        self.sent.append((len(self.sent) + 1, json.loads(payload)))
        return len(self.sent)


def deliver(forwarder: Forwarder, acks: tuple[int, ...] = (), states: tuple[bool, ...] = ()) -> None:
    """Hand PUBACKs and link state changes over as paho's thread does, through the event loop."""

    async def hand_over() -> None:
        loop = asyncio.get_running_loop()
        for mid in acks:
            forwarder.ack_from_thread(loop, mid)
        for up in states:
            forwarder.state_from_thread(loop, up)
        await asyncio.sleep(0.01)

    asyncio.run(hand_over())


def test_replay_is_rate_bounded_and_live_traffic_goes_first(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    backlog = [OutMessage("reading/d", {"kind": "backlog", "n": n}, Priority.READING) for n in range(500)]
    outbox.append(backlog)
    outbox.append([OutMessage("record/x", {"kind": "record", "n": 0}, Priority.RECORD)])
    clock, link = FakeClock(), FakeLink()
    forwarder = Forwarder(outbox, link, window=50, replay_max_msg_s=40.0, monotonic=clock.monotonic)
    outbox.append(
        [OutMessage("reading/d", {"kind": "live", "n": n}, Priority.READING) for n in range(3)]
        + [OutMessage("alarm", {"kind": "alarm", "n": 0}, Priority.ALARM)]
    )
    forwarder.pump()
    kinds = [body["kind"] for _, body in link.sent]
    assert kinds == ["alarm", "record", "live", "live", "live"], "no backlog before its budget"
    clock.advance(0.5)  # 20 backlog messages allowed at 40/s
    deliver(forwarder, acks=tuple(mid for mid, _ in link.sent))
    forwarder.pump()
    backlog = [body["n"] for _, body in link.sent if body["kind"] == "backlog"]
    assert backlog == list(range(20)), "backlog oldest first, at the bounded rate"
    assert outbox.depth() == 500 and forwarder.acknowledged == 5, "deleted on PUBACK only"
    outbox.append([OutMessage("reading/d", {"kind": "live", "n": 3}, Priority.READING)])
    forwarder.pump()
    assert link.sent[-1][1] == {**link.sent[-1][1], "kind": "live", "n": 3}, "live passes a waiting backlog"


def test_nothing_is_deleted_without_its_puback_and_a_disconnect_resends(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.append([OutMessage("alarm", {"n": n}, Priority.ALARM) for n in range(3)])
    link = FakeLink()
    forwarder = Forwarder(outbox, link, window=10)
    assert forwarder.pump() == 3 and outbox.depth() == 3
    deliver(forwarder, acks=(2,), states=(False, True))  # connection lost: mids 1 and 3 never acknowledged
    forwarder.pump()
    assert outbox.depth() == 2
    assert [body["n"] for _, body in link.sent[3:]] == [0, 2], "unacknowledged ones sent again"


def test_nothing_is_published_before_the_loop_learns_of_the_connect(tmp_path: Path) -> None:
    """paho sets `connected` on its thread before the forwarder's `_state(True)` runs on the loop;
    a pump in between used to publish the first stored message, then send it again after the reset."""
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.append([OutMessage("alarm", {"n": 1}, Priority.ALARM)])
    link = FakeLink()
    link.connected = False
    forwarder = Forwarder(outbox, link, window=10)
    link.connected = True  # CONNACK on paho's thread; the loop has not run _state(True) yet
    assert forwarder.pump() == 0
    deliver(forwarder, states=(True,))
    forwarder.pump()
    assert [body["n"] for _, body in link.sent] == [1], "sent once"


def test_pubacks_wake_the_loop_only_when_the_window_fills_and_are_taken_by_the_next_pump(
    tmp_path: Path,
) -> None:
    """Idle (window with room): a PUBACK wakes nobody and the next pump takes it. With the window
    at least half full, the loop takes the acknowledgements at once, so publishing never waits."""
    for window, woken in ((100, False), (8, True)):
        outbox = Outbox(tmp_path / f"o{window}.sqlite")
        clock = FakeClock()
        forwarder = Forwarder(outbox, FakeLink(), window=window, monotonic=clock.monotonic)
        deliver(forwarder, states=(True,))
        outbox.append([OutMessage(f"reading/gen{n}", {"n": n}, Priority.READING) for n in range(4)])
        clock.mono += 1.0
        assert forwarder.pump() == 4 and forwarder.in_flight == 4
        deliver(forwarder, acks=(1, 2, 3, 4))
        assert (forwarder.in_flight == 0) is woken
        forwarder.pump()
        assert forwarder.in_flight == 0 and forwarder.acknowledged == 4
        assert len(forwarder.latencies_s) == 4
        outbox.close()
