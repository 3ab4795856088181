"""Issue 10, findings 2 and 3: no password over plaintext unless `insecure = true` (then loud, at start
and in health); TLS and authentication failures at ERROR with their cause, against a real TLS
Mosquitto; check-config finds missing, unreadable and too-open CA, certificate, key and credential
files before `run` would crash on them."""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.app import Agent
from agent.cli import main
from agent.config import parse_config
from core.errors import ConfigError
from simulators.mosquitto import MosquittoBroker
from tests.agent.test_mqtt_link import make_link, make_pki, wait

STATION = '[station]\nsite = "s"\nstation_id = "st"\n'


def test_a_password_over_plaintext_is_refused_unless_insecure_is_said_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    creds = tmp_path / "creds"
    creds.write_text("edge\npw\n")
    creds.chmod(0o600)
    plain = f'{STATION}[mqtt]\nport = 1883\ncredentials_file = "{creds}"\n'
    with pytest.raises(ConfigError, match="password over plaintext refused"):
        parse_config(plain)
    config = parse_config(plain + "insecure = true\n" + f'[store]\npath = "{tmp_path}/o.sqlite"\n')
    agent = Agent(config)
    assert any("plaintext" in w for w in agent.health()["link"]["security_warnings"])
    agent.outbox.close()


def test_the_insecure_warning_is_logged_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "station.toml"
    path.write_text(f'{STATION}[mqtt]\nport = 1\ninsecure = true\n[store]\npath = "{tmp_path}/o.sqlite"\n')
    caplog.set_level(logging.WARNING)
    assert main(["run", "-c", str(path), "--duration", "0.2", "--quiet"]) == 0
    assert any(r.levelno == logging.WARNING and "INSECURE" in r.getMessage() for r in caplog.records)


@pytest.fixture(scope="module")
def pki() -> Iterator[tuple[Path, Path]]:
    """Two certificate authorities: the broker's, and a rogue one nobody trusts."""
    with tempfile.TemporaryDirectory(prefix="doseedge-tls-") as d:
        good, rogue = Path(d) / "good", Path(d) / "rogue"
        for directory in (good, rogue):
            directory.mkdir()
            make_pki(directory)
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(good / "passwd"), "edge", "pw"], check=True)
        for path in [Path(d), good, rogue, *good.iterdir(), *rogue.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # Mosquitto reads them as user mosquitto
        for key in (good / "client.key", rogue / "client.key"):
            key.chmod(0o600)
        (good / "creds").write_text("edge\npw\n")
        (good / "wrong").write_text("edge\nnot-it\n")
        yield good, rogue


@pytest.fixture
def tls_broker(pki: tuple[Path, Path]) -> Iterator[MosquittoBroker]:
    good, _ = pki
    tls = f"cafile {good}/ca.crt\ncertfile {good}/server.crt\nkeyfile {good}/server.key\n"
    tls += "require_certificate true\n"
    broker = MosquittoBroker(
        listener_options=tls, extra=f"allow_anonymous false\npassword_file {good}/passwd"
    )
    broker.start()
    yield broker
    broker.cleanup()


@pytest.mark.parametrize(
    ("case", "cause"),
    [
        ("rogue_client_certificate", "refuse this client's certificate"),
        ("untrusted_broker", "CERTIFICATE_VERIFY_FAILED"),
        ("wrong_password", "connection refused"),
        ("plaintext_to_tls_port", "a TLS port? set tls_ca_file"),
    ],
)
def test_tls_and_authentication_failures_are_logged_at_error_with_their_cause(
    pki: tuple[Path, Path],
    tls_broker: MosquittoBroker,
    caplog: pytest.LogCaptureFixture,
    case: str,
    cause: str,
) -> None:
    good, rogue = pki
    mine = {"tls_cert_file": str(good / "client.crt"), "tls_key_file": str(good / "client.key")}
    options: dict[str, str] = {
        "rogue_client_certificate": {
            "tls_ca_file": str(good / "ca.crt"),
            "tls_cert_file": str(rogue / "client.crt"),
            "tls_key_file": str(rogue / "client.key"),
            "credentials_file": str(good / "creds"),
        },
        "untrusted_broker": {
            "tls_ca_file": str(rogue / "ca.crt"),
            **mine,
            "credentials_file": str(good / "creds"),
        },
        "wrong_password": {
            "tls_ca_file": str(good / "ca.crt"),
            **mine,
            "credentials_file": str(good / "wrong"),
        },
        "plaintext_to_tls_port": {},
    }[case]
    caplog.set_level(logging.DEBUG, logger="agent.link.mqtt_link")
    link = make_link(tls_broker.port, **options)
    link.start()
    try:

        def logged() -> bool:
            return any(r.levelno == logging.ERROR and cause in r.getMessage() for r in caplog.records)

        assert wait(logged, 10), [r.getMessage() for r in caplog.records]
        assert not link.connected and cause in link.last_error
    finally:
        link.stop()
    assert "not-it" not in caplog.text and "\npw" not in caplog.text


def test_check_config_finds_missing_unreadable_and_too_open_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "client.key"
    key.write_text("k")
    key.chmod(0o644)
    creds = tmp_path / "creds"
    creds.write_text("u\np\n")
    creds.chmod(0o640)
    (tmp_path / "client.crt").write_text("c")
    path = tmp_path / "station.toml"
    path.write_text(
        f'{STATION}[mqtt]\nport = 8883\ntls_ca_file = "{tmp_path}/missing-ca.crt"\n'
        f'tls_cert_file = "{tmp_path}/client.crt"\ntls_key_file = "{key}"\ncredentials_file = "{creds}"\n'
        f'[auth]\nsenders_file = "{tmp_path}/no-senders.toml"\n'
    )
    assert main(["check-config", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "mqtt.tls_ca_file" in err and "missing-ca.crt does not exist" in err
    assert "mqtt.tls_key_file" in err and "group or others (mode 0644)" in err
    assert "mqtt.credentials_file" in err and "(mode 0640)" in err
    assert "auth.senders_file" in err and "cannot read" in err
    assert "mqtt.tls_cert_file" not in err  # a certificate is public: readable is all it must be
    assert main(["run", "-c", str(path), "--duration", "0.1"]) == 2  # refused the same way, no traceback


def test_check_config_refuses_a_pseudonym_key_others_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = (Path(__file__).resolve().parents[2] / "config" / "demo-hotlab.toml").read_text()
    key = tmp_path / "var" / "demo-hotlab" / "pseudonym.key"
    key.parent.mkdir(parents=True)
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)
    path = tmp_path / "station.toml"
    path.write_text(config)
    assert main(["check-config", "-c", str(path)]) == 2
    assert "hotlab.pseudonym_key_path" in capsys.readouterr().err
