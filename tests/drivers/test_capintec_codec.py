"""The Capintec codec against golden frames and fuzzing; no ports."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import FrameError
from drivers.capintec_accuracy import parse_accuracy_measurement, parse_accuracy_source
from drivers.capintec_codec import (
    capintec_checksum,
    decode_frame,
    device_nuclide_name,
    encode_frame,
    format_activity,
    format_reading,
    normalise_nuclide,
    parse_configuration,
    parse_daily_check,
    parse_reading,
    parse_serial,
    to_measurements,
)

GOLDEN = tomllib.loads((Path(__file__).parent / "capintec_crc" / "golden.toml").read_text())["case"]


def decode_case(case: dict[str, Any]) -> tuple[str, Any]:
    raw = case["frame"].encode("latin-1")
    try:
        consumed, frame = decode_frame(raw)
        if frame is None:
            return "need_more", None
        assert consumed == len(raw)
        if frame.kind in ("ack", "error"):
            return {"ack": "ack", "error": "device_error"}[frame.kind], frame
        payload = frame.payload
        if payload[:1] in (b"D", b"B") and payload[1:2] == b"R":
            return "reading", parse_reading(payload)
        handlers = {b"DS": ("serial", parse_serial), b"DG": ("configuration", parse_configuration)}
        handlers[b"Dd"] = ("daily", parse_daily_check)
        handlers[b"Ds"] = ("accuracy_source", lambda p: parse_accuracy_source(p).as_data())
        handlers[b"Da"] = ("accuracy_measurement", lambda p: parse_accuracy_measurement(p).as_data())
        if payload[:2] in handlers:
            kind, parse = handlers[payload[:2]]
            return kind, parse(payload)
        return "data", payload
    except FrameError as exc:
        return "frame_error", exc


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_golden(case: dict[str, Any]) -> None:
    kind, value = decode_case(case)
    assert kind == case["kind"]
    if kind == "reading":
        assert value.chamber == case["chamber"]
        assert normalise_nuclide(value.nuclide_field) == case.get("nuclide")
        if "calibration_number" in case:
            assert value.nuclide_field == case["calibration_number"]
        measurements, status = to_measurements(value)
        assert status == case["status"]
        if "activity_mbq" in case:
            (activity,) = measurements
            assert (activity.quantity, activity.unit) == ("activity", "MBq")
            assert activity.value == pytest.approx(case["activity_mbq"])
            assert (activity.raw_value, activity.raw_unit) == (case["raw_value"], case["raw_unit"])
        elif "zero_test_mv" in case:
            assert measurements[0].unit == "mV" and measurements[0].value == case["zero_test_mv"]
        else:
            assert measurements == ()
    elif kind == "serial":
        assert value == case["serial_number"]
    elif kind == "configuration":
        assert ",".join(f"{c}:{t}" for c, t in value.items()) == case["chambers"]
    elif kind == "daily":
        assert value == case["daily"]
    elif kind in ("accuracy_source", "accuracy_measurement"):
        expected = {k: v for k, v in case.items() if k not in ("name", "frame", "kind")}
        assert set(expected) <= set(value)
        for key, wanted in expected.items():
            assert value[key] == (pytest.approx(wanted) if isinstance(wanted, float) else wanted), key
    elif kind == "device_error":
        assert value.code == case["code"]
    elif kind == "data":
        assert value == case["payload"].encode()


def test_checksum_self_check_of_the_reference() -> None:
    assert encode_frame(b"L") == b"$BL6#"
    assert encode_frame(b"R1") == b"$CR1H#"
    assert all(0x26 <= capintec_checksum(bytes([b])) <= 0x7E for b in range(256))


@pytest.mark.parametrize(
    ("field", "nuclide"),
    [("Tc99m", "Tc-99m"), ("F 18", "F-18"), ("I 131", "I-131"), ("Cs137", "Cs-137"), ("Y 90", "Y-90")],
)
def test_nuclide_names_both_ways(field: str, nuclide: str) -> None:
    assert normalise_nuclide(field) == nuclide
    assert device_nuclide_name(nuclide) == field


@given(st.floats(min_value=0.001, max_value=200_000.0), st.booleans())
def test_formatted_activity_reads_back_within_display_precision(activity_mbq: float, si: bool) -> None:
    text, digit = format_activity(activity_mbq, si)
    _, frame = decode_frame(format_reading(1, "Tc99m", text, digit))
    assert frame is not None
    (activity,), _ = to_measurements(parse_reading(frame.payload))
    assert activity.value == pytest.approx(activity_mbq, rel=0.01, abs=0.04)


def drain(buffer: bytes) -> list[Any]:
    """Decode everything in `buffer` the way the driver does; only FrameError may be raised."""
    frames = []
    while buffer:
        try:
            consumed, frame = decode_frame(buffer)
        except FrameError as exc:
            assert exc.consumed > 0
            buffer = buffer[exc.consumed :]
            continue
        if frame is None:
            break
        frames.append(frame)
        buffer = buffer[consumed:]
        if frame.kind == "data":
            for parse in (parse_reading, parse_accuracy_source, parse_accuracy_measurement):
                try:
                    parse(frame.payload)
                except FrameError:
                    pass
    return frames


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_frame_error(data: bytes) -> None:
    drain(data)


@given(st.binary(max_size=60), st.binary(max_size=60))
def test_valid_frame_surrounded_by_garbage_is_found(junk: bytes, tail: bytes) -> None:
    valid = b"$SDR1Tc99m    10.232V#"
    frames = drain(junk + valid + tail)
    assert any(f.kind == "data" and f.payload == valid[2:-2] for f in frames)
