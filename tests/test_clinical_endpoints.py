"""Which endpoint a clinical table's outcome is, and how its event is coded: real cohorts of
scikit-survival (their true time and event known) written as TCGA, cBioPortal, R and oncology
exports write them. Each case was read wrong before, most without a word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_gbsg2, load_veterans_lung_cancer, load_whas500

from survival_core.cohort.clinical_table import ClinicalImport, read_clinical_spreadsheet
from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.headers import parse_header
from survival_core.io.tables import load_model_table
from tests.clinical_exports import (
    BASELINE_LOOKALIKES,
    gbsg2_with_baseline_lookalikes,
    lymph_node,
    report_actions,
)


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "clinical.csv") -> Path:
    frame.to_csv(path := tmp_path / name, index=False)
    return path


def test_tcga_pan_cancer_os_beside_os_time_is_the_event_and_its_other_endpoints_no_variables(
    tmp_path: Path,
) -> None:
    """WHAS500 as TCGA's Pan-Cancer table: 'OS' (0/1) was taken as the time in days (every time
    0 or 1), and 'PFI', 'PFI.time' stayed variables: the model learnt the outcome back."""
    X, y = load_whas500()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"bcr_patient_barcode": [f"TCGA-{i:04d}" for i in range(len(y))]})
    frame["age"] = X["age"].to_numpy()
    frame["OS"], frame["OS.time"] = y["fstat"].astype(int), y["lenfol"]
    frame["vital_status"] = np.where(y["fstat"], "Dead", "Alive")
    frame["PFI"] = y["fstat"].astype(int) | (rng.random(len(y)) < 0.2)
    frame["PFI.time"] = np.minimum(y["lenfol"], rng.integers(1, 2000, len(y)))
    frame["DFI"], frame["new_tumor_event_dx_indicator"] = frame["PFI"], frame["PFI"]
    result = read_clinical_spreadsheet(_write(tmp_path, frame), time_unit="days")
    assert (result.time_column, result.event_column) == ("OS.time", "OS")
    np.testing.assert_array_equal(result.table["time"], y["lenfol"])
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), y["fstat"])
    assert list(result.table.columns) == ["time", "event", "age"]


@pytest.mark.parametrize(
    ("codes", "match"),
    [
        ({True: "2", False: "1"}, "holds '2' beside"),  # R's 1/2 with a 9 for unknown
        ({True: "1", False: "0"}, "holds '2' beside"),  # 0/1 with a competing 2
        ({True: "Relapse", False: "Alive"}, "'death without recurrence' beside"),
    ],
)
def test_other_outcomes_among_the_event_codes_are_refused_not_dropped(
    tmp_path: Path, codes: dict, match: str
) -> None:
    """Real GBSG2 events: R's 1 (alive) read as the event beside 2 set missing, inverting the
    outcome; a competing death (2, 'Death without recurrence') set missing, 74 patients gone."""
    X, y = load_gbsg2()
    status = pd.Series(np.where(y["cens"], codes[True], codes[False]), dtype=object)
    status[:5] = (
        "9" if codes[True] == "2" else ("2" if codes[True] == "1" else "Death without recurrence")
    )
    frame = pd.DataFrame({"patient_id": range(len(y)), "RFS_days": y["time"], "status": status})
    with pytest.raises(ClinicalValueError, match=match + ".*State each code in the header"):
        read_clinical_spreadsheet(_write(tmp_path, frame))
    frame = frame.rename(columns={"status": "status (0=censored, 1=recurrence, 2=dead)"})
    if codes[True] == "1":  # stated: both events count, as in recurrence-free survival
        result = read_clinical_spreadsheet(_write(tmp_path, frame))
        assert int(result.table["event"].sum()) == int(y["cens"][5:].sum()) + 5


#: A meaning that is no death to count: no death, none known, or another cause's (left unread).
_NOT_DEATHS = [
    "no evidence of death",
    "not yet dead",
    "censored at death",
    "death-free",
    "unknown if dead",
    "dead of other causes",
    "death from other causes",
    "alive or dead of other cause",
]


@pytest.mark.parametrize(
    "death",
    ["dead of disease", "died of disease", "death from disease", "DOD", *_NOT_DEATHS],
)
def test_a_death_stated_in_other_words_among_the_codes_is_an_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], death: str
) -> None:
    """GBSG2's recurrences beside 38 made-up deaths without recurrence coded 2 under 'status
    (0=censored, 1=recurrence, 2=dead of disease)': the 2 was 'unreadable events '2' read as
    missing (38)', those patients gone from the analysis. A meaning naming a death is a death,
    counted as the recurrence-free survival's event and recorded so; one that names none ('no
    evidence of death', 'death-free') or another cause's stays unread, named, never an event."""
    import json

    from survival_core.cli.main import main
    from tests.clinical_exports import GBSG2_DEATHS

    X, y = load_gbsg2()
    died = ~y["cens"] & (np.random.default_rng(1).random(len(y)) < 0.1)
    header = f"status (0=censored, 1=recurrence, 2={death})"
    frame = pd.DataFrame({"patient_id": [f"G{i:04d}" for i in range(len(y))], "age": X["age"]})
    frame["rfs_days"], frame[header] = y["time"], np.where(died, 2, y["cens"].astype(int))
    cohort = tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(_write(tmp_path, frame)), "--out", str(cohort)]
    assert main(argv) == 0
    said = capsys.readouterr().err
    assert f"{header}: event from the codes stated in the header (0=censored" in said
    table = pd.read_csv(cohort / "clinical.csv")
    events = (int(table["event"].sum()), int(table["event"].isna().sum()))
    counted = json.loads((cohort / "outcome.json").read_text())["deaths_counted"]
    if death in _NOT_DEATHS:
        assert f"{header}: unreadable events '2' read as missing ({GBSG2_DEATHS})" in said
        assert (events, counted) == ((299, GBSG2_DEATHS), False)
    else:
        assert "unreadable" not in said
        assert (events, counted) == ((299 + GBSG2_DEATHS, 0), True)


@pytest.mark.parametrize(
    "death", ["non-cancer death", "dead of other causes", "dead of unknown cause"]
)
@pytest.mark.parametrize("endpoint", ["RFS status", "PFS_STATUS", "DFS status", "EFS status"])
def test_a_free_survivals_code_of_a_death_of_any_cause_is_an_event(
    tmp_path: Path, endpoint: str, death: str
) -> None:
    """'RFS status (0=censored, 1=recurrence, 2=non-cancer death)': a death of any cause is a
    recurrence-, progression-, disease- or event-free survival's event, and such cells ('Non-cancer
    death') were read so, but the stated code was left unread: GBSG2's 38 made-up deaths without
    recurrence were missing (299 events, 38 missing). All 337 are events, as under 'OS status'."""
    X, y = load_gbsg2()
    died = ~y["cens"] & (np.random.default_rng(1).random(len(y)) < 0.1)
    header = f"{endpoint} (0=censored, 1=recurrence, 2={death})"
    frame = pd.DataFrame({"patient_id": range(len(y)), "rfs_days": y["time"]})
    frame[header] = np.where(died, 2, y["cens"].astype(int))
    result = read_clinical_spreadsheet(_write(tmp_path, frame))
    event = result.table["event"]
    assert (int(died.sum()), int(event.sum()), int(event.isna().sum())) == (38, 299 + 38, 0)
    assert "unreadable" not in result.report_text()


@pytest.mark.parametrize("death", ["Non-cancer death", "Dead of unknown cause"])
@pytest.mark.parametrize("stated", [False, True])
@pytest.mark.parametrize("endpoint", ["RFS", "PFS"])
def test_a_free_survival_whose_events_are_other_causes_deaths_counts_deaths(
    tmp_path: Path, endpoint: str, stated: bool, death: str
) -> None:
    """An RFS or PFS whose 38 made-up GBSG2 deaths without recurrence are written 'Non-cancer
    death' (cells or a stated '2=non-cancer death') reads them as events (337), but recorded
    its deaths counted as not known (None): its model was worded as if deaths might not count.
    They are counted: True."""
    X, y = load_gbsg2()
    died = ~y["cens"] & (np.random.default_rng(1).random(len(y)) < 0.1)
    frame = pd.DataFrame({"patient_id": range(len(y)), "days": y["time"]})
    header = f"{endpoint} status" + (f" (0=censored, 1=recurrence, 2={death.lower()})" * stated)
    frame[header] = np.where(died, 2, y["cens"].astype(int)).astype(object)
    if not stated:
        frame[header] = np.where(died, death, np.where(y["cens"], "Recurrence", "No recurrence"))
    result = read_clinical_spreadsheet(
        _write(tmp_path, frame), time_column="days", event_column=header, time_unit="days"
    )
    assert (int(result.table["event"].sum()), result.endpoint, result.deaths_counted) == (
        337,
        "disease",
        True,
    )


@pytest.mark.parametrize("stated", [False, True])
@pytest.mark.parametrize("endpoint", ["TTR", "TTP", "PFI", "DFI"])
def test_a_time_to_recurrence_censors_another_causes_death(
    tmp_path: Path, endpoint: str, stated: bool
) -> None:
    """A time to recurrence or progression and TCGA's PFI and DFI censor a death without
    recurrence or progression, as a DSS does: GBSG2's 38 made-up non-cancer deaths written as
    cells 'Non-cancer death' were events (337), as a stated '2=non-cancer death' was left
    missing (299 events, 38 missing). Both are censored: 299 events, 0 missing, said so."""
    X, y = load_gbsg2()
    died = ~y["cens"] & (np.random.default_rng(1).random(len(y)) < 0.1)
    frame = pd.DataFrame({"patient_id": range(len(y)), "days": y["time"]})
    header = f"{endpoint} status" + (" (0=censored, 1=recurrence, 2=non-cancer death)" * stated)
    cells = np.where(y["cens"], "Recurrence", "No recurrence").astype(object)
    frame[header] = np.where(died, 2, y["cens"].astype(int)) if stated else cells
    if not stated:
        frame.loc[died, header] = "Non-cancer death"
    result = read_clinical_spreadsheet(
        _write(tmp_path, frame), time_column="days", event_column=header, time_unit="days"
    )
    event = result.table["event"]
    assert (int(died.sum()), int(event.sum()), int(event.isna().sum())) == (38, 299, 0)
    assert int((event[died] == 0).sum()) == 38
    said = "'2', a death of another cause, censored" if stated else "'Non-cancer death' -> 0"
    assert said in " | ".join(report_actions(result, header))


def _deaths_coded_9(
    tmp_path: Path, endpoint: str, meaning: str, stated: bool
) -> tuple[str, ClinicalImport]:
    """GBSG2's recurrence outcome under '<endpoint> status', 38 made-up deaths without recurrence
    written as cells ``meaning`` capitalised, or as a code 9 its header states means ``meaning``
    (``stated``); the header and the sheet read with it as the event."""
    X, y = load_gbsg2()
    died = ~y["cens"] & (np.random.default_rng(1).random(len(y)) < 0.1)
    frame = pd.DataFrame({"patient_id": range(len(y)), "days": y["time"]})
    header = f"{endpoint} status" + f" (0=censored, 1=recurrence, 9={meaning})" * stated
    cells = np.where(y["cens"], "Recurrence", "No recurrence").astype(object)
    cells[died] = meaning.capitalize()
    frame[header] = np.where(died, 9, y["cens"].astype(int)) if stated else cells
    return header, read_clinical_spreadsheet(
        _write(tmp_path, frame), time_column="days", event_column=header, time_unit="days"
    )


@pytest.mark.parametrize("stated", [False, True])
@pytest.mark.parametrize(
    ("endpoint", "missing", "said"),
    [
        ("TTR", 0, "a death of unknown cause, censored (a time to recurrence's event"),
        ("DFI", 0, "a death of unknown cause, censored (a disease-free interval's event"),
        ("DSS", 38, "deaths of unknown cause"),
    ],
)
def test_a_death_of_unknown_cause_reads_alike_in_cells_and_codes(
    tmp_path: Path, endpoint: str, stated: bool, missing: int, said: str
) -> None:
    """GBSG2's 38 made-up deaths without recurrence written 'Dead of unknown cause': under a TTR
    or DFI the cells were events (337, deaths counted) and a code '9=dead of unknown cause' left
    missing (38, 'unreadable'). A death without recurrence is censored whatever its cause: both
    read 299 events, 0 missing. A DSS leaves them out (SEER) in both, said alike."""
    header, result = _deaths_coded_9(tmp_path, endpoint, "dead of unknown cause", stated)
    event = result.table["event"]
    assert (int(event.sum()), int(event.isna().sum()), result.deaths_counted) == (
        299,
        missing,
        False,
    )
    actions = " | ".join(report_actions(result, header))
    assert "unreadable" not in actions
    assert (said if stated or missing else "'Dead of unknown cause' -> 0") in actions


@pytest.mark.parametrize("endpoint", ["TTR", "DSS"])
@pytest.mark.parametrize("stated", [False, True])
def test_a_death_itself_not_known_is_missing_in_cells_and_codes(
    tmp_path: Path, endpoint: str, stated: bool
) -> None:
    """'9=dead, unknown' states no death's cause but a death not known: its code was read as a
    death of unknown cause, censored under a TTR (299 events, nothing said), while cells 'Dead,
    unknown' are missing, 'deaths not known'. Both are missing, and said to be."""
    header, result = _deaths_coded_9(tmp_path, endpoint, "dead, unknown", stated)
    event = result.table["event"]
    assert (int(event.sum()), int(event.isna().sum())) == (299, 38)
    said = "'9' read as missing" if stated else "deaths not known 'Dead, unknown' read as missing"
    assert said in " | ".join(report_actions(result, header))


