"""Modbus register-map profiles: TOML (config/profiles/modbus/*.toml) → a checked RegisterMap.

A profile is data, not code: a `[profile]` table and one `[[points]]` table per value. It is
parsed strictly (unknown keys, wrong types and missing keys are errors, each with its line) and
then cross-checked: addresses inside the addressing style's range, types that fit the table,
no two points sharing a register, a known quantity or an enum label on every point, enums with
distinct integer raw values, a usable linear mapping. Any problem raises ConfigError, so a wrong
profile stops `doseedge check-config` and start-up before anything talks to a device.

Addressing styles:
- `zero_based`: the protocol address as sent in the PDU (0…65535);
- `one_based`: register 1 is protocol address 0;
- `modicon`: the 5-digit convention, one base per table: coil 00001, discrete input 10001,
  input register 30001, holding register 40001 (6-digit 000001/100001/300001/400001 for maps
  above 9999). The leading digit must match the point's table.
"""

from __future__ import annotations

__all__ = [
    "PROFILE_DIR",
    "EnumValue",
    "PointSpec",
    "ProfileSpec",
    "load_profile",
    "parse_profile",
    "profile_path",
]

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.errors import ConfigError, ConfigProblem
from core.tomlschema import LineIndex, build_dataclass
from drivers.modbus_map import (
    BIT_TABLES,
    MAX_BLOCK_REGISTERS,
    QUANTITY_UNITS,
    REGISTER_COUNT,
    DataType,
    MapPoint,
    RegisterMap,
    Table,
    WordOrder,
    plan_blocks,
)

PROFILE_DIR = Path(__file__).resolve().parents[1] / "config" / "profiles" / "modbus"
_MODICON_BASE: dict[str, tuple[int, int]] = {  # table → (5-digit base, 6-digit base)
    "coil": (1, 1),
    "discrete_input": (10001, 100001),
    "input_register": (30001, 300001),
    "holding_register": (40001, 400001),
}
_INT_RANGE = {
    "bool": (0, 1),
    "u16": (0, 0xFFFF),
    "i16": (-0x8000, 0x7FFF),
    "u32": (0, 0xFFFFFFFF),
    "i32": (-0x80000000, 0x7FFFFFFF),
}


@dataclass(frozen=True)
class EnumValue:
    raw: int
    label: str


@dataclass(frozen=True)
class ProfileSpec:
    name: str
    description: str = ""
    source: str = ""  # where the map comes from (manual, integrator's document…)
    example: bool = False  # true for illustrative maps that describe no real device
    addressing: Literal["zero_based", "one_based", "modicon"] = "zero_based"
    word_order: WordOrder = "big"
    byte_swap: bool = False
    max_block_registers: int = MAX_BLOCK_REGISTERS
    max_gap_registers: int = 0

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if not 1 <= self.max_block_registers <= MAX_BLOCK_REGISTERS:
            problems.append(("max_block_registers", f"must be 1–{MAX_BLOCK_REGISTERS}"))
        if not 0 <= self.max_gap_registers <= 64:
            problems.append(("max_gap_registers", "must be 0–64"))
        return problems


