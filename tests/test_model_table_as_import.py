"""The model tables of ``fit``/``cv --table`` read a real cohort's cells as the cohort import
reads them: cBioPortal's '1:DECEASED' is an event, and a JSON file is pointed to the import.
Each was refused otherwise than by the import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_gbsg2

from survival_core.errors import InputError
from survival_core.io.tables import load_model_table


@pytest.fixture(scope="module")
def gbsg2() -> pd.DataFrame:
    """scikit-survival's GBSG2 (686 real patients) as an export writes it: case_id (in the
    table's order), time (days), event 0/1, its categories as text."""
    X, y = load_gbsg2()
    table = X.astype({c: str for c in ("horTh", "menostat", "tgrade")})
    table = table.assign(time=y["time"], event=y["cens"].astype(int))
    table.insert(0, "case_id", [f"G{i:03d}" for i in range(len(table))])
    return table


@pytest.mark.parametrize(
    ("event", "censored"), [("1:DECEASED", "0:LIVING"), ("1:Recurred/Progressed", "0:DiseaseFree")]
)
def test_cbioportal_status_codes_are_events(
    tmp_path: Path, gbsg2, event: str, censored: str
) -> None:
    """cBioPortal's vital and recurrence status were refused: 'No case has a usable outcome
    (time >= 0 and event 0/1).'; the import reads the code before the colon."""
    coded = gbsg2.assign(event=np.where(gbsg2["event"] == 1, event, censored))
    coded.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    np.testing.assert_array_equal(table.y["event"], gbsg2["event"].astype(bool))
    assert table.case_ids == gbsg2["case_id"].tolist()


def test_a_json_file_is_pointed_to_the_import(tmp_path: Path, gbsg2) -> None:
    """GBSG2 as a JSON array of patients was parsed as delimited text and refused as having
    'no case_id column'; the cohort import reads it."""
    gbsg2.to_json(path := tmp_path / "gbsg2.json", orient="records")
    with pytest.raises(InputError) as refused:
        load_model_table([path])
    assert str(refused.value) == (
        f"Table {path} is JSON, not a CSV or Parquet table: a JSON array of one object per "
        "patient is read by the cohort import (`cohort import --clinical FILE --out DIR`, or the "
        "Cohort page's Import), which writes the cohort's clinical.csv."
    )
