"""Capacity, overload and idle cost of the agent (issue 17). Prints figures; asserts nothing.

Three workloads, each against a private Mosquitto on loopback and a subscriber:

- capacity: readings fed at the driver boundary (`Pipeline.on_reading` with the Reading the Modbus driver
  returns for the example generator profile: 7 plausible values and the `mode` label; until 2026-12-05 the
  bench fed 8 values of which `mode_code` has no plausibility bound, so every reading was withheld as
  implausible and kept an alarm active) as fast as the loop takes them for `--seconds`; the figure is the
  agent's own cost per reading (evaluate → store → publish), fed so that at most 5 000 wait unacknowledged
  (the rate the agent sustains, not how fast it piles up a backlog). Printed: readings/s stored and
  acknowledged, CPU % of one core of the agent's process only (the agent, its writer and paho threads, the
  feeder; the subscriber runs in a child process and Mosquitto in another, neither counted), readings
  acknowledged per second of agent CPU (`per_core`), store transactions/s.
- overload: the same readings offered at 2× the measured capacity (acknowledged/s) for `--seconds`:
  p50/p99 latency from the reading's timestamp to the subscriber, backlog at the end and its growth/s.
- idle: 4 generator devices polled at 10 Hz over Modbus TCP (the pymodbus simulator in a child process,
  `doseedge simulate modbus_generator --port N`), values unchanging: CPU % and messages/s; once
  with every reading sent, once by exception (`[store] report_deadband = 0.01`, heartbeat 10 s).

    .venv/bin/python bench/capacity.py [--seconds 10] [--repeats 3]
    .venv/bin/python bench/capacity.py --quick      # a smoke run (the test suite runs this)
    .venv/bin/python bench/capacity.py --only capacity --seconds 8 --repeats 3
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
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.app import Agent  # noqa: E402
from agent.config import parse_config  # noqa: E402
from drivers.modbus_map import RegisterMap, decode_reading  # noqa: E402
from drivers.modbus_profile import load_profile  # noqa: E402
from drivers.model import Reading, Status  # noqa: E402
from simulators.mosquitto import MosquittoBroker, free_port  # noqa: E402
from tests.fakes import ENV  # noqa: E402

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

OUTSTANDING = 5_000  # capacity: readings fed and not yet acknowledged, at most

# The example generator's registers (config/profiles/modbus/example_xray_generator.toml; the first case of
# tests/drivers/modbus/example_generator_dumps.toml): 72 kV, 2.4 mA, 15 pulses/s, 8 ms, 400 cm², SID 100 cm,
# mode normal, beam on. The bench varies kV and the pulse rate so that values change between readings.
INPUT_REGISTERS = (720, 39322, 16409, 150, 80, 0, 40000, 1600)
HOLDING_REGISTERS = (1, 9)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _latency_s(body: dict[str, Any], now: float) -> float:
    return now - datetime.fromisoformat(body["ts"].replace("Z", "+00:00")).timestamp()


def subscriber_child(host: str, port: int, topic: str) -> None:
    """The bench's QoS 1 subscriber, run in a child process (`--subscriber`) so that its paho thread
    is not counted as the agent's CPU. Says `ready` once subscribed; at EOF on stdin prints one JSON
    line: messages and readings received, reading latencies (arrival − `ts`) p50/p99 in seconds."""
    import paho.mqtt.client as mqtt

    latencies: list[float] = []
    counts = {"messages": 0, "readings": 0}
    subscribed = threading.Event()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        now = time.time()
        counts["messages"] += 1
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        schema = body.get("schema")
        if schema == "doseedge.reading.v2":
            counts["readings"] += 1
            latencies.append(_latency_s(body, now))
        elif schema == "doseedge.readings.v2":
            counts["readings"] += len(body["readings"])
            latencies.extend(_latency_s(r, now) for r in body["readings"])

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"cap-{time.time_ns()}", clean_session=False
    )
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    client.on_message = on_message
    client.connect(host, port, keepalive=10)
    client.loop_start()
    if not subscribed.wait(10):
        raise SystemExit("subscriber could not subscribe")
    print("ready", flush=True)
    sys.stdin.read()
    client.disconnect()
    client.loop_stop()
    print(json.dumps({**counts, "p50_s": percentile(latencies, 50), "p99_s": percentile(latencies, 99)}))


class ChildSubscriber:
    """`subscriber_child` in its own process."""

    def __init__(self, broker: MosquittoBroker, topic: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--subscriber", broker.host, str(broker.port), topic],
            env=ENV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the subscriber child did not start")

    def close(self) -> dict[str, float]:
        out, _ = self.process.communicate(timeout=60)
        figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
        return figures


def readings() -> list[Reading]:
    """The readings the feeder cycles through, built once: what a driver returns is not the agent's
    cost (84 = 4 devices × the values' periods 7 and 3)."""
    regmap = load_profile("example_xray_generator")
    return [reading(n, regmap) for n in range(84)]


def reading(n: int, regmap: RegisterMap) -> Reading:
    """What the Modbus driver returns for the example generator (drivers/modbus_map.py decodes the
    registers: 7 values in canonical units with their raw values, the `mode` label, device info); every
    value is plausible, as a working generator's are."""
    registers = list(INPUT_REGISTERS)
    registers[0] += 10 * (n % 7)  # 72–78 kV
    registers[3] += 10 * (n % 3)  # 15–17 pulses/s
    tables = {"input_register": registers, "holding_register": list(HOLDING_REGISTERS)}
    answers = {b: tables[b.table][b.address : b.address + b.count] for b in regmap.blocks}
    measurements, labels = decode_reading(regmap, answers)
    info = {"profile": regmap.name, "device_id": "1"}
    return Reading(f"gen{n % 4}", measurements, Status.OK, device_info=info, labels=labels)


class Counted:
    """Counts store transactions (one `Outbox.append` is one)."""

    def __init__(self, agent: Agent) -> None:
        self.count = 0
        original = agent.outbox.append

        def append(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        agent.outbox.append = append  # type: ignore[method-assign]


async def _feed(agent: Agent, seconds: float, rate: float | None, outstanding: int | None = None) -> int:
    """Readings into the pipeline: as fast as possible (rate None) or at `rate`/s; yields to the loop.
    With `outstanding`, no more than that many fed readings wait unacknowledged (capacity: the rate the
    agent sustains, not how fast a backlog can be piled up)."""
    fed = 0
    start = time.monotonic()
    acked0 = agent.forwarder.acknowledged
    pool = readings()
    batch = 50
    while (elapsed := time.monotonic() - start) < seconds:
        if rate is not None and fed >= rate * elapsed:
            await asyncio.sleep(0.002)
            continue
        if outstanding is not None and fed - (agent.forwarder.acknowledged - acked0) > outstanding:
            await asyncio.sleep(0.001)
            continue
        for _ in range(batch):
            agent.pipeline.on_reading(pool[fed % 84])
            fed += 1
        await asyncio.sleep(0)
    return fed


async def _run_fed(
    broker: MosquittoBroker, seconds: float, rate: float | None, outstanding: int | None = None
) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="doseedge-capacity-")
    config = parse_config(STATION.format(store=f"{tmp}/outbox.sqlite")).with_mqtt(broker.host, broker.port)
    subscriber = ChildSubscriber(broker, "doseedge/bench/#")
    agent = Agent(config)
    counted = Counted(agent)
    task = asyncio.create_task(agent.run(install_signals=False))
    while not agent.link.connected:
        await asyncio.sleep(0.01)
    acked0, cpu0, wall0 = agent.forwarder.acknowledged, cpu_s(), time.monotonic()
    published0 = agent.forwarder.published
    depth0 = agent.outbox.depth()
    fed = await _feed(agent, seconds, rate, outstanding)
    wall = time.monotonic() - wall0
    cpu = cpu_s() - cpu0
    acked = agent.forwarder.acknowledged - acked0
    depth = agent.outbox.depth()
    messages = agent.forwarder.published - published0
    agent.request_stop()
    await task
    received = subscriber.close()
    return {
        "offered_per_s": fed / wall,
        "shed": agent.pipeline.counters["readings_shed"],
        "acked_per_s": acked / wall,
        "cpu_pct": 100 * cpu / wall,
        "per_core": acked / cpu if cpu > 0 else float("nan"),
        "messages_per_s": messages / wall,
        "commits_per_s": counted.count / wall,
        "backlog_end": depth,
        "backlog_growth_per_s": (depth - depth0) / wall,
        "p50_ms": 1000 * received["p50_s"],
        "p99_ms": 1000 * received["p99_s"],
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
    parser.add_argument("--only", choices=["capacity", "overload", "idle"], action="append")
    parser.add_argument("--subscriber", nargs=3, metavar=("HOST", "PORT", "TOPIC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        host, port, topic = args.subscriber
        subscriber_child(host, int(port), topic)
        return
    only = set(args.only or ["capacity", "overload", "idle"])
    seconds, repeats = (1.0, 1) if args.quick else (args.seconds, args.repeats)
    runs: dict[str, list[dict[str, float]]] = {
        "capacity": [],
        "overload_2x": [],
        "idle_4x10Hz": [],
        "idle_4x10Hz_by_exception": [],
    }
    with MosquittoBroker() as broker:
        for _ in range(repeats):
            capacity = asyncio.run(_run_fed(broker, seconds, None, OUTSTANDING))
            if "capacity" in only:
                runs["capacity"].append(capacity)
            if "overload" in only:
                overload = asyncio.run(_run_fed(broker, seconds, 2 * capacity["acked_per_s"]))
                runs["overload_2x"].append(overload)
            if "idle" in only:
                runs["idle_4x10Hz"].append(asyncio.run(_run_idle(broker, seconds)))
                by_exception = asyncio.run(_run_idle(broker, seconds, BY_EXCEPTION))
                runs["idle_4x10Hz_by_exception"].append(by_exception)
    runs = {workload: results for workload, results in runs.items() if results}
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
