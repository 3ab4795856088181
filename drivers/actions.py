"""Device actions: what a command may ask a driver to do, declared once per driver.

A driver module lists its actions in one table (`ACTIONS`, registered in drivers/registry.py):
action name → driver method, typed arguments, and its `Effect`. Anything not in a driver's table
cannot be reached from outside; arguments not in the action's schema are refused.

`Effect.CHANGES` marks every action that changes what the meter measures or reports (a reset of
its counters, its unit, its line speed, the nuclide or chamber it measures with). Those are the
rows a medical physicist audits: tests/drivers/test_device_actions.py lists them by name, so a new
one cannot be added without the test saying so. Each executed action is itself recorded
(`record/device_action`, agent/commands/device.py).

Pure: no I/O here. `perform` is called only from the device's own poller thread (agent/poller.py),
which also catches what the driver raises.
"""

from __future__ import annotations

__all__ = [
    "NO_ACTIONS",
    "ActionArg",
    "DeviceAction",
    "Effect",
    "action_table",
    "check_args",
    "perform",
]

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from drivers.ports import PortLocked


class Effect(StrEnum):
    READ = "read"  # asks the device; what it measures and reports is unchanged
    CHANGES = "changes_measurement"  # reset, unit, line speed, nuclide / chamber selection


@dataclass(frozen=True)
class ActionArg:
    """One typed argument: `kind` int | float | str | bool, optional choices or inclusive range."""

    name: str
    kind: type
    description: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def problem(self, value: Any) -> str | None:
        if not _is_kind(value, self.kind):
            return f"'{self.name}' must be {self.kind.__name__}, got {type(value).__name__}"
        if self.choices and value not in self.choices:
            return f"'{self.name}' must be one of {', '.join(map(str, self.choices))}, got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"'{self.name}' must be ≥ {self.minimum:g}, got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"'{self.name}' must be ≤ {self.maximum:g}, got {value!r}"
        return None

    def describe(self) -> str:
        if self.choices:
            return f"{self.name}: one of {', '.join(map(str, self.choices))}"
        if self.minimum is not None and self.maximum is not None:
            return f"{self.name}: {self.kind.__name__} {self.minimum:g}–{self.maximum:g}"
        return f"{self.name}: {self.kind.__name__}"


def _is_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool):  # bool is an int in Python; JSON `true` is not a chamber number
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _no_data(value: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class DeviceAction:
    name: str
    method: str  # the driver method, called with the arguments in the order of `args`
    effect: Effect
    description: str
    args: tuple[ActionArg, ...] = ()
    result: Callable[[Any], dict[str, Any]] = _no_data  # the method's return value as JSON data


def action_table(*actions: DeviceAction) -> Mapping[str, DeviceAction]:
    table = {a.name: a for a in actions}
    if len(table) != len(actions):
        raise ValueError("an action is listed twice")
    return MappingProxyType(table)


NO_ACTIONS: Mapping[str, DeviceAction] = action_table()


def check_args(action: DeviceAction, args: Mapping[str, Any]) -> list[str]:
    """Problems with `args` for `action` (unknown, missing, wrong type, out of range); [] if fine."""
    known = {a.name: a for a in action.args}
    problems = [f"unknown argument '{name}'" for name in args if name not in known]
    for arg in action.args:
        if arg.name not in args:
            problems.append(f"missing argument '{arg.name}' ({arg.describe()})")
        elif (problem := arg.problem(args[arg.name])) is not None:
            problems.append(problem)
    return problems


def perform(driver: Any, action: DeviceAction, args: Mapping[str, Any]) -> dict[str, Any]:
    """Run a checked action on a connected driver; its result as JSON data. Driver errors propagate
    to the caller (the poller, the one catch site). A serial driver holds its port's lock for the
    whole action, so it never interleaves with another device's poll on a shared line."""
    values = [args[a.name] for a in action.args]  # positional, in the table's order
    if isinstance(driver, PortLocked):
        value = driver.call(action.method, *values)
    else:
        value = getattr(driver, action.method)(*values)
    return action.result(value)
