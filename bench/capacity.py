"""Capacity, overload and idle cost of the agent (issue 17). Prints figures; asserts nothing.

Three workloads, each against a private Mosquitto on loopback and a subscriber:

- capacity: readings fed at the driver boundary (`Pipeline.on_reading` with the Reading a Modbus generator
  driver returns: 8 values) as fast as the loop takes them for `--seconds`; the figure is the agent's own
  cost per reading (evaluate → store → publish). Printed: readings/s stored and acknowledged by the broker,
  CPU % of one core (this process: the agent and paho's thread), store transactions/s.
- overload: the same readings offered at 2× the measured capacity for `--seconds`: p50/p99 latency from the
  reading's timestamp to the subscriber, backlog at the end and its growth per second.
- idle: 4 generator devices polled at 10 Hz over Modbus TCP (the pymodbus simulator in a child process,
  `doseedge simulate modbus_generator --port N`), values unchanging: CPU % and messages/s; once
  with every reading sent, once by exception (`[store] report_deadband = 0.01`, heartbeat 10 s).

    .venv/bin/python bench/capacity.py [--seconds 10] [--repeats 3]
    .venv/bin/python bench/capacity.py --quick      # a smoke run (the test suite runs this)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.app import Agent  # noqa: E402
from agent.config import parse_config  # noqa: E402
from drivers.model import Measurement, Reading, Status  # noqa: E402
from simulators.mosquitto import MosquittoBroker, free_port  # noqa: E402
from tests.fakes import ENV, Subscriber  # noqa: E402

STATION = """
[station]
site = "bench"
station_id = "capacity"
[store]
path = "{store}"
"""

BY_EXCEPTION = """report_deadband = 0.01
report_max_interval_s = 10.0
"""

GENERATOR = """
[[devices]]
name = "gen{i}"
driver = "modbus"
profile = "example_xray_generator"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {port}
poll_interval_s = 0.1
"""

QUANTITIES = (
    ("kvp", "kV"),
    ("tube_current", "mA"),
    ("pulse_rate", "1/s"),
    ("pulse_width", "ms"),
    ("field_area", "cm²"),
    ("filtration_cu", "mm"),
    ("beam_on", "1"),
    ("mode_code", "1"),
)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def reading(n: int) -> Reading:
    values = (70.0 + n % 7, 10.0 + n % 3, 15.0, 8.0, 300.0, 0.1, 1.0, 0.0)
    measurements = tuple(
        Measurement(q, v, unit, v, unit) for (q, unit), v in zip(QUANTITIES, values, strict=True)
    )
    return Reading(device=f"gen{n % 4}", status=Status.OK, measurements=measurements)


class Counted:
    """Counts store transactions (one `Outbox.append` is one)."""

    def __init__(self, agent: Agent) -> None:
        self.count = 0
        original = agent.outbox.append

        def append(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        agent.outbox.append = append  # type: ignore[method-assign]


async def _feed(agent: Agent, seconds: float, rate: float | None) -> int:
    """Readings into the pipeline: as fast as possible (rate None) or at `rate`/s; yields to the loop."""
    fed = 0
    start = time.monotonic()
    batch = 50
    while (elapsed := time.monotonic() - start) < seconds:
        if rate is not None and fed >= rate * elapsed:
            await asyncio.sleep(0.002)
            continue
        for _ in range(batch):
            agent.pipeline.on_reading(reading(fed))
            fed += 1
        await asyncio.sleep(0)
    return fed


async def _run_fed(broker: MosquittoBroker, seconds: float, rate: float | None) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="doseedge-capacity-")
    config = parse_config(STATION.format(store=f"{tmp}/outbox.sqlite")).with_mqtt(broker.host, broker.port)
    subscriber = Subscriber(broker.host, broker.port, "doseedge/bench/#", client_id=f"cap-{time.monotonic()}")
    agent = Agent(config)
    counted = Counted(agent)
    task = asyncio.create_task(agent.run(install_signals=False))
    while not agent.link.connected:
        await asyncio.sleep(0.01)
    acked0, cpu0, wall0 = agent.forwarder.acknowledged, cpu_s(), time.monotonic()
    depth0 = agent.outbox.depth()
    fed = await _feed(agent, seconds, rate)
    wall = time.monotonic() - wall0
    cpu = cpu_s() - cpu0
    acked = agent.forwarder.acknowledged - acked0
    depth = agent.outbox.depth()
    agent.request_stop()
    await task
    subscriber.close()
    to_wall = time.time() - time.monotonic()  # the subscriber stamps arrivals on the monotonic clock
    latencies = [
        at + to_wall - datetime.fromisoformat(body["ts"].replace("Z", "+00:00")).timestamp()
        for at, _, body, _ in list(subscriber.messages)
        if body.get("schema") == "doseedge.reading.v2"
    ]
    return {
        "offered_per_s": fed / wall,
        "shed": agent.pipeline.counters["readings_shed"],
        "acked_per_s": acked / wall,
        "cpu_pct": 100 * cpu / wall,
        "commits_per_s": counted.count / wall,
        "backlog_end": depth,
        "backlog_growth_per_s": (depth - depth0) / wall,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }


async def _run_idle(broker: MosquittoBroker, seconds: float, store: str = "") -> dict[str, float]:
    port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "simulate", "modbus_generator", "--port", str(port)],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert simulator.stdout is not None
        simulator.stdout.readline()  # it says where it listens once it does
        tmp = tempfile.mkdtemp(prefix="doseedge-idle-")
        text = (
            STATION.format(store=f"{tmp}/outbox.sqlite")
            + store
            + "".join(GENERATOR.format(i=i, port=port) for i in range(4))
        )
        config = parse_config(text).with_mqtt(broker.host, broker.port)
        agent = Agent(config)
        counted = Counted(agent)
        task = asyncio.create_task(agent.run(install_signals=False))
        await asyncio.sleep(2.0)  # connected, polling
        published0, cpu0, wall0 = agent.forwarder.published, cpu_s(), time.monotonic()
        commits0 = counted.count
        await asyncio.sleep(seconds)
        wall = time.monotonic() - wall0
        result = {
            "cpu_pct": 100 * (cpu_s() - cpu0) / wall,
            "messages_per_s": (agent.forwarder.published - published0) / wall,
            "commits_per_s": (counted.count - commits0) / wall,
        }
        agent.request_stop()
        await task
        return result
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} (min {min(values):.1f}, max {max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a 1-second smoke run of each workload")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    seconds, repeats = (1.0, 1) if args.quick else (args.seconds, args.repeats)
    runs: dict[str, list[dict[str, float]]] = {
        "capacity": [],
        "overload_2x": [],
        "idle_4x10Hz": [],
        "idle_4x10Hz_by_exception": [],
    }
    with MosquittoBroker() as broker:
        for _ in range(repeats):
            capacity = asyncio.run(_run_fed(broker, seconds, None))
            runs["capacity"].append(capacity)
            runs["overload_2x"].append(asyncio.run(_run_fed(broker, seconds, 2 * capacity["acked_per_s"])))
            runs["idle_4x10Hz"].append(asyncio.run(_run_idle(broker, seconds)))
            by_exception = asyncio.run(_run_idle(broker, seconds, BY_EXCEPTION))
            runs["idle_4x10Hz_by_exception"].append(by_exception)
    if args.json:
        print(json.dumps(runs))
        return
    print(f"capacity benchmark: {repeats} repeat(s) of {seconds:.0f} s; median (min, max)")
    for workload, results in runs.items():
        print(f"  {workload}")
        for key in results[0]:
            print(f"    {key:22s} {spread([r[key] for r in results])}")


if __name__ == "__main__":
    main()
