"""Cost of saving the open procedure and alarm book with every batch (docs/store.md). Prints, never asserts.

    .venv/bin/python bench/state.py

A pipeline on a real outbox (WAL, synchronous=FULL) with a procedure open and `alarms` trigger alarms
in it; per reading: the median time of `Outbox.append` of one reading message without the state row
(before this change) and with it (now), the time to build the state, and the state's size.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.config import parse_config
from agent.pipeline import Pipeline
from agent.restart_state import StateWriter
from agent.store.outbox import Outbox, OutMessage, Priority
from drivers.model import Measurement, Reading

CONFIG = """
[station]
site = "bench"
station_id = "carm"
[fluoroscopy]
dap_meter = "dap1"
field_area_at_reference_cm2 = 40.0
source_to_reference_cm = 60.0
source_to_entrance_cm = 65.0
backscatter_factor = 1.4
[triggers]
preset = "ncrp168-sir"
[[triggers.override]]
id = "kap_notification"
first = 0.01
every = {every}
[[devices]]
name = "dap1"
driver = "ptw_diamentor"
port = "/dev/null"
"""


class BenchClock:
    """Time the bench moves on itself, so the procedure is the same on every run."""

    def __init__(self) -> None:
        self.mono = 0.0
        self.start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.mono)

    def advance(self, seconds: float) -> None:
        self.mono += seconds


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(alarms: int, n: int, directory: Path) -> None:
    clock = BenchClock()
    outbox = Outbox(directory / f"state-{alarms}.sqlite")
    # 1 Gy·cm²/min for 60 s = 1 Gy·cm²: `alarms` levels crossed
    config = parse_config(CONFIG.format(every=max(0.99 / max(alarms - 1, 1), 1e-3)))
    pipeline = Pipeline(config, outbox, clock, lambda: None)
    kap = 0.0
    for _ in range(240):
        clock.advance(0.25)
        kap += 0.25 / 60
        m = (
            Measurement("kap", kap, "Gy·cm²", kap, "Gy·cm²"),
            Measurement("kap_rate", 1.0, "Gy·cm²/min", 1.0, "Gy·cm²/min"),
        )
        pipeline.on_reading(Reading("dap1", m))
    message = OutMessage("reading/dap1", {"schema": "doseedge.reading.v2", "kap": kap}, Priority.READING)
    writer = StateWriter()
    without, with_state, build = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        outbox.append([message])
        t1 = time.perf_counter()
        state = writer.rows(pipeline)
        t2 = time.perf_counter()
        outbox.append([message], state=state)
        t3 = time.perf_counter()
        writer.written(state, pipeline.alarm_book.revision)
        without.append(t1 - t0)
        build.append(t2 - t1)
        with_state.append(t3 - t2)
    size = len(writer.rows(pipeline)["procedure"].encode())
    book = len(StateWriter().rows(pipeline)["alarms"].encode())
    active = len(pipeline.alarm_book.active)
    print(
        f"procedure with {active:3d} active alarms: append {median_ms(without):.3f} ms before, "
        f"{median_ms(with_state):.3f} ms with state (+ build {median_ms(build) * 1000:.0f} µs), "
        f"state row {size} bytes (alarm book {book} bytes, written when it changes)"
    )
    outbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for alarms in (1, 10, 100):
            run(alarms, args.n, Path(directory))


if __name__ == "__main__":
    main()
