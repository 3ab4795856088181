"""Modbus TCP framing for the four read functions: pure, no I/O.

Source: Modbus Application Protocol Specification V1.1b3 (function codes 0x01–0x04, exception
responses) and Modbus Messaging on TCP/IP Implementation Guide V1.0b (the MBAP header: transaction
id, protocol id 0, length of what follows, unit id). High confidence: public specifications, and the
tests check the bytes against pymodbus' own framer and against pymodbus' server.

Why the agent frames Modbus TCP itself rather than through pymodbus' async client: a poll of the
example map through pymodbus' async client costs ~140 µs of CPU against ~105 µs for this framing on
the same event loop, and the whole point of reading TCP on the loop is the agent's CPU at idle and at
load (docs/decisions.md §28). pymodbus stays the Modbus RTU master (drivers/modbus_link.py) and the
simulators' server.

Every defect of what comes back is an error of the tree: an exception response is a DeviceError
carrying its code; an answer that is not the answer to this request (transaction id, unit id,
function, byte count, length) is a FrameError.
"""

from __future__ import annotations

__all__ = [
    "FUNCTION_CODES",
    "MAX_ADU",
    "MBAP_SIZE",
    "decode_read_response",
    "encode_read_request",
    "frame_size",
]

import struct

from core.errors import DeviceError, FrameError
from drivers.modbus_link import EXCEPTION_NAMES
from drivers.modbus_map import BIT_TABLES, MAX_BLOCK_BITS, MAX_BLOCK_REGISTERS, Block

FUNCTION_CODES = {"coil": 0x01, "discrete_input": 0x02, "holding_register": 0x03, "input_register": 0x04}
MBAP_SIZE = 7  # transaction id (2), protocol id (2), length (2), unit id (1)
MAX_ADU = 260  # MBAP 7 + PDU ≤ 253 (TCP/IP Implementation Guide §3.1.3)
_REQUEST = struct.Struct(">HHHBBHH")
_HEADER = struct.Struct(">HHHBB")  # MBAP + function code


def encode_read_request(transaction_id: int, device_id: int, block: Block) -> bytes:
    """The 12-byte request reading `block` from unit `device_id`."""
    limit = MAX_BLOCK_BITS if block.table in BIT_TABLES else MAX_BLOCK_REGISTERS
    if not 1 <= block.count <= limit or not 0 <= block.address <= 0xFFFF:
        raise ValueError(f"block {block} outside the protocol's limits")
    return _REQUEST.pack(
        transaction_id & 0xFFFF, 0, 6, device_id, FUNCTION_CODES[block.table], block.address, block.count
    )


def frame_size(buffer: bytes | bytearray) -> int | None:
    """Bytes of the first frame in `buffer` once its header is in, else None (wait for more).

    A length field that no Modbus frame can have means the stream is not Modbus or is out of step:
    FrameError (the caller drops the connection; nothing after it can be trusted)."""
    if len(buffer) < 6:
        return None
    protocol: int
    length: int
    protocol, length = struct.unpack_from(">HH", buffer, 2)
    if protocol != 0:
        raise FrameError(f"MBAP protocol id {protocol}, not 0 (Modbus)")
    if not 3 <= length <= MAX_ADU - 6:
        raise FrameError(f"MBAP length {length} outside 3…{MAX_ADU - 6}")
    return 6 + length


def decode_read_response(
    frame: bytes | bytearray, transaction_id: int, device_id: int, block: Block
) -> list[int] | list[bool]:
    """The registers (or `block.count` bits) of one complete frame answering this request."""
    if len(frame) < MBAP_SIZE + 2:
        raise FrameError(f"Modbus TCP answer of {len(frame)} bytes is too short")
    tid, _protocol, _length, unit, function = _HEADER.unpack_from(frame)
    if tid != transaction_id & 0xFFFF:
        raise FrameError(f"answer to transaction {tid}, expected {transaction_id & 0xFFFF}")
    if unit != device_id:
        raise FrameError(f"answer from unit {unit}, expected {device_id}")
    expected = FUNCTION_CODES[block.table]
    if function == expected | 0x80:
        code = frame[MBAP_SIZE + 1]
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        where = f"{block.table} {block.address}+{block.count}"
        raise DeviceError(f"{where}: exception 0x{code:02X} {name}", code=f"0x{code:02X}")
    if function != expected:
        raise FrameError(f"answer with function 0x{function:02X}, expected 0x{expected:02X}")
    byte_count = frame[MBAP_SIZE + 1]
    data = frame[MBAP_SIZE + 2 :]
    if len(data) != byte_count:
        raise FrameError(f"byte count {byte_count} but {len(data)} data bytes")
    if block.table in BIT_TABLES:
        if byte_count != (block.count + 7) // 8:
            raise FrameError(f"{byte_count} bytes of bits for {block.count} bits")
        return [bool(data[i >> 3] >> (i & 7) & 1) for i in range(block.count)]
    if byte_count != 2 * block.count:
        raise FrameError(f"{byte_count // 2} registers for {block.count}")
    return list(struct.unpack_from(f">{block.count}H", data))
