"""A loopback TCP proxy in front of a broker that can swallow the broker's acknowledgements.

It passes CONNACK and everything the client sends, and while `swallowing` drops every PUBACK,
PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK and PINGRESP the broker sends back: the connection looks
alive (TCP up, CONNACK received) but nothing is ever acknowledged — the half-dead link a NAT or a
stuck broker thread gives in the field. Used by tests/chaos/ to check the agent notices it.
"""

from __future__ import annotations

__all__ = ["AckSwallowingProxy"]

import socket
import threading

from simulators.mosquitto import free_port

SWALLOWED = {4, 5, 6, 7, 9, 11, 13}  # MQTT control packet types (upper nibble of the first byte)


class AckSwallowingProxy:
    def __init__(self, broker_host: str, broker_port: int) -> None:
        self.broker = (broker_host, broker_port)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.swallowing = threading.Event()
        self.swallowed = 0
        self.connections = 0
        self._server = socket.create_server((self.host, self.port))
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def swallow(self) -> None:
        self.swallowing.set()

    def heal(self) -> None:
        self.swallowing.clear()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.broker, timeout=2.0)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            threading.Thread(target=self._copy, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._replies, args=(upstream, client), daemon=True).start()

    def _copy(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        self._close_pair(source, sink)

    def _replies(self, broker: socket.socket, client: socket.socket) -> None:
        """Broker → client, packet by packet, dropping acknowledgements while swallowing."""
        buffer = b""
        try:
            while data := broker.recv(65536):
                buffer += data
                while (length := _split(buffer)) is not None:
                    frame, buffer = buffer[:length], buffer[length:]
                    if self.swallowing.is_set() and frame[0] >> 4 in SWALLOWED:
                        self.swallowed += 1
                        continue
                    client.sendall(frame)
        except OSError:
            pass
        self._close_pair(broker, client)

    def _close_pair(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass

    def drop_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        self._close_pair(*sockets)

    def close(self) -> None:
        self._closed = True
        self._server.close()
        self.drop_connections()


def _split(buffer: bytes) -> int | None:
    """Length of the first complete MQTT packet in `buffer` (fixed header + remaining length)."""
    if len(buffer) < 2:
        return None
    remaining, multiplier, index = 0, 1, 1
    while True:
        if index >= len(buffer):
            return None
        byte = buffer[index]
        remaining += (byte & 0x7F) * multiplier
        index += 1
        if not byte & 0x80:
            break
        multiplier *= 128
        if index > 4:
            raise OSError("malformed MQTT remaining length")
    total = index + remaining
    return total if len(buffer) >= total else None
