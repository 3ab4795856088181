"""A hot-lab bench on a real pseudo-terminal: the Capintec simulator playing a HotlabSession, read
by the real Capintec driver, each reading fed to the monitor. The session's time is the FakeClock's,
so a test advances time instead of sleeping; the bytes still cross a real pty."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import FrameError, TransportError
from drivers.capintec import Capintec, CapintecConfig
from drivers.model import Reading
from drivers.transport import SerialTransport
from simulators.capintec import CapintecSimulator
from simulators.hotlab_session import HotlabSession, SessionScript
from tests.agent.hotlab_fixtures import Bench
from tests.fakes import LocalRouter


class PtyBench(Bench):
    def __init__(self, tmp: Path, script: SessionScript, **overrides: object) -> None:
        super().__init__(tmp, **overrides)
        self.session = HotlabSession(script)
        self.simulator = CapintecSimulator(self.session, monotonic=self.clock.monotonic)
        port = self.simulator.start()
        config = CapintecConfig(
            name="dc1", driver="capintec_crc", port=port, timeout_s=2.0, ack_timeout_s=2.0
        )
        self.driver = Capintec(config, SerialTransport(port, 9600))
        self.driver.connect()
        self.poll_errors = 0
        self.router = LocalRouter()
        self.monitor.register_commands(self.router)

    def command(self, name: str, **args: object) -> dict[str, object]:
        return self.router.dispatch(name, json.dumps(args).encode())

    def poll(self) -> Reading:
        """One reading; a garbled or lost exchange is retried, as the agent's poller does."""
        for _ in range(2):
            try:
                return self.driver.poll()
            except (FrameError, TransportError):
                self.poll_errors += 1
        return self.driver.poll()

    def run(self, seconds: float, step_s: float = 0.5) -> None:
        """Poll the calibrator over the pty every `step_s` of session time."""
        for _ in range(round(seconds / step_s)):
            self.clock.advance(step_s)
            reading = self.poll()
            self._collect(self.monitor.observe(reading, self.clock.monotonic(), self.clock.wall()))

    def close(self) -> None:
        self.driver.close()
        self.simulator.stop()
        self.monitor.store.close()
