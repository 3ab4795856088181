"""`seq` is never handed out twice, whatever happened to the store file (issue 12, finding 4): a
flipped byte in a WAL frame, a deleted `-wal` after a kill, a zeroed header. The store is copied while
open (what a power cut leaves on the card: synchronous=FULL makes the copy a consistent crash image)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent.store.outbox import Outbox, OutMessage, Priority


def fill(path: Path, n: int) -> Outbox:
    outbox = Outbox(path)
    for i in range(n):
        outbox.append([OutMessage("alarm", {"type": "t", "n": i}, Priority.ALARM)])
    return outbox


def crash_image(path: Path, target: Path, *, wal: bool = True) -> Path:
    """The files a power cut would leave: the database, its seq mark and (unless lost) its WAL."""
    target.mkdir()
    suffixes = ["", ".seq"] + (["-wal"] if wal else [])
    for suffix in suffixes:
        shutil.copy(f"{path}{suffix}", f"{target / path.name}{suffix}")
    return target / path.name


def after_restart(path: Path) -> tuple[int, list[dict[str, object]]]:
    """The first seq a restarted store hands out, and what it published about the skip."""
    outbox = Outbox(path)
    (new,) = outbox.append([OutMessage("alarm", {"type": "after"}, Priority.ALARM)])
    notes = [json.loads(m.payload) for m in outbox.pending(10_000) if m.topic == "store/seq_skipped"]
    outbox.close()
    return new.seq, notes


def test_a_flipped_byte_in_a_wal_frame_does_not_reuse_seqs(tmp_path: Path) -> None:
    live = fill(tmp_path / "o.sqlite", 40)
    image = crash_image(live.path, tmp_path / "cut")
    wal = Path(f"{image}-wal")
    data = bytearray(wal.read_bytes())
    data[len(data) // 2] ^= 0xFF  # SQLite drops this frame and every later one
    wal.write_bytes(bytes(data))
    seq, notes = after_restart(image)
    assert seq > 40, f"seq {seq} handed out again"
    assert notes and notes[0]["reason"] == "unclean_stop" and notes[0]["to_seq"] >= 40
    live.close()


def test_a_deleted_wal_after_a_kill_does_not_reuse_seqs(tmp_path: Path) -> None:
    live = fill(tmp_path / "o.sqlite", 15)
    image = crash_image(live.path, tmp_path / "cut", wal=False)
    seq, notes = after_restart(image)
    assert seq > 15 and notes
    live.close()


def test_a_clean_restart_continues_without_a_gap(tmp_path: Path) -> None:
    fill(tmp_path / "o.sqlite", 5).close()
    seq, notes = after_restart(tmp_path / "o.sqlite")
    assert seq == 6 and notes == []


def test_a_zeroed_header_salvages_the_rows_its_pages_still_hold(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    fill(path, 252).close()
    with path.open("r+b") as f:
        f.write(b"\0" * 100)
    outbox = Outbox(path)
    assert outbox.recovery is not None and len(outbox.recovery.rows) == 252
    (new,) = outbox.append([OutMessage("alarm", {"type": "after"}, Priority.ALARM)])
    assert new.seq > 252
    outbox.close()