@pytest.mark.parametrize("dead", ["Dead of unknown cause", "Dead (missing/unknown COD)"])
def test_a_vital_status_of_deaths_of_unknown_cause_is_overall_survivals(
    tmp_path: Path, dead: str
) -> None:
    """Veterans' 128 deaths written 'Dead of unknown cause' beside 'Alive' under a bare 'Status'
    were read as deaths but the column no vital status: its endpoint was not named (None), as
    'Dead' makes it overall survival's."""
    X, y = load_veterans_lung_cancer()
    frame = pd.DataFrame({"patient_id": range(len(y)), "days": y["Survival_in_days"]})
    frame["Status"] = np.where(y["Status"], dead, "Alive")
    result = read_clinical_spreadsheet(
        _write(tmp_path, frame), time_column="days", event_column="Status", time_unit="days"
    )
    assert (int(result.table["event"].sum()), result.endpoint, result.endpoint_name) == (
        128,
        "death",
        "os",
    )


def test_the_report_names_event_cells_as_written(tmp_path: Path) -> None:
    """Veterans' status cells 'Dead: Unknown.', 'Unclear!!' and 'DEAD' were named in the report
    as matched ('dead: unknown', 'unclear', 'dead'): a user looking for them in the sheet found
    none. Matched lower-cased without end marks, they are named as written."""
    X, y = load_veterans_lung_cancer()
    status = np.where(y["Status"], "DEAD", "Alive").astype(object)
    status[np.arange(len(y)) % 10 == 0] = "Dead: Unknown."
    status[np.arange(len(y)) % 10 == 1] = "Unclear!!"
    frame = pd.DataFrame({"patient_id": range(len(y)), "days": y["Survival_in_days"]})
    frame["DSS status"] = status
    result = read_clinical_spreadsheet(
        _write(tmp_path, frame), time_column="days", event_column="DSS status", time_unit="days"
    )
    actions = " | ".join(report_actions(result, "DSS status"))
    for said in (
        "unreadable events 'Unclear!!' read as missing",
        "deaths not known 'Dead: Unknown.' read as missing",
        "deaths of no stated cause 'DEAD' read as deaths from the disease",
    ):
        assert said in actions
    assert int(result.table["event"].isna().sum()) == 28


@pytest.mark.parametrize(
    ("endpoint", "events", "counted"),
    [("DFI", 299, False), ("TTR", 299, False), ("DSS", 299, False), ("PFS", 337, True)],
)
def test_a_death_code_the_endpoint_censors_counts_no_death(
    tmp_path: Path, endpoint: str, events: int, counted: bool
) -> None:
    """'DFI status (0=censored, 1=recurrence, 2=DOC)': GBSG2's 38 made-up deaths of other causes
    are censored under a DFI, TTR or DSS (299 events), yet its deaths were recorded counted
    (True) for the code's 'DOC', a death: the model was worded as counting deaths. A PFS counts
    them (337 events, True)."""
    X, y = load_gbsg2()
    died = ~y["cens"] & (np.random.default_rng(1).random(len(y)) < 0.1)
    frame = pd.DataFrame({"patient_id": range(len(y)), "days": y["time"]})
    header = f"{endpoint} status (0=censored, 1=recurrence, 2=DOC)"
    frame[header] = np.where(died, 2, y["cens"].astype(int))
    result = read_clinical_spreadsheet(
        _write(tmp_path, frame), time_column="days", event_column=header, time_unit="days"
    )
    event = result.table["event"]
    assert (int(event.sum()), int(event.isna().sum()), result.deaths_counted) == (
        events,
        0,
        counted,
    )


