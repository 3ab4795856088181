"""A fake of the bridge board's hardware layer (firmware_bridge/hal.py), so the firmware's own logic
(firmware_bridge/bridge.py) runs under CPython: in the unit tests with a hand-turned clock, and on a
pty as the bridge simulator (simulators/bridge.py).

Inputs are set as the physical signals: `set_beam(on)` drives the X-ray-on line (the opto-coupler
pulls the pin low while the lamp line is live, as wired in docs/firmware.md), `pulse_rate_cps` is the
probe's pulse rate (pulses are integrated over the clock, so counts are exact for a given time),
`press(ms)` holds the acknowledge button. Outputs and watchdog feeds are recorded.
"""

from __future__ import annotations

__all__ = ["FakeHal"]

from collections.abc import Callable

from firmware_bridge.bridge import HalLike


class FakeHal(HalLike):
    def __init__(self, now_ms: Callable[[], int], beam_active_low: bool = True) -> None:
        self._now = now_ms
        self.beam_active_low = beam_active_low
        self.beam_pin = 1 if beam_active_low else 0  # the electrical level: beam off
        self.mode_pin = 0
        self.button_pin = 0
        self.pulse_rate_cps = 0.0
        self.adc_raw = 0
        self._pulses = 0.0
        self._pulse_t: int | None = None
        self._press_until = -1
        self.outputs = (0, 0, 0, 0)  # buzzer, red, amber, green
        self.feeds = 0
        self.last_feed_ms = now_ms()
        self.rx = bytearray()  # host → board, not yet read by the firmware
        self.tx: Callable[[bytes], None] = lambda data: None

    # ------------------------------------------------------------ the physical signals

    def set_beam(self, on: bool) -> None:
        self.beam_pin = int(on) ^ int(self.beam_active_low)

    def press(self, hold_ms: int = 100) -> None:
        self._press_until = self._now() + hold_ms

    def watchdog_expired(self, timeout_ms: int) -> bool:
        return self._now() - self.last_feed_ms > timeout_ms

    # ------------------------------------------------------------ HalLike

    def now_ms(self) -> int:
        return self._now()

    def beam_level(self) -> int:
        return self.beam_pin

    def mode_level(self) -> int:
        return self.mode_pin

    def button_level(self) -> int:
        return 1 if self.button_pin or self._now() < self._press_until else 0

    def pulse_count(self) -> int:
        now = self._now()
        if self._pulse_t is not None and now > self._pulse_t:
            self._pulses += self.pulse_rate_cps * (now - self._pulse_t) / 1000.0
        self._pulse_t = now
        return int(self._pulses)

    def adc_read(self) -> int:
        return self.adc_raw

    def set_outputs(self, buzzer: int, red: int, amber: int, green: int) -> None:
        self.outputs = (buzzer, red, amber, green)

    def feed_watchdog(self) -> None:
        self.feeds += 1
        self.last_feed_ms = self._now()

    def read_serial(self) -> bytes:
        data = bytes(self.rx)
        self.rx.clear()
        return data

    def write_serial(self, data: bytes) -> None:
        self.tx(data)
