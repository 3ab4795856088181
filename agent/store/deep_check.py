"""The store's integrity check without holding up monitoring (issue 12, finding 8).

`PRAGMA quick_check` reads every page: 3.5 s on a 290 MB backlog, on a Pi longer, and while it runs
nothing is judged. A store no larger than `[store] startup_check_max_bytes` is still checked before it
is used (agent/store/recovery.py moves a damaged one aside and salvages it). A larger one is opened at
once, after the cheap checks opening it already makes (header, schema, the `meta` row), and checked in
the background once the agent monitors (agent/app.py). Damage found then is a `store_damaged` alarm
and a mark next to the file, so the next start checks it in full and salvages it, whatever its size.
"""

from __future__ import annotations

__all__ = ["clear_mark", "deep_check", "full_check_due", "mark_damaged"]

import sqlite3
from pathlib import Path
from urllib.parse import quote


def _mark(path: Path) -> Path:
    return Path(f"{path}.check")


def full_check_due(path: Path, max_bytes: int) -> bool:
    """Check before use: the file (with its WAL) is small enough, or a background check found damage."""
    if _mark(path).exists():
        return True
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return size <= max_bytes


def deep_check(path: Path) -> str:
    """'' when `quick_check` passes; else what SQLite says. Read-only, on its own connection (WAL lets
    it run beside the agent's writer)."""
    uri = f"file:{quote(str(path))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        result = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
        return "" if result == ["ok"] else "; ".join(result[:5])
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        db.close()


def mark_damaged(path: Path, problem: str) -> None:
    """The next start checks the file in full (and salvages it) whatever its size."""
    _mark(path).write_text(problem + "\n", encoding="utf-8")


def clear_mark(path: Path) -> None:
    _mark(path).unlink(missing_ok=True)
