"""`doseedge simulate bridge` and `doseedge demo --station bridge` as a person runs them: real
processes, the board's firmware on a real pty, a real broker."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import serial

from firmware_bridge import codec
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber
from tests.payload_schemas import assert_all_valid
from tests.test_cli import DOSEEDGE, ENV


def test_simulate_bridge_runs_the_firmware_which_says_hello_and_answers() -> None:
    process = subprocess.Popen([*DOSEEDGE, "simulate", "bridge"], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        path = line.split(" on ")[1].split(" ")[0]
        assert path.startswith("/dev/pts/") and os.path.exists(path)
        with serial.Serial(path, 115200, timeout=5) as port:
            port.write(codec.encode(7, "INFO", []))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                _, kind, fields = codec.decode(port.readline())
                if kind == "HELLO" and ("ack", "7") in fields:
                    break
            else:
                raise AssertionError("no HELLO answering INFO")
        assert ("fw", "1.0.0") in fields
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_bridge_demo_shows_the_room_sounding_and_the_button(tmp_path: Path, broker: MosquittoBroker) -> None:
    subscriber = Subscriber(broker.host, broker.port, "doseedge/#", client_id="bridge-demo-test")
    try:
        result = subprocess.run(
            [*DOSEEDGE, "demo", "--station", "bridge", "--mqtt", f"127.0.0.1:{broker.port}"],
            cwd=tmp_path,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert subscriber.wait_for(lambda s: s.bodies("/record/procedure"), 5)
    finally:
        subscriber.close()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[room] quiet, green light" in out
    assert "ALARM  Entrance dose rate" in out
    assert "[room] BUZZER 200/200 ms, RED FLASHING" in out
    assert "acknowledged by room button (bridge)" in out
    assert "[room] quiet, red steady" in out
    assert '"button_acks": 1' in out
    assert assert_all_valid(subscriber.messages) > 10  # every message against schemas/
    reading = subscriber.bodies("/reading/bridge")[-1]
    units = {m["quantity"]: (m["unit"], m["raw_unit"]) for m in reading["measurements"]}
    assert units["air_kerma_rate"] == ("mGy/min", "{count}/s") and units["beam_on"] == ("1", "1")
