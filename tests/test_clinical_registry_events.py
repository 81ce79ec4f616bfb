"""Registry exports' event codings, on real cohorts of scikit-survival written as NCDB, SEER,
cBioPortal and hospital sheets write them: their true events known, each read wrong or refused
before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_veterans_lung_cancer, load_whas500

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.io.tables import TIME_UNITS


def _ncdb_puf(folder: Path, status: str = "PUF_VITAL_STATUS") -> tuple[Path, np.ndarray]:
    """The veterans' lung cancer trial (137 patients, 128 deaths) as an NCDB Participant User
    File: months to the last contact or death, its vital status 0 dead, 1 alive; and the
    deaths."""
    X, y = load_veterans_lung_cancer()
    sheet = pd.DataFrame({"PUF_CASE_ID": [f"{i:010X}" for i in range(len(y))]})
    sheet["AGE"], sheet["KPS"] = X["Age_in_years"].astype(int), X["Karnofsky_score"]
    sheet["DX_LASTCONTACT_DEATH_MONTHS"] = (y["Survival_in_days"] / TIME_UNITS["months"]).round(2)
    sheet[status] = np.where(y["Status"], 0, 1)
    sheet.to_csv(path := folder / "ncdb_puf.csv", index=False)
    return path, y["Status"]


@pytest.mark.parametrize("given", [True, False])
def test_ncdb_vital_status_0_is_the_death(tmp_path: Path, given: bool) -> None:
    """NCDB's 'PUF_VITAL_STATUS' writes 0 for dead, 1 for alive: given as the event column its
    1 was read as the event, 9 events for the veterans' 128 deaths (its c-index 0.42), and
    found by name none was. Its 0 is the death, said in the report, found by name too."""
    path, dead = _ncdb_puf(tmp_path)
    names = {"time_column": "DX_LASTCONTACT_DEATH_MONTHS", "event_column": "PUF_VITAL_STATUS"}
    result = read_clinical_spreadsheet(path, **(names if given else {}))
    assert (result.time_column, result.event_column) == tuple(names.values())
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), dead)
    assert list(result.variables.columns) == ["age", "kps"]
    assert (result.endpoint, result.endpoint_name) == ("death", "os")
    assert (
        "PUF_VITAL_STATUS: event = 1 - 'PUF_VITAL_STATUS' (NCDB's PUF vital status: 0 dead, "
        "1 alive) (137)"
    ) in result.report_text().splitlines()


def test_another_vital_status_of_0_and_1_keeps_1_the_death(tmp_path: Path) -> None:
    """Beside NCDB's own name, a vital status of 0 and 1 is read as most exports write it: 1
    dead (the veterans' 128 deaths written 1 under 'vital_status' are 128 events)."""
    path, dead = _ncdb_puf(tmp_path, status="vital_status")
    sheet = pd.read_csv(path, dtype=str)
    sheet["vital_status"] = dead.astype(int).astype(str)
    sheet.to_csv(path, index=False)
    result = read_clinical_spreadsheet(path, time_column="DX_LASTCONTACT_DEATH_MONTHS")
    assert (result.event_column, int(result.table["event"].sum())) == ("vital_status", 128)
    assert "vital_status: event 0/1 (137)" in result.report_text().splitlines()


def test_a_censor_column_stating_its_codes_is_read_by_them(tmp_path: Path) -> None:
    """WHAS500's 215 deaths under 'censor (1=censored, 0=dead)' were refused as not saying
    which value is the event, its header spelling it out: read by the codes stated, said so."""
    X, y = load_whas500()
    sheet = pd.DataFrame({"patient_id": [f"W{i:04d}" for i in range(len(y))], "age": X["age"]})
    sheet["os_days"], sheet["censor (1=censored, 0=dead)"] = y["lenfol"], (~y["fstat"]).astype(int)
    sheet.to_csv(path := tmp_path / "whas500.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.event_column == "censor (1=censored, 0=dead)"
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), y["fstat"])
    assert int(result.table["event"].sum()) == 215
    assert (
        "censor (1=censored, 0=dead): event from the codes stated in the header (1=censored, "
        "0=dead) (500)"
    ) in result.report_text().splitlines()
