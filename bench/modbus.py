"""Read latency of the Modbus driver on loopback against pymodbus' own server (the simulator).

Prints median and p99 of: one 8-register block read (the example generator map's input registers),
one full 125-register block read, and one whole poll of the example map (2 block reads + decode),
over Modbus TCP and RTU-over-socket. Bounded: a fixed number of requests to 127.0.0.1 only.

    .venv/bin/python bench/modbus.py [--reads N] [--rtu-reads N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from drivers.loop_driver import LoopDriver
from drivers.modbus import ModbusConfig, ModbusDriver, build_modbus
from drivers.modbus_link import PymodbusLink
from drivers.modbus_map import Block
from simulators.modbus_generator import ModbusGeneratorSimulator


def wide_profile(directory: Path) -> Path:
    """125 contiguous holding registers: the largest block one Modbus read may ask for."""
    lines = ['[profile]\nname = "bench-125"\n']
    for i in range(125):
        point = f'name = "r{i}"\ntable = "holding_register"\naddress = {i}\ntype = "u16"\nquantity = "kvp"'
        lines.append(f"[[points]]\n{point}\n")
    path = directory / "bench_125.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def figures(samples_s: list[float]) -> str:
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1e3:6.3f} ms   p99 {p99 * 1e3:6.3f} ms   (n={len(ordered)})"


def time_calls(call: Callable[[], object], reads: int) -> list[float]:
    samples = []
    for _ in range(reads):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def link_for(sim: ModbusGeneratorSimulator, baudrate: int) -> PymodbusLink:
    if sim.transport == "tcp":
        return PymodbusLink(transport="tcp", host="127.0.0.1", tcp_port=sim.port, timeout_s=2.0)
    return PymodbusLink(transport="rtu", port=sim.url, baudrate=baudrate, timeout_s=2.0)


def measure(transport: str, baudrate: int, reads: int, wide: Path) -> None:
    sim = ModbusGeneratorSimulator(transport=transport)
    sim.start()
    link = link_for(sim, baudrate)
    link.open()
    block8 = Block("input_register", 0, 8)
    link.read(block8, 1)
    small = time_calls(lambda: link.read(block8, 1), reads)
    link.close()
    where = {"host": "127.0.0.1", "tcp_port": sim.port} if transport == "tcp" else {"port": sim.url}
    config = ModbusConfig(
        name="bench",
        driver="modbus",
        profile="example_xray_generator",
        transport=transport,  # type: ignore[arg-type]
        baudrate=baudrate,
        timeout_s=2.0,
        **where,  # type: ignore[arg-type]
    )
    driver = build_modbus(config)  # what the agent runs: for TCP a loop driver, on an event loop
    if isinstance(driver, LoopDriver):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(driver.connect())
        polls = time_calls(lambda: loop.run_until_complete(driver.poll()), reads)
        driver.close()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        reference = ModbusDriver(config, config.register_map(), link_for(sim, baudrate))
        reference.connect()
        sync_polls = time_calls(reference.poll, reads)
        reference.close()
    else:
        driver.connect()
        polls = time_calls(driver.poll, reads)
        driver.close()
        sync_polls = []
    sim.stop()

    sim = ModbusGeneratorSimulator(transport=transport, profile=str(wide))
    sim.start()
    link = link_for(sim, baudrate)
    link.open()
    block125 = Block("holding_register", 0, 125)
    link.read(block125, 1)
    large = time_calls(lambda: link.read(block125, 1), reads)
    link.close()
    sim.stop()

    name = "Modbus TCP" if transport == "tcp" else f"Modbus RTU over socket://, client baudrate {baudrate}"
    print(f"{name} on 127.0.0.1 (block reads: pymodbus sync client <-> pymodbus server, same host)")
    print(f"  block read,   8 registers : {figures(small)}")
    print(f"  block read, 125 registers : {figures(large)}")
    agent_path = "the agent's loop driver" if sync_polls else "pymodbus sync client"
    print(f"  whole poll, example map   : {figures(polls)}   (2 block reads + decode, {agent_path})")
    if sync_polls:
        print(f"  whole poll, pymodbus sync : {figures(sync_polls)}   (the same, pymodbus' sync client)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000, help="requests per TCP figure")
    parser.add_argument("--rtu-reads", type=int, default=100, help="requests per RTU figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wide = wide_profile(Path(tmp))
        measure("tcp", 19200, args.reads, wide)
        # pyserial's socket:// reports in_waiting as 0 or 1, so pymodbus' sync serial receive loop
        # takes one byte per poll interval (4 character times at the configured baudrate, ≥ 1 ms).
        # These RTU figures are a property of that test transport, not of a real RS-485 line.
        measure("rtu", 19200, args.rtu_reads, wide)
        measure("rtu", 115200, args.rtu_reads, wide)


if __name__ == "__main__":
    main()
