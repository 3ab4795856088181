"""The `[fluoroscopy]` and `[triggers]` tables: geometry and policy for the entrance dose-rate check,
the procedure tracking, and which cumulative trigger preset applies. agent/config.py builds them."""

from __future__ import annotations

__all__ = ["FluoroscopyConfig", "TriggersConfig", "build_rate_levels", "build_triggers"]

from dataclasses import dataclass
from typing import Any, Literal

from core.errors import ConfigProblem
from core.tomlschema import build_dataclass
from limits.dose_rate import RatePolicy
from limits.dosimetry import Geometry
from limits.entrance import TubeOutput
from limits.levels import LevelTableError, RateLevelTable, load_rate_levels
from limits.trigger_levels import TriggerOverride, TriggerSet, load_trigger_set


@dataclass(frozen=True)
class FluoroscopyConfig:
    """Geometry and policy for the entrance dose-rate check (limits/entrance.py, limits/dose_rate.py)
    and the procedure tracking (agent/fluoro/procedure.py). Inputs: a DAP meter, a generator, or both."""

    field_area_at_reference_cm2: float
    source_to_reference_cm: float
    source_to_entrance_cm: float
    backscatter_factor: float
    table_transmission: float = 1.0
    dap_meter: str = ""  # device giving kap / kap_rate (or air_kerma / air_kerma_rate)
    generator: str = ""  # device giving kvp, tube_current, pulse_rate, pulse_width, field_area, mode
    tube_output: TubeOutput | None = None  # per-room calibration, needed to use generator parameters
    tissue_to_air: float = 1.06  # f in the PSD estimate (1.02–1.06, ICRU 74 / IAEA TRS-457)
    procedure_idle_s: float = 900.0  # a procedure closes after this long without beam
    kap_counter_wrap_gy_cm2: float = 0.0  # 0 = the meter's KAP counter is not known to wrap
    mode: Literal["normal", "high_level", "acquisition"] = "normal"
    levels: str = "dz-2015-table4-fluoroscopy"
    beam_on_kap_rate_gy_cm2_min: float = 0.01
    frozen_meter_after_s: float = 5.0  # doseedge's engineering default, not a regulatory level
    window_s: float = 2.0
    raise_after_s: float = 2.0
    clear_below_fraction: float = 0.9
    clear_after_s: float = 2.0
    levels_dir: str = ""  # a site folder of level tables, searched after limits/data
    rate_alarm_severity: Literal["high", "warning"] = "high"  # of the Table 4 dose-rate alarm
    kap_calibration: float = 1.0  # reference KAP ÷ meter KAP, measured at commissioning
    kar_calibration: float = 1.0  # reference Ka,r ÷ meter (console) Ka,r, measured at commissioning
    calibrated_on: str = ""  # date and report of that measurement ("" = not calibrated)
    patient_lookback_days: float = 365.0  # a patient's earlier procedures counted this far back
    patient_hold_s: float = 3600.0  # the room keeps the named patient this long after its last beam
    pseudonym_key_path: str = "var/doseedge/pseudonym.key"  # the box's key, shared with the hot lab

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if not 1 <= self.field_area_at_reference_cm2 <= 2500:
            problems.append(("field_area_at_reference_cm2", "must be 1–2500 cm²"))
        if not 10 <= self.source_to_reference_cm <= 200:
            problems.append(("source_to_reference_cm", "must be 10–200 cm"))
        if not 10 <= self.source_to_entrance_cm <= 200:
            problems.append(("source_to_entrance_cm", "must be 10–200 cm"))
        if not 1.0 <= self.backscatter_factor <= 2.0:
            problems.append(("backscatter_factor", "must be 1.0–2.0 (1.29–1.6 is typical)"))
        if not 0.3 <= self.table_transmission <= 1.0:
            problems.append(("table_transmission", "must be 0.3–1.0"))
        if self.beam_on_kap_rate_gy_cm2_min <= 0:
            problems.append(("beam_on_kap_rate_gy_cm2_min", "must be > 0"))
        if not 1 <= self.frozen_meter_after_s <= 600:
            problems.append(("frozen_meter_after_s", "must be 1–600 s"))
        if not 0 < self.window_s <= 60:
            problems.append(("window_s", "must be > 0 and ≤ 60"))
        if not 0 <= self.raise_after_s <= 60:
            problems.append(("raise_after_s", "must be 0–60"))
        if not 0.5 <= self.clear_below_fraction < 1:
            problems.append(("clear_below_fraction", "must be ≥ 0.5 and < 1"))
        if not 0 <= self.clear_after_s <= 600:
            problems.append(("clear_after_s", "must be 0–600"))
        if self.raise_after_s < self.window_s:
            problems.append(("raise_after_s", "must be ≥ window_s, so that a single pulse cannot alarm"))
        if not 1.0 <= self.tissue_to_air <= 1.1:
            problems.append(("tissue_to_air", "must be 1.0–1.1 (1.02–1.06 is typical)"))
        if not 10 <= self.procedure_idle_s <= 86400:
            problems.append(("procedure_idle_s", "must be 10–86400 s"))
        if self.kap_counter_wrap_gy_cm2 < 0:
            problems.append(("kap_counter_wrap_gy_cm2", "must be ≥ 0 (0 = no wrap)"))
        for key in ("kap_calibration", "kar_calibration"):
            if not 0.5 <= getattr(self, key) <= 2.0:
                problems.append((key, "must be 0.5–2.0 (reference dosimeter ÷ meter, from commissioning)"))
        if not 1 <= self.patient_lookback_days <= 3650:
            problems.append(("patient_lookback_days", "must be 1–3650 days (default 365: 12 months)"))
        if not 0 <= self.patient_hold_s <= 86400:
            problems.append(("patient_hold_s", "must be 0–86400 s"))
        if not self.dap_meter and not self.generator:
            problems.append(("dap_meter", "name a dap_meter, a generator, or both"))
        if self.generator and not self.dap_meter and self.tube_output is None:
            problems.append(("tube_output", "a room with only a generator needs its tube-output calibration"))
        return problems

    def loss_effect(self, device: str) -> str:
        """What losing `device` means for this room, for the `device_lost` message: true, not alarming
        by default — the DAP meter still monitors when only the generator is gone."""
        if device == self.generator and self.dap_meter:
            return (
                f"DAP meter {self.dap_meter} still monitors the dose; the mode is now the configured "
                f"{self.mode!r} and the field area the assumed {self.field_area_at_reference_cm2:g} cm²"
            )
        if device == self.dap_meter and self.generator and self.tube_output is not None:
            return (
                f"dose rate now estimated from generator {self.generator}'s parameters and the tube-output "
                "calibration only; KAP and Ka,r counters are not read"
            )
        return "dose is not being monitored"

    def geometry(self) -> Geometry:
        return Geometry(
            self.field_area_at_reference_cm2,
            self.source_to_reference_cm,
            self.source_to_entrance_cm,
            self.backscatter_factor,
            self.table_transmission,
            self.kap_calibration,
            self.kar_calibration,
            self.calibrated_on,
        )

    def policy(self) -> RatePolicy:
        return RatePolicy(
            window_s=self.window_s,
            raise_after_s=self.raise_after_s,
            clear_below_fraction=self.clear_below_fraction,
            clear_after_s=self.clear_after_s,
        )


