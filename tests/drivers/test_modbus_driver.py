"""The Modbus driver over a scripted link, then against pymodbus' own server (TCP and RTU-over-socket)."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from agent.clock import SystemClock
from agent.poller import DevicePoller
from core.errors import DeviceError, FrameError, TransportError
from drivers.modbus import ModbusConfig, ModbusDriver, build_modbus
from drivers.modbus_map import Block
from drivers.modbus_profile import load_profile
from drivers.model import Reading
from simulators.generator_script import NORMAL_FLUORO, GeneratorScript, fluoroscopy_script
from simulators.modbus_generator import ModbusGeneratorSimulator
from tests.drivers.blocking import Blocking
from tests.fakes import FakeClock

EXAMPLE = load_profile("example_xray_generator")
CONFIG = ModbusConfig(
    name="gen1", driver="modbus", profile="example_xray_generator", host="127.0.0.1", tcp_port=5020
)
GOOD = {
    Block("input_register", 0, 8): [720, 39322, 16409, 150, 80, 0, 40000, 1600],
    Block("holding_register", 0, 2): [1, 0b1001],  # mode normal; status: ready, beam on (bit 3)
}


class ScriptedLink:
    """A RegisterLink that answers from a table, or raises what it is told to."""

    def __init__(self, answers: dict[Block, Any]) -> None:
        self.answers = answers
        self.opened = 0
        self.reads: list[tuple[Block, int]] = []

    def open(self) -> None:
        self.opened += 1

    def read(self, block: Block, device_id: int) -> list[int] | list[bool]:
        self.reads.append((block, device_id))
        answer = self.answers[block]
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    def close(self) -> None:
        pass


def test_one_poll_reads_each_planned_block_once() -> None:
    link = ScriptedLink(dict(GOOD))
    driver = ModbusDriver(replace(CONFIG, device_id=7), EXAMPLE, link)
    assert driver.connect() == {"profile": "example-xray-generator", "device_id": "7"}
    reading = driver.poll()
    assert sorted(b.table for b, _ in link.reads) == ["holding_register", "input_register"]
    assert {unit for _, unit in link.reads} == {7}
    assert reading.labels == {"mode": "normal"}
    assert reading.get("kvp").value == pytest.approx(72.0)
    assert reading.get("beam_on").value == 1.0
    assert driver.quantities == (
        "kvp",
        "tube_current",
        "pulse_rate",
        "pulse_width",
        "field_area",
        "sid",
        "beam_on",
    )


def test_poll_before_connect_is_a_transport_error() -> None:
    with pytest.raises(TransportError):
        ModbusDriver(CONFIG, EXAMPLE, ScriptedLink(dict(GOOD))).poll()


def test_exception_response_is_a_device_error_and_bad_data_a_counted_frame_error() -> None:
    link = ScriptedLink(dict(GOOD))
    driver = ModbusDriver(CONFIG, EXAMPLE, link)
    driver.connect()
    link.answers[Block("holding_register", 0, 2)] = DeviceError("busy", code="0x06")
    with pytest.raises(DeviceError):
        driver.poll()
    link.answers[Block("holding_register", 0, 2)] = [42, 8]
    with pytest.raises(FrameError):
        driver.poll()
    assert driver.counters["frames_rejected"] == 1


# ---------------------------------------------------------------- against pymodbus' server

TRANSPORTS = ["tcp", "rtu"]


def config_for(sim: ModbusGeneratorSimulator, name: str = "gen1", device_id: int = 1) -> ModbusConfig:
    # socket:// makes pymodbus' sync RTU client take one byte per poll interval (4 character times
    # at the configured rate): the highest rate keeps these loopback tests quick.
    where: dict[str, Any] = (
        {"host": "127.0.0.1", "tcp_port": sim.port}
        if sim.transport == "tcp"
        else {"port": sim.url, "baudrate": 115200}
    )
    return ModbusConfig(
        name=name,
        driver="modbus",
        profile="example_xray_generator",
        transport=sim.transport,  # type: ignore[arg-type]
        device_id=device_id,
        timeout_s=0.3,
        poll_interval_s=0.05,
        **where,
    )


@pytest.fixture(params=TRANSPORTS)
def scripted(request: pytest.FixtureRequest) -> Iterator[tuple[ModbusGeneratorSimulator, FakeClock]]:
    clock = FakeClock()
    sim = ModbusGeneratorSimulator(fluoroscopy_script(), transport=request.param, monotonic=clock.monotonic)
    sim.start()
    yield sim, clock
    sim.stop()


def assert_reading_is_state(reading: Reading, script: GeneratorScript, t_s: float) -> None:
    state = script.state_at(t_s)
    assert reading.labels == state.labels()
    got = {m.quantity: m.value for m in reading.measurements}
    assert got == pytest.approx(state.values(), rel=1e-6)


def test_driver_follows_the_scripted_fluoroscopy_procedure(
    scripted: tuple[ModbusGeneratorSimulator, FakeClock], private_loop: asyncio.AbstractEventLoop
) -> None:
    sim, clock = scripted
    driver = Blocking(build_modbus(config_for(sim)), private_loop)
    driver.connect()
    script = sim.scripts[1]
    seen_modes = []
    for t in (0.5, 3.0, 7.5, 9.0, 13.0, 19.0, 22.0):
        clock.mono = 1000.0 + t  # the simulator's own clock, injected
        reading = driver.poll()
        assert_reading_is_state(reading, script, t)
        seen_modes.append((reading.labels["mode"], reading.get("beam_on").value))
    driver.close()
    assert seen_modes == [
        ("off", 0.0),
        ("normal", 1.0),
        ("normal", 0.0),
        ("high_level", 1.0),
        ("normal", 1.0),
        ("acquisition", 1.0),
        ("off", 0.0),
    ]


def test_faults_exception_silence_delay_and_bad_values(
    scripted: tuple[ModbusGeneratorSimulator, FakeClock], private_loop: asyncio.AbstractEventLoop
) -> None:
    sim, clock = scripted
    driver = Blocking(build_modbus(config_for(sim)), private_loop)
    driver.connect()
    sim.faults.exception = 0x04
    with pytest.raises(DeviceError) as info:
        driver.poll()
    assert info.value.code == "0x04"
    sim.faults.exception = None
    driver.poll()  # a device error leaves the connection usable

    sim.faults.delay_s = 0.05  # slower than usual, inside the 0.3 s timeout
    driver.poll()
    sim.faults.delay_s = 0.0

    sim.faults.poke["mode"] = [9]
    with pytest.raises(FrameError, match="not in the profile's enum"):
        driver.poll()
    sim.faults.poke = {"tube_current": [0, 0x7FC0]}  # NaN, low word first
    with pytest.raises(FrameError, match="not finite"):
        driver.poll()
    assert driver.counters["frames_rejected"] == 2
    sim.faults.poke = {}

    sim.faults.silent = True
    with pytest.raises(TransportError):
        driver.poll()
    sim.faults.silent = False
    driver.close()  # what the poller does after a transport error
    driver.connect()
    clock.mono = 1003.0
    assert driver.poll().labels == {"mode": "normal"}
    driver.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_stop_is_device_lost_and_restart_recovery_through_the_poller(
    transport: str, private_loop: asyncio.AbstractEventLoop
) -> None:
    sim = ModbusGeneratorSimulator(GeneratorScript.constant(NORMAL_FLUORO), transport=transport)
    sim.start()
    config = replace(config_for(sim), lost_after_failures=2)
    events: list[tuple[str, bool]] = []
    readings: list[Reading] = []
    poller = DevicePoller(
        config,
        build_modbus(config),
        FakeClock(),
        readings.append,
        lambda device, available, _error: events.append((device, available)),
    )

    def step() -> None:
        poller.settle(private_loop.run_until_complete(poller.poll_once()))

    try:
        step()
        assert len(readings) == 1 and not events
        sim.stop()
        for _ in range(2):
            step()
        assert events == [("gen1", False)] and poller.lost
        assert poller.counters["errors_transport"] == 2
        sim.start()  # same port
        step()
        assert events == [("gen1", False), ("gen1", True)] and not poller.lost
        assert readings[-1].labels == {"mode": "normal"}
    finally:
        poller.driver.close()
        sim.stop()


def test_modbus_devices_polled_concurrently_without_collisions() -> None:
    """A TCP gateway with two unit ids, and one RTU line (socket://) carrying two unit ids, all at once."""
    states = {
        "gen_a": replace(NORMAL_FLUORO, kvp=61.0, tube_current_ma=1.5),
        "gen_b": replace(NORMAL_FLUORO, mode="acquisition", kvp=99.0, tube_current_ma=400.0, sid_cm=120.0),
        "gen_c": replace(NORMAL_FLUORO, mode="high_level", kvp=84.0, field_area_cm2=144.0),
        "gen_d": replace(NORMAL_FLUORO, mode="off", beam_on=False, kvp=50.0, pulse_rate_per_s=3.0),
    }
    constant = {name: GeneratorScript.constant(state) for name, state in states.items()}
    gateway = ModbusGeneratorSimulator(constant["gen_a"], more_devices={2: constant["gen_b"]})
    line = ModbusGeneratorSimulator(constant["gen_c"], transport="rtu", more_devices={3: constant["gen_d"]})
    gateway.start()
    line.start()
    configs = [
        config_for(gateway, "gen_a", device_id=1),
        config_for(gateway, "gen_b", device_id=2),
        config_for(line, "gen_c", device_id=1),
        config_for(line, "gen_d", device_id=3),
    ]
    readings: list[Reading] = []
    events: list[tuple[str, bool]] = []
    pollers = [
        DevicePoller(
            c, build_modbus(c), SystemClock(), readings.append, lambda d, up, _e: events.append((d, up))
        )
        for c in configs
    ]

    async def run_for(seconds: float) -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(p.run(stop)) for p in pollers]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(run_for(1.5))
    finally:
        gateway.stop()
        line.stop()
    assert not events
    for poller in pollers:
        assert poller.counters["readings"] >= 3, poller.counters
        assert sum(v for k, v in poller.counters.items() if k.startswith("errors_")) == 0, poller.counters
    assert {r.device for r in readings} == set(states)
    for reading in readings:
        state = states[reading.device]
        assert reading.labels == state.labels()
        got = {m.quantity: m.value for m in reading.measurements}
        assert got == pytest.approx(state.values(), rel=1e-6)
    assert gateway.connections == 2  # one TCP connection per device behind the gateway
    assert line.connections == 1  # both RTU devices share the line's one port, taking turns


def test_simulate_command_prints_where_to_connect_and_serves_there(
    private_loop: asyncio.AbstractEventLoop,
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "simulate", "modbus_generator"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        match = re.search(r'host = "127\.0\.0\.1", tcp_port = (\d+)', lines[1])
        assert match, lines
        config = replace(CONFIG, tcp_port=int(match.group(1)), timeout_s=1.0)
        driver = Blocking(build_modbus(config), private_loop)
        driver.connect()
        reading = driver.poll()
        driver.close()
        assert reading.labels["mode"] in ("off", "normal", "high_level", "acquisition")
        assert reading.get("kvp") is not None
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
