"""The room bridge end to end: the board's own firmware on a pty (simulators/bridge.py), the agent,
a private Mosquitto. A beam-on sequence opens a procedure; a pulse rate over the level sounds the
dose-rate pattern within the documented delay, counted in polls (agent/bridge_room.py:
pattern_delay_polls); a press of the room button acknowledges the alarm and the record says who;
silence from the agent puts the board in its safe state."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.app import Agent
from agent.bridge_room import pattern_delay_polls
from agent.config import parse_config
from firmware_bridge.settings import Settings
from simulators.bridge import BridgeSimulator
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber
from tests.test_device_health import run_until_stopped

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = Settings(mgy_min_per_cps=0.01, background_cps=2.0, silence_ms=1500)


def _until(condition: Callable[[], bool], limit_s: float = 20.0) -> bool:
    """Wait for the agent and the board (real threads); a bound on a hang, not a measured time."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _alarms(subscriber: Subscriber, state: str) -> list[dict[str, Any]]:
    return [a for a in subscriber.bodies("/alarm") if a["state"] == state and a["type"] == "fluoro_dose_rate"]


def test_bridge_room_beam_on_dose_rate_pattern_button_ack_and_safe_state(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    text = (ROOT / "config" / "demo-bridge.toml").read_text()
    text = text.replace('path = "var/demo-bridge/outbox.sqlite"', f'path = "{tmp_path}/outbox.sqlite"')
    text = text.replace('topic_prefix = "doseedge"', 'topic_prefix = "e2e"')
    simulator = BridgeSimulator(settings=CALIBRATION)
    config = (
        parse_config(text).with_mqtt(broker.host, broker.port).with_device_port("bridge", simulator.start())
    )
    assert config.fluoroscopy is not None
    subscriber = Subscriber(broker.host, broker.port, "e2e/#", client_id="bridge-e2e")
    agent = Agent(config)
    thread, stop = run_until_stopped(agent)
    poller = agent.pollers[0]
    try:
        assert _until(lambda: poller.counters["readings"] >= 3)
        assert simulator.pattern_shown == "off"

        # 1. Beam on below the level (≈10 mGy/min entrance): a procedure opens on the X-ray-on line.
        simulator.set_rate_cps(1000.0)
        simulator.set_beam(True)
        assert subscriber.wait_for(
            lambda s: any("procedure" in r for r in s.bodies("/reading/bridge")), 10
        ), "the beam-on line must open a procedure"
        first = next(r for r in subscriber.bodies("/reading/bridge") if "procedure" in r)
        assert first["beam_on"] is True

        # 2. Over the level (≈42 mGy/min entrance): the dose-rate pattern within the documented polls.
        bound = pattern_delay_polls(CALIBRATION.window_ms / 1000, config.fluoroscopy.policy(), 0.5)
        polls_before = poller.counters["readings"]
        simulator.set_rate_cps(4000.0)
        assert _until(lambda: simulator.pattern_shown == "dose_rate"), "the room never sounded"
        polls = poller.counters["readings"] - polls_before
        print(f"dose-rate pattern after {polls} polls (documented bound {bound})")
        assert polls <= bound, f"dose-rate pattern after {polls} polls, documented bound {bound}"
        assert subscriber.wait_for(lambda s: _alarms(s, "raised"), 5)

        # 3. The room button acknowledges it; the record says it was the button in the room.
        simulator.press()
        assert subscriber.wait_for(lambda s: _alarms(s, "acknowledged"), 10)
        acked = _alarms(subscriber, "acknowledged")[0]
        assert acked["alarm_id"] == _alarms(subscriber, "raised")[0]["alarm_id"]
        assert acked["acknowledged_by"] == "room button (bridge) via bridge_button"
        assert subscriber.wait_for(
            lambda s: any(r.get("ok") for r in s.bodies("/cmd_result/alarm_ack")), 5
        ), "the button's acknowledgement is answered like any alarm_ack"
        assert subscriber.wait_for(
            lambda s: any(
                a.get("acknowledged_by") == "room button (bridge) via bridge_button"
                for body in s.bodies("/alarm/active")
                for a in body["alarms"]
            ),
            5,
        )
        assert _until(lambda: simulator.pattern_shown == "acknowledged")
        assert agent.bridge_rooms[0].counters["button_acks"] == 1

        # 4. The agent stops talking: the board goes to its safe state on its own.
        assert not simulator.safe
        stop()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert _until(lambda: simulator.safe), "silence from the agent must put the board in its safe state"
        assert simulator.pattern_shown == "monitor_lost"
    finally:
        if thread.is_alive():
            stop()
            thread.join(timeout=30)
        simulator.stop()
        subscriber.close()