@pytest.mark.parametrize(
    ("header", "events"),
    [
        ("dss_status (0=alive, 1=dead of cancer, 2=dead, other causes)", 201),
        ("dss_status (0=alive, 1=dead of cancer, 2=dead (other causes))", 201),
        ("dss_status (0=alive, 1=DOD, 2=DOC)", 201),
        ("os_status (0=alive, 1=dead of disease, 2=dead of other causes)", 299),
    ],
)
def test_an_other_causes_death_after_a_comma_or_in_brackets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, events: int
) -> None:
    """GBSG2's 299 events, 98 of them coded 2, another cause's death: '2=dead, other causes'
    was read as '2=dead', all 299 a disease-specific survival's events, silently; '2=dead
    (other causes)' stated no code at all. A disease-specific survival censors them, said so
    (they were read as missing; '2=DOC' as events). Overall survival's every death is its
    event: its 98 other-cause deaths were set missing."""
    from survival_core.cli.main import main

    X, y = load_gbsg2()
    event = y["cens"].astype(int)
    other = (np.arange(len(y)) % 3 == 0) & (event == 1)
    frame = pd.DataFrame({"patient_id": [f"G{i:04d}" for i in range(len(y))], "age": X["age"]})
    frame["dss_days"], frame[header] = y["time"], np.where(other, 2, event)  # the OS's time too
    cohort = tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(_write(tmp_path, frame)), "--out", str(cohort)]
    assert main(argv + ["--time-column", "dss_days", "--event-column", header]) == 0
    said = capsys.readouterr().err
    assert "unreadable" not in said
    censored = "; '2', a death of another cause, censored (a disease-specific survival's event"
    assert (censored in said) == header.startswith("dss")
    table = pd.read_csv(cohort / "clinical.csv")
    assert (int(table["event"].sum()), int(table["event"].isna().sum())) == (events, 0)


@pytest.mark.parametrize(
    ("time", "header"),
    [
        ("rfs_days", "rfs_status (0=no recurrence or death, 1=recurrence or death)"),
        ("os_days", "os_status (0=alive or dead of other cause, 1=dead of cancer)"),
    ],
)
def test_a_code_naming_no_death_beside_a_death_is_no_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], time: str, header: str
) -> None:
    """GBSG2's 0/1 under a header whose 0 names a death it negates or another cause's: 'no
    recurrence or death' was read as a death, all 686 patients events for its 299, silently."""
    from survival_core.cli.main import main

    X, y = load_gbsg2()
    frame = pd.DataFrame({"patient_id": [f"G{i:04d}" for i in range(len(y))], "age": X["age"]})
    frame[time], frame[header] = y["time"], y["cens"].astype(int)
    cohort = tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(_write(tmp_path, frame)), "--out", str(cohort)]
    assert main(argv) == 0
    assert "'0', the other code, read as alive" in capsys.readouterr().err
    table = pd.read_csv(cohort / "clinical.csv")
    assert (int(table["event"].sum()), int(table["event"].isna().sum())) == (299, 0)


def test_cbioportal_and_oncology_status_words(tmp_path: Path) -> None:
    """cBioPortal's '1:DECEASED' / '0:LIVING' was refused as no event indicator; DOD / AWD / NED
    refused; 'Lost to follow-up' read as missing, the patient dropped instead of censored."""
    X, y = load_veterans_lung_cancer()
    died = y["Status"]
    frame = pd.DataFrame(
        {
            "PATIENT_ID": [f"P-{i}" for i in range(len(y))],
            "OS_MONTHS": y["Survival_in_days"] / 30.4375,
            "OS_STATUS": np.where(died, "1:DECEASED", "0:LIVING"),
        }
    )
    result = read_clinical_spreadsheet(_write(tmp_path, frame))
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), died)
    frame["OS_STATUS"] = np.where(died, "DOD", np.where(np.arange(len(y)) % 2, "AWD", "NED"))
    frame.loc[~died & (np.arange(len(y)) % 3 == 0), "OS_STATUS"] = "Lost to follow-up"
    result = read_clinical_spreadsheet(_write(tmp_path, frame))
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), died)
    assert not result.no_outcome


def test_a_time_is_never_paired_with_another_endpoints_event(tmp_path: Path) -> None:
    """GBSG2's recurrence-free times: with DFS's own 'DFS_censor' beside the vital status, the
    vital status was taken (173 events for 299); with an RFS event given, the OS time beside it;
    from dates of death or follow-up, a progression event (every progressed patient's time wrong)."""
    X, y = load_gbsg2()
    n = len(y)
    dead = np.random.default_rng(1).random(n) < 0.5
    frame = pd.DataFrame(
        {
            "patient_id": range(n),
            "DFS_months": y["time"] / 30.4375,
            "DFS_censor": (~y["cens"]).astype(int),
            "vital_status": np.where(dead, "Dead", "Alive"),
        }
    )
    with pytest.raises(InputError, match="'DFS_censor' does not say which of its values"):
        read_clinical_spreadsheet(_write(tmp_path, frame))
    with pytest.raises(
        InputError,
        match="'DFS_months' is a recurrence's or progression's, the event 'vital_status' death's",
    ):
        read_clinical_spreadsheet(_write(tmp_path, frame.drop(columns="DFS_censor")))
    given = frame.assign(OS_months=frame["DFS_months"] + 3, RFS_status=y["cens"].astype(int)).drop(
        columns=["DFS_censor"]
    )
    result = read_clinical_spreadsheet(_write(tmp_path, given), event_column="RFS_status")
    assert result.time_column == "DFS_months"  # the event's endpoint's time, not OS_months
    start = pd.Timestamp("2000-01-01")
    dated = pd.DataFrame(
        {
            "patient_id": range(n),
            "Date of diagnosis": start,
            "Date of last follow-up": start + pd.to_timedelta(y["time"] + 100, unit="D"),
            "Progression": np.where(y["cens"], "yes", "no"),
        }
    )
    with pytest.raises(InputError, match="'Progression' is a recurrence's .* no date of it is"):
        read_clinical_spreadsheet(_write(tmp_path, dated))
    # with a date of death the dates give overall survival, whose event is that date, not the
    # progression (refused, with no way forward but editing the sheet)
    death = start + pd.to_timedelta(y["time"] + 50, unit="D")
    dated["Date of death"] = death.where(pd.Series(dead), pd.NaT)
    result = read_clinical_spreadsheet(_write(tmp_path, dated))
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), dead)
    np.testing.assert_array_equal(
        result.table["time"], np.where(dead, y["time"] + 50, y["time"] + 100)
    )
    assert any(c.column == "Progression" and "not the event" in c.action for c in result.report)
    with pytest.raises(InputError, match="'Progression' is a recurrence's"):  # given: not ignored
        read_clinical_spreadsheet(_write(tmp_path, dated), event_column="Progression")


