"""A C-arm room on a real pty in injected time, through the whole pipeline (plausibility gate, monitor,
store; tests/agent/pty_room.py is the monitor-level room of the set-up tests): the DIAMENTOR
simulator (its fault knobs set by the test), the real driver over a real serial transport, and the
real pipeline with its outbox.

The simulator integrates its script on the test's FakeClock, so a poll every `poll_s` of fake time
delivers exactly that much dose; only the driver's read timeout runs on the real clock.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.config import parse_config
from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from drivers.ptw_diamentor import PtwDiamentor, PtwDiamentorConfig
from drivers.transport import SerialTransport
from simulators.procedure import Procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.agent.room import carm_toml
from tests.fakes import FakeClock


class PtyRoom:
    def __init__(
        self,
        tmp_path: Path,
        procedure: Procedure,
        fluoro: str = "",
        triggers: str = '[triggers]\npreset = "ncrp168-sir"',
        time_base_s: float = 1.0,
    ) -> None:
        self.clock = FakeClock()
        self.simulator = DiamentorSimulator(procedure, monotonic=self.clock.monotonic)
        port = self.simulator.start()
        meter = PtwDiamentorConfig(
            name="dap1", driver="ptw_diamentor", port=port, dap_rate_time_base_s=time_base_s
        )
        self.config = replace(parse_config(carm_toml(fluoro, triggers)), devices=(meter,))
        self.outbox = Outbox(tmp_path / "outbox.sqlite")
        self.pipeline = Pipeline(self.config, self.outbox, self.clock, lambda: None)
        self.driver = PtwDiamentor(meter, SerialTransport(port, 9600))
        self.driver.connect()
        self.polls = 0

    def run(self, seconds: float, poll_s: float = 0.25) -> None:
        for _ in range(round(seconds / poll_s)):
            self.clock.advance(poll_s)
            self.pipeline.on_reading(self.driver.poll())
            self.polls += 1

    def close(self) -> None:
        self.driver.close()
        self.simulator.stop()
        self.outbox.close()

    def stored(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(m.payload) for m in self.outbox.pending(1_000_000) if m.topic == topic]

    def alarms(self, alarm_type: str, state: str = "raised") -> list[dict[str, Any]]:
        return [a for a in self.stored("alarm") if a["type"] == alarm_type and a["state"] == state]

    @property
    def procedure_kap(self) -> float:
        current = self.pipeline.fluoro.procedure.current if self.pipeline.fluoro else None
        return current.kap_gy_cm2 if current is not None else 0.0
