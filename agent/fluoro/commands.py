"""Commands of a fluoroscopy room: `cmd/alarm_ack`, `cmd/procedure_open`, `cmd/procedure_close`.

Payloads (JSON objects; `command_id` is echoed by the router):
  alarm_ack        {"alarm_id": "<uuid>"}                → {"alarm_id", "state"}
  procedure_open   {"patient_id": "<id>"}                → {"procedure_id", "patient"}
                   patient_id is optional; it is pseudonymised at once (agent/pseudonym.py) and only
                   the pseudonym is kept: the patient's earlier procedures count towards the triggers
  procedure_close  {}                                    → {"procedure_id"}; record/procedure follows
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
from agent.pseudonym import Pseudonymiser
from core.errors import CommandError


def _who(args: dict[str, Any]) -> str:
    """The authenticated sender and channel (set by the router, never by the sender)."""
    return f"{args['by']} via {args['channel']}"


def _patient_id(args: dict[str, Any]) -> str | None:
    raw = args.get("patient_id")
    if raw is None:
        return None
    if not isinstance(raw, str) or not 1 <= len(raw.strip()) <= 64:
        raise CommandError("'patient_id' must be a string of 1–64 characters")
    return raw


def register_fluoro_commands(router: CommandRouter, pipeline: Pipeline, clock: Clock) -> None:
    keyed: list[Pseudonymiser] = []  # created at the first patient, with the box's key

    def pseudonym(patient_id: str) -> str:
        if not keyed:
            assert pipeline.config.fluoroscopy is not None
            try:
                keyed.append(Pseudonymiser(pipeline.config.fluoroscopy.pseudonym_key_path))
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot pseudonymise the patient id: {exc}") from None
        return keyed[0].pseudonym(patient_id)

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
        by, raw = _who(args), _patient_id(args)
        if monitor.procedure.current is not None:
            raise CommandError(f"procedure {monitor.procedure.current.procedure_id} is already open")
        patient = pseudonym(raw) if raw is not None else None
        procedure_id = monitor.open_procedure(clock.monotonic(), clock.wall(), by, patient)
        assert procedure_id is not None
        return {"procedure_id": procedure_id, "patient": patient}

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
