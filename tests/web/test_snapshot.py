"""What the page is sent: read defensively, never a stale number marked live, an error rather than
silence when the snapshot cannot be built."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from agent.app import Agent
from agent.config import parse_config
from agent.web.feed import HEALTH_EVERY_S
from agent.web.snapshot import fluoro_view, next_marks
from limits.trigger_levels import load_trigger_set
from limits.triggers import TriggerState
from tests.agent.room import carm_toml
from tests.fakes import FakeClock


def agent(tmp: Path, clock: FakeClock | None = None) -> Agent:
    text = carm_toml() + f'\n[store]\npath = "{tmp}/o.sqlite"\n[web]\nenabled = true\nport = 0\n'
    return Agent(parse_config(text), clock=clock or FakeClock())


def test_a_monitor_missing_fields_shows_as_not_known() -> None:
    view = fluoro_view(SimpleNamespace(), {}, None, 4.0)
    assert view["rate"]["live"] is False and view["rate"]["esak_mgy_min"] is None
    assert view["procedure"]["open"] is False and view["procedure"]["marks"] == {}


def test_the_rate_is_not_live_when_its_meter_is_lost_or_silent(tmp_path: Path) -> None:
    monitor = agent(tmp_path).pipeline.fluoro
    lost = {"dap1": {"availability": "lost"}}
    assert fluoro_view(monitor, lost, 0.1, 4.0)["rate"]["why_not_live"] == "dap1 lost"
    assert fluoro_view(monitor, {}, 9.0, 4.0)["rate"]["why_not_live"] == "no reading"
    assert fluoro_view(monitor, {"dap1": {"availability": "ok"}}, 0.5, 4.0)["rate"]["live"] is True


def test_the_next_mark_is_the_lowest_level_not_yet_reached() -> None:
    triggers = load_trigger_set("ncrp168-sir")
    kar = next(level for level in triggers.levels if level.quantity == "kar" and level.every > 0)
    first = next_marks(triggers, TriggerState())["kar"]["value"]
    assert first <= kar.threshold(0)
    later = next_marks(triggers, TriggerState(((kar.id, 1),)))["kar"]["value"]
    assert later >= first


def test_a_snapshot_that_cannot_be_built_is_sent_as_an_error(tmp_path: Path) -> None:
    clock = FakeClock()
    live = agent(tmp_path, clock)
    assert live.web is not None
    feed = live.web.feed
    assert feed.publish()["ok"] is True

    def broken() -> dict[str, Any]:
        raise RuntimeError("health went wrong")

    live.health = broken  # type: ignore[method-assign]
    clock.advance(HEALTH_EVERY_S)  # the health figures are due again
    snap = feed.publish()
    assert snap["ok"] is False and "health went wrong" in snap["error"] and "fluoro" not in snap
    live.outbox.close()
