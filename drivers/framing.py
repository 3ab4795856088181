"""Framing and checksums shared by the line-oriented drivers, and the one read loop they use.

Pure functions (`checksum`, `split_line`, `split_delimited`, `split_fixed`) find one frame at the
start of a buffer: (0, None) means "need more bytes"; FrameError(consumed=n) means "drop n bytes
and try again", which is how every codec resynchronises after garbage. `await_frame` is the only
read loop: it reads until a frame is accepted, counts every rejected one, and turns silence into a
TransportError when the deadline passes (the read-timeout watchdog).
"""

from __future__ import annotations

__all__ = [
    "CHECKSUMS",
    "await_frame",
    "checksum",
    "checksum_size",
    "latest_frame",
    "split_delimited",
    "split_fixed",
    "split_line",
]

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from core.errors import FrameError, TransportError
from drivers.capintec_codec import capintec_checksum
from drivers.transport import ByteTransport

T = TypeVar("T")


def _sum8(data: bytes) -> int:
    return sum(data) & 0xFF


def _xor8(data: bytes) -> int:
    value = 0
    for b in data:
        value ^= b
    return value


def _lrc(data: bytes) -> int:
    return (-sum(data)) & 0xFF


def _crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _spellman7(data: bytes) -> int:
    return ((-sum(data)) & 0x7F) | 0x40


CHECKSUMS: dict[str, tuple[Callable[[bytes], int], int]] = {
    # name: (function, width in bytes)
    "capintec": (capintec_checksum, 1),
    "sum8": (_sum8, 1),
    "xor8": (_xor8, 1),
    "lrc": (_lrc, 1),
    "crc16_modbus": (_crc16_modbus, 2),
    "spellman7": (_spellman7, 1),
}


def checksum_size(kind: str, encoding: str) -> int:
    if kind == "none":
        return 0
    width = CHECKSUMS[kind][1]
    return width * 2 if encoding == "hex" else width


def checksum(kind: str, encoding: str, data: bytes) -> bytes:
    """The checksum of `data` as it appears on the wire (`hex`: upper-case ASCII; `raw`: bytes;
    CRC-16/Modbus raw is little-endian, as Modbus RTU sends it)."""
    if kind == "none":
        return b""
    function, width = CHECKSUMS[kind]
    value = function(data)
    if encoding == "hex":
        return f"{value:0{width * 2}X}".encode()
    return value.to_bytes(width, "little")


def split_line(buffer: bytes, terminator: bytes, max_bytes: int) -> tuple[int, bytes | None]:
    """One line; for CR LF a bare LF also ends a line (and a stray CR is stripped)."""
    end_mark = b"\n" if terminator == b"\r\n" else terminator
    end = buffer.find(end_mark)
    if end < 0:
        if len(buffer) > max_bytes:
            raise FrameError(f"no line end within {max_bytes} bytes", consumed=len(buffer))
        return 0, None
    consumed = end + len(end_mark)
    line = buffer[:end]
    if terminator == b"\r\n":
        line = line.rstrip(b"\r")
    if len(line) > max_bytes:
        raise FrameError(f"line longer than {max_bytes} bytes", consumed=consumed)
    return consumed, line


def split_delimited(buffer: bytes, start: bytes, end: bytes, max_bytes: int) -> tuple[int, bytes | None]:
    """`start` … `end`; junk before `start`, or a new `start` inside a frame, resynchronises."""
    if not buffer:
        return 0, None
    at = buffer.find(start)
    if at < 0:
        keep = len(start) - 1  # a start marker may be arriving split
        drop = max(len(buffer) - keep, 1)
        raise FrameError(f"no start marker in {buffer[:20]!r}", consumed=drop)
    if at > 0:
        raise FrameError(f"junk before the start marker: {buffer[: min(at, 20)]!r}", consumed=at)
    stop = buffer.find(end, len(start))
    restart = buffer.find(start, len(start)) if start != end else -1
    if restart > 0 and (stop < 0 or restart < stop):
        raise FrameError(f"frame cut by a new start: {buffer[:restart][:40]!r}", consumed=restart)
    if stop < 0:
        if len(buffer) > max_bytes:
            raise FrameError(f"no end marker within {max_bytes} bytes", consumed=len(buffer))
        return 0, None
    return stop + len(end), buffer[len(start) : stop]


def split_fixed(buffer: bytes, start: bytes, length: int) -> tuple[int, bytes | None]:
    """A fixed-length frame, synchronised on `start` when there is one."""
    if start:
        at = buffer.find(start)
        if at < 0 and buffer:
            raise FrameError("no start marker", consumed=max(len(buffer) - len(start) + 1, 1))
        if at > 0:
            raise FrameError(f"junk before the start marker: {buffer[: min(at, 20)]!r}", consumed=at)
    if len(buffer) < length:
        return 0, None
    return length, buffer[len(start) : length]


def await_frame(
    transport: ByteTransport,
    decode: Callable[[bytes], tuple[int, T | None]],
    accept: Callable[[T], bool],
    timeout_s: float,
    monotonic: Callable[[], float],
    counters: Counter[str],
    what: str,
    buffer: bytes = b"",
    *,
    request: str = "",
) -> tuple[T, bytes]:
    """Read until `decode` yields a frame `accept` takes; return it and the bytes after it.

    Rejected frames are counted in `counters["frames_rejected"]`. At the deadline: FrameError if
    something was rejected, else TransportError (silence); with `request` (the command sent, as
    shown) the message names it. `decode` and `accept` may raise DeviceError for a well-formed
    error reply: it propagates; `accept` may raise FrameError to say why it refused a frame.
    """
    deadline = monotonic() + timeout_s
    rejected: FrameError | None = None
    while True:
        while buffer:
            try:
                consumed, frame = decode(buffer)
            except FrameError as exc:
                counters["frames_rejected"] += 1
                rejected = exc
                buffer = buffer[max(exc.consumed, 1) :]
                continue
            if consumed == 0:
                break
            buffer = buffer[consumed:]
            if frame is None:
                continue
            try:
                if accept(frame):
                    return frame, buffer
            except FrameError as exc:
                rejected = exc
            else:
                rejected = FrameError(f"unexpected frame {frame!r}")
            counters["frames_rejected"] += 1
        remaining = deadline - monotonic()
        if remaining <= 0:
            if rejected is not None:
                invalid = f"no valid reply to {request}" if request else "no valid frame"
                raise FrameError(f"{what}: {invalid}: {rejected}")
            silent = f"no reply to {request}" if request else "nothing"
            raise TransportError(f"{what}: silent, {silent} within {timeout_s} s")
        buffer += transport.read(remaining)


def latest_frame(
    transport: ByteTransport,
    decode: Callable[[bytes], tuple[int, T | None]],
    timeout_s: float,
    monotonic: Callable[[], float],
    counters: Counter[str],
    what: str,
    buffer: bytes,
) -> tuple[T, bytes]:
    """Streaming devices: the newest complete frame already buffered, else wait for the next one.

    Older complete frames are dropped (counted in `frames_skipped`): a live value is wanted.
    """
    buffer += transport.read(0.0)
    latest: T | None = None
    while buffer:
        try:
            consumed, frame = decode(buffer)
        except FrameError as exc:
            counters["frames_rejected"] += 1
            buffer = buffer[max(exc.consumed, 1) :]
            continue
        if consumed == 0:
            break
        buffer = buffer[consumed:]
        if frame is not None:
            if latest is not None:
                counters["frames_skipped"] += 1
            latest = frame
    if latest is not None:
        return latest, buffer
    return await_frame(transport, decode, lambda f: True, timeout_s, monotonic, counters, what, buffer)
