"""Issue 10, docs/deployment.md: several agents against one Mosquitto with per-station credentials and
the shipped ACL layout (deploy/mosquitto/acl.example): each station publishes under its own root and
is refused anywhere else; a consumer reads every station; the per-site layout keeps sites apart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.app import Agent
from agent.config import parse_config
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber

ROOT = Path(__file__).resolve().parents[1]
SITE = "site-a"
STATIONS = ("carm-1", "carm-2", "hotlab-1")
USERS = {**{s: f"pw-{s}" for s in STATIONS}, "registry": "pw-registry", "physics-site-a": "pw-physics"}


@pytest.fixture
def fleet_broker() -> Iterator[tuple[MosquittoBroker, Path]]:
    with tempfile.TemporaryDirectory(prefix="doseedge-fleet-") as d:
        directory = Path(d)
        directory.chmod(0o755)  # Mosquitto started as root reads these as user mosquitto
        passwd = directory / "passwd"
        for user, password in USERS.items():
            create = ["-c"] if not passwd.exists() else []
            subprocess.run(["mosquitto_passwd", "-b", *create, str(passwd), user, password], check=True)
        acl = directory / "acl"
        acl.write_text((ROOT / "deploy" / "mosquitto" / "acl.example").read_text().replace("SITE", SITE))
        for path in (passwd, acl):
            path.chmod(0o644)
        broker = MosquittoBroker(extra=f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}")
        broker.start()
        try:
            yield broker, directory
        finally:
            broker.cleanup()


def _station(directory: Path, broker: MosquittoBroker, station: str) -> Agent:
    credentials = directory / f"{station}.credentials"
    credentials.write_text(f"{station}\n{USERS[station]}\n")
    credentials.chmod(0o600)
    text = (
        f'[station]\nsite = "{SITE}"\nstation_id = "{station}"\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nreconnect_max_s = 0.5\n'
        f'credentials_file = "{credentials}"\ninsecure = true  # loopback test broker only\n'
        f'[store]\npath = "{directory}/{station}/outbox.sqlite"\n'
    )
    return Agent(parse_config(text, station))


class Client:
    """A raw MQTT 5 client logged in as a user, recording the reason code of each PUBACK."""

    def __init__(self, broker: MosquittoBroker, user: str) -> None:
        self.acks: dict[int, Any] = {}
        self._event = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{user}", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, USERS[user])
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._event:
            self.acks[mid] = reason
            self._event.notify_all()

    def publish(self, topic: str, body: dict[str, Any]) -> Any:
        info = self.client.publish(topic, json.dumps(body), qos=1)
        with self._event:
            assert self._event.wait_for(lambda: info.mid in self.acks, 5), f"no PUBACK for {topic}"
            return self.acks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_each_station_publishes_only_under_its_own_root(fleet_broker: tuple[MosquittoBroker, Path]) -> None:
    broker, directory = fleet_broker
    registry = Subscriber(broker.host, broker.port, "doseedge/#", "registry", ("registry", USERS["registry"]))
    agents = [_station(directory, broker, station) for station in STATIONS]
    loops: list[asyncio.AbstractEventLoop] = []

    async def run_all() -> None:
        loops.append(asyncio.get_running_loop())
        await asyncio.gather(*(a.run(duration_s=30, install_signals=False) for a in agents))

    runner = threading.Thread(target=lambda: asyncio.run(run_all()), daemon=True)
    runner.start()
    intruder = None
    try:
        online = {f"doseedge/{SITE}/{s}/status" for s in STATIONS}

        def all_online(s: Subscriber) -> bool:
            return online <= {t for _, t, b, _ in s.messages if b.get("state") == "online"}

        assert registry.wait_for(all_online, 10), "every station publishes its status under its own root"
        intruder = Client(broker, "carm-1")  # carm-1's credentials, used by anyone holding them
        elsewhere = intruder.publish(f"doseedge/{SITE}/carm-2/alarm", {"forged": True})
        other_site = intruder.publish("doseedge/site-b/carm-1/alarm", {"forged": True})
        own = intruder.publish(f"doseedge/{SITE}/carm-1/alarm", {"marker": True})
        assert not own.is_failure
        assert elsewhere.is_failure and other_site.is_failure  # MQTT 5 PUBACK: not authorized
        assert registry.wait_for(lambda s: s.bodies("carm-1/alarm"), 5)
        assert registry.bodies("carm-2/alarm") == [] and registry.bodies("site-b/carm-1/alarm") == []
    finally:
        if intruder is not None:
            intruder.close()
        for agent in agents:
            loops[0].call_soon_threadsafe(agent.request_stop)
        runner.join(timeout=15)
        registry.close()
    assert all(a.link.reconnects == 0 for a in agents)
