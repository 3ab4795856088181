"""The outbox: durable before publish, seq and record_id assigned once, deleted only when told."""

from __future__ import annotations

import json
from pathlib import Path

from agent.store.outbox import Outbox, OutMessage, Priority


def message(n: int, priority: Priority = Priority.READING) -> OutMessage:
    return OutMessage("reading/dap1", {"n": n}, priority)


def test_seq_is_monotonic_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    first = box.append([message(1), message(2)])
    box.delete([first[0].id, first[1].id])
    box.close()
    box = Outbox(path)
    (again,) = box.append([message(3)])
    assert [m.seq for m in first] == [1, 2] and again.seq == 3
    body = json.loads(again.payload)
    assert body["seq"] == 3 and body["record_id"] == again.record_id and body["n"] == 3


def test_pending_orders_alarms_first_and_skips_in_flight(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    stored = box.append([message(1), message(2, Priority.ALARM), message(3, Priority.RECORD)])
    assert [json.loads(m.payload)["n"] for m in box.pending(10)] == [2, 3, 1]
    assert [json.loads(m.payload)["n"] for m in box.pending(10, exclude={stored[1].id})] == [3, 1]


def test_nothing_is_deleted_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    stored = box.append([message(i) for i in range(5)])
    box.delete([stored[0].id])
    box.close()
    assert Outbox(path).depth() == 4
