"""Config: strict, typed, every problem reported with its key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.commands.auth import Role
from agent.commands.keys import add_sender
from agent.config import load_config, parse_config
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "config" / "demo.toml").read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.toml")
    return [str(p) for p in info.value.problems]


def test_bundled_configs_are_valid() -> None:
    for path in sorted((ROOT / "config").glob("*.toml")):
        config = load_config(path)
        assert config.devices, path


def test_demo_config_is_frozen_and_typed() -> None:
    config = parse_config(GOOD)
    assert config.station.station_id == "carm-1"
    assert config.devices[0].poll_interval_s == 0.25
    assert config.fluoroscopy is not None and config.fluoroscopy.backscatter_factor == 1.4
    with pytest.raises(AttributeError):
        config.station.site = "x"  # type: ignore[misc]


def test_unknown_key_is_an_error_with_its_line() -> None:
    text = GOOD.replace("baudrate = 9600", "baudrate = 9600\nbaud_rate = 9600")
    found = problems(text)
    line = text.splitlines().index("baud_rate = 9600") + 1
    assert any(f"line {line}: devices[0].baud_rate: unknown key" in p for p in found), found


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = GOOD.replace('site = "demo-hospital"', 'site = "demo hospital/1"')
    text = text.replace("backscatter_factor = 1.4", "backscatter_factor = 4.0")
    text = text.replace("timeout_s = 1.0", 'timeout_s = "1s"')
    found = problems(text)
    assert len(found) == 3, found
    assert any("station.site" in p for p in found)
    assert any("fluoroscopy.backscatter_factor" in p for p in found)
    assert any("devices[0].timeout_s: must be a number" in p for p in found)


def test_unknown_driver_and_missing_dap_meter() -> None:
    text = GOOD.replace('driver = "ptw_diamentor"', 'driver = "acme_dap"')
    found = problems(text)
    assert any("devices[0].driver: unknown driver 'acme_dap'" in p for p in found)
    assert len(found) == 1, "a broken device table must not cause a second, confusing error"
    found = problems(GOOD.replace('dap_meter = "dap1"', 'dap_meter = "dap9"'))
    assert any("fluoroscopy.dap_meter: no DAP meter named 'dap9'" in p for p in found)


def test_missing_required_key_and_syntax_error() -> None:
    assert any(
        "station.station_id: required key is missing" in p
        for p in problems(GOOD.replace('station_id = "carm-1"', ""))
    )
    assert any("line 2" in p for p in problems("[station]\nsite = \n"))


def test_check_config_cli_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo's senders file (var/demo/senders.toml), made as the demo does
    add_sender("var/demo/senders.toml", "demo-desk", Role.PHYSICIST, "var/demo/demo-desk.key")
    assert main(["check-config", "-c", str(ROOT / "config" / "demo.toml")]) == 0
    out = capsys.readouterr().out
    assert "25 mGy/min" in out and "Tableau 4" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("[store]", "[stor]"))
    assert main(["check-config", "-c", str(bad)]) == 2
    assert "stor: unknown table" in capsys.readouterr().err
    assert main(["check-config", "-c", str(tmp_path / "missing.toml")]) == 2
