"""`[web]`: the operator view's address, its push rhythm and its login sessions (docs/web.md).

Off unless enabled; loopback unless a kiosk address is configured. The page is only a view of the
agent's state: turning it off changes no dose evaluation.
"""

from __future__ import annotations

__all__ = ["WebConfig"]

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = False
    host: str = "127.0.0.1"  # loopback; an interface address (or 0.0.0.0) for a kiosk screen
    port: int = 8080  # 0 = any free port (tests)
    push_interval_s: float = 1.0  # a snapshot at least this often: it is also the page's heartbeat
    stale_after_s: float = 4.0  # the page says MONITOR DOWN when nothing arrived for this long
    trend_minutes: float = 5.0  # length of the dose-rate plot
    session_idle_timeout_s: float = 600.0  # a login ends after this long without an action
    session_max_age_s: float = 8 * 3600.0  # … and after this long in any case (one shift)
    max_sessions: int = 8  # the oldest login is ended beyond this
    max_stream_clients: int = 16  # open pages at once
    login_failures_per_minute: int = 10  # beyond this, logins are refused for the rest of the minute

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if self.host != "localhost":
            try:
                ipaddress.ip_address(self.host)
            except ValueError:
                problems.append(("host", "must be an IP address of this box (or localhost)"))
        if not 0 <= self.port <= 65535:
            problems.append(("port", "must be 0–65535"))
        if not 0.2 <= self.push_interval_s <= 10:
            problems.append(("push_interval_s", "must be 0.2–10"))
        if not 2 * self.push_interval_s <= self.stale_after_s <= 60:
            problems.append(("stale_after_s", "must be ≥ 2 × push_interval_s and ≤ 60"))
        if not 1 <= self.trend_minutes <= 60:
            problems.append(("trend_minutes", "must be 1–60"))
        if not 30 <= self.session_idle_timeout_s <= self.session_max_age_s <= 24 * 3600:
            problems.append(
                ("session_idle_timeout_s", "need 30 ≤ session_idle_timeout_s ≤ session_max_age_s ≤ 86400")
            )
        if not 1 <= self.max_sessions <= 100:
            problems.append(("max_sessions", "must be 1–100"))
        if not 1 <= self.max_stream_clients <= 100:
            problems.append(("max_stream_clients", "must be 1–100"))
        if not 1 <= self.login_failures_per_minute <= 1000:
            problems.append(("login_failures_per_minute", "must be 1–1000"))
        return problems
