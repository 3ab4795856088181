"""The one seam to pymodbus: block reads over Modbus TCP or RTU, errors mapped to the error tree.

Why pymodbus' *sync* clients: the agent's poller already runs every blocking driver call in a
worker thread (`asyncio.to_thread`, agent/poller.py). A sync client is a plain socket or pyserial
port owned by that call; pymodbus' async clients are bound to the loop they were created on, so
using them here would mean a private event loop plus thread per device for no gain. pymodbus
3.16 maintains the sync transaction path beside the async one (`TransactionManager.sync_execute`).

pymodbus facts checked on 3.16.1 (installed source): clients are keyword-only after the first
argument; the unit is `device_id=` (not `slave=`); `ModbusSerialClient(port)` opens `port` with
`serial.serial_for_url`, so `socket://127.0.0.1:P` gives RTU framing over TCP for tests; a
timeout raises ModbusIOException, a dropped or refused connection ConnectionException; an
exception response comes back as a PDU whose `isError()` is true, with `exception_code`.

Mapping: cannot connect / timeout / closed → TransportError; exception response → DeviceError
(code "0x02" …); an answer of the wrong shape → FrameError.
"""

from __future__ import annotations

__all__ = ["EXCEPTION_NAMES", "ModbusLine", "PymodbusLink", "RegisterLink", "rtu_line"]

import logging
import threading
from typing import Protocol

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException

from core.errors import DeviceError, FrameError, TransportError
from drivers.modbus_map import BIT_TABLES, Block
from drivers.ports import port_key

EXCEPTION_NAMES = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}


class RegisterLink(Protocol):
    """What the driver needs from a Modbus master: open, one block read, close."""

    def open(self) -> None: ...

    def read(self, block: Block, device_id: int) -> list[int] | list[bool]: ...

    def close(self) -> None: ...


class ModbusLine:
    """One client and one lock. For RTU, one per RS-485 line, shared by every unit id on it.

    Opening a port twice fails (pymodbus opens it `exclusive=True`), and two masters on one line
    would interleave requests, so every device on a physical port uses its line's client and holds
    the line's lock for each request/response. The client closes when the last user closes.
    """

    def __init__(self, client: ModbusTcpClient | ModbusSerialClient) -> None:
        self.client = client
        self.lock = threading.RLock()
        self.users: set[int] = set()


_LINES: dict[str, ModbusLine] = {}
_LINES_LOCK = threading.Lock()


def rtu_line(port: str, baudrate: int, parity: str, stopbits: int, timeout_s: float) -> ModbusLine:
    """The process-wide line for `port` (by-id symlinks resolved), created on first use."""
    with _LINES_LOCK:
        key = port_key(port)
        if key not in _LINES:
            client = ModbusSerialClient(
                port,
                framer=FramerType.RTU,
                baudrate=baudrate,
                parity=parity,
                stopbits=stopbits,
                timeout=timeout_s,
                retries=0,
            )
            _LINES[key] = ModbusLine(client)
        return _LINES[key]


class PymodbusLink:
    """A pymodbus sync client for Modbus TCP (`host`, `tcp_port`) or RTU (`port`: path or URL)."""

    def __init__(
        self,
        *,
        transport: str,
        host: str = "",
        tcp_port: int = 502,
        port: str = "",
        baudrate: int = 19200,
        parity: str = "N",
        stopbits: int = 1,
        timeout_s: float = 1.0,
    ) -> None:
        self.where = f"{host}:{tcp_port}" if transport == "tcp" else port
        # pymodbus logs every failed request at ERROR with a packet dump; the agent's poller logs on
        # lost/recovered transitions instead. Only quieten it if nobody configured its level.
        pymodbus_log = logging.getLogger("pymodbus")
        if pymodbus_log.level == logging.NOTSET:
            pymodbus_log.setLevel(logging.CRITICAL)
        self._client: ModbusTcpClient | ModbusSerialClient
        if transport == "tcp":
            # A TCP connection is a line of its own (a gateway's unit ids each get a connection).
            self.line = ModbusLine(ModbusTcpClient(host, port=tcp_port, timeout=timeout_s, retries=0))
        else:
            self.line = rtu_line(port, baudrate, parity, stopbits, timeout_s)
        self._client = self.line.client

    def open(self) -> None:
        with self.line.lock:
            self.line.users.add(id(self))
            if not self._client.connect():
                raise TransportError(f"cannot connect to Modbus device at {self.where}")

    def close(self) -> None:
        with self.line.lock:
            self.line.users.discard(id(self))
            if not self.line.users:
                self._client.close()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16

    def read(self, block: Block, device_id: int) -> list[int] | list[bool]:
        with self.line.lock:
            return self._read(block, device_id)

    def _read(self, block: Block, device_id: int) -> list[int] | list[bool]:
        client = self._client
        try:
            if block.table == "coil":
                pdu = client.read_coils(block.address, count=block.count, device_id=device_id)
            elif block.table == "discrete_input":
                pdu = client.read_discrete_inputs(block.address, count=block.count, device_id=device_id)
            elif block.table == "input_register":
                pdu = client.read_input_registers(block.address, count=block.count, device_id=device_id)
            else:
                pdu = client.read_holding_registers(block.address, count=block.count, device_id=device_id)
        except (ModbusException, OSError) as exc:
            # A timeout may leave a late answer in flight: drop the connection so it cannot be
            # taken for the answer to the next request.
            client.close()  # type: ignore[no-untyped-call]
            raise TransportError(f"{self.where}: {block.table} {block.address}: {exc}") from exc
        if pdu.isError():
            code = pdu.exception_code
            name = EXCEPTION_NAMES.get(code, "unknown exception")
            raise DeviceError(
                f"{self.where}: {block.table} {block.address}+{block.count}: exception 0x{code:02X} {name}",
                code=f"0x{code:02X}",
            )
        if block.table in BIT_TABLES:
            bits = list(pdu.bits)  # padded to whole bytes by the protocol
            if len(bits) < block.count:
                raise FrameError(
                    f"{self.where}: {block.table} {block.address}: {len(bits)} of {block.count} bits"
                )
            return bits[: block.count]
        registers = list(pdu.registers)
        if len(registers) != block.count:
            raise FrameError(
                f"{self.where}: {block.table} {block.address}: {len(registers)} registers for {block.count}"
            )
        return registers