def _dated_recurrences(died_free: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """GBSG2's recurrence-free times as a hospital's dates: diagnosis, recurrence (the events),
    death (``died_free``: some censored patients died without recurrence) and a last follow-up
    300 days after each recurrence (a later visit), else on the censoring day."""
    X, y = load_gbsg2()
    start, days = pd.Timestamp("2000-01-01"), pd.Series(pd.to_timedelta(y["time"], unit="D"))
    recurred = pd.Series(y["cens"])
    frame = pd.DataFrame(
        {
            "patient_id": range(len(y)),
            "Date of diagnosis": start,
            "Date of recurrence": (start + days).where(recurred),
            "Date of death": (start + days).where(pd.Series(died_free)),
            "Date of last follow-up": start + days + pd.to_timedelta(300 * recurred, unit="D"),
            "Recurrence": np.where(y["cens"], "yes", "no"),
            "age": X["age"],
        }
    )
    return frame, y["time"], y["cens"]


def test_a_recurrences_time_comes_from_its_dates(tmp_path: Path) -> None:
    """Dates of diagnosis, recurrence, death and last follow-up with a Recurrence column: the
    time to recurrence was refused with no way forward but editing the sheet (with the event
    given, or without a date of death); a status stating its codes ('1=recurrence, 2=dead') was
    read against the dates of death and follow-up: every recurrence timed at the last visit."""
    died_free = ~load_gbsg2()[1]["cens"] & (np.random.default_rng(3).random(686) < 0.3)
    frame, time, recurred = _dated_recurrences(died_free)
    result = read_clinical_spreadsheet(_write(tmp_path, frame), event_column="Recurrence")
    np.testing.assert_array_equal(result.table["time"], time)  # deaths censored at their date
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), recurred)
    assert any("censored at 'Date of death'" in c.action for c in result.report)
    # unasked, the dates of death give overall survival, and say how to get the recurrence's
    result = read_clinical_spreadsheet(_write(tmp_path, frame))
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), died_free)
    assert any("--event-column 'Recurrence'" in c.action for c in result.report)
    # without dates of death, the Recurrence column's own time (nothing else to read)
    result = read_clinical_spreadsheet(_write(tmp_path, frame.drop(columns="Date of death")))
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), recurred)
    np.testing.assert_array_equal(result.table["time"][recurred], time[recurred])
    # recurrence-free survival: a death is an event too, at its date
    status = "status (0=censored, 1=recurrence, 2=dead)"
    coded = frame.drop(columns="Recurrence").assign(
        **{status: np.where(recurred, 1, np.where(died_free, 2, 0))}
    )
    result = read_clinical_spreadsheet(_write(tmp_path, coded), event_column=status)
    np.testing.assert_array_equal(result.table["time"], time)
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), recurred | died_free)
    # where a death is an event, 0 beside a date of death is a contradiction, not censoring
    contradicting = coded.copy()
    dead = np.flatnonzero(died_free)[0]
    contradicting.loc[dead, status] = 0
    result = read_clinical_spreadsheet(_write(tmp_path, contradicting), event_column=status)
    assert result.no_outcome == [str(dead)]
    # unasked, that status is a recurrence's: not the event of the dates' overall survival
    result = read_clinical_spreadsheet(_write(tmp_path, coded))
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), died_free)
    np.testing.assert_array_equal(result.table["time"][died_free], time[died_free])


def test_a_recurrence_and_its_date_must_agree(tmp_path: Path) -> None:
    """A recurrence without its date, or a date beside 'no': that patient's outcome is left
    missing and named (which of the two is wrong is not guessed), the others kept."""
    frame, time, recurred = _dated_recurrences(np.zeros(686, dtype=bool))
    first, second = np.flatnonzero(recurred)[0], np.flatnonzero(~recurred)[0]
    frame.loc[first, "Date of recurrence"] = pd.NaT
    frame.loc[second, "Date of recurrence"] = pd.Timestamp("2001-01-01")
    result = read_clinical_spreadsheet(_write(tmp_path, frame), event_column="Recurrence")
    assert sorted(result.no_outcome) == sorted([str(first), str(second)])
    said = " ".join(c.action for c in result.report)
    assert "an event by 'Recurrence' without a date" in said and "no event by 'Recurrence'" in said
    kept = result.table["time"].notna().to_numpy()
    np.testing.assert_array_equal(result.table["time"][kept], time[kept])


def test_disease_dates_a_sheet_names_otherwise_or_twice(tmp_path: Path) -> None:
    """'Date of PD' was not read as a progression's date; a recurrence dated after the death was
    accepted (a patient recurring 214 days after dying); two recurrence dates (local, distant), or
    one under a name not read ('PFS date'), got 'the survival time ... is death's (overall
    survival)' with no date of death in the sheet."""
    died_free = ~load_gbsg2()[1]["cens"] & (np.random.default_rng(4).random(686) < 0.3)
    frame, time, recurred = _dated_recurrences(died_free)
    pd_named = frame.rename(columns={"Date of recurrence": "Date of PD"})
    result = read_clinical_spreadsheet(_write(tmp_path, pd_named), event_column="Recurrence")
    np.testing.assert_array_equal(result.table["time"], time)
    first = np.flatnonzero(recurred)[0]
    late = frame.copy()
    late.loc[first, "Date of death"] = late.loc[first, "Date of recurrence"] - pd.Timedelta(days=9)
    result = read_clinical_spreadsheet(_write(tmp_path, late), event_column="Recurrence")
    assert result.no_outcome == [str(first)]
    assert any("after the date in 'Date of death'" in c.action for c in result.report)
    two = frame.assign(**{"Distant recurrence date": frame["Date of recurrence"]})
    with pytest.raises(
        InputError, match="'Date of recurrence', 'Distant recurrence date' are each"
    ):
        read_clinical_spreadsheet(_write(tmp_path, two), event_column="Recurrence")
    unsaid = two.drop(columns=["Recurrence", "Date of death"])  # no event column, no death date
    with pytest.raises(InputError, match="are each a date of a recurrence"):
        read_clinical_spreadsheet(_write(tmp_path, unsaid))
    unread = frame.rename(columns={"Date of recurrence": "PFS date"}).drop(columns="Date of death")
    with pytest.raises(InputError, match=r"no date of it is recognised .*'PFS date'.* not read"):
        read_clinical_spreadsheet(_write(tmp_path, unread), event_column="Recurrence")


def test_a_relapse_event_keeps_patients_dead_without_relapse(tmp_path: Path) -> None:
    """RFS days, a Relapse event and a date of death: 'alive by the event column but with a date
    of death' dropped every patient who died without relapse (a death's check, not a relapse's)."""
    X, y = load_gbsg2()
    died = np.random.default_rng(2).random(len(y)) < 0.2
    frame = pd.DataFrame(
        {
            "patient_id": range(len(y)),
            "RFS_days": y["time"],
            "Relapse": y["cens"].astype(int),
            "Date of diagnosis": "2001-02-03",
            "Date of death": np.where(died, "2009-01-01", ""),
        }
    )
    result = read_clinical_spreadsheet(_write(tmp_path, frame))
    assert (result.time_column, result.event_column) == ("RFS_days", "Relapse")
    assert not result.no_outcome and int(result.table["event"].sum()) == int(y["cens"].sum())


def test_an_os_time_takes_the_death_column_not_a_bare_status(tmp_path: Path) -> None:
    """GBSG2's recurrence-free time and its recurrence flag under a bare 'status', beside a
    made-up OS time and its 'death' column, imported with no column given: the OS time was paired
    with 'status', the RFS's 299 events on OS times, 'death' dropped, without a word."""
    from survival_core.cli.main import main

    X, y = load_gbsg2()
    died = y["cens"] & (np.random.default_rng(3).random(len(y)) < 0.6)
    frame = X.assign(
        rfs_time_days=y["time"],
        status=y["cens"].astype(int),
        os_time_days=y["time"] + np.where(y["cens"], 200, 0),
        death=died.astype(int),
    )
    frame.insert(0, "patient_id", [f"G{i:04d}" for i in range(len(y))])
    out = tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(_write(tmp_path, frame)), "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    report = pd.read_csv(out / "clinical_report.csv")
    said = set(zip(report["column"], report["action"], strict=True))
    assert {
        ("os_time_days", "used as the survival time (recognised by its name)"),
        ("death", "used as the event (recognised by its name)"),
        ("status", "dropped: another outcome or ID column, not a clinical variable"),
    } <= said
    clinical = pd.read_csv(out / "clinical.csv")
    np.testing.assert_array_equal(clinical["time"], frame["os_time_days"])
    assert int(clinical["event"].sum()) == int(died.sum()) != int(y["cens"].sum())


def test_r_survival_packages_glued_endpoint_names(tmp_path: Path) -> None:
    """GBSG2 as R's survival::gbsg writes it ('pid', 'rfstime', 'status'): 'rfstime' was not
    found as the time, even with the event given."""
    X, y = load_gbsg2()
    frame = X.assign(rfstime=y["time"], status=y["cens"].astype(int))
    frame.insert(0, "pid", range(len(y)))
    result = read_clinical_spreadsheet(_write(tmp_path, frame), time_unit="days")
    assert (result.time_column, result.event_column) == ("rfstime", "status")
    np.testing.assert_array_equal(result.table["time"], y["time"])
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), y["cens"])


