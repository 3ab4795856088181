"""Activimeter QC at the box: reference sources, QC runs, the daily-constancy watch.

A QC test is either entered with its measured value (`hotlab_qc` with `measured_mbq`) or armed:
the next stable reading of the reference source's nuclide (constancy, accuracy) or the next valid
reading (background, zero) is taken as the QC measurement. Every result is a `record/qc` and a
document in the hot-lab store; a failed test raises an alarm that the next pass clears. Missing or
failed daily constancy is an alarm, so the records Art. 24 and 26 ask for exist by construction.
"""

from __future__ import annotations

__all__ = ["HotlabStore", "QcDesk"]

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from agent.alarm_latch import AlarmLatch
from agent.clock import iso_utc
from agent.hotlab.config import SITE, HotlabConfig, resolve_policy
from agent.hotlab.qc_input import parse_linearity_points, parse_reference_source
from agent.hotlab.store import HotlabStore, source_payload
from agent.notices import Evaluation, RecordNotice
from agent.payloads import quantity
from core.errors import CommandError
from limits import activimeter_qc as qc
from limits.hotlab_data import HotlabData, PolicyValue

TESTS = ("constancy", "accuracy", "linearity", "background", "zero")


@dataclass(frozen=True)
class _Armed:
    test: str
    source: qc.ReferenceSource | None
    operator: str | None
    pending: tuple[str, ...] = ()  # nuclide settings still to be read (constancy, accuracy)


