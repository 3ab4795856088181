"""Hardware simulators that speak the same bytes as the real instruments, with fault knobs.

`SIMULATORS` maps a simulator name (drivers/registry.py points at it) to a factory.
"""

from __future__ import annotations

__all__ = ["SIMULATORS"]

from collections.abc import Callable
from typing import Any

from simulators.modbus_generator import ModbusGeneratorSimulator
from simulators.ptw_diamentor import DiamentorSimulator

SIMULATORS: dict[str, Callable[..., Any]] = {
    "ptw_diamentor": DiamentorSimulator,
    "modbus_generator": ModbusGeneratorSimulator,
}