@pytest.mark.parametrize(
    ("header", "outcome"),
    [
        ("PFI.time", True), ("DFI", True), ("TTR_months", True), ("DMFS (months)", True),
        ("LC_months", True), ("Time to metastasis (months)", True), ("days_to_new_tumor_event", True),
        ("new_tumor_event_dx_indicator", True), ("tumor_status", True),
        ("last_known_disease_status", True),
        # GBSG's lymph-node file glues its endpoints ('rectime', 'censrec', 'censdead')
        ("rectime", True), ("censrec", True), ("censdead", True), ("survtime", True),
        ("recurrence_time", True), ("time_to_recurrence", True), ("dead", True),
        ("death_time", True), ("survival_time", True), ("censoring", True), ("cens_dead", True),
        # predictors: transthyretin, the tumour's HPV status, the state at diagnosis
        ("TTR (mg/dL)", False), ("hpv_tumor_status", False), ("disease_status_at_diagnosis", False),
        ("last_metastasis_site", False), ("metastasis", False), ("LC_ratio", False),
        ("receptor_status", False), ("rectum_dose (Gy)", False), ("recdate_of_surgery", False),
        # a time to DM is a distant metastasis's; a diabetes's duration is a predictor
        ("Time – diagnosis to DM(days)", True), ("time_to_dm", True), ("dm_time", True),
        ("DM duration (years)", False), ("DM_years", False), ("years since DM diagnosis", False),
        ("Local therapy (months)", False),
        # NLST glues its deaths ('finaldeathlc': of lung cancer); a breadth is no death
        ("finaldeathlc", True), ("dcfdeathlc", True), ("dth_days", True), ("fup_days", True),
        ("breadth (mm)", False), ("bandwidth", False), ("Progressive disease at diagnosis", False),
    ],
)  # fmt: skip
def test_outcome_columns_are_told_from_predictors(header: str, outcome: bool) -> None:
    """Outcomes known only after follow-up are never variables (PFI and DFI beside OS lifted a
    c-index from 0.77 to 0.94); the first rules dropped real predictors named alike."""
    from survival_core.io.headers import is_outcome_like, parse_header

    assert is_outcome_like(parse_header(header)) is outcome


LOOKALIKE_NAMES = [parse_header(header).name for header in BASELINE_LOOKALIKES]


def test_baseline_variables_named_like_an_endpoints_flag_stay_predictors(tmp_path: Path) -> None:
    """GBSG2's diabetes 'DM_status', nodal 'regional_lymph_node_status' (N0-N2), M stage
    'metastasis_status' (M0/M1), 'local_status', 'Distant', 'Regional' and 'LR' were dropped as
    "another outcome" by their names alone, with no time of such an endpoint in the sheet, and a
    model table left them out as outcomes."""
    result = read_clinical_spreadsheet(gbsg2_with_baseline_lookalikes(tmp_path))
    assert (result.time_column, result.event_column) == ("os_days", "os_event")
    assert set(LOOKALIKE_NAMES) <= set(result.variables.columns)
    assert not [c for c in result.report if "another outcome" in c.action]
    result.table.to_csv(table := tmp_path / "clinical.csv")
    assert set(LOOKALIKE_NAMES) <= set(load_model_table([table]).X.columns)


def test_an_endpoint_flag_beside_its_time_is_dropped_naming_it(tmp_path: Path) -> None:
    """'Distant' is distant metastasis beside 'Time to distant metastasis (days)': dropped,
    naming that column, as the diabetic 'DM_status' is there (rename it to keep it); the M stage
    'metastasis_status' (M0/M1) stays, stage values being no event, as do the others."""
    sheet = pd.read_csv(gbsg2_with_baseline_lookalikes(tmp_path))
    sheet["Time to distant metastasis (days)"] = sheet["os_days"]
    result = read_clinical_spreadsheet(_write(tmp_path, sheet), time_column="os_days")
    dropped = "dropped: another outcome, the event of 'Time to distant metastasis (days)', not a "
    for flag in ("Distant", "DM_status"):
        assert [c.action for c in result.report if c.column == flag] == [
            dropped + "clinical variable"
        ]
    kept = set(LOOKALIKE_NAMES) - {"distant", "dm_status"}
    assert kept <= set(result.variables.columns)
    assert not {"distant", "dm_status"} & set(result.variables.columns)


def test_a_flag_beside_a_length_of_its_own_kind_stays_a_predictor(tmp_path: Path) -> None:
    """A diabetic's 'DM' and 'DM_status' beside 'DM duration (years)', and a local treatment's
    'Local' beside 'Local therapy (months)', were dropped as "the event of" those lengths, which
    time no endpoint."""
    sheet = pd.read_csv(gbsg2_with_baseline_lookalikes(tmp_path))
    rng = np.random.default_rng(3)
    sheet["DM"], sheet["Local"] = sheet["DM_status"], sheet["local_status"]
    sheet["DM duration (years)"] = np.where(sheet["DM"] == 1, rng.integers(1, 20, len(sheet)), 0)
    sheet["Local therapy (months)"] = rng.integers(0, 6, len(sheet))
    result = read_clinical_spreadsheet(_write(tmp_path, sheet), time_column="os_days")
    assert {"dm", "dm_status", "local"} <= set(result.variables.columns)
    assert not [c for c in result.report if "another outcome" in c.action]


def test_every_death_of_a_vital_status_is_the_event(tmp_path: Path) -> None:
    """'Death from disease' and 'Death from other causes' in a vital status were refused as a
    competing outcome, with the advice of a recurrence's codes: in overall survival any death is
    the event."""
    X, y = load_veterans_lung_cancer()
    died = y["Status"]
    cause = np.where(np.arange(len(y)) % 2, "Death from disease", "Death from other causes")
    frame = pd.DataFrame(
        {
            "patient_id": range(len(y)),
            "OS_days": y["Survival_in_days"],
            "vital_status": np.where(died, cause, "Alive"),
        }
    )
    result = read_clinical_spreadsheet(_write(tmp_path, frame))
    np.testing.assert_array_equal(result.table["event"].to_numpy(bool), died)


@pytest.mark.parametrize(
    "cell", ["Unknown if dead", "unknown whether dead", "Dead?", "Not known if dead"]
)
def test_a_vital_status_not_known_is_missing_not_a_death(tmp_path: Path, cell: str) -> None:
    """'Unknown if dead' in a vital status was read as a death ('dead' in the cell), so was
    'Dead?': the 9 veterans censored alive, so written, counted as deaths. Each is read as
    missing, named with its count, as 'unknown' is; a death of unknown cause stays a death."""
    X, y = load_veterans_lung_cancer()
    status = np.where(y["Status"], "Dead", "Alive").astype(object)
    status[np.flatnonzero(~y["Status"])[:6]] = cell
    status[np.flatnonzero(~y["Status"])[6:]] = cell.upper()  # read alike, counted together
    status[np.flatnonzero(y["Status"])[:4]] = "Dead (unknown cause)"
    result = _read_veterans_status(tmp_path, y, status)
    event = result.table["event"]
    assert (int(event.sum()), int(event.isna().sum()), len(event)) == (128, 9, 137)
    written = ", ".join(map(repr, sorted({cell, cell.upper()})))  # as the sheet writes them
    said = f"deaths not known {written} read as missing: neither an event nor censored"
    assert said in report_actions(result, "vital_status")
    assert next(c.count for c in result.report if c.action == said) == 9


def _read_veterans_status(tmp_path: Path, y: np.ndarray, status: np.ndarray) -> ClinicalImport:
    """The veterans' OS in days with ``status`` as their vital status, read as the import does."""
    frame = pd.DataFrame(
        {"patient_id": range(len(y)), "OS_days": y["Survival_in_days"], "vital_status": status}
    )
    return read_clinical_spreadsheet(_write(tmp_path, frame))


@pytest.mark.parametrize("cell", ["Not dead", "not deceased", "No death", "Not yet dead"])
def test_a_vital_status_denying_the_death_is_alive(tmp_path: Path, cell: str) -> None:
    """'Not dead' in a vital status, a plain denial with no doubt in it, was read as missing (a
    death not known) as 'Not known if dead' is: the veterans' 9 censored patients so written
    lost their outcome. Each is alive, censored, said in the report's reading of the cells."""
    X, y = load_veterans_lung_cancer()
    status = np.where(y["Status"], "Dead", cell)
    result = _read_veterans_status(tmp_path, y, status)
    event = result.table["event"]
    assert (int(event.sum()), int((event == 0).sum()), int(event.isna().sum())) == (128, 9, 0)
    assert f"event from 'Dead' -> 1, {cell!r} -> 0" in report_actions(result, "vital_status")


