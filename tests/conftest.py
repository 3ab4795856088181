from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.mosquitto import MosquittoBroker, MosquittoMissing


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    """A private Mosquitto on a free loopback port. Missing binary is a failure, never a skip."""
    try:
        instance = MosquittoBroker()
    except MosquittoMissing as exc:
        pytest.fail(str(exc))
    instance.start()
    yield instance
    instance.cleanup()
