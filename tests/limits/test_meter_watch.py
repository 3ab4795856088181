"""limits/meter_watch.py in injected time: a meter whose KAP stops counting while the beam is on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from limits.meter_watch import MeterCounting, MeterFrozen, MeterSample, MeterWatchState, evaluate

ON = ("generator beam_on",)


def run(samples: list[MeterSample], after_s: float = 5.0) -> list[tuple[float, object]]:
    state, seen = MeterWatchState(), []
    for sample in samples:
        state, events = evaluate(state, sample, after_s)
        seen += [(sample.t_s, e) for e in events]
    return seen


def test_constant_kap_with_beam_on_alarms_once_at_the_configured_time_not_before() -> None:
    seen = run([MeterSample(t / 4, 2.5, ON) for t in range(0, 80)], after_s=5.0)
    ((t, event),) = seen
    assert t == 5.0
    assert isinstance(event, MeterFrozen) and event.evidence == ON and event.last_kap_gy_cm2 == 2.5


def test_the_stretch_is_counted_from_the_start_of_the_beam_not_from_the_last_increase() -> None:
    """KAP unchanged for a minute with the beam off, then beam on: the wait starts at beam-on."""
    off = [MeterSample(float(t), 2.5, ()) for t in range(60)]
    on = [MeterSample(60 + t / 4, 2.5, ON) for t in range(40)]
    ((t, _),) = run(off + on)
    assert t == 65.0


def test_an_increase_clears_and_the_next_stall_alarms_again() -> None:
    samples = [MeterSample(t / 4, 1.0, ON) for t in range(30)]  # frozen at 5 s
    samples += [MeterSample(7.5, 1.1, ON)]  # counting again
    samples += [MeterSample(7.5 + t / 4, 1.1, ON) for t in range(1, 30)]  # frozen again at 12.5 s
    kinds = [(t, type(e).__name__, getattr(e, "reason", "")) for t, e in run(samples)]
    assert kinds == [
        (5.0, "MeterFrozen", ""),
        (7.5, "MeterCounting", "kap_increased"),
        (12.5, "MeterFrozen", ""),
    ]


def test_end_of_beam_evidence_clears_and_a_reset_is_not_an_increase() -> None:
    samples = [MeterSample(float(t), 9.0, ON) for t in range(7)]
    samples += [MeterSample(7.0, 9.0, ())]
    samples += [MeterSample(8.0 + t, 0.0, ON) for t in range(7)]  # meter reset to 0, then stuck
    seen = run(samples)
    assert [type(e) for _, e in seen] == [MeterFrozen, MeterCounting, MeterFrozen]
    assert isinstance(seen[1][1], MeterCounting) and seen[1][1].reason == "beam_off"
    assert seen[2][0] == 13.0


@given(
    steps=st.lists(
        st.tuples(st.floats(0.01, 30.0), st.floats(1e-6, 5.0), st.booleans()), min_size=1, max_size=200
    ),
    after_s=st.floats(1.0, 60.0),
)
def test_kap_strictly_increasing_during_beam_on_never_alarms(
    steps: list[tuple[float, float, bool]], after_s: float
) -> None:
    """Any sampling (gaps longer than the wait included), any increase, beam evidence on or off."""
    t, kap, samples = 0.0, 0.0, [MeterSample(0.0, 0.0, ON)]
    for dt, dkap, meter_rate in steps:
        t, kap = t + dt, kap + dkap
        samples.append(MeterSample(t, kap, ON + ("meter rate",) * meter_rate))
    assert run(samples, after_s) == []


@given(dts=st.lists(st.floats(0.01, 2.0), min_size=1, max_size=300), after_s=st.floats(1.0, 20.0))
def test_kap_held_during_beam_on_alarms_once_at_the_first_sample_past_the_wait(
    dts: list[float], after_s: float
) -> None:
    t, samples = 0.0, [MeterSample(0.0, 4.0, ON)]
    for dt in dts:
        t += dt
        samples.append(MeterSample(t, 4.0, ON))
    due = [s.t_s for s in samples if s.t_s >= after_s]
    seen = run(samples, after_s)
    assert [t for t, _ in seen] == due[:1]
