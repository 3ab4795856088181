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

import json
from collections.abc import Sequence
from typing import Any, Protocol

from agent.commands.router import CommandRouter
from agent.store.outbox import OutMessage
from agent.web.auth import Sender, role_name

# command → the argument that names who sent it; the roles allowed (those of the command path)
ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "alarm_ack": ("by", frozenset({"operator", "physicist"})),
    "hotlab_context": ("operator", frozenset({"operator", "physicist"})),
}


class CommandPath(Protocol):
    """What the agent offers the page (agent/app.py Agent): its router and its result publisher."""

    @property
    def commands(self) -> CommandRouter: ...

    def publish_result(
        self, name: str, result: dict[str, Any], records: Sequence[OutMessage] = ()
    ) -> None: ...


def submit_action(path: CommandPath, name: str, args: dict[str, Any], sender: Sender) -> dict[str, Any]:
    """Run one page action as `sender`, on the loop thread; always a result body, always recorded."""
    role = role_name(sender.role)
    action = ACTIONS.get(name)
    if action is None:
        result: dict[str, Any] = {"command": name, "ok": False, "error": f"{name!r} is not a page action"}
    elif role not in action[1]:
        result = {"command": name, "ok": False, "error": f"role {role!r} may not {name}"}
    else:
        who = action[0]
        result = path.commands.dispatch(name, json.dumps({**args, who: sender.id}).encode())
    result = {**result, "channel": "web", "sender": {"id": sender.id, "role": role}}
    path.publish_result(name, result)
    return result
