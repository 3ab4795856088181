"""The one error tree of doseedge.

Drivers raise TransportError / FrameError / DeviceError; only the device poller catches them
(agent/poller.py), marks the device lost or recovered and logs on transitions. Configuration
problems are ConfigError and stop start-up before anything runs.
"""

from __future__ import annotations

__all__ = [
    "CommandError",
    "ConfigError",
    "ConfigProblem",
    "DeviceError",
    "DoseEdgeError",
    "DriverError",
    "FrameError",
    "StartRefused",
    "StoreError",
    "TransportError",
]

from dataclasses import dataclass


class DoseEdgeError(Exception):
    """Root of every error doseedge raises on purpose."""


class DriverError(DoseEdgeError):
    """Anything that went wrong talking to an instrument."""


class TransportError(DriverError):
    """The bytes could not move: port missing, unplugged, closed, or the device stayed silent."""


class FrameError(DriverError):
    """Bytes arrived but do not form a valid frame. `consumed` bytes may be dropped from the buffer."""

    def __init__(self, message: str, consumed: int = 0) -> None:
        super().__init__(message)
        self.consumed = consumed


class DeviceError(DriverError):
    """The device answered with a well-formed error reply (e.g. PTW `E4` charge overflow)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class CommandError(DoseEdgeError):
    """A command received on `…/cmd/<name>` is malformed or cannot be carried out."""


class StoreError(DoseEdgeError):
    """The local store could not write or read (disk full, read-only, corrupt)."""


class StartRefused(DoseEdgeError):
    """The agent must not start: another agent holds its store or a serial port, or the store path
    is a directory. Unlike a StoreError (the agent runs on, in memory), this stops start-up."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file, located by key path and, where known, line."""

    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.key}: {self.message}"


class ConfigError(DoseEdgeError):
    """A configuration file is invalid. Carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")
