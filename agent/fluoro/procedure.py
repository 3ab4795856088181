"""Procedure tracking for a fluoroscopy room: running totals checked against cumulative triggers.

A procedure opens on the first beam-on after idle (or `cmd/procedure_open`) and closes after
`procedure_idle_s` without beam (or `cmd/procedure_close`). While open it keeps running totals —
Ka,r, KAP, fluoroscopy time, acquisition time and count, and the conservative single-field PSD
estimate (limits/entrance.py) — and checks them against the selected triggers (limits/triggers.py):
each level is one latching alarm, raised once. At close it emits `record/procedure`.

Totals come from the meter's counters through limits/counters.py (a reset or wrap mid-procedure
neither loses nor doubles dose); where a room has no counter, rates are integrated over monotonic
time (trapezoid, only between two beam-on samples less than `max_gap_s` apart). The wall clock is
used for timestamps only, so a clock jump changes no total.
"""

from __future__ import annotations

__all__ = ["ProcedureSample", "ProcedureTracker"]

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from agent.clock import iso_utc
from agent.fluoro.procedure_record import procedure_record
from agent.fluoro.procedure_state import (
    OpenProcedure,
    ProcedureSample,
    procedure_data,
    procedure_from,
    sample_data,
    sample_from,
)
from agent.notices import AlarmNotice, Evaluation, RecordNotice
from limits.counters import counter_step
from limits.dosimetry import Geometry
from limits.entrance import psd_estimate
from limits.trigger_levels import CANONICAL_UNIT, TriggerLevel, TriggerSet
from limits.triggers import Crossing, evaluate

FLUORO_MODES = ("normal", "high_level")
NAMES = {"kar": "Ka,r", "psd": "Peak skin dose estimate", "kap": "KAP", "fluoro_time": "Fluoroscopy time"}


class AlarmStatus(Protocol):
    def is_active(self, alarm_id: str) -> bool: ...

    def acknowledgement(self, alarm_id: str) -> dict[str, Any]: ...


