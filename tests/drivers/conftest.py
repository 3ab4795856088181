from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture
def private_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop a test drives by hand (tests/drivers/blocking.py), closed after the test."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
