"""The hardware layer: the only module that imports `machine` (RP2040 / Raspberry Pi Pico).

Thin on purpose: pins, the pulse-counting interrupt, the ADC, the watchdog and the USB serial line,
nothing else. Everything that decides lives in bridge.py and runs under CPython with a fake of this
class (simulators/bridge.py).
"""

import select
import sys
import time

import machine

from firmware_bridge.bridge import HalLike
from firmware_bridge.settings import Settings


def button_held_at_boot(settings: Settings) -> bool:
    """Maintenance: the acknowledge button held at power-up keeps the firmware (and its watchdog,
    which cannot be stopped once started) from starting, so `mpremote` finds a quiet REPL."""
    return machine.Pin(settings.button_pin, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0


class Hal(HalLike):
    def __init__(self, settings: Settings) -> None:
        self._beam = machine.Pin(settings.beam_pin, machine.Pin.IN, machine.Pin.PULL_UP)
        self._mode = machine.Pin(settings.mode_pin, machine.Pin.IN, machine.Pin.PULL_UP)
        self._button = machine.Pin(settings.button_pin, machine.Pin.IN, machine.Pin.PULL_UP)
        self._pulse = machine.Pin(settings.pulse_pin, machine.Pin.IN, machine.Pin.PULL_DOWN)
        self._outs = [
            machine.Pin(pin, machine.Pin.OUT, value=0)
            for pin in (settings.buzzer_pin, settings.red_pin, settings.amber_pin, settings.green_pin)
        ]
        self._adc = machine.ADC(machine.Pin(settings.adc_pin))
        self._count = 0
        self._pulse.irq(trigger=machine.Pin.IRQ_RISING, handler=self._on_pulse)
        self._wdt = machine.WDT(timeout=settings.watchdog_ms)
        self._last_ticks = time.ticks_ms()
        self._ms = 0
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def _on_pulse(self, pin: machine.Pin) -> None:
        self._count += 1  # a small int: no allocation in the interrupt

    def now_ms(self) -> int:
        """Milliseconds since start that never wrap (ticks_ms wraps; ticks_diff handles it)."""
        ticks = time.ticks_ms()
        self._ms += time.ticks_diff(ticks, self._last_ticks)
        self._last_ticks = ticks
        return self._ms

    def beam_level(self) -> int:
        return self._beam.value()

    def mode_level(self) -> int:
        return 1 - self._mode.value()  # switch to ground = high-level fluoroscopy

    def button_level(self) -> int:
        return 1 - self._button.value()  # button to ground = pressed

    def pulse_count(self) -> int:
        return self._count

    def adc_read(self) -> int:
        return self._adc.read_u16()

    def set_outputs(self, buzzer: int, red: int, amber: int, green: int) -> None:
        for pin, value in zip(self._outs, (buzzer, red, amber, green)):
            pin.value(value)

    def feed_watchdog(self) -> None:
        self._wdt.feed()

    def read_serial(self) -> bytes:
        data = b""
        while self._poll.poll(0) and len(data) < 256:
            data += sys.stdin.buffer.read(1)
        return data

    def write_serial(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)

    def sleep_ms(self, ms: int) -> None:
        time.sleep_ms(ms)
