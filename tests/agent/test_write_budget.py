"""The write budget (issue 12, finding 5): readings share a commit within `[store] commit_window_s`,
alarms never wait; the per-reading state row keeps a constant size however many alarms the procedure
has; the cleared-alarm history in memory is bounded. (Bytes per message: bench/write_volume.py.)"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from agent.alarms import HISTORY_MAX, AlarmBook
from agent.config import parse_config
from agent.notices import AlarmNotice
from agent.pipeline import Pipeline
from agent.restart_state import CLOCK_KEY, PROCEDURE_ALARMS_KEY, StateWriter
from agent.store.messages import OutMessage, StoredMessage
from agent.store.outbox import Outbox
from drivers.model import Measurement, Reading
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]


class CountingOutbox(Outbox):
    commits = 0

    lazy = 0

    def append(
        self, messages: list[OutMessage], state: dict[str, str] | None = None, *, readings_only: bool = False
    ) -> list[StoredMessage]:
        self.commits += 1
        self.lazy += readings_only
        return super().append(messages, state=state, readings_only=readings_only)


def pipeline(tmp_path: Path, window_s: float) -> tuple[Pipeline, CountingOutbox, FakeClock]:
    config = parse_config((ROOT / "config" / "demo.toml").read_text())
    config = replace(config, store=replace(config.store, commit_window_s=window_s))
    outbox, clock = CountingOutbox(tmp_path / "o.sqlite"), FakeClock()
    return Pipeline(config, outbox, clock, lambda: None), outbox, clock


def reading(kap: float) -> Reading:
    return Reading("dap1", (Measurement("kap", kap, "Gy·cm²", kap, "Gy·cm²"),))


def test_readings_share_a_commit_and_an_alarm_takes_them_at_once(tmp_path: Path) -> None:
    pipe, outbox, clock = pipeline(tmp_path, 1.0)
    pipe.resume({})
    start = outbox.commits
    for i in range(4):  # one second of polls at 0.25 s
        pipe.on_reading(reading(float(i)))
        clock.advance(0.25)
    pipe.on_reading(reading(4.0))  # the window is over: one commit for the five
    assert outbox.commits - start == 1 and outbox.depth() >= 5
    pipe.on_reading(reading(5.0))
    assert outbox.commits - start == 1, "waits for the next window"
    assert outbox.lazy == 1, "readings alone: not fsynced (synchronous=NORMAL, at most SYNC_LAG_S)"
    pipe.on_availability("dap1", False, "silent")  # an alarm: committed at once, with the reading
    assert outbox.commits - start == 2 and outbox.lazy == 1, "…and fsynced"
    topics = [m.topic for m in outbox.pending(100)]
    assert "alarm" in topics and topics.count("reading/dap1") == 6


def test_every_reading_commits_alone_without_a_window(tmp_path: Path) -> None:
    pipe, outbox, _clock = pipeline(tmp_path, 0.0)
    pipe.resume({})
    start = outbox.commits
    for i in range(3):
        pipe.on_reading(reading(float(i)))
    assert outbox.commits - start == 3


def test_the_per_reading_state_row_does_not_grow_with_the_procedures_alarms(tmp_path: Path) -> None:
    pipe, _outbox, clock = pipeline(tmp_path, 0.0)
    pipe.resume({})
    assert pipe.fluoro is not None
    writer = StateWriter()
    assert pipe.fluoro.procedure.open(clock.monotonic(), clock.wall(), "test")  # cmd/procedure_open
    sizes, alarm_rows = [], 0
    for n in range(40):
        pipe.fluoro.procedure.note_alarm(AlarmNotice(f"id-{n}", "device_lost", "raised", "warning", "lost"))
        clock.advance(0.25)
        rows = writer.rows(pipe)
        writer.written(rows, pipe.alarm_book.revision)
        sizes.append(len(rows[CLOCK_KEY]))
        alarm_rows += PROCEDURE_ALARMS_KEY in rows
        rows = writer.rows(pipe)  # the next reading, no new alarm
        assert PROCEDURE_ALARMS_KEY not in rows
    assert max(sizes) - min(sizes) <= 16, f"procedure row {min(sizes)}–{max(sizes)} bytes"
    assert alarm_rows == 40, "the alarm list is written when it changes, in its own row"


def test_the_cleared_alarm_history_is_bounded() -> None:
    book = AlarmBook()
    clock = FakeClock()
    for n in range(HISTORY_MAX + 500):
        notice = AlarmNotice(f"id-{n}", "device_lost", "raised", "warning", "lost")
        book.apply(notice, clock.wall())
        book.apply(replace(notice, state="cleared"), clock.wall())
    assert len(book.history) == HISTORY_MAX and f"id-{HISTORY_MAX + 499}" in book.history


def test_a_station_without_fluoroscopy_writes_its_procedure_row_once(tmp_path: Path) -> None:
    """Issue 17: nothing in the `procedure` row changes without fluoroscopy; written once, not per
    reading. The alarm book is still written when it changes and comes back after a restart."""
    config = parse_config((ROOT / "config" / "demo-hotlab.toml").read_text())
    config = replace(config, store=replace(config.store, path=str(tmp_path / "o.sqlite")))
    outbox, clock = Outbox(tmp_path / "o.sqlite"), FakeClock()
    pipe = Pipeline(config, outbox, clock, lambda: None)
    assert pipe.fluoro is None
    kinds = []
    for n in range(3):
        clock.advance(0.25)  # a later saved_at: the row would change if it were written
        if n == 2:
            pipe.store([pipe.alarm_message(AlarmNotice("a-1", "device_lost", "raised", "warning", "lost"))])
        state_before = outbox.load_state()
        pipe.flush([OutMessage("reading/x", {"n": n}, 2)])
        kinds.append(sorted(k for k, v in outbox.load_state().items() if state_before.get(k) != v))
    assert kinds == [["alarms", CLOCK_KEY], [], []]
    outbox.close()
    again = Pipeline(config, Outbox(tmp_path / "o.sqlite"), FakeClock(), lambda: None)
    again.resume(again.outbox.load_state())
    assert "a-1" in again.alarm_book.active
    again.outbox.close()
