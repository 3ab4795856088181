"""Spot checks entered by command, not read from the activimeter: patient discharge and Mo-99 breakthrough.

`cmd/hotlab_discharge` checks a treated patient's retained activity against Table 6 (entered, or
derived from a dose-rate reading with the site's conversion factor); `cmd/hotlab_eluate` checks a
generator eluate's Mo-99 content (10 CFR 35.204, every eluate), judged at the planned
administration, with the time the eluate reaches the limit. Each check is a record; an exceedance is a high
alarm that stays raised until the next check of the same kind. Pure logic in limits/hotlab.py.
"""

from __future__ import annotations

__all__ = ["SpotChecks"]

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from agent.alarm_latch import AlarmLatch
from agent.clock import Clock, iso_utc
from agent.hotlab.config import HotlabConfig
from agent.hotlab.context import parse_time
from agent.notices import Evaluation, RecordNotice
from agent.payloads import quantity
from agent.pseudonym import Pseudonymiser
from core.errors import CommandError
from limits import hotlab as checks
from limits.hotlab_data import HotlabData, PolicyValue

ELUATE_KEYS = ("mo99_kbq", "mo99_measured_at", "tc99m_mbq", "tc99m_measured_at")


class SpotChecks:
    def __init__(
        self,
        config: HotlabConfig,
        data: HotlabData,
        clock: Clock,
        pseudonymiser: Pseudonymiser,
        policy: Callable[[str], PolicyValue],
        publish: Callable[[Evaluation], None],
    ) -> None:
        self.config = config
        self.data = data
        self.clock = clock
        self.pseudonymiser = pseudonymiser
        self.policy = policy
        self.publish = publish
        self.latch = AlarmLatch()

    def discharge(self, args: dict[str, Any]) -> dict[str, Any]:
        nuclide = str(args.get("nuclide", "I-131"))
        level = self.data.discharge.get(nuclide)
        if level is None:
            raise CommandError(
                f"Table 6 gives no discharge level for {nuclide!r} (known: {', '.join(self.data.discharge)})"
            )
        derived: dict[str, Any] = {}
        if "retained_activity_mbq" in args:
            retained = _number(args, "retained_activity_mbq")
        elif "dose_rate_usv_h" in args:
            factor = self.config.discharge_mbq_per_usv_h
            if factor is None:
                raise CommandError(
                    "no [hotlab].discharge_mbq_per_usv_h configured: enter retained_activity_mbq"
                )
            rate = _number(args, "dose_rate_usv_h")
            retained = checks.retained_from_dose_rate_mbq(rate, factor)
            derived = {"dose_rate": quantity(rate, "µSv/h"), "conversion_mbq_per_usv_h": factor}
        else:
            raise CommandError("give retained_activity_mbq or dose_rate_usv_h")
        finding = checks.check_discharge(retained, level)
        pseudonym = None
        if "patient_id" in args:
            if not isinstance(args["patient_id"], str) or not args["patient_id"].strip():
                raise CommandError("patient_id must be a non-empty string")
            pseudonym = self.pseudonymiser.pseudonym(args["patient_id"])
        record = {
            "by": f"{args['by']} via {args['channel']}",  # the authenticated sender, set by the router
            "nuclide": nuclide,
            "retained_activity": quantity(retained, "MBq"),
            **derived,
            "patient_pseudonym": pseudonym,
            "checked_at": iso_utc(self.clock.wall()),
            "check": finding.as_details(),
        }
        self._emit("discharge", finding, record)
        return {
            "exceeded": finding.exceeded,
            "retained_activity": quantity(retained, "MBq"),
            "level": quantity(level.max_activity_mbq, "MBq"),
        }

    def eluate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Mo-99 per Tc-99m of one eluate, from two measurements each with its own time.

        Every input is required: a Tc-99m activity taken from anything else (the last syringe,
        yesterday's eluate) or without its time would be wrong by orders of magnitude.
        """
        missing = [k for k in ELUATE_KEYS if k not in args]
        if missing:
            raise CommandError(
                f"missing {missing}: the Mo-99 and Tc-99m activities of this eluate and the time each "
                "was measured are all required (the ratio grows by about 11 % per hour)"
            )
        mo99, tc99m = _number(args, "mo99_kbq"), _number(args, "tc99m_mbq")
        if tc99m <= 0:
            raise CommandError("tc99m_mbq must be > 0")
        now = self.clock.wall()
        mo99_at = parse_time(args["mo99_measured_at"], "mo99_measured_at")
        tc99m_at = parse_time(args["tc99m_measured_at"], "tc99m_measured_at")
        if max(mo99_at, tc99m_at) > now + timedelta(minutes=5):
            raise CommandError("a measurement time is in the future")
        planned = None
        if "planned_administration" in args:
            planned = parse_time(args["planned_administration"], "planned_administration")
        hl = self.data.half_lives
        level = self.policy("mo99_breakthrough_kbq_per_mbq")
        finding, limit_at = checks.check_mo99(
            mo99,
            mo99_at,
            tc99m,
            tc99m_at,
            now,
            planned,
            level,
            hl.get("Mo-99").half_life_s,
            hl.get("Tc-99m").half_life_s,
        )
        finding.details.update(
            mo99_measured_at=iso_utc(mo99_at),
            tc99m_measured_at=iso_utc(tc99m_at),
            planned_administration=iso_utc(planned) if planned else None,
            limit_reached_at=iso_utc(limit_at) if limit_at else None,
            half_lives={n: hl.get(n).as_given + " — " + hl.get(n).citation for n in ("Mo-99", "Tc-99m")},
        )
        record = {
            "by": f"{args['by']} via {args['channel']}",
            "generator": args.get("generator"),
            "checked_at": iso_utc(now),
            "check": finding.as_details(),
        }
        self._emit("eluate", finding, record)
        return {
            "exceeded": finding.exceeded,
            "kbq_per_mbq": round(finding.value, 4),
            "ratio_now": finding.details["ratio_now"],
            "ratio_at_administration": finding.details["ratio_at_administration"],
            "limit_reached_at": iso_utc(limit_at) if limit_at else None,
            "level": level.value,
        }

    def _emit(self, kind: str, finding: checks.Finding, record: dict[str, Any]) -> None:
        """A record each time; an exceedance stays raised until the next check of that kind."""
        out = Evaluation(records=[RecordNotice(kind, record)])
        cleared = self.latch.clear(kind, f"Superseded by a new {kind} check")
        if cleared is not None:
            out.alarms.append(cleared)
        if finding.exceeded:
            raised = self.latch.raise_(kind, f"activity_{finding.check}", "high", finding.message, record)
            if raised is not None:
                out.alarms.append(raised)
        self.publish(out)


def _number(args: dict[str, Any], key: str) -> float:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CommandError(f"{key} must be a number ≥ 0")
    return float(value)
