"""Issue 9, finding 7: messages that state what is true now — the clear after a mode change gives the
rate the meter reads, losing the generator says the DAP meter still monitors — and the Table 4
alarm's severity set per site."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from drivers.model import Measurement, Reading
from simulators.procedure import Procedure
from tests.agent.pty_room import shipped
from tests.agent.room import FLUORO, GEOMETRY, Room, generator_reading, with_generator
from tests.fakes import FakeClock


def mode_change_room(severity: str = "high") -> Room:
    config = replace(with_generator(FLUORO), rate_alarm_severity=severity)  # type: ignore[arg-type]
    room = Room(Procedure.from_esak([(60.0, 51.7)], GEOMETRY), config)
    room.run(8.0, generator=generator_reading("normal", True))  # 51.7 mGy/min > 25: raised
    room.run(4.0, generator=generator_reading("high_level", True))  # same beam, now high-level
    return room


def test_the_clear_after_a_mode_change_states_the_rate_the_meter_reads_now() -> None:
    room = mode_change_room()
    (cleared,) = [a for _, a in room.alarms if a.state == "cleared"]
    assert cleared.details["reason"] == "mode_changed"
    assert "51.7 mGy/min now" in cleared.message and "judged against 100 mGy/min" in cleared.message
    assert "back to 0.0" not in cleared.message
    assert cleared.details["value"]["value"] == pytest.approx(51.7, abs=0.05)  # the meter resolution


def test_the_table_4_alarm_severity_is_set_per_site() -> None:
    assert {a.severity for _, a in mode_change_room().alarms} == {"high"}  # the default, as before
    assert {a.severity for _, a in mode_change_room("warning").alarms} == {"warning"}


def lost_message(tmp_path: Path, device: str) -> dict[str, object]:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    pipeline = Pipeline(shipped("cathlab.toml"), outbox, FakeClock(), lambda: None)
    kap = Measurement("kap_rate", 2.0, "Gy·cm²/min", 2.0, "Gy·cm²/min")
    pipeline.on_reading(Reading("dap1", (kap,)))
    assert pipeline.fluoro is not None and pipeline.fluoro.beam_on
    pipeline.on_availability(device, False, "timeout")
    (alarm,) = [json.loads(m.payload) for m in outbox.pending(100) if m.topic == "alarm"]
    return alarm  # type: ignore[no-any-return]


def test_losing_the_generator_during_beam_on_says_the_dap_meter_still_monitors(tmp_path: Path) -> None:
    alarm = lost_message(tmp_path, "gen1")
    assert alarm["severity"] == "high" and "during beam-on" in str(alarm["message"])
    assert "not being monitored" not in str(alarm["message"])
    assert "DAP meter dap1 still monitors the dose" in str(alarm["message"])


def test_losing_the_dap_meter_says_the_generator_estimate_carries_on(tmp_path: Path) -> None:
    message = str(lost_message(tmp_path, "dap1")["message"])
    assert "estimated from generator gen1's parameters" in message
