"""Counting work instead of timing it: `work_budget(n)` counts the Python lines executed (sys.settrace)
inside the block and raises `WorkBudgetExceeded` past `n` — so a loop that would run for ever (or for
seconds) in proportion to a measured value fails the test at once, on any machine, without a clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class WorkBudgetExceeded(BaseException):
    """A BaseException, so the pipeline's `except Exception` (a monitor's bug) cannot swallow it."""


class Work:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.lines = 0

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.lines += 1
            if self.lines > self.budget:
                raise WorkBudgetExceeded(f"more than {self.budget} lines executed")
        return self._trace


@contextmanager
def work_budget(budget: int) -> Iterator[Work]:
    work = Work(budget)
    previous = sys.gettrace()
    sys.settrace(work._trace)
    try:
        yield work
    finally:
        sys.settrace(previous)
