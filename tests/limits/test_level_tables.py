"""Issue 9, finding 7: a level table is validated as it enters, and found only in limits/data or the
site's levels_dir — a clear ConfigError, never a traceback, never a file from elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import parse_config
from core.errors import ConfigError
from limits.levels import LevelTableError, load_rate_levels
from tests.agent.room import carm_toml

SOURCE = '[source]\nid = "site-x"\ndocument = "Site order"\nquantity = "ESAK rate"\n'


def row(mode: str, rate: object, citation: str = "row") -> str:
    return f'[[level]]\nmode = "{mode}"\nrate_mgy_min = {rate}\ncitation = "{citation}"\n'


GOOD = SOURCE + row("normal", 20.0) + row("high_level", 80.0)
BAD = {
    "negative": SOURCE + row("normal", -25.0),
    "zero": SOURCE + row("normal", 0),
    "high_level below normal": SOURCE + row("normal", 25.0) + row("high_level", 10.0),
    "missing normal row": SOURCE + row("high_level", 100.0),
    "missing source": row("normal", 25.0),
    "no citation": SOURCE + row("normal", 25.0, ""),
    "a string rate": SOURCE + row("normal", '"25"'),
    "unknown mode": SOURCE + row("normal", 25.0) + row("cine", 200.0),
    "not toml": "[[level",
}


def site(tmp_path: Path, text: str) -> str:
    (tmp_path / "site-levels.toml").write_text(text)
    return f'levels = "site-levels"\nlevels_dir = "{tmp_path}"'


def test_a_valid_site_table_is_loaded_from_levels_dir(tmp_path: Path) -> None:
    config = parse_config(carm_toml(site(tmp_path, GOOD)))
    assert config.rate_levels is not None and config.rate_levels.levels["normal"].rate_mgy_min == 20.0
    assert config.rate_levels.levels["normal"].citation == "row (Site order)"


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_invalid_table_is_a_config_error_naming_the_problem(tmp_path: Path, case: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(carm_toml(site(tmp_path, BAD[case])))
    (problem,) = [p for p in caught.value.problems if p.key == "fluoroscopy.levels"]
    assert "site-levels" in problem.message


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "dz-2015-table4-fluoroscopy/../x", ""])
def test_a_path_is_not_a_table_name(tmp_path: Path, name: str) -> None:
    (tmp_path / "x.toml").write_text(GOOD)
    with pytest.raises(LevelTableError, match="no path"):
        load_rate_levels(name, str(tmp_path / "a" / "b"))


def test_the_shipped_table_is_found_first_and_unknown_names_say_where_they_were_looked_for() -> None:
    assert load_rate_levels().levels["high_level"].rate_mgy_min == 100.0
    with pytest.raises(LevelTableError, match="limits/data or /nowhere"):
        load_rate_levels("nope", "/nowhere")
