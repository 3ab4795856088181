"""`…/health` per device, through a real Mosquitto: the DIAMENTOR simulator's junk bytes and the
Modbus simulator's out-of-enum value and exception replies show up as counted rejected frames and
errors by kind, and the Modbus device goes lost and comes back (issue 4, "Bad input")."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.app import Agent
from agent.demo.cathlab_room import CathlabSimulators
from simulators.mosquitto import MosquittoBroker
from tests.fakes import Subscriber
from tests.test_cathlab_end_to_end import PREFIX, cathlab_config


def run_until_stopped(agent: Agent) -> tuple[threading.Thread, Callable[[], None]]:
    """The agent on its own loop; the returned function stops it from the test thread."""
    ready = threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        ready.set()
        await agent.run(duration_s=60.0, install_signals=False)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(5)
    return thread, lambda: loops[0].call_soon_threadsafe(agent.request_stop)


def _device(subscriber: Subscriber, name: str) -> list[dict[str, Any]]:
    return [h["devices"][name] for h in subscriber.bodies("/health") if name in h.get("devices", {})]


def _latest(
    subscriber: Subscriber, name: str, check: Callable[[dict[str, Any]], bool], timeout_s: float
) -> bool:
    return subscriber.wait_for(lambda s: any(check(d) for d in _device(s, name)[-1:]), timeout_s)


def test_health_shows_rejected_frames_errors_by_kind_and_availability_per_device(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    room = CathlabSimulators(cathlab_config(tmp_path, broker, health_interval_s=1.0), loop=True)
    config = room.start()
    subscriber = Subscriber(broker.host, broker.port, f"{PREFIX}/+/+/health", client_id="health-test")
    agent = Agent(config)
    thread, stop = run_until_stopped(agent)
    try:
        assert _latest(subscriber, "gen1", lambda d: d["readings"] > 0, 5)
        healthy = _device(subscriber, "dap1")[-1]
        assert healthy["driver"] == "ptw_diamentor" and healthy["availability"] == "ok"
        assert healthy["frames_rejected"] == 0 and healthy["errors"] == {
            "transport": 0,
            "frame": 0,
            "device": 0,
        }

        # Serial: five replies preceded by a line of junk bytes — rejected, counted, readings go on.
        room.meter.faults.garbage = 5
        # Modbus: a mode value the profile's enum does not list — a rejected frame, a failed poll.
        room.generator.faults.poke["mode"] = [7]
        assert _latest(subscriber, "dap1", lambda d: d["frames_rejected"] >= 5, 8)
        assert _latest(subscriber, "gen1", lambda d: d["frames_rejected"] >= 1, 5)
        del room.generator.faults.poke["mode"]
        assert _latest(subscriber, "gen1", lambda d: d["availability"] == "ok", 8)  # in case it was lost
        dap = _device(subscriber, "dap1")[-1]
        assert dap["availability"] == "ok" and dap["errors"]["frame"] == 0  # junk skipped, good reply read
        gen = _device(subscriber, "gen1")[-1]
        assert gen["driver"] == "modbus" and gen["errors"]["frame"] == gen["frames_rejected"]
        assert "enum" in gen["last_error"]

        # Modbus exception 0x04 on every read: device errors, then lost; cleared: ok again.
        room.generator.faults.exception = 0x04
        assert _latest(subscriber, "gen1", lambda d: d["availability"] == "lost", 8)
        assert _device(subscriber, "gen1")[-1]["errors"]["device"] >= config.devices[1].lost_after_failures
        room.generator.faults.exception = None
        readings_when_lost = _device(subscriber, "gen1")[-1]["readings"]
        assert _latest(subscriber, "gen1", lambda d: d["availability"] == "ok", 8)
        assert _device(subscriber, "gen1")[-1]["readings"] > readings_when_lost
        assert _device(subscriber, "dap1")[-1]["availability"] == "ok"
    finally:
        stop()
        thread.join(timeout=15)
        room.stop()
        subscriber.close()
    assert not thread.is_alive()
    last = subscriber.bodies("/health")[-1]
    assert last["pipeline"]["readings"] > 0 and last["schema"] == "doseedge.health.v1"
