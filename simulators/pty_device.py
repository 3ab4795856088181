"""A pseudo-terminal that behaves as a serial instrument: the driver opens its path with pyserial.

The simulator owns the master side and keeps the slave open, so the pty stays valid while the
driver closes and reopens it. `unplug()` closes the master: the driver then sees the same
SerialException a pulled USB adapter gives.
"""

from __future__ import annotations

__all__ = ["PtyDevice", "PtyEnds"]

import os
import select
import threading
import tty
from collections import deque
from collections.abc import Callable


class PtyEnds:
    """The two ends of a pseudo-terminal and the thread serving the master, for every simulator on a pty:
    opening them raw, and `unplug()` (also `stop()`), which closes both ends and joins the thread."""

    path: str
    _master: int | None
    _slave: int | None
    _thread: threading.Thread | None
    _running: threading.Event

    def _open_pty(self) -> str:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        self._running.set()
        return self.path

    def unplug(self) -> None:
        self._running.clear()
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)

    stop = unplug


class PtyDevice(PtyEnds):
    def __init__(self, handle: Callable[[bytes], tuple[int, list[bytes]]]) -> None:
        """`handle(buffer) -> (consumed, replies)` is the device model, fed with what the host sent."""
        self._handle = handle
        self._master: int | None = None
        self._slave: int | None = None
        self.path = ""
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self.write_log: deque[tuple[float, bytes]] = deque(maxlen=100_000)

    def start(self) -> str:
        self._open_pty()
        self._thread = threading.Thread(target=self._serve, name=f"pty {self.path}", daemon=True)
        self._thread.start()
        return self.path

    def _serve(self) -> None:
        import time

        buffer = b""
        while self._running.is_set() and self._master is not None:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._master, 4096)
            except (OSError, ValueError, TypeError):
                return
            if not chunk:
                return
            buffer += chunk
            while buffer:
                consumed, replies = self._handle(buffer)
                if consumed == 0:
                    break
                buffer = buffer[consumed:]
                for reply in replies:
                    try:
                        os.write(self._master, reply)
                        self.write_log.append((time.monotonic(), reply))
                    except (OSError, TypeError):
                        return

    def send(self, replies: list[bytes]) -> None:
        """Unsolicited bytes (streaming instruments); dropped silently while unplugged."""
        master = self._master
        for reply in replies:
            if master is None:
                return
            try:
                _, writable, _ = select.select([], [master], [], 0)
                if not writable:
                    return  # nobody reads the line and its buffer is full: the bytes are lost
                os.write(master, reply)
            except (OSError, ValueError):
                return

    def host_baudrate(self) -> int | None:
        """The speed the host set on its side of the pty (None if unknown or closed)."""
        import termios

        if self._slave is None:
            return None
        try:
            speed = termios.tcgetattr(self._slave)[5]
        except (termios.error, OSError):
            return None
        for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200):
            if getattr(termios, f"B{rate}", None) == speed:
                return rate
        return None
