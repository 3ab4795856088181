"""A dose meter that answers but has stopped counting: beam on, cumulative KAP not increasing.

A display hold, frozen firmware or a chamber unplugged from its electrometer leaves the meter
answering every poll (so `device_lost` never fires) with a KAP that no longer grows: the dose-rate
check and the procedure totals then stop growing too, silently. This evaluator watches for it.

Beam-on evidence must not come from the KAP counter under suspicion: the caller passes the
generator's fresh beam_on/mode and/or the meter's own rate at or above the beam-on threshold. While
that evidence lasts and KAP has not increased for `frozen_after_s` (counted from the later of the
last increase and the start of the evidence), `MeterFrozen` is emitted once; `MeterCounting`
follows when KAP increases again or the evidence ends. A KAP drop (meter reset, wrap) is not an
increase: the new value becomes the reference and the next increase counts.

Pure: no clock, no I/O; `evaluate(state, sample, frozen_after_s) -> (state, events)`.
"""

from __future__ import annotations

__all__ = ["MeterCounting", "MeterFrozen", "MeterSample", "MeterWatchState", "evaluate"]

from dataclasses import dataclass


@dataclass(frozen=True)
class MeterSample:
    t_s: float  # monotonic
    kap_gy_cm2: float  # the meter's cumulative KAP counter
    evidence: tuple[str, ...]  # why the beam is believed on, e.g. ("generator beam_on",); () = off


@dataclass(frozen=True)
class MeterWatchState:
    last_kap_gy_cm2: float | None = None
    since_t_s: float | None = None  # start of the current stretch of beam-on without increase
    frozen: bool = False


@dataclass(frozen=True)
class MeterFrozen:
    seconds_without_increase: float
    evidence: tuple[str, ...]
    last_kap_gy_cm2: float


@dataclass(frozen=True)
class MeterCounting:
    reason: str  # kap_increased | beam_off
    seconds_without_increase: float
    last_kap_gy_cm2: float


Event = MeterFrozen | MeterCounting


def evaluate(
    state: MeterWatchState, sample: MeterSample, frozen_after_s: float
) -> tuple[MeterWatchState, list[Event]]:
    last = state.last_kap_gy_cm2
    increased = last is not None and sample.kap_gy_cm2 > last
    stalled_s = 0.0 if state.since_t_s is None else sample.t_s - state.since_t_s
    events: list[Event] = []
    if not sample.evidence or increased:
        if state.frozen:
            reason = "kap_increased" if increased else "beam_off"
            events.append(MeterCounting(reason, stalled_s, sample.kap_gy_cm2))
        since = sample.t_s if sample.evidence else None
        return MeterWatchState(sample.kap_gy_cm2, since, False), events
    since = sample.t_s if state.since_t_s is None else state.since_t_s
    stalled_s = sample.t_s - since
    frozen = state.frozen
    if not frozen and stalled_s >= frozen_after_s:
        frozen = True
        events.append(MeterFrozen(stalled_s, sample.evidence, sample.kap_gy_cm2))
    return MeterWatchState(sample.kap_gy_cm2, since, frozen), events
