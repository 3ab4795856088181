"""`bit = N` on a register point: one bit of a status word, checked in the profile and read through
pymodbus' own server with other bits of the same word set."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from drivers.modbus import ModbusConfig, build_modbus
from drivers.modbus_profile import parse_profile
from simulators.generator_script import NORMAL_FLUORO, GeneratorScript
from simulators.modbus_generator import ModbusGeneratorSimulator
from tests.drivers.blocking import Blocking
from tests.drivers.test_modbus_profile import HEADER, point, problems_of

STATUS_WORD = """
[[points]]
name = "mode"
table = "holding_register"
address = 40001
type = "u16"
label = "mode"
enum = [{ raw = 1, label = "normal" }, { raw = 2, label = "high_level" }]

[[points]]
name = "ready"
table = "holding_register"
address = 40002
type = "u16"
bit = 0
label = "ready"
enum = [{ raw = 0, label = "no" }, { raw = 1, label = "yes" }]

[[points]]
name = "beam_on"
table = "holding_register"
address = 40002
type = "u16"
bit = 3
quantity = "beam_on"
"""


def test_two_bit_points_share_one_status_word_in_one_read() -> None:
    regmap = parse_profile(HEADER + STATUS_WORD)
    assert regmap.point("ready").bit == 0 and regmap.point("beam_on").bit == 3
    assert [(b.table, b.address, b.count) for b in regmap.blocks] == [("holding_register", 0, 2)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (point(table="coil", address=1, type='"bool"', bit=0, quantity='"beam_on"'), "is one bit already"),
        (point(type='"i16"', bit=3, quantity='"beam_on"'), "needs type u16 or u32"),
        (point(type='"f32"', bit=3, quantity='"beam_on"'), "needs type u16 or u32"),
        (point(type='"u16"', bit=16, quantity='"beam_on"'), "must be 0–15 for u16"),
        (point(type='"u32"', bit=-1, quantity='"beam_on"'), "must be 0–31 for u32"),
        (point(type='"u16"', bit='"3"', quantity='"beam_on"'), "bit"),
        (
            point(
                type='"u16"', bit=3, label='"x"', enum='[{ raw = 0, label = "a" }, { raw = 2, label = "b" }]'
            ),
            "raw values must fit",
        ),
    ],
)
def test_bad_bit_points_are_config_errors(text: str, expected: str) -> None:
    found = problems_of(HEADER + text)
    assert any(expected in p for p in found), found


def test_two_points_on_one_bit_or_a_bit_inside_a_whole_register_value_overlap() -> None:
    same_bit = point("b1", type='"u16"', bit=3, quantity='"beam_on"') + point(
        "b2", type='"u16"', bit=3, quantity='"beam_on"'
    )
    assert any("reads bit 3 like 'b1'" in p for p in problems_of(HEADER + same_bit))
    whole = point("kv", type='"u16"', quantity='"kvp"') + point(
        "b", type='"u16"', bit=3, quantity='"beam_on"'
    )
    assert any("overlaps 'kv'" in p for p in problems_of(HEADER + whole))
    wider = point("w", type='"u32"', bit=17, quantity='"beam_on"') + point(
        "b", type='"u16"', bit=3, quantity='"beam_on"'
    )
    assert any("overlaps 'w'" in p for p in problems_of(HEADER + wider))


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_driver_reads_each_bit_the_simulator_sets_in_a_shared_status_word(
    tmp_path: Path, transport: str, private_loop: asyncio.AbstractEventLoop
) -> None:
    profile = tmp_path / "status.toml"
    profile.write_text(HEADER + STATUS_WORD, encoding="utf-8")
    beam_then_pedal_up = GeneratorScript.constant(NORMAL_FLUORO)
    sim = ModbusGeneratorSimulator(beam_then_pedal_up, transport=transport, profile=str(profile))
    sim.start()
    where = (
        {"host": "127.0.0.1", "tcp_port": sim.port}
        if transport == "tcp"
        else {"port": sim.url, "baudrate": 115200}
    )
    config = ModbusConfig(
        name="gen1",
        driver="modbus",
        profile=str(profile),
        transport=transport,  # type: ignore[arg-type]
        timeout_s=0.3,
        **where,  # type: ignore[arg-type]
    )
    driver = Blocking(build_modbus(config), private_loop)
    try:
        driver.connect()
        first = driver.poll()
        assert first.labels == {"mode": "normal", "ready": "no"} and first.get("beam_on").value == 1.0
        sim.faults.poke["ready"] = [1]  # the ready bit set beside the beam-on bit
        second = driver.poll()
        assert second.labels["ready"] == "yes" and second.get("beam_on").value == 1.0
        sim.faults.poke["beam_on"] = [0]  # beam off, ready stays set
        third = driver.poll()
        assert third.labels["ready"] == "yes" and third.get("beam_on").value == 0.0
    finally:
        driver.close()
        sim.stop()
