"""Device action latency: cmd/device_command accepted → outcome ready, on the device's own poller.

Runs the Capintec simulator on a real pty and the registry's driver under a DevicePoller on an
asyncio loop, with a slow poll interval (2 s) so the figure shows the poller being woken by a
queued action rather than waiting for its next poll. Each action is a `daily_check` (`@`, `$O#`,
`d` frame, reply). No broker: the MQTT leg is bench/latency.py's.

    .venv/bin/python bench/device_command.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.clock import SystemClock  # noqa: E402
from agent.commands.auth import Role, Sender  # noqa: E402
from agent.commands.device import DeviceCommands  # noqa: E402
from agent.commands.router import CommandRouter  # noqa: E402
from agent.poller import DevicePoller  # noqa: E402
from drivers.capintec import CapintecConfig  # noqa: E402
from drivers.registry import build_driver  # noqa: E402
from simulators.activity_source import ConstantSource  # noqa: E402
from simulators.capintec import CapintecSimulator  # noqa: E402

POLL_INTERVAL_S = 2.0


async def run(seconds: float) -> None:
    simulator = CapintecSimulator(ConstantSource("Tc-99m", 370.0))
    config = CapintecConfig(
        name="crc1", driver="capintec_crc", port=simulator.start(), poll_interval_s=POLL_INTERVAL_S
    )
    clock = SystemClock()
    poller = DevicePoller(config, build_driver(config), clock, lambda r: None, print)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    failures: list[str] = []

    def published(name: str, result: dict[str, Any], records: Any) -> None:
        latencies.append(time.perf_counter() - sent[result["command_id"]])
        if not result["ok"]:
            failures.append(result["error"])

    router = CommandRouter(clock)
    physicist = Sender("bench", Role.PHYSICIST)  # a local channel: no signature, role checked
    DeviceCommands([poller], clock, lambda schema: {}, published).register(router)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    await asyncio.sleep(1.0)  # connected
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        command_id = f"b{n}"
        sent[command_id] = time.perf_counter()
        body = {"command_id": command_id, "device": "crc1", "action": "daily_check"}
        assert router.dispatch_local("device_command", body, physicist, "bench")["ok"]
        await asyncio.sleep(random.uniform(0.3, 0.9))
    await asyncio.sleep(1.0)
    stop.set()
    await task
    simulator.stop()
    ms = sorted(x * 1000 for x in latencies)
    print(f"device actions: {len(ms)} of {n} done, {len(failures)} failed, poll interval {POLL_INTERVAL_S} s")
    print(
        f"accepted → outcome (ms): p50 {statistics.median(ms):.1f}  "
        f"p95 {ms[round(0.95 * (len(ms) - 1))]:.1f}  max {ms[-1]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(run(parser.parse_args().seconds))


if __name__ == "__main__":
    main()
