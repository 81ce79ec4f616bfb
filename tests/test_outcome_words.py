"""Columns of the disease after treatment named as clinical sheets name them (a local control, a
biochemical failure, a best overall response, 'ypT', TCGA's first course's outcome): never
predictors in the cohort import nor in a model table, while baseline variables named alike ('Pain
control', 'HPV PCR', 'Smoke-free years', a surgical margin) stay. Real cohorts of
scikit-survival, their outcome known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sksurv.datasets import load_veterans_lung_cancer

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.io.headers import parse_header
from survival_core.io.tables import load_model_table
from tests.clinical_exports import (
    AFTER_TREATMENT_LOOKALIKES,
    AFTER_TREATMENT_OUTCOMES,
    report_actions,
    tcga_cdr,
    veterans_after_treatment,
)

#: What the import says of a column of another outcome and of one measured after treatment.
ANOTHER_OUTCOME = "dropped: another outcome or ID column, not a clinical variable"
AFTER_TREATMENT = "dropped: measured after treatment (its header says {!r})"


def _model_table(sheet: pd.DataFrame, folder: Path, renamed: dict[str, str]) -> Path:
    """``sheet`` as a model table: its ID, time and event columns ``renamed`` to case_id, time
    and event (a death 1)."""
    table = sheet.rename(columns=renamed)
    table["event"] = table["event"].isin([1, "Dead"]).astype(int)
    table.to_csv(path := folder / "model_table.csv", index=False)
    return path


def test_tcgas_first_course_outcome_is_no_predictor(tmp_path: Path) -> None:
    """WHAS500 as TCGA-CDR's table: 'treatment_outcome_first_course' (Progressive Disease for
    most who died) was kept as a predictor and lifted a Cox c-index from 0.717 to 0.829."""
    export = tcga_cdr(tmp_path)
    result = read_clinical_spreadsheet(export.path, **export.options)
    assert (len(result.table), int(result.table["event"].sum())) == (500, 215)
    assert list(result.variables.columns) == [
        "type", "age_at_initial_pathologic_diagnosis", "gender", "histological_grade",
        "margin_status",
    ]  # fmt: skip
    assert report_actions(result, "treatment_outcome_first_course") == [ANOTHER_OUTCOME]
    sheet = pd.read_excel(export.path)
    renamed = {"bcr_patient_barcode": "case_id", "OS.time": "time", "OS": "event"}
    model = load_model_table([_model_table(sheet, tmp_path, renamed)])
    assert "treatment_outcome_first_course" not in model.X.columns
    assert "margin_status" in model.X.columns
    assert any("treatment_outcome_first_course" in note for note in model.notes)


def test_the_disease_after_treatment_is_no_predictor_and_its_lookalikes_stay(
    tmp_path: Path,
) -> None:
    """The veterans' trial with 27 columns of the disease after treatment beside 36 baseline
    columns named alike: 'Local Control', 'LRF', 'BCR', 'Best Overall Response', 'ypT' and the
    rest were kept as predictors (each a model could learn the outcome back from); 'Pain
    control', 'HPV PCR', 'Smoke-free years' (dropped as a time free of something), 'Tumor free
    margin', 'DM' beside 'DM duration (years)' and the HCC schema's 'mRECIST' stay, as do a
    control, failure, freedom, outcome or status said to be at baseline, prior, planned, a risk
    or a score ('Disease control at baseline', 'Prior treatment failure', 'Local failure risk
    group', 'Outcome of previous pregnancy', 'Last line status': dropped as another outcome)
    and a response or salvage said to be prior or at baseline ('Response to prior chemotherapy',
    'Chemotherapy response score (baseline)', 'Prior salvage surgery': set aside as measured
    after treatment); a lone 'Response' is set aside."""
    export = veterans_after_treatment(tmp_path)
    result = read_clinical_spreadsheet(export.path)
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    lookalikes = {parse_header(header).name for header in AFTER_TREATMENT_LOOKALIKES}
    assert set(result.variables.columns) == {"age"} | lookalikes
    said = {header: report_actions(result, header) for header in AFTER_TREATMENT_OUTCOMES}
    outcomes = [header for header, actions in said.items() if actions == [ANOTHER_OUTCOME]]
    assert outcomes == [
        "Local Control", "Locoregional control", "Regional Control", "Distant Control", "LRF",
        "Local failure", "Loco-regional failure", "Freedom from distant metastasis", "BCR",
        "Biochemical failure", "Treatment failure", "Status at last contact",
        "Disease-free status", "NED", "Tumor free", "Treatment outcome",
    ]  # fmt: skip
    assert said["Best Overall Response"][0].startswith(AFTER_TREATMENT.format("response"))
    assert said["Response"][0].startswith(AFTER_TREATMENT.format("response"))
    assert said["ypT"][0].startswith(AFTER_TREATMENT.format("yp"))
    assert said["Salvage therapy"][0].startswith(AFTER_TREATMENT.format("salvage"))
    assert said["Residual cancer burden"][0].startswith(
        AFTER_TREATMENT.format("residual cancer burden")
    )
    assert all(len(actions) == 1 for actions in said.values())
    # a model table drops them by the same names, saying which and why
    sheet = pd.read_csv(export.path)
    renamed = {"Patient ID": "case_id", "OS (days)": "time", "OS status": "event"}
    model = load_model_table([_model_table(sheet, tmp_path, renamed)])
    assert set(model.X.columns) == {"Age"} | set(AFTER_TREATMENT_LOOKALIKES)
    (after,) = [n for n in model.notes if n.startswith("Left out as measured after treatment")]
    assert "Best Overall Response, RECIST response, Tumor response, disease_response" in after
    np.testing.assert_array_equal(model.y["event"], export.y["Status"])


def test_a_time_free_of_disease_or_counted_from_diagnosis_is_an_outcome(tmp_path: Path) -> None:
    """The veterans' trial with times free of disease and a control or failure timed from
    diagnosis: 'Free of disease (months)', 'Symptom-free interval (months)' (dropped before
    today's baseline words) and 'Local control (months from diagnosis)' (its 'diagnosis' read as
    a baseline qualifier) were kept as predictors; 'Smoke-free years' and 'Cancer-free years
    before diagnosis' stay."""
    X, y = load_veterans_lung_cancer()
    rng = np.random.default_rng(1)
    sheet = pd.DataFrame(
        {
            "Patient ID": [f"P{i:03d}" for i in range(len(X))],
            "OS (days)": y["Survival_in_days"].astype(int),
            "OS status": np.where(y["Status"], "Dead", "Alive"),
            "Age": X["Age_in_years"].astype(int),
        }
    )
    outcomes = [
        "Free of disease (months)", "Symptom-free interval (months)",
        "Local control (months from diagnosis)", "Local failure (months since diagnosis)",
        "Freedom from distant metastasis (months from diagnosis)",
    ]  # fmt: skip
    baseline = ["Smoke-free years", "Cancer-free years before diagnosis"]
    for header in outcomes + baseline:
        sheet[header] = rng.integers(1, 60, len(X))
    sheet.to_csv(path := tmp_path / "veterans_free.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    assert [h for h in outcomes if report_actions(result, h) == [ANOTHER_OUTCOME]] == outcomes
    kept = {parse_header(h).name for h in baseline}
    assert set(result.variables.columns) == {"age"} | kept