class ProcedureTracker:
    def __init__(
        self,
        triggers: TriggerSet | None,
        geometry: Geometry,
        tissue_to_air: float,
        idle_s: float,
        alarms: AlarmStatus,
        *,
        kap_wrap_gy_cm2: float = 0.0,
        max_gap_s: float = 5.0,
        levels_sources: dict[str, Any] | None = None,
    ) -> None:
        self.triggers = triggers
        self.geometry = geometry
        self.tissue_to_air = tissue_to_air
        self.idle_s = idle_s
        self.alarms = alarms
        self.kap_wrap_gy_cm2 = kap_wrap_gy_cm2
        self.max_gap_s = max_gap_s
        self.levels_sources = levels_sources or {}
        self.current: OpenProcedure | None = None
        self._baseline: dict[str, float | None] = {"kap": None, "kar": None, "time": None}
        self._last: ProcedureSample | None = None
        self._gap: dict[str, Any] | None = None  # after a restart, until the first counter step

    @property
    def last_sample(self) -> ProcedureSample | None:
        return self._last

    # ------------------------------------------------------------ commands

    def open(self, t_s: float, wall: datetime, by: str) -> bool:
        if self.current is not None:
            return False
        self.current = OpenProcedure(str(uuid.uuid4()), wall, t_s, by, t_s)
        return True

    def close(self, t_s: float, wall: datetime, by: str) -> Evaluation:
        result = Evaluation()
        current, self.current = self.current, None
        if current is None:
            return result
        for alarm in current.alarms:
            if alarm["latching"] and self.alarms.is_active(alarm["alarm_id"]):
                result.alarms.append(
                    AlarmNotice(
                        alarm["alarm_id"],
                        alarm["type"],
                        "cleared",
                        alarm["severity"],
                        f"Procedure closed: {alarm['message']}",
                        {"procedure_id": current.procedure_id, "reason": "procedure_closed"},
                        latching=True,
                    )
                )
        record = procedure_record(
            current,
            t_s,
            wall,
            by,
            geometry=self.geometry,
            tissue_to_air=self.tissue_to_air,
            acknowledgement=self.alarms.acknowledgement,
            triggers=self.triggers,
            levels_sources=self.levels_sources,
        )
        result.records.append(RecordNotice("procedure", record))
        return result

    def note_alarm(self, notice: AlarmNotice) -> None:
        """Alarms raised elsewhere during the procedure (dose rate, device lost) go into its record."""
        if self.current is not None and notice.state == "raised":
            self.current.alarms.append(self._alarm_entry(notice))

    # ------------------------------------------------------------ surviving a restart

    def snapshot(self, now_t: float) -> dict[str, Any]:
        """What `resume` needs after a kill, JSON-ready (agent/fluoro/procedure_state.py)."""
        current, last = self.current, self._last
        return {
            "procedure": procedure_data(current, now_t) if current is not None else None,
            "baseline": dict(self._baseline),
            "last": sample_data(last, now_t) if last is not None else None,
        }

    def resume(
        self, saved: dict[str, Any], now_t: float, now_wall: datetime, gap_s: float | None
    ) -> Evaluation:
        """Continue from `snapshot` after the agent was down for `gap_s` (wall clock; None when the
        wall clock went back and the gap is unknown: then taken as 0, which keeps the procedure open).

        A procedure idle for less than `idle_s` including the gap continues: same id, totals, trigger
        indices, and the counters' last values, so the first reading counts the dose delivered while
        the agent was down (a meter reset meanwhile is a counter reset: limits/counters.py). One idle
        for longer is closed at the moment it would have closed. A monitor lost during beam-on raises
        `monitor_gap`; so does dose found on the counters after a stop with the beam off.
        """
        result = Evaluation()
        gap = gap_s or 0.0
        saved_t = now_t - gap
        last = sample_from(saved["last"], saved_t) if saved.get("last") else None
        beam_at_stop = last is not None and last.beam_on
        gap_info = {"gap_s": None if gap_s is None else round(gap_s, 3), "restarted_at": iso_utc(now_wall)}
        data = saved.get("procedure")
        current = procedure_from(data, saved_t) if data is not None else None
        if current is not None:
            current.restarts.append({"at": iso_utc(now_wall), "gap_s": gap_info["gap_s"]})
            self.current = current
            if now_t - current.last_beam_t >= self.idle_s:
                close_t = current.last_beam_t + self.idle_s
                close_wall = now_wall - timedelta(seconds=now_t - close_t)
                result = self.close(close_t, close_wall, "idle (while the agent was down)")
                current = None
        if current is not None:
            self._baseline = {k: saved["baseline"].get(k) for k in self._baseline}
            self._last = last
            if not beam_at_stop:
                self._gap = gap_info
        if beam_at_stop:
            result.alarms.append(self._gap_notice(gap_info, None))
        return result

    def _gap_notice(self, gap: dict[str, Any], kap_gy_cm2: float | None) -> AlarmNotice:
        current = self.current
        seconds = "an unknown time" if gap["gap_s"] is None else f"{gap['gap_s']:.1f} s"
        if kap_gy_cm2 is None:
            message = f"Dose monitor was down for {seconds} during beam-on (agent restarted)"
        else:
            message = f"{kap_gy_cm2:.3g} Gy·cm² was delivered while the dose monitor was down ({seconds})"
        details = {
            **gap,
            "procedure_id": current.procedure_id if current else None,
            "beam_on_at_stop": kap_gy_cm2 is None,
            **({"kap_during_gap": {"value": round(kap_gy_cm2, 6), "unit": "Gy·cm²"}} if kap_gy_cm2 else {}),
        }
        severity = "high" if kap_gy_cm2 is None else "warning"
        notice = AlarmNotice(str(uuid.uuid4()), "monitor_gap", "raised", severity, message, details, True)
        self.note_alarm(notice)
        return notice

    # ------------------------------------------------------------ readings

    def observe(self, sample: ProcedureSample) -> Evaluation:
        kap_delta, kar_delta, time_delta, events = self._deltas(sample)
        result = Evaluation()
        gap = self._gap
        if gap is not None and (sample.kap_gy_cm2 is not None or sample.kar_mgy is not None):
            self._gap = None
            if kap_delta > 0 or kar_delta > 0:
                result.alarms.append(self._gap_notice(gap, kap_delta))
        if self.current is None and sample.beam_on:
            self.open(sample.t_s, sample.wall, "beam_on")
        current = self.current
        if current is not None:
            current.counter_events += events
            self._accumulate(current, sample, kap_delta, kar_delta, time_delta)
            result.alarms += self._check(current, sample.wall)
            if not sample.beam_on and sample.t_s - current.last_beam_t >= self.idle_s:
                closed = self.close(sample.t_s, sample.wall, "idle")
                result.alarms += closed.alarms
                result.records += closed.records
        self._last = sample
        return result

    def forget_counters(self) -> None:
        """The next counter values are a new baseline, not a step (agent/plausibility.py: a counter
        taken up again after implausible values)."""
        self._baseline = {name: None for name in self._baseline}

    def totals(self) -> dict[str, float]:
        """Running totals in canonical units (trigger_levels.CANONICAL_UNIT)."""
        current = self.current
        if current is None:
            return {}
        psd, _ = psd_estimate(current.kar_mgy, self.geometry, self.tissue_to_air)
        return {
            "kar": current.kar_mgy,
            "psd": psd,
            "kap": current.kap_gy_cm2,
            "fluoro_time": current.fluoro_time_s,
        }

    def _step(
        self, name: str, value: float | None, wrap: float, wall: datetime
    ) -> tuple[float | None, list[dict[str, Any]]]:
        if value is None:
            return None, []
        step = counter_step(self._baseline[name], value, wrap)
        self._baseline[name] = step.baseline
        if step.event in ("reset", "wrap"):
            return step.delta, [{"counter": name, "event": step.event, "at": iso_utc(wall), "value": value}]
        return step.delta, []

    def _deltas(self, s: ProcedureSample) -> tuple[float, float, float, list[dict[str, Any]]]:
        kap, e1 = self._step("kap", s.kap_gy_cm2, self.kap_wrap_gy_cm2, s.wall)
        kar, e2 = self._step("kar", s.kar_mgy, 0.0, s.wall)
        time, e3 = self._step("time", s.irradiation_time_s, 0.0, s.wall)
        last = self._last
        dt = 0.0
        if last is not None and last.beam_on and s.beam_on and 0 < s.t_s - last.t_s <= self.max_gap_s:
            dt = s.t_s - last.t_s
        if kap is None:
            if (
                s.kap_rate_gy_cm2_min is not None
                and last is not None
                and last.kap_rate_gy_cm2_min is not None
            ):
                kap = (s.kap_rate_gy_cm2_min + last.kap_rate_gy_cm2_min) / 2 * dt / 60.0
            elif last is not None:
                k_ref = (s.k_ref_rate_mgy_min + last.k_ref_rate_mgy_min) / 2 * dt / 60.0
                kap = k_ref * s.area_ref_cm2 / 1000.0
            else:
                kap = 0.0
        if kar is None:
            kar = kap / s.area_ref_cm2 * 1000.0
        if time is None:
            time = dt
        return kap, kar, time, e1 + e2 + e3

    def _accumulate(
        self, current: OpenProcedure, s: ProcedureSample, kap: float, kar: float, time: float
    ) -> None:
        current.kap_gy_cm2 += kap
        current.kar_mgy += kar
        if s.mode == "acquisition":
            current.acquisition_time_s += time
            last = self._last
            if s.beam_on and (last is None or not last.beam_on or last.mode != "acquisition"):
                current.acquisition_count += 1
        else:
            current.fluoro_time_s += time
        if s.beam_on:
            current.last_beam_t = s.t_s
            current.peak_esak[s.mode] = max(current.peak_esak.get(s.mode, 0.0), s.esak_rate_mgy_min)
            current.peak_k_ref_mgy_min = max(current.peak_k_ref_mgy_min, s.k_ref_rate_mgy_min)

    # ------------------------------------------------------------ triggers

    def _check(self, current: OpenProcedure, wall: datetime) -> list[AlarmNotice]:
        if self.triggers is None:
            return []
        current.triggers, crossings = evaluate(current.triggers, self.totals(), self.triggers.levels)
        notices = [self._trigger_notice(current, c) for c in crossings]
        current.alarms += [self._alarm_entry(n) for n in notices]
        return notices

    def _trigger_notice(self, current: OpenProcedure, crossing: Crossing) -> AlarmNotice:
        level: TriggerLevel = crossing.level
        shown = crossing.value / level.factor
        what = level.describe(crossing.index).split(" ", 1)[1]
        message = (
            f"{NAMES[level.quantity]} {shown:.3g} {level.unit} has reached {what} "
            f"({level.kind.replace('_', ' ')}, {level.id})"
        )
        details = {
            "procedure_id": current.procedure_id,
            "trigger": level.id,
            "kind": level.kind,
            "quantity": level.quantity,
            "index": crossing.index,
            "skipped_levels": crossing.skipped,
            "level": {
                "value": round(crossing.threshold / level.factor, 6),
                "unit": level.unit,
                "citation": level.citation,
                "source": level.source,
                "check": level.check,
            },
            "value": {"value": round(crossing.value, 6), "unit": CANONICAL_UNIT[level.quantity]},
        }
        return AlarmNotice(
            str(uuid.uuid4()), "fluoro_trigger", "raised", level.severity, message, details, True
        )

    @staticmethod
    def _alarm_entry(notice: AlarmNotice) -> dict[str, Any]:
        return {
            "alarm_id": notice.alarm_id,
            "type": notice.alarm_type,
            "severity": notice.severity,
            "message": notice.message,
            "latching": notice.latching,
            "trigger": notice.details.get("trigger"),
        }
