"""Clinical sheets whose ID, time and event columns are found by their names, filled with real
patients: registry exports (SEER, cBioPortal, NCDB, a UK registry), the headers of exports abroad
and a study ID beside a hospital's chart number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv import datasets

from survival_core.cohort.clinical_table import ClinicalImport, read_clinical_spreadsheet
from survival_core.io.tables import TIME_UNITS

#: How a column the import drops as an identifier is reported.
IDENTIFIER_DROPPED = "dropped: an identifier or free text (by its name)"


def _actions(result: ClinicalImport, column: str) -> list[str]:
    return [c.action for c in result.report if c.column == column]


def test_a_study_id_wins_over_a_chart_number_beside_it(tmp_path: Path) -> None:
    """The veterans' trial (137 patients, 128 deaths) keyed by the study's 'ID' beside the
    hospital's 'Prontuário', one chart number written for two patients: the chart number was
    taken as the patient ID (new pseudonyms on a re-import, the images' PatientIDs unmatched) and
    the repeated one refused the sheet. The study ID is the patient ID, the chart number dropped
    as an identifier."""
    X, y = datasets.load_veterans_lung_cancer()
    charts = 1_000_000 + np.arange(len(X)) * 7
    charts[1] = charts[0]
    frame = X.reset_index(drop=True)
    frame.insert(0, "ID", [f"V{i:03d}" for i in range(len(X))])
    frame.insert(1, "Prontuário", charts)
    frame["os_days"], frame["os_event"] = y["Survival_in_days"], y["Status"].astype(int)
    frame.to_csv(path := tmp_path / "veterans.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.id_column == "ID"
    assert list(result.table.index) == list(frame["ID"])
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    assert _actions(result, "Prontuário") == [IDENTIFIER_DROPPED]
    assert "prontuario" not in result.table.columns
    alone = frame.drop(columns="ID").drop(index=1)  # no study ID: the chart number is the ID
    alone.to_csv(path, index=False)
    assert read_clinical_spreadsheet(path).id_column == "Prontuário"


@pytest.mark.parametrize(
    ("time_header", "event_header", "unit"),
    [
        ("Durée de survie (jours)", "Décès", "days"),
        ("Survie globale (mois)", "Décès", "months"),
        ("Tiempo de supervivencia (meses)", "Fallecido", "months"),
        ("Sopravvivenza (mesi)", "Deceduto", "months"),
        ("Überlebenszeit (Monate)", "Verstorben", "months"),
    ],
)
def test_a_survival_time_headed_abroad_is_found_by_its_name(
    tmp_path: Path, time_header: str, event_header: str, unit: str
) -> None:
    """The veterans' trial headed as French, Spanish, Italian and German exports write it:
    'Durée de survie (jours)' was refused ('no survival time column recognised among: N°
    patient, ...'), as 'Tiempo de supervivencia' was."""
    X, y = datasets.load_veterans_lung_cancer()
    frame = pd.DataFrame(
        {
            "N° patient": [f"V{i:03d}" for i in range(len(X))],
            "Karnofsky": X["Karnofsky_score"].to_numpy(),
            time_header: y["Survival_in_days"] / TIME_UNITS[unit],
            event_header: y["Status"].astype(int),
        }
    )
    frame.to_csv(path := tmp_path / "veterans.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert (result.time_column, result.event_column) == (time_header, event_header)
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    np.testing.assert_allclose(result.table["time"], y["Survival_in_days"])
    assert list(result.variables.columns) == ["karnofsky"]
