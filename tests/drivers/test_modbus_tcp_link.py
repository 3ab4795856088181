"""The Modbus TCP link on the event loop (drivers/modbus_tcp_link.py) against a real loopback server
that misbehaves on purpose: answers cut into pieces, late, to another transaction, unasked, garbage,
or not at all. Every case ends in the error tree's error within the timeout, and a connection that
is out of step is dropped so nothing after it is taken for an answer."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable

import pytest

from core.errors import DeviceError, FrameError, TransportError
from drivers.modbus_map import Block
from drivers.modbus_tcp_link import TcpRegisterLink

BLOCK = Block("holding_register", 0, 2)
Behaviour = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


def answer_to(request: bytes, registers: tuple[int, ...] = (1, 2), tid_shift: int = 0) -> bytes:
    tid, _, _, unit, function = struct.unpack_from(">HHHBB", request)
    data = bytes([2 * len(registers)]) + struct.pack(f">{len(registers)}H", *registers)
    return struct.pack(">HHHBB", (tid + tid_shift) & 0xFFFF, 0, 2 + len(data), unit, function) + data


async def serve(behaviours: list[Behaviour]) -> tuple[asyncio.Server, int, list[int]]:
    """A server that meets the n-th request with behaviours[n]; counts connections."""
    connections: list[int] = []
    requests = iter(behaviours)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while request := await reader.read(12):
                await next(requests)(request, writer)
        except (ConnectionError, StopIteration, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], connections


async def normal(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(answer_to(request))


async def in_pieces(request: bytes, writer: asyncio.StreamWriter) -> None:
    for byte in answer_to(request):
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.001)


async def silent(request: bytes, writer: asyncio.StreamWriter) -> None:
    pass


async def late(request: bytes, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(0.3)  # after the client's 0.1 s timeout
    writer.write(answer_to(request))


async def other_transaction(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(answer_to(request, tid_shift=5))


async def twice(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(answer_to(request) * 6)  # more answers than one request can have


async def garbage(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")


async def hang_up(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def exception_02(request: bytes, writer: asyncio.StreamWriter) -> None:
    tid, _, _, unit, function = struct.unpack_from(">HHHBB", request)
    writer.write(struct.pack(">HHHBBB", tid, 0, 3, unit, function | 0x80, 0x02))


async def wrong_count(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(answer_to(request, registers=(1, 2, 3)))


def run(behaviours: list[Behaviour], reads: int) -> tuple[list[object], int]:
    """Open a link, make `reads` reads (reconnecting after a dropped connection); what each gave."""

    async def scenario() -> tuple[list[object], int]:
        server, port, connections = await serve(behaviours)
        link = TcpRegisterLink("127.0.0.1", port, timeout_s=0.1)
        outcomes: list[object] = []
        try:
            await link.open()
            for _ in range(reads):
                try:
                    outcomes.append(await link.read(BLOCK, 1))
                except TransportError as exc:
                    outcomes.append(exc)
                    await link.open()  # what the poller does next time: a new connection
                except (FrameError, DeviceError) as exc:
                    outcomes.append(exc)
        finally:
            link.close()
            server.close()
            await server.wait_closed()
        return outcomes, len(connections)

    return asyncio.run(scenario())


def test_answers_cut_into_pieces_are_put_together() -> None:
    outcomes, connections = run([normal, in_pieces, normal], 3)
    assert outcomes == [[1, 2], [1, 2], [1, 2]] and connections == 1


def test_silence_is_a_transport_error_and_a_late_answer_is_never_taken_for_the_next() -> None:
    outcomes, connections = run([late, normal], 2)
    assert isinstance(outcomes[0], TransportError) and "no answer in 0.1 s" in str(outcomes[0])
    assert outcomes[1] == [1, 2] and connections == 2  # the late answer died with its connection


def test_an_answer_to_another_transaction_drops_the_connection() -> None:
    outcomes, connections = run([other_transaction, normal, normal], 3)
    assert isinstance(outcomes[0], FrameError) and "transaction" in str(outcomes[0])
    assert isinstance(outcomes[1], TransportError) and "not connected" in str(outcomes[1])
    assert outcomes[2] == [1, 2] and connections == 2


def test_unasked_answers_and_garbage_are_frame_errors_on_a_dropped_connection() -> None:
    outcomes, _ = run([twice], 1)
    assert isinstance(outcomes[0], FrameError) and "answers queued" in str(outcomes[0])
    outcomes, _ = run([garbage], 1)
    assert isinstance(outcomes[0], FrameError) and "protocol id" in str(outcomes[0])


def test_a_server_that_hangs_up_is_a_transport_error() -> None:
    outcomes, connections = run([hang_up, normal], 2)
    assert isinstance(outcomes[0], TransportError) and "closed" in str(outcomes[0])
    assert outcomes[1] == [1, 2] and connections == 2


def test_an_exception_or_a_wrong_shape_keeps_the_connection() -> None:
    outcomes, connections = run([exception_02, wrong_count, normal], 3)
    assert isinstance(outcomes[0], DeviceError) and outcomes[0].code == "0x02"
    assert isinstance(outcomes[1], FrameError) and "3 registers for 2" in str(outcomes[1])
    assert outcomes[2] == [1, 2] and connections == 1


def test_nobody_listening_is_a_transport_error() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(TransportError, match="cannot connect"):
            await TcpRegisterLink("127.0.0.1", port, timeout_s=0.5).open()

    asyncio.run(scenario())


def test_after_a_timeout_the_link_is_closed_until_reopened() -> None:
    """Without the poller's reconnect in between: the late answer has arrived by the second read,
    and it must not be returned as that read's answer."""

    async def scenario() -> None:
        server, port, connections = await serve([late, normal])
        link = TcpRegisterLink("127.0.0.1", port, timeout_s=0.1)
        try:
            await link.open()
            with pytest.raises(TransportError, match="no answer"):
                await link.read(BLOCK, 1)
            await asyncio.sleep(0.4)  # the late answer is sent now
            with pytest.raises(TransportError, match="not connected"):
                await link.read(BLOCK, 1)
            await link.open()
            assert await link.read(BLOCK, 1) == [1, 2] and len(connections) == 2
        finally:
            link.close()
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
