"""Bytes written to storage per stored message, on the cath-lab and hot-lab demo stations.

Runs the real agent in this process against the demo simulators (cath lab: DIAMENTOR on a pty and the
Modbus generator, beam timeline looped; hot lab: the Capintec on a pty) and a private Mosquitto, with the
store in a temporary directory on the machine's disk (not tmpfs: its writes are not counted), and reads
`write_bytes` from /proc/self/io before and after: every byte this process caused to be sent to the
block layer (SQLite database, WAL, seq mark; not the broker, a separate process). Messages = seqs the
store handed out in the run. SD-card wear figures in docs/performance.md.

    .venv/bin/python bench/write_volume.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
from dataclasses import replace
from pathlib import Path

from agent.app import Agent
from agent.config import AgentConfig, load_config
from agent.demo.cathlab import CATHLAB_CONFIG
from agent.demo.cathlab_room import CathlabSimulators
from agent.demo.hotlab import HOTLAB_CONFIG
from simulators.capintec import CapintecSimulator
from simulators.hotlab_session import HotlabSession, demo_script
from simulators.mosquitto import MosquittoBroker


def write_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def next_seq(store: Path) -> int:
    db = sqlite3.connect(f"{store.absolute().as_uri()}?mode=ro", uri=True)
    try:
        (value,) = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
        return int(value)
    finally:
        db.close()


def measure(config: AgentConfig, seconds: float) -> tuple[int, int]:
    """(bytes written, messages stored) over `seconds` of the agent running on `config`."""
    agent = Agent(config)
    store = Path(config.store.path)
    os.sync()
    before = write_bytes()
    asyncio.run(agent.run(duration_s=seconds, install_signals=False))
    os.sync()
    return write_bytes() - before, next_seq(store) - 1


def station(path: Path, tmp: Path, broker: MosquittoBroker, name: str, window: float | None) -> AgentConfig:
    """The demo station's config on the private broker, its store in `tmp`, optionally another
    `[store] commit_window_s`."""
    config = load_config(path).with_mqtt(broker.host, broker.port)
    store = replace(config.store, path=str(tmp / f"{name}.sqlite"))
    if window is not None:
        store = replace(store, commit_window_s=window)
    return replace(config, store=store)


def cathlab(tmp: Path, broker: MosquittoBroker, seconds: float, window: float | None) -> tuple[int, int]:
    config = station(CATHLAB_CONFIG, tmp, broker, "cathlab", window)
    room = CathlabSimulators(config, loop=True)
    try:
        return measure(room.start(), seconds)
    finally:
        room.stop()


def hotlab(tmp: Path, broker: MosquittoBroker, seconds: float, window: float | None) -> tuple[int, int]:
    config = station(HOTLAB_CONFIG, tmp, broker, "hotlab", window)
    assert config.hotlab is not None
    simulator = CapintecSimulator(HotlabSession(demo_script()), serial_number="259999")
    try:
        return measure(config.with_device_port(config.hotlab.activimeter, simulator.start()), seconds)
    finally:
        simulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--commit-window", type=float, help="override [store] commit_window_s")
    args = parser.parse_args()
    window = "" if args.commit_window is None else f", commit_window_s {args.commit_window:g}"
    print(f"Bytes written to storage per stored message ({args.seconds:g} s per station{window}):")
    with tempfile.TemporaryDirectory(prefix="doseedge-wear-", dir=Path.home()) as folder:
        for name, run in (("cath-lab", cathlab), ("hot-lab", hotlab)):
            with MosquittoBroker() as broker:
                written, messages = run(Path(folder), broker, args.seconds, args.commit_window)
            per = written / max(1, messages)
            print(
                f"  {name:8s} {messages:6d} messages, {written / 1e6:8.2f} MB written, "
                f"{per / 1024:6.1f} KB/message, {written / args.seconds / 1024:7.1f} KB/s "
                f"({written / args.seconds * 86400 / 1e9:5.1f} GB/day)"
            )


if __name__ == "__main__":
    main()