@pytest.mark.parametrize(
    ("yes", "no"),
    [("Dead", "Not dead."), ("Dead!", "Not dead!"), ("Yes.", "No."), ("Yes;", "No,")],
)
def test_a_vital_status_ending_in_a_full_stop_reads_as_without_it(
    tmp_path: Path, yes: str, no: str
) -> None:
    """'Not dead.' (a denial ending in a full stop) was read as a death not known and 'No.' left
    unread: the veterans' 9 censored patients so written were missing (128 events, 0 censored,
    9 missing), 'Yes.' refused as no event at all. The marks ending a cell read as whitespace:
    128 deaths, 9 censored, each cell's reading said in the report as written."""
    X, y = load_veterans_lung_cancer()
    result = _read_veterans_status(tmp_path, y, np.where(y["Status"], yes, no))
    event = result.table["event"]
    assert (int(event.sum()), int((event == 0).sum()), int(event.isna().sum())) == (128, 9, 0)
    read = ", ".join(f"{cell!r} -> {int(cell == yes)}" for cell in sorted([yes, no]))
    assert f"event from {read}" in report_actions(result, "vital_status")


@pytest.mark.parametrize(
    ("no", "yes"),
    [
        ("Dead: no", "Dead: yes"),
        ("Dead - no", "Dead - yes"),
        ("Dead = No", "Dead = Yes"),
        ("Died: No", "Died: Yes"),
        ("Deceased: N", "Deceased: Y"),
    ],
)
def test_a_death_answered_no_is_alive(tmp_path: Path, no: str, yes: str) -> None:
    """'Dead: no' (a death's question answered no) was read as a death for its first word: the
    veterans' 9 censored patients so written counted as deaths (137 events of 128). Each is
    alive, censored, said in the report's reading of the cells; 'Dead: yes' stays a death."""
    X, y = load_veterans_lung_cancer()
    status = np.where(y["Status"], yes, no)
    result = _read_veterans_status(tmp_path, y, status)
    event = result.table["event"]
    assert (int(event.sum()), int((event == 0).sum()), int(event.isna().sum())) == (128, 9, 0)
    assert f"event from {no!r} -> 0, {yes!r} -> 1" in report_actions(result, "vital_status")


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("Décédé : oui", "Décédé : non"),
        ("Tot: ja", "Tot: nein"),
        ("Fallecido: sí", "Fallecido: no"),
        ("Overleden: ja", "Overleden: nee"),
        ("Óbito: sim", "Óbito: não"),
        ("Death: yes", "Death: no"),
    ],
)
@pytest.mark.parametrize("header", ["vital_status", "status", "OS_status", "PFS_STATUS"])
def test_a_death_answered_yes_in_any_language_is_a_death(
    tmp_path: Path, yes: str, no: str, header: str
) -> None:
    """A death's question answered abroad ('Décédé : oui' / 'Décédé : non'): the no was read as
    alive and the yes left missing, WHAS500 loaded with 0 events, 285 censored, 215 missing
    ('Death: yes' was refused as another outcome beside its read 'Death: no'). Both answers are
    read alike: 215 deaths, 285 censored."""
    X, y = load_whas500()
    frame = pd.DataFrame(
        {
            "patient_id": range(len(y)),
            "time_days": y["lenfol"],
            header: np.where(y["fstat"], yes, no),
        }
    )
    result = read_clinical_spreadsheet(_write(tmp_path, frame))
    event = result.table["event"]
    assert (int(event.sum()), int((event == 0).sum()), int(event.isna().sum())) == (215, 285, 0)
    read = ", ".join(f"{cell!r} -> {int(cell == yes)}" for cell in sorted([yes, no]))
    assert f"event from {read}" in report_actions(result, header)


@pytest.mark.parametrize(
    "unknown",
    [
        "Dead: unknown",
        "Dead - maybe",
        "Died: NA",
        "Dead: unclear",
        "Dead: n/a",
        "Dead: none",
        "Died: -",
    ],
)
def test_a_death_answered_with_doubt_or_no_value_is_not_known(tmp_path: Path, unknown: str) -> None:
    """'Dead: unknown' (a death's question left unanswered) was read as a death for its first
    word: 20 of the veterans' deaths so written counted. Each is missing, neither a death nor
    censored, said as a death not known; 'Dead: yes' / 'Dead: no' read as before. 'Dead: none'
    and 'Died: -' (no value, or a no not to be guessed) were still read as deaths (128 events,
    0 missing): missing too."""
    X, y = load_veterans_lung_cancer()
    status = np.where(y["Status"], "Dead: yes", "Dead: no").astype(object)
    status[np.flatnonzero(y["Status"])[:20]] = unknown
    result = _read_veterans_status(tmp_path, y, status)
    event = result.table["event"]
    assert (int(event.sum()), int((event == 0).sum()), int(event.isna().sum())) == (108, 9, 20)
    said = f"deaths not known {unknown!r} read as missing: neither an event nor censored"
    assert said in report_actions(result, "vital_status")


def test_an_event_column_read_only_as_censored_beside_unread_values_is_refused(
    tmp_path: Path,
) -> None:
    """A column whose values read are all censored beside others not read ('Décédé : non' read,
    'Décédé : peut-être' not) loaded with every event missing, the cohort without one, said in
    a report line only: it is refused, naming both and how to write the events."""
    X, y = load_whas500()
    status = np.where(y["fstat"], "Décédé : peut-être", "Décédé : non")
    frame = pd.DataFrame({"patient_id": range(len(y)), "time_days": y["lenfol"], "Death": status})
    with pytest.raises(ClinicalValueError) as refused:
        read_clinical_spreadsheet(_write(tmp_path, frame))
    assert str(refused.value) == (
        "The event column 'Death' holds 'décédé : peut-être', not read as an event, beside "
        "'décédé : non' read as censored: no patient would have the event. Write each event as "
        "'dead', 'yes' or 1 and each censored patient as 'alive', 'no' or 0, or state the codes "
        "in the header, e.g. 'Death (0=alive, 1=dead)'."
    )


@pytest.mark.parametrize("cell", ["No - dead", "No, died", "No (deceased)"])
def test_a_no_set_off_from_a_death_denies_nothing(tmp_path: Path, cell: str) -> None:
    """'No - dead' (a no answering another question beside the death) was read as a denial, the
    patient alive: 20 of the veterans' deaths so written lost. It denies nothing: not known,
    missing, named, as before the denials were read."""
    X, y = load_veterans_lung_cancer()
    status = np.where(y["Status"], "Dead", "Alive")
    status[np.flatnonzero(y["Status"])[:20]] = cell
    frame = pd.DataFrame(
        {"patient_id": range(len(y)), "OS_days": y["Survival_in_days"], "vital_status": status}
    )
    event = read_clinical_spreadsheet(_write(tmp_path, frame)).table["event"]
    assert (int(event.sum()), int((event == 0).sum()), int(event.isna().sum())) == (108, 9, 20)


#: lymph_node.csv's variables known at diagnosis: neither endpoint's time or event.
_LYMPH_NODE_BASELINE = [
    "age", "menopause", "hormone", "size", "grade", "nodes", "prog_recp", "estrg_recp"
]  # fmt: skip


def test_lymph_node_glued_endpoints_are_outcomes_not_variables(tmp_path: Path) -> None:
    """lifelines' lymph-node file imported per endpoint: the other endpoint's 'rectime' and
    'censrec' (after OS) or 'censdead' (after RFS) were kept as predictors (a c-index of 0.908
    for 0.731 on the baseline variables), and 'censrec' named no endpoint, so its 387 patients
    without recurrence lost their outcome to the check of a death date beside 'alive'."""
    path = lymph_node(tmp_path)
    rfs = read_clinical_spreadsheet(
        path, time_column="rectime", event_column="censrec", time_unit="days"
    )
    event = rfs.table["event"]
    assert (len(event), int((event == 1).sum()), int((event == 0).sum())) == (686, 299, 387)
    assert not rfs.no_outcome and (rfs.endpoint, rfs.endpoint_name) == ("disease", "rfs")
    assert list(rfs.variables.columns) == _LYMPH_NODE_BASELINE
    os_ = read_clinical_spreadsheet(
        path, time_column="survtime", event_column="censdead", time_unit="days"
    )
    assert list(os_.variables.columns) == _LYMPH_NODE_BASELINE
    assert (os_.endpoint, os_.endpoint_name) == ("death", "os")
    dropped = {c.column for c in os_.report if c.action.startswith("dropped: another outcome")}
    assert {"rectime", "censrec"} <= dropped


