"""Moves messages from the outbox to the MQTT link and deletes them when the broker acknowledged them.

Runs on the agent's event loop. PUBACKs arrive on paho's thread and are handed over with
`call_soon_threadsafe`, so the in-flight map is only touched on the loop thread; a publish is
recorded in the map before the loop can process its acknowledgement.

Each window is filled (docs/store.md, "Replay"): alarms and records first, oldest first; then live
readings (committed since the last connect); then backlog readings at no more than
`replay_max_msg_s`, so a day of backlog never holds live traffic up.
"""

from __future__ import annotations

__all__ = ["Forwarder", "Link"]

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from agent.store.outbox import Outbox, Priority, StoredMessage

log = logging.getLogger(__name__)
URGENT = (Priority.ALARM, Priority.RECORD, Priority.RESULT)
READINGS = (Priority.READING,)


class Link(Protocol):
    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None: ...


class Forwarder:
    def __init__(
        self,
        outbox: Outbox,
        link: Link,
        window: int = 100,
        replay_max_msg_s: float = 10000.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.window = window
        self.replay_max_msg_s = replay_max_msg_s
        self._monotonic = monotonic
        self._in_flight: dict[int, tuple[int, float]] = {}  # mqtt mid -> (outbox row id, sent at)
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self._live_from = outbox.next_id()  # rows below this id are backlog
        self._tokens = 0.0
        self._refilled = monotonic()
        self.latencies_s: deque[float] = deque(maxlen=1000)
        self.published = 0
        self.acknowledged = 0
        self.replayed = 0

    # called from any thread
    def ack_from_thread(self, loop: asyncio.AbstractEventLoop, mid: int) -> None:
        loop.call_soon_threadsafe(self._ack, mid)

    def state_from_thread(self, loop: asyncio.AbstractEventLoop, up: bool) -> None:
        loop.call_soon_threadsafe(self._state, up)

    # loop thread
    def wake(self) -> None:
        self._wake.set()

    def _ack(self, mid: int) -> None:
        entry = self._in_flight.pop(mid, None)
        if entry is not None:
            row, sent = entry
            self.latencies_s.append(self._monotonic() - sent)
            self._acked.append(row)
            self._wake.set()

    def _state(self, up: bool) -> None:
        # After a disconnect nothing in flight is known to be delivered: send it again (at-least-once).
        self._in_flight.clear()
        if up:
            self._live_from = self.outbox.next_id()
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def latency(self) -> dict[str, Any]:
        """Publish → PUBACK over the last 1000 acknowledgements, in milliseconds."""
        if not self.latencies_s:
            return {"count": 0}
        ordered = sorted(self.latencies_s)
        return {
            "count": len(ordered),
            "p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
            "max_ms": round(ordered[-1] * 1000, 3),
        }

    def _replay_budget(self) -> int:
        now = self._monotonic()
        self._tokens = min(
            self.replay_max_msg_s, self._tokens + (now - self._refilled) * self.replay_max_msg_s
        )
        self._refilled = now
        return int(self._tokens)

    def _next_batch(self, room: int) -> list[StoredMessage]:
        busy = {row for row, _ in self._in_flight.values()}
        batch = self.outbox.pending(room, busy, priorities=URGENT)
        if len(batch) < room:
            batch += self.outbox.pending(room - len(batch), busy, priorities=READINGS, min_id=self._live_from)
        budget = min(room - len(batch), self._replay_budget())
        if budget > 0:
            backlog = self.outbox.pending(budget, busy, priorities=READINGS, below_id=self._live_from)
            self._tokens -= len(backlog)
            self.replayed += len(backlog)
            batch += backlog
        return batch

    def pump(self) -> int:
        """Delete what was acknowledged, then publish up to the window. Returns messages published."""
        if self._acked:
            acked, self._acked = self._acked, []
            self.outbox.delete(acked)
            self.acknowledged += len(acked)
        if not self.link.connected:
            return 0
        room = self.window - len(self._in_flight)
        if room <= 0:
            return 0
        sent = 0
        now = self._monotonic()
        for message in self._next_batch(room):
            mid = self.link.publish(message.topic, message.payload, message.qos, message.retain)
            if mid is None:
                break
            self._in_flight[mid] = (message.id, now)
            sent += 1
        self.published += sent
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = self.pump()
            except Exception:  # a failing disk must not stop publishing what is already stored
                log.exception("forwarder pump failed")
                sent = 0
            self._wake.clear()
            if sent and self.link.connected:
                await asyncio.sleep(0)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=0.05 if self._backlog_waiting() else 0.5)
            except TimeoutError:
                pass
        self.pump()

    def _backlog_waiting(self) -> bool:
        return self.link.connected and self._tokens < 1 and self._live_from > 1
