"""An age's column is never read as dates, whatever date its header names ('Age at the date of
diagnosis'): Duke-Breast-Cancer-MRI's workbook, filled with real GBSG lymph-node patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.io.tables import TIME_UNITS, load_model_table
from tests.clinical_exports import DUKE_COLUMNS, duke_breast_mri

DUKE_TIME, DUKE_EVENT = DUKE_COLUMNS[9][1], DUKE_COLUMNS[8][1]

#: Duke's header of the age at the last contact, in days (from its birth date in days before
#: diagnosis): known at follow-up only.
LAST_CONTACT_AGE = (
    "Age at last contact in EMR f/u(days)(from the date of diagnosis) ,last time patient known "
    "to be alive, unless age of death is reported(in such case the age of death"
)
#: An age at diagnosis in years under a header naming the date.
DIAGNOSIS_AGE = "Age at the date of diagnosis (years)"


def _with_ages(folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Duke's workbook with :data:`LAST_CONTACT_AGE` (days: 18,000 to 30,000, Excel's serial
    numbers of 1949 to 1982) and :data:`DIAGNOSIS_AGE`; its path, the ages in years and days."""
    export = duke_breast_mri(folder)
    years = export.X["age"].to_numpy()
    last_contact = (years * TIME_UNITS["years"] + export.y["time"]).astype(int)
    book = openpyxl.load_workbook(export.path)
    sheet = book.active
    for column, header, values in (
        (12, LAST_CONTACT_AGE, last_contact),
        (13, DIAGNOSIS_AGE, years),
    ):
        sheet.cell(2, column, header)
        for row, value in enumerate(values, start=4):
            sheet.cell(row, column, int(value))
    book.save(export.path)
    return export.path, years, last_contact


def test_an_age_named_beside_a_date_is_no_date(tmp_path: Path) -> None:
    """The age at the last contact in days was read as Excel dates (1949-1982), kept aside as a
    date column of the import, where a last contact's date gives a censored patient's time; an
    age at diagnosis in years was dropped as a date column whose values are not dates."""
    path, years, _ = _with_ages(tmp_path)
    result = read_clinical_spreadsheet(
        path, id_column="Patient ID", time_column=DUKE_TIME, event_column=DUKE_EVENT
    )
    assert list(result.dates.columns) == []
    assert [c.action for c in result.report if c.column == LAST_CONTACT_AGE] == [
        "dropped: another outcome or ID column, not a clinical variable"
    ]
    age = result.variables["age_at_the_date_of_diagnosis"]
    np.testing.assert_array_equal(age.to_numpy(float), years)
    assert result.schema["age_at_the_date_of_diagnosis"].unit == "years"


def test_a_model_table_keeps_an_age_named_beside_a_date(tmp_path: Path) -> None:
    """A model table dropped the age at diagnosis as dates by its header's 'date'."""
    path, years, _ = _with_ages(tmp_path)
    result = read_clinical_spreadsheet(
        path, id_column="Patient ID", time_column=DUKE_TIME, event_column=DUKE_EVENT
    )
    table = result.table.rename(columns={"age_at_the_date_of_diagnosis": DIAGNOSIS_AGE})
    table.to_csv(csv := tmp_path / "model_table.csv")
    model = load_model_table([csv])
    np.testing.assert_array_equal(pd.to_numeric(model.X[DIAGNOSIS_AGE]).to_numpy(), years)
