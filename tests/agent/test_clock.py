"""Timestamps: one form everywhere (ISO-8601 UTC, milliseconds truncated, `Z`), whatever the zone given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from agent.clock import iso_utc


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_iso_utc_is_the_utc_instant_to_the_millisecond(naive: datetime, offset_min: int) -> None:
    moment = naive.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    text = iso_utc(moment)
    utc = moment.astimezone(UTC)
    assert text == utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    assert len(text) == 24 and text.endswith("Z")
