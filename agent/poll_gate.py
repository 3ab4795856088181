"""The hand-over between a device's poll thread and the event loop (issue 17, idle cost).

Each device polls on one long-lived thread of its own (agent/poller.py), not on a worker thread
borrowed per poll (`asyncio.to_thread`): a borrowed thread cost an executor hand-off, a future chained
back to the loop and a loop timer for the pacing, three wake-ups of the loop per poll. Now the loop
wakes once per poll (the reading handed over), and the thread sleeps out the pacing itself.

The loop stays in charge of every poll: the thread runs a step only on a *grant*, one grant per
poll, given by the loop once the previous reading is handled and the admission (the `admit` hook,
back-pressure) has let the next poll through. The grant carries the pacing: the poll starts `wait_s`
after it, or at once when a device action was queued (`kick`). `halt` ends the thread's wait for
good (the agent stops). Wake-ups are what an idle agent pays for (~50 µs of CPU each on the build
machine, whatever the work): the thread sleeps until the earliest the next poll can be due (one
interval after the last began), and the grant, given meanwhile, does not wake it again.
"""

from __future__ import annotations

__all__ = ["PollGate"]

import math
import threading
import time

SLACK_S = 0.001  # a granted poll due within this starts now: one wake-up, not a second one to wait it out


class PollGate:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._granted = False
        self._start_at = 0.0  # time.monotonic() before which a granted poll waits (pacing)
        self._kicked = False  # an action is queued: the granted poll starts without waiting
        self._asleep_until: float | None = None  # the poll thread's wait (inf: until notified)
        self.halted = False
        self.grants = 0  # polls granted, and polls started (the thread's side): for tests and health
        self.started = 0

    def grant(self, wait_s: float) -> None:
        """Loop thread: the next poll may start `wait_s` from now. The poll thread is woken only if
        it would otherwise sleep past that: usually it is already asleep until about then (it knows
        the least a poll interval can be), so a grant costs no wake-up of its own."""
        with self._cond:
            self._granted = True
            self._start_at = time.monotonic() + wait_s
            self.grants += 1
            if self._asleep_until is not None and self._asleep_until > self._start_at + SLACK_S:
                self._cond.notify()

    def kick(self) -> None:
        """Loop thread: an action is queued; the granted poll (now or the next one) starts at once."""
        with self._cond:
            self._kicked = True
            self._cond.notify()

    def halt(self) -> None:
        """Any thread: no poll starts from now on; the thread's wait returns False."""
        with self._cond:
            self.halted = True
            self._cond.notify()

    def wait_turn(self, not_before: float = 0.0) -> bool:
        """Poll thread: block until a granted poll may start (True), or the gate is halted (False).
        Each grant lets exactly one poll through. `not_before` (time.monotonic()) is the thread's own
        lower bound for the next start: it sleeps until then without waiting for the grant's wake-up."""
        with self._cond:
            while not self.halted:
                now = time.monotonic()
                if self._granted and (self._kicked or self._start_at - now <= SLACK_S):
                    self._granted = self._kicked = False
                    self.started += 1
                    return True
                if self._granted:
                    until = self._start_at
                elif not self._kicked and now < not_before:
                    until = not_before
                else:
                    until = math.inf  # the grant (or a halt) wakes it
                self._asleep_until = until
                try:
                    self._cond.wait(None if until == math.inf else until - now)
                finally:
                    self._asleep_until = None
            return False
