"""The evaluate step for a hot lab: activimeter reading → stable measurement → record and checks.

Readings that are not measurements (a syringe on its way into the well, over-range, frozen) never
become records (limits/stability.py decides). A stable measurement becomes `record/activity` with
what Art. 24 and 26 of the regulation ask for, checked against the preparation context sent on
`cmd/hotlab_context`: the prescription, Table 5, the EANM card; each exceedance is an alarm with
its level and source. QC lives in agent/hotlab/qc.py; pure logic in limits/.
"""

from __future__ import annotations

__all__ = ["HotlabMonitor"]

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from agent.alarm_latch import AlarmLatch
from agent.clock import Clock, iso_utc
from agent.commands.router import CommandRouter
from agent.hotlab.config import HotlabConfig
from agent.hotlab.context import PreparationContext, parse_context
from agent.hotlab.findings import judge
from agent.hotlab.qc import HotlabStore, QcDesk
from agent.hotlab.spot import SpotChecks
from agent.hotlab.view import LiveState
from agent.notices import AlarmNotice, Evaluation, RecordNotice
from agent.payloads import quantity
from agent.pseudonym import Pseudonymiser
from drivers.model import Reading, Status
from limits.decay import decay_factor
from limits.hotlab_data import HotlabData, load_hotlab_data
from limits.stability import StabilityDetector, StabilityPolicy, StableMeasurement


def _unpublished(evaluation: Evaluation) -> None:
    raise RuntimeError("HotlabMonitor.publish is not wired to the pipeline")


