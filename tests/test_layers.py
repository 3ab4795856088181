"""The layers point one way (docs/architecture.md): a test, not a convention.

- `core` (errors, strict TOML schema) imports nothing of ours;
- `limits` imports only `core` and itself; `drivers` only `core`, `firmware_bridge` (the shared codec) and
  itself; `simulators` never `agent`;
- `agent` imports `simulators` only in `agent.demo` (the demo stations) and `agent.cli` (to start them);
- no import cycles between modules, counting every import (module level, inside functions and under
  TYPE_CHECKING alike).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "agent", "drivers", "limits", "simulators", "firmware_bridge")
ALLOWED = {
    "core": {"core"},
    "limits": {"core", "limits"},
    "drivers": {"core", "drivers", "firmware_bridge"},
    "firmware_bridge": {"firmware_bridge"},
    "simulators": {"core", "drivers", "limits", "simulators", "firmware_bridge"},
    "agent": {"core", "agent", "drivers", "limits", "firmware_bridge"},
}
SIMULATOR_USERS = ("agent.demo", "agent.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of ours that `path` imports, resolved to the longest known module name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    ours: set[str] = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name.split(".")[0] in PACKAGES:
            ours.add(name)
    return ours


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for module, imported in _graph().items():
        top = module.split(".")[0]
        for target in imported:
            target_top = target.split(".")[0]
            if target_top not in ALLOWED[top]:
                if top == "agent" and target_top == "simulators" and module.startswith(SIMULATOR_USERS):
                    continue
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_there_are_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: a file that imports upwards is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("from agent.pipeline import Pipeline\nimport simulators.ptw_diamentor\n")
    modules = _modules()
    assert _imports(bad, modules) == {"agent.pipeline", "simulators.ptw_diamentor"}
