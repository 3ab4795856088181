"""Store files are private to the service user: directory 0700, files 0600 — the outbox, its WAL and
shared-memory files, and every damaged copy moved aside. Dose records name rooms, times and
pseudonyms; nobody else on the box needs to read them.

SQLite creates the -wal and -shm files with the database file's own mode, so creating the database
0600 before SQLite opens it covers them; files left by an older install are tightened on open.
"""

from __future__ import annotations

__all__ = ["private_dir", "private_file", "tighten"]

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
SQLITE_SUFFIXES = ("", "-wal", "-shm")


def private_dir(directory: Path) -> None:
    """Create `directory` 0700; an existing one that others can enter is reported, not changed (it
    may be a shared directory the operator chose; the service's state directory is made 0700)."""
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask
        return
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        log.warning("store directory %s is open to others (mode %04o): chmod 700 it", directory, mode)


def private_file(path: Path) -> None:
    """Create `path` empty and 0600 if missing (before SQLite or anyone else creates it wider)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def tighten(path: Path, suffixes: tuple[str, ...] = SQLITE_SUFFIXES) -> None:
    """Make `path` (and its SQLite companions) 0600 if they exist."""
    for suffix in suffixes:
        companion = Path(f"{path}{suffix}")
        try:
            if stat.S_IMODE(companion.stat().st_mode) & 0o077:
                companion.chmod(0o600)
        except FileNotFoundError:
            continue
        except OSError as exc:  # read-only file system, another owner: say so, the store still opens
            log.warning("cannot make %s private: %s", companion, exc)
