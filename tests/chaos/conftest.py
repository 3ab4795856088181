"""The chaos rig both chaos tests start from: a looping DIAMENTOR simulator on a pty, a consumer on
the private broker, and the agent's config written for both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.mosquitto import MosquittoBroker
from tests.chaos.harness import Rig, consumer, start_simulator, write_config


@pytest.fixture
def rig(tmp_path: Path, broker: MosquittoBroker) -> Iterator[Rig]:
    simulator, pty = start_simulator()
    try:
        subscriber = consumer(broker.host, broker.port)
        yield Rig(subscriber, write_config(tmp_path, broker.port, pty), tmp_path / "outbox.sqlite")
    finally:
        simulator.stop()
