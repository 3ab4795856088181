"""[fluoroscopy] / [triggers] config: strict, every problem named; check-config shows levels and sources."""

from __future__ import annotations

import pytest

from agent.cli import _explain
from agent.config import parse_config
from core.errors import ConfigError
from tests.agent.room import carm_toml


def test_default_preset_and_overrides_shown_with_sources() -> None:
    loaded = parse_config(
        carm_toml(triggers='[triggers]\n[[triggers.override]]\nid = "kar_notification"\nfirst = 2.0'),
        "room.toml",
    )
    text = _explain(loaded)
    assert "preset 'ncrp168-sir'" in text
    assert "kar_notification: kar 2 Gy, then every 1 Gy" in text
    assert "room.toml [[triggers.override]]" in text
    assert "worst-case detection delay" in text and "Tableau 4" in text


@pytest.mark.parametrize(
    ("fluoro", "triggers", "key"),
    [
        ("", '[triggers]\npreset = "nope"', "triggers"),
        (
            "",
            '[triggers]\n[[triggers.override]]\nid = "kar_notification"\nfirst = -1.0',
            "triggers.override[0].first",
        ),
        ("", '[triggers]\n[[triggers.override]]\nid = "nope"', "triggers"),
        ("raise_after_s = 1.0", "", "fluoroscopy.raise_after_s"),
        ('generator = "gen9"', "", "fluoroscopy.generator"),
        ("tube_output = { kv = [80.0], output_ugy_mas_at_1m = [50.0] }", "", "fluoroscopy.tube_output.kv"),
    ],
)
def test_problems_are_named(fluoro: str, triggers: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(carm_toml(fluoro, triggers))
    assert key in [p.key for p in caught.value.problems]
