"""The board's logic under CPython, with the fake hardware layer and a hand-turned millisecond clock:
debounce, pulse-counting windows and calibration, the watchdog feed, the safe state, the patterns
and the commands. Nothing here sleeps: time moves when the test says."""

from __future__ import annotations

import pytest

from firmware_bridge import codec, patterns
from firmware_bridge.bridge import Bridge
from firmware_bridge.counting import PulseCounter
from firmware_bridge.debounce import Debouncer
from firmware_bridge.settings import FIRMWARE_VERSION, Settings
from simulators.bridge_hal import FakeHal


class Board:
    """The firmware on a fake board; `run(ms)` turns the main loop every `step_ms`."""

    def __init__(self, step_ms: int = 2, **settings: object) -> None:
        self.t = 0
        self.step_ms = step_ms
        self.settings = Settings(**settings)  # type: ignore[arg-type]
        self.hal = FakeHal(lambda: self.t, self.settings.beam_active_low)
        self.sent: list[bytes] = []
        self.hal.tx = self.sent.append
        self.bridge = Bridge(self.hal, self.settings)
        self.host_seq = 0

    def run(self, ms: int) -> None:
        end = self.t + ms
        while self.t < end:
            self.t += self.step_ms
            self.bridge.step()

    def send(self, kind: str, **fields: str) -> tuple[int, str, dict[str, str]]:
        self.hal.rx += codec.encode(self.host_seq, kind, list(fields.items()))
        self.host_seq = codec.next_seq(self.host_seq)
        self.sent.clear()
        self.run(self.step_ms)
        assert len(self.sent) == 1, self.sent
        seq, reply_kind, reply = codec.decode(self.sent[0])
        return seq, reply_kind, dict(reply)


# ------------------------------------------------------------ debounce


def test_debounce_confirms_after_stable_time_and_stamps_the_first_change() -> None:
    d = Debouncer(20)
    assert d.update(1, 100) is None
    assert d.update(1, 110) is None
    assert d.update(1, 120) == (1, 100)
    assert d.level == 1


def test_bounces_shorter_than_the_debounce_time_make_no_edge() -> None:
    d = Debouncer(20)
    for t, level in ((0, 1), (5, 0), (8, 1), (12, 0), (30, 0), (40, 1), (50, 0), (80, 0)):
        assert d.update(level, t) is None
    assert d.level == 0


def test_beam_edges_reach_the_host_debounced_with_their_times() -> None:
    board = Board(debounce_ms=20)
    board.run(100)
    board.hal.set_beam(True)
    board.run(4)
    board.hal.set_beam(False)  # a 4 ms glitch on the lamp line: no edge
    board.run(50)
    on_at = board.t
    board.hal.set_beam(True)
    board.run(300)
    board.hal.set_beam(False)
    off_at = board.t
    board.run(50)
    _, kind, stat = board.send("POLL")
    assert kind == "STAT" and stat["beam"] == "0"
    edges = [tuple(map(int, e.split(":"))) for e in stat["edges"].split("/")]
    assert [lv for lv, _ in edges] == [1, 0]
    assert on_at <= edges[0][1] <= on_at + board.step_ms
    assert off_at <= edges[1][1] <= off_at + board.step_ms
    _, _, again = board.send("POLL")
    assert again["edges"] == "-", "edges are reported once"


# ------------------------------------------------------------ counting and calibration


def test_counting_window_turns_counts_into_air_kerma_rate_with_the_calibration() -> None:
    counter = PulseCounter(1000, mgy_min_per_cps=0.01, background_cps=2.0)
    assert counter.update(0, 0) is None
    assert counter.update(1500, 999) is None
    window = counter.update(2002, 1000)
    assert window is not None
    assert (window.counts, window.length_ms, window.cps) == (2002, 1000, 2002.0)
    assert window.rate_mgy_min == pytest.approx(20.0)
    quiet = counter.update(2003, 2000)
    assert quiet is not None and quiet.rate_mgy_min == 0.0, "below background is zero, never negative"


def test_a_counter_that_goes_backwards_restarts_the_window() -> None:
    counter = PulseCounter(1000, 0.01)
    counter.update(500, 0)
    assert counter.update(10, 1000) is None
    window = counter.update(110, 2000)
    assert window is not None and window.counts == 100


def test_the_board_reports_the_window_from_the_pulse_train() -> None:
    board = Board(window_ms=1000, mgy_min_per_cps=0.01, background_cps=0.0)
    board.hal.pulse_rate_cps = 3000.0
    board.hal.adc_raw = 32768
    board.run(2100)
    _, _, stat = board.send("POLL")
    assert int(stat["counts"]) == pytest.approx(3000, abs=10)
    assert float(stat["rate"]) == pytest.approx(30.0, rel=0.01)
    assert stat["adc"] == "32768"


