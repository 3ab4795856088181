"""The one table of drivers the agent knows. One line per driver; tests/drivers/test_registry.py
checks that every entry has a sample config, a simulator peer and golden cases."""

from __future__ import annotations

__all__ = ["DRIVERS", "Driver", "DriverConfig", "DriverSpec", "build_driver"]

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.atomlab import AtomlabConfig, atomlab_driver
from drivers.capintec import Capintec, CapintecConfig
from drivers.generic_line import GenericLine, GenericLineConfig
from drivers.modbus import ModbusConfig, build_modbus
from drivers.model import Reading
from drivers.ports import PortClient, PortLocked, shared_port
from drivers.ptw_diamentor import PtwDiamentor, PtwDiamentorConfig
from drivers.transport import ByteTransport
from drivers.veenstra import Vdc404, Vdc404Config, Vik202, Vik202Config


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


def _on_shared_port(
    make: Callable[[Any, ByteTransport, Callable[[], float]], Driver],
) -> Callable[[Any, Callable[[], float]], Driver]:
    """A serial driver on its physical port's shared handle, holding the port's lock per call."""

    def factory(config: Any, monotonic: Callable[[], float]) -> Driver:
        port = shared_port(config.port, config.baudrate)
        return PortLocked(make(config, PortClient(port), monotonic), port.lock)

    return factory


DRIVERS: dict[str, DriverSpec] = {
    "ptw_diamentor": DriverSpec(
        name="ptw_diamentor",
        config_type=PtwDiamentorConfig,
        factory=_on_shared_port(PtwDiamentor),
        role="dap_meter",
        simulator="ptw_diamentor",
        sample_config="config/carm-room.toml",
        golden_dir="tests/drivers/ptw_diamentor",
    ),
    "capintec_crc": DriverSpec(
        name="capintec_crc",
        config_type=CapintecConfig,
        factory=_on_shared_port(Capintec),
        role="activimeter",
        simulator="capintec_crc",
        sample_config="config/hotlab.toml",
        golden_dir="tests/drivers/capintec_crc",
    ),
    "veenstra_vik202": DriverSpec(
        name="veenstra_vik202",
        config_type=Vik202Config,
        factory=_on_shared_port(Vik202),
        role="activimeter",
        simulator="veenstra_vik202",
        sample_config="config/samples/veenstra.toml",
        golden_dir="tests/drivers/veenstra_vik202",
    ),
    "veenstra_vdc404": DriverSpec(
        name="veenstra_vdc404",
        config_type=Vdc404Config,
        factory=_on_shared_port(Vdc404),
        role="activimeter",
        simulator="veenstra_vdc404",
        sample_config="config/samples/veenstra.toml",
        golden_dir="tests/drivers/veenstra_vdc404",
    ),
    "atomlab500": DriverSpec(
        name="atomlab500",
        config_type=AtomlabConfig,
        factory=_on_shared_port(atomlab_driver),
        role="activimeter",
        simulator="atomlab500",
        sample_config="config/samples/atomlab.toml",
        golden_dir="tests/drivers/atomlab500",
    ),
    "generic_line": DriverSpec(
        name="generic_line",
        config_type=GenericLineConfig,
        factory=_on_shared_port(GenericLine),
        role="dap_meter",
        simulator="dap_line",
        sample_config="config/samples/generic-line.toml",
        golden_dir="tests/drivers/generic_line",
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
