"""Device profiles for the generic serial line driver: TOML → frozen dataclasses, checked once.

A profile says how an instrument without a public protocol frames, checks and lays out its
replies, so an unlisted DAP meter or activimeter is a data file, not code. See docs/drivers.md
("Writing a profile") and config/profiles/*.toml. Every problem is reported with its key; a wrong
profile is a `check-config` error before anything runs.
"""

from __future__ import annotations

__all__ = ["CANONICAL_UNITS", "Profile", "find_profile", "load_profile"]

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.errors import ConfigError, ConfigProblem
from core.tomlschema import LineIndex, build_dataclass
from drivers.framing import CHECKSUMS

PROFILE_DIR = Path(__file__).resolve().parents[1] / "config" / "profiles"

# Canonical unit per quantity (drivers/model.py).
CANONICAL_UNITS = {
    "kap": "Gy·cm²",
    "kap_rate": "Gy·cm²/min",
    "air_kerma": "mGy",
    "air_kerma_rate": "mGy/min",
    "activity": "MBq",
    "irradiation_time": "s",
}


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    description: str
    source: str
    confidence: Literal["high", "medium", "low", "assumed"]


@dataclass(frozen=True)
class Framing:
    kind: Literal["line", "delimited", "fixed"]
    terminator: str = "\r\n"
    start: str = ""
    end: str = ""
    length: int = 0
    max_bytes: int = 256

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if self.kind == "line" and self.terminator not in ("\r", "\n", "\r\n"):
            problems.append(("terminator", "must be CR, LF or CR LF"))
        if self.kind == "delimited" and not (self.start and self.end):
            problems.append(("start", "delimited framing needs both start and end markers"))
        if self.kind == "fixed" and not len(self.start) < self.length <= self.max_bytes:
            problems.append(("length", "fixed framing needs a length longer than the start marker"))
        if not 8 <= self.max_bytes <= 4096:
            problems.append(("max_bytes", "must be 8–4096"))
        return problems


@dataclass(frozen=True)
class Checksum:
    kind: Literal["none", "capintec", "sum8", "xor8", "lrc", "crc16_modbus", "spellman7"] = "none"
    encoding: Literal["hex", "raw"] = "hex"
    skip: int = 0  # leading body bytes the checksum does not cover (e.g. an address)


@dataclass(frozen=True)
class Poll:
    mode: Literal["request", "stream"]
    command: str = ""  # sent as is each poll; `{address}` is replaced by the device's address
    frame_command: bool = False  # wrap the command in the profile's framing and checksum

    def validate(self) -> list[tuple[str, str]]:
        if self.mode == "request" and not self.command:
            return [("command", "request mode needs a command")]
        return []


@dataclass(frozen=True)
class Column:
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Parse:
    kind: Literal["regex", "columns"]
    pattern: str = ""
    columns: tuple[Column, ...] = ()

    def fields(self) -> set[str]:
        if self.kind == "columns":
            return {c.name for c in self.columns}
        try:
            return set(re.compile(self.pattern).groupindex)
        except re.error:
            return set()

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if self.kind == "regex":
            try:
                re.compile(self.pattern)
            except re.error as exc:
                problems.append(("pattern", f"not a valid regular expression: {exc}"))
        elif not self.columns:
            problems.append(("columns", "column parsing needs [[parse.columns]]"))
        for i, column in enumerate(self.columns):
            if not 0 <= column.start < column.end:
                problems.append((f"columns[{i}]", "needs 0 ≤ start < end"))
        return problems


@dataclass(frozen=True)
class MeasurementSpec:
    quantity: str
    value: str  # field (regex group or column) holding the number
    unit_field: str = ""  # field holding the unit text, looked up in [[units]]
    unit: str = ""  # or a fixed raw unit, also looked up in [[units]]


@dataclass(frozen=True)
class UnitSpec:
    raw: str  # as the device writes it
    unit: str  # the canonical unit it converts to
    factor: float  # canonical = raw value × factor
    quantity: str = ""  # restrict the row to one quantity (when raw units are ambiguous)


@dataclass(frozen=True)
class LabelSpec:
    name: str
    field: str


