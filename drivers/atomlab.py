"""Biodex Atomlab 500 dose calibrator: the generic line driver with the `atomlab500` profile.

Protocol source and confidence: **high for framing only** (Biodex Atomlab 500 operator's manual): 19200 8N1
over a null-modem cable, commands ASCII terminated by CR, replies end CR LF, `^C` (0x03) or `1`
returns the current activity reading. The **report layout is not public**: it lives in the
profile config/profiles/atomlab500.toml (confidence low, marked [check]), so a site whose unit
prints differently fixes a data file, not code.
"""

from __future__ import annotations

__all__ = ["AtomlabConfig", "atomlab_driver"]

import time
from collections.abc import Callable
from dataclasses import dataclass

from drivers.checks import polling_problems, profile_problems
from drivers.generic_line import GenericLine, GenericLineConfig
from drivers.profile import load_profile
from drivers.transport import ByteTransport


@dataclass(frozen=True)
class AtomlabConfig:
    name: str
    driver: str
    port: str
    baudrate: int = 19200
    profile: str = "atomlab500"
    poll_interval_s: float = 1.0
    timeout_s: float = 1.0
    lost_after_failures: int = 2

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.baudrate not in (9600, 19200):
            problems.append(("baudrate", "the Atomlab 500 runs at 19200 (9600 on some units)"))
        problems += polling_problems(self, poll_interval_s=(0.2, 60))
        return problems + profile_problems(lambda: load_profile(self.profile))

    def as_line_config(self) -> GenericLineConfig:
        return GenericLineConfig(
            name=self.name,
            driver="generic_line",
            port=self.port,
            profile=self.profile,
            baudrate=self.baudrate,
            poll_interval_s=self.poll_interval_s,
            timeout_s=self.timeout_s,
            lost_after_failures=self.lost_after_failures,
        )


def atomlab_driver(
    config: AtomlabConfig, transport: ByteTransport, monotonic: Callable[[], float] = time.monotonic
) -> GenericLine:
    return GenericLine(config.as_line_config(), transport, monotonic)
