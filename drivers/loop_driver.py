"""A driver whose I/O runs on the agent's event loop instead of a worker thread per poll.

Most instruments sit on serial lines and their drivers block (pyserial): the poller runs each of
their polls in a worker thread (agent/poller.py). A network instrument whose protocol is
request/answer over a socket (Modbus TCP) can be read with non-blocking I/O on the loop itself: no
thread hand-off, no GIL hand-over, fewer wake-ups per poll — the agent's CPU at idle and at load
(docs/decisions.md §28). Same contract as `drivers.registry.Driver`, but `connect` and `poll` are
coroutines that never block the loop: every wait has a timeout inside the driver, and errors are
the error tree's. A loop driver takes no device actions (its registry entry has none).
"""

from __future__ import annotations

__all__ = ["LoopDriver"]

from abc import ABC, abstractmethod
from collections import Counter

from drivers.model import Reading


class LoopDriver(ABC):
    counters: Counter[str]

    @abstractmethod
    async def connect(self) -> dict[str, str]: ...

    @abstractmethod
    async def poll(self) -> Reading: ...

    @abstractmethod
    def close(self) -> None: ...
