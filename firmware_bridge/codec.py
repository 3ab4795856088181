"""The bridge's line protocol: one frame per line, with a sequence number and a CRC-16.

Written in the subset of Python that MicroPython runs, and imported unchanged by the host driver
(drivers/bridge.py): one implementation on both ends of the cable; golden vectors in
tests/firmware_bridge/ are checked against it on CPython.

    @<seq> <KIND> <key>=<value>;<key>=<value>*<crc>\\n

- `seq`: decimal 0–65535, the sender's own counter, +1 per frame, wrapping to 0;
- `KIND`: upper-case letters (HELLO, STAT, ACK, NAK from the board; INFO, POLL, PAT from the host);
- fields: keys `[a-z0-9_]`, values `[A-Za-z0-9_.:/+-]` (lists use `/`), in the order given;
- `crc`: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) of the bytes
  between `@` and `*`, four upper-case hex digits. Check value: "123456789" → 29B1.
Lines are printable ASCII, at most MAX_LINE bytes with the newline; a carriage return before the
newline is ignored. Anything else is a CodecError (a ValueError, so the board needs no other class).
"""

MAX_LINE = 240
MAX_SEQ = 65535
_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_VALUE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/+-"


class CodecError(ValueError):
    """A line that is not a valid frame: bad shape, bad characters, bad CRC, too long."""


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, bit by bit: small and fast enough for 240-byte lines on an RP2040."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def next_seq(seq: int) -> int:
    return 0 if seq >= MAX_SEQ else seq + 1


def _check_text(text: str, allowed: str, what: str) -> None:
    if not text:
        raise CodecError("empty " + what)
    for char in text:
        if char not in allowed:
            raise CodecError("bad character in " + what + ": " + repr(text[:20]))


def encode(seq: int, kind: str, fields: list[tuple[str, str]]) -> bytes:
    """One frame as bytes, newline included. ValueError for a field the protocol cannot carry."""
    if not 0 <= seq <= MAX_SEQ:
        raise CodecError("seq out of range: " + str(seq))
    _check_text(kind, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "kind")
    parts = []
    for key, value in fields:
        _check_text(key, _KEY_CHARS, "key")
        _check_text(value, _VALUE_CHARS, "value")
        parts.append(key + "=" + value)
    body = (str(seq) + " " + kind + " " + ";".join(parts)).encode()
    line = b"@" + body + b"*" + f"{crc16(body):04X}".encode() + b"\n"
    if len(line) > MAX_LINE:
        raise CodecError("frame longer than " + str(MAX_LINE) + " bytes")
    return line


def decode(line: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    """(seq, kind, fields) of one line (with or without its newline); CodecError if it is not a frame."""
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) + 1 > MAX_LINE:
        raise CodecError("line longer than " + str(MAX_LINE) + " bytes")
    for byte in line:
        if byte < 0x20 or byte > 0x7E:
            raise CodecError("non-printable byte in line")
    if len(line) < 8 or line[0:1] != b"@" or line[-5:-4] != b"*":
        raise CodecError("not a frame: " + repr(line[:40]))
    body = line[1:-5]
    try:
        crc = int(line[-4:].decode(), 16)
    except ValueError:
        raise CodecError("bad crc digits") from None
    if line[-4:].upper() != line[-4:] or crc != crc16(body):
        raise CodecError("crc mismatch")
    text = body.decode()
    parts = text.split(" ")
    if len(parts) != 3:
        raise CodecError("frame needs seq, kind and fields")
    seq_text, kind, field_text = parts
    if not seq_text.isdigit() or len(seq_text) > 5 or int(seq_text) > MAX_SEQ:
        raise CodecError("bad seq " + repr(seq_text[:8]))
    _check_text(kind, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "kind")
    fields = []
    if field_text:
        for item in field_text.split(";"):
            eq = item.find("=")
            if eq < 0:
                raise CodecError("field without '=': " + repr(item[:20]))
            key, value = item[:eq], item[eq + 1 :]
            _check_text(key, _KEY_CHARS, "key")
            _check_text(value, _VALUE_CHARS, "value")
            fields.append((key, value))
    return int(seq_text), kind, fields


def split_line(buffer: bytes) -> tuple[int, bytes | None]:
    """The first complete line of `buffer`: (consumed, line); (0, None) means "need more bytes".
    A run longer than MAX_LINE without a newline is consumed and returned as-is (it fails decode)."""
    end = buffer.find(b"\n")
    if end < 0:
        if len(buffer) > MAX_LINE:
            return len(buffer), buffer
        return 0, None
    return end + 1, buffer[: end + 1]


def field(fields: list[tuple[str, str]], key: str) -> str | None:
    """The value of `key` among `fields`, or None."""
    for name, value in fields:
        if name == key:
            return value
    return None
