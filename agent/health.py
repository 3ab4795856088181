"""Health as data: the store, the link and the devices in one body, published on `…/health`.

Health is a snapshot, not a record: it is published QoS 0 straight to the link (never stored), every
`[mqtt] health_interval_s`, so a full or failing store is visible on the broker at once.
"""

from __future__ import annotations

__all__ = ["DeviceState", "device_health", "format_status", "health_body", "store_status"]

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from agent.store.outbox import read_stats

ERROR_KINDS = ("transport", "frame", "device")


class DeviceState(Protocol):
    """What a device's poller knows (agent/poller.py): the one place driver errors are counted."""

    @property
    def name(self) -> str: ...
    @property
    def driver_name(self) -> str: ...
    @property
    def lost(self) -> bool: ...
    @property
    def connected(self) -> bool: ...
    @property
    def last_error(self) -> str: ...
    @property
    def counters(self) -> Mapping[str, int]: ...


def device_health(
    devices: Iterable[DeviceState], implausible: Mapping[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """Per device, the same shape for serial and Modbus drivers: availability (ok | lost, as the
    poller decided it), readings, failed polls by error kind, frames rejected (including junk the
    driver skipped on the way to a good reply), readings withheld as implausible
    (agent/plausibility.py), and the last error text."""
    implausible = implausible or {}
    return {
        d.name: {
            "driver": d.driver_name,
            "availability": "lost" if d.lost else "ok",
            "connected": d.connected,
            "readings": d.counters.get("readings", 0),
            "errors": {kind: d.counters.get(f"errors_{kind}", 0) for kind in ERROR_KINDS},
            "frames_rejected": d.counters.get("frames_rejected", 0),
            "poll_overruns": d.counters.get("poll_overruns", 0),
            "implausible_values": implausible.get(d.name, 0),
            "last_error": d.last_error,
        }
        for d in devices
    }


def health_body(
    base: dict[str, Any],
    store: dict[str, Any],
    link: dict[str, Any],
    latency: dict[str, Any],
    devices: dict[str, Any],
    pipeline: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    body = {**base, "store": store, "link": link, "publish_latency": latency, "devices": devices}
    return body | {"pipeline": dict(pipeline)} if pipeline is not None else body


def store_status(path: str | Path, max_bytes: int) -> dict[str, Any]:
    """Read a store file directly, read-only (safe while the agent runs): `doseedge store status`.

    `integrity` is "ok" only for a readable SQLite store that passes `quick_check`; the CLI exits
    non-zero otherwise (missing, unreadable, not SQLite). The path goes into a `file:` URI escaped
    (`#`, `?`, `%` are URI syntax), so an odd name is read, never created or misparsed."""
    path = Path(path)
    if not path.exists():
        return {"store": str(path), "exists": False, "readable": False, "integrity": "missing"}
    if not path.is_file():
        return {"store": str(path), "exists": True, "readable": False, "integrity": "not a file"}
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return {"store": str(path), "exists": True, "readable": False, "integrity": str(exc)}
    try:
        stats = read_stats(db, time.time())
        (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.Error as exc:
        return {
            "store": str(path),
            "exists": True,
            "readable": False,
            "integrity": f"unreadable: {exc}",
            "error": str(exc),
        }
    finally:
        db.close()
    aside = sorted(p.name for p in path.parent.glob(f"{path.name}.corrupt-*") if p.suffix != "")
    return {
        "store": str(path),
        "exists": True,
        "readable": True,
        "integrity": check,
        "file_bytes": path.stat().st_size,
        "max_bytes": max_bytes,
        **stats,
        "moved_aside": [n for n in aside if not n.endswith(("-wal", "-shm"))],
    }


def format_status(status: dict[str, Any]) -> str:
    return json.dumps(status, indent=2, ensure_ascii=False)
