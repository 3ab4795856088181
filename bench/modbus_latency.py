"""Modbus change → subscriber latency (issue 17: p99 ≤ 110 ms at a 100 ms poll). Prints figures; asserts
nothing.

A Modbus TCP generator simulator (pymodbus' server, in this process) serves four devices of the real
agent polling every `--poll` seconds (each its own connection, as behind a gateway); a private Mosquitto;
a QoS 1 subscriber in this process. At random moments (0.2–0.5 s apart, never in step with the polls) the
bench changes gen0's kV register and notes the time; the latency of that change is the time until the
first reading of gen0 carrying the new value arrives at the subscriber. It includes the wait for the next
poll (up to one interval, by design of polling), the poll itself, judge, commit, publish and the broker.
`[store] commit_window_s = 0` (every reading committed before it is published), the code default.

    .venv/bin/python bench/modbus_latency.py [--changes 100] [--poll 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.app import Agent  # noqa: E402
from agent.config import parse_config  # noqa: E402
from simulators.generator_script import NORMAL_FLUORO, GeneratorScript  # noqa: E402
from simulators.modbus_generator import ModbusGeneratorSimulator  # noqa: E402
from simulators.mosquitto import MosquittoBroker  # noqa: E402

STATION = """
[station]
site = "bench"
station_id = "latency"
[store]
path = "{store}"
"""
GENERATOR = """
[[devices]]
name = "gen{i}"
driver = "modbus"
profile = "example_xray_generator"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {port}
poll_interval_s = {poll}
"""
KV_RAW = 720  # the example map's kV register (0.1 kV a count): 72.0 kV, then 70.0–77.9 kV


class Arrivals:
    """Subscriber: when each kV value of gen0 first arrives (monotonic clock of this process)."""

    def __init__(self, host: str, port: int) -> None:
        self.first: dict[float, float] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="latency-sub", clean_session=True
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("doseedge/bench/latency/#", qos=1)
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("subscriber did not subscribe")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        now = time.monotonic()
        if not (message.topic.endswith("/reading/gen0") or message.topic.endswith("/readings/gen0")):
            return
        body = json.loads(message.payload)
        for item in body.get("readings", [body]):
            for m in item.get("measurements", []):
                if m.get("quantity") == "kvp":
                    with self._lock:
                        self.first.setdefault(round(m["value"], 1), now)

    def arrived(self, kv: float) -> float | None:
        with self._lock:
            return self.first.get(round(kv, 1))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def measure(changes: int, poll: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    sim = ModbusGeneratorSimulator(GeneratorScript.constant(NORMAL_FLUORO))
    sim.start()
    tmp = tempfile.mkdtemp(prefix="doseedge-latency-")
    text = STATION.format(store=f"{tmp}/outbox.sqlite") + "".join(
        GENERATOR.format(i=i, port=sim.port, poll=poll) for i in range(4)
    )
    latencies: list[float] = []
    with MosquittoBroker() as broker:
        agent = Agent(parse_config(text).with_mqtt(broker.host, broker.port))
        arrivals = Arrivals(broker.host, broker.port)
        task = asyncio.create_task(agent.run(install_signals=False))
        try:
            await asyncio.sleep(2.0)  # connected, polling
            for n in range(changes):
                raw = KV_RAW - 20 + (n % 79) + 1  # never the value before
                changed = time.monotonic()
                sim.faults.poke["kvp"] = [raw]
                deadline = changed + 5.0
                while (seen := arrivals.arrived(raw / 10)) is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
                if seen is not None:
                    latencies.append(seen - changed)
                await asyncio.sleep(rng.uniform(0.2, 0.5))
        finally:
            agent.request_stop()
            await task
            arrivals.close()
            sim.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    latencies = sorted(asyncio.run(measure(args.changes, args.poll, args.seed)))
    if not latencies:
        print("modbus change -> subscriber: no change arrived")
        return
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(f"modbus change -> subscriber, poll {args.poll * 1000:.0f} ms, 4 devices, commit_window_s 0")
    print(f"  changes      {args.changes}")
    print(f"  arrived      {len(latencies)}")
    print(f"  median_ms    {statistics.median(latencies) * 1000:.1f}")
    print(f"  p99_ms       {p99 * 1000:.1f}")
    print(f"  max_ms       {latencies[-1] * 1000:.1f}")


if __name__ == "__main__":
    main()
