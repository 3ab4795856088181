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
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.alarm_latch import AlarmLatch
from agent.clock import iso_utc
from agent.hotlab.config import SITE, HotlabConfig, resolve_policy
from agent.hotlab.context import parse_time
from agent.notices import Evaluation, RecordNotice
from agent.store.docstore import AtomicJSONStorage, DocStore
from core.errors import CommandError
from limits import activimeter_qc as qc
from limits.hotlab_data import HotlabData, PolicyValue

TESTS = ("constancy", "accuracy", "linearity", "background", "zero")
SOURCES, RESULTS = "reference_sources", "qc_results"  # DocStore collections


class HotlabStore:
    """The box's memory of reference sources (keyed by serial) and QC results (keyed
    `<local date>/<test>/<n>`), in a DocStore a physicist can read. A corrupt file is a StoreError,
    never moved aside: the sources' certificates and the QC history are not to be started afresh."""

    def __init__(self, path: str | Path) -> None:
        _wrap_bare_rows(Path(path))
        self.docs = DocStore(path, refuse_corrupt=True)

    def put_source(self, source: qc.ReferenceSource) -> None:
        self.docs.put(SOURCES, source.serial, source.as_document())

    def source(self, serial: str) -> qc.ReferenceSource:
        found = self.docs.get(SOURCES, serial)
        if found is None:
            known = ", ".join(self.docs.items(SOURCES)) or "none registered"
            raise KeyError(f"no reference source with serial {serial!r} ({known})")
        return qc.ReferenceSource(
            str(found["serial"]),
            str(found["nuclide"]),
            float(found["certified_activity_mbq"]),
            datetime.fromisoformat(str(found["certified_at"])),
        )

    def sources(self) -> list[dict[str, Any]]:
        return list(self.docs.items(SOURCES).values())

    def add_qc(self, document: dict[str, Any]) -> None:
        prefix = f"{document['local_date']}/{document['test']}/"
        n = sum(key.startswith(prefix) for key in self.docs.items(RESULTS)) + 1
        self.docs.put(RESULTS, f"{prefix}{n}", document)

    def qc_on(self, local_date: str, test: str) -> list[dict[str, Any]]:
        """That day's results of `test`, oldest first."""
        results = self.docs.items(RESULTS).values()
        return [d for d in results if d.get("local_date") == local_date and d.get("test") == test]

    def close(self) -> None:
        self.docs.close()


def _wrap_bare_rows(path: Path) -> None:
    """Files written before the hot lab used DocStore held bare rows; wrap them as {key, doc} once.

    Unreleased format (CHANGELOG), but `doseedge demo --station hotlab` keeps its file in var/.
    """
    try:
        data = AtomicJSONStorage(path).read()
    except (OSError, ValueError):
        return  # DocStore reports what is wrong with the file
    if not data or all("doc" in row for table in data.values() for row in table.values()):
        return
    keys: dict[str, int] = {}
    for table_name, table in data.items():
        for row_id, row in table.items():
            if "doc" in row:
                continue
            if table_name == SOURCES:
                key = str(row["serial"])
            else:
                prefix = f"{row.get('local_date')}/{row.get('test')}/"
                keys[prefix] = keys.get(prefix, 0) + 1
                key = f"{prefix}{keys[prefix]}"
            table[row_id] = {"key": key, "doc": row}
    AtomicJSONStorage(path).write(data)


