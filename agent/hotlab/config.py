"""The `[hotlab]` table: which activimeter, its calibration, QC and stability settings.

Policy numbers (tolerances, QC action levels, Mo-99 limit) default to the cited values in
limits/data/hotlab-policy.toml; a key set here overrides its row and records then cite this file.
"""

from __future__ import annotations

__all__ = ["HotlabConfig", "resolve_policy"]

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits.hotlab_data import PolicyValue

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

SITE = "station configuration [hotlab]"
POLICY_KEYS = (
    "prescribed_tolerance_fraction",
    "paediatric_tolerance_fraction",
    "constancy_action_fraction",
    "constancy_warning_fraction",
    "accuracy_fraction",
    "linearity_fraction",
)


@dataclass(frozen=True)
class HotlabConfig:
    activimeter: str  # a [[devices]] name
    calibration_date: str  # last calibration against a traceable standard (Art. 24), YYYY-MM-DD
    background_max_mbq: float  # site commissioning value: no cited default exists
    zero_tolerance_mbq: float  # site commissioning value: no cited default exists
    calibration_interval_days: int = 365
    timezone: str = "UTC"  # IANA name; "today" for the daily constancy check is the local day
    constancy_due_local: str = "09:00"  # alarm if no constancy check yet today by this local time
    store_path: str = "var/doseedge/hotlab.json"
    pseudonym_key_path: str = "var/doseedge/pseudonym.key"
    stable_window_s: float = 3.0
    stable_tolerance_fraction: float = 0.02
    presence_mbq: float = 0.5
    discharge_mbq_per_usv_h: float | None = None  # measured at the site; None refuses the dose-rate route
    prescribed_tolerance_fraction: float | None = None
    paediatric_tolerance_fraction: float | None = None
    constancy_action_fraction: float | None = None
    constancy_warning_fraction: float | None = None
    accuracy_fraction: float | None = None
    linearity_fraction: float | None = None
    mo99_breakthrough_kbq_per_mbq: float | None = None
    unplanned_administration_window_s: float | None = None
    # Nuclide settings used clinically: the daily constancy check reads each reference source on
    # every one of them (and on the source's own setting), against its acceptance reading there.
    clinical_settings: tuple[str, ...] = ()

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        try:
            date.fromisoformat(self.calibration_date)
        except ValueError:
            problems.append(("calibration_date", "must be a date YYYY-MM-DD"))
        if not 1 <= self.calibration_interval_days <= 3650:
            problems.append(("calibration_interval_days", "must be 1–3650"))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(("timezone", "must be an IANA time-zone name such as Africa/Algiers"))
        if not _HHMM.match(self.constancy_due_local):
            problems.append(("constancy_due_local", "must be HH:MM (24 h)"))
        if self.background_max_mbq <= 0:
            problems.append(("background_max_mbq", "must be > 0"))
        if self.zero_tolerance_mbq <= 0:
            problems.append(("zero_tolerance_mbq", "must be > 0"))
        if not 0.5 <= self.stable_window_s <= 60:
            problems.append(("stable_window_s", "must be 0.5–60"))
        if not 0.001 <= self.stable_tolerance_fraction <= 0.2:
            problems.append(("stable_tolerance_fraction", "must be 0.001–0.2"))
        if self.presence_mbq <= 0:
            problems.append(("presence_mbq", "must be > 0"))
        if self.discharge_mbq_per_usv_h is not None and self.discharge_mbq_per_usv_h <= 0:
            problems.append(("discharge_mbq_per_usv_h", "must be > 0"))
        for key in POLICY_KEYS:
            value = getattr(self, key)
            if value is not None and not 0 < value < 1:
                problems.append((key, "must be a fraction > 0 and < 1"))
        if self.mo99_breakthrough_kbq_per_mbq is not None and self.mo99_breakthrough_kbq_per_mbq <= 0:
            problems.append(("mo99_breakthrough_kbq_per_mbq", "must be > 0"))
        window = self.unplanned_administration_window_s
        if window is not None and not 0 <= window <= 86400:
            problems.append(("unplanned_administration_window_s", "must be 0–86400 s"))
        if len(set(self.clinical_settings)) != len(self.clinical_settings):
            problems.append(("clinical_settings", "lists a nuclide setting twice"))
        warning, action = self.constancy_warning_fraction, self.constancy_action_fraction
        if warning is not None and action is not None and warning >= action:
            problems.append(("constancy_warning_fraction", "must be below constancy_action_fraction"))
        return problems


def resolve_policy(config: HotlabConfig, defaults: dict[str, PolicyValue], key: str) -> PolicyValue:
    """The cited default of limits/data/hotlab-policy.toml, or the station's override citing both."""
    default = defaults[key]
    override = getattr(config, key, None)
    if override is None:
        return default
    return PolicyValue(
        key, float(override), default.unit, f"{SITE}.{key} (default {default.value:g}: {default.citation})"
    )
