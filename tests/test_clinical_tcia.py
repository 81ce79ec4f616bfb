"""TCIA collections' clinical sheets, their headers and codes as the collections publish them,
filled from real cohorts (:mod:`tests.clinical_exports`) so that their true counts are known:
each was read wrong, or refused, before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survival_core.cohort.clinical_table import asks_to_act, read_clinical_spreadsheet
from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.clinical_schema import INTEGER, YES_NO
from survival_core.io.headers import is_outcome_like, parse_header
from tests.clinical_exports import (
    gbsg2,
    hcc_tace_seg,
    head_neck_pet_ct,
    head_neck_radiomics_hn1,
    lymph_node,
    nsclc_radiogenomics,
    radcure,
    report_actions,
    veterans,
)


def test_hcc_codes_written_in_the_header_are_read_as_stated(tmp_path: Path) -> None:
    """'Censored_0_progressed_1' was inverted for its 'censored' (70 progressions of 105, truth
    35); 'Death_1_StillAliveorLostToFU_0' was not found as OS's event."""
    path = hcc_tace_seg(tmp_path)
    ttp = read_clinical_spreadsheet(
        path, time_column="TTP", event_column="Censored_0_progressed_1", time_unit="months"
    )
    assert int(ttp.table["event"].sum()) == 35
    assert (ttp.endpoint, ttp.deaths_counted) == ("disease", False)
    assert report_actions(ttp, "Censored_0_progressed_1")[-1].startswith(
        "event from the codes stated in the header"
    )
    os_ = read_clinical_spreadsheet(path, time_unit="months")
    assert (os_.time_column, os_.event_column) == ("OS", "Death_1_StillAliveorLostToFU_0")
    assert int(os_.table["event"].sum()) == 54
    assert list(os_.table.columns) == ["time", "event", "age", "bclc"]


