"""Every registered driver has a sample config, a simulator peer and golden cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from drivers.registry import DRIVERS
from simulators import SIMULATORS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_driver_has_its_four_peers(name: str) -> None:
    spec = DRIVERS[name]
    config = load_config(ROOT / spec.sample_config)
    assert any(d.driver == name for d in config.devices), f"{spec.sample_config} does not use {name}"
    assert spec.simulator in SIMULATORS
    golden = ROOT / spec.golden_dir
    assert golden.is_dir() and any(golden.iterdir()), f"no golden cases in {golden}"
    module = __import__(spec.config_type.__module__, fromlist=["_"])
    assert module.__doc__ and "confidence" in module.__doc__.lower()
