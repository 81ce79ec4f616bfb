"""More TCIA collections' clinical sheets (Soft-tissue-Sarcoma, OPC-Radiomics, HNSCC, CRLM,
I-SPY1, ACRIN 6668, UPENN-GBM, UCSF-PDGM), their headers and codes as the collections publish
them, filled from real cohorts (:mod:`tests.clinical_exports`) so that their true counts are
known: each was read wrong, or refused, before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import InputError
from survival_core.io.headers import measured_after_treatment, parse_header, timed_events
from tests.clinical_exports import (
    colorectal_liver_metastases,
    hnscc_mdacc,
    ispy1,
    opc_radiomics,
    report_actions,
    soft_tissue_sarcoma,
)

STS_STATUS = "Status (NED, AWD, D)"
STS_TIME = "Time - diagnosis to last follow-up (days)"


def test_a_lone_d_among_vital_status_codes_is_a_death(tmp_path: Path) -> None:
    """Soft-tissue-Sarcoma's 'D' (dead) beside NED and AWD was read as missing: 0 events of 51,
    24 outcomes missing, no endpoint."""
    result = read_clinical_spreadsheet(
        soft_tissue_sarcoma(tmp_path), time_column=STS_TIME, event_column=STS_STATUS
    )
    assert int(result.table["event"].sum()) == 24
    assert result.table["event"].notna().all() and not result.no_outcome
    assert (result.endpoint, result.deaths_counted) == ("death", True)
    assert any(
        a.startswith("'D' as dead: a vital status's letter")
        for a in report_actions(result, STS_STATUS)
    )


def test_a_lone_d_elsewhere_is_not_guessed(tmp_path: Path) -> None:
    """A 'D' beside codes that are no vital status's stays unread (a grade, a drug arm)."""
    path = tmp_path / "arms.csv"
    path.write_text("id,os_days,status\na,100,D\nb,200,C\nc,300,dead\n")
    result = read_clinical_spreadsheet(path)
    assert "unreadable events 'C', 'D' read as missing" in report_actions(result, "status")


def test_a_length_of_follow_up_is_every_patients_time(tmp_path: Path) -> None:
    """OPC-Radiomics' 'Length FU' was dropped as another outcome and the time taken from 'Diag'
    to 'Date of Death', which only the 215 dead have: all 285 living patients' outcomes missing."""
    path = opc_radiomics(tmp_path)
    with pytest.raises(InputError, match="'Length FU' does not state its unit.*--time-unit"):
        read_clinical_spreadsheet(path)
    result = read_clinical_spreadsheet(path, time_unit="years")
    assert (result.time_column, result.event_column) == ("Length FU", "Status")
    assert result.table["time"].notna().sum() == 500 and not result.no_outcome
    assert (int(result.table["event"].sum()), result.endpoint) == (215, "death")


def test_an_outcome_flag_beside_its_time_is_no_predictor(tmp_path: Path) -> None:
    """HNSCC's 'Local control' (its 'Local control_duration' dropped) and Soft-tissue-Sarcoma's
    'Lung metastasis [Yes/No]' (its 'Time - diagnosis to lung metastasis (days)' dropped) were
    kept as predictors: `fit` on HNSCC's gave an apparent c-index of 0.90."""
    hnscc = read_clinical_spreadsheet(hnscc_mdacc(tmp_path), id_column="TCIA code")
    assert (len(hnscc.table), int(hnscc.table["event"].sum())) == (137, 128)
    assert list(hnscc.variables.columns) == [
        "age_at_diag",
        "m_stage",
        "distant_metastasis_at_diagnosis",
    ]
    assert report_actions(hnscc, "Local control") == [
        "dropped: another outcome, the event of 'Local control_duration', not a clinical variable"
    ]
    sts = read_clinical_spreadsheet(
        soft_tissue_sarcoma(tmp_path), time_column=STS_TIME, event_column=STS_STATUS
    )
    assert list(sts.variables.columns) == ["sex", "age", "grade"]


