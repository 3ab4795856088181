"""Modbus TCP framing (drivers/modbus_tcp_codec.py): the bytes agree with pymodbus' own framer, and
every answer that is not the answer to this request is refused with the error tree's error."""

from __future__ import annotations

import struct

import pytest
from pymodbus.framer import FramerSocket
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    ReadDiscreteInputsResponse,
)
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
)

from core.errors import DeviceError, FrameError
from drivers.modbus_map import Block
from drivers.modbus_tcp_codec import decode_read_response, encode_read_request, frame_size

REQUESTS: dict[str, type[ModbusPDU]] = {
    "coil": ReadCoilsRequest,
    "discrete_input": ReadDiscreteInputsRequest,
    "holding_register": ReadHoldingRegistersRequest,
    "input_register": ReadInputRegistersRequest,
}


def pymodbus_frame(pdu: ModbusPDU) -> bytes:
    return FramerSocket(DecodePDU(False)).buildFrame(pdu)


@pytest.mark.parametrize("table", sorted(REQUESTS))
def test_a_request_is_byte_for_byte_what_pymodbus_sends(table: str) -> None:
    block = Block(table, 0x1234, 10)  # type: ignore[arg-type]
    ours = encode_read_request(0xBEEF, 17, block)
    theirs = pymodbus_frame(REQUESTS[table](address=0x1234, count=10, dev_id=17, transaction_id=0xBEEF))
    assert ours == theirs


def test_registers_and_bits_from_pymodbus_answers() -> None:
    regs = pymodbus_frame(ReadInputRegistersResponse(registers=[0, 1, 0xFFFF], dev_id=3, transaction_id=7))
    assert frame_size(regs) == len(regs)
    assert decode_read_response(regs, 7, 3, Block("input_register", 0, 3)) == [0, 1, 0xFFFF]
    holding = pymodbus_frame(ReadHoldingRegistersResponse(registers=[42], dev_id=3, transaction_id=8))
    assert decode_read_response(holding, 8, 3, Block("holding_register", 9, 1)) == [42]
    bits = [True, False, True, True, False, False, False, False, True]  # 9 bits: two bytes
    coils = pymodbus_frame(ReadCoilsResponse(bits=bits, dev_id=3, transaction_id=9))
    assert decode_read_response(coils, 9, 3, Block("coil", 0, 9)) == bits
    inputs = pymodbus_frame(ReadDiscreteInputsResponse(bits=bits[:3], dev_id=3, transaction_id=10))
    assert decode_read_response(inputs, 10, 3, Block("discrete_input", 0, 3)) == bits[:3]


def test_an_exception_response_is_a_device_error_with_its_code() -> None:
    frame = pymodbus_frame(ExceptionResponse(0x03, 0x02, device_id=3, transaction=5))
    with pytest.raises(DeviceError, match="illegal data address") as info:
        decode_read_response(frame, 5, 3, Block("holding_register", 0, 2))
    assert info.value.code == "0x02"


def answer(tid: int = 1, unit: int = 1, function: int = 3, data: bytes = b"\x04\x00\x01\x00\x02") -> bytes:
    return struct.pack(">HHHBB", tid, 0, 2 + len(data), unit, function) + data


BLOCK = Block("holding_register", 0, 2)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (answer(tid=2), "transaction 2"),
        (answer(unit=9), "unit 9"),
        (answer(function=4), "function 0x04"),
        (answer(data=b"\x02\x00\x01"), "1 registers for 2"),
        (answer(data=b"\x04\x00\x01"), "byte count 4 but 2"),
        (answer()[:8], "too short"),
    ],
)
def test_an_answer_to_something_else_is_a_frame_error(frame: bytes, problem: str) -> None:
    with pytest.raises(FrameError, match=problem):
        decode_read_response(frame, 1, 1, BLOCK)


def test_too_few_bits_are_a_frame_error() -> None:
    with pytest.raises(FrameError, match="1 bytes of bits for 9 bits"):
        decode_read_response(answer(function=1, data=b"\x01\xff"), 1, 1, Block("coil", 0, 9))


def test_frame_size_waits_for_the_header_and_refuses_what_is_not_modbus() -> None:
    frame = answer()
    assert frame_size(frame[:5]) is None
    assert frame_size(frame[:6]) == len(frame)  # known before the rest has arrived
    with pytest.raises(FrameError, match="protocol id 7"):
        frame_size(b"\x00\x01\x00\x07\x00\x05")
    with pytest.raises(FrameError, match="length 2"):
        frame_size(b"\x00\x01\x00\x00\x00\x02")
    with pytest.raises(FrameError, match="length 4000"):
        frame_size(b"\x00\x01\x00\x00" + (4000).to_bytes(2, "big"))


def test_a_block_outside_the_protocol_limits_is_never_sent() -> None:
    with pytest.raises(ValueError, match="limits"):
        encode_read_request(1, 1, Block("holding_register", 0, 126))
    with pytest.raises(ValueError, match="limits"):
        encode_read_request(1, 1, Block("coil", 0, 2001))
