"""Physical serial ports shared by several devices, and finding a replugged adapter again.

- **One lock per physical port.** Several RS-485 devices on one line (or two protocols on one
  RS-232 splitter) each get a `PortClient` of the same `SharedPort`; `PortLocked` holds the port's
  lock for a driver's whole `connect()` / `poll()`, so one request/response never interleaves
  with another's. The port opens once and closes when its last user closes it or when any I/O
  on it fails (the next `open()` reopens it).
- **Finding the adapter.** A port is a path (`/dev/serial/by-id/usb-FTDI_…-if00-port0` is stable
  across replugs), a pyserial URL (`socket://`, `rfc2217://`, `hwgrep://`), or `usb:VID:PID[:SERIAL]`
  (hex ids, e.g. `usb:0403:6001:A1B2C3`) looked up in pyserial's port list at every open, so an
  adapter that came back as another `/dev/ttyUSBn` is found again.
"""

from __future__ import annotations

__all__ = [
    "PortClient",
    "PortLocked",
    "SharedPort",
    "port_conflicts",
    "port_key",
    "resolve_port",
    "shared_port",
]

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from core.errors import TransportError
from drivers.model import Reading
from drivers.transport import SerialTransport


def _comports() -> list[Any]:
    from serial.tools import list_ports

    return list(list_ports.comports())


def resolve_port(spec: str, comports: Callable[[], Sequence[Any]] = _comports) -> str:
    """`usb:VID:PID[:SERIAL]` → the device path of the one matching adapter; anything else as is."""
    if not spec.startswith("usb:"):
        return spec
    parts = spec[4:].split(":", 2)
    try:
        vid, pid = int(parts[0], 16), int(parts[1], 16)
    except (ValueError, IndexError) as exc:
        raise TransportError(f"bad USB port spec {spec!r}, want usb:VID:PID[:SERIAL]") from exc
    serial_number = parts[2] if len(parts) > 2 else None
    found = [
        p.device
        for p in comports()
        if p.vid == vid and p.pid == pid and (serial_number is None or p.serial_number == serial_number)
    ]
    if not found:
        raise TransportError(f"no USB serial adapter {spec} plugged in")
    if len(found) > 1:
        raise TransportError(f"{spec} matches {len(found)} adapters ({', '.join(found)}): add the serial")
    return str(found[0])


def port_key(spec: str) -> str:
    """Identity of the physical port: symlinks (by-id) resolved when present, URLs as written."""
    if spec.startswith("/") and os.path.exists(spec):
        return os.path.realpath(spec)
    return spec


class SharedPort:
    """One physical port: one open handle, one lock, reference-counted users."""

    def __init__(self, spec: str, baudrate: int, comports: Callable[[], Sequence[Any]] = _comports) -> None:
        self.spec = spec
        self.baudrate = baudrate
        self.lock = threading.RLock()
        self._comports = comports
        self._transport: SerialTransport | None = None
        self._users: set[int] = set()

    def attach(self, user: int) -> SerialTransport:
        with self.lock:
            if self._transport is None:
                transport = SerialTransport(resolve_port(self.spec, self._comports), self.baudrate)
                transport.open()
                self._transport = transport
            self._users.add(user)
            return self._transport

    def detach(self, user: int) -> None:
        with self.lock:
            self._users.discard(user)
            if not self._users:
                self.invalidate()

    def invalidate(self) -> None:
        """Close the handle (I/O failed or nobody uses it); the next attach reopens it."""
        with self.lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None

    def transport(self) -> SerialTransport:
        if self._transport is None:
            raise TransportError(f"{self.spec} is not open")
        return self._transport


class PortClient:
    """A ByteTransport view of a SharedPort for one device."""

    def __init__(self, port: SharedPort) -> None:
        self.port = port
        self._open = False

    def open(self) -> None:
        self.port.attach(id(self))
        self._open = True

    def close(self) -> None:
        if self._open:
            self._open = False
            self.port.detach(id(self))

    def _transport(self) -> SerialTransport:
        if not self._open:
            raise TransportError(f"{self.port.spec} is not open")
        return self.port.transport()

    def write(self, data: bytes) -> None:
        try:
            self._transport().write(data)
        except TransportError:
            self.port.invalidate()
            raise

    def read(self, max_wait_s: float) -> bytes:
        try:
            return self._transport().read(max_wait_s)
        except TransportError:
            self.port.invalidate()
            raise

    def discard_input(self) -> None:
        try:
            self._transport().discard_input()
        except TransportError:
            self.port.invalidate()
            raise

    def set_baudrate(self, baudrate: int) -> None:
        self.port.baudrate = baudrate
        self._transport().set_baudrate(baudrate)


class PortLocked:
    """Holds the port's lock for each whole driver call, so devices on one line take turns."""

    def __init__(self, inner: Any, lock: Any) -> None:
        self.inner = inner
        self._lock = lock
        self.counters: Counter[str] = inner.counters

    def connect(self) -> dict[str, str]:
        with self._lock:
            info: dict[str, str] = self.inner.connect()
            return info

    def poll(self) -> Reading:
        with self._lock:
            reading: Reading = self.inner.poll()
            return reading

    def call(self, method: str, *args: Any) -> Any:
        """A driver method (a device action, drivers/actions.py) under the port's lock."""
        with self._lock:
            return getattr(self.inner, method)(*args)

    def close(self) -> None:
        with self._lock:
            self.inner.close()


_PORTS: dict[str, SharedPort] = {}
_PORTS_LOCK = threading.Lock()


def shared_port(spec: str, baudrate: int) -> SharedPort:
    """The process-wide SharedPort for `spec` (created on first use)."""
    with _PORTS_LOCK:
        key = port_key(spec)
        if key not in _PORTS:
            _PORTS[key] = SharedPort(spec, baudrate)
        return _PORTS[key]


def port_conflicts(devices: Iterable[tuple[str, str, int]]) -> list[tuple[int, str]]:
    """(index, message) for devices sharing a port at different baud rates: `(name, port, baud)`."""
    first: dict[str, tuple[str, int]] = {}
    problems = []
    for i, (name, port, baudrate) in enumerate(devices):
        key = port_key(port)
        if key in first and first[key][1] != baudrate:
            other, other_baud = first[key]
            problems.append((i, f"shares {port} with {other!r} at {other_baud} baud, not {baudrate}"))
        first.setdefault(key, (name, baudrate))
    return problems
