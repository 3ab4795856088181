"""`doseedge config-reference`: docs/config.md generated from the config schema itself.

The schema is the frozen dataclasses the strict TOML loader builds (core/tomlschema.py). For every key
the reference gives its type and default from the dataclass, its unit from its name (units are in key
names), its meaning from the comment on the field's line (or the comment lines just above it), and its
range from the section's `validate()` (the messages it gives for that key). tests/test_config_reference.py
fails when docs/config.md differs from what this module writes, so the reference cannot go stale.
"""

from __future__ import annotations

__all__ = ["SECTIONS", "KeyDoc", "render_reference", "section_keys"]

import ast
import dataclasses
import inspect
import io
import textwrap
import tokenize
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from agent.commands.auth import AuthConfig
from agent.config import MqttConfig, StationConfig, StoreConfig
from agent.dicom.config import DicomConfig
from agent.fluoro.config import FluoroscopyConfig, TriggersConfig
from agent.hotlab.config import HotlabConfig
from agent.web.config import WebConfig
from drivers.registry import DRIVERS

# (table as written in TOML, dataclass, one line on what the table is for)
SECTIONS: tuple[tuple[str, type[Any], str], ...] = (
    ("[station]", StationConfig, "Who this box is: the ids in every topic and message. Required."),
    ("[mqtt]", MqttConfig, "The broker link (docs/mqtt.md). Optional: the defaults are a local broker."),
    ("[store]", StoreConfig, "The local outbox (docs/store.md). Optional."),
    ("[fluoroscopy]", FluoroscopyConfig, "A fluoroscopy room (docs/fluoroscopy.md). Optional."),
    ("[triggers]", TriggersConfig, "Cumulative trigger preset and overrides; needs [fluoroscopy]."),
    ("[hotlab]", HotlabConfig, "A hot lab with an activimeter (docs/hotlab.md). Optional."),
    ("[web]", WebConfig, "The operator view, a local web page (docs/web.md). Optional: off by default."),
    ("[dicom]", DicomConfig, "DICOM dose reports read and written (docs/dicom.md). Optional."),
    ("[auth]", AuthConfig, "Who may send commands over MQTT, and how often (docs/security.md). Optional."),
)

_UNITS = (  # key suffix → unit, longest first
    ("_msg_s", "messages/s"),
    ("_gy_cm2_min", "Gy·cm²/min"),
    ("_mgy_min", "mGy/min"),
    ("_gy_cm2", "Gy·cm²"),
    ("_cm2", "cm²"),
    ("_cm", "cm"),
    ("_mgy", "mGy"),
    ("_gy", "Gy"),
    ("_mbq", "MBq"),
    ("_kbq", "kBq"),
    ("_bq", "Bq"),
    ("_kg", "kg"),
    ("_min", "min"),
    ("_ms", "ms"),
    ("_s", "s"),
    ("_h", "h"),
    ("_days", "d"),
    ("_bytes", "bytes"),
    ("_fraction", "fraction (0–1)"),
    ("_pct", "%"),
)


@dataclass(frozen=True)
class KeyDoc:
    key: str
    type: str
    default: str
    unit: str
    meaning: str
    range: str


