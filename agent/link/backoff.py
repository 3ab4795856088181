"""Reconnect back-off: exponential with jitter, so a room full of boxes does not reconnect in step."""

from __future__ import annotations

__all__ = ["backoff_s"]

from collections.abc import Callable


def backoff_s(attempt: int, min_s: float, max_s: float, rand: Callable[[], float]) -> float:
    """Delay before reconnect `attempt` (0-based): min·2^attempt capped at max, scaled by 0.5–1.0.

    `rand` returns a float in [0, 1) (random.random in the agent, a fixed value in tests).
    """
    ceiling = min(max_s, min_s * 2.0 ** min(attempt, 62))
    return max(min_s * 0.5, ceiling * (0.5 + 0.5 * rand()))
