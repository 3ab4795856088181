"""The evaluate step for a fluoroscopy room: readings → entrance dose rate → guidance level, procedure.

Inputs, whichever the room has (limits/entrance.py): a DAP meter's Ka,r rate (`air_kerma_rate`,
mGy/min) or KAP rate (`kap_rate`, with `field_area` from the generator when it reports one), or the
generator's parameters (`kvp`, `tube_current`, `pulse_rate`, `pulse_width`) with the room's tube-output
calibration — used when there is no DAP meter, or the meter's last reading is older than `max_gap_s`.
A generator's `mode` label (normal | high_level | acquisition | off) overrides the configured mode.

Holds the state of the pure rate evaluator (limits/dose_rate.py), the generator input
(agent/fluoro/inputs.py), the current irradiation (agent/fluoro/irradiation.py: beam-on to beam-off, one mode)
and the procedure (agent/fluoro/procedure.py), and turns their events into alarm and record notices with every
factor used.
"""

from __future__ import annotations

__all__ = ["FluoroMonitor"]

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from agent.fluoro.config import FluoroscopyConfig
from agent.fluoro.inputs import GeneratorInput, fresh
from agent.fluoro.irradiation import IrradiationTracker
from agent.fluoro.meter_rate import MeterRate
from agent.fluoro.meter_watch import MeterWatch
from agent.fluoro.patients import PatientLedger
from agent.fluoro.procedure import AlarmStatus, ProcedureSample, ProcedureTracker
from agent.notices import AlarmNotice, Evaluation
from agent.payloads import quantity
from drivers.model import Reading
from limits.dose_rate import ActiveRateAlarm, RateCleared, RateExceeded, RateSample, RateState, evaluate
from limits.entrance import EntranceRate, from_kap_rate, from_kar_rate
from limits.levels import RateLevelTable
from limits.meter_watch import MeterSample
from limits.trigger_levels import TriggerSet

MODE_TEXT = {
    "normal": "normal fluoroscopy",
    "high_level": "high-level fluoroscopy",
    "acquisition": "acquisition (cine, DSA)",
}


class _NoAlarms:
    def is_active(self, alarm_id: str) -> bool:
        return True

    def acknowledgement(self, alarm_id: str) -> dict[str, Any]:
        return {"acknowledged": False}


