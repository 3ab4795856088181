"""The hot-lab station from the command line: check-config explains the levels, the demo runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import load_config
from agent.hotlab_explain import explain_hotlab

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["hotlab.toml", "demo-hotlab.toml"])
def test_check_config_lists_every_hotlab_level_with_its_source(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(ROOT / "config" / name)]) == 0
    out = capsys.readouterr().out
    assert "hotlab: activimeter crc1 (capintec_crc), calibrated 2026-03-01, due 2027-03-01" in out
    assert (
        "level prescribed_tolerance_fraction: 0.2 (fraction of the prescribed activity) — US 10 CFR 35.63(d)"
        in out
    )
    assert "level constancy_action_fraction: 0.1" in out and "action level ±10 %" in out
    assert "level Table 5 maximum usual activity: 65 rows" in out
    assert "level discharge I-131: 1100 MBq — dz-2015-table6 row 1" in out


def test_an_override_is_cited_as_station_configuration() -> None:
    config = load_config(ROOT / "config" / "hotlab.toml")
    assert config.hotlab is not None
    lines = explain_hotlab(
        replace(config.hotlab, constancy_action_fraction=0.08), "capintec_crc", date(2027, 3, 2)
    )
    assert "OVERDUE today" in lines[0]
    (action,) = [line for line in lines if "constancy_action_fraction" in line]
    assert "0.08" in action
    assert "station configuration [hotlab].constancy_action_fraction (default 0.1: dosimetry.md §5" in action
