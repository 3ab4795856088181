"""The board's codec (firmware_bridge/codec.py), the one both ends use: golden frames both ways, the
CRC against an independent implementation, and fuzzing — any bytes either decode to a frame that
re-encodes to the same line, or raise CodecError; nothing else escapes."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import codec
from tests.firmware_bridge.golden import BAD, FRAMES


def test_crc_is_ccitt_false_check_value_and_matches_an_independent_implementation() -> None:
    assert codec.crc16(b"123456789") == 0x29B1
    for data in (b"", b"@", b"17 POLL ", bytes(range(256))):
        assert codec.crc16(data) == binascii.crc_hqx(data, 0xFFFF)


@pytest.mark.parametrize("case", FRAMES, ids=[c["name"] for c in FRAMES])
def test_golden_frames_encode_and_decode(case: dict[str, object]) -> None:
    fields = [tuple(f) for f in case["fields"]]
    line = str(case["line"]).encode()
    assert codec.encode(int(case["seq"]), str(case["kind"]), fields) == line + b"\n"
    assert codec.decode(line + b"\r\n") == (case["seq"], case["kind"], fields)


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_bad_lines_are_codec_errors(case: dict[str, str]) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(case["line"].encode("latin-1"))


def test_a_frame_cannot_carry_what_would_break_the_framing() -> None:
    for fields in ([("pattern", "a;b")], [("pattern", "a b")], [("Key", "x")], [("k", "")]):
        with pytest.raises(codec.CodecError):
            codec.encode(1, "PAT", fields)
    with pytest.raises(codec.CodecError):
        codec.encode(1, "PAT", [("k", "x" * codec.MAX_LINE)])
    with pytest.raises(codec.CodecError):
        codec.encode(codec.MAX_SEQ + 1, "POLL", [])


def test_split_line_waits_for_a_newline_and_gives_up_on_a_runaway() -> None:
    assert codec.split_line(b"@1 POLL") == (0, None)
    assert codec.split_line(b"@1 POLL *AAAA\n@2") == (14, b"@1 POLL *AAAA\n")
    runaway = b"x" * (codec.MAX_LINE + 1)
    assert codec.split_line(runaway) == (len(runaway), runaway)


def test_sequence_numbers_wrap() -> None:
    assert codec.next_seq(0) == 1
    assert codec.next_seq(codec.MAX_SEQ) == 0


_KEYS = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)
_VALUES = st.text("ABCXYZabcxyz0189_.:/+-", min_size=1, max_size=12)


@given(
    st.integers(0, codec.MAX_SEQ),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6),
    st.lists(st.tuples(_KEYS, _VALUES), max_size=8),
)
def test_every_encodable_frame_decodes_to_itself(seq: int, kind: str, fields: list[tuple[str, str]]) -> None:
    line = codec.encode(seq, kind, fields)
    assert codec.decode(line) == (seq, kind, fields)


@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_codec_error_only(data: bytes) -> None:
    try:
        seq, kind, fields = codec.decode(data)
    except codec.CodecError:
        return
    assert codec.encode(seq, kind, fields).rstrip(b"\n") == data.rstrip(b"\n").rstrip(b"\r")


@given(st.sampled_from(FRAMES), st.data())
def test_any_single_byte_change_of_a_golden_frame_is_caught(
    case: dict[str, str], data: st.DataObject
) -> None:
    line = bytearray(case["line"].encode())
    index = data.draw(st.integers(0, len(line) - 1))
    replacement = data.draw(st.integers(0x20, 0x7E).filter(lambda b: b != line[index]))
    line[index] = replacement
    with pytest.raises(codec.CodecError):
        codec.decode(bytes(line))
