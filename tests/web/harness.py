"""An agent serving the operator view, running on the simulators in a thread of its own (its own
asyncio loop, as `doseedge run` has), and a headless Chromium to look at it.

The DIAMENTOR simulator sits on a real pty; a test sets the entrance dose rate it plays with
`LiveRoom.play(esak_mgy_min)`. Nothing here sleeps to wait: `until` polls with a deadline.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from agent.app import Agent
from agent.config import AgentConfig, parse_config
from simulators.capintec import CapintecSimulator
from simulators.hotlab_session import HotlabSession, demo_script
from simulators.procedure import Procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.agent.room import CARM_GEOMETRY, carm_toml
from tests.fakes import FakeKeyring

T = TypeVar("T")
FAST = "window_s = 1.0\nraise_after_s = 1.0\nclear_after_s = 1.0\nclear_below_fraction = 0.9"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


def until(predicate: Callable[[], T], timeout_s: float = 20.0, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def steady(esak_mgy_min: float) -> Procedure:
    return Procedure.from_esak([(3600.0, esak_mgy_min)], CARM_GEOMETRY, loop=True)


def room_config(tmp: Path, mqtt_port: int) -> AgentConfig:
    text = carm_toml(FAST) + (
        f'\n[store]\npath = "{tmp}/outbox.sqlite"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {mqtt_port}\nreconnect_max_s = 1.0\n'
        "[web]\nenabled = true\nport = 0\npush_interval_s = 0.5\nstale_after_s = 2.0\n"
    )
    return parse_config(text, "web-test")


HOTLAB_TOML = """
[station]
site = "s"
station_id = "hotlab-1"
description = "Hot lab (simulated CRC-25R)"
[store]
path = "{tmp}/outbox.sqlite"
[mqtt]
port = {mqtt_port}
[[devices]]
name = "crc1"
driver = "capintec_crc"
port = "/dev/null"
chambers = [1]
poll_interval_s = 0.5
timeout_s = 1.0
ack_timeout_s = 1.0
[hotlab]
activimeter = "crc1"
calibration_date = "2026-03-01"
background_max_mbq = 0.05
zero_tolerance_mbq = 0.005
timezone = "Africa/Algiers"
store_path = "{tmp}/hotlab.json"
pseudonym_key_path = "{tmp}/pseudonym.key"
stable_window_s = 3.0
stable_tolerance_fraction = 0.02
presence_mbq = 0.5
[web]
enabled = true
port = 0
push_interval_s = 0.5
stale_after_s = 2.0
"""


class HotLab:
    """A hot-lab agent on the Capintec simulator playing the demo session (`start_session`)."""

    def __init__(self, tmp: Path, mqtt_port: int, keyring: FakeKeyring) -> None:
        self.simulator = CapintecSimulator(HotlabSession(demo_script()), serial_number="259999")
        pty = self.simulator.start()
        config = parse_config(HOTLAB_TOML.format(tmp=tmp, mqtt_port=mqtt_port), "hotlab-web-test")
        self.room = LiveRoom(Agent(config.with_device_port("crc1", pty), keyring=keyring), self.simulator)

    def start_session(self) -> None:
        self.simulator.restart_source()


class LiveRoom:
    """An agent running in a thread of its own, with the simulator it reads."""

    def __init__(self, agent: Agent, simulator: DiamentorSimulator | CapintecSimulator) -> None:
        self.agent = agent
        self.simulator = simulator
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="live-room", daemon=True)
        self.failure: BaseException | None = None

    @classmethod
    def carm(cls, tmp: Path, mqtt_port: int, keyring: FakeKeyring, esak_mgy_min: float = 10.0) -> LiveRoom:
        """A C-arm room: the DIAMENTOR simulator on a pty playing a steady entrance dose rate."""
        simulator = DiamentorSimulator(steady(esak_mgy_min))
        pty = simulator.start()
        config = room_config(tmp, mqtt_port).with_device_port("dap1", pty)
        return cls(Agent(config, keyring=keyring), simulator)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            await self.agent.run(install_signals=False)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by stop()
            self.failure = exc

    def start(self) -> str:
        self.thread.start()
        assert self.agent.web is not None
        web = self.agent.web
        return until(lambda: web.url or web.error, 20.0, "the operator view to listen")

    def play(self, esak_mgy_min: float) -> None:
        """The simulated beam now delivers this entrance dose rate (the simulator's script knob)."""
        assert isinstance(self.simulator, DiamentorSimulator)
        self.simulator.procedure = steady(esak_mgy_min)

    def hang(self, release: threading.Event) -> None:
        """Block the agent's loop until `release` is set: a hung agent whose socket stays open."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(release.wait, 60.0)

    def on_loop(self, fn: Callable[[], T]) -> T:
        """Read the agent's state on its own loop thread."""
        assert self.loop is not None
        future: Future[T] = Future()

        def call() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(call)
        return future.result(timeout=10)

    def stop(self) -> None:
        if self.loop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.agent.request_stop)
        self.thread.join(timeout=30)
        self.simulator.stop()
        assert not self.thread.is_alive(), "the agent did not stop"
        if self.failure is not None:
            raise self.failure


def chromium(profile: Path) -> webdriver.Chrome:
    """Debian's headless Chromium through its chromedriver (scripts/ensure-chromium.sh installs
    both); a fresh profile, nothing fetched from the network."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise AssertionError("chromium/chromedriver missing: run scripts/ensure-chromium.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def text_of(browser: webdriver.Chrome, element_id: str) -> str:
    value: Any = browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText : '';", element_id
    )
    return str(value)