# ------------------------------------------------------------ commands, hello, button


def test_hello_carries_the_firmware_version_and_configuration() -> None:
    board = Board(silence_ms=4000, mgy_min_per_cps=0.02)
    _, kind, hello = board.send("INFO")
    assert kind == "HELLO"
    assert hello["ack"] == "0" and hello["fw"] == FIRMWARE_VERSION
    assert (hello["sil"], hello["cal"], hello["win"]) == ("4000", "0.02", "1000")


def test_commands_are_acknowledged_with_the_host_sequence_number() -> None:
    board = Board()
    board.host_seq = 41
    _, kind, ack = board.send("PAT", pattern="trigger")
    assert (kind, ack["ack"], ack["pat"]) == ("ACK", "41", "trigger")
    assert board.hal.outputs[2] == 1, "trigger: amber steady"
    _, kind, nak = board.send("PAT", pattern="disco")
    assert (kind, nak["ack"], nak["err"]) == ("NAK", "42", "unknown_pattern")
    _, kind, nak = board.send("FLY")
    assert (kind, nak["err"]) == ("NAK", "unknown_kind")


def test_a_corrupted_frame_is_refused_and_counted() -> None:
    board = Board()
    board.hal.rx += b"@3 POLL *0000\n"
    board.run(2)
    _, kind, fields = codec.decode(board.sent[-1])
    assert (kind, dict(fields)) == ("NAK", {"err": "bad_frame"})
    assert board.bridge.bad_frames == 1


def test_button_presses_are_debounced_and_counted() -> None:
    board = Board(button_debounce_ms=30)
    board.hal.press(10)  # too short: contact bounce, not a press
    board.run(100)
    board.hal.press(80)
    board.run(200)
    board.hal.press(80)
    board.run(200)
    _, _, stat = board.send("POLL")
    assert stat["btn"] == "2"


def test_board_sequence_numbers_count_up() -> None:
    board = Board()
    seqs = [board.send("POLL")[0] for _ in range(3)]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]


# ------------------------------------------------------------ watchdog and safe state


def test_the_loop_feeds_the_watchdog_every_turn_and_a_stall_lets_it_expire() -> None:
    board = Board(step_ms=2, watchdog_ms=2000)
    board.run(1000)
    assert board.hal.feeds == 500
    assert not board.hal.watchdog_expired(2000)
    board.t += 2001  # the loop stalls: nothing feeds
    assert board.hal.watchdog_expired(2000)


def test_silence_from_the_agent_puts_the_board_in_its_safe_state_until_it_talks_again() -> None:
    board = Board(silence_ms=3000)
    board.send("PAT", pattern="off")
    board.run(2900)
    assert not board.bridge.safe
    assert board.hal.outputs == (0, 0, 0, 1), "green steady: the agent is there, nothing alarming"
    board.run(200)
    assert board.bridge.safe and board.bridge.safe_entries == 1
    board.t = (board.t // 2000 + 1) * 2000  # the start of the monitor_lost period
    board.run(2)
    assert board.hal.outputs == (1, 0, 1, 0), "monitor lost: buzzer and amber flashing, no green"
    board.hal.press(80)
    board.run(200)
    board.t = (board.t // 2000 + 1) * 2000
    board.run(2)
    assert board.hal.outputs == (0, 0, 1, 0), "a press silences the buzzer, the light stays"
    _, _, stat = board.send("POLL")
    assert stat["safe"] == "0" and not board.bridge.safe, "the agent talks: out of the safe state"
    assert board.hal.outputs[3] == 1


def test_noise_on_the_line_does_not_keep_the_board_out_of_its_safe_state() -> None:
    board = Board(silence_ms=1000)
    for _ in range(20):
        board.hal.rx += b"junk\n"
        board.run(100)
    assert board.bridge.safe


def test_a_board_that_never_heard_the_agent_goes_safe_too() -> None:
    board = Board(silence_ms=1000)
    board.run(1000)
    assert board.bridge.safe


# ------------------------------------------------------------ patterns


@pytest.mark.parametrize("name", sorted(patterns.PATTERNS))
def test_patterns_are_distinct_over_their_period(name: str) -> None:
    trace = {n: [patterns.outputs(n, t) for t in range(0, 2000, 50)] for n in patterns.PATTERNS}
    others = [trace[n] for n in trace if n != name]
    assert trace[name] not in others


def test_dose_rate_pattern_flashes_red_with_the_buzzer() -> None:
    assert patterns.outputs("dose_rate", 0) == (1, 1, 0, 0)
    assert patterns.outputs("dose_rate", 250) == (0, 0, 0, 0)
    assert patterns.outputs("acknowledged", 0) == (0, 1, 0, 0)
