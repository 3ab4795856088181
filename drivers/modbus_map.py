"""Modbus register maps: the resolved map and its pure codec (registers ↔ engineering values).

Nothing here does I/O. A `RegisterMap` is a validated profile (drivers/modbus_profile.py parses
and checks the TOML): its points carry protocol (0-based PDU) addresses, a data type, word order,
byte swap and one linear raw→engineering mapping. `plan_blocks` coalesces points of one table
into block reads of at most 125 registers (2000 bits); `decode_reading` turns the blocks' raw
answers into measurements in canonical units plus labels (enums). The simulator uses the same
`encode_value` to fill its registers, so driver and simulator cannot disagree on a layout.

Every defect of device data — a short answer, a word outside 0…65535, a NaN, an enum value the
profile does not list — is a FrameError and nothing else.
"""

from __future__ import annotations

__all__ = [
    "BIT_TABLES",
    "MAX_BLOCK_BITS",
    "MAX_BLOCK_REGISTERS",
    "QUANTITY_UNITS",
    "REGISTER_COUNT",
    "Block",
    "MapPoint",
    "RegisterMap",
    "decode_reading",
    "decode_value",
    "encode_value",
    "merge_words",
    "plan_blocks",
    "registers_from_bytes",
    "registers_to_bytes",
]

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from core.errors import FrameError
from drivers.model import Measurement

Table = Literal["coil", "discrete_input", "input_register", "holding_register"]
DataType = Literal["bool", "u16", "i16", "u32", "i32", "f32", "f64"]
WordOrder = Literal["big", "little"]

BIT_TABLES = ("coil", "discrete_input")
MAX_BLOCK_REGISTERS = 125  # Modbus spec: read holding/input registers, quantity 1…125
MAX_BLOCK_BITS = 2000  # Modbus spec: read coils/discrete inputs, quantity 1…2000
REGISTER_COUNT: dict[str, int] = {"bool": 1, "u16": 1, "i16": 1, "u32": 2, "i32": 2, "f32": 2, "f64": 4}
_STRUCT = {"u16": ">H", "i16": ">h", "u32": ">I", "i32": ">i", "f32": ">f", "f64": ">d"}

# The canonical unit of every quantity a Modbus profile may produce. A profile names the quantity;
# its scale/offset (or linear range) must bring the raw value into this unit.
QUANTITY_UNITS: dict[str, str] = {
    # X-ray generator
    "kvp": "kV",
    "tube_current": "mA",
    "pulse_rate": "1/s",
    "pulse_width": "ms",
    "exposure_time": "ms",
    "mas": "mAs",
    "field_area": "cm²",
    "sid": "cm",
    "table_height": "cm",
    "primary_angle": "deg",
    "secondary_angle": "deg",
    "filtration_al": "mm",
    "filtration_cu": "mm",
    "beam_on": "1",
    # dose meters behind a Modbus interface (canonical units of drivers/model.py)
    "kap": "Gy·cm²",
    "kap_rate": "Gy·cm²/min",
    "air_kerma": "mGy",
    "air_kerma_rate": "mGy/min",
    "irradiation_time": "s",
    "activity": "MBq",
}


@dataclass(frozen=True)
class MapPoint:
    """One resolved point. Exactly one of `quantity` (a measurement) or `label` (an enum) is set."""

    name: str
    table: Table
    address: int  # protocol address, 0-based, as sent in the PDU
    type: DataType
    quantity: str = ""
    label: str = ""
    raw_unit: str = ""
    scale: float = 1.0
    offset: float = 0.0
    word_order: WordOrder = "big"
    byte_swap: bool = False
    enum: Mapping[int, str] = field(default_factory=dict, hash=False)
    bit: int | None = None  # read only this bit (0 = least significant) of an unsigned register value

    @property
    def count(self) -> int:
        """Registers (or bits, for coil/discrete_input) the point occupies."""
        return REGISTER_COUNT[self.type]


@dataclass(frozen=True)
class Block:
    """One read request: `count` registers or bits of `table` from protocol `address`."""

    table: Table
    address: int
    count: int


@dataclass(frozen=True)
class RegisterMap:
    name: str
    points: tuple[MapPoint, ...]
    blocks: tuple[Block, ...]
    description: str = ""

    def point(self, name: str) -> MapPoint:
        for p in self.points:
            if p.name == name:
                return p
        raise KeyError(name)

    def block_of(self, point: MapPoint) -> Block:
        for block in self.blocks:
            if block.table == point.table and block.address <= point.address < block.address + block.count:
                return block
        raise KeyError(f"{point.name}: no block covers it (map not planned with plan_blocks)")


def plan_blocks(
    points: Sequence[MapPoint], max_registers: int = MAX_BLOCK_REGISTERS, max_gap: int = 0
) -> tuple[Block, ...]:
    """Coalesce points into block reads, per table, in address order.

    A point joins the current block if the gap before it is at most `max_gap` unmapped
    registers and the block stays within `max_registers` (2000 bits for bit tables). Gaps are
    read too, so keep `max_gap` at 0 unless the device answers unmapped addresses.
    """
    blocks: list[Block] = []
    for table in ("coil", "discrete_input", "input_register", "holding_register"):
        limit = MAX_BLOCK_BITS if table in BIT_TABLES else max_registers
        start = end = -1
        for p in sorted((p for p in points if p.table == table), key=lambda p: p.address):
            p_end = p.address + p.count
            if start >= 0 and p.address - end <= max_gap and max(end, p_end) - start <= limit:
                end = max(end, p_end)
                continue
            if start >= 0:
                blocks.append(Block(table, start, end - start))
            start, end = p.address, p_end
        if start >= 0:
            blocks.append(Block(table, start, end - start))
    return tuple(blocks)


