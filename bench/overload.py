"""Graceful overload (issue 17): the real agent, its real pollers, at 2× what it can publish. Prints
figures; asserts nothing.

Devices are fakes at the driver boundary that answer every poll at once with a generator's reading
(8 values), polled by the agent's own `DevicePoller`s (so back-pressure, agent/backpressure.py, acts
as it does in the field). A private Mosquitto on loopback; the subscriber runs in **its own process**
and reports, per reading, the delay from the reading's timestamp (taken by the pipeline) to its
arrival. Two phases, each `--seconds` long:

- sustainable: enough devices that the agent cannot keep up (`--devices`, 20 Hz each); the rate the
  broker acknowledges is the sustainable load;
- overload 2×: devices offering twice that rate. Printed: offered and acknowledged readings/s, p50 / p99
  / max latency to the subscriber, the unpublished backlog (peak, end, bound), polls held, and whether
  an alarm raised in the middle of the overload reached the subscriber before the readings that waited.

    .venv/bin/python bench/overload.py [--seconds 10] [--devices 200]
    .venv/bin/python bench/overload.py --quick      # a smoke run (the test suite runs this)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.app import Agent  # noqa: E402
from agent.config import parse_config  # noqa: E402
from agent.notices import AlarmNotice  # noqa: E402
from bench.capacity import reading as generator_reading  # noqa: E402
from drivers.modbus_profile import load_profile  # noqa: E402
from drivers.model import Reading  # noqa: E402
from simulators.mosquitto import MosquittoBroker  # noqa: E402
from tests.fakes import ENV  # noqa: E402

POLL_S = 0.05
STATION = """
[station]
site = "bench"
station_id = "overload"
[store]
path = "{store}"
commit_window_s = 0.0
"""
DEVICE = """
[[devices]]
name = "gen{i}"
driver = "modbus"
profile = "example_xray_generator"
transport = "tcp"
host = "127.0.0.1"
tcp_port = 1
poll_interval_s = {poll}
"""
PERIOD = 21  # the example readings' values repeat every 21 polls (bench/capacity.py: periods 7 and 3)
SUBSCRIBER = r"""
import json, signal, sys, time
from datetime import datetime
import paho.mqtt.client as mqtt
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen = []
def on_message(client, userdata, message):
    now = time.time()
    body = json.loads(message.payload)
    kind = body.get("alarm_id", "") if message.topic.endswith("/alarm") else ""
    if "/reading/" in message.topic:
        kind = "reading"
    if kind:
        ts = datetime.fromisoformat(body["ts"].replace("Z", "+00:00")).timestamp()
        seen.append((kind, ts, now - ts))
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="overload-sub", clean_session=True)
client.on_connect = lambda c, u, f, rc, p: c.subscribe("doseedge/bench/#", qos=1)
client.on_subscribe = lambda *a: print("ready", flush=True)
client.on_message = on_message
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
client.connect(host, port)
client.loop_start()
while not stop:
    time.sleep(0.05)
client.loop_stop()
json.dump(seen, open(out, "w"))
"""


class InstantGenerator:
    """Answers at once with what the Modbus driver returns for the example generator (all values
    plausible, as a working generator's are; bench/capacity.py builds them), prebuilt per device."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counters: Counter[str] = Counter()
        self.polls = 0
        regmap = load_profile("example_xray_generator")
        self._readings = [replace(generator_reading(n, regmap), device=name) for n in range(PERIOD)]

    def connect(self) -> dict[str, str]:
        return {"model": "bench"}

    def poll(self) -> Reading:
        self.polls += 1
        return self._readings[self.polls % PERIOD]

    def close(self) -> None:
        pass


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _phase(broker: MosquittoBroker, devices: int, seconds: float) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="doseedge-overload-")
    text = STATION.format(store=f"{tmp}/outbox.sqlite") + "".join(
        DEVICE.format(i=i, poll=POLL_S) for i in range(devices)
    )
    agent = Agent(parse_config(text).with_mqtt(broker.host, broker.port))
    for poller in agent.pollers:
        poller.driver = InstantGenerator(poller.name)
    out = f"{tmp}/arrivals.json"
    subscriber = subprocess.Popen(
        [sys.executable, "-c", SUBSCRIBER, broker.host, str(broker.port), out],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert subscriber.stdout is not None
    subscriber.stdout.readline()
    task = asyncio.create_task(agent.run(install_signals=False))
    while not agent.link.connected:
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)  # warm up: pollers running, the backlog settled
    polls0 = sum(p.counters["readings"] for p in agent.pollers)
    acked0, cpu0, wall0 = agent.forwarder.acknowledged, cpu_s(), time.monotonic()
    measured_from = time.time()  # latencies of readings taken from here on (not the start-up surge)
    backlogs: list[int] = []
    alarm_at: float | None = None
    while (elapsed := time.monotonic() - wall0) < seconds:
        backlogs.append(agent._backlog())
        if alarm_at is None and elapsed >= seconds / 2:
            notice = AlarmNotice("bench-dose", "rate_high", "raised", "high", "bench: alarm under load", {})
            agent.pipeline.store([agent.pipeline.alarm_message(notice)])
            alarm_at = time.monotonic()
        await asyncio.sleep(0.05)
    wall = time.monotonic() - wall0
    cpu = cpu_s() - cpu0
    taken = sum(p.counters["readings"] for p in agent.pollers) - polls0
    acked = agent.forwarder.acknowledged - acked0
    overload = agent.backpressure.health()
    backlog_end = agent._backlog()
    agent.request_stop()
    await task
    subscriber.terminate()
    subscriber.wait(timeout=30)
    seen = json.loads(Path(out).read_text())
    latencies = [delay for kind, ts, delay in seen if kind == "reading" and ts >= measured_from]
    alarm_delay = next((delay for kind, _, delay in seen if kind == "bench-dose"), float("nan"))
    return {
        "devices": devices,
        "offered_per_s": devices / POLL_S,
        "taken_per_s": taken / wall,
        "acked_per_s": acked / wall,
        "agent_cpu_pct": 100 * cpu / wall,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "max_ms": 1000 * max(latencies, default=float("nan")),
        "alarm_ms": 1000 * alarm_delay,
        "backlog_peak": max(backlogs, default=0),
        "backlog_end": backlog_end,
        "backlog_bound": agent.config.mqtt.live_backlog_max,
        "polls_held": float(overload["polls_stretched"]),  # type: ignore[arg-type]
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=200, help="devices at 20 Hz in the sustainable phase")
    parser.add_argument("--quick", action="store_true", help="a 1-second smoke run")
    args = parser.parse_args()
    seconds, devices = (1.0, 20) if args.quick else (args.seconds, args.devices)
    with MosquittoBroker() as broker:
        sustainable = asyncio.run(_phase(broker, devices, seconds))
        twice = max(1, math.ceil(2 * sustainable["acked_per_s"] * POLL_S))
        overload = asyncio.run(_phase(broker, twice, seconds))
    print(f"overload benchmark: {seconds:.0f} s per phase, devices polled every {POLL_S * 1000:.0f} ms")
    for name, result in (("sustainable", sustainable), ("overload_2x", overload)):
        print(f"  {name}")
        for key, value in result.items():
            print(f"    {key:16s} {value:.1f}")


if __name__ == "__main__":
    main()
