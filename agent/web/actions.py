"""The one door from the page into the command path: `submit_action`.

The page can do two things, each an existing command with its own checks (agent/fluoro/commands.py,
agent/hotlab/context.py): acknowledge an alarm (`alarm_ack`) and enter the preparation context of
a hot-lab station (`hotlab_context`). The authenticated sender is written into the command (`by` or
`operator`: whatever the page sent there is overwritten) and the result is stored and published like
any command's, on `cmd_result/<name>`, with `channel: "web"` and the sender — so every action from
the page is a record, refused ones included. Actions without a valid login never get here (the
server answers 401/403, counts and logs them, and stores nothing an anonymous page could flood).
"""

from __future__ import annotations

__all__ = ["ACTIONS", "CommandPath", "submit_action"]

from collections.abc import Sequence
from typing import Any, Protocol

from agent.commands.auth import Role
from agent.commands.auth import Sender as AuthSender
from agent.store.outbox import OutMessage
from agent.web.auth import Sender, role_name

# command → the argument that names who sent it; the roles allowed (those of the command path)
ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "alarm_ack": ("by", frozenset({"operator", "physicist"})),
    "hotlab_context": ("operator", frozenset({"operator", "physicist"})),
}


class CommandPath(Protocol):
    """What the agent offers the page (agent/app.py Agent): local commands and its result publisher."""

    def run_local(
        self, name: str, args: dict[str, Any], sender: AuthSender, channel: str
    ) -> dict[str, Any]: ...

    def publish_result(
        self, name: str, result: dict[str, Any], records: Sequence[OutMessage] = ()
    ) -> None: ...


def submit_action(path: CommandPath, name: str, args: dict[str, Any], sender: Sender) -> dict[str, Any]:
    """Run one page action as `sender`, on the loop thread; always a result body, always recorded.
    Only the page's actions pass; the router checks the role (agent/commands/roles.py) and records
    the authenticated sender with channel "web", whatever the page put in `by`."""
    role = role_name(sender.role)
    if name not in ACTIONS:
        result: dict[str, Any] = {"command": name, "ok": False, "error": f"{name!r} is not a page action"}
    elif role not in {r.value for r in Role}:
        result = {"command": name, "ok": False, "error": f"role {role!r} may not {name}: not a station role"}
    else:
        clean = {k: v for k, v in args.items() if k not in ("by", "channel")}
        if ACTIONS[name][0] != "by":  # a field of the command that names who did it (hot-lab context)
            clean[ACTIONS[name][0]] = sender.id
        result = path.run_local(name, clean, AuthSender(sender.id, Role(role)), "web")
        return {**result, "sender": {"id": sender.id, "role": role}}
    result = {**result, "channel": "web", "sender": {"id": sender.id, "role": role}}
    path.publish_result(name, result)
    return result