def test_vs_headers_are_variables_not_codes_and_codes_keep_their_header_name(
    tmp_path: Path,
) -> None:
    """'ECOG_0_vs_1' was read as the codes of 'ecog' and 'vs': a yes/no named 'vs' (beside
    'Nodes_0_vs_1', refused as the same variable). Only a header whose every meaning is an
    outcome's states its codes, and it keeps its name ('progressed' was the variable's)."""
    export = gbsg2(tmp_path)
    frame = pd.read_csv(export.path)
    rng = np.random.default_rng(2)
    for header in ("ECOG_0_vs_1", "Stage_I_II_0_vs_III_IV_1", "Nodes_0_vs_1"):
        frame[header] = rng.integers(0, 2, len(frame))
    frame.to_csv(path := tmp_path / "vs.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert int(result.table["event"].sum()) == int(export.y["cens"].sum())
    schema = {v.name: (v.kind, v.label) for v in result.schema.variables}
    assert "vs" not in schema
    assert schema["ecog_0_vs_1"] == (INTEGER, "ECOG_0_vs_1")  # a scale, as before 252dbcd
    assert schema["stage_i_ii_0_vs_iii_iv_1"] == (INTEGER, "Stage_I_II_0_vs_III_IV_1")
    assert schema["nodes_0_vs_1"] == (YES_NO, "Nodes_0_vs_1")
    header = parse_header("Censored_0_progressed_1")
    assert (header.name, header.label, header.codes) == (
        "censored_0_progressed_1",
        "Censored_0_progressed_1",
        "Censored_0_progressed_1",
    )
    assert parse_header("ECOG_0_vs_1").codes == ""


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


def test_head_neck_pet_ct_other_endpoints_are_no_predictors_of_os(tmp_path: Path) -> None:
    """An OS import kept the 0/1 'Locoregional' and 'Distant' and 'Time – diagnosis to
    LR(days)' as predictors: a model learnt the outcome back from them."""
    result = read_clinical_spreadsheet(
        head_neck_pet_ct(tmp_path),
        time_column="Time – diagnosis to last follow-up(days)",
        event_column="Death",
    )
    assert int(result.table["event"].sum()) == 139
    assert list(result.table.columns) == ["time", "event", "age", "m_stage"]


@pytest.mark.parametrize(
    ("header", "outcome"),
    [
        ("Locoregional", True), ("Distant", True), ("LRC", True), ("Local", True),
        ("Time – diagnosis to LR(days)", True), ("Time - diagnosis to DM(days)", True),
        # baseline predictors named alike, and diabetes mellitus
        ("distant_metastasis_at_diagnosis", False), ("M stage", False), ("cM", False),
        ("Clinical.M.Stage", False), ("metastatic (at baseline)", False), ("DM", False),
        ("local_therapy", False),
        # HN1's event flags of its other endpoints
        ("event_distant_metastases", True), ("distant_metastases_status", True),
        ("performance_status", False), ("hpv_status", False),
    ],
)  # fmt: skip
def test_locoregional_and_distant_endpoints_are_outcomes(header: str, outcome: bool) -> None:
    """Head-Neck-PET-CT's and RADCURE's recurrence flags and times are outcomes; the M stage
    and a metastasis at diagnosis stay predictors."""
    assert is_outcome_like(parse_header(header)) is outcome


def test_hn1_event_flags_of_other_endpoints_are_no_predictors(tmp_path: Path) -> None:
    """'event_distant_metastases' stayed a predictor of OS beside its dropped siblings."""
    result = read_clinical_spreadsheet(
        head_neck_radiomics_hn1(tmp_path),
        time_column="overall_survival_in_days",
        event_column="event_overall_survival",
    )
    assert int(result.table["event"].sum()) == 128
    assert list(result.table.columns) == ["time", "event", "age_at_diagnosis", "performance_status"]


def test_head_neck_pet_ct_censored_lr_times_come_from_the_last_follow_up(tmp_path: Path) -> None:
    """The locoregional endpoint's time is blank for the censored, their time in the last
    follow-up column: 211 of 298 outcomes were lost (every patient kept recurred)."""
    path = head_neck_pet_ct(tmp_path)
    result = read_clinical_spreadsheet(
        path, time_column="Time – diagnosis to LR(days)", event_column="Locoregional"
    )
    sheet = pd.read_csv(path)
    censored = sheet["Locoregional"].to_numpy() == 0
    assert (int(result.table["event"].sum()), int(censored.sum())) == (87, 211)
    assert result.no_outcome == []
    follow_up = sheet["Time – diagnosis to last follow-up(days)"].to_numpy()
    assert (result.table["time"].to_numpy()[censored] == follow_up[censored]).all()
    assert (
        "blank for censored patients: their censoring time taken from 'Time – diagnosis to last "
        "follow-up(days)', the last follow-up"
    ) in report_actions(result, "Time – diagnosis to LR(days)")


def _veterans_blank_for_the_living(folder: Path, follow_up: str, values) -> Path:
    """The veterans' trial with 'Time to death (days)' blank for its 9 living patients and a
    follow-up column ``follow_up`` holding ``values(sheet)`` for every patient."""
    sheet = pd.read_csv(veterans(folder).path, sep="\t")
    sheet["Time to death (days)"] = sheet["Survival_in_days"].where(sheet["Status"] == "Dead")
    sheet[follow_up] = values(sheet)
    sheet.drop(columns="Survival_in_days").to_csv(path := folder / "vet.csv", index=False)
    return path


@pytest.mark.parametrize(
    ("follow_up", "values", "said"),
    [
        ("Year of last follow-up", lambda s: 1970 + s["Survival_in_days"] // 365, None),
        (
            "Age at last follow-up (years)",
            lambda s: (s["Age_in_years"] + s["Survival_in_days"] / 365.25).round(1),
            None,
        ),
        (  # a date column whose cells lost their format: Excel's serial day numbers
            "Time to last follow-up (days)",
            lambda s: 40_637 + s["Survival_in_days"],
            "blank for censored patients: 'Time to last follow-up (days)' not taken as their "
            "censoring time: its 40,662 to 40,868 days are each above 10 times the longest time "
            "in 'Time to death (days)' (999 days), no length of follow-up (a year, an age or a "
            "date?); their outcomes are left missing: write the censored patients' times in "
            "'Time to death (days)', in its unit",
        ),
    ],
)
def test_a_year_age_or_date_of_the_last_follow_up_is_no_censoring_time(
    tmp_path: Path, follow_up: str, values, said: str | None
) -> None:
    """The 9 living veterans' blank 'Time to death (days)' was filled from 'Year of last
    follow-up' (719,542 days each) or 'Age at last follow-up (years)' (19,018 to 25,667 days):
    they stay missing, said, as does a follow-up column far beyond the observed times."""
    path = _veterans_blank_for_the_living(tmp_path, follow_up, values)
    result = read_clinical_spreadsheet(path)
    assert (len(result.no_outcome), result.table["time"].max()) == (9, 999)
    time_lines = report_actions(result, "Time to death (days)")
    assert not any("their censoring time taken from" in line for line in time_lines)
    assert (said in time_lines) if said else not any(follow_up in line for line in time_lines)
    warning = next(c.action for c in result.report if c.column == "(rows)")
    assert warning.startswith("Censored outcomes missing: ")
    assert "each of the 9 is censored (event 0) without a time" in warning


def test_radiogenomics_time_to_death_blank_for_the_living_is_not_the_time(tmp_path: Path) -> None:
    """'Time to Death (days)', found by name beside 'Survival Status', left out the 49 living:
    162 events of 162 kept, said in an info line. Refused naming the start date the dates need;
    given it, the dates give 162 deaths and 49 censored; with no dates the loss is a warning."""
    path = nsclc_radiogenomics(tmp_path)
    with pytest.raises(InputError, match=r"no start date is recognised among 'CT Date'"):
        read_clinical_spreadsheet(path, event_column="Survival Status")
    dated = read_clinical_spreadsheet(path, event_column="Survival Status", time_column="CT Date")
    assert (len(dated.table), int(dated.table["event"].sum())) == (211, 162)
    assert dated.table["time"].notna().all()
    pd.read_csv(path).rename(columns={"CT Date": "Date of diagnosis"}).to_csv(
        started := tmp_path / "started.csv", index=False
    )
    from_dates = read_clinical_spreadsheet(started, event_column="Survival Status")
    assert from_dates.time_column == "(from dates)"
    assert from_dates.table["time"].tolist() == dated.table["time"].tolist()
    assert "not the time: blank for every censored patient; the time is from the dates" in (
        report_actions(from_dates, "Time to Death (days)")
    )
    sheet = pd.read_csv(path).drop(columns=["Date of Last Known Alive", "Date of Death"])
    sheet.to_csv(undated := tmp_path / "undated.csv", index=False)
    result = read_clinical_spreadsheet(undated, event_column="Survival Status")
    assert len(result.no_outcome) == 49
    warning = next(str(c) for c in result.report if c.column == "(rows)")
    assert warning.startswith("(rows): Censored outcomes missing: no usable time/event for ")
    assert "each of the 49 is censored (event 0) without a time, and every patient kept" in warning
    assert asks_to_act(warning.removeprefix("(rows): "))


def _blanked_gbsg2(folder: Path, blank: str) -> Path:
    """GBSG2 with the column ``blank`` left blank for its 387 censored patients."""
    path = gbsg2(folder).path
    sheet = pd.read_csv(path)
    sheet[blank] = sheet[blank].where(sheet["event"] == 1)
    sheet.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("sheet", "options", "missing", "censored"),
    [
        (lambda folder: _blanked_gbsg2(folder, "RFS (months)"), {}, 387, True),
        (lambda folder: _blanked_gbsg2(folder, "event"), {}, 387, False),
        (lymph_node, {"time_column": "diagdateb", "event_column": "censdead"}, 515, False),
    ],
)
def test_most_outcomes_missing_calls_censored_only_those_without_a_time(
    tmp_path: Path, sheet, options: dict[str, str], missing: int, censored: bool
) -> None:
    """GBSG2's 387 censored patients without a time are each said censored without one, in a
    sentence of its own. Those with a time and a blank event, or lymph-node's 515 alive with a
    date of death (both left missing), were said 'censored (event 0) without a time' too."""
    result = read_clinical_spreadsheet(sheet(tmp_path), **options)
    warning = next(c.action for c in result.report if c.column == "(rows)")
    assert (len(result.no_outcome), len(result.table)) == (missing, 686)
    assert warning.startswith("Most outcomes missing: ")
    said = f"alone. Each of the {missing} is censored (event 0) without a time, and every patient"
    if censored:
        assert said in warning
    else:
        assert "censored (event 0)" not in warning
        assert "alone. Check why in the lines above (the event's or time's column" in warning


@pytest.mark.parametrize("dash", ["–", "-"])
def test_plainly_named_outcomes_are_recognised_by_default(tmp_path: Path, dash: str) -> None:
    """HN1's 'event_overall_survival' beside 'overall_survival_in_days' was no event found,
    Head-Neck-PET-CT's 'Time – diagnosis to last follow-up(days)' no time (en dash or hyphen)."""
    hn1 = read_clinical_spreadsheet(head_neck_radiomics_hn1(tmp_path))
    assert (hn1.time_column, hn1.event_column) == (
        "overall_survival_in_days",
        "event_overall_survival",
    )
    assert int(hn1.table["event"].sum()) == 128
    follow_up = f"Time {dash} diagnosis to last follow-up(days)"
    sheet = pd.read_csv(head_neck_pet_ct(tmp_path))
    sheet.columns = [c.replace("–", dash) for c in sheet.columns]
    sheet.to_csv(path := tmp_path / "hn.csv", index=False)
    pet_ct = read_clinical_spreadsheet(path)
    assert (pet_ct.time_column, pet_ct.event_column) == (follow_up, "Death")
    assert (pet_ct.table["time"].notna().sum(), int(pet_ct.table["event"].sum())) == (298, 139)


def test_a_vital_status_event_is_overall_survivals(tmp_path: Path) -> None:
    """RADCURE's 'Status' Alive/Dead and Radiogenomics' 'Survival Status' by dates counted deaths
    but recorded no endpoint: `score` said plain 'survival'."""
    rc = read_clinical_spreadsheet(
        radcure(tmp_path), time_column="Length FU", event_column="Status", time_unit="years"
    )
    assert (int(rc.table["event"].sum()), rc.endpoint, rc.deaths_counted) == (215, "death", True)
    rg = read_clinical_spreadsheet(
        nsclc_radiogenomics(tmp_path), time_column="CT Date", event_column="Survival Status"
    )
    assert (int(rg.table["event"].sum()), rg.endpoint) == (162, "death")
