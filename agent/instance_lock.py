"""One agent per store and per serial port (issue 12, finding 6).

Two agents started on the same config knocked each other off the broker (same client id), raised the
same dose-rate alarm twice with different ids and reported false `monitor_gap`s. Each agent now takes an
exclusive `flock` on `<store>.lock` and on each serial device node (the lock pyserial's `exclusive=True`
takes, so other well-behaved programs see it too) before anything runs; the second agent refuses to start
with a message naming the holder. `flock` locks are released by the kernel when the process dies
(SIGKILL, power cut), so a stale lock never blocks a restart. A port that does not exist yet (adapter
unplugged) is not locked: its driver reports the device lost as before.
"""

from __future__ import annotations

__all__ = ["InstanceLocks", "serial_device"]

import fcntl
import os
from pathlib import Path

from core.errors import StartRefused


def serial_device(port: str) -> Path | None:
    """The device node of a serial port that exists; None for pyserial URLs (socket://, loop://)."""
    if "://" in port or not port.startswith("/") or not os.path.exists(port):
        return None
    return Path(os.path.realpath(port))


HINT = "stop it first, or give this station its own store and ports"


class InstanceLocks:
    def __init__(self) -> None:
        self._fds: list[int] = []

    def take(self, path: Path, what: str) -> None:
        """Hold an exclusive lock on the lock file `path` (its content: the holder's pid)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        holder = self._lock(fd, what, path)
        if holder:
            raise StartRefused(
                f"{what} is in use by another doseedge agent (pid {holder}, lock {path}): {HINT}"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def take_device(self, device: Path, what: str) -> None:
        """Hold an exclusive lock on a serial device node (opened without becoming its controlling tty)."""
        fd = os.open(device, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        if not os.isatty(fd):  # not a serial port (e.g. /dev/null in a config without hardware):
            os.close(fd)  # shared by every process on the machine, nothing to keep to one agent
            return
        if self._lock(fd, what, device):
            raise StartRefused(f"{what} is in use by another doseedge agent (or program): {HINT}")

    def _lock(self, fd: int, what: str, path: Path) -> str:
        """ "" if locked (fd kept), else the holder's pid as written in the file ("?" if unknown)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() if path.is_file() else ""
            os.close(fd)
            return holder or "?"
        self._fds.append(fd)
        return ""

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []
