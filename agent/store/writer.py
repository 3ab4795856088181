"""The store writer: the one thread that commits to the outbox, so no disk flush runs on the event
loop (issue 17; spec: docs/store.md "Who commits").

The loop hands each batch (messages + state rows) to `submit` and goes on. The thread takes
*everything* queued since its last commit and writes it in one transaction: group commit across
devices and poll cycles, so commits per second follow how fast the disk answers, not how many
readings arrive. An alarm, a record or a command result is never delayed by readings: it rides in
the very next commit (they are all in one transaction, alarms first), and a batch that holds one is
fsynced (`readings_only` false). When the box cannot keep up, the queue is bounded: past
`max_queued` messages the oldest *readings* are shed and counted (`shed`), never an alarm or a
record — the backlog in memory stays bounded and what matters still goes first.

`stop()` commits what is queued, then returns: nothing is lost on a clean stop.
"""

from __future__ import annotations

__all__ = ["Committed", "StoreWriter"]

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.store.messages import OutMessage, Priority, StoredMessage
from agent.store.outbox import Outbox
from core.errors import StoreError

log = logging.getLogger(__name__)
MAX_QUEUED = 20_000  # messages waiting for the writer; past it, the oldest readings are shed
LINGER_S = 0.005  # readings alone wait this long for the rest of their poll tick to share the commit


@dataclass
class _Job:
    messages: list[OutMessage]
    state: dict[str, str]
    readings_only: bool
    revision: int


@dataclass
class Committed:
    """What one commit wrote (or failed to): handed back to the loop thread."""

    state: dict[str, str] = field(default_factory=dict)
    messages: int = 0
    revision: int = -1  # the alarm book's revision the state rows were built from
    error: StoreError | None = None
    stored: list[StoredMessage] = field(default_factory=list)  # as committed: handed to the forwarder


class StoreWriter:
    def __init__(
        self,
        outbox: Outbox,
        on_commit: Callable[[Committed], None],
        max_queued: int = MAX_QUEUED,
        linger_s: float = LINGER_S,
    ) -> None:
        self.outbox = outbox
        self.on_commit = on_commit  # called on the writer thread: hand it to the loop yourself
        self.max_queued = max_queued
        self.linger_s = linger_s  # readings only; an alarm, a record or a result never waits
        self.commits = 0
        self.shed = 0  # readings dropped because the writer could not keep up (counted, health)
        self._jobs: deque[_Job] = deque()
        self._queued = 0
        self._delete_wanted = False
        self._urgent = False  # something queued that is not a reading: commit at once
        self._stopping = False
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def queued(self) -> int:
        with self._ready:
            return self._queued

    def submit(
        self, messages: list[OutMessage], state: dict[str, str], readings_only: bool, revision: int = -1
    ) -> None:
        with self._ready:
            self._jobs.append(_Job(messages, state, readings_only, revision))
            self._queued += len(messages)
            if not self._urgent and any(m.priority != Priority.READING for m in messages):
                self._urgent = True
            if self._queued > self.max_queued:
                self._shed()
            self._ready.notify()

    def delete_acknowledged(self) -> None:
        """Acknowledged rows waiting in `outbox.deferred`: delete them if no commit comes soon."""
        with self._ready:
            self._delete_wanted = True
            self._ready.notify()

    def _shed(self) -> None:
        """Drop the oldest queued readings until the queue fits (alarms and records are kept)."""
        excess = self._queued - self.max_queued
        for job in self._jobs:
            if excess <= 0:
                break
            kept = []
            for message in job.messages:
                if excess > 0 and message.priority == Priority.READING:
                    excess -= 1
                    self.shed += 1
                    self._queued -= 1
                else:
                    kept.append(message)
            job.messages = kept

    def stop(self) -> None:
        """Commit what is queued, then end the thread (a clean stop loses nothing)."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._commit_queued()  # never started, or submitted while joining

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._jobs and not self._delete_wanted and not self._stopping:
                    self._ready.wait()
                if self._stopping and not self._jobs and not self._delete_wanted:
                    return
                self._linger()
            self._commit_queued()

    def _linger(self) -> None:
        """Readings alone wait up to `linger_s` for the other devices of their poll tick (polls are
        aligned on the interval's grid, agent/poller.py): one commit for the tick, not one per
        device. Anything urgent, a full queue or a stop ends the wait at once. Holds `_ready`."""
        if self.linger_s <= 0 or not self._jobs:
            return
        deadline = time.monotonic() + self.linger_s
        while not (self._urgent or self._stopping or self._queued >= self.max_queued // 4):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._ready.wait(remaining)

    def _take(self) -> tuple[list[_Job], bool]:
        with self._ready:
            jobs, self._jobs = list(self._jobs), deque()
            self._queued = 0
            self._urgent = False
            delete, self._delete_wanted = self._delete_wanted, False
        return jobs, delete

    def _commit_queued(self) -> None:
        jobs, delete = self._take()
        if not jobs:
            if delete and self.outbox.deferred:
                try:
                    self.outbox.delete(list(self.outbox.deferred))
                except StoreError as exc:
                    log.debug("delete of acknowledged rows deferred: %s", exc)
            return
        messages = [m for job in jobs for m in job.messages]
        messages.sort(key=lambda m: m.priority)  # stable: alarms first, order kept within a priority
        state: dict[str, str] = {}
        for job in jobs:
            state.update(job.state)  # the latest row of each key wins
        readings_only = all(job.readings_only for job in jobs)
        result = Committed(state, len(messages), max(job.revision for job in jobs))
        try:
            result.stored = self.outbox.append(messages, state=state, readings_only=readings_only)
            self.commits += 1
        except StoreError as exc:  # the outbox holds the messages itself (agent/store/held.py)
            result.error = exc
        except Exception as exc:  # a bug must not kill the only writer silently
            log.exception("store writer failed")
            result.error = StoreError(f"store writer failed: {exc}")
        self.on_commit(result)
