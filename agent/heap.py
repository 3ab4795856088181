"""The agent's start-up heap is moved out of the cyclic garbage collector's sight, once per process
(issue 17, docs/decisions.md §27).

Everything imported and built before monitoring starts (modules, classes, config, the profiles, paho)
lives as long as the process, yet every full collection walked all of it again: at ~20 000 readings/s
the collector ran ~3 full collections a second at ~19 ms each, ~7 % of a core. `gc.freeze()` once the
agent is set up leaves those objects to reference counting only; what is created afterwards (readings,
messages, rows) is collected as before. Once per process: a test run that starts many agents freezes
the first one's start-up, not every agent it ever made.
"""

from __future__ import annotations

__all__ = ["freeze_startup_heap"]

import gc

_frozen: list[int] = []  # the freeze count, once frozen


def freeze_startup_heap() -> int:
    """Freeze what exists now, the first time in this process; returns the objects frozen then."""
    if not _frozen:
        gc.collect()  # what is garbage already is freed, not kept forever
        gc.freeze()
        _frozen.append(gc.get_freeze_count())
    return _frozen[0]
