"""Which role may run which command: the one table (docs/security.md repeats it), and per-sender rate limits.

A physicist may run everything an operator may. A command missing from the table is refused for
everybody (tests/agent/test_command_auth.py checks every registered command is listed).
"""

from __future__ import annotations

__all__ = ["REQUIRED_ROLE", "RateLimiter", "may_run"]

from agent.commands.auth import Role

REQUIRED_ROLE: dict[str, Role] = {
    # read-only or the daily work at the table and the bench
    "ping": Role.OPERATOR,
    "alarm_ack": Role.OPERATOR,
    "procedure_open": Role.OPERATOR,
    "procedure_close": Role.OPERATOR,
    "hotlab_context": Role.OPERATOR,
    "hotlab_discharge": Role.OPERATOR,
    "hotlab_eluate": Role.OPERATOR,
    # what changes a measurement, its calibration or its reference
    "device_command": Role.PHYSICIST,  # reset, units, baud rate, zero: the meter's own settings
    "hotlab_qc": Role.PHYSICIST,
    "hotlab_source": Role.PHYSICIST,
}
_RANK = {Role.OPERATOR: 1, Role.PHYSICIST: 2}


def may_run(role: Role, command: str) -> bool:
    required = REQUIRED_ROLE.get(command)
    return required is not None and _RANK[role] >= _RANK[required]


class RateLimiter:
    """A token bucket per sender (and one shared by everything unauthenticated), on the monotonic clock."""

    def __init__(self, per_min: float, burst: int) -> None:
        self.rate_s = per_min / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._told: set[str] = set()  # keys already answered "rate limited" since they ran dry

    def take(self, key: str, now_mono: float) -> str:
        """ "ok"; "refuse" (answer once that the sender is limited); or "drop" (count only)."""
        tokens, at = self._buckets.get(key, (self.burst, now_mono))
        tokens = min(self.burst, tokens + max(0.0, now_mono - at) * self.rate_s)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now_mono)
            self._told.discard(key)
            return "ok"
        self._buckets[key] = (tokens, now_mono)
        if key in self._told:
            return "drop"
        self._told.add(key)
        return "refuse"
