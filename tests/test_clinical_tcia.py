"""TCIA collections' clinical sheets, their headers and codes as the collections publish them,
filled from real cohorts (:mod:`tests.clinical_exports`) so that their true counts are known:
each was read wrong, or refused, before."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import ClinicalValueError
from tests.clinical_exports import hcc_tace_seg


def _action(result, column: str) -> list[str]:
    return [c.action for c in result.report if c.column == column]


def test_hcc_codes_written_in_the_header_are_read_as_stated(tmp_path: Path) -> None:
    """'Censored_0_progressed_1' was inverted for its 'censored' (70 progressions of 105, truth
    35); 'Death_1_StillAliveorLostToFU_0' was not found as OS's event."""
    path = hcc_tace_seg(tmp_path)
    ttp = read_clinical_spreadsheet(
        path, time_column="TTP", event_column="Censored_0_progressed_1", time_unit="months"
    )
    assert int(ttp.table["event"].sum()) == 35
    assert (ttp.endpoint, ttp.deaths_counted) == ("disease", False)
    assert _action(ttp, "Censored_0_progressed_1")[-1].startswith(
        "event from the codes stated in the header"
    )
    os_ = read_clinical_spreadsheet(path, time_unit="months")
    assert (os_.time_column, os_.event_column) == ("OS", "Death_1_StillAliveorLostToFU_0")
    assert int(os_.table["event"].sum()) == 54
    assert list(os_.table.columns) == ["time", "event", "age", "bclc"]


def test_a_header_naming_censored_and_progressed_without_codes_is_refused(
    tmp_path: Path,
) -> None:
    """Which code of 'censored_or_progressed' is the event is not guessed (its 'censored'
    inverted it)."""
    frame = pd.read_csv(hcc_tace_seg(tmp_path))
    frame = frame.rename(columns={"Censored_0_progressed_1": "censored_or_progressed"})
    frame.to_csv(path := tmp_path / "no_codes.csv", index=False)
    with pytest.raises(ClinicalValueError, match="names both 'censored' and 'progressed'"):
        read_clinical_spreadsheet(
            path, time_column="TTP", event_column="censored_or_progressed", time_unit="months"
        )
