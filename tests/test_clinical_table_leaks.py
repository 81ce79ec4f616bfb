"""Clinical exports of other sites that used to be misread: outcome columns beside the chosen one
kept as predictors (a model learns the outcome back from them), Excel's serial dates, thousands
separators, a small cohort's US dates, units written in words, BCR and title rows, totals.

The tables are scikit-survival's real WHAS500 and veterans cohorts written the way head-and-neck
exports (TCIA HNSCC, RADCURE, MDACC) and registries lay them out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sksurv import datasets

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import InputError
from survival_core.io.clinical_schema import INTEGER
from survival_core.io.dates import EXCEL_EPOCH
from survival_core.io.tables import load_model_table
from survival_core.models.tabular import TablePreprocessor
from tests import clinical_exports
from tests.clinical_exports import report_actions

DIAGNOSED = pd.Timestamp("2009-01-05")


@pytest.fixture(scope="module")
def whas() -> pd.DataFrame:
    """WHAS500: real follow-up in days, vital status, age, BMI; a diagnosis date per patient."""
    X, y = datasets.load_whas500()
    frame = pd.DataFrame(
        {
            "Patient #": [f"{i + 1:03d}" for i in range(len(y))],
            "Age": X["age"].astype(int).to_numpy(),
            "BMI": X["bmi"].round(2).to_numpy(),
            "days": y["lenfol"].astype(int),
            "dead": y["fstat"].astype(int),
        }
    )
    frame["diagnosed"] = DIAGNOSED + pd.to_timedelta(np.arange(len(y)) * 3, unit="D")
    frame["ended"] = frame["diagnosed"] + pd.to_timedelta(frame["days"], unit="D")
    return frame


def _hnscc(whas: pd.DataFrame) -> pd.DataFrame:
    """An HNSCC-style export: survival in months, vital status, and the other outcomes an
    MDACC or RADCURE sheet carries beside it, each a function of the real outcome."""
    months = whas["days"] / 30.4375
    return pd.DataFrame(
        {
            "Patient #": whas["Patient #"],
            "Age at Diag": whas["Age"],
            "Chemo 5-FU": np.where(np.arange(len(whas)) % 3 == 0, "Yes", "No"),
            "Treatment duration (days)": 40 + np.arange(len(whas)) % 9,
            "Vital status": np.where(whas["dead"] == 1, "Dead", "Alive"),
            "Survival  (months)": months.round(2),
            "Length FU": (months / 12).round(3),
            "Disease-specific survival_duration": months.round(1),
            "Local control_duration": (months * 0.8).round(1),
            "Cause of Death": np.where(whas["dead"] == 1, "Index cancer", ""),
        }
    )


def test_other_outcome_columns_are_never_predictors(tmp_path: Path, whas: pd.DataFrame) -> None:
    path = tmp_path / "hnscc.csv"
    _hnscc(whas).to_csv(path, index=False)
    result = read_clinical_spreadsheet(path)
    assert result.time_column == "Survival  (months)"
    # the chemotherapy (5-FU) and the treatment's length are predictors; the follow-up,
    # disease-specific survival, local control and cause of death are outcomes
    assert list(result.variables.columns) == ["age_at_diag", "chemo_5_fu", "treatment_duration"]
    for column in (
        "Length FU",
        "Disease-specific survival_duration",
        "Local control_duration",
        "Cause of Death",
    ):
        assert report_actions(result, column) == [
            "dropped: another outcome or ID column, not a clinical variable"
        ]
    np.testing.assert_allclose(result.table["time"], whas["days"], atol=0.2)


def test_follow_up_dates_still_give_the_time_when_named_as_outcomes(
    tmp_path: Path, whas: pd.DataFrame
) -> None:
    """RADCURE's layout: the time from 'RT Start' to 'Last FU' (an outcome word, kept as a date,
    never a variable), 'Length FU' in years dropped."""
    frame = pd.DataFrame(
        {
            "patient_id": whas["Patient #"].radd("RADCURE-"),
            "Age": whas["Age"],
            "RT Start": whas["diagnosed"].dt.strftime("%Y-%m-%d"),
            "Last FU": whas["ended"].dt.strftime("%Y-%m-%d"),
            "Status": np.where(whas["dead"] == 1, "Dead", "Alive"),
            "Length FU": (whas["days"] / 365.25).round(3),
        }
    )
    frame.to_csv(path := tmp_path / "radcure.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.time_column == "(from dates)"
    assert list(result.variables.columns) == ["age"]
    assert list(result.dates.columns) == ["RT Start", "Last FU"]
    np.testing.assert_array_equal(result.table["time"], whas["days"])
    np.testing.assert_array_equal(result.table["event"], whas["dead"])


def test_excel_serial_dates_are_dates_not_numbers(tmp_path: Path, whas: pd.DataFrame) -> None:
    """A sheet saved as CSV after its date cells lost their format: 40637 is 2011-04-03."""
    serial = lambda dates: (dates - EXCEL_EPOCH).dt.days  # noqa: E731
    frame = pd.DataFrame(
        {
            "Patient ID": whas["Patient #"],
            "Age": whas["Age"],
            "Status": np.where(whas["dead"] == 1, "Dead", "Alive"),
            "Date of Diagnosis": serial(whas["diagnosed"]),
            "Date of Last FU": serial(whas["ended"]),
        }
    )
    frame.to_csv(path := tmp_path / "serial.csv", index=False)
    assert frame["Date of Diagnosis"].iloc[0] == 39818  # 2009-01-05
    result = read_clinical_spreadsheet(path)
    assert list(result.variables.columns) == ["age"]
    assert result.time_column == "(from dates)"
    np.testing.assert_array_equal(result.table["time"], whas["days"])
    assert any("Excel serial day numbers" in a for a in report_actions(result, "Date of Diagnosis"))


def test_a_date_named_column_that_is_not_dates_is_dropped(tmp_path: Path) -> None:
    text = "id,os_days,os_event,Date of surgery,age\nA,100,1,2011,50\nB,200,0,3,60\nC,300,1,17,70\n"
    (path := tmp_path / "t.csv").write_text(text)
    result = read_clinical_spreadsheet(path)
    assert list(result.variables.columns) == ["age"]
    assert any("named as a date" in a for a in report_actions(result, "Date of surgery"))


def test_a_small_cohorts_us_dates_take_the_files_order(tmp_path: Path) -> None:
    """No death date has a day above 12; the diagnosis dates prove month first for the file."""
    text = (
        "Patient ID,Date of Diagnosis,Date of Death,Date of Last FU\n"
        "A,01/15/2012,03/05/2013,\nB,02/20/2012,,06/30/2016\n"
        "C,03/25/2012,11/02/2012,\nD,04/28/2012,,07/19/2016\n"
    )
    (path := tmp_path / "us.csv").write_text(text)
    result = read_clinical_spreadsheet(path)
    assert result.table["time"].tolist() == [415, 1592, 222, 1543]
    assert result.table["event"].tolist() == [1, 0, 1, 0]
    assert all("month/day/year" in a for c in result.dates for a in report_actions(result, c)[-1:])


def test_thousands_separators_in_a_comma_file(tmp_path: Path) -> None:
    text = (
        'patient_id,os_days,os_event,psa\n001,"1,234",1,"1,020.5"\n002,"2,410",0,4.5\n003,987,1,7\n'
    )
    (path := tmp_path / "t.csv").write_text(text)
    result = read_clinical_spreadsheet(path)
    assert result.table["time"].tolist() == [1234, 2410, 987]
    assert result.table["psa"].tolist() == [1020.5, 4.5, 7.0]
    assert result.table.index.tolist() == ["001", "002", "003"]
    # in a semicolon file the comma is the decimal mark
    (semi := tmp_path / "s.csv").write_text("patient_id;os_days;os_event\n1;1,5;1\n2;2,25;0\n")
    assert read_clinical_spreadsheet(semi).table["time"].tolist() == [1.5, 2.25]


@pytest.mark.parametrize(
    "header", ["Survival (in months)", "OS (months from diagnosis)", "Survie (mois)"]
)
def test_time_units_written_in_words(tmp_path: Path, header: str) -> None:
    (path := tmp_path / "t.csv").write_text(f"Patient ID,{header},Status\n1,12,Dead\n2,30,Alive\n")
    result = read_clinical_spreadsheet(path, time_column=header)
    assert result.time_unit == "months"
    np.testing.assert_allclose(result.table["time"], [12 * 30.4375, 30 * 30.4375])


def test_an_unread_unit_needs_and_takes_time_unit(tmp_path: Path) -> None:
    (path := tmp_path / "t.csv").write_text(
        "Patient ID,OS (since RT),Status\n1,12,Dead\n2,3,Alive\n"
    )
    with pytest.raises(InputError, match=r"'since RT'.*--time-unit"):
        read_clinical_spreadsheet(path, time_column="OS (since RT)")
    result = read_clinical_spreadsheet(path, time_column="OS (since RT)", time_unit="years")
    np.testing.assert_allclose(result.table["time"], [12 * 365.25, 3 * 365.25])
    assert "unit 'since RT' not read; time_unit='years' used" in report_actions(
        result, "OS (since RT)"
    )


def test_one_letter_units_and_substages(tmp_path: Path) -> None:
    rows = "".join(
        f"P{i},{100 + i},{i % 2},{40 + i} y,{1 + i % 3}{'ab'[i % 2]}\n" for i in range(30)
    )
    (path := tmp_path / "t.csv").write_text("id,os_days,os_event,Age,Stage\n" + rows)
    result = read_clinical_spreadsheet(path)
    assert result.table["age"].tolist() == list(range(40, 70))
    assert result.schema["age"].kind == INTEGER
    assert set(result.table["stage"]) == {"1a", "2b", "3a", "1b", "2a", "3b"}  # not '2' in a


def test_excel_error_values_are_missing(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Patient ID", "BMI", "OS (days)", "Status"])
    for i in range(40):
        bmi = "#DIV/0!" if i == 3 else "#N/A" if i == 5 else round(20 + i * 0.37, 2)
        sheet.append([f"P{i}", bmi, 100 + 10 * i, "Dead" if i % 2 else "Alive"])
    book.save(path := tmp_path / "t.xlsx")
    result = read_clinical_spreadsheet(path)
    assert result.table["bmi"].isna().sum() == 2 and result.table["bmi"].notna().sum() == 38
    assert "read '#DIV/0!', '#N/A' as missing" in report_actions(result, "BMI")


def test_tcga_bcr_header_rows_are_not_patients(tmp_path: Path) -> None:
    rows = "".join(
        f"TCGA-05-{4244 + i}\t{50 + i}\t{'Dead' if i % 2 else 'Alive'}\t"
        f"{'[Not Available]' if i % 2 else 300 + i}\t{200 + i if i % 2 else '[Not Applicable]'}\n"
        for i in range(12)
    )
    (path := tmp_path / "nationwidechildrens.org_clinical_patient_luad.txt").write_text(
        "bcr_patient_barcode\tage_at_initial_pathologic_diagnosis\tvital_status\t"
        "days_to_last_followup\tdays_to_death\n"
        "bcr_patient_barcode\tage_at_initial_pathologic_diagnosis\tvital_status\t"
        "last_contact_days_to\tdeath_days_to\n"
        "CDE_ID:2003301\tCDE_ID:2006657\tCDE_ID:5\tCDE_ID:3008273\tCDE_ID:3165475\n" + rows
    )
    result = read_clinical_spreadsheet(path)
    assert result.table.index[0] == "TCGA-05-4244" and len(result.table) == 12
    assert not result.no_outcome
    assert result.table["age_at_initial_pathologic_diagnosis"].tolist() == list(range(50, 62))


def test_title_rows_totals_and_excels_sep_line(tmp_path: Path) -> None:
    X, y = datasets.load_veterans_lung_cancer()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Veterans' lung cancer trial, export of 2024-05-01"])
    sheet.append(["Demographics", None, "Outcome"])
    sheet.append(["Patient ID", "Age", "Survival (days)", "Status"])
    for i, (age, row) in enumerate(zip(X["Age_in_years"], y, strict=True)):
        sheet.append([f"V{i:03d}", int(age), float(row["Survival_in_days"]), int(row["Status"])])
    sheet.append(["Total", None, float(y["Survival_in_days"].sum()), int(y["Status"].sum())])
    sheet.append(["n = 137"])
    book.save(path := tmp_path / "veterans.xlsx")
    result = read_clinical_spreadsheet(path)
    assert len(result.table) == 137 and result.table.index[-1] == "V136"
    np.testing.assert_array_equal(result.table["time"], y["Survival_in_days"])
    skipped = [c.action for c in result.report if c.column in ("(file)", "(rows)")]
    assert any(a.startswith("rows above the header skipped") for a in skipped)
    assert "summary rows at the bottom skipped: 'Total', 'n = 137'" in skipped
    (csv := tmp_path / "excel.csv").write_text("sep=;\nid;os_days;os_event\nA;1,5;1\nB;3;0\n")
    assert read_clinical_spreadsheet(csv).table["time"].tolist() == [1.5, 3.0]


def test_why_dates_gave_no_time_is_said(tmp_path: Path) -> None:
    (path := tmp_path / "t.csv").write_text(
        "Patient ID,Date of Diagnosis,Date of Surgery,Date of Death,Date of Last FU\n"
        "A,2011-01-01,2011-01-20,2012-01-01,\nB,2011-02-01,2011-02-15,,2014-01-01\n"
    )
    with pytest.raises(
        InputError, match="several start dates .'Date of Diagnosis', 'Date of Surgery'"
    ):
        read_clinical_spreadsheet(path)


def test_ids_differing_only_in_case_punctuation_or_zeros_are_reported_by_row(
    tmp_path: Path,
) -> None:
    """'P-004' beside 'P004' (and 'P003' beside 'p003') were two patients without a word; the
    note names rows, as the report shows the IDs pseudonymised."""
    (path := tmp_path / "t.csv").write_text(
        "id,os_days,os_event\nABC-1,1,1\nP004,2,0\nabc-1,2,0\nP-004,4,1\nX,3,1\n4,5,0\n"
    )
    result = read_clinical_spreadsheet(path)
    assert len(result.table) == 6
    said = [a for a in report_actions(result, "id") if "differ only in case" in a]
    assert said and said[0].startswith("the IDs of rows 2 and 4; 3 and 5 differ only in case")


def test_model_tables_read_mixed_decimal_marks_and_drop_text_dates(tmp_path: Path) -> None:
    """cv --table: one '0.5' in a decimal-comma file, dates written as text."""
    (path := tmp_path / "t.csv").write_text(
        "case_id;time;event;psa;diagnosed\nA1;12,5;1;0.5;2011-01-02\nA2;30,1;0;4,2;2011-02-03\n"
        "A3;7,25;1;11,0;2011-03-04\nA4;22,0;0;6,1;2011-04-05\n"
    )
    table = load_model_table([path])
    assert table.y["time"].tolist() == [12.5, 30.1, 7.25, 22.0]
    assert table.X["psa"].tolist() == [0.5, 4.2, 11.0, 6.1]
    pre = TablePreprocessor().fit(table.X)
    assert pre.feature_names_out_ == ["psa"]
    assert "'diagnosed' dropped: dates are not used as features." in pre.notes_


def test_hospital_numbers_are_identifiers_never_variables(tmp_path: Path) -> None:
    """Identifying numbers beside the study ID are dropped, never written as variables (they
    would name each patient); counts are kept."""
    (path := tmp_path / "t.csv").write_text(
        "PatientID,Medical Record Number,Hospital No,NHS number,Number of nodes,OS (days),Status\n"
        "P1,483920,H-2231,9434765919,2,100,Dead\nP2,572611,H-9120,9434765870,0,300,Alive\n"
        "P3,610045,H-4410,9434765811,5,200,Dead\n"
    )
    result = read_clinical_spreadsheet(path)
    assert list(result.variables.columns) == ["number_of_nodes"]
    for column in ("Medical Record Number", "Hospital No", "NHS number"):
        assert report_actions(result, column) == [
            "dropped: an identifier or free text (by its name)"
        ]


def test_a_new_spreadsheet_redrafts_the_schema_unless_it_was_edited(tmp_path: Path) -> None:
    """Joining another spreadsheet into a cohort: the schema RadSurv drafted follows it (a model
    would otherwise impute the new variables); one the user edited is kept, with a note."""
    from survival_core.cohort.clinical_join import import_table
    from survival_core.io.clinical_schema import SCHEMA_FILE, CohortSchema

    first, second, cohort = tmp_path / "v1.csv", tmp_path / "v2.csv", tmp_path / "cohort"
    first.write_text("PatientID,Age,Weight,OS (days),Status\nA,61,70,380,1\nB,55,80,900,0\n")
    second.write_text("PatientID,Age,ECOG,OS (days),Status\nA,61,0,380,1\nB,55,1,900,0\n")
    import_table(cohort, first)
    import_table(cohort, second)
    assert CohortSchema.load(cohort / SCHEMA_FILE).names == ["age", "ecog"]
    edited = (cohort / SCHEMA_FILE).read_text().replace("label: Age", "label: Age at diagnosis")
    (cohort / SCHEMA_FILE).write_text(edited)
    joined = import_table(cohort, first)
    assert (cohort / SCHEMA_FILE).read_text() == edited
    (note,) = [c.action for c in joined.report if c.column == SCHEMA_FILE]
    assert note.startswith("kept as edited, but its variables (age, ecog) are not the clinical")


def test_names_and_variables_headed_in_any_script(tmp_path: Path) -> None:
    """Name columns headed in other languages ('Nachname', 'Prénom') went into clinical.csv and
    schema.yaml; a header of another script was 'column' (two were refused as one variable),
    and, read as a variable, a Chinese sheet's recurrence flag and record number (复发, 住院号)
    leak the outcome and identity: such headers are refused, naming them, unless given as the
    ID, time or event column."""
    X, y = datasets.load_whas500()
    rows = 8
    frame = pd.DataFrame(
        {
            "ID": [f"P{i}" for i in range(rows)],
            "Nachname": [f"Name{i}" for i in range(rows)],
            "Prénom": [f"Jean{i}" for i in range(rows)],
            "Age (years)": X["age"].to_numpy()[:rows],
            "Nombre de ganglions": [0, 1, 3, 0, 2, 5, 1, 0],  # French: a count, no name
            "time (days)": y["lenfol"][:rows],
            "event": y["fstat"][:rows].astype(int),
        }
    )
    frame.to_csv(path := tmp_path / "sheet.csv", index=False)
    assert list(read_clinical_spreadsheet(path).variables.columns) == [
        "age", "nombre_de_ganglions"
    ]  # fmt: skip
    chinese = frame.assign(住院号=range(9100, 9100 + rows), 复发=y["fstat"][:rows].astype(int))
    chinese.to_csv(path, index=False)
    with pytest.raises(InputError, match="'住院号', '复发' are headed in a script"):
        read_clinical_spreadsheet(path)
    given = frame.rename(columns={"ID": "患者编号", "time (days)": "生存时间", "event": "死亡"})
    given.to_csv(path, index=False)
    result = read_clinical_spreadsheet(
        path, id_column="患者编号", time_column="生存时间", event_column="死亡", time_unit="days"
    )
    np.testing.assert_array_equal(result.table["time"], y["lenfol"][:rows])


def test_digits_of_other_scripts_are_numbers(tmp_path: Path) -> None:
    """Ages written '٧٠' (an Arabic locale's Excel) or '７０' (full width) made the column a
    category of about 40 levels: 78 dummies, a cross-validated c-index of 0.56 for 0.64."""
    X, y = datasets.load_whas500()
    rows = 30
    arabic = {str(d): chr(0x0660 + d) for d in range(10)}
    ages = X["age"].to_numpy()[:rows].astype(int)
    written = ["".join(arabic[c] for c in str(a)) for a in ages]
    written[1] = "".join(chr(0xFF10 + int(c)) for c in str(ages[1]))  # full width
    frame = pd.DataFrame(
        {"ID": range(rows), "age": written, "time (days)": y["lenfol"][:rows],
         "event": y["fstat"][:rows].astype(int)}
    )  # fmt: skip
    frame.to_csv(path := tmp_path / "sheet.csv", index=False)
    result = read_clinical_spreadsheet(path)
    np.testing.assert_array_equal(result.variables["age"].to_numpy(float), ages)
    # decimals with the Arabic decimal sign, or a full-width point: they crashed the reader
    bmi = X["bmi"].to_numpy()[:rows].round(2)
    frame["bmi"] = ["".join(arabic.get(c, "\u066b") for c in f"{v:.2f}") for v in bmi]
    frame.loc[2, "bmi"] = f"{bmi[2]:.2f}".translate(
        str.maketrans("0123456789.", "０１２３４５６７８９．")
    )
    frame.to_csv(path, index=False)
    np.testing.assert_allclose(read_clinical_spreadsheet(path).variables["bmi"], bmi)


@pytest.mark.parametrize("language", list(clinical_exports.LUNG_ABROAD))
def test_outcomes_headed_in_dutch_portuguese_spanish_or_german_are_never_predictors(
    tmp_path: Path, language: str
) -> None:
    """lifelines' lung headed in Dutch, Portuguese, Spanish and German: 'Recidief (ja/nee)',
    'Progressievrije overleving (maanden)', 'Progressão (sim/não)', 'Progresión (sí/no)',
    'Progress (ja/nein)' were kept as predictors (a cross-validated c-index of 0.90 for 0.64);
    they are outcomes, dropped by the import and by the model tables alike."""
    export = clinical_exports.lung_abroad(tmp_path, language)
    (patient, age, time, event), others = clinical_exports.LUNG_ABROAD[language]
    result = read_clinical_spreadsheet(export.path, **export.options)
    assert (len(result.table), int(result.table["event"].sum())) == (228, 165)
    assert list(result.variables.columns)[1:] == ["ecog"]  # and the age, named in its language
    outcomes = [header for header, kind in others.items() if kind != "date"]
    for header in outcomes:
        assert report_actions(result, header)[-1] == (
            "dropped: another outcome or ID column, not a clinical variable"
        )
    sheet = pd.read_csv(export.path, sep=";", decimal=",")
    sheet = sheet.rename(columns={patient: "case_id", time: "time", event: "event"})
    sheet[["case_id", "time", "event", age, "ECOG", *outcomes]].to_csv(
        path := tmp_path / "table.csv", index=False
    )
    assert sorted(load_model_table([path]).X.columns) == sorted([age, "ECOG"])


def test_nlsts_lung_cancer_death_and_diagnosis_are_outcomes(tmp_path: Path) -> None:
    """NLST's names (lifelines' lung under them): its lung cancer's death 'finaldeathlc' was kept
    as a predictor (scoring a patient with it 1 rather than 0 moved the risk from -0.91 to
    +0.46), and the confirmed cancer and the days to its diagnosis with it."""
    export = clinical_exports.nlst_lung(tmp_path)
    result = read_clinical_spreadsheet(export.path, **export.options)
    assert (len(result.table), int(result.table["event"].sum())) == (228, 165)
    assert list(result.variables.columns) == list(export.X.columns)
    for header in ("conflc", "candx_days", "finaldeathlc", "death_days"):
        assert report_actions(result, header)[-1] == (
            "dropped: another outcome or ID column, not a clinical variable"
        )


@pytest.mark.parametrize(
    ("start", "last"),
    [
        ("Datum Erstdiagnose", "letzter Kontakt"),
        ("Date de diagnostic", "Date des dernières nouvelles"),
        ("Fecha de diagnóstico", "Última visita"),
        ("Data della diagnosi", "Ultimo contatto"),
        ("Datum diagnose", "Laatste contact"),
        ("Data do diagnóstico", "Último contato"),
    ],
    ids=["de", "fr", "es", "it", "nl", "pt"],
)
def test_a_registrys_dates_named_abroad_give_the_time(
    tmp_path: Path, start: str, last: str
) -> None:
    """lifelines' lung with its diagnosis and last contact dates named in German ('Datum
    Erstdiagnose', 'letzter Kontakt') and five other languages: refused, "no start date among
    the dates", the date words being English only."""
    export = clinical_exports.lung_dated(tmp_path, start, last)
    result = read_clinical_spreadsheet(export.path)
    assert result.time_column == "(from dates)"
    np.testing.assert_array_equal(result.table["time"], export.y["time"])
    assert int(result.table["event"].sum()) == 165
