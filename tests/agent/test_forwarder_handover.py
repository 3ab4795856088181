"""Live readings handed to the forwarder in memory (issue 17; agent/link/forwarder.py `committed`,
docs/decisions.md §27): published in order, each exactly once, only once its commit returned (a second
connection sees the row when it is published), from the store again after a reconnect, and from the store
for the rest of a connection after anything the memory may not mirror (a failed commit, an eviction, a
publish paho refused, too many rows waiting)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.config import StoreConfig
from agent.link import forwarder as forwarder_module
from agent.link.forwarder import Forwarder
from agent.store.outbox import Outbox, OutMessage, Priority, StoredMessage
from tests.agent.test_forwarder import deliver
from tests.agent.test_forwarder_batches import station_envelope


class CheckingLink:
    """The link seen from the forwarder. At every publish it looks each carried reading up through a
    second SQLite connection, which sees committed rows only; `refuse_next` makes paho refuse one."""

    def __init__(self, path: Path) -> None:
        self.connected = True
        self.sent: list[dict[str, Any]] = []
        self.uncommitted: list[int] = []
        self.refuse_next = False
        self._db = sqlite3.connect(path)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        if self.refuse_next:
            self.refuse_next = False
            return None
        body = json.loads(payload)
        self.sent.append(body)
        for reading in body.get("readings", [body]):
            if self._db.execute("SELECT 1 FROM outbox WHERE seq=?", (reading["seq"],)).fetchone() is None:
                self.uncommitted.append(reading["seq"])
        return len(self.sent)

    def readings(self) -> list[int]:
        return [r["n"] for body in self.sent for r in body.get("readings", [body])]


def readings(start: int, count: int, devices: tuple[str, ...] = ("a", "b")) -> list[OutMessage]:
    return [
        OutMessage(
            f"reading/{devices[n % len(devices)]}",
            {"schema": "doseedge.reading.v2", "n": n},
            Priority.READING,
        )
        for n in range(start, start + count)
        for d in [devices[n % len(devices)]]
    ]


def handed_over(outbox: Outbox, link: CheckingLink, window: int = 10, per_message: int = 5) -> Forwarder:
    forwarder = Forwarder(outbox, link, window=window, alarm_window=2, per_message=per_message,
                          envelope=station_envelope)  # fmt: skip
    forwarder.hand_over()
    deliver(forwarder, states=(True,))  # the connect: memory from here on
    return forwarder


def commit(outbox: Outbox, forwarder: Forwarder, messages: list[OutMessage]) -> list[StoredMessage]:
    """What the pipeline does: append, then hand what was stored to the forwarder."""
    stored = outbox.append(messages)
    forwarder.committed(stored)
    return stored


def drain(forwarder: Forwarder, link: CheckingLink, rounds: int = 50) -> None:
    """Pump and acknowledge everything sent, until two pumps in a row send nothing."""
    idle = 0
    for _ in range(rounds):
        before = len(link.sent)
        forwarder.pump()
        deliver(forwarder, acks=tuple(range(before + 1, len(link.sent) + 1)))
        idle = idle + 1 if len(link.sent) == before else 0
        if idle == 2:
            return


def test_live_readings_from_memory_are_published_in_order_once_and_committed(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    link = CheckingLink(tmp_path / "o.sqlite")
    forwarder = handed_over(outbox, link)
    commit(outbox, forwarder, readings(0, 4))
    drain(forwarder, link)
    commit(outbox, forwarder, readings(4, 60, ("a", "b", "c")))  # packed, some left for the next window
    commit(outbox, forwarder, [OutMessage("alarm", {"schema": "x", "n": -1}, Priority.ALARM)])
    drain(forwarder, link)
    assert link.readings()[:4] == [0, 1, 2, 3]
    assert sorted(n for n in link.readings() if n >= 0) == list(range(64)), "each once"
    for device in ("a", "b", "c"):
        mine = [r["n"] for b in link.sent for r in b.get("readings", [b]) if r.get("device") == device]
        assert mine == sorted(mine), "each device's readings in order"
    assert link.uncommitted == [] and forwarder.batches > 0
    assert outbox.depth() == 0 and forwarder.acknowledged == 65


def test_a_reading_is_published_only_once_its_commit_is_handed_over(tmp_path: Path) -> None:
    """Rows in the store whose commit has not reached the loop yet are not taken: memory, not the store,
    is what live readings are published from; they go once handed over."""
    outbox = Outbox(tmp_path / "o.sqlite")
    link = CheckingLink(tmp_path / "o.sqlite")
    forwarder = handed_over(outbox, link)
    commit(outbox, forwarder, readings(0, 3))
    stored = outbox.append(readings(3, 3))  # committed; its result still on its way to the loop
    forwarder.pump()
    assert link.readings() == [0, 1, 2]
    forwarder.committed(stored)
    forwarder.pump()
    assert link.readings() == [0, 1, 2, 3, 4, 5] and link.uncommitted == []


def test_after_a_reconnect_what_was_live_is_replayed_from_the_store(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    link = CheckingLink(tmp_path / "o.sqlite")
    forwarder = handed_over(outbox, link, window=4, per_message=1)
    commit(outbox, forwarder, readings(0, 10))
    forwarder.pump()  # 0–1 in flight (2 alarm slots of 4), 2–9 waiting in memory
    assert link.readings() == [0, 1]
    deliver(forwarder, states=(False,))
    commit(outbox, forwarder, readings(10, 2))  # committed while down: not live
    late = outbox.append(readings(12, 2))  # committed before the connect, handed over after it
    deliver(forwarder, states=(True,))
    forwarder.committed(late)
    commit(outbox, forwarder, readings(14, 2))  # live on the new connection
    drain(forwarder, link)
    assert link.readings()[2:4] == [14, 15], "live first"
    assert link.readings()[4:] == list(range(14)), "then the backlog, from the store, in order, once"
    assert outbox.depth() == 0 and link.uncommitted == []


@pytest.mark.parametrize("event", ["failed_commit", "eviction", "refused_publish", "too_many"])
def test_anything_memory_may_not_mirror_sends_live_readings_back_to_the_store(
    tmp_path: Path, event: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = StoreConfig(path=str(tmp_path / "o.sqlite"))
    outbox = Outbox(tmp_path / "o.sqlite", config)
    link = CheckingLink(tmp_path / "o.sqlite")
    forwarder = handed_over(outbox, link, window=4, per_message=1)
    commit(outbox, forwarder, readings(0, 6))
    if event == "failed_commit":
        forwarder.committed([], failed=True)
    elif event == "eviction":
        outbox.evictions += 1  # as agent/store/store_alarms.py counts a transaction that evicted
    elif event == "refused_publish":
        link.refuse_next = True
    else:
        monkeypatch.setattr(forwarder_module, "LIVE_IN_MEMORY", 7)
        commit(outbox, forwarder, readings(6, 2))  # 8 waiting in memory: over the bound
    outbox.append(readings(100, 2))  # committed, never handed over: only the store knows them
    drain(forwarder, link)
    expected = [*range(8 if event == "too_many" else 6), 100, 101]
    assert sorted(link.readings()) == expected, "each once, none lost"
    assert link.readings() == expected, "in order"
    assert outbox.depth() == 0 and link.uncommitted == []
