"""`make bench`: every benchmark, repeated, in one table with the spread over the repeats.

Each benchmark prints its figures as text lines. This runs each one `--repeats` times and folds the runs
line by line: a line's numbers are replaced by `median [min–max]` over the repeats (the line's words say
what each number is). Lines that are not the same sentence in every run are printed from the first run.

    .venv/bin/python bench/summary.py [--repeats 3] [--only capacity.py,latency.py]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES: dict[str, list[str]] = {
    "capacity.py": ["--seconds", "10", "--repeats", "1"],
    "overload.py": ["--seconds", "10"],
    "memory.py": ["--seconds", "10"],
    "modbus_harness.py": ["--seconds", "10"],
    "latency.py": ["--seconds", "30"],
    "modbus_latency.py": ["--changes", "100"],
    "modbus.py": [],
    "device_command.py": ["--seconds", "10"],
    "state.py": [],
    "store.py": ["--quick"],
    "write_volume.py": ["--seconds", "20"],
}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def shape(line: str) -> str:
    return NUMBER.sub("#", line)


def fold(runs: list[list[str]]) -> list[str]:
    """Lines of the first run, each number replaced by its median and range over the runs."""
    folded = []
    for index, line in enumerate(runs[0]):
        same = [run[index] for run in runs if index < len(run) and shape(run[index]) == shape(line)]
        if len(same) < len(runs):
            folded.append(line)
            continue
        columns = list(zip(*[[float(n) for n in NUMBER.findall(s)] for s in same], strict=True))
        parts = NUMBER.split(line)
        out = parts[0]
        for values, tail in zip(columns, parts[1:], strict=True):
            out += _spread(values) + tail
        folded.append(out)
    return folded


def _spread(values: tuple[float, ...]) -> str:
    median = statistics.median(values)
    if min(values) == max(values):
        return _num(median)
    return f"{_num(median)} [{_num(min(values))}–{_num(max(values))}]"


def _num(value: float) -> str:
    return f"{value:.0f}" if value == int(value) and abs(value) >= 10 else f"{value:.3g}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated benchmark file names")
    args = parser.parse_args()
    chosen = [name for name in BENCHES if not args.only or name in args.only.split(",")]
    failed = 0
    print(f"doseedge benchmarks: {args.repeats} repeat(s) each; numbers are median [min–max]\n")
    for name in chosen:
        runs: list[list[str]] = []
        started = time.monotonic()
        for _ in range(args.repeats):
            result = subprocess.run(
                [sys.executable, str(ROOT / "bench" / name), *BENCHES[name]],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            if result.returncode != 0:
                failed += 1
                print(f"== {name}: FAILED (exit {result.returncode})\n{result.stderr[-1500:]}")
                break
            runs.append([line for line in result.stdout.splitlines() if line.strip()])
        if runs:
            print(f"== {name} {' '.join(BENCHES[name])}  ({time.monotonic() - started:.0f} s)")
            for line in fold(runs):
                print(f"  {line}")
            print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
