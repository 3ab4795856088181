"""Issue 10, finding 4: the store is private to the service user — directory 0700, outbox, WAL and
shared-memory files 0600, damaged copies moved aside 0600 (even when an older install left them 0644),
the hot lab's document store too; with the permissive umask the finding was made under."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.store.docstore import DocStore
from agent.store.outbox import Outbox, OutMessage, Priority


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_store_directory_files_and_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite"
    outbox = Outbox(path)
    outbox.append([OutMessage("record/x", {"n": 1}, Priority.RECORD)])
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert all(f.exists() for f in files)
    assert mode(path.parent) == 0o700
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    outbox.close()


def test_an_older_world_readable_store_is_tightened_and_its_damaged_copy_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    Outbox(path).close()
    path.chmod(0o644)
    Outbox(path).close()
    assert mode(path) == 0o600
    path.chmod(0o644)
    path.write_bytes(b"this is not a database at all!!!" * 64)
    outbox = Outbox(path)
    (aside,) = [p for p in tmp_path.glob("outbox.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    assert mode(aside) == 0o600 and mode(path) == 0o600
    outbox.close()


def test_document_store_and_its_damaged_copy_are_private(tmp_path: Path) -> None:
    path = tmp_path / "hotlab" / "hotlab.json"
    store = DocStore(path)
    store.put("sources", "CS-1", {"serial": "CS-1"})
    store.close()
    assert mode(path.parent) == 0o700 and mode(path) == 0o600
    path.write_text("{ not json")
    path.chmod(0o644)
    DocStore(path).close()
    (aside,) = tmp_path.joinpath("hotlab").glob("hotlab.json.corrupt-*")
    assert mode(aside) == 0o600
