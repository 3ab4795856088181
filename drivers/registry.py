"""The one table of drivers the agent knows. One line per driver; tests/drivers/test_registry.py
checks that every entry has a sample config, a simulator peer and golden cases."""

from __future__ import annotations

__all__ = ["DRIVERS", "Driver", "DriverConfig", "DriverSpec", "build_driver"]

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.modbus import ModbusConfig, build_modbus
from drivers.model import Reading
from drivers.ptw_diamentor import PtwDiamentor, PtwDiamentorConfig
from drivers.transport import SerialTransport


class DriverConfig(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def driver(self) -> str: ...
    @property
    def poll_interval_s(self) -> float: ...
    @property
    def lost_after_failures(self) -> int: ...

    def validate(self) -> list[tuple[str, str]]: ...


class Driver(Protocol):
    counters: Counter[str]

    def connect(self) -> dict[str, str]: ...
    def poll(self) -> Reading: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class DriverSpec:
    name: str
    config_type: type[Any]
    factory: Callable[[Any, Callable[[], float]], Driver]
    role: str  # what the agent does with it: "dap_meter", "activimeter", "generator"
    simulator: str
    sample_config: str
    golden_dir: str


def _ptw(config: PtwDiamentorConfig, monotonic: Callable[[], float]) -> Driver:
    return PtwDiamentor(config, SerialTransport(config.port, config.baudrate), monotonic)


DRIVERS: dict[str, DriverSpec] = {
    "ptw_diamentor": DriverSpec(
        name="ptw_diamentor",
        config_type=PtwDiamentorConfig,
        factory=_ptw,
        role="dap_meter",
        simulator="ptw_diamentor",
        sample_config="config/carm-room.toml",
        golden_dir="tests/drivers/ptw_diamentor",
    ),
    "modbus": DriverSpec(
        name="modbus",
        config_type=ModbusConfig,
        factory=build_modbus,
        role="generator",
        simulator="modbus_generator",
        sample_config="config/generator-room.toml",
        golden_dir="tests/drivers/modbus",
    ),
}


def build_driver(config: DriverConfig, monotonic: Callable[[], float] = time.monotonic) -> Driver:
    return DRIVERS[config.driver].factory(config, monotonic)
