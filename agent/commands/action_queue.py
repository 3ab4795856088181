"""A device's queue of actions (cmd/device_command → drivers/actions.py), between two threads.

The loop thread submits; the device's poller thread takes one action at a time at the start of a
step, between polls, runs it and files the outcome; back on the loop thread `settle()` hands each
outcome to its `on_done` (which publishes the result and the record). An action the device has
not taken by its deadline, or still queued when the device is lost or the agent stops, finishes
with an error: nothing waits for ever.
"""

from __future__ import annotations

__all__ = ["ActionOutcome", "ActionQueue", "QueuedAction"]

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import CommandError
from drivers.actions import DeviceAction

MAX_QUEUED = 8  # per device: more is a runaway client, not an operator


@dataclass(frozen=True)
class QueuedAction:
    command_id: str
    device: str
    action: DeviceAction
    args: dict[str, Any]
    by: str
    deadline_mono: float  # the device must take it before this monotonic time
    on_done: Callable[[ActionOutcome], None]
    channel: str = "mqtt"  # with `by`: the authenticated sender and how the command came in


@dataclass(frozen=True)
class ActionOutcome:
    job: QueuedAction
    ok: bool
    at: datetime  # when it ran on the device, or when it was given up
    executed: bool  # it reached the device (then it is recorded), whatever the result
    data: dict[str, Any]
    error: str = ""


class ActionQueue:
    def __init__(self, limit: int = MAX_QUEUED) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._pending: deque[QueuedAction] = deque()
        self._done: deque[ActionOutcome] = deque()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def submit(self, job: QueuedAction) -> None:
        with self._lock:
            if len(self._pending) >= self.limit:
                raise CommandError(f"device {job.device} already has {self.limit} actions queued")
            self._pending.append(job)

    def take(self, now_mono: float, wall: datetime) -> QueuedAction | None:
        """Poller thread: the next action still in time (late ones finish as timed out)."""
        self.expire(now_mono, wall)
        with self._lock:
            return self._pending.popleft() if self._pending else None

    def finish(self, outcome: ActionOutcome) -> None:
        with self._lock:
            self._done.append(outcome)

    def expire(self, now_mono: float, wall: datetime) -> None:
        with self._lock:
            late = [job for job in self._pending if job.deadline_mono < now_mono]
            for job in late:
                self._pending.remove(job)
                error = f"device {job.device} did not take the action in time (still polling or retrying)"
                self._done.append(ActionOutcome(job, False, wall, False, {}, error))

    def fail_all(self, reason: str, wall: datetime) -> None:
        """Every queued action finishes with `reason` (device lost, agent stopping)."""
        with self._lock:
            while self._pending:
                self._done.append(ActionOutcome(self._pending.popleft(), False, wall, False, {}, reason))

    def settle(self) -> None:
        """Loop thread: hand finished outcomes to their owners."""
        while True:
            with self._lock:
                if not self._done:
                    return
                outcome = self._done.popleft()
            outcome.job.on_done(outcome)
