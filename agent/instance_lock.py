"""One agent per store and per serial port (issue 12, finding 6).

Two agents started on the same config knocked each other off the broker (same client id), raised the
same dose-rate alarm twice with different ids and reported false `monitor_gap`s. Each agent now takes an
exclusive `flock` on `<store>.lock` and on one lock file per serial port before anything runs; the second
agent refuses to start with a message naming the holder's pid. `flock` locks are released by the kernel
when the process dies (SIGKILL, power cut), so a stale lock file never blocks a restart.
"""

from __future__ import annotations

__all__ = ["InstanceLocks", "port_lock_path"]

import fcntl
import os
import re
import tempfile
from pathlib import Path

from core.errors import StartRefused

LOCK_DIRS = ("/run/lock", tempfile.gettempdir())


def port_lock_path(port: str) -> Path | None:
    """The lock file of a serial device path; None for pyserial URLs (socket://, loop://)."""
    if "://" in port or not port.startswith("/"):
        return None
    name = "doseedge-" + re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.realpath(port).strip("/")) + ".lock"
    directory = next((d for d in LOCK_DIRS if os.access(d, os.W_OK)), LOCK_DIRS[-1])
    return Path(directory) / name


class InstanceLocks:
    def __init__(self) -> None:
        self._fds: list[int] = []

    def take(self, path: Path, what: str) -> None:
        """Hold an exclusive lock on `path` for the life of the process, or raise StartRefused."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StartRefused(
                f"{what} is in use by another doseedge agent (pid {holder}, lock {path}): "
                "stop it first, or give this station its own store and ports"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fds.append(fd)

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []
