"""A damaged store at start-up and a disk that refuses writes: alarms, never a crash (docs/store.md)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.store.outbox import Outbox, OutMessage, Priority


def fill(path: Path, n: int) -> int:
    outbox = Outbox(path)
    for i in range(0, n, 50):
        outbox.append(
            [OutMessage("record/x", {"n": j, "pad": "y" * 200}, Priority.RECORD) for j in range(i, i + 50)]
        )
    next_seq = outbox.stats()["next_seq"]
    outbox.close()
    return int(next_seq)


def recovered_alarm(outbox: Outbox) -> dict[str, object]:
    alarms = [json.loads(m.payload) for m in outbox.pending(100, priorities=(Priority.ALARM,))]
    (alarm,) = [a for a in alarms if a["type"] == "store_recovered"]
    return alarm


def damage_truncate(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size // 2)


def damage_middle(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\xde\xad\xbe\xef" * 2048)


def damage_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"this is not a database at all!!!" * 4)


@pytest.mark.parametrize("damage", [damage_truncate, damage_middle, damage_header])
def test_damaged_store_is_moved_aside_salvaged_and_alarmed(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "o.sqlite"
    old_next = fill(path, 2000)
    Outbox(path).close()  # checkpoint the WAL into the main file, as after a clean stop
    damage(path)  # type: ignore[operator]
    outbox = Outbox(path)  # must not raise
    aside = list(tmp_path.glob("o.sqlite.corrupt-*"))
    assert [p for p in aside if not p.name.endswith(("-wal", "-shm"))], "damaged file kept aside"
    alarm = recovered_alarm(outbox)
    salvaged = outbox.depth() - 1
    assert alarm["rows_salvaged"] == salvaged
    if damage is not damage_header:
        assert salvaged > 0, "rows before the damage are kept"
    seqs = [json.loads(m.payload)["seq"] for m in outbox.pending(10**6, priorities=(Priority.RECORD,))]
    assert len(seqs) == len(set(seqs)) == salvaged
    new = outbox.append([OutMessage("record/x", {"n": -1}, Priority.RECORD)])
    assert new[0].seq >= old_next, "seq never goes back after a recovery"
    assert outbox.stats()["next_seq"] > new[0].seq


def test_a_healthy_store_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    fill(path, 100)
    outbox = Outbox(path)
    assert outbox.recovery is None and outbox.depth() == 100
    assert not list(tmp_path.glob("*.corrupt-*"))


DISK_FULL = textwrap.dedent(
    """
    import json, resource, signal, sys
    from core.errors import StoreError
    from agent.store.outbox import Outbox, OutMessage, Priority
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    outbox = Outbox(sys.argv[1])
    outbox.append([OutMessage("reading/d", {"n": 0}, Priority.READING)])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))  # the disk is full past 200 kB
    errors = 0
    for n in range(1, 3000):
        try:
            outbox.append([OutMessage("record/x", {"n": n, "pad": "z" * 500}, Priority.RECORD)])
        except StoreError:
            errors += 1
    failing = outbox.failing
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space freed
    outbox.append([OutMessage("alarm", {"n": -1}, Priority.ALARM)])
    alarms = [json.loads(m.payload) for m in outbox.pending(100, priorities=(Priority.ALARM,))]
    print(json.dumps({"errors": errors, "failing": failing, "after": outbox.failing,
                      "alarms": [[a.get("type"), a.get("state")] for a in alarms]}))
    """
)


def test_disk_full_is_an_alarm_not_a_crash(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(tmp_path / "o.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["errors"] > 0 and result["failing"], "writes past the limit fail as StoreError"
    assert result["after"] == ""
    assert ["store_failing", "raised"] in result["alarms"]
    assert ["store_failing", "cleared"] in result["alarms"]


@pytest.mark.parametrize("seed", range(12))
def test_random_damage_never_stops_start_up_and_keeps_only_intact_rows(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "o.sqlite"
    fill(path, 500)
    Outbox(path).close()
    size = path.stat().st_size
    with path.open("r+b") as f:
        for _ in range(rng.randint(1, 4)):
            f.seek(rng.randrange(size))
            f.write(rng.randbytes(rng.randint(1, 3000)))
        if rng.random() < 0.3:
            f.truncate(rng.randrange(size))
    outbox = Outbox(path)
    # Bytes flipped inside a payload that leave every page valid pass quick_check (SQLite keeps no
    # page checksums): only a recovered store promises intact rows.
    for m in outbox.pending(10**6) if outbox.recovery is not None else []:
        body = json.loads(m.payload)
        assert body["seq"] == m.seq and body["record_id"] == m.record_id
    outbox.append([OutMessage("record/x", {"n": -1}, Priority.RECORD)])
