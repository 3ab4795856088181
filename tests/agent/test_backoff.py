from __future__ import annotations

import pytest

from agent.link.backoff import backoff_s


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (0, 0.0, 0.25),  # half of min at the lowest jitter
        (0, 0.999999, 0.5),
        (1, 0.0, 0.5),
        (3, 0.5, 3.0),  # 4 s ceiling × 0.75
        (10, 0.999999, 30.0),  # capped at max
        (10, 0.0, 15.0),
        (5000, 0.0, 15.0),  # no overflow for a box that tried for days
    ],
)
def test_backoff_doubles_caps_and_jitters(attempt: int, rand: float, expected: float) -> None:
    assert backoff_s(attempt, 0.5, 30.0, lambda: rand) == pytest.approx(expected, abs=1e-4)
