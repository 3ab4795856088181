"""A clean stop (issue 12, finding 8): `alarm/active` says its content is no longer watched, and the
retained status is the agent's own `offline`, not the last will."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.app import Agent
from agent.config import load_config
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber

pytestmark = pytest.mark.broker

CONFIG = """
[station]
site = "s"
station_id = "room"

[mqtt]
port = {port}
topic_prefix = "t"

[store]
path = "{store}"
commit_window_s = 1.0
"""


def test_a_clean_stop_says_alarm_active_is_no_longer_watched(tmp_path: Path, broker: MosquittoBroker) -> None:
    path = tmp_path / "station.toml"
    path.write_text(CONFIG.format(port=broker.port, store=tmp_path / "o.sqlite"))
    agent = Agent(load_config(path))
    watcher = Subscriber(broker.host, broker.port, "t/s/room/#", client_id="clean-stop-watch")
    try:
        asyncio.run(agent.run(duration_s=1.5, install_signals=False))
        late = Subscriber(broker.host, broker.port, "t/s/room/#", client_id="late-joiner")
        retained = lambda s, topic: [b for _, t, b, r in s.messages if r and t.endswith(topic)]  # noqa: E731
        assert late.wait_for(lambda s: retained(s, "/alarm/active") and retained(s, "/status"))
        assert retained(late, "/alarm/active")[-1]["watched"] is False
        assert retained(late, "/status")[-1]["state"] == "offline"
        seen = [b["watched"] for b in watcher.bodies("/alarm/active")]
        assert seen[0] is True and seen[-1] is False
        late.close()
    finally:
        watcher.close()
    assert agent.lost_on_stop == 0
