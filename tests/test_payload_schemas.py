"""The schema files themselves: valid JSON Schema, one per documented body schema, and they reject what
they should (the demos' messages are validated in tests/test_cli*.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from tests.payload_schemas import SCHEMAS, problems

DOCS = Path(__file__).resolve().parents[1] / "docs" / "mqtt.md"


def test_every_schema_file_is_valid_json_schema() -> None:
    for path in SCHEMAS.glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_every_body_schema_named_in_the_docs_has_a_file() -> None:
    named = set(re.findall(r"doseedge\.[a-z_.]+\.v\d+", DOCS.read_text(encoding="utf-8")))
    kinds = re.findall(r"`(\w+)`", _record_kinds())
    named |= {f"doseedge.record.{kind}.v1" for kind in kinds}
    named |= {f"doseedge.record.{k}.v2" for k in kinds if k not in ("device_action", "command_refused")}
    missing = sorted(n for n in named if "<" not in n and not (SCHEMAS / f"{n}.json").exists())
    assert missing == []


def _record_kinds() -> str:
    line = next(
        x for x in DOCS.read_text(encoding="utf-8").splitlines() if x.startswith("| `…/record/<kind>`")
    )
    return line.split("|")[5]


def test_a_wrong_message_is_refused() -> None:
    good = {
        "schema": "doseedge.alarm.v1", "ts": "2026-12-04T10:00:00.000Z", "site": "s", "station": "t",
        "seq": 3, "record_id": "0603ec97-00fb-411d-8f5b-f9d5dcaa507f", "alarm_id": "a", "type": "x",
        "state": "raised", "severity": "high", "message": "m",
    }  # fmt: skip
    assert problems("alarm", good) == []
    assert problems("alarm", {**good, "state": "maybe"})
    assert problems("alarm", {**good, "ts": "2026-12-04 10:00:00"})
    assert problems("alarm", {k: v for k, v in good.items() if k != "seq"})


V2_ALARM = {
    "schema": "doseedge.alarm.v2", "ts": "2026-12-04T10:00:00.000Z", "site": "s", "station": "t",
    "seq": 3, "record_id": "0603ec97-00fb-411d-8f5b-f9d5dcaa507f", "alarm_id": "a", "type": "x",
    "state": "raised", "severity": "high", "message": "m",
    "value": {"value": 38.0, "unit": "mGy/min"}, "averaged_over": {"value": 2.0, "unit": "s"},
    "source": {
        "certified_activity": {"value": 7.4, "unit": "MBq"}, "certified_at": "2024-12-04T05:32:22.586Z",
    },
}  # fmt: skip


def test_v2_refuses_what_v1_allowed_a_display_unit_a_unit_named_field_another_timestamp_form() -> None:
    assert problems("alarm", V2_ALARM) == []
    assert problems("alarm", {**V2_ALARM, "value": {"value": 38.0, "unit": "Gy·cm²"}})
    assert problems("alarm", {**V2_ALARM, "deep": [{"kap": {"value": 1.0, "unit": "µGy·m²"}}]})
    assert problems("alarm", {**V2_ALARM, "averaged_over_s": 2.0})
    later = {**V2_ALARM["source"], "certified_at": "2024-12-04T05:32:22.586000+00:00"}  # type: ignore[dict-item]
    assert problems("alarm", {**V2_ALARM, "source": later})
    assert problems("alarm", {**V2_ALARM, "mode_source": "generator (end of its last run)"})


def test_each_message_is_judged_by_the_version_it_names() -> None:
    v1 = {**V2_ALARM, "schema": "doseedge.alarm.v1", "value": {"value": 38.0, "unit": "Gy·cm²"}}
    assert problems("alarm", v1) == []  # the v1 contract is kept, readable
    assert problems("alarm", {**v1, "schema": "doseedge.alarm.v2"})
