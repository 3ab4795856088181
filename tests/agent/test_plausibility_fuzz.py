"""Issue 9, "Done when": the DIAMENTOR codec and the monitor fed values across the whole float range
(1e30, negative, NaN, ±inf, wraps, resets, huge jumps). Work per reading is bounded (counted in
traced lines, tests/work.py — not timed); a rejected value raises no alarm but `implausible_value`
and adds nothing to any total."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import parse_config
from agent.notices import AlarmNotice
from agent.pipeline import Pipeline
from agent.store.outbox import Outbox
from core.errors import FrameError
from drivers.model import Measurement, Reading
from drivers.ptw_diamentor_codec import parse_measurement
from tests.agent.room import carm_toml
from tests.fakes import FakeClock
from tests.work import work_budget

PER_READING_LINES = 60_000
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
ABSURD = st.sampled_from([1e30, -1e30, 1e17, 99_999_999.0, -6.0, math.nan, math.inf, -math.inf, 1e308])


@settings(max_examples=300, deadline=None)
@given(
    dap=ANY_FLOAT | ABSURD, rate=ANY_FLOAT | ABSURD, minutes=st.integers(0, 10**6), seconds=st.integers(0, 99)
)
def test_the_codec_returns_a_finite_sample_or_a_frame_error(
    dap: float, rate: float, minutes: int, seconds: int
) -> None:
    with work_budget(2_000):
        try:
            sample = parse_measurement(f"M{dap!r},{rate!r},{minutes},{seconds}")
        except FrameError:
            return
    assert math.isfinite(sample.dap) and math.isfinite(sample.dap_rate)
    assert sample.irradiation_time_s >= 0 and seconds < 60


# One step: (seconds since the last poll, KAP, KAP rate, irradiation time) — each either a plausible
# continuation of a steady 10 Gy·cm²/min run or any float at all.
STEP = st.tuples(
    st.sampled_from([0.0, 0.05, 0.25, 1.0, 30.0]),
    st.none() | ANY_FLOAT | ABSURD,
    st.none() | ANY_FLOAT | ABSURD,
    st.none() | ANY_FLOAT | ABSURD,
)


def _reading(kap: float, rate: float, seconds: float) -> Reading:
    return Reading(
        "dap1",
        (
            Measurement("kap", kap, "Gy·cm²", kap, "Gy·cm²"),
            Measurement("kap_rate", rate, "Gy·cm²/min", rate, "Gy·cm²/min"),
            Measurement("irradiation_time", seconds, "s", seconds, "s"),
        ),
    )


def _totals(pipeline: Pipeline) -> tuple[float, ...]:
    assert pipeline.fluoro is not None
    current = pipeline.fluoro.procedure.current
    if current is None:
        return (0.0, 0.0, 0.0)
    return (current.kap_gy_cm2, current.kar_mgy, current.fluoro_time_s)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=40))
def test_the_monitor_judges_any_value_in_bounded_work_and_a_rejected_one_changes_nothing(
    steps: list[tuple[float, float | None, float | None, float | None]],
) -> None:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(Path(tmp) / "o.sqlite")
        pipeline = Pipeline(parse_config(carm_toml()), outbox, clock, lambda: None)
        heard: list[AlarmNotice] = []
        pipeline.alarm_listeners.append(heard.append)
        kap, seconds = 0.0, 0.0
        try:
            for dt, kap_x, rate_x, time_x in steps:
                clock.advance(dt)
                kap += 10.0 * dt / 60
                seconds += dt
                reading = _reading(
                    kap if kap_x is None else kap_x,
                    10.0 if rate_x is None else rate_x,
                    seconds if time_x is None else time_x,
                )
                before, rejected = _totals(pipeline), pipeline.plausibility.rejected["dap1"]
                heard.clear()
                with work_budget(PER_READING_LINES):
                    pipeline.on_reading(reading)
                after = _totals(pipeline)
                assert all(math.isfinite(x) for x in after)
                if pipeline.plausibility.rejected["dap1"] > rejected:
                    assert {a.alarm_type for a in heard} <= {"implausible_value"}
                    assert after == before, "a rejected value entered a total"
                assert after[0] <= 100_000.0 + 1.0, "no total beyond the physical counter range"
        finally:
            outbox.close()
