"""The demo and the CLI as a person runs them: a real process, a real pty, a real broker."""

from __future__ import annotations

import subprocess
from pathlib import Path

from simulators.mosquitto import MosquittoBroker, free_port
from tests.fakes import DOSEEDGE, ENV, Subscriber, run_doseedge
from tests.payload_schemas import assert_all_valid


def test_demo_crosses_25_and_publishes(tmp_path: Path, broker: MosquittoBroker) -> None:
    subscriber = Subscriber(broker.host, broker.port, "doseedge/#", client_id="demo-test")
    try:
        result = run_doseedge(
            "demo", "--duration", "20", "--mqtt", f"127.0.0.1:{broker.port}", cwd=tmp_path, timeout_s=60
        )
        assert subscriber.wait_for(lambda s: s.bodies("/alarm"), 5)
    finally:
        subscriber.close()
    assert result.returncode == 0, result.stderr
    assert "Publishing to the MQTT broker" in result.stdout
    assert "ALARM  Entrance dose rate" in result.stdout
    assert "25 mGy/min" in result.stdout
    alarm = subscriber.bodies("/alarm")[0]
    assert alarm["type"] == "fluoro_dose_rate"
    assert alarm["level"]["unit"] == "mGy/min" and "citation" not in alarm["level"]
    levels = subscriber.bodies("/levels")[-1]["citations"]
    assert "Tableau 4" in levels[alarm["level"]["citation_id"]]  # the text, once, in the retained message
    reading = subscriber.bodies("/reading/dap1")[-1]
    assert reading["device_info"]["firmware"]  # the meter's identity as it reported it at connect
    (procedure,) = subscriber.bodies("/record/procedure")
    assert procedure["devices"]["dap1"] == reading["device_info"]
    assert procedure["duration"]["unit"] == "s" and procedure["totals"]["kap"]["unit"] == "Gy.cm2"
    assert assert_all_valid(subscriber.messages) > 10  # every message against schemas/


def test_demo_without_a_broker_says_so_and_keeps_records(tmp_path: Path) -> None:
    port = free_port()
    result = run_doseedge(
        "demo", "--duration", "3", "--mqtt", f"127.0.0.1:{port}", cwd=tmp_path, timeout_s=30
    )
    assert result.returncode == 0, result.stderr
    assert f"No MQTT broker answers at 127.0.0.1:{port}" in result.stdout
    assert "BROKER DOWN" in result.stdout
    assert (tmp_path / "var" / "demo" / "outbox.sqlite").exists()
    assert '"unsent_in_store": 0' not in result.stdout


def test_run_with_a_bad_config_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nsite = "s"\nstation_id = "x"\n[mqtt]\nport = "1883"\n')
    result = run_doseedge("run", "-c", str(bad), timeout_s=30)
    assert result.returncode == 2
    assert "line 5: mqtt.port: must be a whole number" in result.stderr


def test_simulate_prints_where_to_connect() -> None:
    process = subprocess.Popen(
        [*DOSEEDGE, "simulate", "ptw_diamentor"], env=ENV, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "/dev/pts/" in line
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_version_and_help_say_what_they_are() -> None:
    version = run_doseedge("--version", timeout_s=30)
    assert version.returncode == 0 and version.stdout.startswith("doseedge ")
    helped = run_doseedge("--help", timeout_s=30)
    assert "log at DEBUG level" in helped.stdout
    run_help = run_doseedge("run", "--help", timeout_s=30)
    assert "station config file (TOML)" in run_help.stdout


def test_simulate_without_a_name_lists_the_simulators() -> None:
    from simulators import SIMULATORS

    listed = run_doseedge("simulate", timeout_s=30)
    assert listed.returncode == 0
    assert set(SIMULATORS) <= set(listed.stdout.split())


def test_simulate_at_a_fixed_link_path(tmp_path: Path) -> None:
    import serial

    from drivers.ptw_diamentor_codec import encode_command

    link = tmp_path / "dap"
    process = subprocess.Popen(
        [*DOSEEDGE, "simulate", "ptw_diamentor", "--link", str(link)],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert str(link) in line
        with serial.Serial(str(link), 9600, timeout=2) as port:
            port.write(encode_command("M"))  # the DIAMENTOR measurement request
            assert port.read_until(b"\n").startswith(b"M")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert not link.exists(), "the link is removed when the simulator stops"