@dataclass(frozen=True)
class ErrorSpec:
    pattern: str  # matched against the whole frame text; group `code` is the error code
    message: str


@dataclass(frozen=True)
class StatusSpec:
    over_range_field: str = ""
    over_range_pattern: str = ""


@dataclass(frozen=True)
class Profile:
    profile: ProfileInfo
    framing: Framing
    poll: Poll
    parse: Parse
    measurements: tuple[MeasurementSpec, ...]
    checksum: Checksum = field(default_factory=Checksum)
    units: tuple[UnitSpec, ...] = ()
    labels: tuple[LabelSpec, ...] = ()
    errors: tuple[ErrorSpec, ...] = ()
    status: StatusSpec = field(default_factory=StatusSpec)

    def unit(self, raw: str, quantity: str) -> UnitSpec | None:
        for spec in self.units:
            if spec.raw == raw and spec.quantity in ("", quantity) and spec.unit == CANONICAL_UNITS[quantity]:
                return spec
        return None

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        fields = self.parse.fields()
        if not self.measurements:
            problems.append(("measurements", "a profile needs at least one [[measurements]]"))
        for i, m in enumerate(self.measurements):
            where = f"measurements[{i}]"
            if m.quantity not in CANONICAL_UNITS:
                problems.append(
                    (f"{where}.quantity", f"unknown quantity (known: {', '.join(CANONICAL_UNITS)})")
                )
            if m.value not in fields:
                problems.append((f"{where}.value", f"no field {m.value!r} in the parse pattern/columns"))
            if bool(m.unit_field) == bool(m.unit):
                problems.append((f"{where}.unit", "give exactly one of unit_field or unit"))
            if m.unit_field and m.unit_field not in fields:
                problems.append((f"{where}.unit_field", f"no field {m.unit_field!r} in the parse"))
            if m.unit and m.quantity in CANONICAL_UNITS and self.unit(m.unit, m.quantity) is None:
                problems.append((f"{where}.unit", f"no [[units]] row turns {m.unit!r} into {m.quantity}"))
        canonical = set(CANONICAL_UNITS.values())
        for j, u in enumerate(self.units):
            if u.unit not in canonical:
                problems.append(
                    (f"units[{j}].unit", f"not a canonical unit ({', '.join(sorted(canonical))})")
                )
            if u.quantity and u.quantity not in CANONICAL_UNITS:
                problems.append((f"units[{j}].quantity", "unknown quantity"))
            if u.factor <= 0:
                problems.append((f"units[{j}].factor", "must be > 0"))
        for i, label in enumerate(self.labels):
            if label.field not in fields:
                problems.append((f"labels[{i}].field", f"no field {label.field!r} in the parse"))
        for i, error in enumerate(self.errors):
            try:
                re.compile(error.pattern)
            except re.error as exc:
                problems.append((f"errors[{i}].pattern", f"not a valid regular expression: {exc}"))
        if self.status.over_range_field and self.status.over_range_field not in fields:
            problems.append(("status.over_range_field", "no such field in the parse"))
        if self.checksum.kind != "none" and self.checksum.kind not in CHECKSUMS:
            problems.append(("checksum.kind", "unknown checksum"))
        return problems


def find_profile(name_or_path: str) -> Path:
    """A bare name is a bundled profile (config/profiles/<name>.toml); anything else a path."""
    if "/" not in name_or_path and not name_or_path.endswith(".toml"):
        return PROFILE_DIR / f"{name_or_path}.toml"
    return Path(name_or_path)


def load_profile(name_or_path: str) -> Profile:
    path = find_profile(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigProblem("(file)", f"cannot read profile: {exc}")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [ConfigProblem("(syntax)", str(exc))]) from exc
    problems: list[ConfigProblem] = []
    profile = build_dataclass(Profile, raw, "", problems)
    if problems or profile is None:
        index = LineIndex(text)
        raise ConfigError(
            str(path), [ConfigProblem(p.key, p.message, index.line_of(p.key)) for p in problems]
        )
    assert isinstance(profile, Profile)
    return profile
