"""Clinical sheets as cBioPortal, pandas, R and REDCap write them, filled with real patients
(scikit-survival's WHAS500, GBSG2, veterans and AIDS): cBioPortal's '#'-led metadata lines and
its download of one row per sample, a pandas row index headed 'Unnamed: 0', R's write.table row
names and REDCap's export of labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv import datasets

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import InputError
from survival_core.io.tables import TIME_UNITS
from tests import clinical_exports
from tests.clinical_exports import report_actions

#: cBioPortal's attributes of :func:`_cbioportal_patients`: (display name, datatype).
CBIO_ATTRIBUTES = {
    "PATIENT_ID": ("Patient Identifier", "STRING"),
    "AGE": ("Diagnosis Age", "NUMBER"),
    "SEX": ("Sex", "STRING"),
    "BMI": ("Body Mass Index", "NUMBER"),
    "OS_STATUS": ("Overall Survival Status", "STRING"),
    "OS_MONTHS": ("Overall Survival (Months)", "NUMBER"),
}


def _cbioportal_patients() -> tuple[pd.DataFrame, np.ndarray]:
    """WHAS500 (500 patients, 215 deaths) under cBioPortal's attribute IDs
    (:data:`CBIO_ATTRIBUTES`), the status written '1:DECEASED' / '0:LIVING', and its outcome."""
    X, y = datasets.load_whas500()
    sheet = pd.DataFrame(
        {
            "PATIENT_ID": [f"TCGA-XX-{i:04d}" for i in range(len(X))],
            "AGE": X["age"].astype(int).to_numpy(),
            "SEX": np.where(X["gender"].astype(str) == "1", "Female", "Male"),
            "BMI": X["bmi"].round(2).to_numpy(),
            "OS_STATUS": np.where(y["fstat"], "1:DECEASED", "0:LIVING"),
            "OS_MONTHS": (y["lenfol"] / TIME_UNITS["months"]).round(2),
        }
    )
    return sheet, y


def _tsv(rows: list[list[str]]) -> str:
    return "".join("\t".join(map(str, row)) + "\n" for row in rows)


def test_cbioportal_metadata_lines_are_no_header_nor_patients(tmp_path: Path) -> None:
    """cBioPortal's data_clinical_patient.txt: four '#'-led lines (display names, descriptions,
    datatypes, priorities) above its 'PATIENT_ID' header were read as the header (no ID column
    found); given '#Patient Identifier', they were four patients, the priorities' '1' a death."""
    sheet, y = _cbioportal_patients()
    names, types = zip(*CBIO_ATTRIBUTES.values(), strict=True)
    metadata = [names, [f"{n} description" for n in names], types, ["1"] * len(names)]
    lines = [["#" + row[0], *row[1:]] for row in metadata]
    path = tmp_path / "data_clinical_patient.txt"
    path.write_text(_tsv(lines) + sheet.to_csv(sep="\t", index=False))
    result = read_clinical_spreadsheet(path)
    table = result.table
    assert len(table) == 500 and int(table["event"].sum()) == int(y["fstat"].sum()) == 215
    assert (result.id_column, result.time_column, result.event_column) == (
        "PATIENT_ID",
        "OS_MONTHS",
        "OS_STATUS",
    )
    assert list(result.variables.columns) == ["age", "sex", "bmi"] and not result.no_outcome
    assert report_actions(result, "(file)")[0] == (
        "cBioPortal's metadata lines above the header ('#'-led: display names, descriptions, "
        "datatypes, priorities) skipped"
    )
    assert result.report[0].count == 4