@dataclass(frozen=True)
class TriggersConfig:
    """`[triggers]`: which cumulative trigger preset (limits/data/fluoro-triggers.toml), and overrides."""

    preset: str = "ncrp168-sir"
    override: tuple[TriggerOverride, ...] = ()


def build_rate_levels(
    fluoro: FluoroscopyConfig | None, problems: list[ConfigProblem]
) -> RateLevelTable | None:
    if fluoro is None:
        return None
    try:
        return load_rate_levels(fluoro.levels, fluoro.levels_dir)
    except (LevelTableError, OSError) as exc:
        problems.append(ConfigProblem("fluoroscopy.levels", str(exc)))
        return None


def build_triggers(
    raw: Any, fluoro: FluoroscopyConfig | None, source: str, problems: list[ConfigProblem]
) -> TriggerSet | None:
    """A fluoroscopy room always has triggers: the default preset when there is no [triggers] table."""
    if raw is None and fluoro is None:
        return None
    if fluoro is None:
        problems.append(ConfigProblem("triggers", "[triggers] needs a [fluoroscopy] table"))
        return None
    chosen = build_dataclass(TriggersConfig, raw if raw is not None else {}, "triggers", problems)
    if chosen is None:
        return None
    try:
        return load_trigger_set(chosen.preset, chosen.override, source)
    except ValueError as exc:
        problems.append(ConfigProblem("triggers", str(exc)))
        return None
