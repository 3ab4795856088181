"""Who may act from the page: a login checked against the operators' keyring, kept as a session.

Viewing needs nothing. Acknowledging an alarm or entering a preparation context needs a login with
the same roles as the command path (agent/commands/). The keyring is anything with
`check_secret(sender_id, secret)` returning the sender (an object with `.id` and `.role`) or None;
the agent's own keyring is wired in agent/app.py, a test passes a fake.

A session is a random id in an HttpOnly, SameSite=Strict cookie plus a CSRF token the page sends in
a header with every action; it ends after `session_idle_timeout_s` without an action, after
`session_max_age_s` in any case, on logout, or when `max_sessions` newer ones push it out. Failed
logins are counted; beyond `login_failures_per_minute` every login is refused until the minute ends.
"""

from __future__ import annotations

__all__ = ["Keyring", "LoginLimiter", "Sender", "Session", "SessionBook", "role_name"]

import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol


class Sender(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def role(self) -> Any: ...


class Keyring(Protocol):
    def check_secret(self, sender_id: str, secret: str) -> Sender | None: ...


def role_name(role: Any) -> str:
    """`Role.OPERATOR` (an enum) or "operator": the role's name as the page shows it."""
    return str(getattr(role, "value", role))


@dataclass(frozen=True)
class Session:
    session_id: str
    csrf_token: str
    sender: Sender
    started_t: float  # monotonic
    last_used_t: float


class SessionBook:
    def __init__(
        self, monotonic: Callable[[], float], idle_timeout_s: float, max_age_s: float, max_sessions: int
    ) -> None:
        self.monotonic = monotonic
        self.idle_timeout_s = idle_timeout_s
        self.max_age_s = max_age_s
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, sender: Sender) -> Session:
        now = self.monotonic()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), sender, now, now)
        self._sessions[session.session_id] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value, or None (unknown, idle too long, too old)."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.monotonic()
        if now - session.last_used_t > self.idle_timeout_s or now - session.started_t > self.max_age_s:
            del self._sessions[session_id]
            return None
        return session

    def authorise(self, session_id: str | None, csrf_token: str | None) -> Session | None:
        """The session behind an action: a live session whose CSRF token matches; refreshes it."""
        session = self.get(session_id)
        if session is None or not csrf_token or not hmac.compare_digest(session.csrf_token, csrf_token):
            return None
        session = replace(session, last_used_t=self.monotonic())
        self._sessions[session.session_id] = session
        return session

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)


class LoginLimiter:
    """At most `per_minute` failed logins in each minute (monotonic), all senders together: a
    guessing page is slowed to a crawl and counted; a real operator waits out the minute."""

    def __init__(self, monotonic: Callable[[], float], per_minute: int) -> None:
        self.monotonic = monotonic
        self.per_minute = per_minute
        self._window_start = monotonic()
        self._failures = 0

    def _roll(self) -> None:
        now = self.monotonic()
        if now - self._window_start >= 60.0:
            self._window_start, self._failures = now, 0

    def blocked(self) -> bool:
        self._roll()
        return self._failures >= self.per_minute

    def failed(self) -> None:
        self._roll()
        self._failures += 1
