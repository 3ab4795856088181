"""The hot lab's small readable documents: the reference-source registry and the QC history.

A TinyDB JSON file a physicist can open and read. Every write goes to a temporary file that is
fsync'ed and renamed over the old one (then the directory is fsync'ed), so a power cut leaves
either the old or the new document, never half of one. A corrupt file is a StoreError, never
silently replaced. (The outbox remains the durable path for records leaving the box; this file is
the box's own memory of sources and of whether today's constancy check was done.)
"""

from __future__ import annotations

__all__ = ["AtomicJSONStorage", "HotlabStore"]

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from agent.errors import StoreError
from limits.activimeter_qc import ReferenceSource


class AtomicJSONStorage(Storage):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StoreError(f"{self.path} is not valid JSON ({exc}); not overwriting it") from exc
        if not isinstance(data, dict):
            raise StoreError(f"{self.path} does not hold a TinyDB document")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, indent=1, ensure_ascii=False, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc}") from exc


class HotlabStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        self._sources = self._db.table("reference_sources")
        self._qc = self._db.table("qc_results")

    def put_source(self, source: ReferenceSource) -> None:
        self._sources.upsert(source.as_document(), Query().serial == source.serial)

    def source(self, serial: str) -> ReferenceSource:
        found = self._sources.get(Query().serial == serial)
        if found is None or isinstance(found, list):
            known = ", ".join(s["serial"] for s in self._sources.all()) or "none registered"
            raise KeyError(f"no reference source with serial {serial!r} ({known})")
        return ReferenceSource(
            str(found["serial"]),
            str(found["nuclide"]),
            float(found["certified_activity_mbq"]),
            datetime.fromisoformat(str(found["certified_at"])),
        )

    def sources(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self._sources.all()]

    def add_qc(self, document: dict[str, Any]) -> None:
        self._qc.insert(document)

    def qc_on(self, local_date: str, test: str) -> list[dict[str, Any]]:
        q = Query()
        return [dict(d) for d in self._qc.search((q.local_date == local_date) & (q["test"] == test))]

    def close(self) -> None:
        self._db.close()
