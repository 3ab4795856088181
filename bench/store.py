"""Store-and-forward figures (docs/performance.md, "Store and forward"). Prints, never asserts.

    .venv/bin/python bench/store.py            # backlogs 0, 100 000, 1 000 000 (~1 GB temp, ~2 min)
    .venv/bin/python bench/store.py --quick    # backlogs 0, 10 000, 100 000

Measures: single-message append (one transaction, synchronous=FULL) at each backlog; sustained
appends/s with group commit (10 and 100 per transaction); drain rate from a backlog to a private
local Mosquitto through the real forwarder and MQTT link; bytes per record.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agent.config import MqttConfig, StoreConfig
from agent.link.forwarder import Forwarder
from agent.link.mqtt_link import MqttLink
from agent.store.outbox import Outbox, OutMessage, Priority
from simulators.mosquitto import MosquittoBroker

BODY = {
    "schema": "doseedge.reading.v2",
    "ts": "2026-11-22T09:00:00.000Z",
    "site": "chu-example",
    "station": "angio-2",
    "device": "dap1",
    "status": "ok",
    "measurements": [
        {"quantity": "kap", "value": 12.345, "unit": "Gy·cm²", "raw_value": 1234.5, "raw_unit": "µGy·m²"},
        {
            "quantity": "kap_rate",
            "value": 0.42,
            "unit": "Gy·cm²/min",
            "raw_value": 42.0,
            "raw_unit": "µGy·m²/min",
        },
    ],
    "entrance_dose_rate_mgy_min": 18.2,
}
BIG = 8 * 1024**3


def reading(n: int) -> OutMessage:
    return OutMessage("reading/dap1", {**BODY, "n": n}, Priority.READING)


def grow(outbox: Outbox, to: int) -> None:
    have = outbox.depth()
    while have < to:
        step = min(5000, to - have)
        outbox.append([reading(have + i) for i in range(step)])
        have += step


def append_cost_ms(outbox: Outbox, n: int = 300) -> float:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        outbox.append([reading(i)])
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def sustained(outbox: Outbox, per_commit: int, seconds: float = 3.0) -> float:
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        outbox.append([reading(done + i) for i in range(per_commit)])
        done += per_commit
    return done / (time.perf_counter() - t0)


async def drain(
    outbox: Outbox, broker: MosquittoBroker, window: int, replay: float, per_message: int = 1
) -> tuple[int, float]:
    config = MqttConfig(port=broker.port, max_inflight=window, max_queued_messages=window * 2, protocol="5")
    link = MqttLink(config, "bench/site/st", f"bench-{window}", lambda s: {"state": s})
    forwarder = Forwarder(outbox, link, window, replay, per_message=per_message)
    loop = asyncio.get_running_loop()
    link.on_ack = lambda mid: forwarder.ack_from_thread(loop, mid)
    link.on_state = lambda up: forwarder.state_from_thread(loop, up)
    backlog = outbox.depth()
    stop = asyncio.Event()
    link.start()
    while not link.connected:
        await asyncio.sleep(0.01)
    t0 = time.perf_counter()
    task = asyncio.create_task(forwarder.run(stop))
    while outbox.depth() > 0:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t0
    stop.set()
    await task
    await asyncio.to_thread(link.stop)
    return backlog, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="backlogs 0 and 1 000: the test suite's run")
    parser.add_argument("--drain-only", action="store_true", help="only the drain figures")
    args = parser.parse_args()
    backlogs = [0, 1_000] if args.smoke else [0, 10_000, 100_000] if args.quick else [0, 100_000, 1_000_000]
    if not args.drain_only:
        with tempfile.TemporaryDirectory(prefix="doseedge-bench-") as tmp:
            path = Path(tmp) / "outbox.sqlite"
            outbox = Outbox(path, StoreConfig(path=str(path), max_bytes=BIG))
            print("Append cost, one message per transaction (synchronous=FULL), median of 300:")
            for backlog in backlogs:
                grow(outbox, backlog)
                print(f"  backlog {backlog:>9,}: {append_cost_ms(outbox):.3f} ms/append")
            rows = outbox.depth()
            used = outbox.used_bytes()
            payload = len(outbox.pending(1)[0].payload)
            files = sum(p.stat().st_size for p in Path(tmp).glob("outbox.sqlite*"))
            print(
                f"Bytes per record: {used / rows:.0f} B used pages, {files / rows:.0f} B on disk incl. WAL "
                f"({rows:,} rows; JSON payload {payload} B each)"
            )
            outbox.close()
        with tempfile.TemporaryDirectory(prefix="doseedge-bench-") as tmp:
            path = Path(tmp) / "outbox.sqlite"
            outbox = Outbox(path, StoreConfig(path=str(path), max_bytes=BIG))
            print("Sustained appends with group commit (3 s each):")
            for per in (1, 10, 100):
                print(f"  {per:>3} per transaction: {sustained(outbox, per):,.0f} records/s")
            outbox.close()
    broker = MosquittoBroker()
    broker.start()
    try:
        print("Drain to a local Mosquitto after an outage (QoS 1, delete on PUBACK):")
        batched = MqttConfig().max_readings_per_message
        runs = [(100, 10000.0, 50_000, 1), (100, 1e9, 50_000, 1), (500, 1e9, 100_000, 1)]
        runs += [(100, 10000.0, 50_000, batched), (100, 1e9, 100_000, batched)]
        for window, replay, backlog, per_message in runs:
            with tempfile.TemporaryDirectory(prefix="doseedge-bench-") as tmp:
                path = Path(tmp) / "outbox.sqlite"
                outbox = Outbox(path, StoreConfig(path=str(path), max_bytes=BIG))
                grow(outbox, backlog)
                n, seconds = asyncio.run(drain(outbox, broker, window, replay, per_message))
                cap = "default cap" if replay == 10000.0 else "no cap"
                print(
                    f"  window {window}, replay_max_msg_s {replay:g} ({cap}), max_readings_per_message "
                    f"{per_message}: {n:,} in {seconds:.2f} s = {n / seconds:,.0f} records/s"
                )
                outbox.close()
    finally:
        broker.cleanup()


if __name__ == "__main__":
    main()