@pytest.mark.parametrize(
    ("flag", "beside", "outcome"),
    [
        ("Local", "Date Local", True),
        ("Lung metastasis [Yes/No]", "Time - diagnosis to lung metastasis (days)", True),
        ("Relapse site", "Relapse site_time", True),
        ("Surgery", "Date of surgery", False),
        ("Surgery", "Days to surgery", False),
        ("Distant metastasis at diagnosis", "M stage", False),
    ],
)
def test_a_flag_is_an_outcome_beside_an_outcomes_time_or_date(
    flag: str, beside: str, outcome: bool
) -> None:
    """A flag is an outcome where its sibling is an outcome's time or date: a baseline
    treatment beside its date, or a status at diagnosis, stays a variable."""
    found = timed_events([parse_header(flag), parse_header(beside)])
    assert (flag in found) is outcome


def test_clearly_named_endpoints_are_named(tmp_path: Path) -> None:
    """OPC-Radiomics' 'Status' (Alive/Dead) recorded no overall survival's name, a lung
    metastasis no endpoint, CRLM's 'months_to_DFS_progression' no DFS."""
    opc = read_clinical_spreadsheet(opc_radiomics(tmp_path), time_unit="years")
    assert (opc.endpoint, opc.endpoint_name) == ("death", "os")
    lung = read_clinical_spreadsheet(
        soft_tissue_sarcoma(tmp_path),
        time_column="Time - diagnosis to lung metastasis (days)",
        event_column="Lung metastasis [Yes/No]",
    )
    assert (int(lung.table["event"].sum()), lung.endpoint, lung.deaths_counted) == (
        17,
        "disease",
        False,
    )
    crlm = read_clinical_spreadsheet(
        colorectal_liver_metastases(tmp_path),
        time_column="months_to_DFS_progression",
        event_column="progression_or_recurrence",
    )
    assert (int(crlm.table["event"].sum()), crlm.endpoint, crlm.endpoint_name) == (
        299,
        "disease",
        "dfs",
    )


def test_ispy1_glued_survival_status_and_time_are_outcomes(tmp_path: Path) -> None:
    """I-SPY1's RFS import kept its vital status 'sstat' as a predictor (cv c-index 0.56 -> 0.67
    with it) and its OS time 'survDtD2 (tx)' as a variable in unit 'tx'."""
    result = read_clinical_spreadsheet(
        ispy1(tmp_path), time_column="RFS", event_column="rfs_ind", time_unit="days"
    )
    assert (len(result.table), int(result.table["event"].sum())) == (221, 111)
    assert {"sstat", "survdtd2"}.isdisjoint(result.variables.columns)
    for column in ("sstat", "survDtD2 (tx)"):
        assert report_actions(result, column) == [
            "dropped: another outcome or ID column, not a clinical variable"
        ]


@pytest.mark.parametrize(
    "header",
    [
        "censored (1=yes, 0=no)",
        "Censored (0=no, 1=yes)",
        "censored (1=yes, 0=no, 9=unknown)",
        "event (1=yes, 0=no)",
        "death (1=yes)",
    ],
)
def test_a_censoring_headers_yes_is_censored(tmp_path: Path, header: str) -> None:
    """'censored (1=yes, 0=no)' read its 1 (censored) as the event: the veterans' 9 censored
    patients counted as their deaths, the 128 deaths as censored; a code of no value beside
    ('9=unknown') turned that reading off again."""
    frame = pd.read_csv(hnscc_mdacc(tmp_path))
    censoring = header.lower().startswith("censored")
    frame[header] = (frame.pop("Vital status") == ("Alive" if censoring else "Dead")).astype(int)
    frame.to_csv(path := tmp_path / "coded.csv", index=False)
    result = read_clinical_spreadsheet(
        path, time_column="Survival (months)", event_column=header, id_column="TCIA code"
    )
    assert int(result.table["event"].sum()) == 128
    said = report_actions(result, header)[-1]
    assert said.endswith("; its yes is censored: event = its no") is censoring


def test_measures_after_treatment_are_no_baseline_predictors(tmp_path: Path) -> None:
    """I-SPY1's tumour diameters during chemotherapy and before surgery, and its pathologic
    response at surgery, were kept as baseline predictors of its RFS with no word."""
    result = read_clinical_spreadsheet(
        ispy1(tmp_path), time_column="RFS", event_column="rfs_ind", time_unit="days"
    )
    assert list(result.variables.columns) == ["age", "mri_ld_baseline"]
    assert report_actions(result, "MRI LD PreSurg") == [
        "dropped: measured after treatment (its header says 'presurg'): not a baseline "
        "predictor; if it is one, rename the column so its header does not say so"
    ]
    for column in ("MRI LD InterReg", "PCR", "RCBClass"):
        assert report_actions(result, column)[0].startswith("dropped: measured after treatment")


