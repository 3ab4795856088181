"""Salvage through a damaged database header (issue 12, finding 4: a zeroed 100-byte header lost all
252 rows while every page behind it was intact).

The first 100 bytes of an SQLite file only describe it (magic string, page size, page count…); the
tables live in the pages. If the magic string is gone, `repaired_copy` writes a copy of the file with a
header rebuilt for each plausible page size and keeps the first one under which SQLite reads the schema
and the outbox table back. The salvage (agent/store/recovery.py) then reads that copy like any other
damaged store: only rows whose payload names their own seq and record_id are kept.
"""

from __future__ import annotations

__all__ = ["repaired_copy"]

import sqlite3
import struct
from pathlib import Path

MAGIC = b"SQLite format 3\x00"
PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)


def _header(page_size: int, pages: int) -> bytes:
    """A minimal valid header: rollback-journal mode, UTF-8, schema format 4, no free list."""
    head = bytearray(100)
    head[0:16] = MAGIC
    struct.pack_into(">H", head, 16, 1 if page_size == 65536 else page_size)
    head[18:24] = bytes((1, 1, 0, 64, 32, 32))
    struct.pack_into(">II", head, 24, 1, pages)  # change counter, size in pages
    struct.pack_into(">I", head, 40, 1)  # schema cookie
    struct.pack_into(">I", head, 44, 4)  # schema format
    struct.pack_into(">I", head, 56, 1)  # UTF-8
    struct.pack_into(">II", head, 92, 1, 3_037_002)  # version-valid-for, writer version
    return bytes(head)


def repaired_copy(path: Path) -> Path | None:
    """A copy of `path` with a rebuilt header that SQLite can read, or None (header fine, or hopeless)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < 1024 or data[:16] == MAGIC:
        return None
    copy = path.with_name(path.name + ".header-repaired")
    for page_size in PAGE_SIZES:
        if len(data) % page_size:
            continue
        copy.write_bytes(_header(page_size, len(data) // page_size) + data[100:])
        try:
            db = sqlite3.connect(f"{copy.absolute().as_uri()}?mode=ro", uri=True)
            try:
                db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            finally:
                db.close()
            return copy
        except sqlite3.Error:
            continue
    copy.unlink(missing_ok=True)
    return None