class QcDesk:
    def __init__(self, config: HotlabConfig, data: HotlabData, store: HotlabStore, device: str) -> None:
        self.config = config
        self.data = data
        self.store = store
        self.device = device
        self.tz = ZoneInfo(config.timezone)
        hour, minute = config.constancy_due_local.split(":")
        self.due = time(int(hour), int(minute))
        self.latch = AlarmLatch()
        self.armed: _Armed | None = None

    def policy(self, key: str) -> PolicyValue:
        return resolve_policy(self.config, self.data.policy, key)

    def local_date(self, wall: datetime) -> str:
        return wall.astimezone(self.tz).date().isoformat()

    def constancy_settings(self, source: qc.ReferenceSource) -> tuple[str, ...]:
        """The source's own setting, then every clinical setting of the station."""
        return (source.nuclide, *(s for s in self.config.clinical_settings if s != source.nuclide))

    def constancy_today(self, wall: datetime) -> tuple[str, list[str]]:
        """(status, settings with no result today): fail > incomplete > warning > pass; or missing."""
        done = self.store.qc_on(self.local_date(wall), "constancy")
        if not done:
            return "missing", list(self.config.clinical_settings)
        latest: dict[str, str] = {}
        for d in done:
            source = d.get("source") or {}
            latest[str(d.get("setting") or source.get("nuclide"))] = str(d["result"])
        lacking = [s for s in self.config.clinical_settings if s not in latest]
        results = set(latest.values())
        if "fail" in results:
            return "fail", lacking
        if lacking:
            return "incomplete", lacking
        return ("warning" if "warning" in results else "pass"), lacking

    def constancy_status(self, wall: datetime) -> str:
        return self.constancy_today(wall)[0]

    # --- commands -------------------------------------------------------------------------------
    def register_source(self, args: dict[str, Any]) -> dict[str, Any]:
        source = parse_reference_source(args, self.data.half_lives)
        self.store.put_source(source)
        return {"source": source_payload(source), "sources": len(self.store.sources())}

    def command(self, args: dict[str, Any], wall: datetime) -> tuple[dict[str, Any], Evaluation]:
        test = args.get("test")
        if test not in TESTS:
            raise CommandError(f"test must be one of {', '.join(TESTS)}")
        operator = f"{args['by']} via {args['channel']}"  # the authenticated sender (router), not free text
        source = None
        if test in ("constancy", "accuracy", "linearity"):
            try:
                source = self.store.source(str(args.get("source_serial")))
            except KeyError as exc:
                raise CommandError(str(exc.args[0])) from exc
        if test == "linearity":
            assert source is not None
            return self._linearity(args, source, operator, wall)
        settings: tuple[str, ...] = ()
        if source is not None:
            settings = self.constancy_settings(source) if test == "constancy" else (source.nuclide,)
            if test == "constancy":
                for setting in settings:  # refuse now, not when the source is in the well
                    try:
                        qc.constancy_baseline(source, setting, wall, self.data.half_lives.get(source.nuclide))
                    except ValueError as exc:
                        raise CommandError(str(exc)) from exc
        measured = args.get("measured_mbq")
        if measured is None:
            self.armed = _Armed(test, source, operator, settings)
            return {
                "armed": test,
                "source_serial": source.serial if source else None,
                "settings": list(settings),
            }, Evaluation()
        if isinstance(measured, bool) or not isinstance(measured, int | float):
            raise CommandError("measured_mbq must be a number")
        entered: str | None = args.get("setting", settings[0] if settings else None)
        if source is not None and entered not in settings:
            raise CommandError(f"setting must be one of {', '.join(settings)}")
        result = self.evaluate(test, float(measured), source, wall, entered)
        return {"result": result.result, "message": result.message}, self.publish(
            result, source, operator, wall, "entered"
        )

    def _linearity(
        self, args: dict[str, Any], source: qc.ReferenceSource, operator: str | None, wall: datetime
    ) -> tuple[dict[str, Any], Evaluation]:
        points = parse_linearity_points(args)
        half_life = self.data.half_lives.get(source.nuclide)
        try:
            result = qc.check_linearity(points, half_life.half_life_s, self.policy("linearity_fraction"))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        return {"result": result.result, "message": result.message}, self.publish(
            result, source, operator, wall, "entered"
        )

    # --- readings -------------------------------------------------------------------------------
    def wants_any_reading(self) -> bool:
        return self.armed is not None and self.armed.test in ("background", "zero")

    def wants_stable(self, nuclide: str) -> bool:
        armed = self.armed
        return armed is not None and armed.source is not None and nuclide in armed.pending

    def take(self, measured_mbq: float, wall: datetime, setting: str | None = None) -> Evaluation:
        """The armed test's measurement; a constancy run stays armed until every setting is read."""
        armed = self.armed
        assert armed is not None
        pending = tuple(s for s in armed.pending if s != setting)
        self.armed = _Armed(armed.test, armed.source, armed.operator, pending) if pending else None
        result = self.evaluate(armed.test, measured_mbq, armed.source, wall, setting)
        return self.publish(result, armed.source, armed.operator, wall, "activimeter")

    def evaluate(
        self,
        test: str,
        measured: float,
        source: qc.ReferenceSource | None,
        wall: datetime,
        setting: str | None = None,
    ) -> qc.QcResult:
        if test == "background":
            return qc.check_background(measured, self.config.background_max_mbq, f"{SITE}.background_max_mbq")
        if test == "zero":
            return qc.check_zero(measured, self.config.zero_tolerance_mbq, f"{SITE}.zero_tolerance_mbq")
        assert source is not None
        half_life = self.data.half_lives.get(source.nuclide)
        if test == "constancy":
            expected, baseline = qc.constancy_baseline(source, setting or source.nuclide, wall, half_life)
            result = qc.check_constancy(
                measured,
                expected,
                self.policy("constancy_action_fraction"),
                self.policy("constancy_warning_fraction"),
            )
            result.details.update(setting=setting or source.nuclide, baseline=baseline)
            return result
        expected = qc.expected_activity_mbq(source, wall, half_life)  # accuracy: the certificate
        result = qc.check_accuracy(measured, expected, self.policy("accuracy_fraction"))
        result.details.update(setting=source.nuclide, baseline={"kind": "certificate"})
        return result

    def publish(
        self,
        result: qc.QcResult,
        source: qc.ReferenceSource | None,
        operator: str | None,
        wall: datetime,
        how: str,
    ) -> Evaluation:
        document: dict[str, Any] = {
            "test": result.test,
            "result": result.result,
            "measured": quantity(result.measured, result.unit),
            "expected": None if result.expected is None else quantity(result.expected, result.unit),
            "message": result.message,
            "levels": result.levels,
            **result.details,
            "source": source_payload(source) if source else None,
            "device": self.device,
            "measured_at": iso_utc(wall),
            "local_date": self.local_date(wall),
            "operator": operator,
            "entry": how,
            "calibration_date": self.config.calibration_date,
        }
        self.store.add_qc(document)
        out = Evaluation(records=[RecordNotice("qc", document)])
        key = f"qc_{result.test}"
        if result.test == "constancy":
            key += f":{document['setting']}"  # one alarm per nuclide setting
        cleared = self.latch.clear(
            key, f"Activimeter {result.test} check passed again", {"device": self.device}
        )
        if cleared is not None:
            out.alarms.append(cleared)
        if result.result != "pass":
            severity = "high" if result.result == "fail" else "warning"
            raised = self.latch.raise_(
                key,
                f"qc_{result.test}",
                severity,
                f"Activimeter {result.message}",
                {"device": self.device, **document},
            )
            if raised is not None:
                out.alarms.append(raised)
        if result.test == "constancy" and self.constancy_today(wall)[0] not in ("missing", "incomplete"):
            missing = self.latch.clear(
                "qc_constancy_missing", "Today's constancy check is done", {"device": self.device}
            )
            if missing is not None:
                out.alarms.append(missing)
        return out

    def watch(self, wall: datetime) -> Evaluation:
        """Raise `qc_constancy_missing` once today is past the due time without a constancy check."""
        out = Evaluation()
        local = wall.astimezone(self.tz)
        status, lacking = self.constancy_today(wall)
        if local.time() < self.due or status not in ("missing", "incomplete"):
            return out
        on = f" on the {', '.join(lacking)} settings" if lacking else ""
        notice = self.latch.raise_(
            "qc_constancy_missing",
            "qc_constancy_missing",
            "warning",
            f"No activimeter constancy check recorded today{on} ({local.date().isoformat()}, "
            f"due {self.config.constancy_due_local})",
            {
                "device": self.device,
                "local_date": local.date().isoformat(),
                "settings_missing": lacking,
                "citation": self.data.policy["constancy_action_fraction"].citation,
            },
        )
        if notice is not None:
            out.alarms.append(notice)
        return out
