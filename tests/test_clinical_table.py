"""Reading clinical spreadsheets as real exports look: scikit-survival's datasets written as CSV
or XLSX with their own headers, and a messy semicolon/decimal-comma export."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survival_core.cohort.clinical_table import (
    ClinicalImport,
    asks_to_act,
    read_clinical_spreadsheet,
)
from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.clinical import counts_cells, same_unit
from survival_core.io.clinical_schema import CATEGORY, INTEGER, NUMBER, YES_NO
from survival_core.io.tables import TIME_UNITS, load_model_table
from tests import clinical_exports
from tests.clinical_exports import MESSY, report_actions

MONTH = TIME_UNITS["months"]


def _validates_every_row(result: ClinicalImport) -> None:
    for row in result.table.to_dict("records"):
        result.schema.validate(row, strict_unknown=True)


@pytest.fixture(scope="module")
def gbsg2(tmp_path_factory: pytest.TempPathFactory) -> tuple[ClinicalImport, np.ndarray]:
    """GBSG2 as CSV: recurrence-free time in months, event 0/1."""
    export = clinical_exports.gbsg2(tmp_path_factory.mktemp("gbsg2"))
    return read_clinical_spreadsheet(export.path), export.y


def test_gbsg2_outcome_in_days_and_schema(gbsg2: tuple[ClinicalImport, np.ndarray]) -> None:
    result, y = gbsg2
    assert (result.id_column, result.time_column, result.event_column) == (
        "patient_id",
        "RFS (months)",
        "event",
    )
    assert result.time_unit == "months"
    np.testing.assert_allclose(result.table["time"], y["time"], rtol=1e-12)
    assert (result.table["event"].to_numpy(int) == y["cens"]).all()
    assert result.table.index[0] == "G0000" and result.table.index.name == "case_id"
    schema = result.schema
    assert schema.names == [
        "age", "estrec", "horth", "menostat", "pnodes", "progrec", "tgrade", "tsize",
    ]  # fmt: skip
    assert schema["tgrade"].categories == ("I", "II", "III")
    assert schema["menostat"].categories == ("Post", "Pre")
    assert schema["horth"].kind == YES_NO
    # ages 21-80 widened by half the span (29.5 years), never below 0, rounded outwards
    assert (schema["age"].kind, schema["age"].low, schema["age"].high) == (NUMBER, 0, 110)
    assert schema["pnodes"].low == 0  # never below zero for counts
    assert not result.no_outcome
    assert any("converted to days" in a for a in report_actions(result, "RFS (months)"))
    _validates_every_row(result)


def test_whas500_from_xlsx_with_a_given_time_unit(tmp_path: Path) -> None:
    export = clinical_exports.whas500(tmp_path)
    X, y = export.X, export.y
    result = read_clinical_spreadsheet(export.path, time_unit="days")
    assert result.id_column == "Patient ID" and result.event_column == "fstat"
    assert list(result.table.index[:2]) == ["1000", "1001"]
    assert (result.table["time"].to_numpy() == y["lenfol"]).all()
    assert (result.table["event"].to_numpy(int) == y["fstat"]).all()
    for name in ("afb", "av3", "chf", "cvd", "gender", "miord", "mitype", "sho"):
        assert result.schema[name].kind == YES_NO, name
        assert (result.table[name].to_numpy(int) == X[name].to_numpy(int)).all()
    assert result.schema["bmi"].kind == NUMBER
    assert (
        result.schema["bmi"].low <= X["bmi"].min() and result.schema["bmi"].high >= X["bmi"].max()
    )
    assert result.report[0].action == "read as XLSX, sheet 'WHAS500'"
    _validates_every_row(result)


def test_veterans_with_alive_dead_text(tmp_path: Path) -> None:
    export = clinical_exports.veterans(tmp_path)
    y = export.y
    result = read_clinical_spreadsheet(export.path)
    assert (result.table["time"].to_numpy() == y["Survival_in_days"]).all()
    assert (result.table["event"].to_numpy(bool) == y["Status"]).all()
    assert "event from 'Alive' -> 0, 'Dead' -> 1" in report_actions(result, "Status")
    schema = result.schema
    assert schema["celltype"].categories == ("adeno", "large", "smallcell", "squamous")
    assert schema["treatment"].categories == ("standard", "test")
    assert schema["prior_therapy"].kind == YES_NO
    assert (schema["age"].unit, schema["age"].label) == ("years", "Age")
    _validates_every_row(result)


def test_a_whitespace_separated_table_is_read_by_its_columns(tmp_path: Path) -> None:
    """lifelines' anderson.csv, separated by spaces as R's write.table and lifelines write
    it: read as one column, its import was refused for lacking the 'patient_id' column its own
    header names."""
    export = clinical_exports.anderson(tmp_path)
    result = read_clinical_spreadsheet(export.path, **export.options)
    assert result.report[0].action == "read as CSV, whitespace-delimited, utf-8"
    assert list(result.table.index[:2]) == ["A1", "A2"] and len(result.table) == 42
    np.testing.assert_array_equal(result.table["time"], export.y["t"] * TIME_UNITS["weeks"])
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), export.y["status"])
    np.testing.assert_array_equal(result.table["logwbc"], export.X["logWBC"])
    assert (result.schema["sex"].kind, result.schema["rx"].kind) == (YES_NO, YES_NO)


def test_a_whitespace_separated_table_of_uneven_rows_is_refused_saying_so(
    tmp_path: Path,
) -> None:
    """A space inside an unquoted value ('dead of disease') splits its row into more fields
    than the header: refused saying the file looks whitespace-separated, never that a column
    its header names is missing. Values with spaces in a file of another delimiter stay whole."""
    path = tmp_path / "os.csv"
    path.write_text("case_id os_months status\nP1 12 dead of disease\nP2 30 alive\n")
    with pytest.raises(InputError) as refused:
        read_clinical_spreadsheet(path)
    assert str(refused.value) == (
        "os.csv looks whitespace-separated (spaces split its header into 3 fields; no comma, "
        "semicolon, tab or pipe splits its lines alike), but line 2 splits into 5: quote the "
        "values holding a space, or save the file with commas between its fields."
    )
    path.write_text("case_id;os_months;status\nP1;12;dead of disease\nP2;30;alive\n")
    assert read_clinical_spreadsheet(path).table["event"].tolist() == [1, 0]


def test_flchain_with_gaps(tmp_path: Path) -> None:
    export = clinical_exports.flchain(tmp_path)
    X, y = export.X, export.y
    result = read_clinical_spreadsheet(export.path, time_unit="days")
    assert (result.table["time"].to_numpy() == y["futime"]).all()
    assert (result.table["event"].to_numpy(bool) == y["death"]).all()
    schema = result.schema
    assert schema["sex"].categories == ("F", "M")
    assert schema["mgus"].kind == YES_NO
    assert (schema["flc_grp"].kind, schema["flc_grp"].low, schema["flc_grp"].high) == (
        INTEGER,
        0,
        15,
    )
    assert schema["sample_yr"].kind == INTEGER
    creatinine_gaps = int(X["creatinine"].isna().sum())
    assert result.table["creatinine"].isna().sum() == creatinine_gaps
    assert ("blank cells left missing", creatinine_gaps) in [
        (c.action, c.count) for c in result.report if c.column == "creatinine"
    ]
    _validates_every_row(result)


def test_an_ambiguous_censor_column_is_never_read_by_guess(tmp_path: Path) -> None:
    """sksurv's AIDS 'censor' (and GBSG2's 'cens') is 1 for the event: found by name it was read
    as a censoring indicator, inverting every event (GBSG2: 387 events for 299, c-index 0.546
    for 0.674). It is refused with both ways out; given as event_column it is read as-is; a
    'censored' column is inverted."""
    export = clinical_exports.aids(tmp_path)
    path, y = export.path, export.y
    with pytest.raises(InputError, match=r"'censor' does not say which .*--event-column 'censor'"):
        read_clinical_spreadsheet(path)
    renamed = pd.read_csv(path).rename(columns={"censor": "censored"})
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    inverted = read_clinical_spreadsheet(tmp_path / "renamed.csv")
    assert (inverted.table["event"].to_numpy(bool) == ~y["censor"]).all()
    given = read_clinical_spreadsheet(path, event_column="censor")
    assert (given.table["event"].to_numpy(bool) == y["censor"]).all()
    assert (given.table["time"].to_numpy() == y["time"]).all()
    assert given.id_column == "subject"
    assert given.schema["karnof"].kind == INTEGER
    assert given.schema["hemophil"].kind == YES_NO
    _validates_every_row(given)


@pytest.fixture()
def messy(tmp_path: Path) -> ClinicalImport:
    return read_clinical_spreadsheet(clinical_exports.messy(tmp_path))


def test_messy_export_cleaned_values(messy: ClinicalImport) -> None:
    table = messy.table
    assert list(table.columns) == [
        "time", "event", "age", "sex", "histology", "t_stage", "stage", "hpv", "dose", "ecog",
    ]  # fmt: skip
    assert table.loc["P01", "time"] == pytest.approx(12.5 * MONTH)
    assert table.loc["P03", "time"] == pytest.approx(8.25 * MONTH)
    assert list(table["event"].astype(int)) == [1, 0, 1, 0, 0, 1]
    assert messy.no_outcome == ["P04"] and pd.isna(table.loc["P04", "time"])
    assert list(table["age"].astype("Float64")) == [64, 71, pd.NA, 58, pd.NA, 49]
    assert list(table["sex"]) == ["M", "F", "F", "M", "M", "F"]
    assert list(table["histology"]) == [
        "Adenocarcinoma", "Adenocarcinoma", "Squamous", "Squamous", "Adenocarcinoma", "Large cell",
    ]  # fmt: skip
    assert list(table["t_stage"]) == ["T2", "T3", "T2", "T4", "T1", "T2"]
    assert list(table["stage"]) == ["IIIb", "IIIb", "II", "IVa", "I", "IIIb"]
    assert list(table["hpv"]) == [True, False, pd.NA, True, False, pd.NA]
    assert list(table["dose"].astype("Float64")) == [60.5, 70, pd.NA, 66, 54, 60]
    assert list(table["ecog"]) == [1, 0, pd.NA, 2, 1, pd.NA]
    assert messy.dates.loc["P02", "Date of diagnosis"] == pd.Timestamp("2016-11-25")
    assert pd.isna(messy.dates.loc["P04", "Date of diagnosis"])


def test_a_semicolon_ending_the_data_rows_is_no_cell(tmp_path: Path, messy: ClinicalImport) -> None:
    """The messy export with a semicolon ending each data row, not its header: its rows one
    field wider than the header, the delimiter fell back to a comma and the file was refused
    as having no patient ID column. Read as the export; a filled cell there is refused, naming
    the row and the counts."""
    header, *rows = MESSY.splitlines()
    path = tmp_path / "ended.csv"
    path.write_bytes("\n".join([header, *(row + ";" for row in rows)]).encode("latin-1"))
    pd.testing.assert_frame_equal(read_clinical_spreadsheet(path).table, messy.table)
    rows[2] += ";réévalué"
    path.write_bytes("\n".join([header, *rows]).encode("latin-1"))
    with pytest.raises(InputError) as refused:
        read_clinical_spreadsheet(path)
    assert str(refused.value).startswith(
        "ended.csv: row 4 has 16 cells, but the header has 15 columns: its values would be "
        "read under the wrong columns."
    )


def test_messy_export_schema(messy: ClinicalImport) -> None:
    schema = messy.schema
    assert (schema["dose"].kind, schema["dose"].unit, schema["dose"].label) == (
        NUMBER,
        "Gy",
        "Dose",
    )
    assert schema["age"].unit == "years" and schema["age"].kind == INTEGER
    assert schema["ecog"].kind == INTEGER
    assert schema["histology"].categories == ("Adenocarcinoma", "Large cell", "Squamous")
    assert schema["t_stage"].categories == ("T1", "T2", "T3", "T4")
    assert schema["stage"].categories == ("I", "II", "IIIb", "IVa")
    assert schema["hpv"].kind == YES_NO and schema["sex"].kind == CATEGORY
    _validates_every_row(messy)


def test_messy_export_report_lists_each_coercion(messy: ClinicalImport) -> None:
    report = {(c.column, c.action): c.count for c in messy.report}
    expected = {
        ("(file)", "read as CSV, semicolon-delimited, cp1252"): 6,
        ("Patient ID", "used as the patient ID (recognised by its name)"): 6,
        ("OS (months)", "used as the survival time (recognised by its name)"): 6,
        ("Vital status", "used as the event (recognised by its name)"): 6,
        ("OS (months)", "read 'NA' as missing"): 1,
        ("OS (months)", "decimal commas read as points"): 3,
        ("OS (months)", f"time in months, converted to days (x {MONTH:g})"): 5,
        ("Vital status", "event from 'Alive' -> 0, 'Dead' -> 1, 'dead' -> 1"): 6,
        ("Age (years)", "read 'NA' as missing"): 1,
        ("Age (years)", "read -999 as missing (a no-value code)"): 1,
        ("Sex", "merged 'f' into 'F'"): 1,
        ("Sex", "merged 'm' into 'M'"): 1,
        ("Histology", "extra spaces removed from categories"): 1,
        ("Histology", "merged 'adenocarcinoma' into 'Adenocarcinoma'"): 1,
        ("Histology", "merged 'SQUAMOUS' into 'Squamous'"): 1,
        ("T stage", "merged 't2' into 'T2'"): 1,
        ("Stage", "merged 'IIIB' into 'IIIb'"): 1,
        ("HPV", "read '?', 'NA' as missing"): 2,
        ("HPV", "read as yes/no: 'Neg' -> no, 'Pos' -> yes, 'neg' -> no, 'pos' -> yes"): 4,
        ("Dose [Gy]", "decimal commas read as points"): 1,
        ("Dose [Gy]", "read -999 as missing (a no-value code)"): 1,
        ("ECOG", "read '-', 'unknown' as missing"): 2,
        ("Date of diagnosis", "blank cells left missing"): 1,
        ("Date of diagnosis", "dates (day/month/year) kept aside, not a model variable"): 5,
        ("Name", "dropped: an identifier or free text (by its name)"): 6,
        ("PFS (months)", "dropped: another outcome or ID column, not a clinical variable"): 6,
        ("Comments", "dropped: an identifier or free text (by its name)"): 6,
        ("(rows)", "no usable time/event for 'P04': kept, outcome left missing"): 1,
    }
    assert report == expected, messy.report_text()


def test_age_from_birth_and_diagnosis_dates(tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text(
        "id,dob,diagnosis date,os_days,event\n"
        "a,1950-06-01,2020-06-01,100,1\n"
        "b,1960-01-15,2019-01-15,200,0\n"
    )
    result = read_clinical_spreadsheet(path)
    assert list(result.table["age"]) == [70.0, 59.0]
    assert (result.schema["age"].unit, result.schema["age"].kind) == ("years", NUMBER)
    assert "age (years) computed from 'dob' and 'diagnosis date'" in report_actions(result, "age")


def test_stated_codes_in_the_status_header(tmp_path: Path) -> None:
    path = tmp_path / "coded.csv"
    path.write_text("case,time_weeks,status (1=dead; 2=alive),grade\nx,2,1,G1\ny,3,2,G2\n")
    result = read_clinical_spreadsheet(path)
    assert list(result.table["event"]) == [1, 0]
    assert list(result.table["time"]) == [14.0, 21.0]
    path.write_text("case,time_weeks,status,grade\nx,2,1,G1\ny,3,2,G2\n")
    with pytest.raises(ClinicalValueError, match="holds 1 and 2"):
        read_clinical_spreadsheet(path)
    # every patient died: its 1s are events, not one of R's two codes ('holds 1 and 2')
    path.write_text("case,time_weeks,status,grade\nx,2,1,G1\ny,3,1,G2\n")
    assert list(read_clinical_spreadsheet(path).table["event"]) == [1, 1]


@pytest.mark.parametrize(
    ("header", "values", "events", "note"),
    [
        ("status (2=dead)", [1, 2, 1, 2], [0, 1, 0, 1], "'1', the other code, read as alive"),
        ("status (1=alive)", [1, 2, 2, 1], [0, 1, 1, 0], "'2', the other code, read as dead"),
        ("event (0=alive)", [0, 1, 1, 0], [0, 1, 1, 0], "'1', the other code, read as dead"),
    ],
)
def test_a_header_stating_one_code_reads_the_other_as_the_other_outcome(
    tmp_path: Path, header: str, values: list[int], events: list[int], note: str
) -> None:
    """'status (2=dead)' over 1 and 2 read '1' as 0/1 reads it, an event: every patient died."""
    path = tmp_path / "one_code.csv"
    rows = "".join(f"p{k},{10 + k},{v}\n" for k, v in enumerate(values))
    path.write_text(f"id,os_days,{header}\n{rows}")
    result = read_clinical_spreadsheet(path)
    assert list(result.table["event"]) == events
    assert any(note in action for action in report_actions(result, header))


def test_a_header_whose_codes_the_column_does_not_hold_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other_codes.csv"
    path.write_text("id,os_days,status (0=censored)\na,10,1\nb,20,2\n")
    with pytest.raises(ClinicalValueError, match=r"holds '1', '2', none of the codes its header"):
        read_clinical_spreadsheet(path)


def test_duplicate_ids_are_named(tmp_path: Path) -> None:
    path = tmp_path / "second.csv"
    path.write_bytes(MESSY.replace("P05;", "P02;").encode("latin-1"))
    with pytest.raises(InputError, match=r"patient ID\(s\) P02 appear more than once"):
        read_clinical_spreadsheet(path)


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ("who,os_days,event\na,1,0\n", {}, r"no patient ID column .* who, os_days, event"),
        (
            "id,visit,grade\na,1,G1\n",
            {},
            r"no survival time and event .* Give the time column \(--time-column \(Cohort "
            r"page: Survival time column; Python: time_column=\)\)",
        ),
        (
            "id,followup,event\na,1,0\n",
            {},
            r"does not state its unit; give one of days, .*: --time-unit \(Cohort page: Time "
            r"unit; Python: time_unit=\)",
        ),
        ("id,os (months),event\na,1,0\n", {"time_unit": "days"}, "says months but"),
        ("id,os_days,event\na,1,0\n", {"event_column": "vital"}, "no event column 'vital'"),
        ("id,os_days,event\na,1,maybe\n", {}, "not an event indicator"),
        ("id,Age,age (years),os_days,event\na,1,1,1,0\n", {}, "name the same variable"),
    ],
)
def test_clear_errors(tmp_path: Path, content: str, kwargs: dict, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_clinical_spreadsheet(path, **kwargs)


def test_unreadable_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="could not be read as an XLSX"):
        read_clinical_spreadsheet(broken)
    with pytest.raises(InputError, match="does not exist"):
        read_clinical_spreadsheet(tmp_path / "absent.csv")
    other = tmp_path / "table.parquet"
    other.write_bytes(b"PAR1")
    with pytest.raises(InputError, match="not a CSV, XLSX or JSON"):
        read_clinical_spreadsheet(other)


def test_xlsx_cells_dates_units_in_values_and_deceased_living(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "PatientID": ["001", "002", "003"],
            "Survival (years)": [1.5, 2.0, 0.25],
            "Outcome status": ["Deceased", "Living", "Deceased"],
            "RT dose": ["60 Gy", "70Gy", "66 Gy"],
            "Surgery date": pd.to_datetime(["2019-05-03", "2020-01-30", None]),
        }
    ).rename(columns={"Outcome status": "vital_status"})
    path = tmp_path / "export.xlsx"
    frame.to_excel(path, index=False)
    result = read_clinical_spreadsheet(path)
    assert list(result.table.index) == ["001", "002", "003"]
    assert list(result.table["time"]) == [1.5 * 365.25, 2 * 365.25, 0.25 * 365.25]
    assert list(result.table["event"]) == [1, 0, 1]
    assert list(result.table["rt_dose"]) == [60, 70, 66]
    assert (result.schema["rt_dose"].unit, result.schema["rt_dose"].kind) == ("Gy", INTEGER)
    assert "unit 'Gy' removed from the values" in report_actions(result, "RT dose")
    assert list(result.dates["Surgery date"][:2]) == [
        pd.Timestamp("2019-05-03"),
        pd.Timestamp("2020-01-30"),
    ]
    assert list(result.table.columns) == ["time", "event", "rt_dose"]


@pytest.mark.parametrize("european", [False, True], ids=["iso dates", "dd.mm.yyyy semicolons"])
def test_outcome_from_dates_of_diagnosis_follow_up_and_death(
    tmp_path: Path, european: bool
) -> None:
    """The veterans cohort as a registry exports it: no time column, but the date of diagnosis,
    of the last follow-up (the living) and of death (the dead)."""
    from sksurv.datasets import load_veterans_lung_cancer

    X, y = load_veterans_lung_cancer()
    rng = np.random.default_rng(7)
    diagnosis = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 900, len(X)), "D")
    end = diagnosis + pd.to_timedelta(y["Survival_in_days"], "D")
    dead = y["Status"]
    style = "%d.%m.%Y" if european else "%Y-%m-%d"
    sheet = pd.DataFrame(
        {
            "Patient ID": [f"VA-{i:03d}" for i in range(len(X))],
            "Age": X["Age_in_years"],
            "Date of diagnosis": diagnosis.strftime(style),
            "Date of last follow-up": np.where(dead, "", end.strftime(style)),
            "Date of death": np.where(dead, end.strftime(style), ""),
        }
    )
    path = tmp_path / "registry.csv"
    sheet.to_csv(path, index=False, sep=";" if european else ",")
    result = read_clinical_spreadsheet(path)
    np.testing.assert_array_equal(result.table["time"].to_numpy(float), y["Survival_in_days"])
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), dead)
    assert result.time_column == "(from dates)"
    assert (
        "survival time (days) from 'Date of diagnosis' to 'Date of death' or "
        "'Date of last follow-up'" in report_actions(result, "(from dates)")
    )


def test_the_start_date_of_several_is_given_as_the_time_column(tmp_path: Path) -> None:
    """Veterans as a registry with dates of diagnosis and of surgery: refused as two start
    dates, with no way on but editing the file; the one given as the time column is the one
    the time counts from, the other kept aside."""
    from sksurv.datasets import load_veterans_lung_cancer

    X, y = load_veterans_lung_cancer()
    rng = np.random.default_rng(7)
    diagnosis = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 900, len(X)), "D")
    surgery = diagnosis + pd.to_timedelta(rng.integers(10, 60, len(X)), "D")
    end = surgery + pd.to_timedelta(y["Survival_in_days"], "D")
    dead = y["Status"]
    pd.DataFrame(
        {
            "Patient ID": [f"VA-{i:03d}" for i in range(len(X))],
            "Age": X["Age_in_years"],
            "Date of diagnosis": diagnosis.strftime("%d/%m/%Y"),
            "Date of surgery": surgery.strftime("%d/%m/%Y"),
            "Date of last follow-up": np.where(dead, "", end.strftime("%d/%m/%Y")),
            "Date of death": np.where(dead, end.strftime("%d/%m/%Y"), ""),
        }
    ).to_csv(path := tmp_path / "registry.csv", index=False)
    with pytest.raises(InputError, match="several start dates.*give the one the time counts"):
        read_clinical_spreadsheet(path)
    result = read_clinical_spreadsheet(path, time_column="Date of surgery")
    np.testing.assert_array_equal(result.table["time"].to_numpy(float), y["Survival_in_days"])
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), dead)
    assert "from 'Date of surgery' to 'Date of death'" in " ".join(
        report_actions(result, "(from dates)")
    )
    assert list(result.variables.columns) == ["age"]
    # an end date given was taken as the start: every death 0 days (a birth date: a lifetime)
    for end in ("Date of death", "Date of last follow-up"):
        with pytest.raises(InputError, match=f"'{end}', given as the time column, is a date"):
            read_clinical_spreadsheet(path, time_column=end)
    # a time unit was silently unused where the times come from dates (days between them): a
    # unit given for a time column of numbers that was not found
    unit = "the time unit 'months' applies to no column. Give the time column of numbers"
    with pytest.raises(InputError, match=f"'Date of surgery' to 'Date of death' or .*{unit}"):
        read_clinical_spreadsheet(path, time_column="Date of surgery", time_unit="months")
    days = read_clinical_spreadsheet(path, time_column="Date of surgery", time_unit="days")
    assert days.table["time"].tolist() == result.table["time"].tolist()
    # a start date under a header of another script, or with 'ID' in it, was refused / missed
    for header in ("Дата операции", "Surgery ID date"):
        renamed = pd.read_csv(path, dtype=str).rename(columns={"Date of surgery": header})
        renamed.to_csv(other := tmp_path / "renamed.csv", index=False)
        again = read_clinical_spreadsheet(other, time_column=header)
        assert again.table["time"].tolist() == result.table["time"].tolist()


def test_dates_without_an_end_are_no_outcome(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,age,date of diagnosis\nA,60,2020-01-05\nB,61,2020-02-05\n")
    with pytest.raises(InputError, match="no survival time and event column.*a start date"):
        read_clinical_spreadsheet(path)


def test_event_from_a_death_date_beside_a_time_column(tmp_path: Path) -> None:
    from sksurv.datasets import load_veterans_lung_cancer

    _, y = load_veterans_lung_cancer()
    death = pd.Timestamp("2016-05-01") + pd.to_timedelta(y["Survival_in_days"], "D")
    sheet = pd.DataFrame(
        {
            "id": [f"VA-{i:03d}" for i in range(len(y))],
            "OS (days)": y["Survival_in_days"],
            "date of death": np.where(y["Status"], death.strftime("%Y-%m-%d"), ""),
        }
    )
    sheet.to_csv(tmp_path / "t.csv", index=False)
    result = read_clinical_spreadsheet(tmp_path / "t.csv")
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), y["Status"])
    assert result.event_column == "(from dates)"
    assert "event: a date in 'date of death'" in report_actions(result, "(from dates)")


def test_an_id_column_named_only_by_its_id_suffix(tmp_path: Path) -> None:
    """Public cohorts' ID headers outside the usual names (BraTS's 'Brats20ID', TCIA's
    'TCIA_ID') are the ID when theirs is the only such column with distinct values; 'Lipid' and
    'Thyroid' end in 'id' but never are one."""
    brats = tmp_path / "survival_info.csv"
    brats.write_text(
        "Brats20ID,Age,Survival_days,Status,Thyroid,Lipid\n"
        "BraTS20_Training_001,60.5,289,Dead,yes,1.1\n"
        "BraTS20_Training_002,52.3,616,Dead,no,1.7\n"
        "BraTS20_Training_003,54.3,464,Alive,no,2.3\n"
    )
    result = read_clinical_spreadsheet(brats)
    assert result.id_column == "Brats20ID" and len(result.table) == 3
    assert "thyroid" in result.table.columns and "lipid" in result.table.columns
    lipid_only = tmp_path / "lipid.csv"
    lipid_only.write_text("Lipid,OS_days,Status\n1.1,289,Dead\n1.7,616,Alive\n")
    with pytest.raises(InputError, match="no patient ID column"):
        read_clinical_spreadsheet(lipid_only)


def test_relapse_free_survival_pairs_with_its_relapse_column(tmp_path: Path) -> None:
    """HECKTOR's clinical table (RFS in days, Relapse 0/1, a quoted header with a comma): found
    without naming the columns; beside an overall survival the OS pair is preferred, and an RFS
    time given by name takes the Relapse event, never the vital status."""
    hecktor = tmp_path / "hecktor2022_clinical_info_training.csv"
    hecktor.write_text(
        'PatientID,CenterID,Gender,Age,"HPV status (0=-, 1=+)",RFS,Relapse\n'
        "CHUM-001,1,M,82,0,1704,0\nCHUM-002,1,M,73,1,439,1\nMDA-017,5,M,61,,2200,1\n"
    )
    result = read_clinical_spreadsheet(hecktor, time_unit="days")
    assert (result.time_column, result.event_column) == ("RFS", "Relapse")
    assert result.table["event"].tolist() == [0, 1, 1]
    assert result.table["hpv_status"].tolist()[:2] == [False, True]
    both = tmp_path / "both.csv"
    both.write_text(
        "PatientID,OS_days,Vital status,RFS_days,Relapse\n"
        "P1,900,Alive,300,1\nP2,400,Dead,400,0\nP3,1200,Dead,800,1\n"
    )
    overall = read_clinical_spreadsheet(both)
    assert (overall.time_column, overall.event_column) == ("OS_days", "Vital status")
    relapse = read_clinical_spreadsheet(both, time_column="RFS_days")
    assert relapse.event_column == "Relapse" and relapse.table["event"].tolist() == [1, 0, 1]


def test_a_json_array_of_patients_reads_like_a_table(tmp_path: Path) -> None:
    """KiTS's ``kits.json`` (one object per patient, nested comorbidities, nulls, booleans,
    'alive'/'dead'): read like a spreadsheet, nested keys flattened; anything else is refused."""
    import json

    kits = [
        {"case_id": "case_00000", "age_at_nephrectomy": 62, "gender": "male",
         "comorbidities": {"myocardial_infarction": False, "diabetes": True},
         "tumor_isup_grade": 2, "vital_status": "alive", "vital_days_after_surgery": 1500},
        {"case_id": "case_00001", "age_at_nephrectomy": 51, "gender": "female",
         "comorbidities": {"myocardial_infarction": True, "diabetes": False},
         "tumor_isup_grade": None, "vital_status": "dead", "vital_days_after_surgery": 480},
        {"case_id": "case_00002", "age_at_nephrectomy": 70, "gender": "male",
         "comorbidities": {"myocardial_infarction": False, "diabetes": False},
         "tumor_isup_grade": 3, "vital_status": "dead", "vital_days_after_surgery": 900},
    ]  # fmt: skip
    path = tmp_path / "kits.json"
    path.write_text(json.dumps(kits))
    result = read_clinical_spreadsheet(path)  # the time found by its unit and 'vital'
    assert result.time_column == "vital_days_after_surgery"
    assert (result.id_column, result.event_column) == ("case_id", "vital_status")
    table = result.table
    assert table["time"].tolist() == [1500, 480, 900] and table["event"].tolist() == [0, 1, 1]
    assert table["comorbidities_diabetes"].tolist() == [True, False, False]
    assert pd.isna(table.loc["case_00001", "tumor_isup_grade"])
    (tmp_path / "bad.json").write_text('{"case_id": "case_00000"}')
    with pytest.raises(InputError, match="expected a JSON array of one object per patient"):
        read_clinical_spreadsheet(tmp_path / "bad.json")


def test_tcga_exports_give_overall_survival_from_days_to_death_or_follow_up(
    tmp_path: Path,
) -> None:
    """GDC's clinical.tsv (TCGA-LIHC's layout: UUID case_id beside the barcode TCIA's images
    carry, days to death or to the last follow-up, "'--" for missing) and the TCGA BCR
    patient file ('death_days_to', '[Not Available]'): the barcode is the ID, the time is days
    to death for the dead and to the last follow-up for the living, and neither column is a
    variable (they would leak the outcome)."""
    gdc = tmp_path / "clinical.tsv"
    gdc.write_text(
        "case_id\tcase_submitter_id\tvital_status\tdays_to_death\tdays_to_last_follow_up\t"
        "age_at_index\tgender\tajcc_pathologic_stage\n"
        "0a1b\tTCGA-BC-A10Q\tDead\t1135\t'--\t63\tfemale\tStage I\n"
        "2c3d\tTCGA-DD-A1EB\tAlive\t'--\t1780\t52\tmale\tStage II\n"
        "4e5f\tTCGA-2V-A95S\tAlive\t'--\t'--\t71\tmale\tnot reported\n"
        "6a7b\tTCGA-ED-A7PZ\tDead\t406\t'--\t58\tmale\tStage IIIA\n"
    )
    result = read_clinical_spreadsheet(gdc)
    assert result.id_column == "case_submitter_id"
    table = result.table
    assert table.loc["TCGA-BC-A10Q", ["time", "event"]].tolist() == [1135, 1]
    assert table.loc["TCGA-DD-A1EB", ["time", "event"]].tolist() == [1780, 0]
    assert "TCGA-2V-A95S" not in table.index or pd.isna(table.loc["TCGA-2V-A95S", "time"])
    assert not {"days_to_death", "days_to_last_follow_up"} & set(table.columns)
    assert table["ajcc_pathologic_stage"].isna().sum() >= 1  # "not reported" is missing
    bcr = tmp_path / "nationwidechildrens.org_clinical_patient_lihc.txt"
    bcr.write_text(
        "bcr_patient_barcode\tvital_status\tdeath_days_to\tlast_contact_days_to\tgender\n"
        "TCGA-BC-A10Q\tDead\t1135\t[Not Available]\tFEMALE\n"
        "TCGA-DD-A1EB\tAlive\t[Not Applicable]\t1780\tMALE\n"
    )
    patients = read_clinical_spreadsheet(bcr).table
    assert patients[["time", "event"]].values.tolist() == [[1135, 1], [1780, 0]]


def test_censoring_marks_in_a_time_column_without_an_event_column(tmp_path: Path) -> None:
    """BraTS 2020's survival table (no event column; its one living patient 'ALIVE (361 days
    later)') and the '+' notation of censored times: marked times are censored, plain ones
    events. Without any mark there is still no event to guess."""
    brats = tmp_path / "survival_info.csv"
    brats.write_text(
        "Brats20ID,Age,Survival_days,Extent_of_Resection\n"
        "BraTS20_Training_001,60.5,289,GTR\nBraTS20_Training_002,52.3,616,GTR\n"
        "BraTS20_Training_084,68.0,ALIVE (361 days later),NA\n"
    )
    table = read_clinical_spreadsheet(brats).table
    assert table[["time", "event"]].values.tolist() == [[289, 1], [616, 1], [361, 0]]
    plus = tmp_path / "plus.csv"
    plus.write_text("patient_id,OS (months),Age\nP1,12.5+,60\nP2,8,55\nP3,30+,70\n")
    table = read_clinical_spreadsheet(plus).table
    assert table["event"].tolist() == [0, 1, 0]
    assert table["time"].tolist() == pytest.approx([12.5 * MONTH, 8 * MONTH, 30 * MONTH])
    unmarked = tmp_path / "unmarked.csv"
    unmarked.write_text("patient_id,OS (months),Age\nP1,12.5,60\nP2,8,55\n")
    with pytest.raises(InputError, match="no survival event column"):
        read_clinical_spreadsheet(unmarked)


def _french(value: float, decimals: int, space: str = " ") -> str:
    """``value`` as a French Excel writes it: a decimal comma, thousands grouped by ``space``."""
    return f"{value:,.{decimals}f}".replace(",", space).replace(".", ",")


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u202f"], ids=["space", "nbsp", "narrow"])
def test_thousands_grouped_by_spaces_as_a_french_excel_writes_them(
    tmp_path: Path, space: str
) -> None:
    """GBSG2 as a French Excel saves it: decimal commas, thousands grouped by a space (a
    no-break one, or French typography's narrow one). Its '1 814' days were no number (the
    rows without outcome) and its progesterone receptors' '2 380' made the column text."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    table = pd.DataFrame(
        {
            "patient_id": [f"G{i:04d}" for i in range(len(X))],
            "RFS (days)": [_french(t, 0, space) for t in y["time"]],
            "event": y["cens"].astype(int),
            "age": [_french(a, 1, space) for a in X["age"]],
            "progrec": [_french(p, 0, space) for p in X["progrec"]],
        }
    )
    path = tmp_path / "export.csv"
    table.to_csv(path, sep=";", index=False)
    result = read_clinical_spreadsheet(path)
    np.testing.assert_array_equal(result.table["time"], y["time"])
    np.testing.assert_array_equal(result.table["progrec"].astype(float), X["progrec"])
    np.testing.assert_array_equal(result.table["age"].astype(float), X["age"])
    assert not result.no_outcome


