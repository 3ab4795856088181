"""The DIAMENTOR codec against golden frames and fuzzing; no ports."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import DeviceError, FrameError
from drivers.ptw_diamentor import PtwDiamentorConfig, to_measurements
from drivers.ptw_diamentor_codec import (
    DAP_UNITS,
    decode_line,
    encode_command,
    format_measurement,
    parse_measurement,
    parse_reply,
    parse_unit,
)

GOLDEN = tomllib.loads((Path(__file__).parent / "ptw_diamentor" / "golden.toml").read_text())["case"]
PREFIX = {"M": "M", "U": "U", "PTW": "CRS"}


def decode_case(case: dict[str, Any]) -> tuple[str, Any]:
    raw = case["reply"].encode("latin-1")
    try:
        consumed, text = decode_line(raw)
        if consumed == 0:
            return "need_more", None
        assert text is not None
        text = parse_reply(text, PREFIX[case["request"]])
        if case["request"] == "M":
            return "measurement", parse_measurement(text)
        if case["request"] == "U":
            return "unit", parse_unit(text)
        return "identity", text
    except DeviceError as exc:
        return "device_error", exc
    except FrameError as exc:
        return "frame_error", exc


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_golden(case: dict[str, Any]) -> None:
    kind, value = decode_case(case)
    assert kind == case["kind"]
    if kind == "measurement":
        assert value.dap == pytest.approx(case["dap"])
        assert value.dap_rate == pytest.approx(case["dap_rate"])
        assert value.irradiation_time_s == case["irradiation_time_s"]
    elif kind == "unit":
        assert value.code == case["unit_code"]
    elif kind == "identity":
        assert value == case["identity"]
    elif kind == "device_error":
        assert value.code == case["code"]


def test_request_telegram_ends_with_cr_lf() -> None:
    assert encode_command("M") == b"M\r\n"
    assert encode_command("PTW") == b"PTW\r\n"


def test_canonical_units_from_micro_gray_square_metre_per_second() -> None:
    config = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port="x")
    sample = parse_measurement("M250.00,3.50,2,0")
    kap, rate, seconds = to_measurements(sample, DAP_UNITS[3], config)
    assert (kap.quantity, kap.unit) == ("kap", "Gy·cm²")
    assert kap.value == pytest.approx(2.5)  # 250 µGy·m² = 2.5 Gy·cm²
    assert rate.value == pytest.approx(3.5 * 0.01 * 60)  # per s → per min
    assert rate.raw_unit == "µGy·m²/s"
    assert seconds.value == 120


def test_roentgen_unit_uses_configured_air_kerma_per_roentgen() -> None:
    config = PtwDiamentorConfig(name="d", driver="ptw_diamentor", port="x", roentgen_to_gy=0.0087)
    kap, _, _ = to_measurements(parse_measurement("M100,0,0,0"), DAP_UNITS[4], config)
    assert kap.value == pytest.approx(0.87)


def test_formatted_measurement_round_trips() -> None:
    sample = parse_measurement(format_measurement(12.345, 0.5, 125))
    assert (sample.dap, sample.dap_rate, sample.irradiation_time_s) == (12.35, 0.5, 125)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_frame_error(data: bytes) -> None:
    buffer = data
    while buffer:
        try:
            consumed, text = decode_line(buffer)
        except FrameError as exc:
            assert exc.consumed > 0
            buffer = buffer[exc.consumed :]
            continue
        if consumed == 0:
            break
        buffer = buffer[consumed:]
        if text is not None:
            try:
                parse_measurement(parse_reply(text, "M"))
            except (FrameError, DeviceError):
                pass


@given(st.binary(max_size=60).filter(lambda b: b"\n" not in b), st.binary(max_size=60))
def test_valid_frame_after_garbage_is_found(junk: bytes, tail: bytes) -> None:
    buffer = junk + b"\r\n" + b"M1.25,0.50,0,7\r\n" + tail
    found = None
    while buffer and found is None:
        try:
            consumed, text = decode_line(buffer)
        except FrameError as exc:
            buffer = buffer[exc.consumed :]
            continue
        if consumed == 0:
            break
        buffer = buffer[consumed:]
        if text and text.startswith("M1.25"):
            found = parse_measurement(text)
    assert found is not None and found.irradiation_time_s == 7


@pytest.mark.parametrize("frame", ["M1e999,0.00,0,0", "M0.00,-1e999,0,0"])
def test_a_measurement_that_is_not_a_finite_number_is_a_frame_error(frame: str) -> None:
    with pytest.raises(FrameError, match="finite"):
        parse_measurement(frame)
