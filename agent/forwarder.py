"""Moves messages from the outbox to the MQTT link and deletes them when the broker acknowledged them.

Runs on the agent's event loop. PUBACKs arrive on paho's thread and are handed over with
`call_soon_threadsafe`, so the in-flight map is only touched on the loop thread; a publish is
recorded in the map before the loop can process its acknowledgement.
"""

from __future__ import annotations

__all__ = ["Forwarder", "Link"]

import asyncio
import logging
from typing import Protocol

from agent.outbox import Outbox

log = logging.getLogger(__name__)


class Link(Protocol):
    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None: ...


class Forwarder:
    def __init__(self, outbox: Outbox, link: Link, window: int = 100) -> None:
        self.outbox = outbox
        self.link = link
        self.window = window
        self._in_flight: dict[int, int] = {}  # mqtt mid -> outbox row id
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self.published = 0
        self.acknowledged = 0

    # called from any thread
    def ack_from_thread(self, loop: asyncio.AbstractEventLoop, mid: int) -> None:
        loop.call_soon_threadsafe(self._ack, mid)

    def state_from_thread(self, loop: asyncio.AbstractEventLoop, up: bool) -> None:
        loop.call_soon_threadsafe(self._state, up)

    # loop thread
    def wake(self) -> None:
        self._wake.set()

    def _ack(self, mid: int) -> None:
        row = self._in_flight.pop(mid, None)
        if row is not None:
            self._acked.append(row)
            self._wake.set()

    def _state(self, up: bool) -> None:
        # After a disconnect nothing in flight is known to be delivered: send it again (at-least-once).
        self._in_flight.clear()
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

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
        for message in self.outbox.pending(room, exclude=set(self._in_flight.values())):
            mid = self.link.publish(message.topic, message.payload, message.qos, message.retain)
            if mid is None:
                break
            self._in_flight[mid] = message.id
            sent += 1
        self.published += sent
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.pump()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=0.5)
            except TimeoutError:
                pass
        self.pump()
