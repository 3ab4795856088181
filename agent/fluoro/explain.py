"""`doseedge check-config` lines for a fluoroscopy room: inputs, effective levels and their sources."""

from __future__ import annotations

__all__ = ["explain_fluoroscopy"]

from agent.config import AgentConfig, FluoroscopyConfig
from limits.dose_rate import detection_delay_s


def _rate_sources(f: FluoroscopyConfig) -> list[str]:
    """Which input the dose rate and the mode come from (agent/fluoro/monitor.py, limits/entrance.py)."""
    gap = f"{f.policy().max_gap_s:g} s"
    lines = []
    if f.dap_meter:
        area = (
            f"the field area from generator {f.generator} (field_area at sid) while it answers, else "
            if f.generator
            else ""
        )
        lines.append(
            f"    dose rate from: DAP meter {f.dap_meter} (Ka,r rate, or KAP rate ÷ {area}"
            f"the ASSUMED {f.field_area_at_reference_cm2:g} cm² at the reference point; every record says "
            "which area was measured and which assumed)"
        )
    if f.generator and f.tube_output is not None:
        when = f"only while {f.dap_meter} is silent for more than {gap}" if f.dap_meter else "always"
        tube = f.tube_output
        lines.append(
            f"    dose rate from: generator {f.generator} kV/mA/pulses × tube_output, {when}; "
            f"tube_output calibrated_on {tube.calibrated_on!r}, reference {tube.reference!r}, "
            f"tube_current = {tube.tube_current!r} mA, measured at {tube.filtration_cu_mm:g} mm Cu added"
        )
    elif f.generator:
        lines.append(
            f"    generator {f.generator}: no tube_output, its parameters are not used for the dose rate"
        )
    if f.generator:
        lines.append(
            f"    mode from: generator {f.generator} label 'mode' while fresh (≤ {gap}), "
            f"else configured {f.mode}"
        )
    else:
        lines.append(
            f"    mode from: nothing in this room reports it: every run judged as {f.mode} "
            "(high-level and cine runs alarm against its level)"
        )
    return lines


def explain_fluoroscopy(config: AgentConfig) -> list[str]:
    f, table = config.fluoroscopy, config.rate_levels
    if f is None or table is None:
        return []
    lines = [
        f"  fluoroscopy inputs: DAP meter {f.dap_meter or '—'}, generator {f.generator or '—'}, "
        f"tube-output calibration {'yes' if f.tube_output else 'no'}",
        *_rate_sources(f),
        f"    factors {f.geometry().factors()}, tissue_to_air {f.tissue_to_air}",
    ]
    if f.kap_calibration == 1.0 and f.kar_calibration == 1.0 and not f.calibrated_on:
        lines.append(
            "    WARNING: kap_calibration and kar_calibration are 1.0 with no calibrated_on: the meter is "
            "trusted as it reads; measure both against a reference dosimeter at commissioning"
        )
    lines.append(
        f"    Table 4 dose-rate alarm severity: {f.rate_alarm_severity}; level tables from limits/data"
        + (f" then {f.levels_dir}" if f.levels_dir else "")
    )
    lines.append(
        f"    patients: a procedure_open patient_id is pseudonymised on the box; the cumulative triggers "
        f"judge the patient's total over {f.patient_lookback_days:g} days; the room keeps the patient "
        f"{f.patient_hold_s:g} s after its last beam"
    )
    polls = [d.poll_interval_s for d in config.devices if d.name in (f.dap_meter, f.generator)]
    interval = max(polls) if polls else 1.0
    lines.append(
        f"    dose-rate check: mean over {f.window_s:g} s, raise after {f.raise_after_s:g} s above, clear "
        f"below {f.clear_below_fraction:g}× for {f.clear_after_s:g} s; worst-case detection delay "
        f"{detection_delay_s(f.policy(), interval):g} s at a {interval:g} s poll interval"
    )
    for level in table.levels.values():
        lines.append(f"    level {level.mode}: {level.rate_mgy_min:g} mGy/min — {level.citation}")
    lines.append(f"    procedure closes after {f.procedure_idle_s:g} s without beam")
    if f.dap_meter:
        lines.append(
            f"    dose_meter_frozen: beam on and KAP not increasing for {f.frozen_meter_after_s:g} s "
            "(doseedge engineering default 5 s, not a regulatory level)"
        )
    triggers = config.triggers
    if triggers is not None:
        lines.append(f"  triggers: preset {triggers.preset!r} — {triggers.description}")
        for t in triggers.levels:
            check = " [check]" if t.check else ""
            lines.append(f"    {t.id}: {t.describe()} ({t.kind}, {t.severity}){check}")
            lines.append(f"      from {t.source}; {t.citation}")
        for disabled in triggers.disabled:
            lines.append(f"    {disabled}: DISABLED by the site config")
    return lines
