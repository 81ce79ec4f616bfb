"""A sheet without an event column whose event is a filled 'days to' column beside every
patient's days to follow-up, as MAMA-MIA's clinical workbook is: GBSG2's real patients, their
recurrence-free outcome known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import InputError
from tests.clinical_exports import mama_mia, report_actions

PAIR = "(days_to_recurrence / days_to_follow_up)"


def test_days_to_recurrence_else_to_follow_up_are_the_outcome(tmp_path: Path) -> None:
    """Refused with "no survival event column recognised", whose advice could not be followed
    ('days_to_recurrence' is no event indicator; with 'pcr' as the event it imported, wrong):
    the recurrence-free time is the days to recurrence where written, else to the follow-up,
    censored."""
    export = mama_mia(tmp_path)
    result = read_clinical_spreadsheet(export.path)
    table = result.table
    assert (len(table), int(table["event"].sum()), int((table["event"] == 0).sum())) == (
        686, 299, 387,
    )  # fmt: skip
    assert table["time"].max() == 2659
    np.testing.assert_array_equal(table["time"], export.y["time"])
    np.testing.assert_array_equal(table["event"].to_numpy(bool), export.y["cens"])
    assert (result.time_column, result.event_column) == (PAIR, "days_to_recurrence")
    assert result.endpoint == "disease"
    assert report_actions(result, PAIR) == [
        "time: days_to_recurrence for the events, else days_to_follow_up"
    ]
    assert report_actions(result, "days_to_death")[0].startswith(
        "holds no days: not the outcome (an overall survival without a death); the days to "
        "'days_to_recurrence' are read instead"
    )
    assert list(result.variables.columns) == [
        "dataset", "age", "menopause", "tumor_size_mm", "hr", "tumor_subtype", "nodes_positive",
    ]  # fmt: skip


def test_days_to_two_events_ask_which_and_the_given_one_is_read(tmp_path: Path) -> None:
    """Days to a metastasis written beside the recurrence's: which is the outcome is asked, and
    the advice given is followed."""
    export = mama_mia(tmp_path, metastases=True)
    with pytest.raises(InputError) as refused:
        read_clinical_spreadsheet(export.path)
    said = str(refused.value)
    assert "'days_to_recurrence', 'days_to_metastasis' each hold the days to an event" in said
    assert "--time-column 'days_to_recurrence'" in said
    result = read_clinical_spreadsheet(export.path, time_column="days_to_recurrence")
    assert int(result.table["event"].sum()) == 299 and not result.no_outcome
    np.testing.assert_array_equal(result.table["time"], export.y["time"])
    assert "days_to_metastasis" not in result.variables.columns
