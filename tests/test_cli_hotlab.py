"""The hot-lab station from the command line: check-config explains the levels, the demo runs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from agent.cli import main
from agent.commands.auth import Role
from agent.commands.keys import add_sender
from agent.config import load_config
from agent.hotlab.explain import explain_hotlab
from simulators.mosquitto import MosquittoBroker, free_port
from tests.fakes import Subscriber, provisioned, run_doseedge
from tests.payload_schemas import assert_all_valid

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["hotlab.toml", "demo-hotlab.toml"])
def test_check_config_lists_every_hotlab_level_with_its_source(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo's senders file is relative: var/demo-hotlab/senders.toml
    add_sender("var/demo-hotlab/senders.toml", "demo-desk", Role.PHYSICIST, "demo-desk.key")
    assert main(["check-config", "-c", str(provisioned(ROOT / "config" / name, tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "hotlab: activimeter crc1 (capintec_crc), calibrated 2026-03-01, due 2027-03-01" in out
    assert (
        "level prescribed_tolerance_fraction: 0.2 (fraction of the prescribed activity) — US 10 CFR 35.63(d)"
        in out
    )
    assert "level constancy_action_fraction: 0.1" in out and "action level ±10 %" in out
    assert "level Table 5 maximum usual activity: 65 rows" in out
    assert "level discharge I-131: 1100 MBq — dz-2015-table6 row 1" in out


def test_an_override_is_cited_as_station_configuration() -> None:
    config = load_config(ROOT / "config" / "hotlab.toml")
    assert config.hotlab is not None
    lines = explain_hotlab(
        replace(config.hotlab, constancy_action_fraction=0.08), "capintec_crc", date(2027, 3, 2)
    )
    assert "OVERDUE today" in lines[0]
    (action,) = [line for line in lines if "constancy_action_fraction" in line]
    assert "0.08" in action
    cited = "station configuration [hotlab].constancy_action_fraction (default 0.1: activimeter QC practice"
    assert f"{cited} (AAPM TG-181, IAEA TRS-454)" in action


def test_hotlab_demo_runs_sends_the_context_over_mqtt_and_prints_the_alarm(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    subscriber = Subscriber(broker.host, broker.port, "doseedge/#", client_id="hotlab-demo-test")
    try:
        result = run_doseedge(
            "demo", "--station", "hotlab", "--duration", "12", "--mqtt", f"127.0.0.1:{broker.port}",
            cwd=tmp_path, timeout_s=60,
        )  # fmt: skip
        assert subscriber.wait_for(lambda s: s.bodies("/record/qc"), 5)
    finally:
        subscriber.close()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "simulated Capintec CRC-25R on /dev/pts/" in out
    assert "-> MQTT doseedge/demo-hospital/hotlab-1/cmd/hotlab_context" in out
    assert "!! ALARM  Activimeter Constancy fail" in out and "action ±10 %" in out
    assert "== record/qc: constancy FAIL" in out
    assert "Cs-137 ch1" in out  # the live view shows the well
    assert (tmp_path / "var" / "demo-hotlab" / "hotlab.json").exists()
    (context,) = subscriber.bodies("/cmd/hotlab_context")  # a real MQTT command, signed by the demo's key
    assert context["sender"] == "demo-desk" and json.loads(context["body"])["exam"] == "bone_imaging"
    assert subscriber.bodies("/cmd_result/hotlab_context")[0]["ok"] is True
    (qc,) = subscriber.bodies("/record/qc")
    assert qc["result"] == "fail"
    assert assert_all_valid(subscriber.messages) > 10  # every message against schemas/


def test_hotlab_demo_without_a_broker_sends_the_commands_straight_to_the_agent(tmp_path: Path) -> None:
    port = free_port()
    result = run_doseedge(
        "demo", "--station", "hotlab", "--duration", "10", "--mqtt", f"127.0.0.1:{port}",
        cwd=tmp_path, timeout_s=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"No MQTT broker answers at 127.0.0.1:{port}" in result.stdout
    assert "-> the agent's command router, cmd/hotlab_context" in result.stdout
    assert "!! ALARM  Activimeter Constancy fail" in result.stdout
    assert (tmp_path / "var" / "demo-hotlab" / "outbox.sqlite").exists()
