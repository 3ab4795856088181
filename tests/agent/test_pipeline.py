"""The pipeline in injected time: readings become stored messages, alarms and records."""

from __future__ import annotations

import json
from pathlib import Path

from agent.config import AgentConfig, parse_config
from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from drivers.model import Measurement, Reading
from limits.dosimetry import esak_rate_mgy_min
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def setup(tmp_path: Path) -> tuple[AgentConfig, Pipeline, Outbox, FakeClock]:
    config = parse_config((ROOT / "config" / "demo.toml").read_text())
    outbox = Outbox(tmp_path / "o.sqlite")
    clock = FakeClock()
    woken: list[int] = []
    return config, Pipeline(config, outbox, clock, lambda: woken.append(1)), outbox, clock


def dap_reading(kap: float, kap_rate_per_min: float, seconds: float) -> Reading:
    return Reading(
        "dap1",
        (
            Measurement("kap", kap, "Gy·cm²", kap * 100, "µGy·m²"),
            Measurement("kap_rate", kap_rate_per_min, "Gy·cm²/min", kap_rate_per_min * 100 / 60, "µGy·m²/s"),
            Measurement("irradiation_time", seconds, "s", seconds, "s"),
        ),
    )


def stored(outbox: Outbox, topic: str) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in outbox.pending(100_000) if m.topic == topic]


def play(
    pipeline: Pipeline, clock: FakeClock, esak_steps: list[tuple[float, float]], per_esak: float
) -> None:
    kap, seconds = 0.0, 0.0
    for duration, esak in esak_steps:
        for _ in range(int(duration / 0.25)):
            rate = esak / per_esak
            kap += rate * 0.25 / 60
            seconds += 0.25 if rate else 0
            pipeline.on_reading(dap_reading(kap, rate, seconds))
            clock.advance(0.25)


def test_procedure_over_the_level_raises_then_clears_and_records(tmp_path: Path) -> None:
    config, pipeline, outbox, clock = setup(tmp_path)
    assert config.fluoroscopy is not None
    per_esak = esak_rate_mgy_min(1.0, config.fluoroscopy.geometry())
    play(pipeline, clock, [(2, 0), (5, 14), (6, 38), (6, 12), (2, 0)], per_esak)

    alarms = stored(outbox, "alarm")
    assert [a["state"] for a in alarms] == ["raised", "cleared"]
    assert alarms[0]["alarm_id"] == alarms[1]["alarm_id"]
    assert alarms[0]["level"]["value"] == 25.0 and alarms[0]["value"]["value"] > 25
    levels = dict(stored(outbox, "levels")[-1]["citations"])  # type: ignore[call-overload]  # text once, named by id
    assert "Tableau 4" in levels[alarms[0]["level"]["citation_id"]]
    assert alarms[0]["factors"]["backscatter_factor"] == 1.4

    (record,) = stored(outbox, "record/irradiation")
    assert record["rate_alarms"] == 1
    assert abs(record["peak_esak_rate"]["value"] - 38) < 0.01
    assert abs(record["kap"]["value"] - (5 * 14 + 6 * 38 + 6 * 12) / per_esak / 60) < 1e-3

    readings = stored(outbox, "reading/dap1")
    assert len(readings) == 84
    assert readings[-1]["schema"] == "doseedge.reading.v2" and readings[-1]["ts"].endswith("Z")
    assert {m["quantity"] for m in readings[0]["measurements"]} == {"kap", "kap_rate", "irradiation_time"}
    seqs = [m.seq for m in outbox.pending(100_000)]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


def test_meter_reset_mid_irradiation_neither_loses_nor_doubles_dose(tmp_path: Path) -> None:
    _, pipeline, outbox, clock = setup(tmp_path)
    for kap in (0.0, 1.0, 2.0, 0.5, 1.5):  # the meter was reset between 2.0 and 0.5
        pipeline.on_reading(dap_reading(kap, 5.0, 0))
        clock.advance(1)
    pipeline.on_reading(dap_reading(1.5, 0.0, 0))
    (record,) = stored(outbox, "record/irradiation")
    assert record["kap"]["value"] == 3.5


