"""Cumulative trigger levels (limits/data/fluoro-triggers.toml): presets, site overrides, provenance.

A site selects a preset and may override any number (`first`, `every`) or switch a row off. The
effective level keeps where each number came from, so `doseedge check-config` and the procedure
record can say it: the preset row's citation, or the site's config file.

Values are kept in the data's unit for people and converted once to the canonical unit of the
quantity for comparison (kar, psd: mGy; kap: Gy·cm²; fluoro_time: s).
"""

from __future__ import annotations

__all__ = [
    "CANONICAL_UNIT",
    "TriggerLevel",
    "TriggerOverride",
    "TriggerSet",
    "load_trigger_set",
    "preset_names",
]

from dataclasses import dataclass, replace

from limits.guidance import read_data

DATA = "fluoro-triggers"
CANONICAL_UNIT = {"kar": "mGy", "psd": "mGy", "kap": "Gy·cm²", "fluoro_time": "s"}
_TO_CANONICAL = {
    ("Gy", "mGy"): 1000.0,
    ("mGy", "mGy"): 1.0,
    ("Gy·cm²", "Gy·cm²"): 1.0,
    ("min", "s"): 60.0,
    ("s", "s"): 1.0,
}
KINDS = ("notification", "substantial", "signal", "skin_threshold", "sentinel")
SEVERITIES = ("warning", "high")


@dataclass(frozen=True)
class TriggerOverride:
    """A site override, `[[triggers.override]]` in the station config (numbers in the row's unit)."""

    id: str
    first: float | None = None
    every: float | None = None
    enabled: bool = True

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if self.first is not None and self.first <= 0:
            problems.append(("first", "must be > 0"))
        if self.every is not None and self.every < 0:
            problems.append(("every", "must be ≥ 0 (0 = once only)"))
        return problems


@dataclass(frozen=True)
class TriggerLevel:
    id: str
    quantity: str  # kar | psd | kap | fluoro_time
    first: float  # in `unit`
    every: float  # in `unit`; 0 = once only
    unit: str
    kind: str
    severity: str
    citation: str
    check: bool
    note: str
    source: str  # where the numbers came from: the preset, or the site config

    @property
    def factor(self) -> float:
        return _TO_CANONICAL[(self.unit, CANONICAL_UNIT[self.quantity])]

    def threshold(self, n: int) -> float:
        """The n-th level (0 = first) in the canonical unit of the quantity."""
        return (self.first + n * self.every) * self.factor

    def describe(self, n: int = 0) -> str:
        value = self.first + n * self.every
        then = f", then every {self.every:g} {self.unit}" if self.every > 0 and n == 0 else ""
        return f"{self.quantity} {value:g} {self.unit}{then}"


@dataclass(frozen=True)
class TriggerSet:
    preset: str
    description: str
    levels: tuple[TriggerLevel, ...]
    disabled: tuple[str, ...] = ()  # preset rows the site switched off (shown by check-config)


def preset_names() -> list[str]:
    return sorted(read_data(DATA)["preset"])


def _row(item: dict[str, object], preset: str) -> TriggerLevel:
    level = TriggerLevel(
        id=str(item["id"]),
        quantity=str(item["quantity"]),
        first=float(item["first"]),  # type: ignore[arg-type]
        every=float(item["every"]),  # type: ignore[arg-type]
        unit=str(item["unit"]),
        kind=str(item["kind"]),
        severity=str(item["severity"]),
        citation=str(item["citation"]),
        check=bool(item["check"]),
        note=str(item.get("note", "")),
        source=f"preset {preset!r} (limits/data/{DATA}.toml)",
    )
    if (level.unit, CANONICAL_UNIT.get(level.quantity)) not in _TO_CANONICAL:
        raise ValueError(f"trigger {level.id}: unit {level.unit!r} does not fit quantity {level.quantity!r}")
    if level.kind not in KINDS or level.severity not in SEVERITIES:
        raise ValueError(f"trigger {level.id}: unknown kind {level.kind!r} or severity {level.severity!r}")
    return level


def load_trigger_set(
    preset: str, overrides: tuple[TriggerOverride, ...] = (), config_source: str = "site config"
) -> TriggerSet:
    """The effective levels of `preset` with the site's overrides applied. ValueError names a bad id."""
    raw = read_data(DATA)
    presets = raw["preset"]
    if preset not in presets:
        raise ValueError(f"unknown trigger preset {preset!r} (known: {', '.join(sorted(presets))})")
    rows = {str(item["id"]): item for item in raw["trigger"]}
    levels = {tid: _row(rows[tid], preset) for tid in presets[preset]["triggers"]}
    disabled = []
    for override in overrides:
        if override.id not in levels:
            raise ValueError(
                f"override of {override.id!r}: not a trigger of preset {preset!r} "
                f"(its triggers: {', '.join(levels)})"
            )
        if not override.enabled:
            del levels[override.id]
            disabled.append(override.id)
            continue
        base = levels[override.id]
        changed = replace(
            base,
            first=base.first if override.first is None else override.first,
            every=base.every if override.every is None else override.every,
        )
        if changed != base:
            changed = replace(changed, source=f"{config_source} [[triggers.override]] id={override.id!r}")
        levels[override.id] = changed
    description = str(presets[preset]["description"])
    return TriggerSet(preset, description, tuple(levels.values()), tuple(disabled))
