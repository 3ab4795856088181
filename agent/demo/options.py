"""A demo station's config: the shipped file with the command line's `--mqtt` and `--web` applied.

One place for the four demos (`doseedge demo --station …`), so each starts from the same rule: the
file as shipped, the broker and the page moved only when the command line says so.
"""

from __future__ import annotations

__all__ = ["demo_config"]

from pathlib import Path

from agent.config import AgentConfig, load_config


def demo_config(
    config_path: Path, mqtt: tuple[str, int] | None, web: tuple[str, int] | None = None
) -> AgentConfig:
    config = load_config(config_path)
    if mqtt is not None:
        config = config.with_mqtt(*mqtt)
    if web is not None:
        config = config.with_web(*web)
    return config
