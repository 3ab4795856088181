"""The MQTT link against a real Mosquitto (loopback): session, birth/will, watchdog, fallback, TLS."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.config import MqttConfig
from agent.link.mqtt_link import MqttLink
from simulators.mosquitto import MosquittoBroker, free_port
from tests.fakes import Subscriber

pytestmark = pytest.mark.broker
ROOT = "t/site/st"


def status(state: str) -> dict[str, Any]:
    return {"state": state}


def wait(predicate: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def make_link(port: int, **options: Any) -> MqttLink:
    config = MqttConfig(port=port, reconnect_min_s=0.05, reconnect_max_s=0.3, **options)
    return MqttLink(config, ROOT, "link-under-test", status)


def test_birth_acks_by_mid_and_reconnect_after_broker_restart(broker: MosquittoBroker) -> None:
    watcher = Subscriber(broker.host, broker.port, f"{ROOT}/#")
    link = make_link(broker.port)
    acked: list[int] = []
    link.on_ack = acked.append
    link.start()
    try:
        assert wait(lambda: link.connected) and link.protocol == "5"
        mid = link.publish("alarm", b'{"n":1}', qos=1)
        assert mid is not None and wait(lambda: mid in acked)
        broker.restart(down_s=0.2)
        assert wait(lambda: link.connected and link.reconnects == 1)
        assert wait(lambda: [b["state"] for b in watcher.bodies("/status")][-1:] == ["online"])
    finally:
        link.stop()
    assert wait(lambda: watcher.bodies("/status")[-1]["state"] == "offline")
    watcher.close()


class Fatal(BaseException):
    """Escapes every `except Exception`: ends the network thread like a bug inside paho would."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_watchdog_restarts_a_dead_network_thread(broker: MosquittoBroker) -> None:
    link = make_link(broker.port, watchdog_s=1.0)
    acked: list[int] = []
    armed = [True]

    def on_ack(mid: int) -> None:
        if armed[0]:
            armed[0] = False
            raise Fatal("network thread killed")
        acked.append(mid)

    link.on_ack = on_ack
    link.start()
    try:
        assert wait(lambda: link.connected)
        link.publish("alarm", b"{}", qos=1)
        assert wait(lambda: link.watchdog_restarts == 1, 5), "watchdog noticed the dead thread"
        assert wait(lambda: link.connected)
        mid = link.publish("alarm", b"{}", qos=1)
        assert mid is not None and wait(lambda: mid in acked), "publishing works again"
    finally:
        link.stop()


class OldBroker:
    """Speaks just enough MQTT 3.1.1 to refuse protocol level 5 and accept level 4 (like Mosquitto 1.4)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.levels: list[int] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            head = conn.recv(64)  # fixed header, remaining length (1 byte here), "\0\4MQTT", level
            level = head[8]
            self.levels.append(level)
            conn.sendall(b"\x20\x02\x00" + (b"\x01" if level == 5 else b"\x00"))
            if level == 5:
                conn.close()
            else:
                threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self._stop = True
        self._server.close()


def test_falls_back_to_mqtt_311_when_the_broker_refuses_5() -> None:
    old = OldBroker()
    link = make_link(old.port)
    link.start()
    try:
        assert wait(lambda: link.connected, 10)
        assert link.protocol == "3.1.1" and old.levels[:1] == [5] and old.levels[-1] == 4
    finally:
        link.stop()
        old.close()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
             "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"))  # fmt: skip
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"),
                 "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
                 "-extfile", str(d / "san.ext"), "-out", str(d / f"{name}.crt"))  # fmt: skip


def test_mutual_tls_and_password_from_a_file(caplog: pytest.LogCaptureFixture) -> None:
    # Not pytest's tmp_path: Mosquitto started as root reads its files as user `mosquitto`.
    with tempfile.TemporaryDirectory(prefix="doseedge-tls-") as d:
        tmp_path = Path(d)
        tmp_path.chmod(0o755)
        tls_round_trip(tmp_path, caplog)


def tls_round_trip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_pki(tmp_path)
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(tmp_path / "passwd"), "edge", "s3cret-pw"],
        check=True,
        timeout=30,
    )
    for f in tmp_path.iterdir():
        f.chmod(0o644)
    tls = (
        f"cafile {tmp_path}/ca.crt\ncertfile {tmp_path}/server.crt\nkeyfile {tmp_path}/server.key\n"
        "require_certificate true\n"
    )
    broker = MosquittoBroker(
        listener_options=tls, extra=f"allow_anonymous false\npassword_file {tmp_path}/passwd"
    )
    broker.start()
    (tmp_path / "creds").write_text("edge\ns3cret-pw\n")
    (tmp_path / "wrong").write_text("edge\nnot-it\n")
    tls_keys = {
        "tls_ca_file": str(tmp_path / "ca.crt"),
        "tls_cert_file": str(tmp_path / "client.crt"),
        "tls_key_file": str(tmp_path / "client.key"),
    }
    good = make_link(broker.port, credentials_file=str(tmp_path / "creds"), **tls_keys)
    bad = make_link(broker.port, credentials_file=str(tmp_path / "wrong"), **tls_keys)
    try:
        good.start()
        bad.start()
        assert wait(lambda: good.connected)
        time.sleep(0.5)
        assert not bad.connected and "refused" in bad.last_error
    finally:
        good.stop()
        bad.stop()
        broker.cleanup()
    assert "s3cret-pw" not in caplog.text and "not-it" not in caplog.text


def test_clean_stop_sends_offline_then_disconnect_so_the_stale_will_is_dropped(
    broker: MosquittoBroker,
) -> None:
    built = iter(range(1_000_000))
    link = MqttLink(
        MqttConfig(port=broker.port), ROOT, "clean-stop", lambda state: {"state": state, "n": next(built)}
    )
    link.start()
    assert wait(lambda: link.connected)
    watcher = Subscriber(broker.host, broker.port, f"{ROOT}/status", client_id="status-watch")
    link.stop()
    marker = Subscriber(broker.host, broker.port, f"{ROOT}/marker", client_id="marker")
    marker.client.publish(f"{ROOT}/status-marker", b"{}", qos=1).wait_for_publish(5)
    assert wait(lambda: "clean-stop" in broker.log_text() and "disconnected." in broker.log_text())
    assert watcher.wait_for(lambda w: any(b["state"] == "offline" for b in w.bodies("/status")))
    offline = [b for b in watcher.bodies("/status") if b["state"] == "offline"]
    assert [b["n"] for b in offline if b["n"] == 0] == [], "the last will (built at connect) never came"
    assert len(offline) == 1 and offline[0]["n"] > 0
    watcher.close()
    marker.close()
