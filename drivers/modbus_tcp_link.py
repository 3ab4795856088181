"""Modbus TCP block reads on the agent's event loop: a thin asyncio transport over the pure framing
of drivers/modbus_tcp_codec.py. No thread per poll: the request is written, the answer arrives as a
loop callback, a timer bounds the wait.

One connection per device, one request in flight (many devices and gateways answer one request at
a time). Errors map to the error tree:
- cannot connect, connection closed, no answer within `timeout_s` → TransportError, and the
  connection is dropped (a late answer must never be taken for the next request's);
- a stream that is out of step (impossible MBAP length, another protocol id, an answer to another
  transaction, more answers than requests) → FrameError, connection dropped;
- an exception response → DeviceError; an answer of the wrong shape → FrameError (the stream is
  still in step, the connection stays).
"""

from __future__ import annotations

__all__ = ["TcpRegisterLink"]

import asyncio
from collections import deque

from core.errors import DeviceError, DriverError, FrameError, TransportError
from drivers.modbus_map import Block
from drivers.modbus_tcp_codec import decode_read_response, encode_read_request, frame_size

MAX_QUEUED_FRAMES = 4  # answers nobody asked for beyond this: not a Modbus server in step with us


class _Stream(asyncio.Protocol):
    """Cuts the byte stream into frames and hands the next one to whoever waits for it."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.frames: deque[bytes] = deque()
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.failure: DriverError | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            while (size := frame_size(self.buffer)) is not None and len(self.buffer) >= size:
                self.frames.append(bytes(self.buffer[:size]))
                del self.buffer[:size]
            if len(self.frames) > MAX_QUEUED_FRAMES:
                raise FrameError(f"{len(self.frames)} answers queued for one request")
        except FrameError as exc:
            self._fail(exc)
            return
        self._deliver()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(TransportError(f"connection closed{f': {exc}' if exc else ''}"))

    def _fail(self, error: DriverError) -> None:
        if self.failure is None:
            self.failure = error
        if self.transport is not None:
            self.transport.close()
        self._deliver()

    def _deliver(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.failure is not None:  # a stream out of step: whatever is queued is not trusted
            waiter.set_exception(self.failure)
        elif self.frames:
            waiter.set_result(self.frames.popleft())


class TcpRegisterLink:
    """One Modbus TCP connection to `host:port`, read block by block on the running loop."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.where = f"{host}:{port}"
        self._host, self._port, self._timeout_s = host, port, timeout_s
        self._stream: _Stream | None = None
        self._transaction = 0

    async def open(self) -> None:
        self.close()
        loop = asyncio.get_running_loop()
        try:
            _, stream = await asyncio.wait_for(
                loop.create_connection(_Stream, self._host, self._port), self._timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot connect to Modbus device at {self.where}: {exc}") from exc
        self._stream = stream

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and stream.transport is not None:
            stream.transport.close()

    def _expire(self, waiter: asyncio.Future[bytes], block: Block) -> None:
        if not waiter.done():
            where = f"{self.where}: {block.table} {block.address}"
            waiter.set_exception(TransportError(f"{where}: no answer in {self._timeout_s:g} s"))

    async def read(self, block: Block, device_id: int) -> list[int] | list[bool]:
        stream = self._stream
        if stream is None or stream.transport is None or stream.failure is not None:
            failure = stream.failure if stream is not None else None
            self.close()
            raise TransportError(f"{self.where}: not connected{f' ({failure})' if failure else ''}")
        self._transaction = transaction = (self._transaction + 1) & 0xFFFF
        loop = asyncio.get_running_loop()
        stream.waiter = waiter = loop.create_future()
        timer = loop.call_later(self._timeout_s, self._expire, waiter, block)
        stream.transport.write(encode_read_request(transaction, device_id, block))
        stream._deliver()  # a frame already queued is answered (and found out of step) at once
        try:
            frame = await waiter
        except TransportError:
            self.close()
            raise
        except FrameError as exc:
            self.close()
            raise FrameError(f"{self.where}: {exc}") from exc
        finally:
            timer.cancel()
            stream.waiter = None
        if int.from_bytes(frame[:2], "big") != transaction:  # out of step: nothing after it is ours
            self.close()
            raise FrameError(f"{self.where}: answer to transaction {int.from_bytes(frame[:2], 'big')}, "
                             f"expected {transaction}")  # fmt: skip
        try:
            return decode_read_response(frame, transaction, device_id, block)
        except DeviceError as exc:
            raise DeviceError(f"{self.where}: {exc}", code=exc.code) from exc
        except FrameError as exc:
            raise FrameError(f"{self.where}: {exc}") from exc
