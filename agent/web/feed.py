"""The state feed: one snapshot of the agent every `push_interval_s` (sooner when an alarm changes),
a trend of the dose rate over the last minutes, and the hot lab's last records.

Pages wait on `next_after(seq)`; the regular snapshot is also the heartbeat the page watches: no
snapshot for `stale_after_s` and the page says MONITOR DOWN. A snapshot that cannot be built is sent
as `{"ok": false}` (the page shows no numbers), never skipped so the last good one stays on screen.
"""

from __future__ import annotations

__all__ = ["Feed", "StateSource"]

import asyncio
import logging
from collections import deque
from typing import Any, Protocol

from agent.clock import Clock, iso_utc
from agent.config import AgentConfig
from agent.notices import AlarmNotice, RecordNotice
from agent.pipeline import Pipeline
from agent.web.snapshot import alarms_view, fluoro_view, health_view, hotlab_view, qc_today

log = logging.getLogger(__name__)
HEALTH_EVERY_S = 2.0  # the store's figures are SQLite queries: not every push
QC_EVERY_S = 30.0  # the QC history is a file: on this rhythm, and at once after a QC record
RECENT_RECORDS = 6


class StateSource(Protocol):
    """What the feed reads (agent/app.py Agent)."""

    config: AgentConfig
    pipeline: Pipeline
    clock: Clock
    store_unavailable: str

    def health(self) -> dict[str, Any]: ...


def _record_summary(record: RecordNotice) -> dict[str, Any] | None:
    d = record.details
    if record.kind == "activity":
        checks = [
            {
                "check": c.get("check"),
                "value": c.get("value", {}).get("value"),
                "level": c.get("level", {}).get("value"),
                "unit": c.get("level", {}).get("unit"),
                "exceeded": bool(c.get("exceeded")),
                "citation": c.get("level", {}).get("citation", ""),
            }
            for c in d.get("checks", [])
        ]
        return {
            "kind": "activity",
            "at": d.get("measured_at"),
            "nuclide": d.get("nuclide"),
            "activity_mbq": d.get("activity", {}).get("value"),
            "at_administration_mbq": d.get("activity_at_administration", {}).get("value"),
            "checks": checks,
        }
    if record.kind == "qc":
        return {"kind": "qc", "test": d.get("test"), "result": d.get("result"), "message": d.get("message")}
    return None


class Feed:
    def __init__(self, source: StateSource) -> None:
        self.source = source
        self.config = source.config.web
        self.clock = source.clock
        points = int(self.config.trend_minutes * 60 / self.config.push_interval_s) + 1
        self.trend: deque[list[Any]] = deque(maxlen=points)
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_RECORDS)
        self.seq = 0
        self.current: dict[str, Any] | None = None
        self.closed = False
        self._tick = asyncio.Event()
        self._poke = asyncio.Event()
        self._health: dict[str, Any] = {}
        self._health_t: float | None = None
        self._qc: dict[str, Any] = {}
        self._qc_t: float | None = None
        self._readings = -1
        self._reading_t: float | None = None
        self._failed = False
        source.pipeline.alarm_listeners.append(self._on_alarm)
        source.pipeline.record_listeners.append(self._on_record)

    def poke(self) -> None:
        """Push a snapshot now rather than at the next interval (an alarm changed, an action ran)."""
        self._poke.set()

    def _on_alarm(self, notice: AlarmNotice) -> None:
        self.poke()

    def _on_record(self, record: RecordNotice) -> None:
        summary = _record_summary(record)
        if summary is not None:
            self.recent.appendleft(summary)
            if record.kind == "qc":
                self._qc_t = None
            self._poke.set()

    def _due(self, last: float | None, every_s: float, now: float) -> bool:
        return last is None or now - last >= every_s

    def build(self) -> dict[str, Any]:
        """The snapshot now (also appends a trend point)."""
        source, pipeline = self.source, self.source.pipeline
        now, wall = self.clock.monotonic(), self.clock.wall()
        if self._due(self._health_t, HEALTH_EVERY_S, now):
            self._health, self._health_t = source.health(), now
        readings = pipeline.counters["readings"]
        if readings != self._readings:
            self._readings, self._reading_t = readings, now
        age = None if self._reading_t is None or readings == 0 else now - self._reading_t
        health = health_view(self._health, source.store_unavailable)
        station = source.config.station
        snap: dict[str, Any] = {
            "ok": True,
            "ts": iso_utc(wall),
            "station": {"site": station.site, "station_id": station.station_id, "name": station.description},
            "push_interval_s": self.config.push_interval_s,
            "stale_after_s": self.config.stale_after_s,
            "alarms": alarms_view(pipeline.alarm_book),
            "health": health,
            "fluoro": None,
            "hotlab": None,
        }
        if pipeline.fluoro is not None:
            fluoro = fluoro_view(pipeline.fluoro, health["devices"], age, self.config.stale_after_s)
            rate = fluoro["rate"]
            self.trend.append(
                [round(wall.timestamp(), 1), rate["esak_mgy_min"] if rate["live"] else None, rate["beam_on"]]
            )
            snap["fluoro"] = {**fluoro, "trend": list(self.trend)}
        if pipeline.hotlab is not None:
            if self._due(self._qc_t, QC_EVERY_S, now):
                self._qc, self._qc_t = qc_today(pipeline.hotlab, wall), now
            snap["hotlab"] = hotlab_view(pipeline.hotlab, list(self.recent), self._qc)
        return snap

    def publish(self) -> dict[str, Any]:
        self.seq += 1
        try:
            snap = self.build()
            self._failed = False
        except Exception as exc:  # the page must say so, not keep the last good numbers
            if not self._failed:
                log.exception("operator view: snapshot failed")
            self._failed = True
            snap = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "ts": iso_utc(self.clock.wall())}
        snap["seq"] = self.seq
        self.current = snap
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()
        return snap

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._poke.clear()
            self.publish()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._poke.wait())]
            try:
                await asyncio.wait(waits, timeout=self.config.push_interval_s, return_when="FIRST_COMPLETED")
            finally:
                for waiter in waits:
                    waiter.cancel()
        self.close()

    def close(self) -> None:
        self.closed = True
        self._tick.set()

    async def next_after(self, seq: int) -> dict[str, Any] | None:
        """The first snapshot newer than `seq`; None once the feed has closed (the agent stops)."""
        while not self.closed and (self.current is None or self.current["seq"] <= seq):
            await self._tick.wait()
        return None if self.closed else self.current