def test_space_separated_pairs_and_codes_are_no_thousands(tmp_path: Path) -> None:
    """A space groups thousands only where the column shows it ('1 814' days beside '712'): a
    blood pressure's '153 102' was read as 153102 (a model input of 125000 to 224000) and an
    ICD-O morphology's '8 140' as 8140 (a number, not a category of four codes), silently."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    rng = np.random.default_rng(1)
    systolic, diastolic = rng.integers(150, 200, len(X)), rng.integers(100, 130, len(X))
    table = pd.DataFrame(
        {
            "patient_id": [f"G{i:04d}" for i in range(len(X))],
            "RFS (days)": [_french(t, 0) for t in y["time"]],
            "event": y["cens"].astype(int),
            "bp": [f"{s} {d}" for s, d in zip(systolic, diastolic, strict=True)],
            "icd_o_code": rng.choice(["8 140", "8 500", "8 520", "8 522"], len(X)),
        }
    )
    path = tmp_path / "export.csv"
    table.to_csv(path, sep=";", index=False)
    result = read_clinical_spreadsheet(path)
    np.testing.assert_array_equal(result.table["time"], y["time"])
    assert "bp" not in result.schema.names
    assert report_actions(result, "bp")[-1].startswith("dropped: ")
    assert result.schema["icd_o_code"].kind == CATEGORY
    assert result.schema["icd_o_code"].categories == ("8 140", "8 500", "8 520", "8 522")
    assert not [
        a
        for a in report_actions(result, "icd_o_code") + report_actions(result, "bp")
        if "spaces" in a
    ]
    first = _french(y["time"][y["time"] >= 1000][0], 0)
    assert f"{first!r} read as {first.replace(' ', '')}, its spaces grouping thousands" in (
        report_actions(result, "RFS (days)")
    )


def test_bounds_french_hospital_numbers_and_repeated_headers(tmp_path: Path) -> None:
    """Real exports (FLCHAIN's kappa, a French hospital's record numbers): ten '<0.5' cells made
    the lab a 363-level category; 'N° dossier' and 'Numéro IPP' (numbers) were kept as model
    variables; a header written twice crashed with an AttributeError."""
    from sksurv.datasets import load_flchain

    X, y = load_flchain()
    rows = X.iloc[:200]
    kappa = rows["kappa"].map(lambda v: f"{v:.2f}").tolist()
    kappa[:5] = ["<0.5"] * 5
    table = pd.DataFrame(
        {
            "Patient ID": [f"F{i:04d}" for i in range(200)],
            "N° dossier": [8123450 + i for i in range(200)],
            "Numéro IPP": [55512300 + 7 * i for i in range(200)],
            "time_days": y["futime"][:200],
            "event": y["death"][:200].astype(int),
            "kappa": kappa,
        }
    )
    path = tmp_path / "export.csv"
    table.to_csv(path, index=False)
    result = read_clinical_spreadsheet(path)
    assert list(result.table.columns) == ["time", "event", "kappa"]
    assert result.table["kappa"].dtype.kind == "f" and result.table["kappa"].iloc[0] == 0.5
    assert result.table["kappa"].iloc[5] == pytest.approx(float(kappa[5]))
    assert any("read as the bound" in a for a in report_actions(result, "kappa"))
    assert all(
        "identifier" in a for c in ("N° dossier", "Numéro IPP") for a in report_actions(result, c)
    )
    path.write_text("Patient ID,time_days,event,age,age\nA,10,1,50,51\nB,20,0,60,61\n")
    with pytest.raises(InputError, match="header 'age' is written on more than one column"):
        read_clinical_spreadsheet(path)


def test_a_french_event_column_and_messages_with_the_cli_options(tmp_path: Path) -> None:
    """WHAS500 exported in French: 'oui'/'non' and 'décédé'/'vivant' events were refused as
    'not an event indicator', and the refusals named API parameters, not the CLI's options."""
    from sksurv.datasets import load_whas500

    X, y = load_whas500()
    table = pd.DataFrame(
        {
            "patient_id": [f"W{i:03d}" for i in range(60)],
            "survie_jours": y["lenfol"][:60],
            "deces": np.where(y["fstat"][:60], "oui", "non"),
            "statut": np.where(y["fstat"][:60], "décédé", "vivant"),
            "age": X["age"][:60].to_numpy(),
        }
    )
    path = tmp_path / "whas_fr.csv"
    table.drop(columns=["statut"]).to_csv(path, index=False)
    result = read_clinical_spreadsheet(
        path, time_column="survie_jours", event_column="deces", time_unit="days"
    )
    assert (result.table["event"].to_numpy(int) == y["fstat"][:60]).all()
    table.drop(columns=["deces"]).to_csv(path, index=False)
    result = read_clinical_spreadsheet(
        path, time_column="survie_jours", event_column="statut", time_unit="days"
    )
    assert (result.table["event"].to_numpy(int) == y["fstat"][:60]).all()
    found = read_clinical_spreadsheet(path, event_column="statut")  # 'survie' is a survival time
    np.testing.assert_array_equal(found.table["time"], result.table["time"])
    table.rename(columns={"survie_jours": "delai"}).drop(columns=["deces"]).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match="--time-column"):
        read_clinical_spreadsheet(path, event_column="statut")


