"""Polls one device. The one place driver errors are caught.

On a DriverError it counts the failure by type, marks the device lost after
`lost_after_failures` consecutive failures and recovered on the next good reading, and logs on those
transitions only (plus the first failure of a burst), never on every failure.

Device actions (cmd/device_command, agent/commands/device.py) run here too, on the same worker
thread, at the start of a step and before its poll: never from the event loop, never concurrently
with a poll. A queued action wakes the poller so it runs at once, not a poll interval later.

A loop driver (drivers/loop_driver.py: Modbus TCP) is polled on the event loop itself (`astep`), no
worker thread; the same errors are caught the same way. Loop drivers take no device actions.
"""

from __future__ import annotations

__all__ = ["DevicePoller"]

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from agent.clock import Clock
from agent.commands.action_queue import ActionOutcome, ActionQueue, QueuedAction
from core.errors import DeviceError, DriverError, FrameError, TransportError
from drivers.actions import perform
from drivers.loop_driver import LoopDriver
from drivers.model import Reading
from drivers.registry import AnyDriver, DriverConfig

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 2.0
OVERRUN_STREAK = 10  # consecutive polls longer than the interval before `poll_overrun` is raised (and
# consecutive polls on time before it clears): one slow poll is noise, ten in a row is a box that
# cannot keep up (docs/performance.md, "overload").


