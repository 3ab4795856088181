"""Hardware simulators that speak the same bytes as the real instruments, with fault knobs.

`SIMULATORS` maps a simulator name (drivers/registry.py points at it) to a factory.
"""

from __future__ import annotations

__all__ = ["SIMULATORS"]

from collections.abc import Callable
from typing import Any

from simulators.bridge import BridgeSimulator
from simulators.capintec import CapintecSimulator
from simulators.generic_line import AtomlabSimulator, DapLineSimulator
from simulators.modbus_generator import ModbusGeneratorSimulator
from simulators.ptw_diamentor import DiamentorSimulator
from simulators.veenstra import Vdc404Simulator, Vik202Simulator

SIMULATORS: dict[str, Callable[..., Any]] = {
    "ptw_diamentor": DiamentorSimulator,
    "capintec_crc": CapintecSimulator,
    "veenstra_vik202": Vik202Simulator,
    "veenstra_vdc404": Vdc404Simulator,
    "atomlab500": AtomlabSimulator,
    "dap_line": DapLineSimulator,
    "modbus_generator": ModbusGeneratorSimulator,
    "bridge": BridgeSimulator,
}