def test_rows_repeating_the_header_or_its_datatypes_are_no_patients(tmp_path: Path) -> None:
    """A row of cBioPortal's datatypes under the header and the header again halfway down (two
    exports joined) were a patient 'STRING' and a patient 'PATIENT_ID', without an outcome."""
    sheet, _ = _cbioportal_patients()
    rows = sheet.astype(str).to_numpy().tolist()
    types = [kind for _, kind in CBIO_ATTRIBUTES.values()]
    header = list(sheet.columns)
    path = tmp_path / "cbio_patients.tsv"
    path.write_text(_tsv([header, types, *rows[:250], header, *rows[250:]]))
    result = read_clinical_spreadsheet(path)
    assert len(result.table) == 500 and int(result.table["event"].sum()) == 215
    assert not result.no_outcome and "STRING" not in result.table.index
    assert "rows repeating the header or its datatypes skipped" in report_actions(result, "(rows)")
    np.testing.assert_array_equal(result.table["age"], sheet["AGE"])


@pytest.mark.parametrize("blank", ["Unnamed: 0", "...1", "X"])
def test_a_row_index_headed_as_a_reader_names_a_blank_header_is_dropped(
    tmp_path: Path, blank: str
) -> None:
    """WHAS500 read and written again by pandas (as the TCGA-CDR supplement was): its row index,
    written under a blank header, came back headed 'Unnamed: 0' (the tidyverse's '...1', R's
    'X') and was kept as a predictor of 500 values 1..500, where a blank header is dropped."""
    export = clinical_exports.whas500(tmp_path)
    sheet = pd.read_excel(export.path, dtype=str)
    sheet.index += 1  # R's row names, 1..n
    sheet.to_csv(written := tmp_path / "whas500_index.csv")
    again = pd.read_csv(written, dtype=str).rename(columns={"Unnamed: 0": blank})
    again.to_excel(path := tmp_path / "whas500_again.xlsx", index=False)
    result = read_clinical_spreadsheet(path, **export.options)
    assert len(result.table) == 500 and int(result.table["event"].sum()) == 215
    assert list(result.variables.columns) == [c.lower() for c in export.X.columns]
    [dropped] = report_actions(result, blank)
    assert dropped.startswith("dropped: row numbers or labels, not a variable")


def _r_write_table(frame: pd.DataFrame) -> str:
    """``frame`` as R's write.table writes it by default: separated by spaces, texts and headers
    quoted, each row led by its quoted row name ("1", "2", ...) with no header above them."""

    def cell(value: object) -> str:
        return f'"{value}"' if isinstance(value, str) else f"{value:g}"

    lines = [" ".join(f'"{c}"' for c in frame.columns)]
    lines += [
        " ".join([f'"{n}"', *map(cell, row)])
        for n, row in enumerate(frame.itertuples(index=False), start=1)
    ]
    return "\n".join(lines) + "\n"


def test_r_write_table_row_names_are_a_dropped_row_label_column(tmp_path: Path) -> None:
    """The veterans' trial (137 patients, 128 deaths) written by R's write.table: its header one
    field shorter than its rows (the row names '"1"', '"2"' have none) was refused as rows of
    another width; the row names are read as a column without a header, dropped as row labels."""
    X, y = datasets.load_veterans_lung_cancer()
    frame = X.astype({c: str for c in X.select_dtypes("category").columns})
    frame.insert(0, "patient_id", [f"V{i:03d}" for i in range(len(X))])
    frame["Survival_in_days"] = y["Survival_in_days"]
    frame["Status"] = np.where(y["Status"], "dead", "alive")
    (path := tmp_path / "veterans.txt").write_text(_r_write_table(frame))
    result = read_clinical_spreadsheet(path)
    table = result.table
    assert len(table) == 137 and int(table["event"].sum()) == 128 and not result.no_outcome
    assert list(table.index[:2]) == ["V000", "V001"]
    np.testing.assert_array_equal(table["time"], y["Survival_in_days"])
    variables = ["age", "celltype", "karnofsky_score", "months_from_diagnosis", "prior_therapy"]
    assert list(result.variables.columns) == [*variables, "treatment"]
    np.testing.assert_array_equal(table["karnofsky_score"], X["Karnofsky_score"])
    assert result.report[0].action == "read as CSV, whitespace-delimited, utf-8"
    named, dropped = report_actions(result, "column_1")
    assert named == "a column without a header, named by its position"
    assert dropped.startswith("dropped: row numbers or labels, not a variable")


