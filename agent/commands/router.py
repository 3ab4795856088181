"""Commands arriving on `<root>/cmd/<name>` (JSON objects), routed to registered handlers.

Commands only arrive through the hospital's own broker (its ACLs decide who may publish there):
doseedge opens no port of its own. Every command gets a result on `<root>/cmd_result/<name>`;
a malformed or refused command is counted and answered with the reason, never raised.
"""

from __future__ import annotations

__all__ = ["CommandRouter", "Handler"]

import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from core.errors import CommandError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
MAX_PAYLOAD = 64 * 1024


class CommandRouter:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {"ping": lambda args: {"pong": True}}
        self.counters: Counter[str] = Counter()

    def register(self, name: str, handler: Handler) -> None:
        if name in self._handlers:
            raise ValueError(f"command {name!r} registered twice")
        self._handlers[name] = handler

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)

    def dispatch(self, name: str, payload: bytes) -> dict[str, Any]:
        """Run one command; always returns a result body (`ok`, and `error` or the handler's data)."""
        command_id: Any = None
        try:
            if len(payload) > MAX_PAYLOAD:
                raise CommandError(f"payload larger than {MAX_PAYLOAD} bytes")
            try:
                args = json.loads(payload or b"{}")
            except (ValueError, UnicodeDecodeError) as exc:
                raise CommandError(f"payload is not JSON: {exc}") from exc
            if not isinstance(args, dict):
                raise CommandError("payload must be a JSON object")
            command_id = args.get("command_id")
            handler = self._handlers.get(name)
            if handler is None:
                raise CommandError(f"unknown command {name!r} (known: {', '.join(self.names)})")
            data = handler(args)
            self.counters["accepted"] += 1
            return {"command": name, "command_id": command_id, "ok": True, **data}
        except CommandError as exc:
            self.counters["rejected"] += 1
            log.warning("command %s rejected: %s", name, exc)
            return {"command": name, "command_id": command_id, "ok": False, "error": str(exc)}
