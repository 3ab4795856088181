"""The store-and-forward half of an agent on its own event-loop thread: a real outbox, the real MQTT
link and the forwarder, so the chaos tests can put a refusing, frozen or ack-swallowing broker in
front of it without devices. Time for the acknowledgement deadline is a FakeClock the test advances."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from agent.config import MqttConfig
from agent.link.forwarder import Forwarder
from agent.link.mqtt_link import MqttLink
from agent.link.refusals import RefusalAlarms
from agent.notices import AlarmNotice
from agent.store.messages import OutMessage, Priority
from agent.store.outbox import Outbox
from tests.fakes import FakeClock

ROOT = "t/site/st"


def wait(predicate: Any, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


class LinkRig:
    def __init__(self, store: Path, port: int, **mqtt: Any) -> None:
        self.clock = FakeClock()
        self.config = MqttConfig(
            port=port, reconnect_min_s=0.05, reconnect_max_s=0.3, max_inflight=20, alarm_window=4, **mqtt
        )
        self.outbox = Outbox(store)
        self.link = MqttLink(self.config, ROOT, "rig", lambda state: {"state": state})
        self.forwarder = Forwarder(
            self.outbox,
            self.link,
            self.config.max_inflight,
            monotonic=self.clock.monotonic,
            alarm_window=self.config.alarm_window,
            ack_timeout_s=self.config.ack_timeout_s,
        )
        self.refusals = RefusalAlarms(self._alarm, self.append)
        self.forwarder.on_refused = self.refusals.refused
        self.forwarder.on_stalled = self.link.kick
        self.loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _alarm(notice: AlarmNotice) -> OutMessage:
        body = {"type": notice.alarm_type, "state": notice.state, **notice.details}
        return OutMessage("alarm", body, Priority.ALARM)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.forwarder.run(self._stop))

    def start(self) -> LinkRig:
        self.link.on_ack = lambda mid: self.forwarder.ack_from_thread(self.loop, mid)
        self.link.on_state = lambda up: self.forwarder.state_from_thread(self.loop, up)
        self.link.on_refused = lambda mid, why: self.forwarder.refused_from_thread(self.loop, mid, why)
        self._thread.start()
        self.link.start()
        return self

    def append(self, messages: list[OutMessage]) -> None:
        """Commit on the loop thread, as the pipeline does, and wake the forwarder."""

        def commit() -> None:
            self.outbox.append(messages)
            self.forwarder.wake()

        if not self._thread.is_alive():
            commit()
            return
        done = threading.Event()
        self.loop.call_soon_threadsafe(lambda: (commit(), done.set()))
        assert done.wait(5)

    def depth(self) -> int:
        result: list[int] = []
        done = threading.Event()
        self.loop.call_soon_threadsafe(lambda: (result.append(self.outbox.depth()), done.set()))
        assert done.wait(5)
        return result[0]

    def close(self) -> None:
        self.link.stop()
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
        self.outbox.close()
