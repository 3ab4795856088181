"""docs/architecture.md draws the tree as it is, and every folder says what it owns in a README."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _drawing() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Layout and layers", 1)[1]
    return section.split("```", 2)[1]


def _tracked_dirs() -> set[str]:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {f.split("/")[0] for f in files if "/" in f and not f.startswith(".")}


def test_every_top_level_folder_is_drawn() -> None:
    drawn = set(re.findall(r"^([a-z_]+)/", _drawing(), flags=re.MULTILINE))
    assert drawn == _tracked_dirs()


def test_every_agent_sub_package_and_top_module_is_drawn() -> None:
    drawing = _drawing()
    drawn_packages = set(re.findall(r"^  ([a-z_]+)/", drawing, flags=re.MULTILINE))
    packages = {p.name for p in (ROOT / "agent").iterdir() if (p / "__init__.py").exists()}
    assert drawn_packages == packages
    for module in ("bridge_room.py", "plausibility.py", "security.py", "pipeline.py", "poller.py"):
        assert f"  {module}" in drawing and (ROOT / "agent" / module).exists()
    assert "signing.py" in drawing and (ROOT / "core" / "signing.py").exists()


def test_every_folder_has_a_readme() -> None:
    folders = {ROOT / d for d in _tracked_dirs()}
    folders |= {p for p in (ROOT / "agent").iterdir() if (p / "__init__.py").exists()}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "README.md").exists())
    assert missing == []
