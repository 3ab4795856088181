"""`cmd/device_command`: run one of a device's declared actions (drivers/actions.py) on the device.

Payload (JSON object):
    {"command_id": "<id>", "device": "<[[devices]] name>", "action": "<name>",
     "args": {...}}                                     # args optional

Two results on `cmd_result/device_command`, both with the same `command_id`:
1. at once, from the router: `ok: true, stage: "queued"` — or `ok: false` with the reason (unknown
   device or action, bad arguments, device lost, queue full), counted like any refused command;
2. once the device's poller ran it between two polls (agent/poller.py): `stage: "done"`, `ok`, and
   `data` (what the device answered) or `error` (the driver's error text, or why it never ran:
   not taken within `timeout_s`, device lost, agent stopping).
Every action that reached the device is also recorded, `record/device_action` (device, action,
args, effect, by, channel, result, at; `by` and `channel` are the authenticated sender and channel),
in the same store transaction as its result: the ten-year record
shows that a meter was reset or reconfigured, by whom and when.
"""

from __future__ import annotations

__all__ = ["ACTION_TIMEOUT_S", "DeviceCommands"]

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agent.clock import Clock, iso_utc
from agent.commands.action_queue import ActionOutcome, QueuedAction
from agent.commands.router import CommandRouter
from agent.poller import DevicePoller
from agent.store.messages import OutMessage, Priority
from core.errors import CommandError
from drivers.actions import DeviceAction, Effect, check_args
from drivers.registry import DRIVERS

log = logging.getLogger(__name__)
NAME = "device_command"
ACTION_TIMEOUT_S = 10.0  # a queued action the device has not started by then fails
_KEYS = {"command_id", "device", "action", "args", "by", "channel"}  # by, channel: set by the router

Publish = Callable[[str, dict[str, Any], Sequence[OutMessage]], None]


def _string(args: dict[str, Any], key: str, default: str | None = None) -> str:
    value = args.get(key, default)
    if not isinstance(value, str) or not 1 <= len(value) <= 100:
        raise CommandError(f"'{key}' must be a string of 1–100 characters")
    return value


class DeviceCommands:
    def __init__(
        self,
        pollers: Iterable[DevicePoller],
        clock: Clock,
        base: Callable[[str], dict[str, Any]],
        publish: Publish,
        timeout_s: float = ACTION_TIMEOUT_S,
    ) -> None:
        self.pollers = {p.name: p for p in pollers}
        self.clock = clock
        self.base = base  # the station envelope for a schema
        self.publish = publish  # Agent.publish_result: cmd_result/<name> plus records, one transaction
        self.timeout_s = timeout_s
        self.counters: Counter[str] = Counter()

    def register(self, router: CommandRouter) -> None:
        router.register(NAME, self.handle)

    def handle(self, args: dict[str, Any]) -> dict[str, Any]:
        """Loop thread: check and queue; the outcome follows from the device's poller."""
        try:
            job = self._job(args)
            self.pollers[job.device].submit_action(job)
        except CommandError:
            self.counters["refused"] += 1
            raise
        self.counters["queued"] += 1
        log.info("%s: %s %s queued by %s (%s)", job.device, job.action.name, job.args, job.by, job.command_id)
        return {"stage": "queued", **self._describe(job), "timeout_s": self.timeout_s}

    def _job(self, args: dict[str, Any]) -> QueuedAction:
        unknown = sorted(set(args) - _KEYS)
        if unknown:
            raise CommandError(f"unknown keys {unknown} (allowed: {', '.join(sorted(_KEYS))})")
        command_id, device, name = (_string(args, k) for k in ("command_id", "device", "action"))
        by, channel = str(args["by"]), str(args["channel"])  # authenticated, set by the router
        poller = self.pollers.get(device)
        if poller is None:
            raise CommandError(f"no device {device!r} (devices: {', '.join(sorted(self.pollers))})")
        action = self._action(poller, name)
        action_args = args.get("args", {})
        if not isinstance(action_args, dict):
            raise CommandError("'args' must be a JSON object")
        problems = check_args(action, action_args)
        if problems:
            raise CommandError(f"{device} {name}: " + "; ".join(problems))
        if poller.lost:
            raise CommandError(f"device {device} is lost ({poller.last_error}); nothing queued")
        deadline = self.clock.monotonic() + self.timeout_s
        return QueuedAction(command_id, device, action, dict(action_args), by, deadline, self._done, channel)

    @staticmethod
    def _action(poller: DevicePoller, name: str) -> DeviceAction:
        table = DRIVERS[poller.driver_name].actions
        if name not in table:
            allowed = ", ".join(table) or "none"
            driver = poller.driver_name
            raise CommandError(f"{poller.name} ({driver}) has no action {name!r} (allowed: {allowed})")
        return table[name]

    @staticmethod
    def _describe(job: QueuedAction) -> dict[str, Any]:
        action = job.action
        return {"device": job.device, "action": action.name, "args": job.args, "effect": action.effect.value}

    def _done(self, outcome: ActionOutcome) -> None:
        """Loop thread: publish the outcome; record it if it reached the device."""
        job = outcome.job
        self.counters["done_ok" if outcome.ok else "done_error"] += 1
        answer = {"data": outcome.data} if outcome.ok else {"error": outcome.error}
        result = {"command": NAME, "command_id": job.command_id, "ok": outcome.ok, "stage": "done"}
        result |= self._describe(job) | answer
        records = []
        if outcome.executed:
            body = {
                **self.base("doseedge.record.device_action.v1"),
                **self._describe(job),
                "driver": self.pollers[job.device].driver_name,
                "by": job.by,
                "channel": job.channel,
                "command_id": job.command_id,
                "result": {"ok": outcome.ok, **answer},
                "at": iso_utc(outcome.at),
            }
            records.append(OutMessage("record/device_action", body, Priority.RECORD))
            level = logging.WARNING if job.action.effect is Effect.CHANGES else logging.INFO
            log.log(level, "%s: %s %s by %s → %s", job.device, job.action.name, job.args, job.by, answer)
        else:
            log.warning("%s: %s not run: %s", job.device, job.action.name, outcome.error)
        self.publish(NAME, result, records)
