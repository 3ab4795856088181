"""agent/heap.py: the start-up heap is frozen once per process, after a collection."""

from __future__ import annotations

import gc

from agent.heap import freeze_startup_heap


def test_the_startup_heap_is_frozen_once_per_process() -> None:
    frozen = freeze_startup_heap()  # an agent of an earlier test may have done it already
    assert frozen > 0 and 0 < gc.get_freeze_count() <= frozen  # frozen objects freed since leave it
    later = [[n] for n in range(1000)]  # made after the freeze: a second freeze would take them
    assert freeze_startup_heap() == frozen
    assert gc.get_freeze_count() < frozen + len(later), "frozen once, not again"
