"""Report by exception (issue 17): with `[store] report_deadband` an unchanged reading is judged but
not stored or sent, except as a heartbeat every `report_max_interval_s`; every reading is sent
during beam-on and while an alarm is active, and no alarm or dose record is lost."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from agent.config import parse_config
from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from limits.dosimetry import esak_rate_mgy_min
from tests.agent.test_pipeline import dap_reading, play
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def setup(tmp_path: Path, deadband: float) -> tuple[Pipeline, Outbox, FakeClock]:
    config = parse_config((ROOT / "config" / "demo.toml").read_text())
    store = replace(config.store, report_deadband=deadband, report_max_interval_s=10.0)
    outbox, clock = Outbox(tmp_path / f"o-{deadband}.sqlite"), FakeClock()
    return Pipeline(replace(config, store=store), outbox, clock, lambda: None), outbox, clock


def sent(outbox: Outbox) -> list[dict[str, object]]:
    return [{"topic": m.topic, **json.loads(m.payload)} for m in outbox.pending(100_000)]


def test_unchanged_readings_are_judged_but_sent_only_as_a_heartbeat_or_on_change(tmp_path: Path) -> None:
    pipeline, outbox, clock = setup(tmp_path, deadband=0.01)
    for _ in range(100):  # 10 s of an idle meter at 10 Hz
        pipeline.on_reading(dap_reading(2.0, 0.0, 30.0))
        clock.advance(0.1)
    pipeline.on_reading(dap_reading(2.0, 0.0, 30.0))  # 10 s after the first: the heartbeat
    pipeline.on_reading(dap_reading(2.01, 0.0, 30.0))  # 0.5 %: inside the deadband
    pipeline.on_reading(dap_reading(2.05, 0.0, 30.0))  # 2.5 %: a change
    readings = [m for m in sent(outbox) if m["topic"] == "reading/dap1"]
    assert len(readings) == 3
    assert pipeline.counters["readings"] == 103 and pipeline.counters["readings_unreported"] == 100


def test_beam_on_and_active_alarms_send_every_reading_and_no_record_is_lost(tmp_path: Path) -> None:
    results = {}
    for deadband in (0.0, 0.05):
        pipeline, outbox, clock = setup(tmp_path, deadband)
        per_esak = esak_rate_mgy_min(1.0, pipeline.config.fluoroscopy.geometry())  # type: ignore[union-attr]
        play(pipeline, clock, [(20, 0), (5, 14), (6, 38), (6, 12), (20, 0)], per_esak)
        results[deadband] = (sent(outbox), pipeline.counters["readings_unreported"])
    every, _ = results[0.0]
    some, unreported = results[0.05]
    strip = ("seq", "record_id", "ts", "alarm_id", "procedure_id", "event_id", "started_at", "ended_at")

    def scrub(value: object) -> object:  # ids and stamps differ between two runs
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if k not in strip}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    def notices(messages: list[dict[str, object]]) -> list[object]:
        return [scrub(m) for m in messages if not str(m["topic"]).startswith("reading/")]

    assert notices(some) == notices(every) and any(m["topic"] == "record/irradiation" for m in some)
    beam_on = [m for m in every if m["topic"] == "reading/dap1" and m["measurements"][1]["value"] > 0]  # type: ignore[index]
    sent_on = [m for m in some if m["topic"] == "reading/dap1" and m["measurements"][1]["value"] > 0]  # type: ignore[index]
    assert len(sent_on) == len(beam_on) == 68  # every poll during beam-on
    assert unreported > 100  # the idle minutes before and after went out as heartbeats only
