"""Thin byte transports. They only move bytes; framing lives in each driver's codec.

`SerialTransport` wraps pyserial (also `socket://`, `loop://` and `rfc2217://` URLs). Every
pyserial or OS error becomes a TransportError here, so nothing above sees pyserial types.
"""

from __future__ import annotations

__all__ = ["ByteTransport", "SerialTransport"]

import termios
from typing import Any, Protocol

import serial

from core.errors import TransportError

# A vanished pty or USB adapter surfaces as any of these; termios.error is not an OSError.
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class ByteTransport(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def read(self, max_wait_s: float) -> bytes:
        """Return what arrived within `max_wait_s` (possibly b""); raise TransportError if gone."""
        ...

    def discard_input(self) -> None: ...

    def set_baudrate(self, baudrate: int) -> None:
        """Change the host side's speed (after the device confirmed a baud change)."""
        ...


class SerialTransport:
    """A serial port opened by path or pyserial URL, 8N1, no flow control."""

    def __init__(self, port: str, baudrate: int) -> None:
        self.port = port
        self.baudrate = baudrate
        self._serial: Any = None

    def open(self) -> None:
        self.close()
        try:
            self._serial = serial.serial_for_url(
                self.port, baudrate=self.baudrate, timeout=0.1, write_timeout=1.0
            )
        except (*_PORT_ERRORS, ValueError) as exc:
            raise TransportError(f"cannot open {self.port}: {exc}") from exc

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except _PORT_ERRORS:
                pass
            self._serial = None

    def _port(self) -> Any:
        if self._serial is None:
            raise TransportError(f"{self.port} is not open")
        return self._serial

    def write(self, data: bytes) -> None:
        port = self._port()
        try:
            port.write(data)
            port.flush()
        except _PORT_ERRORS as exc:
            raise TransportError(f"write to {self.port} failed: {exc}") from exc

    def read(self, max_wait_s: float) -> bytes:
        port = self._port()
        try:
            port.timeout = max(0.0, max_wait_s)
            first = port.read(1)
            if not first:
                return b""
            waiting = port.in_waiting
            rest = port.read(waiting) if waiting else b""
            return bytes(first + rest)
        except _PORT_ERRORS as exc:
            raise TransportError(f"read from {self.port} failed: {exc}") from exc

    def discard_input(self) -> None:
        port = self._port()
        try:
            port.reset_input_buffer()
        except _PORT_ERRORS as exc:
            raise TransportError(f"{self.port}: {exc}") from exc

    def set_baudrate(self, baudrate: int) -> None:
        self.baudrate = baudrate
        if self._serial is not None:
            try:
                self._serial.baudrate = baudrate
            except (*_PORT_ERRORS, ValueError) as exc:
                raise TransportError(f"{self.port}: cannot set {baudrate} baud: {exc}") from exc
