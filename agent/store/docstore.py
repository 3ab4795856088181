"""Small documents a physicist may read or edit: station context, reference sources, acknowledgements.

TinyDB (human-readable JSON) with an atomic storage: every write goes to a temp file in the same
directory, is fsynced, renamed over the old file and the directory is fsynced, so a kill or power cut
leaves either the old or the new file, never a torn one. Never use this for the record stream
(docs/store.md: TinyDB rewrites the whole file per write). A file that does not parse at start-up is
moved aside and a fresh one started; `recovered_from` says so, for the caller to raise an alarm. With
`refuse_corrupt=True` (the hot lab's sources and QC history) it is a StoreError instead, and the
file is left where it is for a person to look at.

    docs = DocStore("var/doseedge/documents.json")
    docs.put("station_context", "current", {"room": "angio-2", "c_arm": "Artis Q"})
    docs.get("station_context", "current")      # -> dict or None
    docs.put("acknowledgements", alarm_id, {"by": "rt-04", "ts": "…"})
    docs.items("acknowledgements")              # -> {key: document}
"""

from __future__ import annotations

__all__ = ["AtomicJSONStorage", "DocStore"]

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from agent.store.private import private_dir, tighten
from core.errors import StoreError


class AtomicJSONStorage(Storage):
    """TinyDB storage: read the whole file; write a temp file, fsync, rename, fsync the directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("top level is not a JSON object")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def close(self) -> None:
        pass


class DocStore:
    """Named collections of keyed JSON documents."""

    def __init__(self, path: str | Path, *, refuse_corrupt: bool = False) -> None:
        self.path = Path(path)
        self.recovered_from = ""  # where an unreadable file was moved, if one was
        try:
            private_dir(self.path.parent)
            tighten(self.path, ("",))
            try:
                AtomicJSONStorage(self.path).read()
            except ValueError as exc:  # JSONDecodeError included
                if refuse_corrupt:
                    raise StoreError(f"{self.path} is not valid JSON ({exc}); not overwriting it") from exc
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
                os.replace(self.path, aside)
                tighten(aside, ("",))
                self.recovered_from = str(aside)
            self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        except OSError as exc:
            raise StoreError(f"cannot open document store {self.path}: {exc}") from exc

    def put(self, collection: str, key: str, document: dict[str, Any]) -> None:
        try:
            self._db.table(collection).upsert({"key": key, "doc": document}, Query().key == key)
        except OSError as exc:
            raise StoreError(f"cannot write {collection}/{key} to {self.path}: {exc}") from exc

    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        found = self._db.table(collection).get(Query().key == key)
        return dict(found["doc"]) if found is not None and not isinstance(found, list) else None

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        return {row["key"]: dict(row["doc"]) for row in self._db.table(collection).all()}

    def delete(self, collection: str, key: str) -> bool:
        try:
            return bool(self._db.table(collection).remove(Query().key == key))
        except OSError as exc:
            raise StoreError(f"cannot delete {collection}/{key} from {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()
