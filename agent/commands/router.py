"""Commands, routed to registered handlers once it is known who sent them and that their role may.

Two ways in, one way through (`_run`):
- `dispatch_signed`: `<root>/cmd/<name>` over MQTT, signed by a sender of the station's keyring
  (agent/commands/auth.py) — channel "mqtt";
- `dispatch_local`: a channel that authenticated the person itself (the web page's login, the room's
  acknowledge button) — no signature, the same role check and rate limit.
Handlers see the authenticated sender id as `args["by"]` and the channel as `args["channel"]`:
whatever free text a sender put there is replaced, and both go into every record the command makes.

Every command gets an answer (`ok`, and `error` or the handler's data; `refused` names the reason
of a refusal), except beyond a sender's rate limit: there the first refusal is answered and the rest
only counted, so a flood cannot fill the store. Echoed fields are bounded.
"""

from __future__ import annotations

__all__ = ["CommandRouter", "Handler"]

import logging
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from agent.clock import Clock
from agent.commands.auth import AuthConfig, Keyring, Refusal, Sender, parse_json
from agent.commands.roles import RateLimiter, may_run
from core.errors import CommandError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
MAX_PAYLOAD = 64 * 1024
MAX_DEPTH = 8  # a command is a flat object with, at most, a list of points or an args table
MAX_STRING = 1000
MAX_KEY = 64
MAX_ERROR = 300
_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_COMMAND_ID = re.compile(r"^[\x20-\x7e]{1,128}$")
UNAUTHENTICATED = "(unauthenticated)"
_LIMITED = Refusal(
    "rate_limited", "too many commands from this sender: slow down (further ones are not answered)"
)


def _check_shape(args: dict[str, Any]) -> None:
    """Bounded depth, keys and strings: nothing echoed or stored can be made arbitrarily large."""
    stack: list[tuple[Any, int]] = [(args, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Refusal("malformed", f"arguments nested deeper than {MAX_DEPTH}")
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise Refusal("malformed", f"a string is longer than {MAX_STRING} characters")
        if isinstance(value, dict):
            if any(len(key) > MAX_KEY for key in value):
                raise Refusal("malformed", f"a key is longer than {MAX_KEY} characters")
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]


def _claimed_id(payload: bytes) -> str | None:
    """The command_id a refused command claims (plain or inside a signed envelope's body), echoed
    only when well formed, so a sender can match the refusal to what it sent."""
    try:
        found = parse_json(payload, "payload") if len(payload) <= MAX_PAYLOAD else None
        if isinstance(found, dict) and isinstance(found.get("body"), str):
            found = parse_json(found["body"], "body")
    except Refusal:
        return None
    command_id = found.get("command_id") if isinstance(found, dict) else None
    return command_id if isinstance(command_id, str) and _COMMAND_ID.match(command_id) else None


class CommandRouter:
    def __init__(self, clock: Clock, keyring: Keyring | None = None) -> None:
        self.clock = clock
        self.keyring = keyring or Keyring(AuthConfig())
        config = self.keyring.config
        self.limiter = RateLimiter(config.rate_per_min, config.rate_burst)
        self._handlers: dict[str, Handler] = {"ping": lambda args: {"pong": True}}
        self.counters: Counter[str] = Counter()

    def register(self, name: str, handler: Handler) -> None:
        if name in self._handlers:
            raise ValueError(f"command {name!r} registered twice")
        self._handlers[name] = handler

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)

    def dispatch_signed(self, name: str, payload: bytes, topic: str, retained: bool) -> dict[str, Any] | None:
        """The MQTT path; None when the answer is dropped (rate limit already announced)."""
        shown = name if _NAME.match(name) else name[:64]
        try:
            if not _NAME.match(name):
                raise Refusal("malformed", "command name must be 1–64 of a-z, 0-9, '_'")
            if len(payload) > MAX_PAYLOAD:
                raise Refusal("malformed", f"payload larger than {MAX_PAYLOAD} bytes")
            sender, args = self.keyring.verify(topic, payload, retained, self.clock.wall().timestamp())
        except Refusal as exc:
            verdict = self._admit(UNAUTHENTICATED, shown)
            if verdict == "drop":
                return None
            if verdict == "refuse":
                return self._refused(shown, _claimed_id(payload), None, "mqtt", _LIMITED)
            return self._refused(shown, _claimed_id(payload), None, "mqtt", exc)
        verdict = self._admit(sender.id, name)
        if verdict == "drop":
            return None
        if verdict == "refuse":
            return self._refused(name, _claimed_id(payload), sender, "mqtt", _LIMITED)
        return self._run(name, args, sender, "mqtt")

    def dispatch_local(self, name: str, args: dict[str, Any], sender: Sender, channel: str) -> dict[str, Any]:
        """A channel that authenticated `sender` itself (web login, room button): role check applies;
        beyond the rate limit every command is answered (the channel is not a broker to flood)."""
        if self._admit(sender.id, name) != "ok":
            return self._refused(name[:64], None, sender, channel, _LIMITED)
        return self._run(name, args, sender, channel)

    def _admit(self, key: str, name: str) -> str:
        """The rate limiter's verdict: ok, refuse (answer once), drop (count only)."""
        verdict = self.limiter.take(key, self.clock.monotonic())
        if verdict != "ok":
            self.counters["rate_limited"] += 1
        if verdict == "refuse":
            log.warning("commands from %s rate limited (%s); further ones only counted", key, name)
        return verdict

    def _run(self, name: str, args: dict[str, Any], sender: Sender, channel: str) -> dict[str, Any]:
        command_id = args.get("command_id")
        try:
            if command_id is not None and not (isinstance(command_id, str) and _COMMAND_ID.match(command_id)):
                command_id = None  # never echoed
                raise Refusal("malformed", "command_id must be 1–128 printable ASCII characters")
            _check_shape(args)
            handler = self._handlers.get(name)
            if handler is None:
                raise CommandError(f"unknown command {name!r} (known: {', '.join(self.names)})")
            if not may_run(sender.role, name):
                raise Refusal("role", f"{sender.id} ({sender.role}) may not run {name}")
            data = handler({**args, "by": sender.id, "channel": channel})
        except Refusal as exc:
            return self._refused(name, command_id, sender, channel, exc)
        except CommandError as exc:
            return self._answer(name, command_id, sender, channel, False, {"error": str(exc)[:MAX_ERROR]})
        except Exception as exc:  # a handler bug: answered and logged, never a dead loop
            log.exception("command %s failed", name)
            error = f"internal error ({type(exc).__name__}); nothing was changed by this command"
            return self._answer(name, command_id, sender, channel, False, {"error": error})
        return self._answer(name, command_id, sender, channel, True, data)

    def _refused(
        self, name: str, command_id: Any, sender: Sender | None, channel: str, exc: Refusal
    ) -> dict[str, Any]:
        self.counters[f"refused_{exc.code}"] += 1
        return self._answer(
            name, command_id, sender, channel, False, {"error": str(exc), "refused": exc.code}
        )

    def _answer(
        self, name: str, command_id: Any, sender: Sender | None, channel: str, ok: bool, data: dict[str, Any]
    ) -> dict[str, Any]:
        self.counters["accepted" if ok else "rejected"] += 1
        if not ok:
            log.warning(
                "command %s from %s refused: %s", name, sender.id if sender else "?", data.get("error")
            )
        by = sender.id if sender else None
        return {"command": name, "command_id": command_id, "ok": ok, "by": by, "channel": channel, **data}
