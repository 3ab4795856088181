"""What every serial instrument simulator shares: a pty, fault knobs, unplug and replug.

A family simulator implements `device_reply(buffer) -> (consumed, replies)` with its driver's own
codec, and `corrupt(reply)` (a reply with a bad checksum, or a flipped byte where there is none).
The fault knobs in `SerialFaults` are applied here, the same way for every family, and can be set
from another thread at any time:

- `delay_s` — each reply is held back that long;
- `junk` — that many next replies are preceded by junk bytes;
- `bad_checksum` — that many next replies are corrupted;
- `error` — the next request gets this device error (the family decides how it looks);
- `over_range` — readings report over-range (families that have it);
- `silent` — no replies at all (a pulled RS-232 cable behind a USB adapter);
- `baudrate` — the device's own speed; when the host opened the pty at another speed, replies come
  out garbled, as they do on a real line.

`start(link=…)` keeps a symlink pointing at the current pty (a stand-in for `/dev/serial/by-id`);
`unplug()` closes the pty, `replug()` opens a new one and repoints the link.
"""

from __future__ import annotations

__all__ = ["JUNK", "SerialFaults", "SerialSimulator", "garble"]

import os
import time
from dataclasses import dataclass

from simulators.pty_device import PtyDevice

JUNK = bytes([0x00, 0xFF, 0x13, 0x7F, 0x80, 0x1B, 0x0D, 0x0A])


@dataclass
class SerialFaults:
    delay_s: float = 0.0
    junk: int = 0
    bad_checksum: int = 0
    error: str | None = None
    over_range: bool = False
    silent: bool = False
    baudrate: int | None = None


def garble(reply: bytes) -> bytes:
    """What a byte stream looks like read at the wrong speed: high bytes and broken framing."""
    return bytes(((b * 7) | 0x80) & 0xFF for b in reply)


class SerialSimulator:
    baudrate = 9600

    def __init__(self) -> None:
        self.faults = SerialFaults()
        self.pty = PtyDevice(self._handle)
        self.link: str | None = None
        self.requests = 0

    # ------------------------------------------------------------ per family

    def device_reply(self, buffer: bytes) -> tuple[int, list[bytes]]:
        raise NotImplementedError

    def corrupt(self, reply: bytes) -> bytes:
        if len(reply) < 3:
            return reply
        middle = len(reply) // 2
        return reply[:middle] + bytes([reply[middle] ^ 0x01]) + reply[middle + 1 :]

    # ------------------------------------------------------------ faults

    def _handle(self, buffer: bytes) -> tuple[int, list[bytes]]:
        return self._apply_faults(*self.device_reply(buffer))

    def _apply_faults(self, consumed: int, replies: list[bytes]) -> tuple[int, list[bytes]]:
        faults = self.faults
        if not replies or faults.silent:
            return consumed, []
        device_baud = faults.baudrate or self.baudrate
        host_baud = self.pty.host_baudrate()
        if host_baud is not None and host_baud != device_baud:
            return consumed, [garble(r) for r in replies]
        if faults.bad_checksum > 0:
            corrupted = [self.corrupt(r) for r in replies]
            if corrupted != replies:
                faults.bad_checksum -= 1
                replies = corrupted
        if faults.junk > 0:
            faults.junk -= 1
            replies = [JUNK, *replies]
        if faults.delay_s > 0:
            time.sleep(faults.delay_s)
        return consumed, replies

    # ------------------------------------------------------------ pty, unplug, replug

    def start(self, link: str | None = None) -> str:
        self.link = link or self.link
        path = self.pty.start()
        if self.link:
            tmp = f"{self.link}.tmp"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(path, tmp)
            os.replace(tmp, self.link)
        return path

    @property
    def path(self) -> str:
        return self.pty.path

    def unplug(self) -> None:
        self.pty.unplug()
        if self.link and os.path.lexists(self.link):
            os.unlink(self.link)

    def replug(self) -> str:
        self.pty.unplug()
        return self.start()

    def stop(self) -> None:
        self.unplug()
