"""Table 5 (maximum usual activity per examination): each row checked against the order's text if present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from limits.hotlab import check_table5
from limits.hotlab_data import load_discharge, load_table5

TABLE5 = load_table5()
SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "004_8939c966443cc7c0.txt"

# Rows whose exam/nuclide pairing had to be inferred from the damaged layout (see the data file).
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
AMBIGUOUS = {2, 10, 26, 40, 41, 42, 50, 51, 64}


def test_all_65_rows_in_seed_order() -> None:
    assert [r.row for r in TABLE5.rows] == list(range(1, 66))
    seed_lines = [r.seed_line for r in TABLE5.rows]
    assert seed_lines == sorted(set(seed_lines))


def test_ambiguous_rows_are_flagged_with_a_note() -> None:
    flagged = {r.row for r in TABLE5.rows if r.ambiguous}
    assert flagged == AMBIGUOUS
    assert all(r.note for r in TABLE5.rows if r.ambiguous or r.layout.startswith("shifted"))


@pytest.mark.parametrize("row", TABLE5.rows, ids=lambda r: f"row{r.row}-{r.exam}-{r.nuclide}")
def test_lookup_of_every_row(row: object) -> None:
    from limits.hotlab_data import Table5Row

    assert isinstance(row, Table5Row)
    match = TABLE5.lookup(row.exam, row.nuclide, row.chemical_form)
    if row.row in match.set_aside:  # row 39: set aside for row 42, with the recorded reason
        assert match.rows == (TABLE5.row(42),) and "SPECT" in match.reason
        assert TABLE5.named(row.row).max_activity_mbq == row.max_activity_mbq
        return
    assert match.rows == (row,)
    assert match.max_activity_mbq == row.max_activity_mbq
    assert match.ambiguous == row.ambiguous
    assert f"row {row.row} " in match.citation and "Tableau 5" in match.citation
    by_exam = TABLE5.lookup(row.exam, row.nuclide)  # without the chemical form
    assert row in by_exam.rows
    assert by_exam.max_activity_mbq <= row.max_activity_mbq


def test_the_duplicated_isonitriles_pairing_is_resolved_with_a_recorded_reason() -> None:
    match = TABLE5.lookup("myocardial_spect", "Tc-99m", "isonitriles")
    assert [r.row for r in match.rows] == [42] and match.set_aside == (39,)
    finding = check_table5(450.0, match)
    assert not finding.exceeded and finding.level == 600.0
    details = finding.details["table5"]
    assert details["set_aside_rows"] == [39] and "rows 1-2" in details["reason"]
    assert "[check]" in details["reason"]
    named = check_table5(450.0, TABLE5.named(39))  # a context naming row 39 is judged by it
    assert named.exceeded and named.level == 300.0


def test_globuline_3_is_read_as_mag3_and_the_row_is_named() -> None:
    for exam, row, mbq in (("first_pass_blood_flow", 34, 400.0), ("renography", 54, 100.0)):
        match = TABLE5.lookup(exam, "Tc-99m", "mag3")
        assert [r.row for r in match.rows] == [row] and match.max_activity_mbq == mbq
        assert "MAG3" in match.rows[0].note and "globuline 3" in match.rows[0].chemical_form_fr
        finding = check_table5(mbq + 1, match)
        assert f"row {row}" in finding.message
        old_key = TABLE5.lookup(exam, "Tc-99m", "macroaggregated_globulin")
        assert old_key.rows == match.rows and "read as 'mag3'" in old_key.read_as


@pytest.mark.parametrize(
    ("exam", "nuclide", "form", "mbq"),
    [
        ("bone_imaging", "Tc-99m", "phosphonate", 600.0),
        ("bone_spect", "Tc-99m", None, 800.0),
        ("thyroid_imaging", "Tc-99m", None, 200.0),
        ("thyroid_imaging", "I-123", None, 20.0),
        ("thyroid_metastases", "I-131", None, 400.0),
        ("lung_perfusion_imaging", "Tc-99m", None, 100.0),
        ("lung_perfusion_venography", "Tc-99m", None, 160.0),
        ("tumour_abscess_imaging", "Ga-67", None, 300.0),
    ],
)
def test_examples_given_in_the_reference(exam: str, nuclide: str, form: str | None, mbq: float) -> None:
    assert TABLE5.lookup(exam, nuclide, form).max_activity_mbq == mbq


def test_unknown_pairing_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no row"):
        TABLE5.lookup("bone_imaging", "I-131")


@pytest.mark.skipif(not SEED.exists(), reason="the user's seed is not next to this checkout")
def test_every_value_is_on_its_seed_line() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    assert "Tableau 5" in lines[228]
    for row in TABLE5.rows:
        line = lines[row.seed_line - 1].translate(SUPERSCRIPTS)
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        assert cells[-1].replace(" ", "") == f"{row.max_activity_mbq:g}", (row.row, line)
        digits = re.sub(r"\D", "", row.nuclide.split("-")[1])
        if row.layout != "nuclide_missing":
            assert digits in line, (row.row, line)


def test_table6_i131_discharge_level() -> None:
    level = load_discharge()["I-131"]
    assert level.max_activity_mbq == 1100.0
    assert "Tableau 6" in level.citation


@pytest.mark.skipif(not SEED.exists(), reason="the user's seed is not next to this checkout")
def test_table6_seed_line_is_the_value_not_the_header() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    level = load_discharge()["I-131"]
    line = int(level.citation.split("seed line ")[1].split(")")[0])
    assert lines[line - 1].split("\t") == ["Iode - 131", "1100"]
