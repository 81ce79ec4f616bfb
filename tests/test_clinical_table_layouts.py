"""Clinical sheets laid out as public imaging collections and trials publish them, filled with
real patients: a 'Notes' row of units under a merged header (GBSG2), Duke-Breast-Cancer-MRI's
code legends, split recurrence times and birth 'dates' in days, a GDC clinical.tsv of one row
per treatment (veterans) and REDCap's longitudinal export of one row per event (AIDS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sksurv import datasets

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import InputError
from tests import clinical_exports
from tests.clinical_exports import DUKE_COLUMNS, report_actions

#: Duke's recurrence-free time and event, as a user gives them.
DUKE_TIME, DUKE_EVENT = DUKE_COLUMNS[9][1], DUKE_COLUMNS[8][1]


def test_a_notes_row_of_units_and_ranges_under_the_header_is_no_patient(tmp_path: Path) -> None:
    """GBSG2's trial workbook with a 'Notes' row under its header ('years', 'mm', 'I-III', 'n',
    'days'): it was a 687th patient without outcome, its 'I-III' a grade."""
    export = clinical_exports.gbsg2_workbook_with_notes(tmp_path)
    result = read_clinical_spreadsheet(export.path)
    table = result.table
    assert len(table) == 686 and "Notes" not in table.index
    assert int(table["event"].sum()) == 299 and not result.no_outcome
    np.testing.assert_array_equal(table["time"], export.y["time"])
    assert result.schema["grade"].categories == ("I", "II", "III")
    units = {v.name: v.unit for v in result.schema.variables}
    assert (units["age"], units["tumour_size"], units["positive_nodes"]) == ("years", "mm", "n")
    assert (
        "a row of units and ranges under the header ('Notes') read: years, mm, I-III, n, days"
        in report_actions(result, "(file)")
    )


def test_a_row_whose_id_is_a_note_is_no_patient(tmp_path: Path) -> None:
    """A 'Notes' row of free text under the header and a 'Legend: ...' one above the totals are
    the sheet's remarks, never patients (veterans, 137)."""
    X, y = datasets.load_veterans_lung_cancer()
    lines = ["patient_id,Age_in_years,Survival_in_days,Status", "Notes,at randomisation,,"]
    lines += [
        f"V{i:03d},{age:g},{row['Survival_in_days']:g},{'Dead' if row['Status'] else 'Alive'}"
        for i, (age, row) in enumerate(zip(X["Age_in_years"], y, strict=True))
    ]
    lines += ["Legend: Status as of 1972,,,", "Total,,,128"]
    (path := tmp_path / "veterans.csv").write_text("\n".join(lines) + "\n")
    result = read_clinical_spreadsheet(path)
    assert len(result.table) == 137 and int(result.table["event"].sum()) == 128
    assert not result.no_outcome
    assert (
        "rows of notes, not patients, skipped: 'Notes', 'Legend: Status as of 1972'"
        in report_actions(result, "(rows)")
    )


def test_a_code_legend_row_under_the_header_states_each_columns_codes(tmp_path: Path) -> None:
    """A row of code legends under the header, as Duke-Breast-Cancer-MRI's and R's 1/2 status
    ('1 = alive, 2 = dead'): read as each column's stated codes, the 128 deaths of the veterans
    counted (refused as a row without patient ID)."""
    X, y = datasets.load_veterans_lung_cancer()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Patient", "", "Outcome", ""])
    sheet.append(["Patient ID", "Age", "Survival (days)", "Status"])
    sheet.append(["", "years", "", "1 = alive, 2 = dead"])
    for i, (age, row) in enumerate(zip(X["Age_in_years"], y, strict=True)):
        sheet.append([f"V{i:03d}", age, int(row["Survival_in_days"]), 2 if row["Status"] else 1])
    book.save(path := tmp_path / "veterans.xlsx")
    result = read_clinical_spreadsheet(path)
    assert len(result.table) == 137 and int(result.table["event"].sum()) == 128
    assert result.event_column == "Status (1 = alive, 2 = dead)"
    assert "a row of units and codes under the header read: years, 1 = alive, 2 = dead" in (
        report_actions(result, "(file)")
    )


def test_dukes_recurrence_time_is_split_between_two_columns(tmp_path: Path) -> None:
    """Duke-Breast-Cancer-MRI: days to the local recurrence for the 112 recurrences, 'NP' for the
    others, whose time is in 'Days to last local recurrence free assessment': that column was
    dropped as another outcome, and the 188 censored patients lost their outcome."""
    export = clinical_exports.duke_breast_mri(tmp_path)
    result = read_clinical_spreadsheet(
        export.path, id_column="Patient ID", time_column=DUKE_TIME, event_column=DUKE_EVENT
    )
    table = result.table
    assert len(table) == 300 and not result.no_outcome
    assert int(table["event"].sum()) == 112
    np.testing.assert_array_equal(table["time"], export.y["time"])
    np.testing.assert_array_equal(table["event"], export.y["event"].astype(int))
    censored_time = DUKE_COLUMNS[10][1]
    assert result.time_column == f"({DUKE_TIME} / {censored_time})"
    assert f"time: {DUKE_TIME} for the events, else {censored_time}" in report_actions(
        result, result.time_column
    )
    assert "event from the codes stated in the header (0 = no, 1 = yes)" in report_actions(
        result, f"{DUKE_EVENT} (0 = no, 1 = yes)"
    )
    assert result.endpoint == "disease"
    # found without being given: 'Recurrence event(s)' is the recurrence time's event, not the
    # vital status beside it (that pair was refused as two endpoints)
    found = read_clinical_spreadsheet(export.path)
    assert (found.time_column, found.event_column) == (result.time_column, result.event_column)
    np.testing.assert_array_equal(found.table["event"], table["event"])


