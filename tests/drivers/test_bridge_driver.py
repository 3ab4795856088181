"""The bridge host driver (drivers/bridge.py): the shared golden frames through its decoder, golden
STAT replies → Readings, the protocol rules (acks, NAK, sequence gaps, a board restart), and the
driver against the board's own firmware on a pty (simulators/bridge.py)."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import DeviceError, FrameError
from drivers.bridge import Bridge, BridgeConfig, decode_frame, encode_frame
from drivers.transport import SerialTransport
from firmware_bridge import codec
from simulators.bridge import BridgeSimulator
from tests.fakes import FakeClock, FakeTransport
from tests.firmware_bridge.golden import BAD, FRAMES

CASES = tomllib.loads((Path(__file__).parent / "bridge" / "golden.toml").read_text(encoding="utf-8"))["case"]


def _hello(mode: str = "0") -> bytes:
    fields = [("ack", "0"), ("fw", "1.0.0"), ("win", "1000"), ("cal", "0.01"), ("bg", "2"), ("deb", "20")]
    return codec.encode(0, "HELLO", [*fields, ("sil", "3000"), ("wdt", "2000"), ("mode", mode)])


def _driver(replies: dict[bytes, list[bytes | None]], **config: Any) -> tuple[Bridge, FakeTransport]:
    clock = FakeClock()
    script = {
        encode_frame(0, "INFO").strip(): [_hello()],
        encode_frame(1, "PAT", {"pattern": "off"}).strip(): [codec.encode(1, "ACK", [("ack", "1")])],
        **replies,
    }
    transport = FakeTransport(clock, script)
    return Bridge(
        BridgeConfig("room", "bridge", "/dev/null", **config), transport, clock.monotonic
    ), transport


@pytest.mark.parametrize("case", FRAMES, ids=[c["name"] for c in FRAMES])
def test_the_driver_decodes_the_shared_golden_frames(case: dict[str, Any]) -> None:
    consumed, frame = decode_frame(case["line"].encode() + b"\n" + b"@9")
    assert consumed == len(case["line"]) + 1
    assert frame is not None and (frame.seq, frame.kind) == (case["seq"], case["kind"])
    assert frame.fields == dict(tuple(f) for f in case["fields"])


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_bad_lines_are_frame_errors_that_consume_the_line(case: dict[str, str]) -> None:
    line = case["line"].encode("latin-1") + b"\n"
    with pytest.raises(FrameError) as caught:
        decode_frame(line)
    assert caught.value.consumed == len(line)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_stat_replies_become_readings(case: dict[str, Any]) -> None:
    config = {k: case[k] for k in ("analog_input", "mode_input") if k in case}
    stat = case["stat"].encode() + b"\n"
    mode = "1" if config.get("mode_input") else "0"
    poll = encode_frame(2, "POLL").strip()
    driver, _ = _driver({encode_frame(0, "INFO").strip(): [_hello(mode)], poll: [stat]}, **config)
    driver.connect()
    reading = driver.poll()
    got = [[m.quantity, m.value, m.unit, m.raw_value, m.raw_unit] for m in reading.measurements]
    assert got == [list(m) for m in case["measurements"]]
    assert reading.labels == case["labels"]
    assert reading.device_info["firmware"] == "1.0.0"


def test_connect_refuses_a_board_whose_mode_input_does_not_match_the_config() -> None:
    driver, _ = _driver({}, mode_input=True)
    with pytest.raises(DeviceError, match="mode input is not wired"):
        driver.connect()


def test_a_refused_pattern_is_a_device_error_and_the_pattern_is_kept() -> None:
    nak = codec.encode(2, "NAK", [("ack", "2"), ("err", "unknown_pattern")])
    driver, _ = _driver({encode_frame(2, "PAT", {"pattern": "dose_rate"}).strip(): [nak]})
    driver.connect()
    with pytest.raises(DeviceError, match="unknown_pattern"):
        driver.set_pattern("dose_rate")
    assert driver.pattern == "off"
    with pytest.raises(ValueError):
        driver.set_pattern("disco")


def test_replies_to_other_sequence_numbers_are_skipped_and_gaps_and_restarts_counted() -> None:
    stale = codec.encode(3, "STAT", [("ack", "1"), ("t", "1")])  # answers an earlier poll
    restart = codec.encode(0, "HELLO", [("fw", "1.0.0")])  # unsolicited: the board restarted
    good = codec.encode(9, "STAT", [("ack", "2"), ("t", "5"), ("beam", "0"), ("edges", "-"), ("lost", "0"),
                                    ("btn", "4"), ("pat", "off"), ("safe", "0")])  # fmt: skip
    pattern_again = codec.encode(10, "ACK", [("ack", "3"), ("pat", "off")])
    driver, _ = _driver(
        {
            encode_frame(2, "POLL").strip(): [stale + restart + good],
            encode_frame(3, "PAT", {"pattern": "off"}).strip(): [pattern_again],
        }
    )
    driver.connect()
    driver.poll()
    assert driver.counters["board_restarts"] == 1
    assert driver.counters["frames_missed"] == 1 + 8, "board seq 1 → 3, then 0 → 9"
    assert driver.counters["frames_rejected"] == 2
    assert driver.pattern == "off", "after the restart the room's pattern was sent again"


def test_silence_is_a_transport_error() -> None:
    from core.errors import TransportError

    driver, _ = _driver({encode_frame(2, "POLL").strip(): [None]})
    driver.connect()
    with pytest.raises(TransportError):
        driver.poll()


def _wait(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    """For the firmware's own thread (real time on a pty) to get there; a bound, not a measurement."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "the simulated board never got there"
        time.sleep(0.01)


def test_against_the_firmware_on_a_pty_a_watchdog_restart_is_seen_and_the_pattern_shown_again() -> None:
    simulator = BridgeSimulator()
    path = simulator.start()
    driver = Bridge(BridgeConfig("room", "bridge", path), SerialTransport(path, 115200))
    try:
        assert driver.connect()["firmware"] == "1.0.0"
        driver.set_pattern("trigger")
        assert simulator.pattern_shown == "trigger"
        simulator.press()
        _wait(lambda: simulator.board.presses == 1)
        assert driver.poll().labels.get("ack_button_presses") == "1"
        assert "ack_button_presses" not in driver.poll().labels, "a press is reported once"
        simulator.stall = True  # the firmware loop hangs; its watchdog restarts the board
        _wait(lambda: simulator.restarts == 1)
        assert simulator.pattern_shown == "off", "the restarted board starts dark"
        driver.poll()
        assert driver.counters["board_restarts"] == 1
        assert simulator.pattern_shown == "trigger", "the driver shows the room's pattern again"
    finally:
        driver.close()
        simulator.stop()


@given(st.binary(max_size=300))
def test_the_drivers_decoder_raises_only_frame_errors(data: bytes) -> None:
    try:
        consumed, _ = decode_frame(data)
    except FrameError as exc:
        assert exc.consumed > 0, "a rejected line is dropped, so the read loop always moves on"
        return
    assert 0 <= consumed <= len(data)
