"""The firmware's shape: only hal.py touches `machine`; the rest imports on CPython and needs nothing
from doseedge, so the same files run on the board and in these tests."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_bridge"
MODULES = sorted(p for p in FIRMWARE.glob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_hal_imports_machine() -> None:
    users = {p.name for p in MODULES if "machine" in _imports(p)}
    assert users == {"hal.py"}


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_firmware_imports_only_itself_and_micropython_builtins(path: Path) -> None:
    allowed = {"firmware_bridge", "machine", "micropython", "select", "sys", "time"}
    assert _imports(path) <= allowed, path.name


@pytest.mark.parametrize("name", ["codec", "debounce", "counting", "patterns", "settings", "bridge"])
def test_logic_modules_import_on_cpython(name: str) -> None:
    importlib.import_module(f"firmware_bridge.{name}")
