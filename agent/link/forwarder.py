"""Moves messages from the outbox to the MQTT link and deletes them when the broker acknowledged them.

Runs on the agent's event loop. PUBACKs arrive on paho's thread and are handed over with
`call_soon_threadsafe`, so the in-flight map is only touched on the loop thread; a publish is
recorded in the map before the loop can process its acknowledgement.

Each window is filled (docs/store.md, "Replay"): alarms and records first, oldest first; then live
readings (committed since the last connect); then backlog readings at no more than
`replay_max_msg_s`, so a day of backlog never holds live traffic up. `alarm_window` slots of the window
are for alarms only, so an alarm never waits behind readings or records the broker does not answer.

Refused and unacknowledged messages (docs/store.md, "Refused and unacknowledged"): a message the broker
refuses (reason ≥ 0x80) leaves the queue for the outbox's counted dead-letter table and is reported
through `on_refused` (the agent raises `message_refused` once per topic); the oldest message in flight
unacknowledged for `ack_timeout_s` makes `on_stalled` force a reconnect. Nothing is published between a
connect and the loop learning about it (`_up`), so the first stored message is not sent twice.

Live readings from memory (docs/decisions.md §27): the agent hands every commit's stored rows to
`committed` once the commit returned, so live readings are taken from memory in id order instead of being
read back from the store: nothing uncommitted is ever handed over. The store stays the source of truth:
alarms, records and the backlog are read from it, and so are live readings after anything the memory may
not mirror (a failed commit or held messages, an eviction, a publish paho refused, more than
`LIVE_IN_MEMORY` rows waiting) — for the rest of that connection. A reconnect starts afresh: what was
live is backlog, replayed from the store.

Batches (agent/link/batches.py): when more readings wait than the window can take one by one, up to
`per_message` readings of one device go in one `readings/<device>` message; the in-flight map holds the
rows each message carries, and all of them are deleted on its PUBACK or sent again after a disconnect.
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

from agent.link.batches import BATCH_SCHEMA, Outgoing, pack, single
from agent.store.outbox import Outbox, Priority, StoredMessage
from core.errors import StoreError

log = logging.getLogger(__name__)
LIVE_IN_MEMORY = 10_000  # live readings waiting in memory at most (~6 MB); past it, read from the store
AFTER_ALARMS = (Priority.RECORD, Priority.RESULT)  # then command results (evicted first, sent with records)
READINGS = (Priority.READING,)
DELETE_LAG_S = 1.0  # acknowledged rows wait at most this long for a commit to delete them with, before
# the store writer deletes them in a transaction of their own (at idle: one a second, not one per PUBACK)


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
        *,
        alarm_window: int = 10,
        ack_timeout_s: float = 20.0,
        delete_every_s: float = 0.0,
        per_message: int = 1,
        envelope: Callable[[], dict[str, Any]] = lambda: {"schema": BATCH_SCHEMA},
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.window = window
        self.alarm_window = max(1, min(alarm_window, window // 2))
        self.ack_timeout_s = ack_timeout_s
        self.replay_max_msg_s = replay_max_msg_s
        self._monotonic = monotonic
        self._in_flight: dict[int, tuple[tuple[int, ...], float, int]] = {}  # mid -> (rows, sent, priority)
        self.per_message = per_message  # readings per message under a backlog (1: never packed)
        self._envelope = envelope  # the batch message's envelope (schema, ts, site, station)
        self._cursor = {"live": 0, "backlog": 0}  # reading rows below these were all handed out
        self._acked: list[int] = []
        self.delete_every_s = delete_every_s  # acknowledged rows deleted in one transaction per window
        self.hand_off_deletes: Callable[[], None] | None = None  # the store writer deletes them
        self._acked_since = 0.0
        self._refused: list[tuple[int, str]] = []  # (row id, broker's reason)
        self._up = link.connected  # the loop has processed the connect (link.connected is set earlier)
        self._stalled_at: float | None = None
        self.on_refused: Callable[[StoredMessage, str], None] = lambda message, reason: None
        self.on_stalled: Callable[[str], None] = lambda why: None
        self.refused = 0
        self.ack_timeouts = 0
        self._wake = asyncio.Event()
        self._live_from = outbox.next_id()  # rows below this id are backlog
        self._live: deque[StoredMessage] = deque()  # committed live readings not yet handed out, by id
        self._handed_over = False  # every commit comes through `committed` (`hand_over`)
        self._live_in_memory = False  # this connection: `_live` holds every live reading not handed out
        self._evictions = outbox.evictions
        self._live_published = 0  # rows at or above _live_from published on this connection
        outbox.last_id = max(outbox.last_id, self._live_from - 1)
        self._tokens = 0.0
        self._refilled = monotonic()
        self.latencies_s: deque[float] = deque(maxlen=1000)
        self._acks: deque[tuple[int, float]] = deque()  # (mid, when) noted on paho's thread
        self._acks_scheduled = False
        self.published = 0
        self.acknowledged = 0
        self.replayed = 0
        self.batches = 0  # messages carrying several readings
        self.batched = 0  # readings sent inside them

    # called from any thread
    def ack_from_thread(self, loop: asyncio.AbstractEventLoop, mid: int) -> None:
        """A PUBACK (paho's thread). Noted without waking the loop while the window has room: the
        next pump takes it (a commit or the run loop's timeout wakes the forwarder within 0.5 s; at
        idle the next poll tick's commit). With the window half full, the loop is woken once for
        all the acknowledgements that arrived meanwhile, so publishing never waits for room."""
        self._acks.append((mid, self._monotonic()))  # deque.append: safe from another thread
        if len(self._in_flight) >= self.window // 2 and not self._acks_scheduled:
            self._acks_scheduled = True
            loop.call_soon_threadsafe(self._acks_due)

    def state_from_thread(self, loop: asyncio.AbstractEventLoop, up: bool) -> None:
        loop.call_soon_threadsafe(self._state, up)

    def refused_from_thread(self, loop: asyncio.AbstractEventLoop, mid: int, reason: str) -> None:
        loop.call_soon_threadsafe(self._refuse, mid, reason)

    # loop thread
    def wake(self) -> None:
        self._wake.set()

    def hand_over(self) -> None:
        """From now on every commit's stored rows come through `committed` (the agent wires its
        pipeline to it): live readings are taken from memory from the next connect on."""
        self._handed_over = True

    def committed(self, stored: list[StoredMessage], failed: bool = False) -> None:
        """A commit returned (loop thread): its live readings join the memory, in id order. A failed
        commit (messages held by the outbox) turns the memory off until the next connect."""
        if failed:
            self._store_only()
            return
        if not self._live_in_memory:
            return
        live_from = self._live_from
        self._live.extend(m for m in stored if m.priority == Priority.READING and m.id >= live_from)
        if len(self._live) > LIVE_IN_MEMORY:
            self._store_only()

    def _store_only(self) -> None:
        """Live readings are read from the store for the rest of this connection, from the first one
        not handed out (`_cursor`)."""
        self._live_in_memory = False
        self._live.clear()

    def _acks_due(self) -> None:
        self._take_acks()
        self._wake.set()

    def _take_acks(self) -> None:
        """Apply the PUBACKs paho's thread noted, in arrival order."""
        self._acks_scheduled = False
        acks = self._acks
        while acks:
            mid, at = acks.popleft()
            entry = self._in_flight.pop(mid, None)
            if entry is not None:
                rows, sent, _ = entry
                self.latencies_s.append(at - sent)
                self._acked.extend(rows)
                self._stalled_at = None

    def _refuse(self, mid: int, reason: str) -> None:
        entry = self._in_flight.pop(mid, None)
        if entry is not None:
            self._refused.extend((row, reason) for row in entry[0])
            self._wake.set()

    def _state(self, up: bool) -> None:
        self._take_acks()  # acknowledged before the change: delivered
        # After a disconnect nothing in flight is known to be delivered: send it again (at-least-once).
        self._in_flight.clear()
        self._cursor = {"live": 0, "backlog": 0}  # what was in flight is pending again
        self._up = up
        self._stalled_at = None
        self._store_only()
        if up:
            self._live_from = self.outbox.next_id()
            self._live_published = 0
            self._live_in_memory = self._handed_over and not self.outbox.held
            self._evictions = self.outbox.evictions
        self._wake.set()

    def unpublished(self) -> int:
        """Live rows committed and not yet published while the broker is up (0 while it is down:
        then everything is buffered by design): rows committed since the connection came up, less the rows
        published since (a batch counts each of its readings; rows are numbered without gaps)."""
        if not (self._up and self.link.connected):
            return 0
        return max(0, self.outbox.last_id - (self._live_from - 1) - self._live_published)

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

    def _next_batch(self, room: int) -> list[Outgoing]:
        busy = {row for entry in self._in_flight.values() for row in entry[0]} | set(self._acked)
        busy |= {row for row, _ in self._refused}
        batch = [single(m) for m in self.outbox.pending(room, busy, priorities=(Priority.ALARM,))]
        others = sum(1 for entry in self._in_flight.values() if entry[2] != Priority.ALARM)
        room = min(room, len(batch) + max(0, self.window - self.alarm_window - others))
        if len(batch) < room:
            batch += [
                single(m) for m in self.outbox.pending(room - len(batch), busy, priorities=AFTER_ALARMS)
            ]
        if len(batch) < room:
            batch += self._readings("live", room - len(batch), busy)
        budget = min(room - len(batch), self._replay_budget())
        if budget > 0:
            backlog = self._readings("backlog", budget, busy)
            self._tokens -= len(backlog)
            self.replayed += sum(len(out.rows) for out in backlog)
            batch += backlog
        return batch

    def _readings(self, kind: str, slots: int, busy: set[int]) -> list[Outgoing]:
        """Up to `slots` messages of live (committed since the connect) or backlog readings, packed when
        more wait than fit one by one. Rows below the cursor were all handed out since the connect, so
        the query starts there instead of skipping a window of batches in flight row by row."""
        live = kind == "live"
        if live and self._live_in_memory:
            if not self.outbox.held and self.outbox.evictions == self._evictions:
                return self._live_readings(slots)
            self._store_only()
        start = max(self._cursor[kind], self._live_from if live else 0)
        fetched = self.outbox.pending(
            slots * max(1, self.per_message),
            busy,
            priorities=READINGS,
            min_id=start,
            below_id=None if live else self._live_from,
        )
        out = pack(fetched, slots, self.per_message, self._envelope)
        sent = {row for message in out for row in message.rows}
        left = [m.id for m in fetched if m.id not in sent and m.id > 0]
        stored = [m.id for m in fetched if m.id > 0]
        if stored:
            self._cursor[kind] = min(left) if left else max(stored) + 1
        return out

    def _live_readings(self, slots: int) -> list[Outgoing]:
        """`_readings("live", …)` from memory: the same messages, without reading the rows back."""
        live = self._live
        fetched = [live.popleft() for _ in range(min(len(live), slots * max(1, self.per_message)))]
        out = pack(fetched, slots, self.per_message, self._envelope)
        if sum(len(message.rows) for message in out) < len(fetched):  # some left for the next window
            sent = {row for message in out for row in message.rows}
            left = [m for m in fetched if m.id not in sent]
            live.extendleft(reversed(left))
            if left:
                self._cursor["live"] = left[0].id
                return out
        if fetched:
            self._cursor["live"] = fetched[-1].id + 1
        return out

    def _delete_due(self, force: bool) -> bool:
        return bool(self._acked) and (force or self.delete_every_s <= 0)

    def pump(self, force_delete: bool = False) -> int:
        """Delete what was acknowledged (every `delete_every_s`; meanwhile not sent again), then
        publish up to the window. Returns messages published."""
        self._take_acks()
        if self._acked and (self.delete_every_s > 0 or self.hand_off_deletes is not None):
            # deleted with the next commit (write budget; the store writer's next commit)
            if not self.outbox.deferred:
                self._acked_since = self._monotonic()
            self.outbox.defer_delete(self._acked)
            self.acknowledged += len(self._acked)
            self._acked = []
        if self.outbox.deferred and (
            force_delete
            or self._monotonic() - self._acked_since >= max(2 * self.delete_every_s, DELETE_LAG_S)
        ):
            if self.hand_off_deletes is not None and not force_delete:
                self.hand_off_deletes()  # the store writer's thread deletes them (agent/store/writer.py)
            else:
                self._delete_deferred()
        if self._delete_due(force_delete):
            try:  # a store that refuses the delete keeps the ids here: not sent again meanwhile
                self.outbox.delete(self._acked)
                self.acknowledged += len(self._acked)
                self._acked = []
            except StoreError as exc:
                log.debug("delete of acknowledged rows deferred: %s", exc)
        if self._refused:
            try:
                self._dead_letter()
            except StoreError as exc:
                log.debug("dead-lettering deferred: %s", exc)
        if not (self._up and self.link.connected):
            return 0
        self._check_stalled()
        room = self.window - len(self._in_flight)
        if room <= 0:
            return 0
        sent = 0
        now = self._monotonic()
        for message in self._next_batch(room):
            mid = self.link.publish(message.topic, message.payload, message.qos, message.retain)
            if mid is None:
                self._cursor = {"live": 0, "backlog": 0}  # not handed out after all
                self._store_only()  # the rest of this batch is in the store, not in memory any more
                break
            self._in_flight[mid] = (message.rows, now, message.priority)
            self._live_published += sum(1 for row in message.rows if row >= self._live_from)
            sent += 1
            if len(message.rows) > 1:
                self.batches += 1
                self.batched += len(message.rows)
        self.published += sent
        return sent

    def _delete_deferred(self) -> None:
        try:  # no commit came to take them: their own transaction
            self.outbox.delete(list(self.outbox.deferred))
        except StoreError as exc:
            log.debug("delete of acknowledged rows deferred: %s", exc)

    def _dead_letter(self) -> None:
        reasons = dict(self._refused)
        moved = self.outbox.dead_letter(reasons)
        self._refused = []
        for message in moved:
            self.refused += 1
            try:
                self.on_refused(message, reasons[message.id])
            except Exception:
                log.exception("on_refused failed")

    def _check_stalled(self) -> None:
        """No acknowledgement for `ack_timeout_s` on a live connection: force a reconnect (once per
        timeout), since keep-alive can take minutes to notice a link that swallows replies."""
        if not self._in_flight:
            return
        now = self._monotonic()
        oldest = min(sent for _, sent, _ in self._in_flight.values())
        since = max(oldest, self._stalled_at or oldest)
        if now - since >= self.ack_timeout_s:
            self._stalled_at = now
            self.ack_timeouts += 1
            why = f"{len(self._in_flight)} messages unacknowledged for {now - oldest:.0f} s"
            try:
                self.on_stalled(why)
            except Exception:
                log.exception("on_stalled failed")

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = self.pump()
            except Exception:  # a failing disk must not stop publishing what is already stored
                log.exception("forwarder pump failed")
                sent = 0
            self._wake.clear()
            if sent and self._up and self.link.connected:
                await asyncio.sleep(0)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=0.05 if self._backlog_waiting() else 0.5)
            except TimeoutError:
                pass
        self.pump(force_delete=True)

    def _backlog_waiting(self) -> bool:
        return self._up and self.link.connected and self._tokens < 1 and self._live_from > 1
