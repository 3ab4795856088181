"""The room bridge board (firmware_bridge/, MicroPython on an RP2040) as an instrument.

Protocol source and confidence: high — it is our own; the framing is firmware_bridge/codec.py,
imported here unchanged (the board runs the same file), with golden frames in tests/firmware_bridge/.
USB CDC serial (the baud rate is nominal), strict request/response, every host frame answered:

- `INFO` → `HELLO` (firmware version and the board's configuration: counting window, calibration,
  silence time before its safe state, watchdog, whether a mode input is wired);
- `POLL` → `STAT` (X-ray-on line level and its time-stamped edges since the last poll, the last
  closed counting window: counts, length, calibrated air-kerma rate; analog mean; mode input;
  acknowledge-button presses since the last STAT (a press in the safe state only mutes the
  board's buzzer, and INFO clears the count: presses are acted on only while the agent listens);
  the pattern shown; `safe=1` while in its safe state);
- `PAT pattern=<name>` → `ACK` (or `NAK err=unknown_pattern`): buzzer and lights, firmware_bridge/patterns.py.

Readings (drivers/model.py): `air_kerma_rate` (mGy/min, from the board's calibrated pulse rate; raw
count rate beside it) — the quantity the fluoroscopy monitor judges for a DAP meter's Ka,r rate — and
`beam_on` (1/0) from the X-ray-on line, 1 if the beam was on at any moment since the last poll. Labels:
`mode` (normal | high_level) where the mode input is wired, `beam_edges` (the edges with their age in
seconds), `ack_button_presses` (presses since the last poll; agent/bridge_room.py acknowledges with them).
Every command and poll carries the host's sequence number; a reply must acknowledge it. The board's
own sequence numbers reveal lost frames (`frames_missed`); an unsolicited HELLO is a board restart
(`board_restarts`), after which the last commanded pattern is sent again.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "Bridge", "BridgeConfig", "Frame", "decode_frame", "encode_frame"]

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import DeviceError, FrameError
from drivers.actions import ActionArg, DeviceAction, Effect, action_table
from drivers.checks import polling_problems
from drivers.framing import await_frame
from drivers.model import Measurement, Reading
from drivers.transport import ByteTransport
from firmware_bridge import codec
from firmware_bridge.patterns import PATTERNS


@dataclass(frozen=True)
class BridgeConfig:
    name: str
    driver: str
    port: str
    baudrate: int = 115200
    poll_interval_s: float = 0.5
    timeout_s: float = 1.0
    lost_after_failures: int = 2
    beam_input: bool = True  # the X-ray-on line is wired (beam_on readings)
    pulse_input: bool = True  # a dose-rate probe's pulse output is wired (air_kerma_rate readings)
    mode_input: bool = False  # the board's mode input is wired; must match the board's HELLO
    analog_input: bool = False  # report the analog input (V) as `analog_voltage`
    analog_full_scale_v: float = 3.3  # the ADC's reference: raw 65535 = this many volts

    def validate(self) -> list[tuple[str, str]]:
        problems = polling_problems(self)
        if self.baudrate not in (9600, 19200, 38400, 57600, 115200):
            problems.append(("baudrate", "must be one of 9600, 19200, 38400, 57600, 115200"))
        if not (self.beam_input or self.pulse_input or self.analog_input):
            problems.append(("beam_input", "wire at least one input (beam, pulse or analog)"))
        if not 0.5 <= self.analog_full_scale_v <= 5.0:
            problems.append(("analog_full_scale_v", "must be 0.5–5.0 V"))
        return problems


@dataclass(frozen=True)
class Frame:
    seq: int
    kind: str
    fields: dict[str, str]

    def get(self, key: str) -> str:
        if key not in self.fields:
            raise FrameError(f"{self.kind} frame without '{key}'")
        return self.fields[key]

    def number(self, key: str) -> float:
        try:
            return float(self.get(key))
        except ValueError:
            raise FrameError(f"{self.kind} field {key}={self.fields[key]!r} is not a number") from None


# ---------------------------------------------------------------- codec (the board's, wrapped)


def encode_frame(seq: int, kind: str, fields: dict[str, str] | None = None) -> bytes:
    return codec.encode(seq, kind, list((fields or {}).items()))


def decode_frame(buffer: bytes) -> tuple[int, Frame | None]:
    """One frame from the start of `buffer`; FrameError(consumed=…) for a bad line."""
    consumed, line = codec.split_line(buffer)
    if line is None:
        return 0, None
    if not line.strip():
        return consumed, None
    try:
        seq, kind, fields = codec.decode(line)
    except codec.CodecError as exc:
        raise FrameError(f"bad bridge frame: {exc}", consumed=consumed) from None
    return consumed, Frame(seq, kind, dict(fields))


# ---------------------------------------------------------------- driver (moves bytes only)


class Bridge:
    """Request/response over an injected transport; frames by firmware_bridge/codec.py."""

    def __init__(
        self,
        config: BridgeConfig,
        transport: ByteTransport,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._transport = transport
        self._monotonic = monotonic
        self._seq = 0
        self._board_seq: int | None = None
        self.pattern = "off"  # what the agent last asked the board to show
        self.info: dict[str, str] = {}
        self.counters: Counter[str] = Counter()

    def connect(self) -> dict[str, str]:
        self._transport.open()
        self._transport.discard_input()
        self._board_seq = None
        hello = self._transact("INFO", {}, "HELLO")
        board_mode = hello.get("mode") == "1"
        if board_mode != self.config.mode_input:
            wired = "wired" if board_mode else "not wired"
            raise DeviceError(f"{self.config.name}: the board says its mode input is {wired}", "config")
        self.info = {
            "firmware": hello.get("fw"),
            "window_ms": hello.get("win"),
            "calibration_mgy_min_per_cps": hello.get("cal"),
            "background_cps": hello.get("bg"),
            "silence_ms": hello.get("sil"),
            "watchdog_ms": hello.get("wdt"),
        }
        self.set_pattern(self.pattern)  # a restarted board or agent shows the current state at once
        return self.info

    def set_pattern(self, pattern: str) -> dict[str, str]:
        if pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {pattern!r}")
        self._transact("PAT", {"pattern": pattern}, "ACK")
        self.pattern = pattern
        return {"pattern": pattern}

    def poll(self) -> Reading:
        restarts = self.counters["board_restarts"]
        stat = self._transact("POLL", {}, "STAT")
        if self.counters["board_restarts"] != restarts:  # it said HELLO unasked: it has just restarted
            self.set_pattern(self.pattern)
        now_ms = stat.number("t")
        edges = _edges(stat.get("edges"))
        self.counters["edges_lost"] = int(stat.number("lost"))
        measurements: list[Measurement] = []
        labels: dict[str, str] = {}
        if self.config.pulse_input and "rate" in stat.fields:
            rate, counts, length_ms = stat.number("rate"), stat.number("counts"), stat.number("ms")
            if rate < 0 or counts < 0 or length_ms <= 0:
                raise FrameError(f"{self.config.name}: impossible window {stat.fields}")
            cps = round(counts * 1000.0 / length_ms, 3)
            measurements.append(Measurement("air_kerma_rate", rate, "mGy/min", cps, "counts/s"))
        if self.config.beam_input:
            on = stat.get("beam") == "1" or any(level == 1 for level, _ in edges)
            measurements.append(Measurement("beam_on", float(on), "1", float(on), "1"))
            if edges:
                labels["beam_edges"] = "/".join(
                    f"{'on' if lv else 'off'}:{(now_ms - t) / 1000:.3f}s_ago" for lv, t in edges
                )
        if self.config.analog_input and "adc" in stat.fields:
            raw = stat.number("adc")
            volts = round(raw / 65535 * self.config.analog_full_scale_v, 4)
            measurements.append(Measurement("analog_voltage", volts, "V", raw, "adc_u16"))
        if self.config.mode_input:
            labels["mode"] = "high_level" if stat.get("mode") == "1" else "normal"
        presses = int(stat.number("btn"))  # since the last STAT
        if presses > 0:
            labels["ack_button_presses"] = str(presses)
        if stat.get("safe") == "1":
            labels["board_safe_state"] = "1"
        return Reading(self.config.name, tuple(measurements), device_info=self.info, labels=labels)

    def close(self) -> None:
        self._transport.close()

    def _transact(self, kind: str, fields: dict[str, str], reply: str) -> Frame:
        seq = self._seq
        self._seq = codec.next_seq(seq)
        self._transport.write(encode_frame(seq, kind, fields))

        def accept(frame: Frame) -> bool:
            self._track(frame)
            if frame.fields.get("ack") != str(seq):
                if frame.kind == "HELLO":  # unsolicited: the board has just restarted
                    self.counters["board_restarts"] += 1
                return False
            if frame.kind == "NAK":
                raise DeviceError(f"{self.config.name}: {kind} refused: {frame.fields.get('err')}", "nak")
            if frame.kind != reply:
                raise FrameError(f"{self.config.name}: {frame.kind} in reply to {kind}")
            return True

        frame, _ = await_frame(
            self._transport, decode_frame, accept, self.config.timeout_s, self._monotonic,
            self.counters, self.config.name, request=kind,
        )  # fmt: skip
        return frame

    def _track(self, frame: Frame) -> None:
        """Count frames the board sent that never arrived (its sequence numbers have a gap)."""
        if self._board_seq is not None and frame.kind != "HELLO":
            gap = (frame.seq - codec.next_seq(self._board_seq)) % (codec.MAX_SEQ + 1)
            self.counters["frames_missed"] += gap
        self._board_seq = frame.seq


def _edges(text: str) -> list[tuple[int, float]]:
    if text == "-":
        return []
    edges = []
    for item in text.split("/"):
        level, _, t = item.partition(":")
        if level not in ("0", "1") or not t.isdigit():
            raise FrameError(f"bad edge {item!r}")
        edges.append((int(level), float(t)))
    return edges


# ---------------------------------------------------------------- device actions (cmd/device_command)

ACTIONS = action_table(
    DeviceAction(
        "pattern",
        "set_pattern",
        Effect.READ,  # it changes what the room hears and sees, not what is measured
        "PAT: the buzzer and light pattern the board shows (the agent's alarm listener sets it)",
        (ActionArg("pattern", str, "firmware_bridge/patterns.py", tuple(PATTERNS)),),
        lambda value: dict(value),
    ),
)
