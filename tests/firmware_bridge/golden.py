"""The golden frames of the bridge protocol, loaded once for the board's and the host's tests."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

GOLDEN = tomllib.loads((Path(__file__).parent / "golden_frames.toml").read_text(encoding="utf-8"))
FRAMES: list[dict[str, Any]] = GOLDEN["frame"]
BAD: list[dict[str, Any]] = GOLDEN["bad"]
