"""The bridge simulator: the board's own firmware (firmware_bridge/bridge.py) under CPython with a fake
hardware layer (simulators/bridge_hal.py), on a pty — the host driver is tested against the real
firmware logic, not a second implementation.

A thread turns the firmware's main loop every `loop_ms` on the real monotonic clock, moving bytes
between the pty and the fake serial line. An optional scenario (`Scenario`: beam-on sequence, pulse
train, button presses, at times from start, looping or not) drives the signals; tests drive them
directly (`set_beam`, `set_rate_cps`, `press`). Fault knobs: `stall` (the loop stops turning: the
fake watchdog then restarts the board, which says HELLO again), `unplug()`.
"""

from __future__ import annotations

__all__ = ["BridgeSimulator", "Scenario", "demo_scenario"]

import os
import select
import threading
import time
from dataclasses import dataclass

from firmware_bridge.bridge import Bridge
from firmware_bridge.settings import Settings
from simulators.bridge_hal import FakeHal
from simulators.pty_device import PtyEnds


@dataclass(frozen=True)
class Scenario:
    """(at_s, beam_on, pulse rate cps, button pressed at that moment) steps; `loop_s` > 0 repeats."""

    steps: tuple[tuple[float, bool, float, bool], ...]
    loop_s: float = 0.0

    def at(self, t_s: float) -> tuple[bool, float]:
        if self.loop_s > 0:
            t_s %= self.loop_s
        beam, cps = False, 0.0
        for at_s, step_beam, step_cps, _ in self.steps:
            if at_s <= t_s:
                beam, cps = step_beam, step_cps
        return beam, cps

    def presses_between(self, t0_s: float, t1_s: float) -> int:
        if self.loop_s > 0:
            t0_s, t1_s = t0_s % self.loop_s, t1_s % self.loop_s
            if t1_s < t0_s:
                return self.presses_between(t0_s, self.loop_s) + self.presses_between(0.0, t1_s)
        return sum(1 for at_s, *_, press in self.steps if press and t0_s < at_s <= t1_s)


def demo_scenario(loop: bool = True) -> Scenario:
    """40 s: background, beam on below the level, over the level (≈40 mGy/min Ka,r with the demo
    calibration of 0.01 mGy/min per count/s), a press of the room button, back below, beam off."""
    return Scenario(
        (
            (0.0, False, 2.0, False),
            (3.0, True, 1000.0, False),
            (8.0, True, 4000.0, False),
            (17.0, True, 4000.0, True),
            (21.0, True, 1000.0, False),
            (26.0, False, 2.0, False),
        ),
        loop_s=40.0 if loop else 0.0,
    )


DEMO_SETTINGS = Settings(mgy_min_per_cps=0.01, background_cps=2.0)


class BridgeSimulator(PtyEnds):
    baudrate = 115200

    def __init__(
        self, scenario: Scenario | None = None, settings: Settings = DEMO_SETTINGS, loop_ms: int = 5
    ) -> None:
        self.scenario = scenario
        self.settings = settings
        self.loop_ms = loop_ms
        self._t0 = time.monotonic()
        self.hal = FakeHal(self._now_ms, settings.beam_active_low)
        self.hal.tx = self._write
        self.board = Bridge(self.hal, settings)
        self.restarts = 0
        self.stall = False
        self.path = ""
        self._master: int | None = None
        self._slave: int | None = None
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the test thread reads board state the loop thread changes

    def _now_ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000)

    # ------------------------------------------------------------ signals (any thread)

    def set_beam(self, on: bool) -> None:
        self.hal.set_beam(on)

    def set_rate_cps(self, cps: float) -> None:
        self.hal.pulse_rate_cps = cps

    def press(self) -> None:
        self.hal.press(100)

    @property
    def pattern_shown(self) -> str:
        """What the room sees and hears: the commanded pattern, or monitor_lost in the safe state."""
        with self._lock:
            return "monitor_lost" if self.board.safe else self.board.pattern

    @property
    def safe(self) -> bool:
        with self._lock:
            return self.board.safe

    # ------------------------------------------------------------ pty and loop

    def start(self) -> str:
        self._open_pty()
        self._write(self.board.hello())
        self._thread = threading.Thread(target=self._run, name=f"bridge {self.path}", daemon=True)
        self._thread.start()
        return self.path

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return
        try:
            os.write(self._master, data)
        except OSError:
            pass

    def _run(self) -> None:
        last_s = 0.0
        while self._running.is_set() and self._master is not None:
            try:
                ready, _, _ = select.select([self._master], [], [], self.loop_ms / 1000)
                if ready:
                    self.hal.rx += os.read(self._master, 4096)
            except (OSError, ValueError, TypeError):
                return
            now_s = time.monotonic() - self._t0
            if self.scenario is not None:
                beam, cps = self.scenario.at(now_s)
                self.set_beam(beam)
                self.set_rate_cps(cps)
                if self.scenario.presses_between(last_s, now_s):
                    self.press()
            last_s = now_s
            with self._lock:
                if not self.stall:
                    self.board.step()
                elif self.hal.watchdog_expired(self.settings.watchdog_ms):
                    self._watchdog_reset()

    def _watchdog_reset(self) -> None:
        """What the RP2040's watchdog does to a stalled loop: a fresh board that says HELLO."""
        self.restarts += 1
        self.stall = False
        self.hal.feed_watchdog()
        self.board = Bridge(self.hal, self.settings)
        self._write(self.board.hello())
