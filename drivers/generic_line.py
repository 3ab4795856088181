"""Generic serial line driver: any ASCII instrument described by a profile (drivers/profile.py).

Protocol source and confidence: **whatever the profile says** — each profile names its own source
and confidence (`[profile]` table), and that is copied into every reading's device_info. The
driver itself implements only the framing and checksum conventions listed in
the generic driver model (docs/drivers.md): line (CR, LF, CR LF), start/end delimited
with resync, fixed length; checksums none, Capintec, sum8, xor8, LRC, CRC-16/Modbus, Spellman
7-bit; request/response or streaming; regex (named groups) or fixed-column parsing; unit and
error tables.

Layout: `GenericLineConfig` (frozen; validate() loads the profile so a wrong profile is a
check-config error), `LineCodec` (pure: split, encode, fields, reading), and `GenericLine`, which
only moves bytes.
"""

from __future__ import annotations

__all__ = ["GenericLine", "GenericLineConfig", "LineCodec"]

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import DeviceError, FrameError, TransportError
from drivers.capintec_codec import normalise_nuclide
from drivers.checks import polling_problems, profile_problems
from drivers.framing import (
    await_frame,
    checksum,
    checksum_size,
    latest_frame,
    split_delimited,
    split_fixed,
    split_line,
)
from drivers.model import Measurement, Reading, Status
from drivers.profile import CANONICAL_UNITS, Profile, load_profile
from drivers.transport import ByteTransport

BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


@dataclass(frozen=True)
class GenericLineConfig:
    name: str
    driver: str
    port: str
    profile: str  # bundled profile name (config/profiles/<name>.toml) or a path
    baudrate: int = 9600
    address: str = ""  # replaces `{address}` in the command; must equal a parsed `address` field
    poll_interval_s: float = 1.0
    timeout_s: float = 1.0
    lost_after_failures: int = 2

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.baudrate not in BAUD_RATES:
            problems.append(("baudrate", f"must be one of {', '.join(map(str, BAUD_RATES))}"))
        problems += polling_problems(self)
        return problems + profile_problems(lambda: load_profile(self.profile))


class LineCodec:
    """Framing, checksum and parsing of one profile. Pure: bytes in, frames and readings out."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        framing = profile.framing
        self._terminator = framing.terminator.encode("latin-1")
        self._start = framing.start.encode("latin-1")
        self._end = framing.end.encode("latin-1")
        self._cs_size = checksum_size(profile.checksum.kind, profile.checksum.encoding)
        self._pattern = re.compile(profile.parse.pattern) if profile.parse.kind == "regex" else None
        self._errors = [(re.compile(e.pattern), e.message) for e in profile.errors]
        self._over_range = re.compile(profile.status.over_range_pattern or r"(?!)")

    def _checksum(self, data: bytes) -> bytes:
        spec = self.profile.checksum
        return checksum(spec.kind, spec.encoding, data[spec.skip :])

    def split(self, buffer: bytes) -> tuple[int, str | None]:
        """One frame's text, checksum verified and removed; (n, None) skips an empty line."""
        framing = self.profile.framing
        if framing.kind == "line":
            consumed, body = split_line(buffer, self._terminator, framing.max_bytes)
        elif framing.kind == "delimited":
            consumed, body = split_delimited(buffer, self._start, self._end, framing.max_bytes)
        else:
            consumed, body = split_fixed(buffer, self._start, framing.length)
        if body is None or not body.strip():
            return consumed, None
        if self._cs_size:
            data, received = body[: -self._cs_size], body[-self._cs_size :]
            if len(body) < self._cs_size or self._checksum(data) != received:
                raise FrameError(f"checksum {received!r} wrong for {data[:40]!r}", consumed=consumed)
            body = data
        if any(b < 0x20 and b != 0x09 for b in body) or b"\x7f" in body:
            raise FrameError(f"control bytes in frame {body[:40]!r}", consumed=consumed)
        text = body.decode("latin-1")
        return consumed, (text if text.strip() else None)

    def encode(self, text: str) -> bytes:
        """Frame `text` the profile's way (device side, and framed commands)."""
        data = text.encode("latin-1")
        body = data + self._checksum(data)
        framing = self.profile.framing
        if framing.kind == "line":
            return body + self._terminator
        if framing.kind == "delimited":
            return self._start + body + self._end
        return (self._start + body).ljust(framing.length, b" ")[: framing.length]

    def fields(self, text: str) -> dict[str, str]:
        for pattern, message in self._errors:
            match = pattern.search(text)
            if match:
                code = match.groupdict().get("code") or match.group(0)
                raise DeviceError(f"{self.profile.profile.name}: {message} ({text[:40]!r})", code=code)
        if self._pattern is not None:
            found = self._pattern.search(text)
            if not found:
                raise FrameError(f"frame does not match the profile: {text[:60]!r}")
            return {k: (v or "").strip() for k, v in found.groupdict().items()}
        columns = self.profile.parse.columns
        if len(text) < max(c.end for c in columns):
            raise FrameError(f"frame shorter than its columns: {text[:60]!r}")
        return {c.name: text[c.start : c.end].strip() for c in columns}

    def reading(self, device: str, fields: dict[str, str], info: dict[str, str]) -> Reading:
        labels = {}
        for label in self.profile.labels:
            value = fields.get(label.field, "")
            labels[label.name] = (normalise_nuclide(value) or value) if label.name == "nuclide" else value
        over = self.profile.status.over_range_field
        if over and self._over_range.search(fields.get(over, "")):
            return Reading(device, (), Status.OVER_RANGE, info, labels)
        measurements = []
        for spec in self.profile.measurements:
            raw_text = fields.get(spec.value, "")
            try:
                raw_value = float(raw_text)
            except ValueError as exc:
                raise FrameError(f"{spec.value} {raw_text!r} is not a number") from exc
            raw_unit = fields.get(spec.unit_field, "") if spec.unit_field else spec.unit
            unit = self.profile.unit(raw_unit, spec.quantity)
            if unit is None:
                raise FrameError(f"unit {raw_unit!r} has no row for {spec.quantity} in the profile")
            canonical = CANONICAL_UNITS[spec.quantity]
            measurements.append(
                Measurement(spec.quantity, raw_value * unit.factor, canonical, raw_value, raw_unit)
            )
        return Reading(device, tuple(measurements), Status.OK, info, labels)


