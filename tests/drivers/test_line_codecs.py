"""Golden frames and fuzzing for the line codecs: generic line (both bundled profiles, so also the
Atomlab 500), Veenstra VIK-202 and VDC-404, and the shared checksums. No ports."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import DeviceError, FrameError
from drivers.framing import checksum, split_delimited
from drivers.generic_line import LineCodec
from drivers.model import Status
from drivers.profile import load_profile
from drivers.veenstra import (
    format_activity_bq,
    format_stream_line,
    parse_activity_bq,
    parse_stream_line,
    split_reply,
)

HERE = Path(__file__).parent


def golden(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = tomllib.loads((HERE / name / "golden.toml").read_text())["case"]
    return cases


LINE_CASES = golden("generic_line") + golden("atomlab500")
CODECS = {name: LineCodec(load_profile(name)) for name in ("dap-ascii-example", "atomlab500")}


@pytest.mark.parametrize("case", LINE_CASES, ids=[c["name"] for c in LINE_CASES])
def test_generic_line_golden(case: dict[str, Any]) -> None:
    codec = CODECS[case["profile"]]
    raw = case["frame"].encode("latin-1")
    try:
        consumed, text = codec.split(raw)
        if consumed == 0:
            kind = "need_more"
        elif text is None:
            kind = "skip"
        else:
            reading = codec.reading("dev", codec.fields(text), {})
            kind = "reading"
    except DeviceError as exc:
        kind, error = "device_error", exc
    except FrameError:
        kind = "frame_error"
    assert kind == case["kind"]
    if kind == "reading":
        got = {m.quantity: m.value for m in reading.measurements}
        want = {v.split("=")[0]: float(v.split("=")[1]) for v in case["values"]}
        assert got == pytest.approx(want)
        assert reading.status == case.get("status", Status.OK)
        assert reading.labels.get("nuclide") == case.get("nuclide")
    if kind == "device_error":
        assert error.code == case["code"]


VIK_CASES = golden("veenstra_vik202")


@pytest.mark.parametrize("case", VIK_CASES, ids=[c["name"] for c in VIK_CASES])
def test_vik202_golden(case: dict[str, Any]) -> None:
    try:
        consumed, text = split_reply(case["frame"].encode("latin-1"))
        kind = "need_more" if consumed == 0 else "activity"
        if text is not None:
            value = parse_activity_bq(text)
    except DeviceError as exc:
        kind, value = "device_error", exc.code
    except FrameError:
        kind = "frame_error"
    assert kind == case["kind"]
    if kind == "activity":
        assert value == pytest.approx(case["activity_bq"])
    if kind == "device_error":
        assert value == case["code"]


VDC_CASES = golden("veenstra_vdc404")


@pytest.mark.parametrize("case", VDC_CASES, ids=[c["name"] for c in VDC_CASES])
def test_vdc404_golden(case: dict[str, Any]) -> None:
    try:
        consumed, text = split_reply(case["frame"].encode("latin-1"))
        kind = "need_more" if consumed == 0 else "activity"
        if text is not None:
            nuclide, value, unit = parse_stream_line(text)
            kind = "over_range" if value is None else "activity"
    except FrameError:
        kind = "frame_error"
    assert kind == case["kind"]
    if kind in ("activity", "over_range"):
        assert nuclide == case["nuclide"]
    if kind == "activity":
        assert value * {"MBq": 1, "GBq": 1000, "mCi": 37}[unit] == pytest.approx(case["activity_mbq"])


def test_device_side_formats_read_back() -> None:
    assert parse_activity_bq(split_reply(format_activity_bq(7.4e8))[1] or "") == pytest.approx(7.4e8)
    nuclide, value, unit = parse_stream_line(split_reply(format_stream_line("Tc-99m", 740.0))[1] or "")
    assert (nuclide, value, unit) == ("Tc-99m", 740.0, "MBq")


@pytest.mark.parametrize(
    ("kind", "encoding", "data", "expected"),
    [
        ("crc16_modbus", "raw", bytes.fromhex("010300000001"), bytes.fromhex("840A")),  # Modbus RTU read
        ("lrc", "hex", bytes.fromhex("010300000001"), b"FB"),
        ("xor8", "hex", b"ABC", b"40"),
        ("sum8", "hex", b"ABC", b"C6"),
        ("capintec", "raw", b"BL", b"6"),
        ("none", "hex", b"ABC", b""),
    ],
)
def test_checksums(kind: str, encoding: str, data: bytes, expected: bytes) -> None:
    assert checksum(kind, encoding, data) == expected


def drain(decode: Any, buffer: bytes) -> list[Any]:
    found = []
    while buffer:
        try:
            consumed, frame = decode(buffer)
        except FrameError as exc:
            assert exc.consumed > 0
            buffer = buffer[exc.consumed :]
            continue
        except DeviceError:  # a well-formed error line: skip past it, as the next poll would
            ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
            buffer = buffer[min(ends) + 1 :] if ends else b""
            continue
        if consumed == 0:
            break
        buffer = buffer[consumed:]
        if frame is not None:
            found.append(frame)
    return found


def line_decoder(codec: LineCodec) -> Any:
    def decode(buffer: bytes) -> tuple[int, Any]:
        consumed, text = codec.split(buffer)
        if text is None:
            return consumed, None
        try:
            return consumed, codec.reading("d", codec.fields(text), {})
        except FrameError as exc:
            raise FrameError(str(exc), consumed=consumed) from exc

    return decode


def vik_decoder(buffer: bytes) -> tuple[int, Any]:
    consumed, text = split_reply(buffer)
    try:
        return consumed, (None if text is None else parse_activity_bq(text))
    except FrameError as exc:
        raise FrameError(str(exc), consumed=consumed) from exc


def vdc_decoder(buffer: bytes) -> tuple[int, Any]:
    consumed, text = split_reply(buffer)
    try:
        return consumed, (None if text is None else parse_stream_line(text))
    except FrameError as exc:
        raise FrameError(str(exc), consumed=consumed) from exc


DECODERS = {
    "dap-ascii-example": (line_decoder(CODECS["dap-ascii-example"]), b"01:12.50 uGym2,0.35 uGym2/s*37\r\n"),
    "atomlab500": (line_decoder(CODECS["atomlab500"]), b"Tc-99m   123.4 mCi\r\n"),
    "vik202": (vik_decoder, b">7.4000E+08 Bq\r\n"),
    "vdc404": (vdc_decoder, b"Tc-99m:123.45 MBq\r\n"),
}


@pytest.mark.parametrize("name", sorted(DECODERS))
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_frame_or_device_errors(name: str, data: bytes) -> None:
    drain(DECODERS[name][0], data)


@pytest.mark.parametrize("name", sorted(DECODERS))
@given(
    junk=st.binary(max_size=60).filter(lambda b: b"\r" not in b and b"\n" not in b),
    tail=st.binary(max_size=60),
)
def test_valid_frame_after_garbage_is_found(name: str, junk: bytes, tail: bytes) -> None:
    decode, valid = DECODERS[name]
    assert drain(decode, junk + b"\r\n" + valid + tail)


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_delimited_framing_resyncs_after_garbage(junk: bytes, tail: bytes) -> None:
    buffer = junk + b"\x02PAYLOAD\x03" + tail
    frames = drain(lambda b: split_delimited(b, b"\x02", b"\x03", 64), buffer)
    assert b"PAYLOAD" in frames
