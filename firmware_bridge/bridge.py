"""The board's logic: inputs → state → frames; host frames → outputs. Pure: time and pins come
through the hardware layer handed in (`hal.py` on the board, a fake one under CPython), so every
line here runs in the test suite.

One `step()` per main-loop turn: sample the X-ray-on line, the mode input and the button (debounced,
debounce.py), count pulses and sample the analog input (counting.py), answer what the host sent
(codec.py), go to the safe state if the host has been silent for `silence_ms`, drive the buzzer and
lights (patterns.py), and feed the hardware watchdog — last, so a loop that stalls anywhere above
resets the board.

Host → board: INFO (→ HELLO), POLL (→ STAT), PAT pattern=<name> (→ ACK, or NAK err=…).
Board → host: HELLO at start and on INFO; every reply carries ack=<the host frame's seq>.
"""

from firmware_bridge import codec, patterns
from firmware_bridge.counting import AnalogMean, PulseCounter
from firmware_bridge.debounce import Debouncer
from firmware_bridge.settings import Settings

MAX_EDGES = 8  # per STAT; more between two polls are counted as lost
MAX_COUNT = 65535


class Bridge:
    def __init__(self, hal: "HalLike", settings: Settings) -> None:
        self.hal = hal
        self.settings = settings
        now = hal.now_ms()
        self.seq = 0
        self.beam = Debouncer(settings.debounce_ms, 0)
        self.mode = Debouncer(settings.debounce_ms, 0)
        self.button = Debouncer(settings.button_debounce_ms, 0)
        self.counter = PulseCounter(settings.window_ms, settings.mgy_min_per_cps, settings.background_cps)
        self.analog = AnalogMean()
        self.edges: list[tuple[int, int]] = []  # (level, t_ms) since the last STAT
        self.edges_lost = 0
        self.presses = 0  # acknowledge-button presses since the last STAT (or INFO)
        self.pattern = "off"  # the pattern the host last commanded
        self.safe = False  # the host has been silent for silence_ms: pattern monitor_lost
        self.safe_entries = 0
        self.muted = False  # a press in the safe state silences the buzzer (the light stays)
        self.last_host_ms = now
        self.bad_frames = 0
        self._rx = b""

    # ------------------------------------------------------------ frames out

    def frame(self, kind: str, fields: list[tuple[str, str]]) -> bytes:
        line = codec.encode(self.seq, kind, fields)
        self.seq = codec.next_seq(self.seq)
        return line

    def hello(self, ack: int = -1) -> bytes:
        fields = self.settings.hello_fields()
        if ack >= 0:
            fields.insert(0, ("ack", str(ack)))
        return self.frame("HELLO", fields)

    def stat(self, ack: int, now: int) -> bytes:
        window = self.counter.last
        fields = [("ack", str(ack)), ("t", str(now)), ("beam", str(self.beam.level))]
        fields.append(("edges", "/".join(str(lv) + ":" + str(t) for lv, t in self.edges) or "-"))
        fields.append(("lost", str(self.edges_lost)))
        if window is not None:
            fields.append(("win", str(window.index)))
            fields.append(("ms", str(window.length_ms)))
            fields.append(("counts", str(window.counts)))
            fields.append(("rate", f"{window.rate_mgy_min:.4f}"))
        if self.analog.last >= 0:
            fields.append(("adc", str(self.analog.last)))
        if self.settings.mode_wired:
            fields.append(("mode", str(self.mode.level)))
        fields.append(("btn", str(self.presses)))
        fields.append(("pat", self.pattern))
        fields.append(("safe", "1" if self.safe else "0"))
        self.edges = []
        self.presses = 0
        return self.frame("STAT", fields)

    # ------------------------------------------------------------ frames in

    def handle(self, line: bytes, now: int) -> bytes:
        """The reply to one line from the host. A bad frame is answered NAK and does not count as
        the host talking (noise on the line must not keep the board out of its safe state)."""
        try:
            seq, kind, fields = codec.decode(line)
        except ValueError:
            self.bad_frames += 1
            return self.frame("NAK", [("err", "bad_frame")])
        self.last_host_ms = now
        if self.safe:
            self.safe = False
            self.muted = False
        ack = ("ack", str(seq))
        if kind == "INFO":  # the host (re)connects: what happened before is not for it to act on
            self.presses = 0
            self.edges = []
            return self.hello(seq)
        if kind == "POLL":
            return self.stat(seq, now)
        if kind == "PAT":
            name = codec.field(fields, "pattern")
            if name is None or name not in patterns.PATTERNS:
                return self.frame("NAK", [ack, ("err", "unknown_pattern")])
            self.pattern = name
            return self.frame("ACK", [ack, ("pat", name)])
        return self.frame("NAK", [ack, ("err", "unknown_kind")])

    # ------------------------------------------------------------ the loop

    def step(self) -> None:
        hal = self.hal
        now = hal.now_ms()
        self._inputs(now)
        self._rx += hal.read_serial()
        while self._rx:
            consumed, line = codec.split_line(self._rx)
            if line is None:
                break
            self._rx = self._rx[consumed:]
            hal.write_serial(self.handle(line, now))
        if not self.safe and now - self.last_host_ms >= self.settings.silence_ms:
            self.safe = True
            self.safe_entries += 1
        name = "monitor_lost" if self.safe else self.pattern
        buzzer, red, amber, green = patterns.outputs(name, now, self.muted)
        hal.set_outputs(buzzer, red, amber, green)
        hal.feed_watchdog()

    def _inputs(self, now: int) -> None:
        hal = self.hal
        beam_level = hal.beam_level()
        if self.settings.beam_active_low:
            beam_level = 1 - beam_level
        edge = self.beam.update(beam_level, now)
        if edge is not None:
            if len(self.edges) < MAX_EDGES:
                self.edges.append(edge)
            else:
                self.edges_lost += 1
        if self.settings.mode_wired:
            self.mode.update(hal.mode_level(), now)
        press = self.button.update(hal.button_level(), now)
        if press is not None and press[0] == 1:
            if self.safe:  # nobody to acknowledge to: the press silences the buzzer here
                self.muted = True
            elif self.presses < MAX_COUNT:
                self.presses += 1
        self.analog.add(hal.adc_read())
        if self.counter.update(hal.pulse_count(), now) is not None:
            self.analog.close()


class HalLike:
    """What the logic needs from the hardware layer (hal.py on the board; a fake under CPython)."""

    def now_ms(self) -> int:
        raise NotImplementedError

    def beam_level(self) -> int:
        raise NotImplementedError

    def mode_level(self) -> int:
        raise NotImplementedError

    def button_level(self) -> int:
        raise NotImplementedError

    def pulse_count(self) -> int:
        raise NotImplementedError

    def adc_read(self) -> int:
        raise NotImplementedError

    def set_outputs(self, buzzer: int, red: int, amber: int, green: int) -> None:
        raise NotImplementedError

    def feed_watchdog(self) -> None:
        raise NotImplementedError

    def read_serial(self) -> bytes:
        raise NotImplementedError

    def write_serial(self, data: bytes) -> None:
        raise NotImplementedError
