"""The evaluate step for a fluoroscopy room: readings → entrance dose rate → guidance level, procedure.

Inputs, whichever the room has (limits/entrance.py): a DAP meter's Ka,r rate (`air_kerma_rate`,
mGy/min) or KAP rate (`kap_rate`, with `field_area` from the generator when it reports one), or the
generator's parameters (`kvp`, `tube_current`, `pulse_rate`, `pulse_width`) with the room's tube-output
calibration — used when there is no DAP meter, or the meter's last reading is older than `max_gap_s`.
A generator's `mode` label (normal | high_level | acquisition | off) overrides the configured mode.

Holds the state of the pure rate evaluator (limits/dose_rate.py), the current irradiation (beam-on to
beam-off, one mode) and the procedure (agent/procedure.py), and turns their events into alarm and
record notices with every factor used.
"""

from __future__ import annotations

__all__ = ["FluoroMonitor"]

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.config import FluoroscopyConfig
from agent.meter_watch import MeterWatch
from agent.notices import AlarmNotice, Evaluation, RecordNotice
from agent.procedure import AlarmStatus, ProcedureSample, ProcedureTracker
from drivers.model import Reading
from limits.dose_rate import ActiveRateAlarm, RateCleared, RateExceeded, RateSample, RateState, evaluate
from limits.entrance import EntranceRate, from_generator, from_kap_rate, from_kar_rate
from limits.levels import RateLevelTable
from limits.meter_watch import MeterSample
from limits.trigger_levels import TriggerSet

MODE_TEXT = {"normal": "normal fluoroscopy", "high_level": "high-level fluoroscopy"}
MODES = ("normal", "high_level", "acquisition", "off")


class _NoAlarms:
    def is_active(self, alarm_id: str) -> bool:
        return True

    def acknowledgement(self, alarm_id: str) -> dict[str, Any]:
        return {"acknowledged": False}


@dataclass(frozen=True)
class _Generator:
    t_s: float
    values: dict[str, float]
    mode: str | None

    @property
    def beam_on(self) -> bool:
        if "beam_on" in self.values:
            return self.values["beam_on"] >= 0.5
        return self.mode not in (None, "off")


@dataclass
class _Irradiation:
    started: datetime
    mode: str
    method: str
    kap_gy_cm2: float = 0.0
    time_s: float = 0.0
    peak_esak_mgy_min: float = 0.0
    rate_alarms: int = 0
    factors: dict[str, Any] | None = None


