"""The Modbus register-map codec with plain lists of ints: golden dumps, values, planning, fuzzing."""

from __future__ import annotations

import math
import struct
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymodbus.client import ModbusTcpClient

from core.errors import FrameError
from drivers.modbus_map import (
    Block,
    MapPoint,
    RegisterMap,
    decode_reading,
    decode_value,
    encode_value,
    merge_words,
    plan_blocks,
)
from drivers.modbus_profile import load_profile

GOLDEN = Path(__file__).parent / "modbus"
EXAMPLE = load_profile("example_xray_generator")


def _cases(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = tomllib.loads((GOLDEN / name).read_text(encoding="utf-8"))["case"]
    return cases


def _answers(regmap: RegisterMap, case: dict[str, Any]) -> dict[Block, list[int] | list[bool]]:
    return {block: case[block.table] for block in regmap.blocks}


@pytest.mark.parametrize("case", _cases("example_generator_dumps.toml"), ids=lambda c: c["name"])
def test_example_generator_dumps(case: dict[str, Any]) -> None:
    answers = _answers(EXAMPLE, case)
    if case["kind"] == "frame_error":
        with pytest.raises(FrameError):
            decode_reading(EXAMPLE, answers)
        return
    measurements, labels = decode_reading(EXAMPLE, answers)
    assert labels == case["labels"]
    got = {m.quantity: m.value for m in measurements}
    assert got == pytest.approx(case["values"], rel=1e-6, abs=1e-9)


def test_measurements_carry_canonical_and_raw_units() -> None:
    case = _cases("example_generator_dumps.toml")[0]
    measurements, _ = decode_reading(EXAMPLE, _answers(EXAMPLE, case))
    by_quantity = {m.quantity: m for m in measurements}
    assert (by_quantity["kvp"].unit, by_quantity["kvp"].raw_unit, by_quantity["kvp"].raw_value) == (
        "kV",
        "0.1 kV",
        720.0,
    )
    assert by_quantity["field_area"].unit == "cm²" and by_quantity["field_area"].raw_unit == "mm²"
    assert by_quantity["sid"].raw_value == 1600.0 and by_quantity["sid"].unit == "cm"
    assert by_quantity["pulse_rate"].unit == "1/s" and by_quantity["beam_on"].unit == "1"


def _point(case: dict[str, Any]) -> MapPoint:
    return MapPoint(
        name=case["name"],
        table="coil" if case["type"] == "bool" else "holding_register",
        address=0,
        type=case["type"],
        quantity="kvp",
        word_order=case.get("word_order", "big"),
        byte_swap=case.get("byte_swap", False),
        bit=case.get("bit"),
    )


@pytest.mark.parametrize("case", _cases("values.toml"), ids=lambda c: c["name"])
def test_golden_values(case: dict[str, Any]) -> None:
    point = _point(case)
    if case.get("kind") == "frame_error":
        with pytest.raises(FrameError):
            decode_value(point, case["registers"])
        return
    assert decode_value(point, case["registers"]) == case["raw"]
    if point.bit is None:
        assert encode_value(point, case["raw"]) == case["registers"]
    else:  # the simulator's write of that bit keeps the other bits of the word
        assert merge_words(point, case["registers"], encode_value(point, case["raw"])) == case["registers"]
        flipped = merge_words(point, case["registers"], encode_value(point, 1 - case["raw"]))
        assert decode_value(point, flipped) == 1 - case["raw"]
        assert [w & ~m for w, m in zip(flipped, encode_value(point, 1), strict=True)] == [
            w & ~m for w, m in zip(case["registers"], encode_value(point, 1), strict=True)
        ]


def test_blocks_coalesce_within_limits_and_gaps() -> None:
    def p(name: str, address: int, type_: str = "u16") -> MapPoint:
        return MapPoint(name, "holding_register", address, type_, quantity="kvp")  # type: ignore[arg-type]

    points = [p("a", 0), p("b", 1, "f32"), p("c", 5), p("d", 200), p("e", 202, "f64")]
    assert plan_blocks(points) == (
        Block("holding_register", 0, 3),
        Block("holding_register", 5, 1),
        Block("holding_register", 200, 1),
        Block("holding_register", 202, 4),
    )
    assert plan_blocks(points, max_gap=2) == (
        Block("holding_register", 0, 6),
        Block("holding_register", 200, 6),
    )
    many = [p(f"r{i}", i) for i in range(300)]
    blocks = plan_blocks(many, max_registers=125)
    assert [b.count for b in blocks] == [125, 125, 50]
    # A 4-register value never straddles a block boundary.
    straddle = [p(f"r{i}", i) for i in range(123)] + [p("wide", 123, "f64")]
    assert plan_blocks(straddle) == (Block("holding_register", 0, 123), Block("holding_register", 123, 4))


def test_example_map_is_two_block_reads() -> None:
    """The beam-on bit shares the status word at 40002 with nothing else: mode + status = one read."""
    assert EXAMPLE.blocks == (
        Block("input_register", 0, 8),
        Block("holding_register", 0, 2),
    )
    assert EXAMPLE.point("beam_on").bit == 3


def test_decoding_agrees_with_pymodbus_convert_from_registers() -> None:
    """Our word order means what pymodbus' (3.16) `word_order` means, for every type it shares."""
    kinds = {
        "i16": ModbusTcpClient.DATATYPE.INT16,
        "u32": ModbusTcpClient.DATATYPE.UINT32,
        "i32": ModbusTcpClient.DATATYPE.INT32,
        "f32": ModbusTcpClient.DATATYPE.FLOAT32,
        "f64": ModbusTcpClient.DATATYPE.FLOAT64,
    }
    words = [0x4009, 0x21FB, 0x5444, 0x2D18]
    for type_, datatype in kinds.items():
        for order in ("big", "little"):
            point = MapPoint("x", "holding_register", 0, type_, quantity="kvp", word_order=order)  # type: ignore[arg-type]
            regs = words[: point.count]
            ours = decode_value(point, regs)
            theirs = ModbusTcpClient.convert_from_registers(regs, datatype, word_order=order)
            assert ours == theirs, (type_, order)


# ---------------------------------------------------------------- properties

WORD = st.integers(min_value=-(2**17), max_value=2**17)
ANY_VALUE = st.one_of(WORD, st.booleans(), st.floats(allow_nan=True))


@settings(max_examples=300, deadline=None)
@given(
    registers=st.lists(ANY_VALUE, max_size=12),
    holding=st.lists(ANY_VALUE, max_size=3),
)
def test_arbitrary_answers_never_raise_anything_but_frame_error(
    registers: list[Any], holding: list[Any]
) -> None:
    answers = {
        Block("input_register", 0, 8): registers,
        Block("holding_register", 0, 2): holding,
    }
    try:
        measurements, _labels = decode_reading(EXAMPLE, answers)
    except FrameError:
        return
    assert all(math.isfinite(m.value) for m in measurements)


@settings(max_examples=300, deadline=None)
@given(
    registers=st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8),
    mode=st.integers(0, 0xFFFF),
    status=st.integers(0, 0xFFFF),
)
def test_in_range_words_decode_or_frame_error_only(registers: list[int], mode: int, status: int) -> None:
    answers = {
        Block("input_register", 0, 8): registers,
        Block("holding_register", 0, 2): [mode, status],
    }
    try:
        measurements, _ = decode_reading(EXAMPLE, answers)
        beam = next(m for m in measurements if m.quantity == "beam_on")
        assert beam.value == (status >> 3) & 1  # bit 3 of the status word, whatever else it holds
    except FrameError:
        assert mode > 3 or not math.isfinite(
            struct.unpack(">f", struct.pack(">HH", registers[2], registers[1]))[0]
        )


TYPES = st.sampled_from(["u16", "i16", "u32", "i32", "f32", "f64"])


@settings(max_examples=400, deadline=None)
@given(type_=TYPES, order=st.sampled_from(["big", "little"]), swap=st.booleans(), data=st.data())
def test_word_order_and_byte_swap_round_trip(type_: str, order: str, swap: bool, data: Any) -> None:
    point = MapPoint("x", "holding_register", 0, type_, quantity="kvp", word_order=order, byte_swap=swap)  # type: ignore[arg-type]
    words = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=point.count, max_size=point.count))
    try:
        raw = decode_value(point, words)
    except FrameError:
        return  # NaN / infinity patterns of the float types
    assert encode_value(point, raw) == words
