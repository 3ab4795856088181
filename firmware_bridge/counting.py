"""Pulse counting in fixed windows, and the calibration from counts to air-kerma rate.

The hardware layer counts every rising edge of the probe's pulse output (an interrupt on the RP2040)
into a running total; this module closes a window every `window_ms`, takes the counts in it and
turns them into a count rate and an air-kerma rate with the calibration of the probe:

    rate (mGy/min) = max(0, counts/s − background_cps) × mgy_min_per_cps

`mgy_min_per_cps` and `background_cps` come from the physicist's calibration of the probe at the
room's reference point (docs/firmware.md); the board only applies them and reports both the counts
and the rate, so the host keeps the raw value beside the calibrated one.
"""


class Window:
    """One closed window: its index, end time, length, counts and the rates from them."""

    def __init__(self, index: int, end_ms: int, length_ms: int, counts: int, cps: float, rate: float) -> None:
        self.index = index
        self.end_ms = end_ms
        self.length_ms = length_ms
        self.counts = counts
        self.cps = cps
        self.rate_mgy_min = rate


class PulseCounter:
    def __init__(self, window_ms: int, mgy_min_per_cps: float, background_cps: float = 0.0) -> None:
        self.window_ms = window_ms
        self.mgy_min_per_cps = mgy_min_per_cps
        self.background_cps = background_cps
        self._start_ms = -1
        self._start_total = 0
        self._index = 0
        self.last: Window | None = None  # the last closed window

    def update(self, total: int, now_ms: int) -> Window | None:
        """Feed the running total; the window just closed, if one did. A total that went backwards
        (counter reset) restarts the window instead of producing a negative rate."""
        if self._start_ms < 0 or total < self._start_total:
            self._start_ms, self._start_total = now_ms, total
            return None
        length = now_ms - self._start_ms
        if length < self.window_ms:
            return None
        counts = total - self._start_total
        cps = counts * 1000.0 / length
        rate = max(0.0, cps - self.background_cps) * self.mgy_min_per_cps
        self._index += 1
        self.last = Window(self._index, now_ms, length, counts, cps, rate)
        self._start_ms, self._start_total = now_ms, total
        return self.last


class AnalogMean:
    """The mean of the analog samples (raw 0–65535) taken in the current counting window."""

    def __init__(self) -> None:
        self._sum = 0
        self._n = 0
        self.last = -1  # the mean of the last closed window; -1 before the first

    def add(self, raw: int) -> None:
        self._sum += raw
        self._n += 1

    def close(self) -> None:
        if self._n:
            self.last = self._sum // self._n
        self._sum = self._n = 0