class GenericLine:
    """Request/response or streaming over an injected transport, as the profile says."""

    def __init__(
        self,
        config: GenericLineConfig,
        transport: ByteTransport,
        monotonic: Callable[[], float] = time.monotonic,
        profile: Profile | None = None,
    ) -> None:
        self.config = config
        self.codec = LineCodec(profile or load_profile(config.profile))
        self._transport = transport
        self._monotonic = monotonic
        self._buffer = b""
        self._connected = False
        info = self.codec.profile.profile
        self.info = {"profile": info.name, "source": info.source, "confidence": info.confidence}
        self.counters: Counter[str] = Counter()

    def connect(self) -> dict[str, str]:
        self._transport.open()
        self._buffer = b""
        self._connected = True
        return self.info

    def close(self) -> None:
        self._connected = False
        self._transport.close()

    def _decode(self, buffer: bytes) -> tuple[int, Reading | None]:
        consumed, text = self.codec.split(buffer)
        if text is None:
            return consumed, None
        try:
            fields = self.codec.fields(text)
            if self.config.address and fields.get("address", self.config.address) != self.config.address:
                raise FrameError(f"reply from address {fields['address']!r}, not {self.config.address!r}")
            return consumed, self.codec.reading(self.config.name, fields, self.info)
        except FrameError as exc:
            raise FrameError(str(exc), consumed=consumed) from exc

    def poll(self) -> Reading:
        if not self._connected:
            raise TransportError(f"{self.config.name}: not connected")
        poll = self.codec.profile.poll
        if poll.mode == "request":
            command = poll.command.replace("{address}", self.config.address)
            self._transport.discard_input()
            self._transport.write(self.codec.encode(command) if poll.frame_command else command.encode())
            reading, _ = await_frame(
                self._transport, self._decode, lambda r: True, self.config.timeout_s,
                self._monotonic, self.counters, f"{self.config.name} ({command!r})",
            )  # fmt: skip
            return reading
        reading, self._buffer = latest_frame(
            self._transport, self._decode, self.config.timeout_s,
            self._monotonic, self.counters, f"{self.config.name} (stream)", self._buffer,
        )  # fmt: skip
        return reading