def test_an_event_naming_no_endpoint_keeps_the_living_beside_a_death_date(
    tmp_path: Path,
) -> None:
    """lymph-node's recurrence pair under scikit-survival's GBSG2 names, 'time' and 'cens',
    which name no endpoint, beside 'deathdate': the check of a death's event left the 387
    patients without recurrence without an outcome, though a recurrence's 0 says nothing of
    being alive."""
    sheet = pd.read_csv(lymph_node(tmp_path)).drop(columns=["survtime", "censdead"])
    sheet = sheet.rename(columns={"rectime": "time", "censrec": "cens"})
    result = read_clinical_spreadsheet(
        _write(tmp_path, sheet), time_column="time", event_column="cens", time_unit="days"
    )
    event = result.table["event"]
    assert not result.no_outcome
    assert (int((event == 1).sum()), int((event == 0).sum())) == (299, 387)
    np.testing.assert_array_equal(result.table["time"], sheet["time"])


def test_a_death_date_at_a_living_patients_follow_up_end_is_the_last_contact(
    tmp_path: Path,
) -> None:
    """lymph-node's 'deathdate' is the last contact of its 515 living patients ('diagdateb'
    plus 'survtime' to the day): each was left without an outcome as alive beside a date of
    death, and the 171 deaths fitted alone. A date away from the follow-up's end still is a
    contradiction, named."""
    path = lymph_node(tmp_path)
    given = {"time_column": "survtime", "event_column": "censdead", "time_unit": "days"}
    result = read_clinical_spreadsheet(path, **given)
    event = result.table["event"]
    assert (len(event), int((event == 1).sum()), int((event == 0).sum())) == (686, 171, 515)
    assert not result.no_outcome
    said = [(c.column, c.action, c.count) for c in result.report]
    assert (
        "(censdead / deathdate)",
        "a date in 'deathdate' at the end of a living patient's follow-up ('diagdateb' plus the "
        "time): read as the last contact, not a death",
        515,
    ) in said
    sheet = pd.read_csv(path, dtype=str)
    wrong = sheet.index[sheet["censdead"] == "0"][:2]
    sheet.loc[wrong, "deathdate"] = "01-01-1985"  # before their follow-up's end
    result = read_clinical_spreadsheet(_write(tmp_path, sheet), **given)
    assert result.table["event"].isna().to_numpy().nonzero()[0].tolist() == wrong.tolist()
    assert int((result.table["event"] == 0).sum()) == 513
    alive = [c for c in result.report if c.action.startswith("alive by the event column")]
    assert [(c.column, c.count) for c in alive] == [("(censdead / deathdate)", 2)]


def test_lymph_node_with_no_outcome_columns_named_pairs_each_time_with_its_glued_event(
    tmp_path: Path,
) -> None:
    """lymph-node imported with the Cohort page's outcome fields blank: 'censdead' beside
    'survtime' was not found, the event was whether 'deathdate' held a date (the living's last
    contact), and all 686 patients were counted dead. A recurrence's time named alone takes its
    'censrec'."""
    path = lymph_node(tmp_path)
    sheet = pd.read_csv(path)
    os_ = read_clinical_spreadsheet(path, time_unit="days")
    event = os_.table["event"]
    assert (os_.time_column, os_.event_column) == ("survtime", "censdead")
    assert (len(event), int((event == 1).sum()), int((event == 0).sum())) == (686, 171, 515)
    assert not os_.no_outcome and (os_.endpoint, os_.endpoint_name) == ("death", "os")
    np.testing.assert_array_equal(os_.table["time"], sheet["survtime"])
    rfs = read_clinical_spreadsheet(path, time_column="rectime", time_unit="days")
    event = rfs.table["event"]
    assert (rfs.time_column, rfs.event_column) == ("rectime", "censrec")
    assert (int((event == 1).sum()), int((event == 0).sum())) == (299, 387)
    assert (rfs.endpoint, rfs.endpoint_name) == ("disease", "rfs")


def test_an_import_where_every_patient_has_the_event_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """lymph-node without its 'censdead': the event is whether 'deathdate' holds a date, and it
    holds the living's last contact, so all 686 patients were dead with no word at import
    ('clinical_rows_without_outcome': 0); only a later fit warned. The import warns as fit
    does, naming the death date column."""
    import json

    from survival_core.cli.main import main

    sheet = pd.read_csv(lymph_node(tmp_path)).drop(columns=["censdead"])
    cohort = tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(_write(tmp_path, sheet)), "--out", str(cohort)]
    assert main([*argv, "--time-unit", "days", "--json"]) == 0
    out, err = capsys.readouterr()
    said = (
        "(from dates): No censored patient: Every one of the 686 patients with an outcome has "
        "the event, none is censored."
    )
    (warning,) = json.loads(out.strip().splitlines()[-1])["warnings"]
    assert warning.startswith(said)
    assert "whether each date in 'deathdate' is a death" in warning
    assert f"warning: clinical: {said}" in err
    assert int(pd.read_csv(cohort / "clinical.csv")["event"].sum()) == 686


def test_an_outcome_changed_from_dates_advises_leaving_the_column_out(tmp_path: Path) -> None:
    """lymph-node's overall survival, its event from 'deathdate' (no 'censdead'), then its
    recurrence's 'rectime'/'censrec' into one cohort: the 'Outcome changed' warning's way back
    named "--event-column '(from dates)'", a column no sheet has."""
    from survival_core.cohort.clinical_join import import_table

    path = lymph_node(tmp_path)
    sheet = pd.read_csv(path).drop(columns=["censdead"])
    cohort = tmp_path / "cohort"
    import_table(cohort, _write(tmp_path, sheet), time_unit="days")
    changed = [
        warning
        for warning in import_table(
            cohort, path, time_column="rectime", event_column="censrec", time_unit="days"
        ).warnings()
        if "Outcome changed" in warning
    ]
    assert len(changed) == 1 and changed[0].endswith(
        "import the sheet with the earlier columns to keep that one: --time-column 'survtime' "
        "(Cohort page: Survival time column 'survtime'; Python: time_column=) and no "
        "--event-column (Cohort page: Event column left blank; Python: event_column=None), the "
        "event read from the dates as before (686)"
    )


def _gbsg2_sheet(time: str, event: str, events: np.ndarray, **more: np.ndarray) -> pd.DataFrame:
    """GBSG2's patients, their recurrence-free times (days) under ``time`` and ``events`` (0/1)
    under ``event``, beside ``more`` columns."""
    X, y = load_gbsg2()
    frame = X.assign(**{time: y["time"], event: events.astype(int)}, **more)
    frame.insert(0, "patient_id", [f"G{i:04d}" for i in range(len(y))])
    return frame


@pytest.mark.parametrize(
    ("written", "abbreviated", "event", "name"),
    [
        ("progression-free survival", "pfs_time", "pfs_event", "pfs"),
        ("Progression free survival (days)", "PFS (days)", "pfs_status", "pfs"),
        ("disease-free survival", "dfs_time", "dfs_event", "dfs"),
        ("Recurrence-free survival", "rfs_time", "rfs_event", "rfs"),
        ("overall survival", "os_time", "death", "os"),
    ],
)
def test_an_endpoint_written_out_is_its_abbreviations(
    tmp_path: Path, written: str, abbreviated: str, event: str, name: str
) -> None:
    """GBSG2's recurrence-free times under 'progression-free survival' or 'disease-free survival'
    were no time (the import refused the sheet); under 'overall survival' they took a bare
    'status' beside them (GBSG2's 299 recurrences) as an OS's event where 'os_time' takes its
    'death' column. Written out, an endpoint is found, paired and named as its abbreviation."""
    _, y = load_gbsg2()
    died = y["cens"] & (np.random.default_rng(3).random(len(y)) < 0.6)
    events = died if event == "death" else y["cens"]
    read = [
        read_clinical_spreadsheet(
            _write(tmp_path, _gbsg2_sheet(time, event, events, status=y["cens"].astype(int))),
            time_unit="days",
        )
        for time in (written, abbreviated)
    ]
    assert [(r.time_column, r.event_column) for r in read] == [
        (written, event),
        (abbreviated, event),
    ]
    assert read[0].endpoint == read[1].endpoint == ("death" if event == "death" else "disease")
    assert read[0].endpoint_name == read[1].endpoint_name == name
    words = [r.source.words() for r in read]
    assert words[0].survival == words[1].survival != "survival"
    assert words[0].events == words[1].events.replace(repr(abbreviated), repr(written))
    np.testing.assert_array_equal(read[0].table["event"].to_numpy(bool), events)


