"""Resident memory of the agent with every driver loaded (issue 17: RSS ≤ 45 MB). Prints figures; asserts
nothing.

Runs `doseedge run` as its own process on a station with one device of every driver family (PTW
DIAMENTOR, Capintec, Veenstra VIK-202 and VDC-404, Atomlab, generic line, the bridge board, Modbus TCP)
and the operator view on, against a private Mosquitto. The serial devices point at ports that do not
exist and the Modbus device at a closed loopback port, so every driver is imported, built and polled
(and reported lost) without hardware; the figure is the agent's own footprint. Printed after
`--seconds`: VmRSS (now) and VmHWM (peak) from /proc, and the agent's thread count.

    .venv/bin/python bench/memory.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulators.mosquitto import MosquittoBroker, free_port  # noqa: E402
from tests.fakes import ENV  # noqa: E402

STATION = """
[station]
site = "bench"
station_id = "memory"
[store]
path = "{tmp}/outbox.sqlite"
[mqtt]
host = "{host}"
port = {port}
{web}"""
DEVICES = """
[[devices]]
name = "dap1"
driver = "ptw_diamentor"
port = "{tmp}/no-diamentor"
[[devices]]
name = "crc1"
driver = "capintec_crc"
port = "{tmp}/no-capintec"
chambers = [1]
[[devices]]
name = "vik1"
driver = "veenstra_vik202"
port = "{tmp}/no-vik"
factor_code = 236
[[devices]]
name = "vdc1"
driver = "veenstra_vdc404"
port = "{tmp}/no-vdc"
[[devices]]
name = "atomlab1"
driver = "atomlab500"
port = "{tmp}/no-atomlab"
profile = "atomlab500"
[[devices]]
name = "dap-a"
driver = "generic_line"
port = "{tmp}/no-line"
profile = "dap-ascii-example"
address = "01"
[[devices]]
name = "bridge"
driver = "bridge"
port = "{tmp}/no-bridge"
[[devices]]
name = "gen1"
driver = "modbus"
profile = "example_xray_generator"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {modbus_port}
"""


def proc_status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="doseedge-memory-")
    with MosquittoBroker() as broker:
        print(f"memory benchmark: doseedge run, 8 devices (every driver family), after {args.seconds:.0f} s")
        for name, web in (
            ("drivers", ""),
            ("drivers_and_web", f"[web]\nenabled = true\nport = {free_port()}\n"),
        ):
            text = STATION.format(tmp=tmp, host=broker.host, port=broker.port, web=web)
            text += DEVICES.format(tmp=tmp, modbus_port=free_port())
            status = run_agent(Path(tmp), name, text, args.seconds)
            print(f"  {name}")
            print(f"    rss_mb    {int(status['VmRSS'].split()[0]) / 1024:.1f}")
            print(f"    peak_mb   {int(status['VmHWM'].split()[0]) / 1024:.1f}")
            print(f"    threads   {status['Threads']}")


def run_agent(tmp: Path, name: str, text: str, seconds: float) -> dict[str, str]:
    config = tmp / f"{name}.toml"
    config.write_text(text.replace("outbox.sqlite", f"{name}.sqlite"))
    with (tmp / f"{name}.log").open("w") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "run", "-c", str(config)], env=ENV, stdout=log, stderr=log
        )
        try:
            time.sleep(seconds)
            if agent.poll() is not None:
                raise SystemExit(f"the agent stopped: {(tmp / f'{name}.log').read_text()[-2000:]}")
            return proc_status(agent.pid)
        finally:
            agent.terminate()
            agent.wait(timeout=30)


if __name__ == "__main__":
    main()
