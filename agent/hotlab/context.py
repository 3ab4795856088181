"""What the hot lab is preparing, as sent by a RIS or front-desk tool on `…/cmd/hotlab_context`.

The command is checked strictly (unknown keys, wrong types and unknown exams are refused with the
reason) and the patient identifier is pseudonymised on arrival: the raw identifier is not kept. A RIS
that holds the box's pseudonym key sends `patient_pseudonym` instead, and the raw identifier never
crosses the broker (docs/security.md).
"""

from __future__ import annotations

__all__ = ["PreparationContext", "parse_context", "parse_time"]

import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from agent.clock import iso_utc
from agent.payloads import quantity
from agent.pseudonym import Pseudonymiser
from core.errors import CommandError
from limits.hotlab_data import HotlabData

_TEXT = ("exam", "nuclide", "chemical_form", "dispense_id", "operator", "radiopharmaceutical")
_NUMBERS = {"weight_kg": (0.5, 300.0), "prescribed_activity_mbq": (0.001, 100_000.0)}
KNOWN = {*_TEXT, *_NUMBERS, "patient_id", "patient_pseudonym", "planned_administration", "table5_row"}
KNOWN |= {"command_id", "by", "channel"}  # by, channel: the authenticated sender, set by the router
_PSEUDONYM = re.compile(r"^pid-[0-9a-f]{32}$")  # what Pseudonymiser makes, computed by the RIS itself


@dataclass(frozen=True)
class PreparationContext:
    exam: str | None = None
    nuclide: str | None = None
    chemical_form: str | None = None
    table5_row: int | None = None
    patient_pseudonym: str | None = None
    dispense_id: str | None = None
    operator: str | None = None
    radiopharmaceutical: str | None = None  # EANM card key
    weight_kg: float | None = None
    prescribed_activity_mbq: float | None = None
    planned_administration: datetime | None = None

    def as_details(self) -> dict[str, Any]:
        out = asdict(self)
        if self.planned_administration is not None:
            out["planned_administration"] = iso_utc(self.planned_administration)
        return {k: v for k, v in out.items() if v is not None}

    def as_payload(self) -> dict[str, Any]:
        """As published (docs/mqtt.md, v2): the weight and prescription as quantities."""
        out = self.as_details()
        if "weight_kg" in out:
            out["weight"] = quantity(out.pop("weight_kg"), "kg")
        if "prescribed_activity_mbq" in out:
            out["prescribed_activity"] = quantity(out.pop("prescribed_activity_mbq"), "MBq")
        return out


def parse_time(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise CommandError(f"{key} must be an ISO-8601 date-time string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CommandError(f"{key}: {exc}") from exc
    if moment.tzinfo is None:
        raise CommandError(f"{key} must carry a UTC offset (e.g. 2026-11-22T10:30:00+01:00)")
    return moment


def parse_context(args: dict[str, Any], pseudonymiser: Pseudonymiser, data: HotlabData) -> PreparationContext:
    unknown = sorted(set(args) - KNOWN)
    if unknown:
        raise CommandError(f"unknown keys {unknown} (known: {', '.join(sorted(KNOWN - {'command_id'}))})")
    values: dict[str, Any] = {}
    for key in _TEXT:
        if key in args:
            if not isinstance(args[key], str) or not args[key].strip():
                raise CommandError(f"{key} must be a non-empty string")
            values[key] = args[key].strip()
    for key, (low, high) in _NUMBERS.items():
        if key in args:
            value = args[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise CommandError(f"{key} must be a number from {low:g} to {high:g}")
            values[key] = float(value)
    if "patient_id" in args:
        if not isinstance(args["patient_id"], str) or not args["patient_id"].strip():
            raise CommandError("patient_id must be a non-empty string")
        values["patient_pseudonym"] = pseudonymiser.pseudonym(args["patient_id"])
    if "patient_pseudonym" in args:  # a RIS holding the shared key: the raw id never crosses the broker
        if "patient_id" in args or not _PSEUDONYM.match(str(args["patient_pseudonym"])):
            raise CommandError("patient_pseudonym must be pid-<32 hex> (and not sent with patient_id)")
        values["patient_pseudonym"] = args["patient_pseudonym"]
    if "planned_administration" in args:
        values["planned_administration"] = parse_time(
            args["planned_administration"], "planned_administration"
        )
    if "table5_row" in args:
        row = args["table5_row"]
        if isinstance(row, bool) or not isinstance(row, int):
            raise CommandError("table5_row must be a whole number")
        try:
            found = data.table5.row(row)
        except KeyError as exc:
            raise CommandError(str(exc)) from exc
        values.update(
            table5_row=row, exam=found.exam, nuclide=found.nuclide, chemical_form=found.chemical_form
        )
    context = PreparationContext(**values)
    if context.exam is not None:
        if context.nuclide is None:
            raise CommandError("exam given without nuclide")
        try:
            data.table5.lookup(context.exam, context.nuclide, context.chemical_form)
        except KeyError as exc:
            raise CommandError(f"{exc.args[0]} (exams: {', '.join(data.table5.exams)})") from exc
    if context.radiopharmaceutical is not None:  # a card alias (tc99m_mdp) is kept as the card's key
        pharma = data.card.find(context.radiopharmaceutical)
        if pharma is not None:
            context = replace(context, radiopharmaceutical=pharma.key)
    return context