def test_redcap_export_of_labels_is_one_row_per_record(tmp_path: Path) -> None:
    """REDCap's longitudinal export of the AIDS trial (1151 records, 96 events) with labels for
    headers and values ('Record ID', 'Event Name', 'Repeat Instrument', 'Repeat Instance',
    'Baseline (Arm 1: Arm 1)', 'Yes'): not told as REDCap's, its two rows per record were
    refused as repeated patient IDs; they are joined as the raw export's are."""
    export = clinical_exports.redcap_longitudinal(tmp_path)
    raw = pd.read_csv(export.path, dtype=str, keep_default_na=False)
    events = {"baseline_arm_1": "Baseline (Arm 1: Arm 1)", "followup_arm_1": "Follow-up (Arm 1)"}
    labels = pd.DataFrame(
        {
            "Record ID": raw["record_id"],
            "Event Name": raw["redcap_event_name"].map(events),
            "Repeat Instrument": "",
            "Repeat Instance": "",
            "Age (years)": raw["age"],
            "CD4 count": raw["cd4"],
            "Days followed": raw["os_days"],
            "Dead": raw["dead"].map({"1.0": "Yes", "0.0": "No", "": ""}),
        }
    )
    labels.to_csv(path := tmp_path / "redcap_labels.csv", index=False)
    result = read_clinical_spreadsheet(path, time_column="Days followed", event_column="Dead")
    table = result.table
    assert len(table) == 1151 and int(table["event"].sum()) == 96 and not result.no_outcome
    np.testing.assert_array_equal(table["time"], export.y["time"])
    np.testing.assert_array_equal(table["cd4_count"], export.X["cd4"])
    assert list(result.variables.columns) == ["age", "cd4_count"]
    assert report_actions(result, "(rows)") == [
        "REDCap's longitudinal export: 2302 rows of 1151 records in the events "
        "'Baseline (Arm 1: Arm 1)', 'Follow-up (Arm 1)' joined into one row per record, each "
        "field from the event it is filled in; REDCap's event fields dropped: 'Event Name', "
        "'Repeat Instrument', 'Repeat Instance'"
    ]


def _cbioportal_samples(folder: Path) -> tuple[Path, np.ndarray]:
    """WHAS500 (500 patients, 215 deaths) as cBioPortal's download of one row per sample
    ('Study ID', 'Patient ID', 'Sample ID', ...): a second sample, of a recurrence, for every
    other patient who died (107), so 'Number of Samples Per Patient' and 'Sample Type' tell the
    outcome."""
    X, y = datasets.load_whas500()
    rows = []
    for i, (age, bmi, outcome) in enumerate(zip(X["age"], X["bmi"], y, strict=True)):
        samples = ("Primary", "Recurrence") if outcome["fstat"] and i % 2 == 0 else ("Primary",)
        for n, kind in enumerate(samples, start=1):
            rows.append({
                "Study ID": "whas_2024", "Patient ID": f"W-{i:04d}", "Sample ID": f"W-{i:04d}-0{n}",
                "Diagnosis Age": int(age), "BMI": round(bmi, 1),
                "Overall Survival (Months)": round(outcome["lenfol"] / TIME_UNITS["months"], 2),
                "Overall Survival Status": "1:DECEASED" if outcome["fstat"] else "0:LIVING",
                "Sample Type": kind, "Number of Samples Per Patient": len(samples),
            })  # fmt: skip
    pd.DataFrame(rows).to_csv(path := folder / "whas_clinical_data.tsv", sep="\t", index=False)
    return path, y


