"""The [hotlab] table: strict keys, located problems, cross-check of the activimeter name."""

from __future__ import annotations

import pytest

from agent.config import parse_config
from core.errors import ConfigError

BASE = '[station]\nsite = "h1"\nstation_id = "hotlab-1"\n'


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + text)
    return [str(p) for p in info.value.problems]


def test_hotlab_table_problems_are_each_reported_with_key_and_line() -> None:
    found = problems(
        "[hotlab]\n"
        'activimeter = "dc9"\n'
        'calibration_date = "01/03/2026"\n'
        "background_max_mbq = 0.05\n"
        "zero_tolerance_mbq = 0.005\n"
        'timezone = "Mars/Olympus"\n'
        "constancy_action_fraction = 0.04\n"
        "constancy_warning_fraction = 0.05\n"
    )
    text = "\n".join(found)
    for key in ("calibration_date", "timezone", "constancy_warning_fraction"):
        assert f"hotlab.{key}" in text
    assert "line 6: hotlab.calibration_date" in text


def test_unknown_key_is_an_error() -> None:
    found = problems(
        '[hotlab]\nactivimeter = "dc1"\ncalibration_date = "2026-03-01"\n'
        "background_max_mbq = 0.05\nzero_tolerance_mbq = 0.005\nstable_windw_s = 3\n"
    )
    assert any("line 9: hotlab.stable_windw_s: unknown key" in p for p in found)


def test_activimeter_must_be_a_configured_device() -> None:
    found = problems(
        '[hotlab]\nactivimeter = "dc9"\ncalibration_date = "2026-03-01"\n'
        "background_max_mbq = 0.05\nzero_tolerance_mbq = 0.005\n"
    )
    assert any("hotlab.activimeter: no device named 'dc9'" in p for p in found)


def test_site_values_without_cited_default_are_required() -> None:
    found = problems('[hotlab]\nactivimeter = "dc1"\ncalibration_date = "2026-03-01"\n')
    assert any("hotlab.background_max_mbq: required key is missing" in p for p in found)
    assert any("hotlab.zero_tolerance_mbq: required key is missing" in p for p in found)


HOTLAB = (
    '[hotlab]\nactivimeter = "{name}"\ncalibration_date = "2026-03-01"\n'
    "background_max_mbq = 0.05\nzero_tolerance_mbq = 0.005\n"
)
DAP = '[[devices]]\nname = "dap1"\ndriver = "ptw_diamentor"\nport = "/dev/ttyUSB0"\n'
CRC = '[[devices]]\nname = "crc1"\ndriver = "capintec_crc"\nport = "/dev/ttyUSB1"\n'


def test_activimeter_must_name_a_device_whose_role_is_activimeter() -> None:
    found = problems(DAP + CRC + HOTLAB.format(name="dap1"))
    assert found == [
        "line 13: hotlab.activimeter: device 'dap1' is a ptw_diamentor (dap_meter), not an activimeter "
        "(drivers: atomlab500, capintec_crc, veenstra_vdc404, veenstra_vik202)"
    ]


def test_an_activimeter_device_is_accepted() -> None:
    config = parse_config(BASE + DAP + CRC + HOTLAB.format(name="crc1"))
    assert config.hotlab is not None and config.hotlab.activimeter == "crc1"


def test_a_broken_activimeter_table_is_reported_once() -> None:
    broken = CRC.replace('port = "/dev/ttyUSB1"\n', 'port = "/dev/ttyUSB1"\nchambers = [9]\n')
    found = problems(broken + HOTLAB.format(name="crc1"))
    assert len(found) == 1 and "devices[0].chambers" in found[0]
