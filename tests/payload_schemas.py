"""Validate published messages against the JSON Schema files in schemas/ (one per topic, versioned)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    path = SCHEMAS / f"{schema_name}.json"
    if not path.exists():
        raise AssertionError(f"no schema file schemas/{schema_name}.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, registry=_registry(), format_checker=FormatChecker())


def problems(topic: str, body: dict[str, Any]) -> list[str]:
    """What is wrong with one outgoing message; [] when it validates against its schema."""
    name = body.get("schema")
    if not isinstance(name, str):
        return [f"{topic}: no `schema` field"]
    return [f"{topic}: {e.json_path}: {e.message}" for e in _validator(name).iter_errors(body)]


def assert_all_valid(messages: Any, root_suffix: str = "") -> int:
    """Every outgoing message (not `…/cmd/…`, which are inputs) validates, and every citation id it names
    has its text in a `levels` message (a record: or its own `citations`); returns how many were checked."""
    found: list[str] = []
    checked = 0
    texts: dict[str, str] = {}
    named: list[tuple[str, str]] = []
    for _, topic, body, _ in list(messages):
        if "/cmd/" in topic:
            continue
        checked += 1
        found += problems(topic, body)
        if topic.endswith("/levels"):
            texts |= body.get("citations", {})
        own = body.get("citations", {}) if "/record/" in topic else {}
        named += [(topic, cid) for cid in _citation_ids(body) if cid not in own]
    found += [f"{topic}: {cid} is in no levels message" for topic, cid in named if cid not in texts]
    assert found == [], "\n".join(found[:20])
    return checked


def _citation_ids(value: Any) -> list[str]:
    """Every citation id a body names (`citation_id`, `<name>_citation_id`), at any depth."""
    if isinstance(value, dict):
        ids = [v for k, v in value.items() if k.endswith("citation_id") and isinstance(v, str)]
        return ids + [i for v in value.values() for i in _citation_ids(v)]
    if isinstance(value, list):
        return [i for v in value for i in _citation_ids(v)]
    return []
