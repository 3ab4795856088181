"""The store writer (issue 17): commits leave the event loop, everything queued shares one
transaction, and overload is graceful — with more readings than the store can take, alarms are
still published first and the backlog in memory stays bounded. Counted, never timed: the writer is
held inside a commit by an event until the test has offered everything."""

from __future__ import annotations

import threading
from pathlib import Path

from agent.link.forwarder import DELETE_LAG_S, Forwarder
from agent.store.messages import OutMessage, Priority, StoredMessage
from agent.store.outbox import Outbox
from agent.store.writer import Committed, StoreWriter
from tests.agent.test_forwarder import FakeLink, deliver
from tests.fakes import FakeClock


class SlowDisk(Outbox):
    """An outbox whose first commit does not return until the test opens the gate: the disk
    cannot keep up while the test offers readings."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.entered, self.gate = threading.Event(), threading.Event()
        self.commits: list[list[int]] = []  # priorities per commit

    def append(
        self, messages: list[OutMessage], state: dict[str, str] | None = None, *, readings_only: bool = False
    ) -> list[StoredMessage]:
        self.commits.append([int(m.priority) for m in messages])
        self.entered.set()
        assert self.gate.wait(timeout=30), "test gate never opened"
        return super().append(messages, state=state, readings_only=readings_only)


def reading(n: int) -> OutMessage:
    return OutMessage("reading/gen0", {"n": n}, Priority.READING)


def test_overload_keeps_alarms_first_and_the_backlog_bounded(tmp_path: Path) -> None:
    outbox = SlowDisk(tmp_path / "o.sqlite")
    done: list[Committed] = []
    writer = StoreWriter(outbox, done.append, max_queued=100)
    writer.start()
    writer.submit([reading(-1)], {}, readings_only=True)
    assert outbox.entered.wait(timeout=30)  # the writer is inside a commit the disk does not finish
    offered = 0
    for cycle in range(50):  # 50 poll cycles of 10 devices: 5× what the queue holds
        writer.submit([reading(offered + i) for i in range(10)], {}, readings_only=True)
        offered += 10
        assert writer.queued() <= 100  # bounded however long the disk stalls
        if cycle == 40:
            alarm = OutMessage("alarm", {"alarm_type": "rate_high"}, Priority.ALARM)
            record = OutMessage("record/event", {"kind": "irradiation_event"}, Priority.RECORD)
            writer.submit([alarm, record], {"alarms": "{}"}, readings_only=False, revision=7)
    outbox.gate.set()
    writer.stop()  # a clean stop commits what is queued

    assert writer.shed == offered + 2 - 100  # every dropped reading counted; alarm and record kept
    assert outbox.commits[1][:2] == [int(Priority.ALARM), int(Priority.RECORD)]  # alarm first in its commit
    assert len(outbox.commits) == 2  # one commit for 50 cycles: flushes follow the disk, not readings
    assert done[-1].revision == 7 and done[-1].state == {"alarms": "{}"} and done[-1].error is None
    assert outbox.depth() == 1 + 100  # the first reading, then what the bound kept

    link = FakeLink()
    forwarder = Forwarder(outbox, link, window=5)
    deliver(forwarder, states=(True,))
    forwarder.pump()
    assert link.sent[0][1]["alarm_type"] == "rate_high"  # published first despite the backlog
    assert link.sent[1][1]["kind"] == "irradiation_event"
    outbox.close()


def test_clean_stop_commits_what_was_queued(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    done: list[Committed] = []
    writer = StoreWriter(outbox, done.append)  # never started: stop() still commits
    for n in range(3):
        writer.submit([reading(n)], {"procedure": f'{{"n": {n}}}'}, readings_only=True)
    writer.stop()
    assert outbox.depth() == 3
    assert outbox.load_state() == {"procedure": '{"n": 2}'}  # the latest row of each key
    assert [d.messages for d in done] == [3] and writer.shed == 0
    outbox.close()


def test_deletes_handed_to_the_writer_leave_the_loop(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.append([reading(n) for n in range(4)])
    writer = StoreWriter(outbox, lambda _: None)
    link = FakeLink()
    clock = FakeClock()
    forwarder = Forwarder(outbox, link, window=10, monotonic=clock.monotonic)
    handed: list[int] = []
    forwarder.hand_off_deletes = lambda: (handed.append(1), writer.delete_acknowledged())
    deliver(forwarder, states=(True,))
    clock.mono += 1.0  # the replay budget refills
    assert forwarder.pump() == 4
    deliver(forwarder, acks=(1, 2, 3, 4))
    forwarder.pump()
    assert not handed  # they wait up to DELETE_LAG_S for a commit to ride in (none comes here)
    clock.mono += DELETE_LAG_S
    forwarder.pump()
    assert handed == [1]
    assert outbox.depth() == 4 and len(outbox.deferred) == 4  # not deleted on the loop
    writer.start()
    writer.stop()
    assert outbox.depth() == 0 and not outbox.deferred
    outbox.close()


def alarm() -> OutMessage:
    return OutMessage("alarm/dose_rate", {"state": "raised"}, Priority.ALARM)


def test_readings_of_one_tick_share_a_commit_and_an_alarm_ends_the_wait_at_once(tmp_path: Path) -> None:
    """With a linger far longer than the test: two readings wait together; the alarm that follows
    is committed with them at once (the event fires long before the linger would end)."""
    outbox = Outbox(tmp_path / "o.sqlite")
    done: list[Committed] = []
    committed = threading.Event()
    writer = StoreWriter(outbox, lambda c: (done.append(c), committed.set()), linger_s=600.0)
    writer.start()
    writer.submit([reading(1)], {}, readings_only=False)
    writer.submit([reading(2)], {}, readings_only=False)
    assert not committed.wait(timeout=0.2)  # readings alone: still waiting for the rest of the tick
    writer.submit([alarm()], {}, readings_only=False)
    assert committed.wait(timeout=30), "the alarm waited for the readings' linger"
    writer.stop()
    assert [c.messages for c in done] == [3]
    assert [m.priority for m in outbox.pending(10, set())] == [
        Priority.ALARM,
        Priority.READING,
        Priority.READING,
    ]
    outbox.close()


def test_a_stop_ends_the_readings_wait_and_commits_them(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    done: list[Committed] = []
    writer = StoreWriter(outbox, done.append, linger_s=600.0)
    writer.start()
    writer.submit([reading(1)], {}, readings_only=True)
    writer.submit([reading(2)], {}, readings_only=True)
    writer.stop()
    assert [c.messages for c in done] == [2] and outbox.depth() == 2
    outbox.close()
