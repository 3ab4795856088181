"""What survives a kill besides the outbox: the open procedure and the alarm book (docs/store.md).

`StateWriter.rows(pipeline)` are written by the pipeline in the same SQLite transaction as the
messages of each reading (Outbox.append(…, state=…)), so the state and the published records never
disagree after a kill. `resume(pipeline, saved)` runs once at start-up, before any reading:
- the alarm book comes back, so the retained `alarm/active` shows what it showed before;
- alarms whose owner resumes them stay active: cumulative triggers and `monitor_gap` (the procedure),
  the dose-rate alarm (agent/fluoro/monitor.py adopts it), `device_lost` (cleared by the device's next
  reading), the store's own (agent/store/outbox.py keeps their ids); any other alarm is cleared with
  `reason: agent_restarted` and its monitor raises it again if its condition still holds;
- the open procedure continues or is closed (agent/fluoro/procedure.py `resume`).

Time across a restart: the monotonic clock starts again at a reboot, so the gap the agent was down is
taken from the wall clock (`saved_at` → now) and used only to decide whether the procedure went stale
and to rebase its monotonic times; a wall clock that went back gives an unknown gap, taken as 0
(the procedure continues: never drop totals on a doubt).
"""

from __future__ import annotations

__all__ = ["ALARMS_KEY", "CLOCK_KEY", "PROCEDURE_ALARMS_KEY", "StateWriter", "resume"]

import json
import logging
import uuid
from datetime import datetime
from typing import Any, Protocol

from agent.alarms import AlarmBook
from agent.clock import Clock
from agent.fluoro.monitor import FluoroMonitor
from agent.notices import AlarmNotice, Evaluation

log = logging.getLogger(__name__)
CLOCK_KEY = "procedure"  # {version, saved_at, fluoro}: written with every batch
ALARMS_KEY = "alarms"  # the alarm book: written when it changed
# The open procedure's alarm list, out of the `procedure` row so that row (written with every commit)
# keeps a constant size however many alarms a long procedure raises; written when the list changes.
PROCEDURE_ALARMS_KEY = "procedure_alarms"
VERSION = 1
KEPT = {"fluoro_trigger", "monitor_gap", "state_unreadable"}  # latching: acknowledgement clears them


class Pipeline(Protocol):
    """What the restart state reads and restores of the pipeline (agent/pipeline.py), named here so
    that the two modules do not import each other."""

    clock: Clock
    alarm_book: AlarmBook
    fluoro: FluoroMonitor | None

    def adopt_lost_alarm(self, device: str, alarm_id: str) -> None: ...


class StateWriter:
    """The state rows to write with a batch: `fluoro` (the procedure, and `saved_at`) with every batch
    (once on a station without fluoroscopy: nothing in it changes, and `resume` needs it only to load
    the book),
    `alarms` (the book) only when the book has changed since it was last written, so the per-reading
    cost stays that of one small row however many alarms a long procedure has raised."""

    def __init__(self) -> None:
        self._written_revision = -1
        self._written_alarms = ""
        self._no_fluoro = False  # a station without fluoroscopy: its `procedure` row never changes
        self._no_fluoro_written = False

    def rows(self, pipeline: Pipeline) -> dict[str, str]:
        fluoro = pipeline.fluoro
        snapshot = fluoro.snapshot(pipeline.clock.monotonic()) if fluoro is not None else None
        procedure = _open_procedure(snapshot)
        alarms = _json({"alarms": procedure.pop("alarms", [])}) if procedure is not None else ""
        rows = {}
        self._no_fluoro = fluoro is None
        if not (self._no_fluoro and self._no_fluoro_written):  # with no procedure, written once (issue 17)
            saved_at = pipeline.clock.wall().isoformat()  # read only when the row is written (issue 17)
            rows[CLOCK_KEY] = _json({"version": VERSION, "saved_at": saved_at, "fluoro": snapshot})
        if alarms and alarms != self._written_alarms:  # the procedure's alarms: only when they change
            rows[PROCEDURE_ALARMS_KEY] = alarms
        book = pipeline.alarm_book
        if book.revision != self._written_revision:
            current = fluoro.procedure.current if fluoro is not None else None
            rows[ALARMS_KEY] = _json(book.dump(a["alarm_id"] for a in (current.alarms if current else ())))
        return rows

    def written(self, rows: dict[str, str], revision: int) -> None:
        """The rows, built at the alarm book's `revision`, were committed (the caller's append
        succeeded; with the store writer, possibly after the book changed again)."""
        if ALARMS_KEY in rows:
            self._written_revision = revision
        if CLOCK_KEY in rows and self._no_fluoro:
            self._no_fluoro_written = True
        if PROCEDURE_ALARMS_KEY in rows:
            self._written_alarms = rows[PROCEDURE_ALARMS_KEY]


