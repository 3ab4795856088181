"""Agent SIGKILLed mid-procedure, after its first trigger alarm, and restarted: the consumer sees the
same procedure continue with its totals, no trigger raised twice, `monitor_gap` for the time it was
down, and the retained `alarm/active` still showing the trigger (not wiped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulators.mosquitto import MosquittoBroker
from simulators.procedure import Procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.chaos.harness import (
    CONFIG,
    GEOMETRY,
    AgentProcess,
    consumer,
    first_arrivals,
    store_state,
    wait_until,
)

pytestmark = pytest.mark.broker

# ~0.67 Gy·cm²/min over 40 cm² (20 mGy/min at the entrance, under the 25 mGy/min level): 0.02 Gy·cm²
# after ~2 s, 0.08 after ~7 s
TRIGGERS = """
[triggers]
preset = "ncrp168-sir"
[[triggers.override]]
id = "kap_notification"
first = 0.02
every = 0.06
"""


def triggers(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bodies if b["type"] == "fluoro_trigger" and b["state"] == "raised"]


def test_procedure_and_alarms_survive_a_kill(tmp_path: Path, broker: MosquittoBroker) -> None:
    simulator = DiamentorSimulator(Procedure.from_esak([(120.0, 20.0)], GEOMETRY))
    pty = simulator.start()
    subscriber = consumer(broker.host, broker.port, "restart-consumer")
    store = tmp_path / "outbox.sqlite"
    config = tmp_path / "station.toml"
    config.write_text(CONFIG.format(port=broker.port, store=store, pty=pty) + TRIGGERS)
    log = tmp_path / "agent.log"
    try:
        agent = AgentProcess(config, log)
        assert subscriber.wait_for(lambda s: triggers(s.bodies("/alarm")), 15), log.read_text()
        agent.kill()
        kill_seq, _ = store_state(store)
        (first,) = triggers(first_arrivals(subscriber, "/alarm"))

        agent = AgentProcess(config, log)
        assert subscriber.wait_for(lambda s: len(triggers(first_arrivals(s, "/alarm"))) >= 2, 20), (
            log.read_text()
        )
        assert agent.stop() == 0
        assert wait_until(lambda: not store_state(store)[1], 5)
    finally:
        subscriber.close()
        simulator.stop()

    alarms = first_arrivals(subscriber, "/alarm")
    raised = triggers(alarms)
    assert [b["index"] for b in raised] == list(range(len(raised)))  # none twice, none missing
    assert {b["procedure_id"] for b in raised} == {first["procedure_id"]}
    (gap,) = [b for b in alarms if b["type"] == "monitor_gap"]
    assert gap["seq"] >= kill_seq and gap["severity"] == "high" and gap["gap_s"] > 0

    readings = [b for b in first_arrivals(subscriber, "/reading/dap1") if "procedure" in b]
    assert {b["procedure"]["procedure_id"] for b in readings} == {first["procedure_id"]}
    before = [b["procedure"]["kap"]["value"] for b in readings if b["seq"] < kill_seq]
    after = [b["procedure"]["kap"]["value"] for b in readings if b["seq"] >= kill_seq]
    assert before and after and min(after) >= max(before)

    active = [b for b in first_arrivals(subscriber, "/alarm/active") if b["seq"] >= kill_seq]
    assert active, "the restarted agent republishes alarm/active"
    assert all(first["alarm_id"] in {a["alarm_id"] for a in b["alarms"]} for b in active)