@pytest.mark.parametrize(
    ("header", "rows", "days"),
    [
        ("N° patient;Âge (ans);Survie (jours);Décès", [("P1", 64, 1200, 1), ("P2", 58, 800, 0)],
         1.0),
        ("Pat.-Nr.;Alter;Überleben (Monate);Verstorben", [("P1", 64, 40, "ja"), ("P2", 58, 26, "nein")],
         30.4375),
        ("ID paciente;Edad;Supervivencia (meses);Fallecido", [("P1", 64, 40, "sí"), ("P2", 58, 26, "no")],
         30.4375),
        ("Codice paziente;Età;Sopravvivenza (mesi);Decesso", [("P1", 64, 40, "sì"), ("P2", 58, 26, "no")],
         30.4375),
        ("Identifiant;Âge;Survie (mois);Décès", [("P1", 64, 40, 1), ("P2", 58, 26, 0)], 30.4375),
        ("Pat.-Nr.;Alter;Überlebenszeit (Monate);Verstorben", [("P1", 64, 40, "ja"), ("P2", 58, 26, "nein")],
         30.4375),
        ("Patiëntnummer;Leeftijd;Overleving (maanden);Overleden", [("P1", 64, 40, "ja"), ("P2", 58, 26, "nee")],
         30.4375),
        ("Prontuário;Idade;Sobrevida global (meses);Óbito", [("P1", 64, 40, "sim"), ("P2", 58, 26, "não")],
         30.4375),
    ],
    ids=["French", "German", "Spanish", "Italian", "French identifiant", "German Überlebenszeit",
         "Dutch", "Portuguese"],
)  # fmt: skip
def test_id_time_and_event_headers_of_other_languages_are_found(
    tmp_path: Path, header: str, rows: list, days: float
) -> None:
    """A French export ('N° patient', 'Survie (jours)', 'Décès') was refused: "no patient ID
    column"; its time and event columns were not found either."""
    lines = [header, *(";".join(map(str, row)) for row in rows)]
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = read_clinical_spreadsheet(tmp_path / "export.csv")
    assert imported.table.index.tolist() == ["P1", "P2"]
    np.testing.assert_allclose(imported.table["time"], [rows[0][2] * days, rows[1][2] * days])
    assert imported.table["event"].tolist() == [1, 0]
    assert imported.variables.shape[1] == 1  # the age, under its own language's name


