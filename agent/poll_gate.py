"""The hand-over between a device's poll thread and the event loop (issue 17, idle cost).

Each device polls on one long-lived thread of its own (agent/poller.py), not on a worker thread
borrowed per poll (`asyncio.to_thread`): a borrowed thread cost an executor hand-off, a future chained
back to the loop and a loop timer for the pacing, three wake-ups of the loop per poll. Now the loop
wakes once per poll (the reading handed over), and the thread sleeps out the pacing itself.

The loop stays in charge of every poll: the thread runs a step only on a *grant*, one grant per
poll, given by the loop once the previous reading is handled and the admission (the `admit` hook,
back-pressure) has let the next poll through. The grant carries the pacing: the poll starts `wait_s`
after it, or at once when a device action was queued (`kick`). `halt` ends the thread's wait for
good (the agent stops).
"""

from __future__ import annotations

__all__ = ["PollGate"]

import threading
import time


class PollGate:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._granted = False
        self._start_at = 0.0  # time.monotonic() before which a granted poll waits (pacing)
        self._kicked = False  # an action is queued: the granted poll starts without waiting
        self.halted = False
        self.grants = 0  # polls granted, and polls started (the thread's side): for tests and health
        self.started = 0

    def grant(self, wait_s: float) -> None:
        """Loop thread: the next poll may start `wait_s` from now."""
        with self._cond:
            self._granted = True
            self._start_at = time.monotonic() + wait_s
            self.grants += 1
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

    def wait_turn(self) -> bool:
        """Poll thread: block until a granted poll may start (True), or the gate is halted (False).
        Each grant lets exactly one poll through."""
        with self._cond:
            while not self.halted:
                if self._granted:
                    left = self._start_at - time.monotonic()
                    if self._kicked or left <= 0:
                        self._granted = self._kicked = False
                        self.started += 1
                        return True
                    self._cond.wait(left)
                else:
                    self._cond.wait()
            return False
