"""C-STORE of written reports to a real dcmtk `storescp` on loopback: arrives; with the receiver down
the report waits, and arrives when it returns — also across an agent restart."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pydicom

from agent.notices import RecordNotice
from tests.agent.dicom.station_fixtures import ACTIVITY_RECORD, free_port, live_procedure_records, station

DATA = Path(__file__).parent / "data"


@contextmanager
def storescp(port: int, folder: Path) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["storescp", "-aet", "REGISTRY", "-od", str(folder), "+B", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20  # start-up wait, not an assertion on time
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, "storescp exited"
                assert time.monotonic() < deadline, "storescp did not start listening"
                time.sleep(0.05)
        yield folder
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def received_uids(folder: Path) -> set[str]:
    return {str(pydicom.dcmread(p).SOPInstanceUID) for p in folder.iterdir() if p.is_file()}


def peer(port: int) -> str:
    return f'peer_host = "127.0.0.1"\npeer_port = {port}\npeer_ae_title = "REGISTRY"\nretry_s = 1.0'


def test_cstore_arrives(tmp_path: Path) -> None:
    port = free_port()
    dicom, published = station(tmp_path / "out", peer(port))
    dicom.on_record(RecordNotice("activity", ACTIVITY_RECORD))
    (report,) = (tmp_path / "out" / "reports").glob("*.dcm")
    with storescp(port, tmp_path / "registry") as registry:
        assert dicom.pump_sender() == 1
        assert received_uids(registry) == {report.stem}
    assert dicom.outbox.pending() == []
    dicom.flush()
    kinds = [r.kind for e in published for r in e.records]
    assert kinds == ["dicom_report", "dicom_sent"]


def test_receiver_down_report_waits_and_arrives_after_a_restart(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out"
    before, published = station(out, peer(port))
    for record in live_procedure_records():
        before.on_record(record)
    assert before.pump_sender() == 0  # nobody listening
    assert before.pump_sender() == 0  # still down: counted, not raised again
    assert before.peer_error and len(before.outbox.pending()) == 1
    before.flush()
    (raised,) = [a for e in published for a in e.alarms]
    assert (raised.alarm_type, raised.state, raised.details["waiting"]) == (
        "dicom_peer_unreachable",
        "raised",
        1,
    )
    (report,) = (out / "reports").glob("*.dcm")
    after, published = station(out, peer(port))  # the agent restarts; the queue is on disk
    assert len(after.outbox.pending()) == 1
    with storescp(port, tmp_path / "registry") as registry:
        assert after.pump_sender() == 1
        assert received_uids(registry) == {report.stem}
    assert after.outbox.pending() == [] and after.peer_error == ""
    after.flush()
    (cleared,) = [a for e in published for a in e.alarms]
    assert (cleared.alarm_id, cleared.state) == (raised.alarm_id, "cleared")


def test_the_run_loop_reads_the_folder_and_retries_the_peer(tmp_path: Path) -> None:
    """The station's own task: a dropped file is read; the queued report is retried after retry_s of
    the injected clock and arrives once the receiver is up."""
    port = free_port()
    watch = tmp_path / "watch"
    watch.mkdir()
    dicom, published = station(
        tmp_path / "out", peer(port) + f'\nwatch_folder = "{watch}"\nwatch_interval_s = 0.1'
    )
    dicom.on_record(RecordNotice("activity", ACTIVITY_RECORD))
    shutil.copy(DATA / "RF-RDSR-GE.dcm", watch)
    clock = dicom.clock

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(dicom.run(stop))
        await until(lambda: dicom.counters["send_failures"] >= 1 and dicom.counters["files_read"] == 1)
        with storescp(port, tmp_path / "registry") as registry:
            clock.advance(1.0)  # retry_s
            await until(lambda: dicom.counters["reports_sent"] == 1)
            assert len(received_uids(registry)) == 1
        stop.set()
        await task

    asyncio.run(scenario())
    kinds = [r.kind for e in published for r in e.records]
    assert sorted(kinds) == ["dicom_received", "dicom_report", "dicom_sent"]


async def until(condition: Callable[[], bool]) -> None:
    """Wait for the station's task to get there (a bound on a hang, not a timed assertion)."""
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the station never got there")
