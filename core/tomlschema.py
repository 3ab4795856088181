"""Strict TOML → frozen dataclass conversion that collects every problem with its key and line.

Unknown keys are errors, types are checked (an int is accepted where a float is expected, nothing
else is coerced), missing required keys are errors. No silent repair.
"""

from __future__ import annotations

__all__ = ["LineIndex", "build_dataclass"]

import dataclasses
import re
import types
import typing
from typing import Any

from core.errors import ConfigProblem

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class LineIndex:
    """Finds the line of a key path like `devices[1].port` in TOML text (best effort)."""

    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        counts: dict[str, int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                name = header.group(1).replace('"', "").strip()
                if line.lstrip().startswith("[["):
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    table = f"{name}[{index}]"
                else:
                    table = name
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                path = f"{table}.{key.group(1)}" if table else key.group(1)
                self._lines.setdefault(path, number)

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path.rsplit(".", 1)[0] if "." in path else ""
        return None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _check_value(value: Any, tp: Any, path: str, problems: list[ConfigProblem]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        return _check_value(value, inner[0], path, problems)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            problems.append(ConfigProblem(path, f"must be one of {', '.join(map(repr, allowed))}"))
        return value
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(ConfigProblem(path, "must be a list"))
            return ()
        return tuple(_check_value(v, item_type, f"{path}[{i}]", problems) for i, v in enumerate(value))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(ConfigProblem(path, f"must be a number, got {value!r}"))
            return 0.0
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(ConfigProblem(path, f"must be a whole number, got {value!r}"))
            return 0
        return value
    if tp is bool or tp is str:
        if not isinstance(value, tp):
            problems.append(ConfigProblem(path, f"must be a {_type_name(tp)}, got {value!r}"))
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(ConfigProblem(path, "must be a table"))
            return None
        return build_dataclass(tp, value, path, problems)
    raise TypeError(f"unsupported config type {tp!r} at {path}")


def build_dataclass(cls: type[Any], table: dict[str, Any], path: str, problems: list[ConfigProblem]) -> Any:
    """Build `cls` from `table`; append problems instead of raising. Returns None if unusable."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    prefix = f"{path}." if path else ""
    before = len(problems)
    for key in table:
        if key not in fields:
            known = ", ".join(sorted(fields))
            problems.append(ConfigProblem(f"{prefix}{key}", f"unknown key (known keys: {known})"))
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in table:
            values[name] = _check_value(table[name], hints[name], f"{prefix}{name}", problems)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append(ConfigProblem(f"{prefix}{name}", "required key is missing"))
    if len(problems) > before:
        return None
    instance = cls(**values)
    validate = getattr(instance, "validate", None)
    if validate is not None:
        for key, message in validate():
            problems.append(ConfigProblem(f"{prefix}{key}", message))
    return instance
