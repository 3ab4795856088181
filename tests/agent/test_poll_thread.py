"""The device's poll thread (agent/poll_gate.py, DevicePoller.run): one poll per grant from the loop,
the admission awaited before each, actions run on the poll thread between polls, a clean stop that
closes the driver on the poll thread. No timed assertions: the tests wait on events, not durations."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import replace
from typing import Any

from agent.commands.action_queue import ActionOutcome, QueuedAction
from agent.poll_gate import PollGate
from agent.poller import DevicePoller
from drivers.actions import DeviceAction, Effect
from drivers.model import Measurement, Reading
from drivers.ptw_diamentor import PtwDiamentorConfig
from tests.fakes import FakeClock

FAST = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port="x", poll_interval_s=0.001)
SLOW = replace(FAST, poll_interval_s=3600.0)  # a second poll on time would take an hour
ZERO = DeviceAction("zero", "zero", Effect.CHANGES, "reset the counters")


class CountingDriver:
    """Records what ran, on which thread; sets `stop` (thread-safely) after `polls` polls."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event, polls: int) -> None:
        self.loop, self.stop, self.polls = loop, stop, polls
        self.log: list[str] = []
        self.threads: set[str] = set()
        self.counters: Counter[str] = Counter()
        self.polled = asyncio.Event()

    def connect(self) -> dict[str, str]:
        self.log.append("connect")
        return {}

    def poll(self) -> Reading:
        self.log.append("poll")
        self.threads.add(threading.current_thread().name)
        if self.log.count("poll") >= self.polls:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.loop.call_soon_threadsafe(self.polled.set)
        return Reading("dap1", (Measurement("kap", 1.0, "Gy·cm²", 1.0, "Gy·cm²"),))

    def zero(self) -> None:
        self.log.append("zero")
        self.threads.add(threading.current_thread().name)

    def close(self) -> None:
        self.log.append(f"close on {threading.current_thread().name}")


def test_the_gate_lets_one_poll_through_per_grant_and_a_kick_skips_the_pacing() -> None:
    gate = PollGate()
    gate.grant(0.0)
    assert gate.wait_turn() and gate.started == 1
    gate.grant(3600.0)
    gate.kick()  # an action is queued: the granted poll starts now, not in an hour
    assert gate.wait_turn() and gate.started == 2
    gate.kick()  # a kick before the grant: the next granted poll starts at once
    gate.grant(3600.0)
    assert gate.wait_turn()
    gate.halt()
    gate.grant(0.0)
    assert not gate.wait_turn()  # halted: no poll starts, whatever was granted


def test_without_a_grant_the_thread_waits_and_a_halt_releases_it() -> None:
    gate = PollGate()
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(gate.wait_turn()))
    thread.start()
    thread.join(0.05)  # give a gate that wrongly lets the poll through a chance to do so
    assert thread.is_alive() and gate.started == 0
    gate.halt()
    thread.join()
    assert results == [False]


def test_each_poll_is_admitted_first_runs_on_the_device_thread_and_the_stop_closes_the_driver() -> None:
    async def main() -> tuple[CountingDriver, DevicePoller]:
        stop = asyncio.Event()
        driver = CountingDriver(asyncio.get_running_loop(), stop, polls=5)
        readings: list[Reading] = []

        async def admit(name: str) -> None:
            assert name == "dap1"
            driver.log.append("admit")

        poller = DevicePoller(FAST, driver, FakeClock(), readings.append, print, admit=admit)
        await poller.run(stop)
        assert len(readings) == 5  # every poll's reading settled on the loop
        return driver, poller

    driver, poller = asyncio.run(main())
    assert driver.log[:2] == ["admit", "connect"]
    assert [e for e in driver.log if e in ("admit", "poll")] == ["admit", "poll"] * 5
    assert driver.log[-1] == "close on poll-dap1"  # once, after the last poll, on the poll thread
    assert driver.threads == {"poll-dap1"}
    assert not any(t.name == "poll-dap1" for t in threading.enumerate())  # the thread has ended
    assert poller.counters["readings"] == 5


def test_a_blocked_admission_holds_the_next_poll() -> None:
    async def main() -> CountingDriver:
        stop = asyncio.Event()
        driver = CountingDriver(asyncio.get_running_loop(), stop, polls=3)
        admitted, asked = asyncio.Event(), asyncio.Event()

        async def admit(name: str) -> None:
            if driver.log.count("poll") == 1:
                asked.set()
                await admitted.wait()  # back-pressure: the link is behind

        poller = DevicePoller(FAST, driver, FakeClock(), print, print, admit=admit)
        task = asyncio.create_task(poller.run(stop))
        await asked.wait()
        await asyncio.sleep(0.05)  # give a poll that wrongly skips the admission a chance to run
        assert driver.log.count("poll") == 1
        admitted.set()
        await task
        return driver

    assert asyncio.run(main()).log.count("poll") == 3


def test_a_queued_action_runs_on_the_poll_thread_at_once_before_the_next_poll() -> None:
    async def main() -> tuple[CountingDriver, list[ActionOutcome]]:
        stop = asyncio.Event()
        driver = CountingDriver(asyncio.get_running_loop(), stop, polls=2)
        outcomes: list[ActionOutcome] = []
        clock = FakeClock()
        poller = DevicePoller(SLOW, driver, clock, print, print)
        task = asyncio.create_task(poller.run(stop))
        await driver.polled.wait()  # the first poll is done; the next is due in an hour
        args: dict[str, Any] = {}
        poller.submit_action(QueuedAction("c1", "dap1", ZERO, args, "physicist", 1e9, outcomes.append))
        await task  # the action woke the poller: the second poll ran at once, and stopped it
        return driver, outcomes

    driver, outcomes = asyncio.run(main())
    assert [e for e in driver.log if e in ("poll", "zero")] == ["poll", "zero", "poll"]
    assert driver.threads == {"poll-dap1"}
    assert [o.ok for o in outcomes] == [True]