def test_a_birth_date_in_days_before_diagnosis_is_the_age(tmp_path: Path) -> None:
    """Duke's 'Date of Birth (Days)' (-19358: born 53 years before diagnosis) was dropped as a
    date whose values are not dates: the sheet's only age lost. Without its unit, the message
    says how to have it read."""
    export = clinical_exports.duke_breast_mri(tmp_path)
    result = read_clinical_spreadsheet(
        export.path, id_column="Patient ID", time_column=DUKE_TIME, event_column=DUKE_EVENT
    )
    np.testing.assert_array_equal(result.table["age"], export.X["age"])
    assert result.schema["age"].unit == "years"
    assert report_actions(result, "Date of Birth (Days)") == [
        "read as the age (years) at the date its days count from (diagnosis): -days / 365.25"
    ]
    (path := tmp_path / "unitless.csv").write_text(
        "id,os_days,os_event,date_of_birth\na,100,1,-19358\nb,200,0,-25000\n"
    )
    (dropped,) = report_actions(read_clinical_spreadsheet(path), "date_of_birth")
    assert dropped.endswith(
        "its values are negative whole numbers, as days before diagnosis are; to read them as "
        "the age, state their unit in the header ('date_of_birth (days)')"
    )


def test_gdc_rows_of_one_case_per_treatment_are_one_patient(tmp_path: Path) -> None:
    """CPTAC's clinical.tsv from the GDC, one row per treatment (274 rows, 137 cases): refused
    as repeated patient IDs; rows of a case that differ beyond its treatment still are."""
    export = clinical_exports.gdc_per_treatment(tmp_path)
    result = read_clinical_spreadsheet(export.path)
    table = result.table
    assert len(table) == 137 and int(table["event"].sum()) == 128
    np.testing.assert_array_equal(table["time"], export.y["Survival_in_days"])
    assert "treatment_type" not in table.columns and table["treatment_or_therapy"].all()
    assert report_actions(result, "(rows)") == [
        "137 row(s) repeating a case with another treatment (GDC's one row per treatment) "
        "joined into one row per case; the treatment fields that differ within a case "
        "dropped: 'treatment_type'"
    ]
    sheet = pd.read_csv(export.path, sep="\t", dtype=str, keep_default_na=False)
    sheet.loc[1, "age_at_index"] = "99"  # C3L-00100's second row: another patient's age
    sheet.to_csv(export.path, sep="\t", index=False)
    with pytest.raises(InputError, match=r"ID\(s\) C3L-00100, .* appear more than once"):
        read_clinical_spreadsheet(export.path)


def test_redcap_rows_of_one_record_per_event_are_one_patient(tmp_path: Path) -> None:
    """REDCap's longitudinal export, the baseline and the follow-up of a record on two rows
    (2302 rows, 1151 records), was refused as repeated patient IDs; a field filled differently
    in two events of a record still is, naming the record, the field and the events."""
    export = clinical_exports.redcap_longitudinal(tmp_path)
    result = read_clinical_spreadsheet(export.path)
    table = result.table
    assert len(table) == 1151 and int(table["event"].sum()) == 96
    np.testing.assert_array_equal(table["time"], export.y["time"])
    np.testing.assert_array_equal(table["cd4"], export.X["cd4"])
    races = [f"raceth_{code}" for code in export.X["raceth"].cat.categories]
    assert list(result.variables.columns) == ["age", "cd4", *races]
    assert (table[races].idxmax(axis=1).str[7:] == export.X["raceth"].to_numpy()).all()
    assert report_actions(result, "(rows)") == [
        "REDCap's longitudinal export: 2302 rows of 1151 records in the events "
        "'baseline_arm_1', 'followup_arm_1' joined into one row per record, each field from "
        "the event it is filled in; REDCap's event fields dropped: 'redcap_event_name', "
        "'redcap_repeat_instrument', 'redcap_repeat_instance'"
    ]
    sheet = pd.read_csv(export.path, dtype=str, keep_default_na=False)
    sheet.loc[3, "age"] = "35"  # record 2's follow-up: an age beside the baseline's 34
    sheet.to_csv(export.path, index=False)
    with pytest.raises(InputError) as refused:
        read_clinical_spreadsheet(export.path)
    assert str(refused.value) == (
        "redcap.csv: REDCap record 2 has 'age' filled differently in its events "
        "baseline_arm_1 ('34.0') and followup_arm_1 ('35'); a record's rows are joined into "
        "one patient, each field from the event it is filled in: keep the field in one event "
        "(a REDCap report filtered by event), or import each event's rows apart."
    )