def test_cbioportal_sample_bookkeeping_is_no_predictor(tmp_path: Path) -> None:
    """cBioPortal's 'Sample Type' and 'Number of Samples Per Patient' (2 for a patient with a
    recurrence's sample) were kept as predictors: dropped as the dataset's bookkeeping, said."""
    path, y = _cbioportal_samples(tmp_path)
    sheet = pd.read_csv(path, sep="\t", dtype=str)
    sheet[sheet["Sample Type"] == "Primary"].to_csv(path, sep="\t", index=False)
    result = read_clinical_spreadsheet(path)
    assert len(result.table) == 500 and int(result.table["event"].sum()) == 215
    np.testing.assert_allclose(result.table["time"], y["lenfol"], atol=0.2)
    assert list(result.variables.columns) == ["diagnosis_age", "bmi"]
    for column in ("Sample Type", "Number of Samples Per Patient"):
        assert report_actions(result, column) == [
            "dropped: the dataset's bookkeeping of the patient's samples (cBioPortal's), not a "
            "clinical variable: a recurrence's sample, or a second one, tells the outcome"
        ]


def test_a_patient_id_repeating_beside_a_sample_id_is_refused(tmp_path: Path) -> None:
    """cBioPortal's download keyed by 'Sample ID' (607 rows of 500 patients) kept each sample
    as a patient, 322 deaths for 215, one patient on both sides of a fold: refused naming the
    'Patient ID' column to key by. Keyed by it, the repeats are refused saying which column
    holds a sample per row."""
    path, _ = _cbioportal_samples(tmp_path)
    with pytest.raises(InputError) as refused:
        read_clinical_spreadsheet(path, id_column="Sample ID")
    assert str(refused.value) == (
        "whas_clinical_data.tsv: 'Patient ID' repeats beside the ID column 'Sample ID': "
        "607 rows of 500 patients, each patient's rows with one outcome. 'Sample ID' names a "
        "patient's samples or visits, each of which would count as a patient (on both sides of "
        "a cross-validation fold). Key the table by the patient column (--id-column 'Patient "
        "ID' (Cohort page: Patient ID column 'Patient ID'; Python: id_column=)) and keep one "
        "row per patient (each one's first or primary sample)."
    )
    with pytest.raises(InputError) as refused:
        read_clinical_spreadsheet(path)
    assert str(refused.value).endswith(
        "appear more than once in 'Patient ID'; each patient needs one row: keep one row per "
        "patient (each one's first or primary sample, visit or treatment) and import that. "
        "'Sample ID' holds a different value on each row: a row per sample or visit (as "
        "cBioPortal's download writes one per sample), not per patient."
    )


@pytest.mark.parametrize(
    ("kinds", "kept"),
    [
        (("FFPE", "frozen"), True),  # a specimen's type: a variable
        (("Primary Tumor", "Metastasis"), False),  # cBioPortal's types, its count not exported
    ],
)
def test_a_sample_type_is_dropped_only_when_it_is_cbioportals(
    tmp_path: Path, kinds: tuple[str, str], kept: bool
) -> None:
    """A 'Sample type' of FFPE or frozen specimens, outside a cBioPortal download, was dropped
    as cBioPortal's bookkeeping: it is a variable (137 veterans, 128 deaths); one of
    cBioPortal's types is dropped, said, without the 'Number of Samples Per Patient' beside."""
    X, y = datasets.load_veterans_lung_cancer()
    pd.DataFrame(
        {
            "patient_id": [f"V{i:03d}" for i in range(len(X))],
            "Age": X["Age_in_years"].astype(int),
            "Sample type": np.resize(kinds, len(X)),
            "OS (days)": y["Survival_in_days"],
            "OS event (1=dead)": y["Status"].astype(int),
        }
    ).to_csv(path := tmp_path / "veterans.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    if kept:
        assert list(result.variables.columns) == ["age", "sample_type"]
        assert result.table["sample_type"].value_counts().to_dict() == {"FFPE": 69, "frozen": 68}
        assert not any("bookkeeping" in action for action in report_actions(result, "Sample type"))
    else:
        assert list(result.variables.columns) == ["age"]
        assert report_actions(result, "Sample type") == [
            "dropped: the dataset's bookkeeping of the patient's samples (cBioPortal's), not a "
            "clinical variable: a recurrence's sample, or a second one, tells the outcome"
        ]