def _open_procedure(fluoro: dict[str, Any] | None) -> dict[str, Any] | None:
    """The open procedure inside a FluoroMonitor snapshot ({"procedure": {"procedure": …}}), if any."""
    tracker = (fluoro or {}).get("procedure") or {}
    found = tracker.get("procedure") if isinstance(tracker, dict) else None
    return found if isinstance(found, dict) else None


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def gap_s(saved_at: datetime, now: datetime) -> float | None:
    """Seconds the agent was down, by the wall clock; None if the wall clock went back."""
    gap = (now - saved_at).total_seconds()
    return gap if gap >= 0 else None


def resume(pipeline: Pipeline, saved: dict[str, str]) -> Evaluation:
    """Restore the book and the procedure; the notices to publish (the caller adds `alarm/active`)."""
    if CLOCK_KEY not in saved:
        return Evaluation()
    try:
        data = json.loads(saved[CLOCK_KEY])
        data["alarms"] = json.loads(saved.get(ALARMS_KEY, "{}"))
        procedure = _open_procedure(data.get("fluoro"))
        if procedure is not None and "alarms" not in procedure:  # kept in its own row since issue 12
            procedure["alarms"] = json.loads(saved.get(PROCEDURE_ALARMS_KEY, '{"alarms": []}'))["alarms"]
        if data.get("version") != VERSION:
            raise ValueError(f"state version {data.get('version')!r}, expected {VERSION}")
        return _resume(pipeline, data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.error("SAVED STATE UNREADABLE, starting without it: %s", exc)
        pipeline.alarm_book.load({})
        notice = AlarmNotice(
            str(uuid.uuid4()),
            "state_unreadable",
            "raised",
            "high",
            "The saved procedure and alarm state could not be read: running totals restart from zero",
            {"error": str(exc)},
            latching=True,
        )
        return Evaluation(alarms=[notice])


def _resume(pipeline: Pipeline, data: dict[str, Any]) -> Evaluation:
    now_t, wall = pipeline.clock.monotonic(), pipeline.clock.wall()
    gap = gap_s(datetime.fromisoformat(data["saved_at"]), wall)
    book = pipeline.alarm_book
    book.load(data["alarms"])
    result = Evaluation()
    rate_alarm = None
    for alarm_id, entry in list(book.active.items()):
        notice = entry.notice
        if notice.alarm_type == "device_lost":
            pipeline.adopt_lost_alarm(str(notice.details.get("device")), alarm_id)
        elif notice.alarm_type == "fluoro_dose_rate" and pipeline.fluoro is not None:
            rate_alarm = notice
        elif notice.alarm_type not in KEPT and not notice.alarm_type.startswith("store_"):
            result.alarms.append(_cleared(notice))
    if pipeline.fluoro is not None and data.get("fluoro") is not None:
        resumed = pipeline.fluoro.resume(data["fluoro"], now_t, wall, gap, rate_alarm)
        result.alarms += resumed.alarms
        result.records += resumed.records
    log.warning(
        "resumed after a stop of %s s: %d active alarms, procedure %s",
        "?" if gap is None else f"{gap:.1f}",
        len(book.active),
        _procedure_id(pipeline),
    )
    return result


def _cleared(notice: AlarmNotice) -> AlarmNotice:
    message = f"Cleared at restart, raised again if it still holds: {notice.message}"
    return AlarmNotice(
        notice.alarm_id,
        notice.alarm_type,
        "cleared",
        notice.severity,
        message,
        {**notice.details, "reason": "agent_restarted"},
        notice.latching,
    )


def _procedure_id(pipeline: Pipeline) -> str:
    current = pipeline.fluoro.procedure.current if pipeline.fluoro is not None else None
    return current.procedure_id if current is not None else "none"
