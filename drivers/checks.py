"""Config checks every polled driver shares: poll interval, reply timeout, loss count, profile.

Each driver's `validate()` adds its own checks (baud rates, chambers, factor codes) around these;
the ranges differ per instrument and are passed in, the wording is the same everywhere.
"""

from __future__ import annotations

__all__ = ["polling_problems", "profile_problems"]

from collections.abc import Callable
from typing import Protocol

from core.errors import ConfigError


class Polled(Protocol):
    @property
    def poll_interval_s(self) -> float: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def lost_after_failures(self) -> int: ...


def polling_problems(
    config: Polled,
    poll_interval_s: tuple[float, float] = (0.05, 60),
    timeout_s: tuple[float, float] = (0.05, 10),
) -> list[tuple[str, str]]:
    """`poll_interval_s` and `timeout_s` within their (low, high) ranges; `lost_after_failures` ≥ 1."""
    problems: list[tuple[str, str]] = []
    for key, value, (low, high) in (
        ("poll_interval_s", config.poll_interval_s, poll_interval_s),
        ("timeout_s", config.timeout_s, timeout_s),
    ):
        if not low <= value <= high:
            problems.append((key, f"must be between {low:g} and {high:g}"))
    if config.lost_after_failures < 1:
        problems.append(("lost_after_failures", "must be at least 1"))
    return problems


def profile_problems(load: Callable[[], object]) -> list[tuple[str, str]]:
    """A profile that does not load is a check-config problem on `profile`, not a crash at start."""
    try:
        load()
    except ConfigError as exc:
        return [("profile", f"{exc.source}: {p}") for p in exc.problems]
    return []
