"""`doseedge check-config` and `doseedge demo --station cathlab` as a person runs them: a real
process, a real pty, a real pymodbus server, a real broker."""

from __future__ import annotations

import subprocess
from pathlib import Path

from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber, provisioned
from tests.payload_schemas import assert_all_valid
from tests.test_cli import DOSEEDGE, ENV

ROOT = Path(__file__).resolve().parents[1]


def test_check_config_says_where_the_dose_rate_and_the_mode_come_from(tmp_path: Path) -> None:
    result = subprocess.run(
        [*DOSEEDGE, "check-config", "-c", str(provisioned(ROOT / "config" / "cathlab.toml", tmp_path))],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (
        "dose rate from: DAP meter dap1 (Ka,r rate, or KAP rate ÷ the field area from generator gen1" in out
    )
    assert "dose rate from: generator gen1 kV/mA/pulses × tube_output, only while dap1 is silent" in out
    assert "calibrated_on 'EXAMPLE — not measured'" in out
    assert "mode from: generator gen1 label 'mode'" in out
    assert "level high_level: 100 mGy/min" in out


def test_cathlab_demo_shows_mode_level_and_procedure_and_publishes(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    subscriber = Subscriber(broker.host, broker.port, "doseedge/#", client_id="cathlab-demo-test")
    try:
        result = subprocess.run(
            [*DOSEEDGE, "demo", "--station", "cathlab", "--mqtt", f"127.0.0.1:{broker.port}"],
            cwd=tmp_path,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert subscriber.wait_for(lambda s: s.bodies("/record/procedure"), 5)
    finally:
        subscriber.close()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Publishing to the MQTT broker" in out
    assert "Guidance level high_level: 100 mGy/min" in out
    assert "/ 100 mGy/min (high_level from generator)" in out
    assert "/ 25 mGy/min (normal from generator)" in out
    assert "(acquisition from generator, not judged)" in out
    assert "procedure Ka,r" in out
    assert "ALARM  Entrance dose rate" in out and "100 mGy/min guidance level for high-level" in out
    assert "record irradiation: acquisition" in out and "NOT judged" in out
    assert "record procedure" in out and "closed by demo-desk via mqtt" in out
    (procedure,) = subscriber.bodies("/record/procedure")
    assert procedure["station"] == "cathlab-demo" and procedure["totals"]["acquisition_count"] == 1
    assert (tmp_path / "var" / "demo-cathlab" / "outbox.sqlite").exists()
    assert assert_all_valid(subscriber.messages) > 10  # every message against schemas/