@dataclass(frozen=True)
class _Armed:
    test: str
    source: qc.ReferenceSource | None
    operator: str | None


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

    def constancy_status(self, wall: datetime) -> str:
        done = self.store.qc_on(self.local_date(wall), "constancy")
        return str(done[-1]["result"]) if done else "missing"

    # --- commands -------------------------------------------------------------------------------
    def register_source(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            source = qc.ReferenceSource(
                str(args["serial"]),
                str(args["nuclide"]),
                float(args["certified_activity_mbq"]),
                parse_time(args["certified_at"], "certified_at"),
            )
        except KeyError as exc:
            raise CommandError(
                f"missing key {exc.args[0]!r} (serial, nuclide, certified_activity_mbq, certified_at)"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise CommandError(f"bad reference source: {exc}") from exc
        if source.nuclide not in self.data.half_lives:
            raise CommandError(f"no half-life for {source.nuclide!r}: cannot decay-correct this source")
        if source.certified_activity_mbq <= 0:
            raise CommandError("certified_activity_mbq must be > 0")
        self.store.put_source(source)
        return {"source": source.as_document(), "sources": len(self.store.sources())}

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
        measured = args.get("measured_mbq")
        if measured is None:
            self.armed = _Armed(test, source, operator)
            return {"armed": test, "source_serial": source.serial if source else None}, Evaluation()
        if isinstance(measured, bool) or not isinstance(measured, int | float):
            raise CommandError("measured_mbq must be a number")
        result = self.evaluate(test, float(measured), source, wall)
        return {"result": result.result, "message": result.message}, self.publish(
            result, source, operator, wall, "entered"
        )

    def _linearity(
        self, args: dict[str, Any], source: qc.ReferenceSource, operator: str | None, wall: datetime
    ) -> tuple[dict[str, Any], Evaluation]:
        raw = args.get("points")
        if not isinstance(raw, list) or len(raw) < 3:
            raise CommandError("linearity needs points: a list of at least 3 {at, measured_mbq}")
        try:
            times = [parse_time(p["at"], "points[].at") for p in raw]
            values = [float(p["measured_mbq"]) for p in raw]
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"bad linearity point: {exc}") from exc
        t0 = min(times)
        points = [((t - t0).total_seconds(), v) for t, v in zip(times, values, strict=True)]
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
        return armed is not None and armed.source is not None and armed.source.nuclide == nuclide

    def take(self, measured_mbq: float, wall: datetime) -> Evaluation:
        armed = self.armed
        assert armed is not None
        self.armed = None
        result = self.evaluate(armed.test, measured_mbq, armed.source, wall)
        return self.publish(result, armed.source, armed.operator, wall, "activimeter")

    def evaluate(
        self, test: str, measured: float, source: qc.ReferenceSource | None, wall: datetime
    ) -> qc.QcResult:
        if test == "background":
            return qc.check_background(measured, self.config.background_max_mbq, f"{SITE}.background_max_mbq")
        if test == "zero":
            return qc.check_zero(measured, self.config.zero_tolerance_mbq, f"{SITE}.zero_tolerance_mbq")
        assert source is not None
        expected = qc.expected_activity_mbq(source, wall, self.data.half_lives.get(source.nuclide))
        if test == "constancy":
            return qc.check_constancy(
                measured,
                expected,
                self.policy("constancy_action_fraction"),
                self.policy("constancy_warning_fraction"),
            )
        return qc.check_accuracy(measured, expected, self.policy("accuracy_fraction"))

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
            "measured": {"value": round(result.measured, 5), "unit": result.unit},
            "expected": None
            if result.expected is None
            else {"value": round(result.expected, 5), "unit": result.unit},
            "message": result.message,
            "levels": result.levels,
            **result.details,
            "source": source.as_document() if source else None,
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
        cleared = self.latch.clear(
            key, f"Activimeter {result.test} check passed again", {"device": self.device}
        )
        if cleared is not None:
            out.alarms.append(cleared)
        if result.result != "pass":
            severity = "high" if result.result == "fail" else "warning"
            raised = self.latch.raise_(
                key, key, severity, f"Activimeter {result.message}", {"device": self.device, **document}
            )
            if raised is not None:
                out.alarms.append(raised)
        if result.test == "constancy":
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
        if local.time() < self.due or self.constancy_status(wall) != "missing":
            return out
        notice = self.latch.raise_(
            "qc_constancy_missing",
            "qc_constancy_missing",
            "warning",
            f"No activimeter constancy check recorded today ({local.date().isoformat()}, "
            f"due {self.config.constancy_due_local})",
            {
                "device": self.device,
                "local_date": local.date().isoformat(),
                "citation": self.data.policy["constancy_action_fraction"].citation,
            },
        )
        if notice is not None:
            out.alarms.append(notice)
        return out
