"""Drive any driver from a test's plain code: a loop driver's coroutines run on a private event loop
(the one its connection lives on), a blocking driver's calls run as they are."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from typing import Any, TypeVar

from drivers.loop_driver import LoopDriver
from drivers.model import Reading
from drivers.registry import AnyDriver

T = TypeVar("T")


class Blocking:
    def __init__(self, driver: AnyDriver, loop: asyncio.AbstractEventLoop) -> None:
        self.driver = driver
        self.loop = loop

    @property
    def counters(self) -> Counter[str]:
        return self.driver.counters

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def connect(self) -> dict[str, str]:
        driver = self.driver
        return self.run(driver.connect()) if isinstance(driver, LoopDriver) else driver.connect()

    def poll(self) -> Reading:
        driver = self.driver
        return self.run(driver.poll()) if isinstance(driver, LoopDriver) else driver.poll()

    def close(self) -> None:
        self.driver.close()
        self.run(asyncio.sleep(0))  # let the loop finish closing the socket