class FluoroMonitor:
    def __init__(
        self,
        config: FluoroscopyConfig,
        table: RateLevelTable,
        triggers: TriggerSet | None = None,
        alarms: AlarmStatus | None = None,
    ) -> None:
        self.config = config
        self.table = table
        self.geometry = config.geometry()
        self.policy = config.policy()
        self.factors = self.geometry.factors()
        self.state = RateState()
        sources = {
            "dose_rate": {"source": table.source_id, **{m: lv.citation for m, lv in table.levels.items()}}
        }
        self.procedure = ProcedureTracker(
            triggers,
            self.geometry,
            config.tissue_to_air,
            config.procedure_idle_s,
            alarms or _NoAlarms(),
            kap_wrap_gy_cm2=config.kap_counter_wrap_gy_cm2,
            max_gap_s=self.policy.max_gap_s,
            levels_sources=sources,
        )
        self.counters: dict[str, int] = {"invalid_generator_readings": 0, "unknown_modes": 0}
        self._alarm_id: str | None = None
        self._irradiation: _Irradiation | None = None
        self._generator: _Generator | None = None
        self._run_mode: str | None = None  # mode of the generator's last beam-on reading, kept
        # until the meter sees the beam off: the meter's tail of a run belongs to that run
        self._meter_t: float | None = None
        self._last_kap: float | None = None
        self.meter_watch = MeterWatch(config.frozen_meter_after_s)  # beam on, KAP not counting
        self.kap_total_gy_cm2 = 0.0
        self.esak_rate_mgy_min = 0.0
        self.beam_on = False
        self.mode: str = config.mode
        self.mode_source = "config"

    def concerns(self, reading: Reading) -> bool:
        return reading.device in (self.config.dap_meter, self.config.generator) and bool(reading.device)

    # ------------------------------------------------------------ inputs

    def _fresh(self, t_s: float | None, now: float) -> bool:
        return t_s is not None and now - t_s <= self.policy.max_gap_s

    def _resolve_mode(self, now: float, meter_beam: bool) -> None:
        gen = self._generator
        if gen is None or gen.mode is None or not self._fresh(gen.t_s, now):
            self.mode, self.mode_source = self.config.mode, "config"
        elif meter_beam and not gen.beam_on and self._run_mode is not None:
            # The generator has ended the run (pedal up, mode off or another program selected) but
            # the meter, polled a moment later or averaging, still shows its dose rate.
            self.mode, self.mode_source = self._run_mode, "generator (end of its last run)"
        elif gen.mode not in MODES:
            self.counters["unknown_modes"] += 1
            self.mode, self.mode_source = "normal", f"generator label {gen.mode!r} unknown: judged as normal"
        elif gen.mode == "off" and meter_beam:
            self.mode, self.mode_source = self.config.mode, "config (generator says off, meter sees beam)"
        else:
            self.mode, self.mode_source = gen.mode, "generator"

    def _field(self, now: float) -> tuple[float | None, float | None]:
        gen = self._generator
        if gen is None or not self._fresh(gen.t_s, now):
            return None, None
        return gen.values.get("field_area"), gen.values.get("sid")

    def _from_generator(self) -> EntranceRate | None:
        gen, tube = self._generator, self.config.tube_output
        if gen is None or tube is None:
            return None
        v = gen.values
        if any(q not in v for q in ("kvp", "tube_current")):
            return None
        if not gen.beam_on:
            return EntranceRate(0.0, 0.0, "generator", {"method": "generator", "beam_on": False})
        try:
            return from_generator(
                v["kvp"],
                v["tube_current"],
                v.get("pulse_rate", 0.0),
                v.get("pulse_width", 0.0),
                tube,
                self.geometry,
            )
        except ValueError:
            self.counters["invalid_generator_readings"] += 1
            return None

    # ------------------------------------------------------------ observe

    def observe(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        if reading.device == self.config.generator:
            values = {m.quantity: m.value for m in reading.measurements}
            self._generator = _Generator(t_mono, values, reading.labels.get("mode"))
            if self._generator.beam_on and self._generator.mode in MODES[:3]:
                self._run_mode = self._generator.mode
            if self.config.dap_meter and self._fresh(self._meter_t, t_mono):
                self._resolve_mode(t_mono, self.beam_on)
                return Evaluation({"mode": self.mode, "mode_source": self.mode_source})
            rate = self._from_generator()
            if rate is None:
                return Evaluation({"mode": self.mode, "note": "no dose-rate input"})
            self._resolve_mode(t_mono, False)
            assert self._generator is not None
            beam_on = self._generator.beam_on
            sample = ProcedureSample(
                t_mono,
                wall,
                beam_on,
                self.mode,
                rate.k_ref_mgy_min,
                rate.esak_mgy_min,
                self._area_ref(rate),
            )
            return self._judge(reading.device, rate, beam_on, sample, 0.0, t_mono, wall)
        return self._observe_meter(reading, t_mono, wall)

    def _area_ref(self, rate: EntranceRate) -> float:
        return float(
            rate.factors.get("field_area_at_reference_cm2", self.geometry.field_area_at_reference_cm2)
        )

    def _observe_meter(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        kap_m, kap_rate_m = reading.get("kap"), reading.get("kap_rate")
        kar_m, kar_rate_m = reading.get("air_kerma"), reading.get("air_kerma_rate")
        time_m = reading.get("irradiation_time")
        if kar_rate_m is not None:
            rate = from_kar_rate(max(kar_rate_m.value, 0.0), self.geometry)
        elif kap_rate_m is not None:
            area, plane = self._field(t_mono)
            rate = from_kap_rate(max(kap_rate_m.value, 0.0), self.geometry, area, plane)
        else:
            return Evaluation({})
        self._meter_t = t_mono
        kap_rate = kap_rate_m.value if kap_rate_m is not None else None
        meter_beam = (kap_rate or 0.0) >= self.config.beam_on_kap_rate_gy_cm2_min or (
            kar_rate_m is not None and rate.k_ref_mgy_min > 0
        )
        gen = self._generator
        gen_beam = gen is not None and self._fresh(gen.t_s, t_mono) and gen.beam_on
        beam_on = meter_beam or gen_beam
        self._resolve_mode(t_mono, meter_beam)
        if not meter_beam:
            self._run_mode = None
        kap_delta = 0.0
        if kap_m is not None:
            self.kap_total_gy_cm2 = kap_m.value
            last, self._last_kap = self._last_kap, kap_m.value
            kap_delta = 0.0 if last is None else (kap_m.value - last if kap_m.value >= last else kap_m.value)
        sample = ProcedureSample(
            t_mono,
            wall,
            beam_on,
            self.mode,
            rate.k_ref_mgy_min,
            rate.esak_mgy_min,
            self._area_ref(rate),
            kap_gy_cm2=kap_m.value if kap_m else None,
            kar_mgy=kar_m.value if kar_m else None,
            irradiation_time_s=time_m.value if time_m else None,
            kap_rate_gy_cm2_min=kap_rate,
        )
        result = self._judge(reading.device, rate, beam_on, sample, kap_delta, t_mono, wall)
        if kap_m is not None:
            evidence = ("generator beam_on",) * gen_beam + ("meter rate",) * meter_beam
            result.alarms += self._watch_meter(reading.device, MeterSample(t_mono, kap_m.value, evidence))
        return result

    def _watch_meter(self, device: str, sample: MeterSample) -> list[AlarmNotice]:
        current = self.procedure.current
        notices = self.meter_watch.observe(device, sample, current.procedure_id if current else None)
        for notice in notices:
            self.procedure.note_alarm(notice)
        return notices

    def _judge(
        self,
        device: str,
        rate: EntranceRate,
        beam_on: bool,
        sample: ProcedureSample,
        kap_delta: float,
        t_mono: float,
        wall: datetime,
    ) -> Evaluation:
        self.esak_rate_mgy_min = rate.esak_mgy_min
        judged = self.table.for_mode(self.mode) is not None
        result = Evaluation(
            {
                "esak_rate": {"value": round(rate.esak_mgy_min, 4), "unit": "mGy/min"},
                "k_ref_rate": {"value": round(rate.k_ref_mgy_min, 4), "unit": "mGy/min"},
                "esak_method": rate.method,
                "mode": self.mode,
                "mode_source": self.mode_source,
                "judged": judged,
                "beam_on": beam_on,
            }
        )
        self._track_irradiation(beam_on, wall, kap_delta, sample, rate, result)
        self.state, events = evaluate(
            self.state, RateSample(t_mono, rate.esak_mgy_min, self.mode), self.table, self.policy
        )
        for event in events:
            notice = self._notice(event, device, wall, rate)
            result.alarms.append(notice)
            self.procedure.note_alarm(notice)
            if isinstance(event, RateExceeded) and self._irradiation is not None:
                self._irradiation.rate_alarms += 1
        tracked = self.procedure.observe(sample)
        result.alarms += tracked.alarms
        result.records += tracked.records
        totals = self.procedure.totals()
        if self.procedure.current is not None:
            result.derived["procedure"] = {
                "procedure_id": self.procedure.current.procedure_id,
                "kar_mgy": round(totals["kar"], 3),
                "kap_gy_cm2": round(totals["kap"], 4),
                "fluoro_time_s": round(totals["fluoro_time"], 1),
                "psd_estimate_mgy": round(totals["psd"], 3),
            }
        return result

    # ------------------------------------------------------------ commands

    def open_procedure(self, t_mono: float, wall: datetime, by: str) -> str | None:
        """The id of the procedure opened, or None if one is already open."""
        if not self.procedure.open(t_mono, wall, by):
            return None
        assert self.procedure.current is not None
        return self.procedure.current.procedure_id

    def close_procedure(self, t_mono: float, wall: datetime, by: str) -> Evaluation:
        return self.procedure.close(t_mono, wall, by)

    # ------------------------------------------------------------ restart (agent/restart_state.py)

    def snapshot(self, t_mono: float) -> dict[str, Any]:
        return {"procedure": self.procedure.snapshot(t_mono)}

    def resume(
        self,
        saved: dict[str, Any],
        t_mono: float,
        wall: datetime,
        gap_s: float | None,
        rate_alarm: AlarmNotice | None,
    ) -> Evaluation:
        """Continue the procedure, and adopt a dose-rate alarm that was active at the stop: it clears
        the usual way once the rate has stayed below the level (limits/dose_rate.py)."""
        result = self.procedure.resume(saved["procedure"], t_mono, wall, gap_s)
        if rate_alarm is not None:
            level = self.table.for_mode(str(rate_alarm.details.get("mode")))
            if level is None:
                message = "Dose-rate alarm from before the agent restarted: its mode is not judged"
                cleared = replace(rate_alarm, state="cleared", message=message, details={"reason": "restart"})
                result.alarms.append(cleared)
            else:
                peak = float(rate_alarm.details.get("value", {}).get("value", level.rate_mgy_min))
                self._alarm_id = rate_alarm.alarm_id
                self.state = RateState(active=ActiveRateAlarm(level, t_mono, peak))
        return result

    # ------------------------------------------------------------ irradiation events and notices

    def _track_irradiation(
        self,
        beam_on: bool,
        wall: datetime,
        kap_delta: float,
        sample: ProcedureSample,
        rate: EntranceRate,
        result: Evaluation,
    ) -> None:
        current = self._irradiation
        if current is not None and (not beam_on or current.mode != self.mode):
            self._irradiation = None
            result.records.append(self._irradiation_record(current, wall))
            current = None
        if beam_on and current is None:
            current = self._irradiation = _Irradiation(wall, self.mode, rate.method)
        if current is not None:
            current.kap_gy_cm2 += kap_delta
            last = self.procedure.last_sample
            if last is not None and last.beam_on and 0 < sample.t_s - last.t_s <= self.policy.max_gap_s:
                current.time_s += sample.t_s - last.t_s
            if rate.esak_mgy_min >= current.peak_esak_mgy_min:
                current.peak_esak_mgy_min = rate.esak_mgy_min
                current.factors = rate.factors
        self.beam_on = beam_on

    def _irradiation_record(self, current: _Irradiation, wall: datetime) -> RecordNotice:
        procedure = self.procedure.current
        return RecordNotice(
            "irradiation",
            {
                "started": iso_utc(current.started),
                "ended": iso_utc(wall),
                "mode": current.mode,
                "judged": self.table.for_mode(current.mode) is not None,
                "procedure_id": procedure.procedure_id if procedure else None,
                "kap": {"value": round(current.kap_gy_cm2, 6), "unit": "Gy·cm²"},
                "irradiation_time": {"value": round(current.time_s, 3), "unit": "s"},
                "peak_esak_rate": {"value": round(current.peak_esak_mgy_min, 4), "unit": "mGy/min"},
                "esak_method": current.method,
                "rate_alarms": current.rate_alarms,
                "factors": {**self.factors, **(current.factors or {})},
                "levels_source": self.table.source_id,
            },
        )

    def _notice(
        self, event: RateExceeded | RateCleared, device: str, wall: datetime, rate: EntranceRate
    ) -> AlarmNotice:
        level = event.level
        procedure = self.procedure.current
        details: dict[str, Any] = {
            "device": device,
            "mode": level.mode,
            "mode_source": self.mode_source,
            "level": {"value": level.rate_mgy_min, "unit": "mGy/min", "citation": level.citation},
            "value": {"value": round(event.mean_mgy_min, 3), "unit": "mGy/min"},
            "averaged_over_s": self.policy.window_s,
            "factors": {**self.factors, **rate.factors},
            "procedure_id": procedure.procedure_id if procedure else None,
        }
        mode_text = MODE_TEXT.get(level.mode, level.mode)
        if isinstance(event, RateExceeded):
            self._alarm_id = str(uuid.uuid4())
            message = (
                f"Entrance dose rate {event.mean_mgy_min:.1f} mGy/min is above the "
                f"{level.rate_mgy_min:g} mGy/min guidance level for {mode_text}"
            )
            return AlarmNotice(self._alarm_id, "fluoro_dose_rate", "raised", "high", message, details)
        alarm_id = self._alarm_id or str(uuid.uuid4())
        self._alarm_id = None
        details["peak"] = {"value": round(event.peak_mean_mgy_min, 3), "unit": "mGy/min"}
        details["reason"] = event.reason
        message = (
            f"Entrance dose rate back to {event.mean_mgy_min:.1f} mGy/min, below the "
            f"{level.rate_mgy_min:g} mGy/min level (peak {event.peak_mean_mgy_min:.1f})"
        )
        return AlarmNotice(alarm_id, "fluoro_dose_rate", "cleared", "high", message, details)