def _type_text(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _type_text(inner[0]) + " (optional)"
    if origin is typing.Literal:
        return "one of " + ", ".join(
            f'`"{v}"`' if isinstance(v, str) else f"`{v}`" for v in typing.get_args(tp)
        )
    if origin is tuple:
        return f"list of {_type_text(typing.get_args(tp)[0])}"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return "table"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _default_text(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "**required**"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e6:
        return f"`{value:.0f}`"
    return f"`{value}`"


def _unit(key: str) -> str:
    return next((unit for suffix, unit in _UNITS if key.endswith(suffix)), "")


@cache
def _comments(cls: Any) -> dict[str, str]:
    """Field name → its comment: the trailing comment on its line, else the comment lines above it."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    trailing: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            trailing[token.start[0]] = token.string.lstrip("#").strip()
    found: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            number = node.lineno
            text = trailing.get(number, "") if lines[number - 1].split("#")[0].strip() else ""
            if not text:
                above: list[str] = []
                n = number - 1
                while n >= 1 and lines[n - 1].strip().startswith("#"):
                    above.insert(0, lines[n - 1].strip().lstrip("#").strip())
                    n -= 1
                text = " ".join(above)
            found[node.target.id] = text
    return found


@cache
def _ranges(cls: Any) -> dict[str, str]:
    """Key → the messages `validate()` gives for it (`problems.append(("key", "must be …"))`)."""
    validate = getattr(cls, "validate", None)
    if validate is None:
        return {}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(validate)))
    except (OSError, TypeError):
        return {}
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
            continue
        key, message = node.elts
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            text = _literal_text(message)
            if text and text not in found.setdefault(key.value, []):
                found[key.value].append(text)
    return {key: "; ".join(messages) for key, messages in found.items()}


def _literal_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f-string: keep the literal parts, name the rest
        return "".join(str(part.value) if isinstance(part, ast.Constant) else "…" for part in node.values)
    return ""


def section_keys(cls: Any, prefix: str = "") -> list[KeyDoc]:
    """Every key of a table, nested tables flattened as `sub.key`."""
    hints = typing.get_type_hints(cls)
    comments, ranges = _comments(cls), _ranges(cls)
    docs: list[KeyDoc] = []
    for field in dataclasses.fields(cls):
        tp = hints[field.name]
        name = f"{prefix}{field.name}"
        docs.append(
            KeyDoc(
                name,
                _type_text(tp),
                _default_text(field),
                _unit(field.name),
                comments.get(field.name, ""),
                ranges.get(field.name, ""),
            )
        )
        nested = _nested_dataclass(tp)
        if nested is not None:
            docs += section_keys(nested, f"{name}.")
    return docs


def _nested_dataclass(tp: Any) -> type[Any] | None:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union, tuple):
        for arg in typing.get_args(tp):
            found = _nested_dataclass(arg)
            if found is not None:
                return found
        return None
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "—"


def _table(keys: list[KeyDoc]) -> list[str]:
    rows = ["| key | type | default | unit | meaning | range / rule |", "|---|---|---|---|---|---|"]
    for k in keys:
        cells = (_cell(k.type), k.default, _cell(k.unit), _cell(k.meaning), _cell(k.range))
        rows.append(f"| `{k.key}` | " + " | ".join(cells) + " |")
    return rows


def _doc_line(cls: type[Any]) -> str:
    doc = cls.__doc__ or ""
    if doc.startswith(f"{cls.__name__}("):  # the dataclass's generated signature, not a docstring
        return ""
    return " ".join(doc.split("\n\n")[0].split())


def render_reference() -> str:
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by `doseedge config-reference > docs/config.md`; do not edit by hand."
        " tests/test_config_reference.py fails when this file is out of date. -->",
        "",
        "A station config is one TOML file. Every key below is checked when the agent starts and by",
        "`doseedge check-config -c FILE`: unknown keys, wrong types and values out of range are errors with",
        "their key and line; nothing is silently repaired. Units are in key names. Shipped examples are",
        "listed in config/README.md.",
        "",
    ]
    for table, cls, purpose in SECTIONS:
        out += [f"## `{table}`", "", purpose]
        line = _doc_line(cls)
        if line:
            out += ["", line]
        out += ["", *_table(section_keys(cls)), ""]
    out += [
        "## `[[devices]]`",
        "",
        "One table per instrument. `driver` chooses the family; the keys depend on it. `name` is how",
        "the other sections refer to the device.",
        "",
    ]
    for name, spec in sorted(DRIVERS.items()):
        out += [f'### `driver = "{name}"`', "", f"Role: {spec.role}. Sample: `{spec.sample_config}`."]
        line = _doc_line(spec.config_type)
        if line:
            out += ["", line]
        out += ["", *_table(section_keys(spec.config_type)), ""]
    return "\n".join(out).rstrip() + "\n"