@pytest.mark.parametrize(
    ("tcga", "named", "endpoint"),
    [
        ("DFS", ("dfs_time", "dfs_event"), "disease"),
        ("PFS", ("pfs_time", "pfs_event"), "disease"),
        ("OS", ("os_time", "os_event"), "death"),
    ],
)
def test_tcga_and_r_endpoint_beside_its_time_is_its_event(
    tmp_path: Path, tcga: str, named: tuple[str, str], endpoint: str
) -> None:
    """GBSG2's recurrence-free outcome as R's and TCGA's exports write it, 'DFS.time' beside its
    0/1 'DFS': no event was found (the import refused the sheet), where 'dfs_time'/'dfs_event'
    read as a disease-free survival's. 'X.time' and 'X' are that endpoint, as 'OS.time'/'OS'."""
    _, y = load_gbsg2()
    read = [
        read_clinical_spreadsheet(
            _write(tmp_path, _gbsg2_sheet(*pair, y["cens"])), time_unit="days"
        )
        for pair in ((f"{tcga}.time", tcga), named)
    ]
    assert (read[0].time_column, read[0].event_column) == (f"{tcga}.time", tcga)
    assert [(r.endpoint, r.endpoint_name) for r in read] == [(endpoint, tcga.lower())] * 2
    for r in read:
        np.testing.assert_array_equal(r.table["time"], y["time"])
        np.testing.assert_array_equal(r.table["event"].to_numpy(bool), y["cens"])


@pytest.mark.parametrize(
    ("time", "event", "unit", "days_per_unit", "name"),
    [
        ("TTR_days", "TTR_status", "days", 1.0, "ttr"),
        ("TTR.time", "TTR_status", None, 1.0, "ttr"),
        ("PFI.time", "PFI", None, 1.0, "pfi"),
        ("TTP.time", "TTP_status", None, 1.0, "ttp"),
        ("DFI_months", "DFI_status", "months", 365.25 / 12, "dfi"),
        ("DFS_months", "DFS_status", "months", 365.25 / 12, "dfs"),
        ("OS_time_days", "OS_status", "days", 1.0, "os"),
        ("DFI (years)", "DFI_status", "years", 365.25, "dfi"),
    ],
)
def test_every_endpoints_time_is_found_by_its_name_and_unit(
    tmp_path: Path, time: str, event: str, unit: str | None, days_per_unit: float, name: str
) -> None:
    """GBSG2's recurrence-free outcome under an endpoint's time as TCGA and common exports name
    it: 'TTR_days', 'PFI.time' and 'DFI_months' were no time (the import refused the sheet:
    'no survival time and event column recognised') where 'OS_days' and 'OS.time' were. Every
    endpoint's abbreviation before 'time', or with a time unit, names its time in that unit;
    a transthyretin 'TTR (mg/dL)' beside another endpoint's stays a variable."""
    X, y = load_gbsg2()
    lab = {} if name == "ttr" else {"TTR (mg/dL)": X["age"] / 3}
    frame = _gbsg2_sheet(time, event, y["cens"], **lab)
    result = read_clinical_spreadsheet(
        _write(tmp_path, frame), **({} if unit else {"time_unit": "days"})
    )
    assert (result.time_column, result.event_column, result.time_unit) == (
        time,
        event,
        unit or "days",
    )
    assert result.endpoint_name == name
    np.testing.assert_allclose(result.table["time"], y["time"] * days_per_unit, rtol=1e-6)
    assert int(result.table["event"].sum()) == 299
    assert ("ttr" in result.table.columns) == bool(lab)


@pytest.mark.parametrize(
    ("time", "event", "predictor"),
    [("rfstime", "status", "DFI"), ("Progression free survival (days)", "PFS event", "PFI"),
     ("rfs_days", "rfs_status", "TTR")],
)  # fmt: skip
def test_an_interval_named_alone_is_not_the_time(
    tmp_path: Path, time: str, event: str, predictor: str
) -> None:
    """A column named as an interval alone (a platinum-free interval 'PFI', 'DFI', transthyretin
    'TTR') beside GBSG2's recurrence-free time: once every endpoint's abbreviation named a time,
    'DFI' was read as the time (median 32 'days') and 'rfstime' left out."""
    X, y = load_gbsg2()
    values = np.random.default_rng(3).uniform(0, 60, len(y)).round(1)
    frame = _gbsg2_sheet(time, event, y["cens"], **{predictor: values})
    result = read_clinical_spreadsheet(_write(tmp_path, frame), time_unit="days")
    assert (result.time_column, result.event_column) == (time, event)
    np.testing.assert_allclose(result.table["time"], y["time"])


def test_a_given_events_own_time_is_taken_before_another_of_its_kind(tmp_path: Path) -> None:
    """TCGA's Pan-Cancer outcomes with only the event 'DFI' given: 'PFI.time', a disease's time
    named first, was taken for it (each patient's PFI time with the DFI events, 0 missing where
    'DFI.time' has 155 gaps); the event's own 'DFI.time' is."""
    X, y = load_gbsg2()
    dfi_time = (y["time"] * 0.5).astype(int).astype(object)
    dfi_time[np.random.default_rng(3).random(len(y)) < 0.2] = ""
    frame = _gbsg2_sheet("PFI.time", "PFI", y["cens"], **{"DFI": y["cens"].astype(int)})
    frame = frame.assign(**{"OS": 0, "OS.time": y["time"] + 300, "DFI.time": dfi_time})
    result = read_clinical_spreadsheet(
        _write(tmp_path, frame), event_column="DFI", time_unit="days"
    )
    assert (result.time_column, result.endpoint_name) == ("DFI.time", "dfi")
    assert int(result.table["time"].isna().sum()) == int((dfi_time == "").sum())


@pytest.mark.parametrize("event", ["status", "recur"])
def test_r_glued_recurrence_free_time_is_a_recurrences_endpoint(tmp_path: Path, event: str) -> None:
    """GBSG2 as R's survival::gbsg ('rfstime', 'status') and ::rotterdam ('recur') write it:
    'rfstime' was named 'rfs' but of no endpoint class, its model worded 'endpoint not named'
    (where 'rfs_time' is a recurrence's), and 'recur' was no event. Both read as 'rfs_time'."""
    _, y = load_gbsg2()
    read = [
        read_clinical_spreadsheet(
            _write(tmp_path, _gbsg2_sheet(time, event, y["cens"])), time_unit="days"
        )
        for time in ("rfstime", "rfs_time")
    ]
    assert [(r.time_column, r.event_column) for r in read] == [
        ("rfstime", event),
        ("rfs_time", event),
    ]
    assert [(r.endpoint, r.endpoint_name, r.deaths_counted) for r in read] == [
        ("disease", "rfs", None if event == "status" else False)
    ] * 2
    words = read[0].source.words()
    assert words.survival == "survival free of recurrence or progression"
    np.testing.assert_array_equal(read[0].table["event"].to_numpy(bool), y["cens"])


@pytest.mark.parametrize(
    ("event", "deaths_counted"),
    [("efs_status (0=event-free, 1=event or death)", True), ("efs_status", None)],
)
def test_an_event_free_survival_is_worded_so_never_as_overall_survival(
    tmp_path: Path, event: str, deaths_counted: bool | None
) -> None:
    """GBSG2's recurrences and a made-up 10 % of the others dead as an EFS beside the vital
    status: 'efs_status (0=event-free, 1=event or death)' was a death's endpoint, its model
    worded overall survival and its 337 events deaths; a bare 'efs_status' named no endpoint.
    An EFS is an event-free survival, its events named as its column records them."""
    _, y = load_gbsg2()
    died = ~y["cens"] & (np.random.default_rng(1).random(len(y)) < 0.1)
    sheet = _gbsg2_sheet("efs_time", event, y["cens"] | died, vital_status=np.where(died, 1, 0))
    result = read_clinical_spreadsheet(_write(tmp_path, sheet), time_unit="days")
    assert (result.time_column, result.event_column) == ("efs_time", event)
    assert (result.endpoint, result.endpoint_name, result.deaths_counted) == (
        "disease",
        "efs",
        deaths_counted,
    )
    assert int(result.table["event"].sum()) == int((y["cens"] | died).sum()) == 337
    words, kinds = (
        result.source.words(),
        f"recurrence, progression or death, as {event!r} records them",
    )
    assert (words.survival, words.short, words.events) == (
        "event-free survival",
        "event-free survival",
        f"events ({kinds})",
    )
    assert words.outcome == f"event-free survival ('efs_time'/{event!r}; events: {kinds})"
    assert result.source.said() == f"'efs_time'/{event!r} (event-free survival's event)"