@pytest.mark.parametrize(
    ("header", "after"),
    [
        ("SUVmax post-therapy PET", "post-therapy"),
        ("PsP_TP_score", "psp"),
        ("MRI LD 1-3dAC", "3dac"),
        ("SUVmax baseline PET", ""),
        ("pre-treatment CEA", ""),
        ("prior surgery (yes/no)", ""),
        ("Biopsy prior to imaging", ""),
        ("postcode", ""),
        ("Pathologic complete response", "complete response"),
        # a baseline test by PCR and a treatment given after surgery are no such measures
        ("HPV PCR", ""),
        ("EBV_DNA_PCR", ""),
        ("Postoperative radiotherapy", ""),
        ("Postop RT dose (Gy)", ""),
        ("postop_cea", "postop"),
    ],
)
def test_headers_saying_after_treatment(header: str, after: str) -> None:
    assert measured_after_treatment(parse_header(header)) == after


def test_dataset_bookkeeping_columns_are_no_predictors(tmp_path: Path) -> None:
    """UCSF-PDGM's 'BraTS21 Segmentation Cohort' and 'BraTS21 MGMT Cohort' (beside 'BraTS21
    ID') were kept as predictors, as a 'split' column was."""
    frame = pd.read_csv(hnscc_mdacc(tmp_path))
    frame["BraTS21 ID"] = [f"BraTS2021_{i:05d}" for i in range(len(frame))]
    frame["BraTS21 Segmentation Cohort"] = np.where(frame.index % 4, "Training", "Validation")
    frame["BraTS21 MGMT Cohort"] = np.where(frame.index % 3, "Training", "")
    frame["split"] = np.where(frame.index % 5, "train", "test")
    frame.to_csv(path := tmp_path / "ucsf.csv", index=False)
    result = read_clinical_spreadsheet(path, id_column="TCIA code")
    assert list(result.variables.columns) == [
        "age_at_diag",
        "m_stage",
        "distant_metastasis_at_diagnosis",
    ]
    for column in ("BraTS21 Segmentation Cohort", "BraTS21 MGMT Cohort", "split"):
        assert report_actions(result, column) == [
            "dropped: which dataset or split the patient is in, not a clinical variable"
        ]


def test_ispy1_vital_status_codes_are_read(tmp_path: Path) -> None:
    """I-SPY1's 'sstat' (7 alive, 8 dead, 9 lost) as the OS event was refused: "holds '7',
    '8', '9', not an event indicator"."""
    result = read_clinical_spreadsheet(
        ispy1(tmp_path), time_column="survDtD2 (tx)", event_column="sstat", time_unit="days"
    )
    assert (len(result.table), int(result.table["event"].sum())) == (221, 102)
    assert (result.endpoint, result.endpoint_name) == ("death", "os")  # 8: dead
    assert "event = 8 (I-SPY's vital status codes: 8 dead; 7 alive and 9 lost, censored)" in (
        report_actions(result, "sstat")
    )


def test_a_vital_status_is_read_before_an_ambiguous_censor_column(tmp_path: Path) -> None:
    """UPENN-GBM's 'Survival_Censor' was refused as ambiguous though 'Survival_Status'
    (Deceased/Alive) sits beside it."""
    hn = pd.read_csv(hnscc_mdacc(tmp_path))
    frame = hn.iloc[:, :3].copy()
    frame["Survival_from_surgery_days_UPDATED"] = (hn["Survival (months)"] * 30).round()
    frame["Survival_Status"] = hn["Vital status"].replace({"Dead": "Deceased"})
    frame["Survival_Censor"] = (hn["Vital status"] == "Dead").astype(int)
    frame.to_csv(path := tmp_path / "upenn.csv", index=False)
    result = read_clinical_spreadsheet(path, id_column="TCIA code")
    assert (result.event_column, int(result.table["event"].sum())) == ("Survival_Status", 128)
    assert (result.endpoint, result.endpoint_name) == ("death", "os")
    assert report_actions(result, "Survival_Censor")[0].startswith("not the event: its 1 may mean")
