"""A wrong Modbus profile is a configuration error, found before anything runs, with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import parse_config
from core.errors import ConfigError
from drivers.modbus_profile import load_profile, parse_profile

HEADER = """\
[profile]
name = "t"
addressing = "modicon"
"""

GOOD_POINT = """
[[points]]
name = "kvp"
table = "input_register"
address = 30001
type = "u16"
quantity = "kvp"
scale = 0.1
"""


def point(name: str = "a", table: str = "input_register", address: int = 30002, **more: str) -> str:
    """One [[points]] table; values in `more` are TOML literals."""
    lines = [f'name = "{name}"', f'table = "{table}"', f"address = {address}"]
    lines += [f"{key} = {value}" for key, value in more.items()]
    return "\n[[points]]\n" + "\n".join(lines) + "\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_profile(text, "t.toml")
    return [str(p) for p in info.value.problems]


def test_a_good_profile_parses() -> None:
    regmap = parse_profile(HEADER + GOOD_POINT)
    assert regmap.point("kvp").address == 0 and regmap.point("kvp").scale == 0.1


U16 = '"u16"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '\n[[points]]\nname = "a"\ntable = "coil"\ntype = "bool"\nquantity = "beam_on"\n',
            "address: required key",
        ),
        (point(table="coil", address=1, type=U16, quantity='"beam_on"'), "must have type bool"),
        (point(type='"bool"', quantity='"beam_on"'), "must have type one of"),
        (point(type='"u17"', quantity='"kvp"'), "type: must be"),
        (point(type=U16, quantity='"kv"'), "unknown quantity"),
        (point(type=U16), "exactly one of quantity"),
        (point(table="holding_register", type=U16, quantity='"kvp"'), "not a modicon holding_register"),
        (point(type=U16, quantity='"kvp"', scale="0"), "scale: must be a finite non-zero"),
        (
            point(type=U16, quantity='"sid"', raw_range="[0, 0]", value_range="[80, 130]"),
            "the two raw values must differ",
        ),
        (point(type=U16, quantity='"sid"', raw_range="[0, 10]"), "two numbers each"),
        (point(type=U16, quantity='"kvp"', colour="1"), "colour: unknown key"),
        (point(address=99999, type=U16, quantity='"kvp"'), "not a modicon input_register"),
    ],
)
def test_point_problems_are_reported_with_key_and_line(text: str, expected: str) -> None:
    found = problems_of(HEADER + GOOD_POINT + text)
    assert any(expected in p for p in found), found
    assert all(p.startswith("line ") for p in found), found


def test_overlapping_registers() -> None:
    text = HEADER + GOOD_POINT.replace('type = "u16"', 'type = "u32"')
    text += point("ma", type=U16, quantity='"tube_current"')
    found = problems_of(text)
    assert any("'ma' overlaps 'kvp' at input_register 1" in p for p in found), found


def test_same_address_in_different_tables_is_fine() -> None:
    text = HEADER + GOOD_POINT
    text += point("ma", "holding_register", 40001, type=U16, quantity='"tube_current"')
    assert len(parse_profile(text).points) == 2


@pytest.mark.parametrize(
    ("enum", "type_", "expected"),
    [
        ('[{ raw = 0, label = "off" }, { raw = 0, label = "normal" }]', "u16", "distinct"),
        ('[{ raw = 0, label = "off" }]', "f32", "not a float"),
        ('[{ raw = -1, label = "off" }]', "u16", "must fit u16"),
        ('[{ raw = 0, label = "" }]', "u16", "non-empty label"),
        ("[]", "u16", "needs an enum"),
        ('[{ raw = 0, mode = "off" }]', "u16", "mode: unknown key"),
    ],
)
def test_bad_enums(enum: str, type_: str, expected: str) -> None:
    text = HEADER + GOOD_POINT
    text += f'\n[[points]]\nname = "mode"\ntable = "holding_register"\naddress = 40001\ntype = "{type_}"\n'
    text += f'label = "mode"\nenum = {enum}\n'
    found = problems_of(text)
    assert any(expected in p for p in found), found


def test_profile_needs_points_and_a_name() -> None:
    found = problems_of('[profile]\naddressing = "modicon"\n')
    assert any("profile.name: required key" in p for p in found)
    assert any("at least one [[points]]" in p for p in found)


def test_missing_profile_file() -> None:
    with pytest.raises(ConfigError, match="cannot read profile"):
        load_profile("no_such_profile")


STATION = """
[station]
site = "s"
station_id = "x"

[[devices]]
name = "gen1"
driver = "modbus"
profile = "{profile}"
host = "127.0.0.1"
tcp_port = 5020
"""


def test_check_config_rejects_a_station_whose_profile_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(HEADER + GOOD_POINT + GOOD_POINT.replace("30001", "30001"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_config(STATION.format(profile=bad), "station.toml")
    messages = [str(p) for p in info.value.problems]
    assert any("devices[0].profile" in m and "duplicate point name 'kvp'" in m for m in messages), messages
    assert any("overlaps" in m for m in messages), messages


def test_check_config_rejects_a_missing_profile_and_a_missing_host() -> None:
    text = STATION.format(profile="nope").replace('host = "127.0.0.1"\n', "")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "station.toml")
    messages = [str(p) for p in info.value.problems]
    assert any("devices[0].profile" in m and "cannot read profile" in m for m in messages), messages
    assert any("devices[0].host" in m for m in messages), messages


def test_the_sample_station_config_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    config = parse_config((root / "config/generator-room.toml").read_text(encoding="utf-8"))
    assert [d.driver for d in config.devices] == ["modbus"]
