"""Messages held in memory while the store refuses writes (disk full, read-only, I/O errors).

They are numbered like stored ones (the `seq` high-water mark on disk already covers them, see
agent/store/seqmark.py) and get negative row ids, so the forwarder publishes them — above all the
`store_failing` alarm and every dose alarm — while the disk is full; an acknowledged one is simply
forgotten. When the store writes again, what is left is committed with the same `seq` and `record_id`.
Bounded by MAX_HELD: readings go first, then records, never an alarm (counted). A message that arrives
when the reserved seqs are used up waits unnumbered (and unpublished) until the mark can be extended.
"""

from __future__ import annotations

__all__ = ["MAX_HELD", "Held"]

import itertools
from collections.abc import Callable

from agent.store.messages import OutMessage, Priority, StoredMessage

MAX_HELD = 10_000


class Held:
    def __init__(self) -> None:
        self.numbered: dict[int, StoredMessage] = {}  # negative id → message
        self.unnumbered: list[OutMessage] = []
        self.dropped = 0
        self._ids = itertools.count(-1, -1)

    def __len__(self) -> int:
        return len(self.numbered) + len(self.unnumbered)

    def hold(
        self, messages: list[OutMessage], number: Callable[[OutMessage, int], StoredMessage | None]
    ) -> None:
        """Number what the reserved seqs allow (`number` returns None when they are used up)."""
        waiting, self.unnumbered = self.unnumbered + messages, []
        for message in waiting:
            stored = number(message, next(self._ids)) if not self.unnumbered else None
            if stored is None:
                self.unnumbered.append(message)
            else:
                self.numbered[stored.id] = stored
        self._trim()

    def pending(self, priorities: tuple[int, ...], exclude: set[int]) -> list[StoredMessage]:
        return sorted(
            (m for i, m in self.numbered.items() if m.priority in priorities and i not in exclude),
            key=lambda m: (m.priority, -m.id),
        )

    def forget(self, ids: list[int]) -> list[int]:
        """Drop acknowledged held messages; return the ids that are not held ones (rows on disk)."""
        for i in ids:
            self.numbered.pop(i, None)
        return [i for i in ids if i > 0]

    def take(self) -> tuple[list[StoredMessage], list[OutMessage]]:
        numbered, unnumbered = sorted(self.numbered.values(), key=lambda m: -m.id), self.unnumbered
        self.numbered, self.unnumbered = {}, []
        return numbered, unnumbered

    def _trim(self) -> None:
        excess = len(self) - MAX_HELD
        for priority in (Priority.RESULT, Priority.READING, Priority.RECORD):  # never an alarm
            for i in sorted((i for i, m in self.numbered.items() if m.priority == priority), reverse=True):
                if excess <= 0:
                    return
                del self.numbered[i]
                self.dropped += 1
                excess -= 1
