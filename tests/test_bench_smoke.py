"""A short run of every benchmark, so the scripts cannot rot. Figures are printed by `make bench`;
nothing here is timed or compared with a target (tests never assert performance)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import ENV

BENCH = Path(__file__).resolve().parents[1] / "bench"

SMOKE = {
    "capacity.py": ["--quick"],
    "latency.py": ["--seconds", "2"],
    "overload.py": ["--quick"],
    "memory.py": ["--seconds", "2"],
    "modbus_harness.py": ["--seconds", "1", "--devices", "2"],
    "device_command.py": ["--seconds", "2"],
    "modbus.py": ["--reads", "20", "--rtu-reads", "5"],
    "modbus_latency.py": ["--changes", "3"],
    "state.py": [],
    "summary.py": ["--repeats", "2", "--only", "state.py"],
    "store.py": ["--smoke"],
    "write_volume.py": ["--seconds", "2"],
}


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_runs_and_prints_figures(script: str) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *SMOKE[script]],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(ch.isdigit() for ch in result.stdout), result.stdout


def test_every_benchmark_has_a_smoke_run() -> None:
    scripts = {p.name for p in BENCH.glob("*.py")}
    assert scripts <= set(SMOKE), "add the new benchmark to SMOKE"
