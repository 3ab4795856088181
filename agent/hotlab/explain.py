"""`doseedge check-config` for a station with [hotlab]: every level the hot lab will apply, with its source.

A physicist reading this sees which numbers come from cited data (limits/data/*.toml) and which the
station configuration overrides, before anything runs.
"""

from __future__ import annotations

__all__ = ["explain_hotlab"]

from datetime import date, timedelta

from agent.hotlab.config import POLICY_KEYS, SITE, HotlabConfig, resolve_policy
from limits.hotlab_data import HotlabData, load_hotlab_data

POLICY_ORDER = (*POLICY_KEYS, "mo99_breakthrough_kbq_per_mbq", "unplanned_administration_window_s")


def explain_hotlab(
    config: HotlabConfig, driver: str, today: date, data: HotlabData | None = None
) -> list[str]:
    data = data or load_hotlab_data()
    calibrated = date.fromisoformat(config.calibration_date)
    due = calibrated + timedelta(days=config.calibration_interval_days)
    status = "valid" if today <= due else "OVERDUE"
    lines = [
        f"  hotlab: activimeter {config.activimeter} ({driver}), calibrated {calibrated}, "
        f"due {due} ({status} today)",
        f"    daily constancy due by {config.constancy_due_local} {config.timezone}; "
        f"store {config.store_path}; pseudonym key {config.pseudonym_key_path}",
        f"    stable: {config.stable_window_s:g} s window within "
        f"±{config.stable_tolerance_fraction * 100:g} %, above {config.presence_mbq:g} MBq",
    ]
    for key in POLICY_ORDER:
        value = resolve_policy(config, data.policy, key)
        lines.append(f"    level {key}: {value.value:g} ({value.unit}) — {value.citation}")
    lines.append(
        f"    level background_max_mbq: {config.background_max_mbq:g} MBq — {SITE}.background_max_mbq "
        "(site commissioning value)"
    )
    lines.append(
        f"    level zero_tolerance_mbq: {config.zero_tolerance_mbq:g} MBq — {SITE}.zero_tolerance_mbq "
        "(site commissioning value)"
    )
    table5 = data.table5
    ambiguous = sum(1 for r in table5.rows if r.ambiguous)
    lines.append(
        f"    level Table 5 maximum usual activity: {len(table5.rows)} rows ({ambiguous} marked ambiguous) "
        f"— {table5.rows[0].citation.split(': ', 1)[-1]} [{table5.source_id}]"
    )
    for level in data.discharge.values():
        lines.append(
            f"    level discharge {level.nuclide}: {level.max_activity_mbq:g} MBq — {level.citation}"
        )
    conversion = (
        f"{config.discharge_mbq_per_usv_h:g} MBq per µSv/h ({SITE}.discharge_mbq_per_usv_h)"
        if config.discharge_mbq_per_usv_h is not None
        else "none configured: only entered retained activities are accepted"
    )
    lines.append(f"    discharge dose-rate conversion: {conversion}")
    card = data.card
    unchecked = sum(not p.checked for p in card.radiopharmaceuticals.values())
    lines.append(
        f"    level paediatric: EANM card [{card.source_id}], classes A/B/C, "
        f"{len(card.radiopharmaceuticals)} radiopharmaceuticals ({unchecked} [check]); "
        f"weight rule {card.weight_rule} — {card.weight_rule_citation}"
    )
    settings = ", ".join(config.clinical_settings) or "none: each source on its own setting only"
    lines.append(f"    daily constancy on clinical settings: {settings}")
    return lines