class HotlabMonitor:
    def __init__(self, config: HotlabConfig, clock: Clock, data: HotlabData | None = None) -> None:
        self.config = config
        self.clock = clock
        self.data = data or load_hotlab_data()
        self.store = HotlabStore(config.store_path)
        self.pseudonymiser = Pseudonymiser(config.pseudonym_key_path)
        self.qc = QcDesk(config, self.data, self.store, config.activimeter)
        self.detector = StabilityDetector(
            StabilityPolicy(config.stable_window_s, config.stable_tolerance_fraction, config.presence_mbq)
        )
        self.context = PreparationContext()
        self.latch = AlarmLatch()
        self.publish: Callable[[Evaluation], None] = _unpublished  # set by the pipeline
        self.measurements = 0
        self.live: LiveState | None = None  # what the live view shows
        self.spot = SpotChecks(
            config,
            self.data,
            clock,
            self.pseudonymiser,
            self.qc.policy,
            lambda evaluation: self.publish(evaluation),
        )

    def concerns(self, reading: Reading) -> bool:
        return reading.device == self.config.activimeter

    # --- readings -------------------------------------------------------------------------------
    def observe(self, reading: Reading, t_mono: float, wall: datetime) -> Evaluation:
        out = self.qc.watch(wall)
        self._calibration_watch(wall, out)
        nuclide = reading.labels.get("nuclide", "unknown")
        chamber = reading.labels.get("chamber", "1")
        # Over-range readings carry no number (drivers/capintec.py): judge the status first.
        over = reading.status == Status.OVER_RANGE
        self._latched(
            out,
            "over_range",
            over,
            "activity_over_range",
            f"Activimeter {reading.device} is over range: the activity in the well is not known",
            "Activimeter back in range",
            {"device": reading.device, "nuclide": nuclide, "chamber": chamber},
        )
        m = reading.get("activity")
        if m is None:
            if over:
                self.detector.sample(t_mono, 0.0, nuclide, chamber, valid=False)
                self._show(out, nuclide, chamber, None, "over_range")
            return out
        valid = reading.status == Status.OK
        if valid and self.qc.wants_any_reading():
            self._merge(out, self.qc.take(m.value, wall))
        half_life = self.data.half_lives.rows.get(nuclide)
        stable = self.detector.sample(
            t_mono, m.value, nuclide, chamber, valid, half_life.half_life_s if half_life else None
        )
        self._show(out, nuclide, chamber, m.value, self._state(reading, m.value, stable is not None))
        if stable is None:
            return out
        if self.qc.wants_stable(nuclide):
            self._merge(out, self.qc.take(stable.activity_mbq, wall, nuclide))
            return out
        self._measurement(reading, stable.activity_mbq, m.raw_value, m.raw_unit, stable, wall, out)
        return out

    def _state(self, reading: Reading, activity_mbq: float, stable_now: bool) -> str:
        if reading.status != Status.OK:
            return str(reading.status)
        if stable_now or self.detector.holding:
            return "stable"
        return "empty" if activity_mbq < self.config.presence_mbq else "settling"

    def _show(self, out: Evaluation, nuclide: str, chamber: str, mbq: float | None, state: str) -> None:
        out.derived["activity_state"] = state
        self.live = LiveState(nuclide, chamber, mbq, state)

    def _measurement(
        self,
        reading: Reading,
        activity: float,
        raw: float,
        raw_unit: str,
        stable: StableMeasurement,
        wall: datetime,
        out: Evaluation,
    ) -> None:
        self.measurements += 1
        ctx = self.context
        for key in self.latch.keys("finding:"):
            cleared = self.latch.clear(key, "Superseded by a new activity measurement")
            if cleared is not None:
                out.alarms.append(cleared)
        at_admin, decay = self._at_administration(activity, stable.nuclide, wall)
        judged = judge(ctx, self.data, self.qc.policy, activity, at_admin, stable.nuclide, wall)
        findings = judged.findings
        record: dict[str, Any] = {
            "nuclide": stable.nuclide,
            "chamber": stable.chamber,
            "activity": quantity(activity, "MBq"),
            "displayed": quantity(raw, raw_unit),
            "measured_at": iso_utc(wall),
            "device": reading.device,
            "device_info": reading.device_info,
            "calibration": self._calibration(wall),
            "stability": {
                "samples": stable.samples,
                "spread_fraction": round(stable.spread_fraction, 5),
                "window": quantity(stable.window_s, "s"),
            },
            "context": ctx.as_payload(),
            "activity_at_administration": quantity(at_admin, "MBq", **decay),
            "checks": [f.as_details() for f in findings],
            "not_checked": judged.not_checked,
        }
        out.records.append(RecordNotice("activity", record))
        if ctx.nuclide is not None and ctx.nuclide != stable.nuclide:
            self._alarm(
                out,
                "finding:nuclide",
                "activity_nuclide_mismatch",
                f"Activimeter set to {stable.nuclide} but the preparation is {ctx.nuclide}",
                record,
            )
        for missing in judged.not_checked:
            self._alarm(
                out,
                f"finding:{missing['check']}_not_checked",
                f"{missing['check']}_not_checked",
                f"No {missing['check']} check: {missing['reason']}",
                {"device": reading.device, **missing, "measured_at": record["measured_at"]},
                "warning",
            )
        for f in findings:
            if f.exceeded:
                self._alarm(
                    out,
                    f"finding:{f.check}",
                    f"activity_{f.check}",
                    f.message,
                    {
                        "device": reading.device,
                        **f.as_details(),
                        "measured_at": record["measured_at"],
                        "context": record["context"],
                    },
                )

    def _at_administration(
        self, activity: float, nuclide: str, wall: datetime
    ) -> tuple[float, dict[str, Any]]:
        planned = self.context.planned_administration
        if planned is None:
            return activity, {
                "decay_corrected": False,
                "reason": "no planned administration time: the activity as measured",
            }
        half_life = self.data.half_lives.rows.get(nuclide)
        if half_life is None:
            return activity, {"decay_corrected": False, "reason": f"no half-life for {nuclide}"}
        elapsed = (planned - wall).total_seconds()
        return activity * decay_factor(half_life.half_life_s, elapsed), {
            "decay_corrected": True,
            "to": iso_utc(planned),
            "elapsed": quantity(elapsed, "s"),
            "half_life": half_life.as_given,
            "half_life_citation": half_life.citation,
        }

    def _calibration(self, wall: datetime) -> dict[str, Any]:
        calibrated = date.fromisoformat(self.config.calibration_date)
        due = calibrated + timedelta(days=self.config.calibration_interval_days)
        return {
            "date": calibrated.isoformat(),
            "due": due.isoformat(),
            "status": "valid" if wall.date() <= due else "overdue",
            "constancy_today": self.qc.constancy_status(wall),
        }

    def _calibration_watch(self, wall: datetime, out: Evaluation) -> None:
        calibration = self._calibration(wall)
        self._latched(
            out,
            "calibration",
            calibration["status"] == "overdue",
            "activimeter_calibration_overdue",
            f"Activimeter calibration against a traceable standard was due {calibration['due']} (Art. 24)",
            "Activimeter calibration is valid",
            {"device": self.config.activimeter, **calibration},
        )

    # --- alarms ---------------------------------------------------------------------------------
    def _alarm(
        self,
        out: Evaluation,
        key: str,
        alarm_type: str,
        message: str,
        details: dict[str, Any],
        severity: str = "high",
    ) -> None:
        notice = self.latch.raise_(key, alarm_type, severity, message, details)
        if notice is not None:
            out.alarms.append(notice)

    def _latched(
        self,
        out: Evaluation,
        key: str,
        active: bool,
        alarm_type: str,
        raise_msg: str,
        clear_msg: str,
        details: dict[str, Any],
    ) -> None:
        notice: AlarmNotice | None
        if active:
            notice = self.latch.raise_(key, alarm_type, "warning", raise_msg, details)
        else:
            notice = self.latch.clear(key, clear_msg, details)
        if notice is not None:
            out.alarms.append(notice)

    @staticmethod
    def _merge(out: Evaluation, more: Evaluation) -> None:
        out.alarms += more.alarms
        out.records += more.records
        out.derived.update(more.derived)

    # --- commands -------------------------------------------------------------------------------
    def register_commands(self, router: CommandRouter) -> None:
        router.register("hotlab_context", self.cmd_context)
        router.register("hotlab_source", self.qc.register_source)
        router.register("hotlab_qc", self.cmd_qc)
        router.register("hotlab_discharge", self.spot.discharge)
        router.register("hotlab_eluate", self.spot.eluate)

    def cmd_context(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("clear") is True:
            self.context = PreparationContext()
            return {"context": {}}
        self.context = parse_context(args, self.pseudonymiser, self.data)
        ctx, card = self.context, self.data.card
        warnings = []
        if ctx.weight_kg is not None and (
            ctx.radiopharmaceutical is None or card.find(ctx.radiopharmaceutical) is None
        ):
            warnings.append(
                f"paediatric_not_checked: {ctx.radiopharmaceutical or 'no radiopharmaceutical'} is not on "
                f"the EANM dosage card ({len(card.radiopharmaceuticals)} entries): no paediatric check"
            )
        return {"context": ctx.as_payload(), "warnings": warnings}

    def cmd_qc(self, args: dict[str, Any]) -> dict[str, Any]:
        result, evaluation = self.qc.command(args, self.clock.wall())
        self.publish(evaluation)
        return result
