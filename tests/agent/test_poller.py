"""The poller: the one catch site for driver errors; lost/recovered on transitions only."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest

from agent.commands.action_queue import ActionOutcome, QueuedAction
from agent.poller import OVERRUN_STREAK, DevicePoller
from core.errors import DeviceError, FrameError, TransportError
from drivers.loop_driver import LoopDriver
from drivers.model import Measurement, Reading
from drivers.ptw_diamentor import ACTIONS, PtwDiamentorConfig
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


def test_polls_that_overrun_their_interval_stretch_are_counted_and_reported_once() -> None:
    reports: list[tuple[str, bool, str]] = []
    poller = DevicePoller(
        CONFIG,
        ScriptedDriver([]),
        FakeClock(),
        print,
        print,
        lambda d, over, why: reports.append((d, over, why)),
    )
    interval = CONFIG.poll_interval_s
    assert poller.paced(interval / 2) == interval / 2  # on time: waits the rest of the interval
    for _ in range(OVERRUN_STREAK - 1):
        assert poller.paced(3 * interval) == 0.0  # late: the next poll starts at once, never piles up
    assert reports == []  # a few slow polls are noise
    poller.paced(3 * interval)
    assert [(d, over) for d, over, _ in reports] == [("dap1", True)]
    for _ in range(3 * OVERRUN_STREAK):
        poller.paced(3 * interval)
    assert len(reports) == 1  # reported once, not per poll
    assert poller.counters["poll_overruns"] == 4 * OVERRUN_STREAK
    for _ in range(OVERRUN_STREAK):
        poller.paced(0.0)
    assert [(d, over) for d, over, _ in reports] == [("dap1", True), ("dap1", False)]
    assert "took" in reports[0][2]


def test_backing_off_after_errors_is_not_an_overrun() -> None:
    reports: list[bool] = []
    poller = DevicePoller(
        CONFIG, ScriptedDriver([]), FakeClock(), print, print, lambda d, o, w: reports.append(o)
    )
    poller.failures = 3
    for _ in range(2 * OVERRUN_STREAK):
        poller.paced(10.0)
    assert reports == [] and poller.counters["poll_overruns"] == 0


class ScriptedLoopDriver(LoopDriver):
    """A loop driver that records the thread each call ran on."""

    def __init__(self, outcomes: list[Exception | None]) -> None:
        self.outcomes = outcomes
        self.counters: Counter[str] = Counter()
        self.threads: set[int] = set()
        self.connects = 0

    async def connect(self) -> dict[str, str]:
        self.threads.add(threading.get_ident())
        self.connects += 1
        return {}

    async def poll(self) -> Reading:
        self.threads.add(threading.get_ident())
        await asyncio.sleep(0)  # a real one waits for its answer here
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return Reading("dap1", (Measurement("kap", 1.0, "Gy·cm²", 1.0, "Gy·cm²"),))

    def close(self) -> None:
        self.threads.add(threading.get_ident())


def test_a_loop_driver_is_polled_on_the_loop_thread_with_the_same_error_handling() -> None:
    driver = ScriptedLoopDriver([None, TransportError("silent"), FrameError("junk"), None])
    readings: list[Reading] = []
    transitions: list[tuple[bool, str]] = []
    poller = DevicePoller(
        CONFIG, driver, FakeClock(), readings.append, lambda d, up, err: transitions.append((up, err))
    )

    async def four_polls() -> int:
        for _ in range(4):
            poller.settle(await poller.poll_once())
        return threading.get_ident()

    loop_thread = asyncio.run(four_polls())
    assert driver.threads == {loop_thread}  # no worker thread
    assert len(readings) == 2 and transitions == [(False, "junk"), (True, "")]
    assert poller.counters == Counter(errors_transport=1, errors_frame=1, readings=2)
    assert driver.connects == 2  # reconnected after the transport error


def test_an_action_queued_for_a_loop_driver_gets_a_refusal_not_silence() -> None:
    poller = DevicePoller(CONFIG, ScriptedLoopDriver([None]), FakeClock(), print, print)
    outcomes: list[ActionOutcome] = []
    action = next(iter(ACTIONS.values()))
    poller.actions.submit(QueuedAction("c1", "dap1", action, {}, "physicist", 1e9, outcomes.append))

    async def one_poll() -> None:
        poller.settle(await poller.poll_once())

    asyncio.run(one_poll())
    assert [(o.ok, o.executed, o.error) for o in outcomes] == [
        (False, False, "ptw_diamentor takes no device actions")
    ]


def test_the_next_poll_moves_onto_the_interval_grid_so_devices_share_ticks() -> None:
    """Devices that started at different moments poll on the same multiples of their interval
    after one poll (one wake-up of the loop and one commit for all of them); the move is at most
    half an interval, and an overrunning poll still starts at once."""
    interval = CONFIG.poll_interval_s
    next_starts = []
    for offset in (0.05, 0.3, 0.45, 0.55, 0.9):  # fractions of an interval past a grid point
        poller = DevicePoller(CONFIG, ScriptedDriver([]), FakeClock(), print, print)
        started, elapsed = (4000 + offset) * interval, 0.02 * interval
        wait = poller.paced(elapsed, started)
        next_start = started + elapsed + wait
        assert next_start / interval == pytest.approx(round(next_start / interval), abs=1e-6)
        assert 0.5 * interval <= next_start - started <= 1.5 * interval
        next_starts.append(round(next_start / interval))
    assert next_starts == [4001, 4001, 4001, 4002, 4002]
    late = DevicePoller(CONFIG, ScriptedDriver([]), FakeClock(), print, print)
    assert late.paced(1.2 * interval, 4000.3 * interval) == 0.0
    assert late.counters["poll_overruns"] == 1
