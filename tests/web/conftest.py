from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from simulators.mosquitto import MosquittoBroker
from tests.fakes import FakeKeyring, Subscriber
from tests.web.harness import LiveRoom, chromium

OPERATORS = {"op-1": ("operator", "correct horse"), "phys-1": ("physicist", "battery staple")}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def keyring() -> FakeKeyring:
    return FakeKeyring(dict(OPERATORS))


@pytest.fixture
def room(tmp_path: Path, broker: MosquittoBroker, keyring: FakeKeyring) -> Iterator[LiveRoom]:
    live = LiveRoom.carm(tmp_path, broker.port, keyring)
    try:
        yield live
    finally:
        if live.thread.is_alive() or not live.thread.ident:
            live.stop()


@pytest.fixture
def records(broker: MosquittoBroker) -> Iterator[Subscriber]:
    subscriber = Subscriber(broker.host, broker.port, "doseedge/#", client_id="web-test")
    try:
        yield subscriber
    finally:
        subscriber.close()
