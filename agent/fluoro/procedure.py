"""Procedure tracking for a fluoroscopy room: running totals checked against cumulative triggers.

A procedure opens on the first beam-on after idle (or `cmd/procedure_open`) and closes after
`procedure_idle_s` without beam (or `cmd/procedure_close`). While open it keeps running totals —
Ka,r, KAP, fluoroscopy time, acquisition time and count, and the single-field PSD estimate
(limits/entrance.py) — and checks them against the selected triggers (limits/triggers.py): each level
is one latching alarm, raised once. With a patient named, Ka,r, KAP and PSD are judged as the
patient's total, earlier procedures included (agent/fluoro/patients.py). At close it emits
`record/procedure`.

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
from agent.fluoro.patients import PATIENT_QUANTITIES, EarlierDose, PatientLedger, RoomPatient
from agent.fluoro.procedure_alarms import alarm_entry, gap_notice, trigger_notice
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
from limits.trigger_levels import TriggerSet
from limits.triggers import evaluate

FLUORO_MODES = ("normal", "high_level")


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
        patients: PatientLedger | None = None,
        patient_hold_s: float = 3600.0,
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
        self._kar_source = "meter"  # how the last Ka,r step was obtained (_deltas)
        self._gap: dict[str, Any] | None = None  # after a restart, until the first counter step
        self.patients = patients or PatientLedger(":memory:", 365.0)
        self.patient_hold_s = patient_hold_s
        self.room_patient: RoomPatient | None = None  # kept across an idle close (patients.py)

    @property
    def last_sample(self) -> ProcedureSample | None:
        return self._last

    # ------------------------------------------------------------ commands

    def open(self, t_s: float, wall: datetime, by: str, patient: str | None = None) -> bool:
        """`patient` is a pseudonym; without one, the room's patient if its last beam was less than
        `patient_hold_s` ago (a pause that closed the procedure does not split the patient's dose)."""
        if self.current is not None:
            return False
        procedure_id = str(uuid.uuid4())
        source, room = "procedure_open", self.room_patient
        if patient is None and room is not None and t_s - room.last_beam_t <= self.patient_hold_s:
            patient, source = room.pseudonym, "carried_over"
        current = self.current = OpenProcedure(procedure_id, wall, t_s, by, t_s)
        if patient is not None:
            self.room_patient = RoomPatient(patient, t_s)
            current.patient, current.patient_source = patient, source
            current.earlier = self.patients.earlier(patient, wall, procedure_id)
        return True

    def close(self, t_s: float, wall: datetime, by: str, ends_patient: bool = False) -> Evaluation:
        """`ends_patient`: the operator closed it (the patient leaves the room); an idle close keeps
        the room's patient for `patient_hold_s`."""
        result = Evaluation()
        current, self.current = self.current, None
        if current is None:
            return result
        if current.patient is not None:
            error = self.patients.add(current.patient, current.procedure_id, wall, self._own(current))
            if error:
                current.counter_events.append({"counter": "patient_ledger", "event": "error", "error": error})
            self.room_patient = None if ends_patient else RoomPatient(current.patient, current.last_beam_t)
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
            patient_totals=self._judged(current),
        )
        result.records.append(RecordNotice("procedure", record))
        return result

    def note_alarm(self, notice: AlarmNotice) -> None:
        """Alarms raised elsewhere during the procedure (dose rate, device lost) go into its record."""
        if self.current is not None and notice.state == "raised":
            self.current.alarms.append(alarm_entry(notice))

    # ------------------------------------------------------------ surviving a restart

    def snapshot(self, now_t: float) -> dict[str, Any]:
        """What `resume` needs after a kill, JSON-ready (agent/fluoro/procedure_state.py)."""
        current, last, room = self.current, self._last, self.room_patient
        return {
            "procedure": procedure_data(current, now_t) if current is not None else None,
            "baseline": dict(self._baseline),
            "last": sample_data(last, now_t) if last is not None else None,
            "room_patient": {"pseudonym": room.pseudonym, "last_beam_age_s": now_t - room.last_beam_t}
            if room is not None
            else None,
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
        room = saved.get("room_patient")
        if room is not None:
            self.room_patient = RoomPatient(str(room["pseudonym"]), saved_t - float(room["last_beam_age_s"]))
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
        notice = gap_notice(gap, kap_gy_cm2, self.current.procedure_id if self.current else None)
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
            current.add(sample, self._last, kap_delta, kar_delta, time_delta, self._kar_source)
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
        """The open procedure's own running totals in canonical units (trigger_levels.CANONICAL_UNIT)."""
        return {} if self.current is None else self._own(self.current)

    def patient_totals(self) -> dict[str, float]:
        """What the triggers judge: with a patient, the patient's total over the look-back."""
        return {} if self.current is None else self._judged(self.current)

    def _own(self, current: OpenProcedure) -> dict[str, float]:
        psd, _ = psd_estimate(current.kar_mgy, self.geometry, self.tissue_to_air)
        return {
            "kar": current.kar_mgy,
            "psd": psd,
            "kap": current.kap_gy_cm2,
            "fluoro_time": current.fluoro_time_s,
        }

    def _judged(self, current: OpenProcedure) -> dict[str, float]:
        own, earlier = self._own(current), current.earlier or EarlierDose()
        return {q: v + earlier.totals[q] if q in PATIENT_QUANTITIES else v for q, v in own.items()}

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
        """Counter steps × the room's calibration factors; what has no counter, from the rates."""
        kap, e1 = self._step("kap", s.kap_gy_cm2, self.kap_wrap_gy_cm2, s.wall)
        kar, e2 = self._step("kar", s.kar_mgy, 0.0, s.wall)
        kap = None if kap is None else kap * self.geometry.kap_calibration
        kar = None if kar is None else kar * self.geometry.kar_calibration
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
                mean = (s.kap_rate_gy_cm2_min + last.kap_rate_gy_cm2_min) / 2
                kap = mean * self.geometry.kap_calibration * dt / 60.0
            elif last is not None:
                k_ref = (s.k_ref_rate_mgy_min + last.k_ref_rate_mgy_min) / 2 * dt / 60.0
                kap = k_ref * s.area_ref_cm2 / 1000.0
            else:
                kap = 0.0
        self._kar_source = "meter"
        if kar is None:
            kar = kap / s.area_ref_cm2 * 1000.0
            self._kar_source = f"kap_over_{s.area_source}_area"
        if time is None:
            time = dt
        return kap, kar, time, e1 + e2 + e3

    # ------------------------------------------------------------ triggers

    def _check(self, current: OpenProcedure, wall: datetime) -> list[AlarmNotice]:
        if self.triggers is None:
            return []
        judged = self._judged(current)
        current.triggers, crossings = evaluate(current.triggers, judged, self.triggers.levels)
        notices = [trigger_notice(current, c) for c in crossings]
        current.alarms += [alarm_entry(n) for n in notices]
        return notices
