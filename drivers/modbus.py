"""Generic Modbus driver (TCP and RTU): a register-map profile turned into one reading per poll.

Protocol source and confidence: the Modbus protocol itself is public (Modbus Application Protocol
Specification V1.1b3; Modbus over serial line V1.02) — high confidence for the transport. What a
register *means* is not public for any medical X-ray generator: it comes from a profile written
from the interface box's documentation (config/profiles/modbus/*.toml). The shipped
`example_xray_generator` profile is an EXAMPLE, not any vendor's map — confidence for it: none.

Layout, like every driver: `ModbusConfig` (frozen, validated once, including its profile), the
pure codec in drivers/modbus_map.py (registers → canonical values), the profile parser in
drivers/modbus_profile.py, and `ModbusDriver`, which only asks an injected `RegisterLink` for the
planned blocks. Two transports:
- Modbus TCP: `ModbusTcpDriver`, a loop driver (drivers/loop_driver.py) reading through
  `TcpRegisterLink` (drivers/modbus_tcp_link.py) on the agent's event loop, no thread per poll;
- Modbus RTU: `ModbusDriver` through `PymodbusLink` (pymodbus' sync serial client, one per RS-485
  line, see drivers/modbus_link.py), its polls in a worker thread like every serial driver.
Both read the same planned blocks and decode them with the same pure codec.
"""

from __future__ import annotations

__all__ = [
    "AsyncRegisterLink",
    "ModbusConfig",
    "ModbusDriver",
    "ModbusTcpDriver",
    "build_modbus",
    "pymodbus_link",
]

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from core.errors import FrameError, TransportError
from drivers.checks import polling_problems, profile_problems
from drivers.loop_driver import LoopDriver
from drivers.modbus_link import PymodbusLink, RegisterLink
from drivers.modbus_map import Block, RegisterMap, decode_reading
from drivers.modbus_profile import load_profile
from drivers.modbus_tcp_link import TcpRegisterLink
from drivers.model import Reading


@dataclass(frozen=True)
class ModbusConfig:
    name: str
    driver: str
    profile: str  # a name in config/profiles/modbus/, or a path to a .toml profile
    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = ""  # tcp
    tcp_port: int = 502  # tcp
    port: str = ""  # rtu: serial device (/dev/serial/by-id/…) or socket://host:port
    baudrate: int = 19200  # rtu
    parity: Literal["N", "E", "O"] = "E"  # rtu; the Modbus serial-line default is 8E1
    stopbits: int = 1  # rtu
    device_id: int = 1  # unit identifier (slave address) 1–247
    poll_interval_s: float = 0.5
    timeout_s: float = 1.0
    lost_after_failures: int = 2

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.transport == "tcp":
            if not self.host:
                problems.append(("host", 'required for transport = "tcp"'))
            if not 1 <= self.tcp_port <= 65535:
                problems.append(("tcp_port", "must be 1–65535"))
        elif not self.port:
            problems.append(("port", 'required for transport = "rtu" (device path or socket://host:port)'))
        if self.baudrate not in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200):
            problems.append(("baudrate", "must be a standard rate 1200–115200"))
        if self.stopbits not in (1, 2):
            problems.append(("stopbits", "must be 1 or 2"))
        if not 1 <= self.device_id <= 247:
            problems.append(("device_id", "must be 1–247"))
        problems += polling_problems(self)
        return problems + profile_problems(self.register_map)

    def register_map(self) -> RegisterMap:
        return load_profile(self.profile)


class AsyncRegisterLink(Protocol):
    """What the loop driver needs from a Modbus TCP master: the same as RegisterLink, on the loop."""

    async def open(self) -> None: ...

    async def read(self, block: Block, device_id: int) -> list[int] | list[bool]: ...

    def close(self) -> None: ...


Answers = dict[Block, Sequence[int] | Sequence[bool]]


class _Decoding:
    """What both drivers share: the map, the counters, and answers → one reading."""

    def __init__(self, config: ModbusConfig, regmap: RegisterMap) -> None:
        self.config = config
        self.regmap = regmap
        self.info: dict[str, str] = {}
        self.counters: Counter[str] = Counter()

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(p.quantity for p in self.regmap.points if p.quantity)

    def _connected_info(self) -> dict[str, str]:
        self.info = {"profile": self.regmap.name, "device_id": str(self.config.device_id)}
        return self.info

    def _reading(self, answers: Answers) -> Reading:
        try:
            measurements, labels = decode_reading(self.regmap, answers)
        except FrameError:
            self.counters["frames_rejected"] += 1
            raise
        return Reading(self.config.name, measurements, device_info=self.info, labels=labels)


class ModbusDriver(_Decoding):
    """Blocking: reads every planned block through a sync link, then decodes them into one reading."""

    def __init__(
        self,
        config: ModbusConfig,
        regmap: RegisterMap,
        link: RegisterLink,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, regmap)
        self._link = link
        self._monotonic = monotonic
        self._connected = False

    def connect(self) -> dict[str, str]:
        self._link.open()
        self._connected = True
        return self._connected_info()

    def poll(self) -> Reading:
        if not self._connected:
            raise TransportError(f"{self.config.name}: not connected")
        answers: Answers = {}
        try:
            for block in self.regmap.blocks:
                answers[block] = self._link.read(block, self.config.device_id)
                self.counters["block_reads"] += 1
        except FrameError:
            self.counters["frames_rejected"] += 1
            raise
        return self._reading(answers)

    def close(self) -> None:
        self._connected = False
        self._link.close()


class ModbusTcpDriver(_Decoding, LoopDriver):
    """On the event loop: reads every planned block through an async link, then decodes them."""

    def __init__(self, config: ModbusConfig, regmap: RegisterMap, link: AsyncRegisterLink) -> None:
        super().__init__(config, regmap)
        self._link = link
        self._connected = False

    async def connect(self) -> dict[str, str]:
        await self._link.open()
        self._connected = True
        return self._connected_info()

    async def poll(self) -> Reading:
        if not self._connected:
            raise TransportError(f"{self.config.name}: not connected")
        answers: Answers = {}
        try:
            for block in self.regmap.blocks:
                answers[block] = await self._link.read(block, self.config.device_id)
                self.counters["block_reads"] += 1
        except FrameError:
            self.counters["frames_rejected"] += 1
            raise
        return self._reading(answers)

    def close(self) -> None:
        self._connected = False
        self._link.close()


def pymodbus_link(config: ModbusConfig) -> PymodbusLink:
    """pymodbus' sync client for this device: the RTU master, and the TCP reference the benches use."""
    return PymodbusLink(
        transport=config.transport,
        host=config.host,
        tcp_port=config.tcp_port,
        port=config.port,
        baudrate=config.baudrate,
        parity=config.parity,
        stopbits=config.stopbits,
        timeout_s=config.timeout_s,
    )


def build_modbus(
    config: ModbusConfig, monotonic: Callable[[], float] = time.monotonic
) -> ModbusDriver | ModbusTcpDriver:
    if config.transport == "tcp":
        link = TcpRegisterLink(config.host, config.tcp_port, config.timeout_s)
        return ModbusTcpDriver(config, config.register_map(), link)
    return ModbusDriver(config, config.register_map(), pymodbus_link(config), monotonic)
