"""The regulation's Tables 1–4 and the trigger presets, as data: every row cited, ambiguous rows flagged."""

from __future__ import annotations

import pytest

from limits.guidance import GUIDANCE_TABLES, load_guidance_table
from limits.levels import load_rate_levels
from limits.trigger_levels import TriggerOverride, load_trigger_set, preset_names

# (table, key, value, unit, flagged) — from the order of 10 Nov 2015, annex, read against its text.
EXPECTED = [
    ("dz-2015-table1-radiography", {"exam": "lumbar_spine", "projection": "ap"}, 10.0, "mGy", True),
    ("dz-2015-table1-radiography", {"exam": "lumbar_spine", "projection": "lat"}, 30.0, "mGy", True),
    ("dz-2015-table1-radiography", {"exam": "lumbar_spine", "projection": "lsj"}, 40.0, "mGy", True),
    ("dz-2015-table1-radiography", {"exam": "abdomen_ivu_cholecystography"}, 10.0, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "pelvis"}, 10.0, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "hip_joint"}, 10.0, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "chest", "projection": "pa"}, 0.4, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "chest", "projection": "lat"}, 1.5, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "thoracic_spine", "projection": "ap"}, 7.0, "mGy", True),
    ("dz-2015-table1-radiography", {"exam": "thoracic_spine", "projection": "lat"}, 20.0, "mGy", True),
    ("dz-2015-table1-radiography", {"exam": "dental", "projection": "periapical"}, 7.0, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "dental", "projection": "ap"}, 5.0, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "skull", "projection": "pa"}, 5.0, "mGy", False),
    ("dz-2015-table1-radiography", {"exam": "skull", "projection": "lat"}, 3.0, "mGy", False),
    ("dz-2015-table2-ct", {"exam": "head"}, 50.0, "mGy", False),
    ("dz-2015-table2-ct", {"exam": "lumbar_spine"}, 35.0, "mGy", False),
    ("dz-2015-table2-ct", {"exam": "abdomen"}, 25.0, "mGy", False),
    ("dz-2015-table3-mammography", {"grid": "false"}, 1.0, "mGy", False),
    ("dz-2015-table3-mammography", {"grid": "true"}, 3.0, "mGy", False),
    ("dz-2015-table4-fluoroscopy", {"mode": "normal"}, 25.0, "mGy/min", False),
    ("dz-2015-table4-fluoroscopy", {"mode": "high_level"}, 100.0, "mGy/min", False),
]


@pytest.mark.parametrize(("table", "key", "value", "unit", "flagged"), EXPECTED)
def test_row_transcribed(table: str, key: dict[str, str], value: float, unit: str, flagged: bool) -> None:
    row = load_guidance_table(table).find(**key)
    assert row is not None, key
    assert (row.value, row.unit, row.check) == (value, unit, flagged)


@pytest.mark.parametrize("table", GUIDANCE_TABLES)
def test_every_row_has_unit_and_citation_and_flags_explain_themselves(table: str) -> None:
    loaded = load_guidance_table(table)
    assert loaded.rows
    for row in loaded.rows:
        assert row.unit == loaded.unit
        assert "Tableau" in row.citation
        assert not row.check or row.note, f"{row.row}: a flagged row must say why"
    assert len(loaded.rows) == sum(1 for e in EXPECTED if e[0] == table)


def test_table4_rate_levels_keep_their_id_and_cite_per_row() -> None:
    table = load_rate_levels("dz-2015-table4-fluoroscopy")
    assert table.source_id == "dz-2015-table4"
    assert table.for_mode("acquisition") is None
    assert "Tableau 4" in table.levels["high_level"].citation


# (trigger id, quantity, first, every, unit) from NCRP 168 / SIR (data/fluoro-triggers.toml)
NCRP = [
    ("kar_notification", "kar", 3.0, 1.0, "Gy"),
    ("psd_notification", "psd", 2.0, 0.5, "Gy"),
    ("kap_notification", "kap", 300.0, 100.0, "Gy·cm²"),
    ("fluoro_time_notification", "fluoro_time", 30.0, 15.0, "min"),
    ("kar_substantial", "kar", 5.0, 0.0, "Gy"),
    ("psd_substantial", "psd", 3.0, 0.0, "Gy"),
    ("kap_substantial", "kap", 500.0, 0.0, "Gy·cm²"),
    ("fluoro_time_substantial", "fluoro_time", 60.0, 0.0, "min"),
    ("fluoro_time_signal", "fluoro_time", 5.0, 5.0, "min"),
    ("psd_icrp85_transient_erythema", "psd", 2.0, 0.0, "Gy"),
    ("psd_icrp85_temporary_epilation", "psd", 3.0, 0.0, "Gy"),
    ("psd_icrp85_main_erythema", "psd", 6.0, 0.0, "Gy"),
    ("psd_icrp85_permanent_epilation", "psd", 7.0, 0.0, "Gy"),
    ("psd_sentinel", "psd", 15.0, 0.0, "Gy"),
]


def test_ncrp_preset_holds_every_reference_level() -> None:
    levels = {t.id: t for t in load_trigger_set("ncrp168-sir").levels}
    assert [
        (t, levels[t].quantity, levels[t].first, levels[t].every, levels[t].unit) for t, *_ in NCRP
    ] == NCRP
    assert all(t.citation and "preset" in t.source for t in levels.values())
    assert {t for t, lv in levels.items() if lv.check} == {
        "psd_notification",
        "kap_notification",
        "fluoro_time_notification",
    }


def test_every_preset_loads() -> None:
    for name in preset_names():
        assert load_trigger_set(name).levels


def test_override_changes_number_and_source_and_disable_is_listed() -> None:
    triggers = load_trigger_set(
        "ncrp168-sir",
        (TriggerOverride("kar_notification", first=2.0), TriggerOverride("psd_sentinel", enabled=False)),
        "room.toml",
    )
    kar = next(t for t in triggers.levels if t.id == "kar_notification")
    assert (kar.first, kar.every) == (2.0, 1.0)
    assert kar.threshold(0) == 2000.0  # mGy
    assert "room.toml" in kar.source
    assert triggers.disabled == ("psd_sentinel",)
    assert all(t.id != "psd_sentinel" for t in triggers.levels)


@pytest.mark.parametrize(
    ("preset", "overrides", "message"),
    [
        ("nope", (), "unknown trigger preset"),
        ("cfr-time-signal", (TriggerOverride("kar_notification", first=1.0),), "not a trigger of preset"),
    ],
)
def test_bad_selection_is_named(preset: str, overrides: tuple[TriggerOverride, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_trigger_set(preset, overrides)