def test_a_row_of_units_under_the_header_gives_the_columns_their_units(tmp_path: Path) -> None:
    """GBSG2 (real) exported with a units row (',years,mm,,months,'): it was refused as a
    patient without ID; now each unit joins its column (the time read in months)."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    months = np.round(y["time"][:40] / 30.4375, 2)
    lines = ["patient_id,age,tsize,pnodes,os_time,os_event", ",years,mm,,months,"]
    lines += [
        f"G{i:03d},{X['age'].iloc[i]:g},{X['tsize'].iloc[i]:g},{X['pnodes'].iloc[i]:g},"
        f"{months[i]:g},{int(y['cens'][i])}"
        for i in range(40)
    ]
    (tmp_path / "gbsg2.csv").write_text("\n".join(lines) + "\n")
    imported = read_clinical_spreadsheet(tmp_path / "gbsg2.csv")
    assert len(imported.table) == 40
    np.testing.assert_allclose(imported.table["time"], months * 30.4375)
    units = {v.name: v.unit for v in imported.schema.variables}
    assert units == {"age": "years", "tsize": "mm", "pnodes": ""}
    assert "a row of units under the header read: years, mm, months" in imported.report_text()


def test_a_recurrence_free_survivals_event_words_are_read(tmp_path: Path) -> None:
    """GBSG2 exported with 'recurrence'/'censored' in its event column: every 'recurrence' row
    lost its outcome, and the cohort had 0 events with the import 'finished'."""
    path = tmp_path / "rfs.csv"
    path.write_text(
        "id,rfs_days,status\na,100,recurrence\nb,200,censored\nc,300,Relapse\nd,400,no relapse\n"
    )
    result = read_clinical_spreadsheet(path)
    assert list(result.table["event"]) == [1, 0, 1, 0]


def test_a_cohort_without_events_is_said_to_be_one(tmp_path: Path) -> None:
    """A warning (the import's JSON, stderr, the Cohort page), not a console line alone."""
    path = tmp_path / "none.csv"
    path.write_text("id,os_days,status\na,100,alive\nb,200,censored\nc,300,alive\n")
    result = read_clinical_spreadsheet(path)
    said = [a for a in report_actions(result, "status") if "no patient has the event" in a]
    assert said and said[0].startswith("No events: ") and asks_to_act(said[0])


def _gbsg2_sheet(rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """GBSG2's first ``rows`` patients as a hospital sheet: ages with a decimal (70.5), the
    tumour size as a decimal number (21.0), the other measurements whole."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    sheet = X.iloc[:rows].astype({c: int for c in ("estrec", "pnodes", "progrec")})
    sheet["age"] = X["age"].iloc[:rows] + 0.5
    sheet.insert(0, "patient_id", [f"G{i:04d}" for i in range(rows)])
    sheet["event"] = y["cens"][:rows].astype(int)
    return sheet.reset_index(drop=True), y[:rows]


@pytest.mark.parametrize(
    ("export", "time", "read_as"),
    [
        (  # Excel's US "Text (Tab delimited)" of '#,##0' cells
            {"sep": "\t"},
            "{:,}",
            "'1,814' read as 1814, its comma a thousands separator (the file's other numbers "
            "have decimal points: '70.5' in 'age')",
        ),
        (  # German Excel's "CSV (Trennzeichen-getrennt)": decimal commas, '#.##0' times
            {"sep": ";", "decimal": ",", "encoding": "cp1252"},
            "{:,}",
            "'1.814' read as 1814, its point a thousands separator (the file's other numbers "
            "have decimal commas: '70,5' in 'age')",
        ),
        (  # the same with the measurements typed as text by another tool, with points
            {"sep": ";", "encoding": "cp1252"},
            "{:,}",
            "'1.814' read as 1814, its point a thousands separator (the column writes numbers "
            "under 1000 without a mark and the others grouped by points in threes ('1.814'))",
        ),
    ],
    ids=["us tab", "german semicolon", "german, measurements with points"],
)
def test_thousands_separators_are_told_from_decimal_marks_by_the_other_numbers(
    tmp_path: Path, export: dict, time: str, read_as: str
) -> None:
    """GBSG2's times of 1000 days and more written with a thousands separator ('1,814' in a US
    tab export, '1.814' in a German one) were read as 1.814 days: 111 of 200 times wrong."""
    sheet, y = _gbsg2_sheet(200)
    grouping = "." if export["sep"] == ";" else ","
    sheet["time (days)"] = [time.format(int(t)).replace(",", grouping) for t in y["time"]]
    if "decimal" not in export and export["sep"] == ";":  # ages alone with decimal commas
        sheet["age"] = sheet["age"].map(lambda v: f"{v:.1f}".replace(".", ","))
    path = tmp_path / "gbsg2.csv"
    sheet.to_csv(path, index=False, **export)
    result = read_clinical_spreadsheet(path, event_column="event")
    assert result.table["time"].tolist() == y["time"].tolist()
    assert (
        result.table["age"].tolist()
        == sheet["age"].map(lambda v: float(str(v).replace(",", "."))).tolist()
    )
    grouped = int((y["time"] >= 1000).sum())
    assert grouped == 111
    assert (read_as, grouped) in [(c.action, c.count) for c in result.report]


def test_quoted_decimal_commas_in_a_comma_file_are_read_by_the_files_other_numbers(
    tmp_path: Path,
) -> None:
    """A French Google Sheets export (comma-delimited, numbers quoted with decimal commas):
    '59,598' months were read as 59,598 months (1,814,014 days) and a ratio '0,048' as 48."""
    sheet, y = _gbsg2_sheet(120)
    months = [f"{t / MONTH:.3f}" for t in y["time"]]
    ratio = [f"{p / 1000:.3f}" for p in sheet["progrec"]]
    export = pd.DataFrame(
        {
            "patient_id": sheet["patient_id"],
            "OS (months)": [m.replace(".", ",") for m in months],
            "status": sheet["event"],
            "age": sheet["age"].astype(int),
            "progrec_ratio": [r.replace(".", ",") for r in ratio],
        }
    )
    path = tmp_path / "sheets_fr.csv"
    export.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)
    result = read_clinical_spreadsheet(path)
    assert result.table["time"].tolist() == [float(m) * MONTH for m in months]
    assert result.table["progrec_ratio"].tolist() == [float(r) for r in ratio]
    assert (
        "'59,598' read as 59.598, its comma a decimal mark (the file's other numbers have "
        "decimal commas: '0,048' in 'progrec_ratio')",
        120,
    ) in [(c.action, c.count) for c in result.report if c.column == "OS (months)"]


def test_numbers_whose_marks_nothing_in_the_file_tells_are_refused(tmp_path: Path) -> None:
    """A tab export holding only whole numbers, its times of 1000 days and more written '1,814':
    1814 days or 1.814, nothing else in it says; it is refused, never guessed."""
    sheet, y = _gbsg2_sheet(200)
    sheet = sheet.astype({"age": int, "tsize": int})
    sheet["time (days)"] = [f"{int(t):,}" for t in y["time"]]
    path = tmp_path / "gbsg2.tsv"
    sheet[y["time"] >= 1000].to_csv(path, index=False, sep="\t")
    with pytest.raises(
        InputError,
        match=r"gbsg2\.tsv: the column 'time \(days\)' holds '1,814', which is 1814 if its comma "
        r"separates thousands and 1\.814 if it is a decimal comma.*Write the numbers without "
        r"thousands separators",
    ):
        read_clinical_spreadsheet(path, event_column="event")


def test_a_text_column_with_one_ambiguous_number_stays_text(tmp_path: Path) -> None:
    """A semicolon export's histology column of words and one '1.500' stopped the whole import
    as undecidable numbers; a column of words is text, its '1.500' one of its categories."""
    sheet, y = _gbsg2_sheet(200)
    sheet = sheet.astype({"age": int, "tsize": int})  # no number in the file tells the marks
    histology = np.array(["ductal", "lobular", "mixed", "mucinous"] * 50, dtype=object)
    histology[7] = "1.500"
    sheet["histology"] = histology
    sheet["time (days)"] = y["time"].astype(int)
    path = tmp_path / "gbsg2.csv"
    sheet.to_csv(path, index=False, sep=";")
    imported = read_clinical_spreadsheet(path, event_column="event")
    assert imported.table["histology"].iloc[7] == "1.500"
    assert set(imported.table["histology"]) == {"ductal", "lobular", "mixed", "mucinous", "1.500"}


def test_two_digit_birth_years_are_put_before_the_diagnosis(tmp_path: Path) -> None:
    """A registry's dd/mm/yy dates: patients born in the 1920s were read as born in the 2020s,
    aged -20 at a 2002 diagnosis; a birth date after the diagnosis gives no age."""
    sheet, y = _gbsg2_sheet(686)
    rng = np.random.default_rng(3)
    diagnosis = pd.Timestamp("2001-01-01") + pd.to_timedelta(rng.integers(0, 700, 686), "D")
    born = diagnosis - pd.to_timedelta((sheet["age"] * 365.25).round().astype(int), "D")
    born = pd.Series(born)
    written = list(born.dt.strftime("%d/%m/%y"))
    written[0] = "01/01/2030"  # a four-digit year after the diagnosis: a wrong date
    export = pd.DataFrame(
        {
            "patient_id": sheet["patient_id"],
            "DOB": written,
            "Diagnosis date": diagnosis.strftime("%d/%m/%y"),
            "OS (days)": y["time"],
            "status": sheet["event"],
        }
    )
    export.to_csv(path := tmp_path / "registry.csv", index=False)
    result = read_clinical_spreadsheet(path)
    expected = ((diagnosis - born).dt.days / 365.25).to_numpy().round(1)
    assert pd.isna(result.table["age"].iloc[0])
    assert result.table["age"].iloc[1:].tolist() == expected[1:].tolist()
    moved = int((born[1:].dt.year % 100 <= date.today().year % 100).sum())
    assert moved > 0
    assert [c.count for c in result.report if c.column == "DOB" and "century" in c.action] == [
        moved
    ]
    wrong = round((diagnosis[0] - pd.Timestamp("2030-01-01")).days / 365.25, 1)
    assert (
        f"ages below 0 or above 130 years ({wrong}) read as missing: check 'DOB' and "
        "'Diagnosis date'"
    ) in report_actions(result, "age")


def _veterans_registry(
    folder: Path, blank_deaths: int = 0, alive_deaths: int = 0
) -> tuple[Path, np.ndarray, np.ndarray]:
    """The veterans' cohort as a registry of dates (diagnosis, last contact, death) and a vital
    status, its first ``blank_deaths`` dead patients without a date of death and its first
    ``alive_deaths`` marked alive beside theirs; the file, the outcome, the changed rows."""
    from sksurv.datasets import load_veterans_lung_cancer

    _, y = load_veterans_lung_cancer()
    rng = np.random.default_rng(7)
    diagnosis = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 900, len(y)), "D")
    end = (diagnosis + pd.to_timedelta(y["Survival_in_days"], "D")).strftime("%Y-%m-%d")
    dead = y["Status"]
    death, status = np.where(dead, end, ""), np.where(dead, "Dead", "Alive")
    changed = np.flatnonzero(dead)[: blank_deaths + alive_deaths]
    death[changed[:blank_deaths]] = ""
    status[changed[blank_deaths:]] = "Alive"
    sheet = pd.DataFrame(
        {
            "Patient ID": [f"VA-{i:03d}" for i in range(len(y))],
            "Date of diagnosis": diagnosis.strftime("%Y-%m-%d"),
            "Date of last contact": end,
            "Date of death": death,
            "Vital status": status,
        }
    )
    sheet.to_csv(path := folder / "registry.csv", index=False)
    return path, y, changed


def test_a_dead_patient_without_a_death_date_is_said(tmp_path: Path) -> None:
    """The veterans' registry with two dead patients' dates of death left blank: their time ran
    to the last contact, when they were last known alive, unsaid."""
    path, y, blank = _veterans_registry(tmp_path, blank_deaths=2)
    result = read_clinical_spreadsheet(path)
    assert result.table["time"].tolist() == y["Survival_in_days"].tolist()  # as before
    said = [c.action for c in result.report if c.action.startswith("dead by the event column")]
    assert said == [
        "dead by the event column without a date of death: time to the last follow-up used for "
        f"{', '.join(repr(f'VA-{i:03d}') for i in blank)} (the death may have come later)"
    ]


def test_a_death_date_beside_an_alive_status_leaves_the_outcome_missing(tmp_path: Path) -> None:
    """The veterans' registry with three patients marked alive beside their date of death:
    they were censored at that date, counted alive until then."""
    path, y, wrong = _veterans_registry(tmp_path, alive_deaths=3)
    dead = y["Status"]
    result = read_clinical_spreadsheet(path)
    kept = np.setdiff1d(np.arange(len(y)), wrong)
    assert result.table["time"].isna().to_numpy().nonzero()[0].tolist() == wrong.tolist()
    assert result.table["event"].isna().to_numpy().nonzero()[0].tolist() == wrong.tolist()
    assert result.table["time"].iloc[kept].tolist() == y["Survival_in_days"][kept].tolist()
    assert result.table["event"].iloc[kept].tolist() == dead[kept].astype(int).tolist()
    assert (
        "alive by the event column but with a date of death: outcome left missing for "
        "'VA-000', 'VA-001', 'VA-002' (correct one of the two)",
        3,
    ) in [(c.action, c.count) for c in result.report]


def test_tests_not_done_are_missing_values(tmp_path: Path) -> None:
    """'n.d.' in 10% of a column made it a category with a level 'n.d.'; 'nd' in 13% dropped
    another as free text."""
    sheet, y = _gbsg2_sheet(60)
    pnodes, progrec = sheet["pnodes"].astype(object), sheet["progrec"].astype(object)
    pnodes[2:8] = "n.d."
    progrec[8:16] = ["nd", "not done", "n.e.", "not determined"] * 2
    sheet["pnodes"], sheet["progrec"] = pnodes, progrec
    sheet["time (days)"] = y["time"]
    sheet.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    result = read_clinical_spreadsheet(path, event_column="event")
    for column, values in (("pnodes", pnodes), ("progrec", progrec)):
        assert result.schema[column].kind == INTEGER
        read = result.table[column]
        assert read.isna().tolist() == [isinstance(v, str) for v in values]
        assert read.dropna().tolist() == [v for v in values if not isinstance(v, str)]
    assert ("read 'n.d.' as missing", 6) in [(c.action, c.count) for c in result.report]


def test_lengths_in_mm_and_cm_are_read_in_mm(tmp_path: Path) -> None:
    """GBSG2's tumour sizes written '21 mm' and, every fourth, '2.1 cm': the column was dropped
    as free text; a column of several other units is dropped naming them."""
    sheet, y = _gbsg2_sheet(40)
    sizes = sheet["tsize"].astype(int).tolist()
    sheet["tsize"] = [f"{s / 10:g} cm" if i % 4 == 0 else f"{s} mm" for i, s in enumerate(sizes)]
    sheet["estrec"] = [f"{v} kg" if i % 2 else f"{v} mm" for i, v in enumerate(sheet["estrec"])]
    sheet["time (days)"] = y["time"]
    sheet.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    result = read_clinical_spreadsheet(path, event_column="event")
    assert result.table["tsize"].tolist() == [float(s) for s in sizes]
    assert result.schema["tsize"].unit == "mm"
    assert "lengths in cm and mm read in mm (cm x 10)" in report_actions(result, "tsize")
    assert "estrec" not in result.table
    assert "dropped: values in several units ('kg', 'mm'): convert them to one" in report_actions(
        result, "estrec"
    )


def test_datetime_cells_give_days_between_the_dates(tmp_path: Path) -> None:
    """A registry workbook's datetime cells with a time of day (and their serial numbers in a
    CSV): a patient seen at 16:00 and last at 09:00 got one day less (55 of 120 wrong); the
    serials with a fraction were refused."""
    import openpyxl

    sheet, y = _gbsg2_sheet(120)
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2003-01-01") + pd.to_timedelta(rng.integers(0, 2000, 120), "D")
    start += pd.to_timedelta(rng.integers(8, 17, 120), "h")
    end = start.normalize() + pd.to_timedelta(y["time"], "D")
    end += pd.to_timedelta(rng.integers(8, 17, 120), "h")
    book = openpyxl.Workbook()
    book.active.append(["Patient ID", "Date of diagnosis", "Last contact date", "Status"])
    for row in zip(sheet["patient_id"], start, end, sheet["event"], strict=True):
        book.active.append([row[0], row[1].to_pydatetime(), row[2].to_pydatetime(), int(row[3])])
    book.save(path := tmp_path / "registry.xlsx")
    assert read_clinical_spreadsheet(path).table["time"].tolist() == y["time"].tolist()
    serial = (start - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
    last = (end - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
    pd.DataFrame(
        {
            "patient_id": sheet["patient_id"],
            "Date of diagnosis": [f"{d:.4f}" for d in serial],
            "Date of last follow-up": [f"{d:.4f}" for d in last],
            "status": sheet["event"],
        }
    ).to_csv(serials := tmp_path / "serials.csv", index=False)
    assert read_clinical_spreadsheet(serials).table["time"].tolist() == y["time"].tolist()


@pytest.mark.parametrize(
    "style",
    [
        "%-m/%-d/%Y %-H:%M",  # US Excel's CSV of datetime cells
        "%-m/%-d/%Y %-I:%M:%S %p",  # .NET and SQL Server exports
        "%d.%m.%Y %H:%M:%S",  # a German hospital system
        "%d%b%Y:%H:%M:%S",  # SAS's DATETIME20.
        "%Y-%m-%dT%H:%M:%S.000Z",  # FHIR / JSON exports in UTC
        "%Y-%m-%dT%H:%M:%S-05:00",  # ISO with the site's offset
    ],
)
def test_dates_written_with_a_time_of_day(tmp_path: Path, style: str) -> None:
    """Dates written as datetimes, with a clock time and a zone or not: GBSG2's times were all
    refused ("no survival time column recognised"); the time is read off, the written date
    kept (23:30 at -05:00 stays that day, as the site recorded it)."""
    from survival_core.models.tabular import is_dates

    sheet, y = _gbsg2_sheet(150)
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2003-01-01") + pd.to_timedelta(rng.integers(0, 2000, 150), "D")
    start += pd.to_timedelta(rng.integers(0, 24 * 60, 150), "min")
    end = start.normalize() + pd.to_timedelta(y["time"], "D") + pd.Timedelta(hours=23, minutes=30)
    sheet["Date of diagnosis"] = start.strftime(style).str.upper()
    sheet["Date of last contact"] = end.strftime(style).str.upper()
    sheet.drop(columns="tsize").to_csv(path := tmp_path / "registry.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.table["time"].tolist() == y["time"].tolist()
    assert "Date of diagnosis" not in result.variables
    assert is_dates("Date of diagnosis", sheet["Date of diagnosis"].astype(object))


def _gbsg2_book(rows: int):
    """GBSG2's first ``rows`` patients in a workbook's first sheet (ID, time, event, variables)."""
    import openpyxl

    sheet, y = _gbsg2_sheet(rows)
    book = openpyxl.Workbook()
    book.active.append(["patient_id", "time (days)", *sheet.columns[1:]])
    for i, row in enumerate(sheet.itertuples(index=False)):
        book.active.append([row[0], float(y["time"][i]), *row[1:]])
    return book, sheet


def _with_saved_results(path: Path, results: dict[str, str]) -> None:
    """The workbook ``path`` with its formulas' results saved as a spreadsheet saves them (a
    ``<v>`` beside each ``<f>``; openpyxl writes none)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as source:
        items = [(item, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item, data in items:
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                for cell, value in results.items():
                    kind = ' t="str"' if value == "" else ""
                    saved = f'<c r="{cell}"{kind}><f>\\1</f><v>{value}</v></c>'
                    xml = re.sub(
                        rf'<c r="{cell}"[^>]*><f>(.*?)</f><v\s*/?>(?:</v>)?</c>', saved, xml
                    )
                data = xml.encode()
            target.writestr(item, data)


def test_a_percentage_reads_alike_typed_as_a_number_or_as_text(tmp_path: Path) -> None:
    """A Ki-67 column shown as percentages held 0.44 in its number cells beside the cells typed
    '44%': read 0.44 and 44 in one column, 100 times apart, with no word."""
    book, sheet = _gbsg2_book(40)
    ws = book.active
    ws.cell(1, ws.max_column + 1, "ki67")
    for i in range(40):
        cell = ws.cell(i + 2, ws.max_column, f"{i + 5}%" if i % 4 == 0 else (i + 5) / 100)
        cell.number_format = "0%"
    book.save(path := tmp_path / "ki67.xlsx")
    ki67 = read_clinical_spreadsheet(path).table["ki67"]
    assert ki67.tolist() == [i + 5 for i in range(40)]
    for i in range(40):  # a custom format with a quoted or escaped '%' shows the number unscaled
        cell = ws.cell(i + 2, ws.max_column, i + 5)
        cell.number_format = '0"%"' if i % 2 else "0\\%"
    book.save(path)
    assert read_clinical_spreadsheet(path).table["ki67"].tolist() == [i + 5 for i in range(40)]


def test_hidden_rows_and_columns_are_said_and_unsaved_formulas_refused(tmp_path: Path) -> None:
    """A hidden column became a variable and a filter's hidden rows patients, not a word said; a
    time computed by formulas a program wrote (no saved result) read as 40 blank times."""
    book, sheet = _gbsg2_book(40)
    ws = book.active
    ws.column_dimensions["E"].hidden = True
    for row in (3, 9):
        ws.row_dimensions[row].hidden = True
    book.save(path := tmp_path / "hidden.xlsx")
    report = [str(c) for c in read_clinical_spreadsheet(path).report]
    assert "(file): column(s) E hidden in the workbook: read like the others (1)" in report
    assert (
        "(rows): row(s) 3, 9 hidden in the workbook (by a filter?): read like the others (2)"
        in report
    )
    for i in range(40):
        ws.cell(i + 2, 2, f"=A{i + 2}*0+{i + 100}")
    book.save(path)
    with pytest.raises(
        InputError, match=r"40 cell\(s\) hold a formula with no saved result \(B2, B3"
    ):
        read_clinical_spreadsheet(path)
    # as a spreadsheet saves them: results, a blank one too ('=IF(D3="","",D3)'), which reads as
    # a formula never calculated does: read, not refused (saving it again changes nothing)
    _with_saved_results(path, {f"B{i + 2}": str(i + 100) for i in range(40)} | {"B5": ""})
    times = read_clinical_spreadsheet(path).table["time"]
    assert times.isna().sum() == 1 and times.iloc[0] == 100


def test_no_id_column_on_the_first_sheet_names_the_others(tmp_path: Path) -> None:
    """A README sheet first: 'no patient ID column; its columns are: GBSG2 export...' without a
    word that only the first sheet was read."""
    book, _ = _gbsg2_book(10)
    book.active.title = "patients"
    readme = book.create_sheet("README", 0)
    readme.append(["GBSG2 export: the data are on sheet 'patients'."])
    readme.append(["Times in days."])
    book.save(path := tmp_path / "readme.xlsx")
    with pytest.raises(
        InputError,
        match=r"on sheet 'README', the first and the only one read \(its other sheets: 'patients'\)",
    ):
        read_clinical_spreadsheet(path)


def test_refusals_name_the_sheet_read_and_the_files_row(tmp_path: Path) -> None:
    """A workbook with its codebook first said only "no data rows under its header"; a row
    without ID on the file's line 6 (under a title and a blank line) was called row 4."""
    import openpyxl
    from sksurv.datasets import load_whas500

    X, y = load_whas500()
    book = openpyxl.Workbook()
    book.active.title = "README"
    book.active.append(["Codebook"])
    book.active.append(["fstat", "1 = dead"])
    data = book.create_sheet("data")
    data.append(["patient_id", *X.columns, "lenfol (days)", "fstat"])
    for i in range(len(X)):
        data.append([f"W{i}", *X.iloc[i].astype(float), float(y["lenfol"][i]), int(y["fstat"][i])])
    book.save(path := tmp_path / "whas500.xlsx")
    with pytest.raises(
        InputError,
        match=r"whas500\.xlsx has no data rows under its header on sheet 'README', the first and "
        r"the only one read \(its other sheets: 'data'\): move the patients' table to the first "
        r"sheet, or save its sheet as CSV\.",
    ):
        read_clinical_spreadsheet(path)
    lines = ["WHAS500 export 2024,,,", ",,,", "patient_id,lenfol (days),fstat,age"]
    lines += [f"W{i},{y['lenfol'][i]:g},{int(y['fstat'][i])},{X['age'][i]:g}" for i in range(4)]
    lines[5] = "," + lines[5].split(",", 1)[1]  # the file's line 6
    (csv_path := tmp_path / "whas500.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"row\(s\) 6 have no patient ID in 'patient_id'"):
        read_clinical_spreadsheet(csv_path, event_column="fstat")


@pytest.mark.parametrize(
    ("header", "dead", "alive"),
    [
        ("Statut vital", "DCD", "Vivant"),
        ("Status", "tot", "lebt"),
        ("Status", "verstorben", "lebt"),
        # Dutch and Portuguese, refused: "holds 'levend', 'overleden', not an event indicator"
        ("Status (levend/overleden)", "overleden", "levend"),
        ("Óbito (sim/não)", "sim", "não"),
        ("Óbito", "Falecido", "Vivo"),
    ],
)
def test_vital_status_words_abroad_and_abbreviations(
    tmp_path: Path, header: str, dead: str, alive: str
) -> None:
    """The veterans' trial with 'DCD' (décédé) for the dead read as 0 events; 'lebt' (German:
    lives) read as missing; Dutch 'overleden' and Portuguese 'sim' (yes) refused."""
    y = _veterans_with_status(path := tmp_path / "veterans.csv", header, dead, alive)
    result = read_clinical_spreadsheet(path)
    assert result.table["event"].tolist() == y["Status"].astype(int).tolist()
    table = pd.read_csv(path).set_axis(["case_id", "time", "event"], axis=1)
    table.to_csv(path, index=False)  # a model table's event in the same words
    assert load_model_table([path]).y["event"].tolist() == y["Status"].tolist()


def _veterans_with_status(path: Path, header: str, dead: str, alive: str) -> np.ndarray:
    """The veterans' trial written to ``path``: ID, survival days and its status under
    ``header``, each patient ``dead`` or ``alive``; returns its outcome."""
    from sksurv.datasets import load_veterans_lung_cancer

    _, y = load_veterans_lung_cancer()
    pd.DataFrame(
        {
            "patient_id": [f"V{i:03d}" for i in range(len(y))],
            "Survival_days": y["Survival_in_days"],
            header: np.where(y["Status"], dead, alive),
        }
    ).to_csv(path, index=False)
    return y


@pytest.mark.parametrize(
    ("header", "dead", "alive"),
    [
        ("Estado (vivo/fallecido)", "fallecido", "vivo"),
        ("Stato (vivo/deceduto)", "deceduto", "vivo"),
        ("Status (levend/overleden)", "overleden", "levend"),
    ],
)
def test_a_vital_status_written_abroad_is_overall_survivals(
    tmp_path: Path, header: str, dead: str, alive: str
) -> None:
    """A Spanish or Italian vital status recorded endpoint null where a German 'verstorben' was
    overall survival's: score then said plain 'survival'."""
    y = _veterans_with_status(path := tmp_path / "veterans.csv", header, dead, alive)
    result = read_clinical_spreadsheet(path, event_column=header)
    assert int(result.table["event"].sum()) == int(y["Status"].sum()) == 128
    assert (result.endpoint, result.endpoint_name, result.deaths_counted) == ("death", "os", True)


def test_none_written_often_in_a_text_column_is_a_level_not_missing(tmp_path: Path) -> None:
    """GBSG2 with its hormone therapy written none/tamoxifen: 'none' was read as missing (440 of
    686), the schema listed tamoxifen alone and fit dropped the variable (64 % missing). In a
    text column that writes it often it is a level; in a column of numbers no value, as before."""
    export = clinical_exports.gbsg2(tmp_path)
    table = pd.read_csv(export.path)
    table["horTh"] = table["horTh"].map({"no": "none", "yes": "tamoxifen"})
    table["pnodes"] = table["pnodes"].astype(object).where(table.index % 50 > 0, "none")
    table.to_csv(export.path, index=False)
    result = read_clinical_spreadsheet(export.path)
    assert result.schema["horth"].categories == ("none", "tamoxifen")
    assert (result.table["horth"] == "none").sum() == 440 and result.table["horth"].notna().all()
    assert "read 'none' as a level of this text column, not missing" in report_actions(
        result, "horTh"
    )
    assert result.table["pnodes"].isna().sum() == 14
    assert "read 'none' as missing" in report_actions(result, "pnodes")
    assert result.schema.validate({"horth": "None"}).values["horth"] == "none"
    _validates_every_row(result)
    # in a column of yes and no, 'none' is no value, as before (it became a third level)
    table["horTh"] = table["horTh"].map({"none": "no", "tamoxifen": "yes"})
    table["horTh"] = table["horTh"].where(table.index % 10 > 0, "none")
    table.to_csv(export.path, index=False)
    result = read_clinical_spreadsheet(export.path)
    assert result.schema["horth"].kind == "yes/no" and result.table["horth"].isna().sum() == 69
    assert "read 'none' as missing" in report_actions(result, "horTh")


def test_results_not_back_in_a_lab_column_are_missing_and_shown(tmp_path: Path) -> None:
    """GBSG2's progesterone receptor with 50 of 686 cells 'pending', 'awaiting', 'n/d', 'unk.'
    or 'not assessed' (over 5 % text) became a category of 236 levels; it stays numbers, those
    cells missing, each word shown in the report."""
    export = clinical_exports.gbsg2(tmp_path)
    sheet = pd.read_csv(export.path, dtype=str)
    words = ["pending", "awaiting", "n/d", "unk.", "not assessed"]
    for i, word in enumerate(words):
        sheet.loc[i * 10 : i * 10 + 9, "progrec"] = word
    sheet.to_csv(export.path, index=False)
    result = read_clinical_spreadsheet(export.path)
    assert result.schema["progrec"].kind == NUMBER
    assert result.table["progrec"].isna().sum() == 50
    kept = result.table["progrec"].iloc[50:].to_numpy(float)
    np.testing.assert_array_equal(kept, export.X["progrec"].to_numpy(float)[50:])
    assert report_actions(result, "progrec") == [
        "read 'awaiting', 'n/d', 'not assessed', 'pending', 'unk.' as missing"
    ]


@pytest.mark.parametrize("header", ["lymph nodes positive", "lymph_nodes"])
def test_a_lymph_node_count_stays_a_plain_count(tmp_path: Path, header: str) -> None:
    """GBSG2's pnodes headed as lymph nodes: a plain count, never a cell count whose 'G/L' is
    10^9/L (its 'lymph' was read as a lymphocyte count's); lymphocytes still are."""
    export = clinical_exports.gbsg2(tmp_path)
    sheet = pd.read_csv(export.path, dtype=str).rename(columns={"pnodes": header})
    sheet.to_csv(export.path, index=False)
    result = read_clinical_spreadsheet(export.path)
    name = header.replace(" ", "_")
    variable = result.schema[name]
    assert (variable.kind, variable.unit) == (NUMBER, "")
    assert (result.table[name].to_numpy(int) == export.X["pnodes"].to_numpy(int)).all()
    assert not counts_cells(name, "G/L")  # so its 'G/L' would be grams per litre
    assert counts_cells("lymphocytes", "") and counts_cells("lymph_abs", "")
    assert same_unit("G/L", "10^9/L", cells=counts_cells("lymphocytes 10^9/L", ""))