@dataclass(frozen=True)
class PointSpec:
    name: str
    table: Table
    address: int
    type: DataType
    quantity: str = ""
    label: str = ""
    raw_unit: str = ""
    scale: float = 1.0
    offset: float = 0.0
    raw_range: tuple[float, ...] = ()
    value_range: tuple[float, ...] = ()
    enum: tuple[EnumValue, ...] = ()
    word_order: WordOrder | None = None
    byte_swap: bool | None = None
    bit: int | None = None  # one bit of a u16/u32 register value, e.g. beam-on = bit 3 of a status word

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = self._bit_problems()
        is_bit_table = self.table in BIT_TABLES
        if is_bit_table != (self.type == "bool"):
            want = "bool" if is_bit_table else "one of u16, i16, u32, i32, f32, f64"
            problems.append(("type", f"a {self.table} point must have type {want}"))
        if bool(self.quantity) == bool(self.label):
            problems.append(("quantity", "set exactly one of quantity (a measurement) or label (an enum)"))
        if self.quantity and self.quantity not in QUANTITY_UNITS:
            known = ", ".join(sorted(QUANTITY_UNITS))
            problems.append(("quantity", f"unknown quantity {self.quantity!r} (known: {known})"))
        problems += self._enum_problems()
        problems += self._mapping_problems()
        return problems

    def _bit_problems(self) -> list[tuple[str, str]]:
        if self.bit is None:
            return []
        if self.table in BIT_TABLES:
            return [("bit", f"a {self.table} is one bit already: `bit` is for register tables")]
        if self.type not in ("u16", "u32"):
            return [("bit", "a bit point needs type u16 or u32 (the register value the bit is taken from)")]
        width = 16 * REGISTER_COUNT[self.type]
        if not 0 <= self.bit < width:
            return [("bit", f"must be 0–{width - 1} for {self.type} (0 = least significant)")]
        return []

    def _enum_problems(self) -> list[tuple[str, str]]:
        if self.label and not self.enum:
            return [("enum", 'a label point needs an enum: [{ raw = 0, label = "off" }, …]')]
        if self.enum and not self.label:
            return [("enum", "an enum needs `label` (the reading label it sets), not a quantity")]
        if not self.enum:
            return []
        problems = []
        if self.type in ("f32", "f64"):
            problems.append(("enum", "an enum needs an integer or bool type, not a float"))
        raws = [e.raw for e in self.enum]
        low, high = (0, 1) if self.bit is not None else _INT_RANGE.get(self.type, (0, 1))
        if any(not low <= r <= high for r in raws):
            problems.append(("enum", f"raw values must fit {self.type} ({low}…{high})"))
        if len(set(raws)) != len(raws):
            problems.append(("enum", "raw values must be distinct"))
        if any(not e.label for e in self.enum):
            problems.append(("enum", "every enum entry needs a non-empty label"))
        return problems

    def _mapping_problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.raw_range or self.value_range:
            if len(self.raw_range) != 2 or len(self.value_range) != 2:
                problems.append(("raw_range", "raw_range and value_range need two numbers each"))
            elif self.raw_range[0] == self.raw_range[1]:
                problems.append(("raw_range", "the two raw values must differ"))
            if self.scale != 1.0 or self.offset != 0.0:
                problems.append(("raw_range", "use either scale/offset or raw_range/value_range, not both"))
        if not math.isfinite(self.scale) or self.scale == 0:
            problems.append(("scale", "must be a finite non-zero number"))
        if not math.isfinite(self.offset):
            problems.append(("offset", "must be finite"))
        if self.label and (self.scale != 1.0 or self.offset != 0.0 or self.raw_range):
            problems.append(("scale", "an enum point takes no scaling"))
        return problems

    def linear(self) -> tuple[float, float]:
        """(scale, offset) with engineering = raw · scale + offset."""
        if len(self.raw_range) == 2 and len(self.value_range) == 2:
            (r0, r1), (v0, v1) = self.raw_range, self.value_range
            scale = (v1 - v0) / (r1 - r0)
            return scale, v0 - r0 * scale
        return self.scale, self.offset


def _protocol_address(
    spec: PointSpec, addressing: str, key: str, problems: list[ConfigProblem]
) -> int | None:
    address = spec.address
    if addressing == "one_based":
        address -= 1
    elif addressing == "modicon":
        five, six = _MODICON_BASE[spec.table]
        base = six if spec.address >= 100000 else five
        span = 65536 if base == six else 9999
        if not base <= spec.address < base + span:
            problems.append(
                ConfigProblem(key, f"{spec.address} is not a modicon {spec.table} address ({base}…)")
            )
            return None
        address -= base
    if address < 0 or address + REGISTER_COUNT[spec.type] - 1 > 65535:
        problems.append(ConfigProblem(key, f"{spec.address} is outside the {addressing} address range"))
        return None
    return address


