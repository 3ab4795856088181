"""The alarm in the room: a bridge board's buzzer and lights follow the active alarms, and its
acknowledge button acknowledges them (drivers/bridge.py, firmware_bridge/).

- An alarm listener (Pipeline.alarm_listeners) works out the pattern the room should show from the
  alarm book and, when it changes, queues the bridge's `pattern` action on the bridge's own poller
  (agent/poller.py runs it between two polls, woken at once) — the same path as cmd/device_command.
  If the board did not take it (lost, timed out), the next reading from the bridge queues it again.
- A press of the room's acknowledge button arrives in a bridge reading (label `ack_button_presses`)
  and acknowledges every alarm that is sounding, as a local, physical action: `alarm_ack` with
  by = "room button (<device>)", channel "bridge_button" (`acknowledge_from_button`).

Patterns, in priority order: `dose_rate` (an unacknowledged fluoro_dose_rate), `monitor_lost`
(device_lost, monitor_failed, dose_meter_frozen, monitor_gap, state_unreadable: dose is not being
watched), `trigger` (fluoro_trigger), `acknowledged` (every such alarm acknowledged, some still
active), `off`. Store and hot-lab alarms do not sound in the C-arm room.
"""

from __future__ import annotations

__all__ = ["BridgeRoom", "acknowledge_from_button", "attach_bridges", "pattern_delay_polls", "room_pattern"]

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agent.alarms import ActiveAlarm
from agent.clock import Clock
from agent.commands.action_queue import ActionOutcome, QueuedAction
from agent.commands.auth import Role, Sender
from agent.notices import AlarmNotice
from agent.pipeline import Pipeline
from agent.poller import DevicePoller
from core.errors import CommandError
from drivers.bridge import ACTIONS
from drivers.model import Reading
from limits.dose_rate import RatePolicy

log = logging.getLogger(__name__)
DRIVER = "bridge"
PATTERN_TIMEOUT_S = 5.0
SOUNDS = {
    "fluoro_dose_rate": "dose_rate",
    "device_lost": "monitor_lost",
    "monitor_failed": "monitor_lost",
    "dose_meter_frozen": "monitor_lost",
    "monitor_gap": "monitor_lost",
    "state_unreadable": "monitor_lost",
    "fluoro_trigger": "trigger",
}
PRIORITY = ("dose_rate", "monitor_lost", "trigger")

RunLocal = Callable[[str, dict[str, Any], Sender, str], dict[str, Any]]  # Agent.run_local


def room_pattern(active: Iterable[ActiveAlarm]) -> str:
    """The pattern for the room from the active alarms (pure)."""
    relevant = [a for a in active if a.notice.alarm_type in SOUNDS]
    sounding = {SOUNDS[a.notice.alarm_type] for a in relevant if a.acknowledged is None}
    for pattern in PRIORITY:
        if pattern in sounding:
            return pattern
    return "acknowledged" if relevant else "off"


def pattern_delay_polls(board_window_s: float, policy: RatePolicy, poll_interval_s: float) -> int:
    """The documented delay (docs/firmware.md), in polls of the bridge, from a pulse rate rising over the
    level to the board sounding `dose_rate`: one board counting window until a STAT shows the rate,
    the evaluator's `window_s + raise_after_s` (limits/dose_rate.py), one poll for the window in
    flight, one for a sample to land after raise_after_s, one for the pattern (the poller, woken by
    the queued action, runs it before its next poll)."""
    span_s = board_window_s + policy.window_s + policy.raise_after_s
    return math.ceil(span_s / poll_interval_s) + 3


def acknowledge_from_button(run_local: RunLocal, alarm_id: str, device: str) -> dict[str, Any]:
    """The room's acknowledge button: a local, physical action, authenticated by presence (whoever
    pressed it stood in the room), with an operator's role; recorded as
    "room button (<device>) via bridge_button" through the command router's local channel."""
    sender = Sender(f"room button ({device})", Role.OPERATOR)
    return run_local("alarm_ack", {"alarm_id": alarm_id}, sender, "bridge_button")


class BridgeRoom:
    def __init__(self, poller: DevicePoller, pipeline: Pipeline, clock: Clock, run_local: RunLocal) -> None:
        self.poller = poller
        self.pipeline = pipeline
        self.clock = clock
        self.run_local = run_local
        self.shown = "off"  # what the board confirmed (its driver starts with "off")
        self.pending: str | None = None  # queued, not yet confirmed
        self.counters: Counter[str] = Counter()

    @property
    def wanted(self) -> str:
        return room_pattern(self.pipeline.alarm_book.active.values())

    def on_alarm(self, notice: AlarmNotice) -> None:
        """Alarm listener (loop thread): queue the new pattern if the room's changed."""
        self._sync()

    def on_reading(self, reading: Reading) -> None:
        """The bridge poller's reading: judged by the pipeline first, then the button, then a retry of
        a pattern the board has not confirmed."""
        self.pipeline.on_reading(reading)
        presses = reading.labels.get("ack_button_presses")
        if presses:
            self.counters["button_presses"] += int(presses)
            self._button(reading.device)
        self._sync()

    def _button(self, device: str) -> None:
        sounding = [
            alarm_id
            for alarm_id, entry in self.pipeline.alarm_book.active.items()
            if entry.acknowledged is None and entry.notice.alarm_type in SOUNDS
        ]
        if not sounding:
            self.counters["button_nothing_to_ack"] += 1
            log.info("%s: acknowledge button pressed, no alarm sounding", device)
        for alarm_id in sounding:
            result = acknowledge_from_button(self.run_local, alarm_id, device)
            self.counters["button_acks" if result.get("ok") else "button_ack_refused"] += 1

    def _sync(self) -> None:
        wanted = self.wanted
        if wanted == self.shown and self.pending is None:
            return
        if self.pending is not None or self.poller.lost:
            return  # one at a time; a lost board is the poller's alarm, retried when it is back
        self.pending = wanted
        self.counters["patterns_queued"] += 1
        deadline = self.clock.monotonic() + PATTERN_TIMEOUT_S
        job = QueuedAction(
            f"room-pattern-{self.counters['patterns_queued']}",
            self.poller.name,
            ACTIONS["pattern"],
            {"pattern": wanted},
            "alarm listener",
            deadline,
            self._done,
        )
        try:
            self.poller.submit_action(job)
        except CommandError:  # the device's queue is full: the next reading retries
            self.pending = None
            self.counters["pattern_queue_full"] += 1

    def _done(self, outcome: ActionOutcome) -> None:
        """Loop thread, from the poller's settle: the board's answer to a pattern."""
        self.pending = None
        if outcome.ok:
            self.shown = str(outcome.job.args["pattern"])
            self.counters["patterns_shown"] += 1
        else:
            self.counters["pattern_errors"] += 1
            log.warning("%s: pattern %s not shown: %s", self.poller.name, outcome.job.args, outcome.error)


def attach_bridges(
    pollers: Sequence[DevicePoller], pipeline: Pipeline, clock: Clock, run_local: RunLocal
) -> list[BridgeRoom]:
    """One BridgeRoom per bridge device: its readings pass through it, and it listens to alarms."""
    rooms = []
    for poller in pollers:
        if poller.driver_name == DRIVER:
            room = BridgeRoom(poller, pipeline, clock, run_local)
            poller.on_reading = room.on_reading
            pipeline.alarm_listeners.append(room.on_alarm)
            rooms.append(room)
    return rooms
