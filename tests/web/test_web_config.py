"""`[web]`: strict like every table, off by default, and every key documented in docs/web.md."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.web.config import WebConfig
from core.errors import ConfigError
from tests.agent.room import carm_toml

DOCS = Path(__file__).resolve().parents[2] / "docs" / "web.md"


def test_the_view_is_off_and_on_loopback_unless_configured() -> None:
    config = parse_config(carm_toml())
    assert config.web.enabled is False and config.web.host == "127.0.0.1"


def test_unknown_keys_and_bad_values_are_reported_with_their_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(carm_toml() + '\n[web]\nenabled = true\nhost = "my-box"\nport = 70000\n')
    text = str(caught.value)
    assert "web.host" in text and "web.port" in text
    with pytest.raises(ConfigError, match=r"web\.kiosk: unknown key"):
        parse_config(carm_toml() + "\n[web]\nkiosk = true\n")


def test_stale_after_must_leave_room_for_two_pushes() -> None:
    problems = WebConfig(push_interval_s=2.0, stale_after_s=3.0).validate()
    assert [key for key, _ in problems] == ["stale_after_s"]


def test_every_key_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [f.name for f in fields(WebConfig) if f"| `{f.name}` |" not in text]
    assert missing == []
