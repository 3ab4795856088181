"""Capintec CRC-25R / CRC-55tR activimeter (dose calibrator) over RS-232.

Protocol source and confidence: **high**. The instrument firmware published by the manufacturer's
parent, `smirza-mirion/crc_emulator` (`firmware/CRC-25R_Calib/PCComm_25.c`, `Headers/crc.h`).
9600 8N1, no flow control, polling only.

Transaction: host sends `@`, device answers `$O#`, host sends one frame, device answers one frame.
The frame format and the firmware's quirks are in the pure codec, drivers/capintec_codec.py.

Accuracy-test reads `s<n>` / `a<n>` are in drivers/capintec_accuracy.py. `ACTIONS` (end of this
module) lists what cmd/device_command may run here.

Layout: `CapintecConfig` (frozen), the codec (drivers/capintec_codec.py: `encode_frame`,
`decode_frame`, `parse_*`, and the device-side `format_*` the simulator uses), and `Capintec`, which
only moves bytes.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "Capintec", "CapintecConfig"]

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import DeviceError, FrameError, TransportError
from drivers.actions import ActionArg, DeviceAction, Effect, action_table
from drivers.capintec_accuracy import (
    AccuracyMeasurement,
    AccuracySource,
    parse_accuracy_measurement,
    parse_accuracy_source,
)
from drivers.capintec_codec import (
    ACK_REQUEST,
    ERRORS,
    CapintecFrame,
    decode_frame,
    encode_frame,
    normalise_nuclide,
    parse_configuration,
    parse_daily_check,
    parse_reading,
    parse_serial,
    to_measurements,
)
from drivers.framing import await_frame
from drivers.model import Reading
from drivers.transport import ByteTransport


@dataclass(frozen=True)
class CapintecConfig:
    name: str
    driver: str
    port: str
    baudrate: int = 9600
    chambers: tuple[int, ...] = (1,)
    poll_interval_s: float = 1.0
    timeout_s: float = 1.0
    ack_timeout_s: float = 1.0
    lost_after_failures: int = 2

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.baudrate != 9600:
            problems.append(("baudrate", "the CRC PC port runs at 9600 8N1 only"))
        if not self.chambers or any(not 1 <= c <= 8 for c in self.chambers):
            problems.append(("chambers", "must list chamber numbers 1–8"))
        elif len(set(self.chambers)) != len(self.chambers):
            problems.append(("chambers", "lists a chamber twice"))
        if not 0.2 <= self.poll_interval_s <= 60:
            problems.append(("poll_interval_s", "must be between 0.2 and 60 (never burst commands)"))
        if not 0.05 <= self.timeout_s <= 10:
            problems.append(("timeout_s", "must be between 0.05 and 10"))
        if not 0.05 <= self.ack_timeout_s <= 5:
            problems.append(("ack_timeout_s", "must be between 0.05 and 5"))
        if self.lost_after_failures < 1:
            problems.append(("lost_after_failures", "must be at least 1"))
        return problems


# ---------------------------------------------------------------- driver (moves bytes only)


class Capintec:
    """`@`/`$O#` handshake then one framed command per transaction; chambers read in turn."""

    quantities = ("activity",)

    def __init__(
        self,
        config: CapintecConfig,
        transport: ByteTransport,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._transport = transport
        self._monotonic = monotonic
        self._connected = False
        self._next = 0
        self.info: dict[str, str] = {}
        self.counters: Counter[str] = Counter()

    def connect(self) -> dict[str, str]:
        self._transport.open()
        serial_number = self.serial_number()
        chambers = self.configuration()
        missing = [c for c in self.config.chambers if c not in chambers]
        if missing:
            raise DeviceError(f"{self.config.name}: no chamber {missing} on this calibrator", code="4")
        self.info = {
            "serial_number": serial_number,
            "chambers": ",".join(f"{c}:{t}" for c, t in sorted(chambers.items())),
        }
        self._connected = True
        return self.info

    def poll(self) -> Reading:
        if not self._connected:
            raise TransportError(f"{self.config.name}: not connected")
        chamber = self.config.chambers[self._next % len(self.config.chambers)]
        self._next += 1
        return self.read_chamber(chamber)

    def close(self) -> None:
        self._connected = False
        self._transport.close()

    # -------------------------------------------------------- commands

    def read_chamber(self, chamber: int) -> Reading:
        sample = parse_reading(self.transact(f"R{chamber}".encode(), (b"DR", b"BR")))
        if sample.chamber != chamber:
            self.counters["frames_rejected"] += 1
            raise FrameError(f"{self.config.name}: asked chamber {chamber}, got {sample.chamber}")
        measurements, status = to_measurements(sample)
        labels = {"chamber": str(chamber)}
        nuclide = normalise_nuclide(sample.nuclide_field)
        if nuclide is not None:
            labels["nuclide"] = nuclide
        else:
            labels["calibration_number"] = sample.nuclide_field
        return Reading(self.config.name, measurements, status, dict(self.info), labels)

    def serial_number(self) -> str:
        return parse_serial(self.transact(b"S", (b"DS",)))

    def configuration(self) -> dict[int, str]:
        return parse_configuration(self.transact(b"G", (b"DG",)))

    def daily_check(self) -> str:
        return parse_daily_check(self.transact(b"d", (b"Dd",)))

    def select_nuclide(self, chamber: int, key: int) -> None:
        """`I<ch><key>`: the nuclide on key 1–9 of the calibrator's keypad for that chamber."""
        command = f"I{chamber}{key}".encode()
        self.transact(command, (b"D" + command,))

    def select_main_chamber(self, chamber: int) -> None:
        command = f"M{chamber}".encode()
        self.transact(command, (b"D" + command,))

    def accuracy_source(self, number: int) -> AccuracySource:
        """`s<n>`: accuracy source n (1–5) as the calibrator holds it, for its main chamber."""
        if not 1 <= number <= 5:
            raise ValueError(f"accuracy source {number} is not 1–5")
        source = parse_accuracy_source(self.transact(f"s{number}".encode(), (b"Ds",)))
        if source.number != number:
            raise FrameError(f"{self.config.name}: asked accuracy source {number}, got {source.number}")
        return source

    def accuracy_measurement(self, number: int) -> AccuracyMeasurement:
        """`a<n>`: the calibrator's last accuracy measurement of source n (1–5), main chamber."""
        if not 1 <= number <= 5:
            raise ValueError(f"accuracy source {number} is not 1–5")
        result = parse_accuracy_measurement(self.transact(f"a{number}".encode(), (b"Da",)))
        if result.number != number:
            raise FrameError(f"{self.config.name}: asked accuracy result {number}, got {result.number}")
        return result

    # -------------------------------------------------------- transaction

    def transact(self, command: bytes, expect: tuple[bytes, ...]) -> bytes:
        """`@` → `$O#`, then the framed command → one reply frame whose payload starts with `expect`."""
        self._transport.discard_input()
        self._transport.write(ACK_REQUEST)
        self._await(b"@", self.config.ack_timeout_s, ())
        self._transport.write(encode_frame(command))
        return self._await(command, self.config.timeout_s, expect)

    def _await(self, command: bytes, timeout_s: float, expect: tuple[bytes, ...]) -> bytes:
        """One reply frame: the ack when `expect` is empty, else data starting with `expect`."""

        def accept(frame: CapintecFrame) -> bool:
            if frame.kind == "error":
                reason = ERRORS.get(frame.code, "unknown error")
                raise DeviceError(f"{self.config.name}: {command!r} → e{frame.code} {reason}", frame.code)
            if not expect and frame.kind == "ack":
                return True
            if expect and frame.kind == "data" and frame.payload.startswith(expect):
                return True
            raise FrameError(f"unexpected frame {frame} for {command!r}")

        frame, _ = await_frame(
            self._transport, decode_frame, accept, timeout_s, self._monotonic, self.counters,
            self.config.name, request=repr(command),
        )  # fmt: skip
        return frame.payload


