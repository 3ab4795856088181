"""A small, full volume under the store (issue 12, finding 3), on a real tmpfs: the WAL is inside the
bound, the store's alarms and the dose alarms reach MQTT while the disk refuses writes, `store_failing`
clears with the time of recovery, and a stop with messages still held says how many were lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import StoreConfig
from agent.store.outbox import Outbox, OutMessage, Priority, StoreAlarm
from core.errors import StoreError
from simulators.mosquitto import MosquittoBroker
from tests.chaos.harness import AgentProcess, start_simulator, wait_until, write_config
from tests.chaos.smallfs import fill, small_fs
from tests.fakes import Subscriber

PAD = "x" * 1500


def test_the_wal_stays_inside_the_bound_on_a_small_volume(tmp_path: Path) -> None:
    with small_fs(tmp_path / "fs", "3m") as fs:
        config = StoreConfig(path=str(fs / "o.sqlite"), max_bytes=2 * 1024 * 1024)
        outbox = Outbox(config.path, config)
        for n in range(4000):  # 6 MB of readings, nothing acknowledged: eviction keeps the bound
            outbox.append([OutMessage("reading/d", {"n": n, "pad": PAD}, Priority.READING)])
        stats = outbox.stats()
        assert stats["used_bytes"] + stats["wal_bytes"] <= config.max_bytes
        assert stats["evicted"]["reading"] > 0 and not outbox.failing
        outbox.close()


def test_store_failing_clears_with_the_time_the_store_wrote_again(tmp_path: Path) -> None:
    now = [1000.0]

    def alarm(a: StoreAlarm) -> OutMessage:
        body = {"type": a.alarm_type, "state": a.state, "ts": now[0]}
        return OutMessage("alarm", body, Priority.ALARM)

    with small_fs(tmp_path / "fs", "1m") as fs:
        outbox = Outbox(fs / "o.sqlite", alarm=alarm, wall=lambda: now[0])
        filler = fill(fs)
        with pytest.raises(StoreError):
            for n in range(2000):
                outbox.append([OutMessage("record/x", {"n": n, "pad": PAD}, Priority.RECORD)])
        held = outbox.pending(10, priorities=(Priority.ALARM,))
        assert [json.loads(m.payload)["type"] for m in held] == ["store_failing"], "publishable while full"
        now[0] += 0.1
        with pytest.raises(StoreError):
            outbox.append([OutMessage("record/x", {"n": -1, "pad": PAD}, Priority.RECORD)])
        filler.unlink()
        now[0] += 75.0
        outbox.append([])
        alarms = [json.loads(m.payload) for m in outbox.pending(10, priorities=(Priority.ALARM,))]
        assert [(a["type"], a["state"]) for a in alarms] == [
            ("store_failing", "raised"),
            ("store_failing", "cleared"),
        ]
        assert alarms[1]["ts"] == 1075.1, "the recovery time, not the first retry's"
        seqs = [json.loads(m.payload)["seq"] for m in outbox.pending(10_000)]
        assert len(seqs) == len(set(seqs)), "held messages kept their own seq"
        outbox.close()


@pytest.mark.broker
def test_alarms_reach_mqtt_while_the_disk_is_full_and_a_stop_counts_what_is_lost(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    simulator, pty = start_simulator()
    watcher = Subscriber(broker.host, broker.port, "t/chaos/room-1/alarm", client_id="disk-full-watch")
    log = tmp_path / "agent.log"
    try:
        with small_fs(tmp_path / "fs", "2m") as fs:
            config = write_config(tmp_path, broker.port, pty)
            config.write_text(
                config.read_text().replace(str(tmp_path / "outbox.sqlite"), str(fs / "o.sqlite"))
            )
            agent = AgentProcess(config, log)
            assert watcher.wait_for(
                lambda w: any(b.get("type") == "fluoro_dose_rate" for b in w.bodies("")), 20
            )
            broker.stop()  # the backlog grows the database into the full disk
            filler = fill(fs)
            assert wait_until(lambda: "STORE REFUSES WRITES" in log.read_text(errors="replace"), 30)
            broker.start()
            failing = lambda w: any(b.get("type") == "store_failing" for b in w.bodies(""))  # noqa: E731
            assert watcher.wait_for(failing, 30), "store_failing reached MQTT while the disk is full"
            raised_before = len(watcher.bodies(""))
            assert watcher.wait_for(lambda w: len(w.bodies("")) > raised_before + 2, 20), "dose alarms flow"
            assert filler.exists()
            broker.stop()
            assert wait_until(lambda: "lost broker" in log.read_text(errors="replace"), 20)
            polled = simulator.requests
            assert wait_until(lambda: simulator.requests > polled + 10, 20), "readings held, none sent"
            code = agent.stop()
            text = log.read_text(errors="replace")
            assert code == 5 and "MESSAGES NOT WRITTEN" in text, text[-6000:]
            broker.start()
    finally:
        simulator.stop()
        watcher.close()