class FluoroMonitor:
    def __init__(
        self,
        config: FluoroscopyConfig,
        table: RateLevelTable,
        triggers: TriggerSet | None = None,
        alarms: AlarmStatus | None = None,
        patients: PatientLedger | None = None,
        meter_time_base_s: float = 1.0,  # the DAP meter driver's rate time base, for kap_rate_check
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
            patients=patients or PatientLedger(":memory:", config.patient_lookback_days),
            patient_hold_s=config.patient_hold_s,
        )
        self.counters: dict[str, int] = {"invalid_generator_readings": 0, "unknown_modes": 0}
        self._alarm_id: str | None = None
        self.irradiation = IrradiationTracker(table, self.factors, self.policy.max_gap_s)
        self.generator = GeneratorInput(config, self.geometry, self.policy.max_gap_s, self.counters)
        self._meter_t: float | None = None
        self._last_kap: float | None = None
        self.meter_watch = MeterWatch(config.frozen_meter_after_s)  # beam on, KAP not counting
        self.meter_rate = MeterRate(  # KAP rate from the counter; cross-check with the reported one
            self.policy.window_s, config.beam_on_kap_rate_gy_cm2_min * 10, meter_time_base_s, 5.0
        )
        self.kar_rate = MeterRate(self.policy.window_s, 0.0, 1.0, 5.0)  # a Ka,r-only counter
        self.kap_total_gy_cm2 = 0.0
        self.esak_rate_mgy_min = 0.0
        self.beam_on = False
        self.mode: str = config.mode
        self.mode_source = "config"
        self.devices: dict[str, dict[str, str]] = {}  # device identity as each driver reported it

    def concerns(self, reading: Reading) -> bool:
        return self.concerns_device(reading.device)

    def concerns_device(self, device: str) -> bool:
        return device in (self.config.dap_meter, self.config.generator) and bool(device)

    # ------------------------------------------------------------ observe

    def observe(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        if reading.device_info:
            self.devices[reading.device] = dict(reading.device_info)
        return self._identified(self._observe(reading, t_mono, wall))

    def _identified(self, result: Evaluation) -> Evaluation:
        """Records name the instruments behind their numbers (model, serial, firmware as reported)."""
        for record in result.records:
            record.details.setdefault("devices", {k: dict(v) for k, v in self.devices.items()})
        return result

    def _observe(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        if reading.device == self.config.generator:
            values = {m.quantity: m.value for m in reading.measurements}
            gen = self.generator.update(t_mono, values, reading.labels.get("mode"))
            if self.config.dap_meter and fresh(self._meter_t, t_mono, self.policy.max_gap_s):
                self.mode, self.mode_source = self.generator.resolve_mode(t_mono, self.beam_on)
                return Evaluation({"mode": self.mode, "mode_source": self.mode_source})
            rate = self.generator.entrance_rate()
            if rate is None:
                return Evaluation({"mode": self.mode, "note": "no dose-rate input"})
            self.mode, self.mode_source = self.generator.resolve_mode(t_mono, False)
            beam_on = gen.beam_on
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

    def forget_counters(self, device: str) -> None:
        """The plausibility gate took a counter up again after a break (agent/plausibility.py): the
        step across the break is not dose, so every baseline starts again from the next value."""
        if device == self.config.dap_meter:
            self._last_kap = None
            self.meter_rate.forget()
            self.kar_rate.forget()
            self.procedure.forget_counters()

    def _observe_meter(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        kap_m, kap_rate_m = reading.get("kap"), reading.get("kap_rate")
        kar_m, kar_rate_m = reading.get("air_kerma"), reading.get("air_kerma_rate")
        time_m = reading.get("irradiation_time")
        kap_rate = kap_rate_m.value if kap_rate_m is not None else None
        counted: float | None = None
        rate_alarms: list[AlarmNotice] = []
        if kap_m is not None:
            counted, rate_alarms = self.meter_rate.observe(reading.device, t_mono, kap_m.value, kap_rate)
        rate_source = "meter"
        if counted is not None and (kap_rate is None or (self.meter_rate.mismatch and counted > kap_rate)):
            kap_rate, rate_source = counted, "kap_counter"
        kar_rate = kar_rate_m.value if kar_rate_m is not None else None
        if kar_rate is None and kap_rate is None and kar_m is not None:
            kar_rate, _ = self.kar_rate.observe(reading.device, t_mono, kar_m.value, None)
            rate_source = "air_kerma_counter"
        if kar_rate is not None:
            rate = from_kar_rate(max(kar_rate, 0.0), self.geometry)
        elif kap_rate is not None:
            area, plane = self.generator.field(t_mono)
            rate = from_kap_rate(max(kap_rate, 0.0), self.geometry, area, plane)
        else:
            return Evaluation({}, alarms=rate_alarms)
        self._meter_t = t_mono
        line = reading.get("beam_on")  # a wired X-ray-on line (drivers/bridge.py): the beam's own signal
        meter_beam = (
            (kap_rate or 0.0) >= self.config.beam_on_kap_rate_gy_cm2_min
            or (kar_rate is not None and rate.k_ref_mgy_min > 0)
            or (line is not None and line.value >= 0.5)
        )
        gen_beam = self.generator.beam_on(t_mono)
        beam_on = meter_beam or gen_beam
        self.mode, self.mode_source = self.generator.resolve_mode(t_mono, meter_beam)
        if reading.labels.get("mode") in ("normal", "high_level"):  # a wired mode input (drivers/bridge.py)
            self.mode, self.mode_source = reading.labels["mode"], "mode_input"
        if not meter_beam:
            self.generator.end_run()
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
            area_source=str(rate.factors.get("field_area_source", "assumed")),
        )
        result = self._judge(reading.device, rate, beam_on, sample, kap_delta, t_mono, wall)
        result.derived["rate_source"] = rate_source
        if self.meter_rate.check is not None:
            result.derived["kap_rate_check"] = self.meter_rate.check
        for notice in rate_alarms:
            self.procedure.note_alarm(notice)
        result.alarms += rate_alarms
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
                "esak_rate": quantity(rate.esak_mgy_min, "mGy/min"),
                "k_ref_rate": quantity(rate.k_ref_mgy_min, "mGy/min"),
                "esak_method": rate.method,
                "mode": self.mode,
                "mode_source": self.mode_source,
                "judged": judged,
                "beam_on": beam_on,
            }
        )
        last, procedure = self.procedure.last_sample, self.procedure.current
        procedure_id = procedure.procedure_id if procedure else None
        kap_delta *= self.geometry.kap_calibration  # the room's commissioning factor
        result.records += self.irradiation.track(
            beam_on, self.mode, wall, kap_delta, sample, last, rate, procedure_id
        )
        self.beam_on = beam_on
        self.state, events = evaluate(
            self.state, RateSample(t_mono, rate.esak_mgy_min, self.mode), self.table, self.policy
        )
        for event in events:
            notice = self._notice(event, device, wall, rate)
            result.alarms.append(notice)
            self.procedure.note_alarm(notice)
            if isinstance(event, RateExceeded):
                self.irradiation.note_rate_alarm()
        tracked = self.procedure.observe(sample)
        result.alarms += tracked.alarms
        result.records += tracked.records
        totals = self.procedure.totals()
        if self.procedure.current is not None:
            result.derived["procedure"] = {
                "procedure_id": self.procedure.current.procedure_id,
                "kar": quantity(totals["kar"], "mGy"),
                "kap": quantity(totals["kap"], "Gy·cm²"),
                "fluoro_time": quantity(totals["fluoro_time"], "s"),
                "psd_estimate": quantity(totals["psd"], "mGy"),
                "patient": self.procedure.current.patient,  # pseudonym; the triggers judge its total
                "patient_kar": quantity(self.procedure.patient_totals()["kar"], "mGy"),
            }
        return result

    # ------------------------------------------------------------ commands

    def open_procedure(
        self, t_mono: float, wall: datetime, by: str, patient: str | None = None
    ) -> str | None:
        """The id of the procedure opened, or None if one is already open. `patient`: a pseudonym."""
        if not self.procedure.open(t_mono, wall, by, patient):
            return None
        assert self.procedure.current is not None
        return self.procedure.current.procedure_id

    def close_procedure(self, t_mono: float, wall: datetime, by: str) -> Evaluation:
        return self._identified(self.procedure.close(t_mono, wall, by, ends_patient=True))

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

    # ------------------------------------------------------------ alarm notices

    def _notice(
        self, event: RateExceeded | RateCleared, device: str, wall: datetime, rate: EntranceRate
    ) -> AlarmNotice:
        level = event.level
        procedure = self.procedure.current
        details: dict[str, Any] = {
            "device": device,
            "mode": level.mode,
            "mode_source": self.mode_source,
            "level": quantity(level.rate_mgy_min, "mGy/min", citation=level.citation),
            "value": quantity(event.mean_mgy_min, "mGy/min"),
            "averaged_over": quantity(self.policy.window_s, "s"),
            "factors": {**self.factors, **rate.factors},
            "procedure_id": procedure.procedure_id if procedure else None,
        }
        mode_text = MODE_TEXT.get(level.mode, level.mode)
        severity = self.config.rate_alarm_severity  # per site; "high" by default (docs/fluoroscopy.md)
        if isinstance(event, RateExceeded):
            self._alarm_id = str(uuid.uuid4())
            message = (
                f"Entrance dose rate {event.mean_mgy_min:.1f} mGy/min is above the "
                f"{level.rate_mgy_min:g} mGy/min guidance level for {mode_text}"
            )
            return AlarmNotice(self._alarm_id, "fluoro_dose_rate", "raised", severity, message, details)
        alarm_id = self._alarm_id or str(uuid.uuid4())
        self._alarm_id = None
        details["peak"] = quantity(event.peak_mean_mgy_min, "mGy/min")
        details["reason"] = event.reason
        message = (
            f"Entrance dose rate back to {event.mean_mgy_min:.1f} mGy/min, below the "
            f"{level.rate_mgy_min:g} mGy/min level (peak {event.peak_mean_mgy_min:.1f})"
        )
        if event.reason != "below_level":  # the mode changed: say what the meter reads NOW
            details["value"] = quantity(rate.esak_mgy_min, "mGy/min")
            now = self.table.for_mode(self.mode)
            judged = f"judged against {now.rate_mgy_min:g} mGy/min" if now else "not judged in this mode"
            message = (
                f"Mode changed to {MODE_TEXT.get(self.mode, self.mode)}: the {mode_text} alarm ends; the "
                f"entrance dose rate reads {rate.esak_mgy_min:.1f} mGy/min now, {judged} "
                f"(peak {event.peak_mean_mgy_min:.1f})"
            )
        return AlarmNotice(alarm_id, "fluoro_dose_rate", "cleared", severity, message, details)