# ---------------------------------------------------------------- device actions (cmd/device_command)

_CHAMBER = ActionArg("chamber", int, "chamber number", minimum=1, maximum=8)
_SOURCE = ActionArg("source", int, "accuracy source number", minimum=1, maximum=5)

ACTIONS = action_table(
    DeviceAction(
        "select_nuclide",
        "select_nuclide",
        Effect.CHANGES,
        "I<ch><key>: the nuclide (calibration setting) on keypad key 1–9 for that chamber; "
        "every later activity of that chamber is computed with it",
        (_CHAMBER, ActionArg("key", int, "keypad key", minimum=1, maximum=9)),
    ),
    DeviceAction(
        "main_chamber",
        "select_main_chamber",
        Effect.CHANGES,
        "M<ch>: the chamber the calibrator displays and runs its accuracy test on "
        "(measurement screen only, else error 6)",
        (_CHAMBER,),
    ),
    DeviceAction(
        "daily_check",
        "daily_check",
        Effect.READ,
        "d: daily-test data check (good / bad / bias_delay); the calibrator logs the check",
        result=lambda status: {"daily_check": status},
    ),
    DeviceAction(
        "accuracy_source",
        "accuracy_source",
        Effect.READ,
        "s<n>: accuracy source n as held by the calibrator (serial, nuclide, reference activity)",
        (_SOURCE,),
        lambda source: source.as_data(),
    ),
    DeviceAction(
        "accuracy_measurement",
        "accuracy_measurement",
        Effect.READ,
        "a<n>: the calibrator's last accuracy measurement of source n and its % variation",
        (_SOURCE,),
        lambda result: result.as_data(),
    ),
)
