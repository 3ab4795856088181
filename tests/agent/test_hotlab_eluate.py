"""Issue 11, finding 2: Mo-99 breakthrough from this eluate's own measurements, aligned in time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agent.clock import iso_utc
from agent.commands.router import CommandRouter
from tests.agent.hotlab_fixtures import Bench, activity
from tests.fakes import LocalRouter

# Tc-99m over Mo-99: the ratio grows by exp((ln2/6.0067 h − ln2/65.976 h) · t) = 10.5 %/h.
GROWTH_PER_H = 0.693147 / 6.0067 - 0.693147 / 65.976


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    b = Bench(tmp_path)
    b.monitor.register_commands(router := LocalRouter())
    b.router = router  # type: ignore[attr-defined]
    return b


def eluate(bench: Bench, **args: object) -> dict[str, object]:
    router: CommandRouter = bench.router  # type: ignore[attr-defined]
    return router.dispatch("hotlab_eluate", json.dumps(args).encode())


def at(bench: Bench, hours: float) -> str:
    return iso_utc(bench.clock.wall() + timedelta(hours=hours))


def test_every_input_is_required_and_the_last_syringe_is_never_used(bench: Bench) -> None:
    bench.feed(activity(740.0), 6)  # a patient syringe: once this stood in for the eluate
    assert len(bench.records("activity")) == 1
    refused = eluate(bench, mo99_kbq=100)
    assert refused["ok"] is False
    assert "tc99m_mbq" in str(refused["error"]) and "tc99m_measured_at" in str(refused["error"])
    no_times = eluate(bench, mo99_kbq=100, tc99m_mbq=20000)
    assert no_times["ok"] is False and "mo99_measured_at" in str(no_times["error"])
    future = eluate(
        bench, mo99_kbq=1, mo99_measured_at=at(bench, 2), tc99m_mbq=1, tc99m_measured_at=at(bench, 0)
    )
    assert future["ok"] is False and "future" in str(future["error"])
    assert bench.records("eluate") == []


def test_ratio_now_at_administration_and_when_the_limit_is_reached(bench: Bench) -> None:
    # 0.067 kBq/MBq at elution (now) reaches 0.15 after ln(0.15/0.067)/0.1049 h = 7.7 h
    now = at(bench, 0)
    ok = eluate(
        bench,
        mo99_kbq=1340,
        mo99_measured_at=now,
        tc99m_mbq=20000,
        tc99m_measured_at=now,
        planned_administration=at(bench, 2),
        generator="G-7",
    )
    assert ok["ok"] is True and ok["exceeded"] is False
    assert ok["ratio_now"] == {"value": 0.067, "unit": "kBq/MBq"}
    expected_admin = 0.067 * 2.718281828 ** (GROWTH_PER_H * 2)
    assert ok["ratio_at_administration"]["value"] == pytest.approx(expected_admin, abs=1e-4)  # type: ignore[index]
    limit = datetime.fromisoformat(str(ok["limit_reached_at"]).replace("Z", "+00:00"))
    hours = (limit - bench.clock.wall()).total_seconds() / 3600
    assert hours == pytest.approx(7.68, abs=0.01)
    (record,) = bench.records("eluate")
    check = record["check"]
    assert check["limit_reached_at"] == ok["limit_reached_at"]  # type: ignore[index]
    assert "each eluate" in check["level"]["citation"]  # type: ignore[index]
    assert "amended in 2018" in check["level"]["citation"]  # type: ignore[index]
    late = eluate(
        bench,
        mo99_kbq=1340,
        mo99_measured_at=now,
        tc99m_mbq=20000,
        tc99m_measured_at=now,
        planned_administration=at(bench, 8),
    )
    assert late["exceeded"] is True  # the same eluate, given after 7.7 h
    alarm = bench.alarms("activity_mo99_breakthrough")[0]
    assert "at the planned administration" in str(alarm["message"])


def test_measurements_taken_at_different_times_are_aligned(bench: Bench) -> None:
    # Mo-99 counted in its shield 3 h after the Tc-99m assay, judged now (no planned time).
    ok = eluate(
        bench,
        mo99_kbq=1000,
        mo99_measured_at=at(bench, 0),
        tc99m_mbq=20000,
        tc99m_measured_at=at(bench, -3),
    )
    tc_now = 20000 * 0.5 ** (3 / 6.0067)
    assert ok["ratio_now"]["value"] == pytest.approx(1000 / tc_now, abs=1e-4)  # type: ignore[index]
    assert ok["ratio_at_administration"] is None
    (record,) = bench.records("eluate")
    assert record["check"]["judged_at"] == "now"  # type: ignore[index]


def test_no_mo99_detected_never_reaches_the_limit(bench: Bench) -> None:
    now = at(bench, 0)
    ok = eluate(bench, mo99_kbq=0, mo99_measured_at=now, tc99m_mbq=20000, tc99m_measured_at=now)
    assert ok["ok"] is True and ok["exceeded"] is False and ok["limit_reached_at"] is None
