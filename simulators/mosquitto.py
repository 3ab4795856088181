"""A private Mosquitto broker on a free loopback port, for tests, benchmarks and commissioning.

Started from the `mosquitto` binary (Debian package `mosquitto`); `scripts/ensure-mosquitto.sh`
installs it. Persistence is on (in the broker's own temp dir) so a restart keeps persistent
subscriber sessions, and the per-client queue is large so that a test subscriber is never the
one dropping messages (Mosquitto's default drops QoS 1 beyond 1000 queued per client).
"""

from __future__ import annotations

__all__ = ["MosquittoBroker", "MosquittoMissing", "find_mosquitto", "free_port"]

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class MosquittoMissing(RuntimeError):
    pass


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise MosquittoMissing(
            "the Mosquitto broker binary is not installed: run `bash scripts/ensure-mosquitto.sh` "
            "(as root it installs Debian's package) or `sudo apt-get install mosquitto`"
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MosquittoBroker:
    def __init__(
        self, port: int | None = None, listener_options: str = "", extra: str = "", acl: str = ""
    ) -> None:
        """`listener_options` go under the listener (TLS files); `extra` replaces anonymous access
        (e.g. "allow_anonymous false\npassword_file …"); `acl` is the text of an ACL file (e.g.
        "topic deny t/+/+/reading/#\ntopic readwrite #": a broker that refuses one topic)."""
        self.binary = find_mosquitto()
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._dir = Path(tempfile.mkdtemp(prefix="doseedge-mosquitto-"))
        # Started as root, mosquitto drops to the `mosquitto` user: without this it cannot write its
        # persistence file or log, and a restart silently forgets every persistent session.
        self._dir.chmod(0o777)
        self._process: subprocess.Popen[bytes] | None = None
        conf = self._dir / "mosquitto.conf"
        acl_line = ""
        if acl:
            (self._dir / "acl").write_text(acl)
            (self._dir / "acl").chmod(0o644)
            acl_line = f"acl_file {self._dir}/acl\n"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{listener_options}"
            f"{extra or 'allow_anonymous true'}\n"
            "persistence true\n"
            f"persistence_location {self._dir}/\n"
            "max_queued_messages 1000000\n"
            "max_inflight_messages 0\n"
            f"log_dest file {self._dir}/mosquitto.log\n"
            f"{acl_line}"
        )
        self.conf = conf

    def start(self, timeout_s: float = 5.0) -> None:
        self._process = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"mosquitto exited at start: {err}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self.thaw()
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def freeze(self) -> None:
        """SIGSTOP: the broker keeps its sockets open and answers nothing (a hung broker)."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGCONT)

    def log_text(self) -> str:
        path = self._dir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