def test_device_lost_during_beam_on_is_a_high_alarm(tmp_path: Path) -> None:
    _, pipeline, outbox, _clock = setup(tmp_path)
    pipeline.on_reading(dap_reading(0.1, 5.0, 1))
    pipeline.on_availability("dap1", False, "silent")
    pipeline.on_availability("dap1", True, "")
    lost, back = stored(outbox, "alarm")
    assert (lost["type"], lost["state"], lost["severity"]) == ("device_lost", "raised", "high")
    assert lost["beam_on_at_loss"] is True
    assert (back["state"], back["alarm_id"]) == ("cleared", lost["alarm_id"])


def test_alarm_reaches_the_live_view_even_when_the_store_fails(tmp_path: Path) -> None:
    _, pipeline, outbox, _ = setup(tmp_path)
    seen = []
    pipeline.alarm_listeners.append(seen.append)
    outbox.close()  # every write now fails with StoreError
    pipeline.on_availability("dap1", False, "unplugged")
    assert seen and seen[0].alarm_type == "device_lost"
    assert pipeline.store_ok is False and pipeline.counters["store_errors"] == 1


def test_a_stretched_poller_is_one_warning_alarm_raised_and_cleared(tmp_path: Path) -> None:
    _, pipeline, outbox, _ = setup(tmp_path)
    pipeline.on_poll_overrun("dap1", True, "last poll took 900 ms for an interval of 250 ms")
    pipeline.on_poll_overrun("dap1", False, "last poll took 20 ms for an interval of 250 ms")
    alarms = [a for a in stored(outbox, "alarm") if a["type"] == "poll_overrun"]
    assert [(a["state"], a["severity"]) for a in alarms] == [("raised", "warning"), ("cleared", "warning")]
    assert alarms[0]["alarm_id"] == alarms[1]["alarm_id"] and "cannot keep up" in str(alarms[0]["message"])


def test_many_devices_overrunning_together_are_one_alarm_not_one_per_device(tmp_path: Path) -> None:
    """Overload stretches every device's polls at once (bench/overload.py saw 162 devices overrun in a
    second): the box cannot keep up is one fact, alarmed once, cleared when the last device is back."""
    _, pipeline, outbox, _ = setup(tmp_path)
    for i in range(50):
        pipeline.on_poll_overrun(f"gen{i}", True, f"last poll took 240 ms for an interval of 50 ms ({i})")
    for i in range(49):
        pipeline.on_poll_overrun(f"gen{i}", False, "last poll took 20 ms for an interval of 50 ms")
    alarms = [a for a in stored(outbox, "alarm") if a["type"] == "poll_overrun"]
    assert [a["state"] for a in alarms] == ["raised"]
    assert alarms[0]["device"] == "gen0"
    pipeline.on_poll_overrun("gen49", False, "last poll took 20 ms for an interval of 50 ms")
    alarms = [a for a in stored(outbox, "alarm") if a["type"] == "poll_overrun"]
    assert [a["state"] for a in alarms] == ["raised", "cleared"]
    assert alarms[1]["devices_overrunning"] == 0


def test_the_rooms_instruments_must_be_polled_during_beam_on_and_only_then(tmp_path: Path) -> None:
    """Back-pressure never holds the DAP meter's polls during beam-on (agent/backpressure.py)."""
    config, pipeline, _, clock = setup(tmp_path)
    assert config.fluoroscopy is not None and config.fluoroscopy.dap_meter == "dap1"
    assert not pipeline.must_poll("dap1")  # no beam: it may wait like any device
    per_esak = esak_rate_mgy_min(1.0, config.fluoroscopy.geometry())
    play(pipeline, clock, [(2, 0), (3, 14)], per_esak)
    assert pipeline.fluoro is not None and pipeline.fluoro.beam_on
    assert pipeline.must_poll("dap1") and not pipeline.must_poll("activimeter")
