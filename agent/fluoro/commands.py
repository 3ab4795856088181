"""Commands of a fluoroscopy room: `cmd/alarm_ack`, `cmd/procedure_open`, `cmd/procedure_close`.

Payloads (JSON objects; `command_id` is echoed by the router):
  alarm_ack        {"alarm_id": "<uuid>"}      → {"alarm_id", "state"}
  procedure_open   {}                          → {"procedure_id"}
  procedure_close  {}                          → {"procedure_id"}; record/procedure follows
Who did it is the authenticated sender and channel the router sets (agent/commands/router.py),
recorded as "<sender> via <channel>" (acknowledged_by, opened_by, closed_by); a free-text "by" is
ignored.
"""

from __future__ import annotations

__all__ = ["register_fluoro_commands"]

from typing import Any

from agent.clock import Clock
from agent.commands.router import CommandRouter
from agent.fluoro.monitor import FluoroMonitor
from agent.pipeline import Pipeline
from core.errors import CommandError


def _who(args: dict[str, Any]) -> str:
    """The authenticated sender and channel (set by the router, never by the sender)."""
    return f"{args['by']} via {args['channel']}"


def register_fluoro_commands(router: CommandRouter, pipeline: Pipeline, clock: Clock) -> None:
    def fluoro() -> FluoroMonitor:
        if pipeline.fluoro is None:
            raise CommandError("this station has no [fluoroscopy] table")
        return pipeline.fluoro

    def alarm_ack(args: dict[str, Any]) -> dict[str, Any]:
        alarm_id = args.get("alarm_id")
        if not isinstance(alarm_id, str) or not alarm_id:
            raise CommandError("'alarm_id' (string) is required")
        notice = pipeline.acknowledge(alarm_id, _who(args))
        return {"alarm_id": alarm_id, "state": notice.state}

    def procedure_open(args: dict[str, Any]) -> dict[str, Any]:
        monitor = fluoro()
        procedure_id = monitor.open_procedure(clock.monotonic(), clock.wall(), _who(args))
        if procedure_id is None:
            assert monitor.procedure.current is not None
            raise CommandError(f"procedure {monitor.procedure.current.procedure_id} is already open")
        return {"procedure_id": procedure_id}

    def procedure_close(args: dict[str, Any]) -> dict[str, Any]:
        monitor = fluoro()
        current = monitor.procedure.current
        if current is None:
            raise CommandError("no procedure is open")
        by = _who(args)
        pipeline.publish_evaluation(monitor.close_procedure(clock.monotonic(), clock.wall(), by))
        return {"procedure_id": current.procedure_id}

    router.register("alarm_ack", alarm_ack)
    router.register("procedure_open", procedure_open)
    router.register("procedure_close", procedure_close)