# ---------------------------------------------------------------- values


def registers_to_bytes(words: Sequence[int], word_order: WordOrder, byte_swap: bool) -> bytes:
    """Registers as sent (first register first) → the value's big-endian bytes."""
    for w in words:
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 0xFFFF:
            raise FrameError(f"register value {w!r} is not a 16-bit word")
    ordered = list(words) if word_order == "big" else list(reversed(words))
    data = b"".join(w.to_bytes(2, "big") for w in ordered)
    if byte_swap:
        data = b"".join(data[i + 1 : i + 2] + data[i : i + 1] for i in range(0, len(data), 2))
    return data


def registers_from_bytes(data: bytes, word_order: WordOrder, byte_swap: bool) -> list[int]:
    """Inverse of `registers_to_bytes` (device side, used by the simulator and tests)."""
    if byte_swap:
        data = b"".join(data[i + 1 : i + 2] + data[i : i + 1] for i in range(0, len(data), 2))
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words if word_order == "big" else list(reversed(words))


def decode_value(point: MapPoint, raw: Sequence[int] | Sequence[bool]) -> float:
    """The raw number a point holds (before scaling): exactly `point.count` words or one bit."""
    if len(raw) != point.count:
        raise FrameError(f"{point.name}: expected {point.count} value(s), got {len(raw)}")
    if point.type == "bool":
        bit = raw[0]
        if bit not in (0, 1):  # True/False and 0/1 compare equal to 1/0
            raise FrameError(f"{point.name}: bit value {bit!r} is not 0 or 1")
        return 1.0 if bit else 0.0
    data = registers_to_bytes(raw, point.word_order, point.byte_swap)
    (value,) = struct.unpack(_STRUCT[point.type], data)
    if point.bit is not None:  # the profile allows bits of u16/u32 only
        return float((int(value) >> point.bit) & 1)
    if not math.isfinite(value):
        raise FrameError(f"{point.name}: {point.type} value is not finite ({value})")
    return float(value)


def encode_value(point: MapPoint, raw: float) -> list[int]:
    """Device side: a raw number → the registers (or the one bit as 0/1) the point holds."""
    if point.type == "bool":
        return [1 if raw else 0]
    if point.bit is not None:
        raw = (1 << point.bit) if raw else 0
    code = _STRUCT[point.type]
    number: float | int = raw if point.type in ("f32", "f64") else round(raw)
    try:
        data = struct.pack(code, number)
    except struct.error as exc:
        raise ValueError(f"{point.name}: {raw!r} does not fit {point.type}") from exc
    return registers_from_bytes(data, point.word_order, point.byte_swap)


def merge_words(point: MapPoint, current: Sequence[int], words: Sequence[int]) -> list[int]:
    """Device side: what a point's registers hold after writing `words` (from `encode_value`).
    A bit point changes only its own bit, so several bit points can share one status word."""
    if point.bit is None:
        return list(words)
    mask = encode_value(point, 1)
    return [(c & ~m) | (w & m) for c, m, w in zip(current, mask, words, strict=True)]


def engineering(point: MapPoint, raw: float) -> float:
    return raw * point.scale + point.offset


def raw_for(point: MapPoint, value: float) -> float:
    """Inverse linear mapping (simulator side)."""
    return (value - point.offset) / point.scale


def decode_reading(
    regmap: RegisterMap, answers: Mapping[Block, Sequence[int] | Sequence[bool]]
) -> tuple[tuple[Measurement, ...], dict[str, str]]:
    """Each block's raw answer → (measurements in canonical units, labels).

    A register block must come back with exactly `count` words; a bit block with at least
    `count` bits (Modbus pads bits to whole bytes).
    """
    for block in regmap.blocks:
        if block not in answers:
            raise FrameError(f"no answer for {block}")
        got = len(answers[block])
        short = got < block.count if block.table in BIT_TABLES else got != block.count
        if short:
            raise FrameError(f"{block.table} block at {block.address}: {got} values for {block.count}")
    measurements: list[Measurement] = []
    labels: dict[str, str] = {}
    for point in regmap.points:
        block = regmap.block_of(point)
        start = point.address - block.address
        raw = decode_value(point, answers[block][start : start + point.count])
        if point.label:
            key = int(raw)
            if key not in point.enum:
                raise FrameError(f"{point.name}: value {key} is not in the profile's enum")
            labels[point.label] = point.enum[key]
            continue
        value = engineering(point, raw)
        if not math.isfinite(value):
            raise FrameError(f"{point.name}: scaled value is not finite")
        unit = QUANTITY_UNITS[point.quantity]
        measurements.append(Measurement(point.quantity, value, unit, raw, point.raw_unit or unit))
    return tuple(measurements), labels