def _resolve(
    header: ProfileSpec, specs: list[tuple[int, PointSpec]], problems: list[ConfigProblem]
) -> list[MapPoint]:
    """Protocol addresses, overlap and duplicate checks, inherited word order: the MapPoints."""
    points: list[MapPoint] = []
    owner: dict[tuple[str, int], tuple[tuple[Any, ...], str]] = {}
    bits: dict[tuple[str, int, int], str] = {}
    names: set[str] = set()
    for i, spec in specs:
        key = f"points[{i}]"
        if spec.name in names:
            problems.append(ConfigProblem(f"{key}.name", f"duplicate point name {spec.name!r}"))
        names.add(spec.name)
        address = _protocol_address(spec, header.addressing, f"{key}.address", problems)
        if address is None:
            continue
        # Bit points may share one register value (a status word), each reading its own bit.
        claim: tuple[Any, ...] = ("bits", address, spec.type) if spec.bit is not None else (i,)
        for a in range(address, address + REGISTER_COUNT[spec.type]):
            other, first = owner.setdefault((spec.table, a), (claim, spec.name))
            if other != claim:
                problems.append(
                    ConfigProblem(f"{key}.address", f"{spec.name!r} overlaps {first!r} at {spec.table} {a}")
                )
                break
        if spec.bit is not None:
            first = bits.setdefault((spec.table, address, spec.bit), spec.name)
            if first != spec.name:
                problems.append(
                    ConfigProblem(f"{key}.bit", f"{spec.name!r} reads bit {spec.bit} like {first!r}")
                )
        scale, offset = spec.linear()
        points.append(
            MapPoint(
                name=spec.name,
                table=spec.table,
                address=address,
                type=spec.type,
                quantity=spec.quantity,
                label=spec.label,
                raw_unit=spec.raw_unit,
                scale=scale,
                offset=offset,
                word_order=spec.word_order or header.word_order,
                byte_swap=header.byte_swap if spec.byte_swap is None else spec.byte_swap,
                enum={e.raw: e.label for e in spec.enum},
                bit=spec.bit,
            )
        )
    return points


def parse_profile(text: str, source: str = "<profile>") -> RegisterMap:
    """Parse and check a profile; raise ConfigError listing every problem with its line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [ConfigProblem("(syntax)", str(exc))]) from exc
    problems: list[ConfigProblem] = []
    for key in raw:
        if key not in ("profile", "points"):
            problems.append(ConfigProblem(key, "unknown table (known: profile, points)"))
    header = build_dataclass(ProfileSpec, raw.get("profile", {}), "profile", problems)
    specs: list[tuple[int, PointSpec]] = []
    tables: Any = raw.get("points", [])
    if not isinstance(tables, list) or not tables:
        problems.append(ConfigProblem("points", "needs at least one [[points]] table"))
        tables = []
    for i, table in enumerate(tables):
        before = len(problems)
        spec = build_dataclass(PointSpec, table, f"points[{i}]", problems)
        if spec is not None and len(problems) == before:  # only sound points are placed
            specs.append((i, spec))
    points = _resolve(header, specs, problems) if header is not None else []
    if problems:
        index = LineIndex(text)
        raise ConfigError(
            source, [ConfigProblem(p.key, p.message, p.line or index.line_of(p.key)) for p in problems]
        )
    assert header is not None
    blocks = plan_blocks(points, header.max_block_registers, header.max_gap_registers)
    return RegisterMap(header.name, tuple(points), blocks, header.description)


def profile_path(profile: str) -> Path:
    """A bare name is looked up in config/profiles/modbus/; anything with '/' or '.toml' is a path."""
    if "/" in profile or profile.endswith(".toml"):
        return Path(profile)
    return PROFILE_DIR / f"{profile}.toml"


def load_profile(profile: str) -> RegisterMap:
    path = profile_path(profile)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigProblem("(file)", f"cannot read profile: {exc}")]) from exc
    return parse_profile(text, str(path))
