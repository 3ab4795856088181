"""Cath lab end to end: DIAMENTOR on a real pty + pymodbus generator on a loopback port → Agent →
real Mosquitto → subscriber, both instruments playing one beam timeline (normal fluoroscopy under
25 mGy/min, a high-level run above 100, a cine/DSA burst far above both)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agent.app import Agent
from agent.config import AgentConfig, parse_config
from agent.demo.cathlab_room import CathlabSimulators
from core.signing import read_key_file, signed_payload
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber, plaintext_for_tests, station_senders
from tests.test_end_to_end import run_agent

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "cathlab-e2e"


def cathlab_config(tmp_path: Path, broker: MosquittoBroker, health_interval_s: float = 30.0) -> AgentConfig:
    auth, _ = station_senders(tmp_path)
    text = plaintext_for_tests((ROOT / "config" / "cathlab.toml").read_text(), auth.senders_file)
    text = text.replace('path = "/var/lib/doseedge/outbox.sqlite"', f'path = "{tmp_path}/outbox.sqlite"')
    text = text.replace(
        'topic_prefix = "doseedge"',
        f'topic_prefix = "{PREFIX}"\nreconnect_max_s = 0.5\nhealth_interval_s = {health_interval_s}',
    )
    return parse_config(text, "cathlab-test").with_mqtt(broker.host, broker.port)


def _dose_rate_alarms(subscriber: Subscriber) -> list[dict[str, Any]]:
    return [a for a in subscriber.bodies("/alarm") if a["type"] == "fluoro_dose_rate"]


def test_cathlab_mode_from_generator_high_level_alarm_acquisition_recorded_and_procedure_closed(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    room = CathlabSimulators(cathlab_config(tmp_path, broker))
    config = room.start()
    subscriber = Subscriber(broker.host, broker.port, f"{PREFIX}/#")
    agent = Agent(config)
    thread = run_agent(agent, seconds=room.duration_s + 2.5)
    root = f"{PREFIX}/chu-example/cathlab-1"
    try:
        assert subscriber.wait_for(lambda s: s.bodies("/status"), 5)
        room.restart_scripts()  # the timeline starts with the agent polling both instruments
        acquired = subscriber.wait_for(
            lambda s: any(r["mode"] == "acquisition" for r in s.bodies("/record/irradiation")),
            room.duration_s + 3.0,
        )
        assert acquired, "the acquisition burst must end in a record/irradiation"
        key = read_key_file(tmp_path / "operator.key")
        topic = f"{root}/cmd/procedure_close"
        close = signed_payload(key.sender, key.key, topic, {}, int(time.time() * 1000))
        subscriber.client.publish(topic, close, qos=1)
        assert subscriber.wait_for(lambda s: s.bodies("/record/procedure"), 5)
    finally:
        thread.join(timeout=15)
        room.stop()
        subscriber.close()
    assert not thread.is_alive()

    # Mode comes from the generator while the dose rate comes from the DAP meter's KAP rate.
    beam = [r for r in subscriber.bodies("/reading/dap1") if r.get("beam_on")]
    assert beam, "the meter must see the beam"
    assert {r["mode_source"] for r in beam} == {"generator"}
    assert {r["mode"] for r in beam} == {"normal", "high_level", "acquisition"}
    assert {r["esak_method"] for r in beam} == {"kap_rate"}
    generator = subscriber.bodies("/reading/gen1")
    assert {r["labels"]["mode"] for r in generator} >= {"normal", "high_level", "acquisition"}

    # One dose-rate alarm: the high-level run against 100 mGy/min; none in normal or acquisition.
    alarms = _dose_rate_alarms(subscriber)
    raised = [a for a in alarms if a["state"] == "raised"]
    assert len(raised) == 1, [a["message"] for a in raised]
    alarm = raised[0]
    assert alarm["mode"] == "high_level" and alarm["mode_source"] == "generator"
    assert alarm["level"]["value"] == 100.0 and alarm["level"]["unit"] == "mGy/min"
    assert 100 < alarm["value"]["value"] < 160
    assert alarm["factors"]["field_area_source"] == "measured"  # the generator's field at its SID
    assert [a["state"] for a in alarms] == ["raised", "cleared"]

    # Every run is an irradiation record; only fluoroscopy is judged.
    records = {r["mode"]: r for r in subscriber.bodies("/record/irradiation")}
    assert records["acquisition"]["judged"] is False
    assert records["acquisition"]["rate_alarms"] == 0
    assert records["acquisition"]["peak_esak_rate"]["value"] > 400
    assert records["high_level"]["judged"] is True and records["high_level"]["rate_alarms"] == 1
    assert records["normal"]["judged"] is True and records["normal"]["rate_alarms"] == 0
    assert records["normal"]["peak_esak_rate"]["value"] < 25

    # The procedure opened on the first beam-on and was closed by the command.
    (procedure,) = subscriber.bodies("/record/procedure")
    assert procedure["opened_by"] == "beam_on" and procedure["closed_by"] == "test-operator via mqtt"
    totals = procedure["totals"]
    assert totals["acquisition_count"] == 1
    assert totals["kap"]["value"] > 0 and totals["fluoro_time"]["value"] > 5
    assert alarm["alarm_id"] in {a["alarm_id"] for a in procedure["alarms"]}
    assert set(procedure["peaks"]["esak_rate_by_mode"]) == {"normal", "high_level", "acquisition"}
