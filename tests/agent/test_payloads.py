"""The one payload convention (docs/mqtt.md, "Units (UCUM)"): UCUM codes from one table, values without
float noise, built in one place (agent.payloads.quantity / reading_body)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from agent import payloads
from agent.citations import CitationBook, citation_id
from agent.payloads import envelope, quantity, reading_body, rounded
from core.units import UCUM, UCUM_CODES, round_significant, ucum
from drivers.model import Measurement, Reading
from tests.payload_schemas import problems


def test_display_units_become_their_ucum_code() -> None:
    assert ucum("Gy·cm²") == "Gy.cm2"
    assert ucum("µGy·m²/s") == "uGy.m2/s"
    assert ucum("1/s") == "/s"
    assert ucum("0.1 kV") == "hV"
    assert ucum("mGy/min") == "mGy/min"
    assert ucum("Gy.cm2") == "Gy.cm2"  # a code already is one


def test_a_unit_outside_the_table_is_an_annotation_not_a_made_up_code() -> None:
    assert ucum("0.01 kV") == "{0_01_kV}"
    assert ucum("0.01 kV") not in UCUM_CODES


def test_no_display_character_survives_in_any_code() -> None:
    assert [c for c in UCUM_CODES if any(ch in c for ch in "·²µ ")] == []
    assert len(UCUM) > 30


def test_values_lose_their_float_noise_and_keep_their_digits() -> None:
    assert round_significant(0.029500000000000002) == 0.0295
    assert round_significant(0.1 * 3, 10) == 0.3
    assert round_significant(123456.789) == 123457.0
    assert round_significant(-0.00012345678) == -0.000123457
    assert round_significant(1.7976931348623157e308, 10) == 1.7976931348623157e308  # up would overflow
    assert rounded(1e308, resolution=1e-10) == 1e308 and rounded(float("inf"), resolution=0.1) == float("inf")
    assert rounded(0.1234567, resolution=0.01) == 0.12
    assert quantity(0.029500000000000002, "Gy·cm²") == {"value": 0.0295, "unit": "Gy.cm2"}
    assert quantity(None, "mGy") == {"value": None, "unit": "mGy"}
    assert quantity(25.0, "mGy/min", citation="c") == {"value": 25.0, "unit": "mGy/min", "citation": "c"}


def test_a_reading_is_published_in_ucum_with_its_device_identity_and_validates() -> None:
    reading = Reading(
        "dap1",
        (
            Measurement("kap", 0.1 * 3, "Gy·cm²", 30.000000000000004, "µGy·m²"),
            Measurement("pulse_rate", 15.0, "1/s", 150.0, "0.1 pulse/s"),
        ),
        device_info={"firmware": "CRS 2.33", "serial": "12345"},
    )
    base = envelope("doseedge.reading.v2", datetime(2026, 12, 4, 10, tzinfo=UTC), "site", "carm-1")
    body = reading_body({**base, "seq": 1, "record_id": "0603ec97-00fb-411d-8f5b-f9d5dcaa507f"}, reading, {})
    assert body["measurements"][0] == {
        "quantity": "kap", "value": 0.3, "unit": "Gy.cm2", "raw_value": 30.0, "raw_unit": "uGy.m2",
    }  # fmt: skip
    assert body["measurements"][1]["unit"] == "/s" and body["measurements"][1]["raw_unit"] == "10*-1/s"
    assert body["device_info"] == {"firmware": "CRS 2.33", "serial": "12345"}
    assert problems("reading/dap1", body) == []


def test_citations_travel_by_id_with_their_text_once() -> None:
    book = CitationBook()
    text = "dz-2015 Annexe, Tableau 4, row « Normal » (Arrêté ministériel du 10 novembre 2015 …)"
    details = {"level": {"value": 25.0, "unit": "mGy/min", "citation": text}, "half_life_citation": "NNDC"}
    alarm = book.cite(details)
    assert alarm["level"] == {"value": 25.0, "unit": "mGy/min", "citation_id": citation_id(text)}
    assert alarm["half_life_citation_id"] == citation_id("NNDC")
    assert details["level"]["citation"] == text  # the monitor's own details are untouched
    both = {citation_id(text): text, citation_id("NNDC"): "NNDC"}
    assert book.changed and book.levels() == {"citations": both}
    assert not book.changed
    book.cite(details)
    assert not book.changed  # a citation already published is not published again
    record = book.record({"alarms": [details]})
    assert record["citations"] == both
    assert len(citation_id(text)) == 14 and citation_id(text) != citation_id(text + " ")


def test_a_repeated_measurement_is_built_once_but_every_body_owns_its_dicts() -> None:
    """agent/payloads.py remembers built measurements (instruments repeat their values): the same
    measurement gives an equal dict, never the same object, and zeros keep their own JSON text."""
    base = envelope("doseedge.reading.v2", datetime(2026, 12, 4, 10, tzinfo=UTC), "site", "carm-1")
    kv = Measurement("kvp", 72.00000000000001, "kV", 720.0, "0.1 kV")
    first = reading_body(base, Reading("gen1", (kv,)), {})
    first["measurements"][0]["value"] = -1.0  # a consumer that edits its body
    second = reading_body(base, Reading("gen1", (kv,)), {})
    assert second["measurements"][0] == {
        "quantity": "kvp", "value": 72.0, "unit": "kV", "raw_value": 720.0, "raw_unit": "hV",
    }  # fmt: skip
    zeros = [Measurement("beam_on", z, "1", z, "1") for z in (0.0, -0.0, 0)]
    shown = [json.dumps(reading_body(base, Reading("gen1", (z,)), {})["measurements"][0]) for z in zeros]
    assert [s.count('"value": 0.0') for s in shown] == [1, 0, 0] and '"value": -0.0' in shown[1]


def test_the_measurement_memo_stays_bounded() -> None:
    base = envelope("doseedge.reading.v2", datetime(2026, 12, 4, 10, tzinfo=UTC), "site", "carm-1")
    for i in range(1, 3 * payloads.MEMO_SIZE):
        reading_body(base, Reading("dap1", (Measurement("kap", i * 0.5, "Gy·cm²", i * 0.5, "Gy·cm²"),)), {})
        assert len(payloads._measured) <= payloads.MEMO_SIZE
