"""The outbox contract (docs/store.md): identity, group commit, bound, priorities, eviction."""

from __future__ import annotations

import json
from pathlib import Path

from agent.config import StoreConfig
from agent.store.outbox import Outbox, OutMessage, Priority


def message(priority: Priority, n: int, size: int = 300) -> OutMessage:
    topic = {Priority.ALARM: "alarm", Priority.RECORD: "record/irradiation", Priority.READING: "reading/d"}
    return OutMessage(topic[priority], {"n": n, "pad": "x" * size}, priority)


def bodies(outbox: Outbox, priority: Priority) -> list[dict[str, object]]:
    rows = outbox.pending(10**7, priorities=(priority,))
    return [json.loads(r.payload) for r in rows]


def test_seq_is_monotonic_and_persisted_and_record_ids_unique(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    first = Outbox(path)
    a = first.append([message(Priority.READING, i) for i in range(5)])
    first.close()
    second = Outbox(path)
    b = second.append([message(Priority.ALARM, 9)])
    seqs = [m.seq for m in a + b]
    assert seqs == list(range(1, 7))
    ids = {m.record_id for m in a + b}
    assert len(ids) == 6
    body = json.loads(b[0].payload)
    assert body["seq"] == 6 and body["record_id"] == b[0].record_id


def test_pending_orders_alarms_then_records_then_readings_oldest_first(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.append([message(Priority.READING, 1), message(Priority.RECORD, 2), message(Priority.ALARM, 3)])
    outbox.append([message(Priority.READING, 4), message(Priority.ALARM, 5)])
    order = [json.loads(m.payload)["n"] for m in outbox.pending(10)]
    assert order == [3, 5, 2, 1, 4]
    first = outbox.pending(1)[0]
    assert [json.loads(m.payload)["n"] for m in outbox.pending(2, exclude={first.id})] == [5, 2]
    outbox.delete([first.id])
    assert outbox.depth() == 4


def test_bound_raises_pressure_before_evicting_oldest_readings_and_keeps_alarms(tmp_path: Path) -> None:
    config = StoreConfig(path=str(tmp_path / "o.sqlite"), max_bytes=256 * 1024)
    outbox = Outbox(config.path, config)
    appended = {p: 0 for p in Priority}
    pressure_seen_at_evictions = None
    for n in range(1500):
        batch = [message(Priority.READING, n)]
        if n % 40 == 0:
            batch.append(message(Priority.ALARM, n))
        if n % 25 == 0:
            batch.append(message(Priority.RECORD, n))
        for m in batch:
            appended[m.priority] += 1
        outbox.append(batch)
        stats = outbox.stats()
        if stats["pressure"] and pressure_seen_at_evictions is None:
            pressure_seen_at_evictions = stats["evicted"]["reading"]
        assert stats["used_bytes"] <= config.max_bytes
    stats = outbox.stats()
    assert pressure_seen_at_evictions == 0, "store_pressure must be raised before the first eviction"
    assert stats["evicted"]["reading"] > 0 and stats["evicted"]["record"] == 0
    readings = [b["n"] for b in bodies(outbox, Priority.READING)]
    assert readings == list(range(1500 - len(readings), 1500)), "oldest readings go first"
    assert stats["evicted"]["reading"] == appended[Priority.READING] - len(readings)
    alarms = bodies(outbox, Priority.ALARM)
    assert len([a for a in alarms if "n" in a]) == appended[Priority.ALARM], "no alarm evicted"
    assert [a["state"] for a in alarms if a.get("type") == "store_pressure"] == ["raised"]
    assert len(bodies(outbox, Priority.RECORD)) == appended[Priority.RECORD]


def test_records_evicted_only_when_no_reading_remains_and_alarms_never(tmp_path: Path) -> None:
    config = StoreConfig(path=str(tmp_path / "o.sqlite"), max_bytes=128 * 1024)
    outbox = Outbox(config.path, config)
    outbox.append([message(Priority.READING, n, 100) for n in range(20)])
    for n in range(600):
        outbox.append([message(Priority.RECORD, n), *([message(Priority.ALARM, n)] if n % 10 == 0 else [])])
    stats = outbox.stats()
    assert stats["evicted"]["reading"] == 20
    assert stats["evicted"]["record"] > 0
    records = [b["n"] for b in bodies(outbox, Priority.RECORD)]
    assert records == list(range(600 - len(records), 600))
    assert len([a for a in bodies(outbox, Priority.ALARM) if "n" in a]) == 60


def test_pressure_clears_when_the_forwarder_drains(tmp_path: Path) -> None:
    config = StoreConfig(path=str(tmp_path / "o.sqlite"), max_bytes=128 * 1024)
    outbox = Outbox(config.path, config)
    for n in range(400):
        outbox.append([message(Priority.READING, n)])
    assert outbox.stats()["pressure"]
    while outbox.stats()["depth"]["reading"]:
        outbox.delete([m.id for m in outbox.pending(50, priorities=(Priority.READING,))])
    assert not outbox.stats()["pressure"]
    states = [a["state"] for a in bodies(outbox, Priority.ALARM) if a["type"] == "store_pressure"]
    assert states == ["raised", "cleared"]
    raised, cleared = (a for a in bodies(outbox, Priority.ALARM) if a["type"] == "store_pressure")
    assert raised["alarm_id"] == cleared["alarm_id"]