class DevicePoller:
    def __init__(
        self,
        config: DriverConfig,
        driver: AnyDriver,
        clock: Clock,
        on_reading: Callable[[Reading], None],
        on_availability: Callable[[str, bool, str], None],
        on_overrun: Callable[[str, bool, str], None] | None = None,
        admit: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self.driver = driver
        self.clock = clock
        self.on_reading = on_reading
        self.on_availability = on_availability
        self.on_overrun = on_overrun
        self.admit = admit  # awaited before each poll: back-pressure from the link (agent/backpressure.py)
        self.counters: Counter[str] = Counter()
        self.overrunning = False
        self._streak = 0  # consecutive polls that broke (+) or kept (−) the interval
        self.connected = False
        self.lost = False
        self.failures = 0
        self.last_error = ""
        self.actions = ActionQueue()
        self._wake: asyncio.Event | None = None  # set by submit_action, on the loop thread

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def driver_name(self) -> str:
        return self.config.driver

    def step(self) -> Reading | None:
        """One blocking poll: connect if needed, read, classify errors. Runs in a worker thread."""
        driver = self.driver
        assert not isinstance(driver, LoopDriver), "a loop driver is polled by astep"
        try:
            if not self.connected:
                info = driver.connect()
                self.connected = True
                log.info("%s connected %s", self.name, info)
            self._run_actions()
            return driver.poll()
        except Exception as exc:
            self._caught(exc)
            return None
        finally:
            self._after_step()

    async def astep(self) -> Reading | None:
        """One poll of a loop driver on the event loop: the same as `step`, without a thread."""
        driver = self.driver
        assert isinstance(driver, LoopDriver), "a blocking driver is polled by step in a thread"
        try:
            if not self.connected:
                info = await driver.connect()
                self.connected = True
                log.info("%s connected %s", self.name, info)
            self._refuse_actions()
            return await driver.poll()
        except Exception as exc:
            self._caught(exc)
            return None
        finally:
            self._after_step()

    async def poll_once(self) -> Reading | None:
        """One step, on the loop for a loop driver, in a worker thread for a blocking one."""
        if isinstance(self.driver, LoopDriver):
            return await self.astep()
        return await asyncio.to_thread(self.step)

    def _caught(self, exc: Exception) -> None:
        if isinstance(exc, DriverError):
            self._failed(exc)
            return
        # a driver bug is still this device failing: counted, then lost
        log.error("%s: unexpected error from the driver", self.name, exc_info=exc)
        self._failed(DriverError(f"unexpected {type(exc).__name__}: {exc}"))
        self.connected = False
        self.driver.close()

    def _after_step(self) -> None:
        self.actions.expire(self.clock.monotonic(), self.clock.wall())
        self.counters["frames_rejected"] = self.driver.counters["frames_rejected"]

    def _refuse_actions(self) -> None:
        """A loop driver has no actions (its registry entry lists none, so commands are refused
        before they get here); anything queued all the same gets an outcome, not silence."""
        while (job := self.actions.take(self.clock.monotonic(), self.clock.wall())) is not None:
            self.counters["action_errors"] += 1
            error = f"{self.driver_name} takes no device actions"
            self.actions.finish(ActionOutcome(job, False, self.clock.wall(), False, {}, error))

    def submit_action(self, job: QueuedAction) -> None:
        """Loop thread: queue a checked device action and wake the poller to run it."""
        self.actions.submit(job)
        if self._wake is not None:
            self._wake.set()

    def _run_actions(self) -> None:
        """Worker thread, connected: run queued actions one by one. A device's refusal or a bad
        reply is that action's outcome; a transport failure also fails the step (the line is
        gone), leaving the rest queued for the next step."""
        while (job := self.actions.take(self.clock.monotonic(), self.clock.wall())) is not None:
            try:
                data = perform(self.driver, job.action, job.args)
            except (DriverError, ValueError) as exc:  # ValueError: a value the driver refuses
                self.counters["action_errors"] += 1
                self.actions.finish(ActionOutcome(job, False, self.clock.wall(), True, {}, str(exc)))
                if isinstance(exc, TransportError):
                    raise
                continue
            except Exception as exc:  # a driver bug: the action still gets an outcome, then the step fails
                self.counters["action_errors"] += 1
                error = f"unexpected {type(exc).__name__}: {exc}"
                self.actions.finish(ActionOutcome(job, False, self.clock.wall(), True, {}, error))
                raise
            self.counters["actions"] += 1
            self.actions.finish(ActionOutcome(job, True, self.clock.wall(), True, data))

    def _failed(self, exc: DriverError) -> None:
        kind = {TransportError: "transport", FrameError: "frame", DeviceError: "device"}.get(
            type(exc), "driver"
        )
        self.counters[f"errors_{kind}"] += 1
        self.failures += 1
        self.last_error = str(exc)
        if self.failures == 1 and not self.lost:
            log.warning("%s: %s", self.name, exc)
        if isinstance(exc, TransportError):
            self.connected = False
            self.driver.close()

    def settle(self, reading: Reading | None) -> None:
        """Back on the loop thread: update availability and hand the reading on."""
        if reading is not None:
            if self.lost:
                log.warning("%s recovered after %d failures", self.name, self.failures)
                self.lost = False
                self.on_availability(self.name, True, "")
            self.failures = 0
            self.counters["readings"] += 1
            self.on_reading(reading)
        elif not self.lost and self.failures >= self.config.lost_after_failures:
            self.lost = True
            log.error("%s LOST: %s", self.name, self.last_error)
            self.on_availability(self.name, False, self.last_error)
        if self.lost:
            self.actions.fail_all(f"device {self.name} is lost: {self.last_error}", self.clock.wall())
        self.actions.settle()

    def delay_s(self) -> float:
        if self.failures == 0:
            return self.config.poll_interval_s
        backoff = self.config.poll_interval_s * 2.0 ** min(self.failures, 6)
        return min(backoff, MAX_BACKOFF_S)

    def paced(self, elapsed_s: float, started: float | None = None) -> float:
        """The wait before the next poll, given how long this one took. A poll that took longer than
        the interval stretches the next one (it starts at once): counted, and after OVERRUN_STREAK in
        a row `poll_overrun` is reported (cleared after as many on time). Polls never pile up.

        Given when the poll `started`, the next one is moved to the nearest multiple of the interval
        on the monotonic clock (by at most half an interval, once): every device with the same
        interval then polls on the same ticks, so their readings share one wake-up of the loop, one
        commit and one forwarder turn instead of one each (docs/decisions.md §28)."""
        wait = self.delay_s() - elapsed_s
        if self.failures:  # backing off after errors: not an overload
            return max(wait, 0.0)
        shift = 0.0
        if started is not None:  # onto the interval's grid; an overrun is judged before the shift
            interval = self.config.poll_interval_s
            shift = (round(started / interval) + 1) * interval - (started + interval)
        if wait < 0:
            self.counters["poll_overruns"] += 1
            self._streak = max(self._streak, 0) + 1
        else:
            self._streak = min(self._streak, 0) - 1
        if not self.overrunning and self._streak >= OVERRUN_STREAK:
            self.overrunning = True
            self._report_overrun(elapsed_s)
        elif self.overrunning and self._streak <= -OVERRUN_STREAK:
            self.overrunning = False
            self._report_overrun(elapsed_s)
        return 0.0 if wait < 0 else max(wait + shift, 0.0)

    def _report_overrun(self, elapsed_s: float) -> None:
        interval_ms = 1000 * self.config.poll_interval_s
        detail = f"last poll took {1000 * elapsed_s:.0f} ms for an interval of {interval_ms:.0f} ms"
        log.log(logging.WARNING if self.overrunning else logging.INFO, "%s overrun=%s: %s", self.name,
                self.overrunning, detail)  # fmt: skip
        if self.on_overrun is not None:
            self.on_overrun(self.name, self.overrunning, detail)

    async def run(self, stop: asyncio.Event) -> None:
        self._wake = wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        stopping = asyncio.ensure_future(stop.wait())  # one waiter for the whole run, not one per poll
        stopping.add_done_callback(lambda _: wake.set())
        try:
            while not stop.is_set():
                started = self.clock.monotonic()
                wake.clear()  # actions queued from now on wake the wait below
                if self.admit is not None:
                    await self.admit(self.name)
                    started = self.clock.monotonic()
                reading = await self.poll_once()
                try:
                    self.settle(reading)
                except Exception:  # downstream of the reading: log loud, keep polling this device
                    self.counters["errors_agent"] += 1
                    log.exception("%s: handling a reading failed", self.name)
                # Not on the grid (`paced(…, started)`): with it an end-to-end test of a serial DAP meter
                # lost readings 2–3 times in 8 (cause not found yet, docs/decisions.md §28); off until it is.
                wait = self.paced(self.clock.monotonic() - started)
                if wait > 0 and not stop.is_set():
                    timer = loop.call_later(wait, wake.set)
                    try:
                        await wake.wait()
                    finally:
                        timer.cancel()
        finally:
            stopping.cancel()
            self.actions.fail_all(f"agent stopping; {self.name} did not run the action", self.clock.wall())
            self.actions.settle()
            self.driver.close()
