"""The poller: the one catch site for driver errors; lost/recovered on transitions only."""

from __future__ import annotations

from collections import Counter

from agent.poller import DevicePoller
from core.errors import DeviceError, FrameError, TransportError
from drivers.model import Measurement, Reading
from drivers.ptw_diamentor import PtwDiamentorConfig
from tests.fakes import FakeClock

CONFIG = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port="x", lost_after_failures=2)


class ScriptedDriver:
    def __init__(self, outcomes: list[Exception | None]) -> None:
        self.outcomes = outcomes
        self.counters: Counter[str] = Counter()
        self.connects = 0
        self.closes = 0

    def connect(self) -> dict[str, str]:
        self.connects += 1
        return {}

    def poll(self) -> Reading:
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return Reading("dap1", (Measurement("kap", 1.0, "Gy·cm²", 1.0, "Gy·cm²"),))

    def close(self) -> None:
        self.closes += 1


def test_lost_after_consecutive_failures_and_recovered_once() -> None:
    driver = ScriptedDriver(
        [None, FrameError("junk"), TransportError("silent"), DeviceError("E4", "E4"), None, None]
    )
    readings, transitions = [], []
    poller = DevicePoller(
        CONFIG, driver, FakeClock(), readings.append, lambda d, up, err: transitions.append((up, err))
    )
    for _ in range(6):
        poller.settle(poller.step())
    assert len(readings) == 3
    assert transitions == [(False, "silent"), (True, "")]  # one transition each way, not per failure
    assert poller.counters == Counter(errors_frame=1, errors_transport=1, errors_device=1, readings=3)
    assert driver.connects == 2  # a transport error closes the port; the next step reopens it


def test_back_off_grows_and_is_capped() -> None:
    poller = DevicePoller(CONFIG, ScriptedDriver([]), FakeClock(), print, print)
    assert poller.delay_s() == CONFIG.poll_interval_s
    poller.failures = 1
    assert poller.delay_s() == 2 * CONFIG.poll_interval_s
    poller.failures = 50
    assert poller.delay_s() == 2.0
