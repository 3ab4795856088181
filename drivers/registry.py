"""The one table of drivers the agent knows. One line per driver; tests/drivers/test_registry.py
checks that every entry has a sample config, a simulator peer and golden cases (tests/drivers/<name>/)."""

from __future__ import annotations

__all__ = ["DRIVERS", "AnyDriver", "Driver", "DriverConfig", "DriverSpec", "build_driver"]

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers import bridge, capintec, ptw_diamentor
from drivers.actions import NO_ACTIONS, DeviceAction
from drivers.atomlab import AtomlabConfig, atomlab_driver
from drivers.bridge import Bridge, BridgeConfig
from drivers.capintec import Capintec, CapintecConfig
from drivers.generic_line import GenericLine, GenericLineConfig
from drivers.loop_driver import LoopDriver
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


AnyDriver = Driver | LoopDriver  # a blocking driver (polled in a worker thread) or one on the loop


@dataclass(frozen=True)
class DriverSpec:
    name: str
    config_type: type[Any]
    factory: Callable[[Any, Callable[[], float]], AnyDriver]
    role: str  # what the agent does with it: "dap_meter", "activimeter", "generator"
    simulator: str
    sample_config: str
    actions: Mapping[str, DeviceAction] = field(default_factory=lambda: NO_ACTIONS)  # drivers/actions.py

    @property
    def golden_dir(self) -> str:
        return f"tests/drivers/{self.name}"


def _on_shared_port(
    make: Callable[[Any, ByteTransport, Callable[[], float]], Driver],
) -> Callable[[Any, Callable[[], float]], Driver]:
    """A serial driver on its physical port's shared handle, holding the port's lock per call."""

    def factory(config: Any, monotonic: Callable[[], float]) -> Driver:
        port = shared_port(config.port, config.baudrate)
        return PortLocked(make(config, PortClient(port), monotonic), port.lock)

    return factory


def _serial(
    name: str,
    config_type: type[Any],
    make: Callable[[Any, ByteTransport, Callable[[], float]], Driver],
    role: str,
    sample_config: str,
    simulator: str = "",
    actions: Mapping[str, DeviceAction] = NO_ACTIONS,
) -> DriverSpec:
    """A serial driver on its port's shared handle; its simulator has the driver's name unless named."""
    factory = _on_shared_port(make)
    return DriverSpec(name, config_type, factory, role, simulator or name, sample_config, actions)


DRIVERS: dict[str, DriverSpec] = {
    spec.name: spec
    for spec in (
        # name, config type, driver, role, sample config[, simulator]
        _serial(
            "ptw_diamentor",
            PtwDiamentorConfig,
            PtwDiamentor,
            "dap_meter",
            "config/carm-room.toml",
            actions=ptw_diamentor.ACTIONS,
        ),
        _serial(
            "capintec_crc",
            CapintecConfig,
            Capintec,
            "activimeter",
            "config/hotlab.toml",
            actions=capintec.ACTIONS,
        ),
        _serial("veenstra_vik202", Vik202Config, Vik202, "activimeter", "config/samples/veenstra.toml"),
        _serial("veenstra_vdc404", Vdc404Config, Vdc404, "activimeter", "config/samples/veenstra.toml"),
        _serial("atomlab500", AtomlabConfig, atomlab_driver, "activimeter", "config/samples/atomlab.toml"),
        _serial(
            "generic_line",
            GenericLineConfig,
            GenericLine,
            "dap_meter",
            "config/samples/generic-line.toml",
            "dap_line",
        ),
        _serial(
            "bridge",
            BridgeConfig,
            Bridge,
            "dap_meter",  # the room's dose-rate input (a calibrated pulse probe) and X-ray-on line
            "config/bridge-room.toml",
            actions=bridge.ACTIONS,
        ),
        DriverSpec(
            "modbus",
            ModbusConfig,
            build_modbus,
            "generator",
            "modbus_generator",
            "config/generator-room.toml",
        ),
    )
}


def build_driver(config: DriverConfig, monotonic: Callable[[], float] = time.monotonic) -> AnyDriver:
    return DRIVERS[config.driver].factory(config, monotonic)
