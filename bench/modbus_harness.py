"""Values per second per core on the Modbus TCP harness (issue 17): the agent against the pymodbus client's
own rate. Prints figures; asserts nothing.

The server is the generator simulator (pymodbus' own async server) in a child process, so its CPU is not
counted. Two measurements, each `--seconds` long:

- client: a bare pymodbus sync client polling the example generator map (the same block reads the agent's
  Modbus driver makes: 8 values per poll) as fast as it can, in its own process, through the project's
  blocking Modbus driver on pymodbus' sync client (drivers/modbus.py, decode included; the agent
  itself reads Modbus TCP on its event loop, drivers/modbus_tcp_link.py). Printed: polls/s, values/s,
  CPU % of that process, values/s per core. This is the ceiling of anything that polls through
  pymodbus on this machine.
- agent: `--devices` generator devices at 20 Hz in the real agent (its pollers, plausibility, judge, store,
  publish to a private Mosquitto; no subscriber). Printed: readings/s taken, values/s, agent CPU %, values/s
  per core of the agent process.

    .venv/bin/python bench/modbus_harness.py [--seconds 10] [--devices 40]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.app import Agent  # noqa: E402
from agent.config import parse_config  # noqa: E402
from simulators.mosquitto import MosquittoBroker, free_port  # noqa: E402
from tests.fakes import ENV  # noqa: E402

VALUES_PER_POLL = 8
STATION = """
[station]
site = "bench"
station_id = "harness"
[store]
path = "{store}"
commit_window_s = 1.0
"""
GENERATOR = """
[[devices]]
name = "gen{i}"
driver = "modbus"
profile = "example_xray_generator"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {port}
poll_interval_s = 0.05
"""
CLIENT = r"""
import resource, sys, time
sys.path.insert(0, sys.argv[3])
from agent.config import parse_config
from drivers.modbus import ModbusDriver, pymodbus_link
text = sys.argv[4]
device = parse_config(text).devices[0]
driver = ModbusDriver(device, device.register_map(), pymodbus_link(device))  # pymodbus' sync client
driver.connect()
seconds = float(sys.argv[2])
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu0, start, polls = usage.ru_utime + usage.ru_stime, time.monotonic(), 0
while time.monotonic() - start < seconds:
    driver.poll()
    polls += 1
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(polls / wall, (usage.ru_utime + usage.ru_stime - cpu0) / wall)
driver.close()
"""


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client_rate(port: int, seconds: float) -> dict[str, float]:
    text = "[station]\nsite = 'b'\nstation_id = 'c'\n" + GENERATOR.format(i=0, port=port)
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, "", str(seconds), str(ROOT), text],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    polls, cpu = float(out[0]), float(out[1])
    return {
        "polls_per_s": polls,
        "values_per_s": polls * VALUES_PER_POLL,
        "cpu_pct": 100 * cpu,
        "values_per_s_per_core": polls * VALUES_PER_POLL / max(cpu, 1e-9),
    }


async def agent_rate(broker: MosquittoBroker, port: int, devices: int, seconds: float) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="doseedge-harness-")
    text = STATION.format(store=f"{tmp}/outbox.sqlite") + "".join(
        GENERATOR.format(i=i, port=port) for i in range(devices)
    )
    agent = Agent(parse_config(text).with_mqtt(broker.host, broker.port))
    task = asyncio.create_task(agent.run(install_signals=False))
    await asyncio.sleep(2.0)  # connected, polling
    taken0 = sum(p.counters["readings"] for p in agent.pollers)
    cpu0, wall0 = cpu_s(), time.monotonic()
    await asyncio.sleep(seconds)
    wall, cpu = time.monotonic() - wall0, cpu_s() - cpu0
    taken = sum(p.counters["readings"] for p in agent.pollers) - taken0
    agent.request_stop()
    await task
    return {
        "devices": devices,
        "readings_per_s": taken / wall,
        "values_per_s": taken * VALUES_PER_POLL / wall,
        "cpu_pct": 100 * cpu / wall,
        "values_per_s_per_core": taken * VALUES_PER_POLL / max(cpu, 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=40)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "simulate", "modbus_generator", "--port", str(port)],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # it says where it listens once it does
        client = client_rate(port, args.seconds)
        with MosquittoBroker() as broker:
            agent = asyncio.run(agent_rate(broker, port, args.devices, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"modbus harness: {args.seconds:.0f} s each, example map, {VALUES_PER_POLL} values per poll")
    for name, result in (("pymodbus_client_alone", client), ("agent", agent)):
        print(f"  {name}")
        for key, value in result.items():
            print(f"    {key:22s} {value:.1f}")


if __name__ == "__main__":
    main()
