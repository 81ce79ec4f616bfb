"""Clinical tables as statistics software and spreadsheets write them (SAS/CDISC ADaM, Stata, R,
REDCap, a data warehouse), read without the export's habits reaching the model: day numbers
under date headers, R's row names, REDCap's form status, inverted event columns, sentinel and
missing codes.

The tables are scikit-survival's real GBSG2 (overall-survival-like time in days, 299 events in
686) with the dates a registry holds for them (diagnosis, birth, last contact).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv import datasets

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from tests.clinical_exports import report_actions

COVARIATES = ["age", "estrec", "horTh", "menostat", "pnodes", "progrec", "tgrade", "tsize"]
SAS_EPOCH = pd.Timestamp("1960-01-01")  # SAS and Stata count days from here
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _days(dates: pd.Series, epoch: pd.Timestamp) -> pd.Series:
    return (dates - epoch).dt.days


@pytest.fixture(scope="module")
def gbsg2() -> pd.DataFrame:
    """GBSG2's patients: ID, time (days), event, covariates, and dates of diagnosis, birth and
    last contact consistent with them."""
    X, y = datasets.load_gbsg2()
    rng = np.random.default_rng(0)
    frame = X.reset_index(drop=True).copy()
    frame.insert(0, "pid", [f"G{i:03d}" for i in range(len(X))])
    frame["time"], frame["event"] = y["time"].astype(int), y["cens"].astype(int)
    frame["diag"] = pd.Timestamp("1984-07-01") + pd.to_timedelta(
        rng.integers(0, 5 * 365, len(X)), unit="D"
    )
    frame["dob"] = frame["diag"] - pd.to_timedelta((frame["age"] * 365.25).astype(int), unit="D")
    frame["last"] = frame["diag"] + pd.to_timedelta(frame["time"], unit="D")
    return frame


def test_day_numbers_under_date_headers_are_dates_not_variables(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """SAS dates under CDISC ADaM's names (RANDDT, ADT), Stata's 'dxdate' and a warehouse's
    camelCase 'DiagnosisDate' were kept as integer variables: the end date leaked the outcome
    (a Cox c-index of 0.98 instead of 0.66)."""
    adam = gbsg2[["pid", "time", "event", *COVARIATES]].rename(
        columns={"pid": "subject_id", "time": "os_days", "event": "dead"}
    )
    adam["RANDDT"], adam["ADT"] = _days(gbsg2["diag"], SAS_EPOCH), _days(gbsg2["last"], SAS_EPOCH)
    adam.to_csv(path := tmp_path / "adam.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert list(result.dates.columns) == ["RANDDT", "ADT"]
    assert list(result.variables.columns) == [c.lower() for c in COVARIATES]
    assert any("kept aside, not a model variable" in a for a in report_actions(result, "ADT"))

    stata = adam.drop(columns=["RANDDT", "ADT"])
    stata["dxdate"] = _days(gbsg2["diag"], SAS_EPOCH)
    stata.to_csv(path := tmp_path / "stata.csv", index=False)
    assert "dxdate" not in read_clinical_spreadsheet(path).variables

    camel = gbsg2[["pid", *COVARIATES]].rename(columns={"pid": "PatientID"})
    camel["DiagnosisDate"] = _days(gbsg2["diag"], EXCEL_EPOCH)
    camel["LastContactDate"] = _days(gbsg2["last"], EXCEL_EPOCH)
    camel["VitalStatus"] = np.where(gbsg2["event"] == 1, "Deceased", "Alive")
    camel.to_csv(path := tmp_path / "warehouse.csv", index=False)
    result = read_clinical_spreadsheet(path)  # the dates give the time: a start, an end
    assert result.time_column == "(from dates)"
    assert list(result.variables.columns) == [c.lower() for c in COVARIATES]
    np.testing.assert_array_equal(result.table["time"], gbsg2["time"])


def test_a_start_date_named_diag_gives_the_time(tmp_path: Path, gbsg2: pd.DataFrame) -> None:
    """Stata's 'date_diag' was no start date: the import refused, 'no start date'."""
    frame = gbsg2[["pid", *COVARIATES, "event"]].rename(columns={"event": "dead"})
    frame["date_diag"] = _days(gbsg2["diag"], SAS_EPOCH)
    frame["date_last_fu"] = _days(gbsg2["last"], SAS_EPOCH)
    frame.to_csv(path := tmp_path / "stata_dates.csv", index=False)
    result = read_clinical_spreadsheet(path)
    np.testing.assert_array_equal(result.table["time"], gbsg2["time"])


@pytest.mark.parametrize("form", ["%d%b%Y", "%d%b%Y lower", "%d-%b-%y"])
def test_dates_with_month_names_give_the_time(
    tmp_path: Path, gbsg2: pd.DataFrame, form: str
) -> None:
    """SAS's DATE9. ('11DEC1998'), Stata's %td ('11dec1998') and Excel's d-mmm-yy ('30-Sep-88')
    were refused ('not read as dates'), or read as numbers in several units."""
    frame = gbsg2[["pid", *COVARIATES, "event"]].rename(columns={"event": "dead"})
    for name, column in (("date_of_diagnosis", "diag"), ("date_of_last_follow_up", "last")):
        written = gbsg2[column].dt.strftime(form.removesuffix(" lower"))
        frame[name] = written.str.lower() if form.endswith("lower") else written
    frame.to_csv(path := tmp_path / "date9.csv", index=False)
    result = read_clinical_spreadsheet(path)
    np.testing.assert_array_equal(result.table["time"], gbsg2["time"])


def test_a_cdisc_ending_is_a_date_only_when_its_values_are(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """'ADT' is also androgen deprivation therapy and 'PSA DT' a doubling time: under such a
    header, values that are no day numbers stay the variable they are."""
    frame = gbsg2[["pid", "time", "event", "age"]].rename(columns={"time": "os_days"})
    frame["ADT"] = np.where(np.arange(len(frame)) % 3 == 0, "yes", "no")
    frame["PSA DT"] = (np.arange(len(frame)) % 40 + 2.5).round(1)
    frame.to_csv(path := tmp_path / "prostate.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert list(result.variables.columns) == ["age", "adt", "psa_dt"]


@pytest.mark.parametrize("labels", ["renumbered", "as sorted"])
def test_r_row_names_are_not_a_variable(tmp_path: Path, gbsg2: pd.DataFrame, labels: str) -> None:
    """R's write.csv writes row names under an empty header: sorted by the outcome (as
    dplyr::arrange leaves the numbers 1..n, or base R's order() the labels of the rows), the
    column 'column_1' was a variable, and a Cox c-index 0.99 instead of 0.69."""
    frame = gbsg2[["pid", "time", "event", *COVARIATES]].rename(columns={"time": "os_days"})
    frame = frame.sort_values(["event", "os_days"], ascending=[False, True])
    if labels == "renumbered":
        frame.index = range(1, len(frame) + 1)
    frame.to_csv(path := tmp_path / "r.csv", index_label="")
    result = read_clinical_spreadsheet(path)
    assert list(result.variables.columns) == [c.lower() for c in COVARIATES]
    assert any(
        "row numbers or labels, not a variable" in a for a in report_actions(result, "column_1")
    )


def test_a_headerless_column_of_measurements_stays_a_variable(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """Only row numbers or labels are left out: a column of decimals without a header is kept
    (and reported as headerless)."""
    frame = gbsg2[["pid", "time", "event", "age"]].rename(columns={"time": "os_days"})
    frame[""] = gbsg2["progrec"] + np.arange(len(frame)) / 1000
    frame.to_csv(path := tmp_path / "t.csv", index=False)
    assert "column_5" in read_clinical_spreadsheet(path).variables


def test_redcap_form_status_and_fields_are_not_variables(tmp_path: Path) -> None:
    """A REDCap export carries each form's status ('<form>_complete': 0 Incomplete, 1
    Unverified, 2 Complete) and its own fields ('redcap_data_access_group'): a 6-month visit
    form complete only for the patients alive then raised WHAS500's c-index from 0.76 to 0.88.
    A yes/no whose name ends so ('resection_complete') stays a variable."""
    X, y = datasets.load_whas500()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "record_id": range(1, len(y) + 1),
            "redcap_data_access_group": rng.choice(["site_a", "site_b"], len(y)),
            "age": X["age"].to_numpy(),
            "bmi": X["bmi"].round(2).to_numpy(),
            "resection_complete": rng.choice(["yes", "no"], len(y)),
            "demographics_complete": rng.choice([0, 1, 2], len(y), p=[0.1, 0.2, 0.7]),
            "lenfol": y["lenfol"].astype(int),
            "fstat": y["fstat"].astype(int),
            "visit_6m_complete": np.where(y["lenfol"] > 183, 2, 0),
        }
    )
    frame.to_csv(path := tmp_path / "redcap.csv", index=False)
    result = read_clinical_spreadsheet(path, time_unit="days")
    assert list(result.variables.columns) == ["age", "bmi", "resection_complete"]
    assert any("REDCap's form status" in a for a in report_actions(result, "visit_6m_complete"))
    assert any(
        "REDCap's own field" in a for a in report_actions(result, "redcap_data_access_group")
    )


@pytest.mark.parametrize("values", [["Complete", "Incomplete"], [0, 1, 2]])
def test_a_complete_column_outside_a_redcap_export_stays_a_variable(
    tmp_path: Path, gbsg2: pd.DataFrame, values: list
) -> None:
    """A resection complete or incomplete is a clinical variable: read as REDCap's form status
    in a table with no other mark of REDCap, it was dropped."""
    frame = gbsg2[["pid", "time", "event", *COVARIATES]].rename(columns={"time": "os_days"})
    frame["resection_complete"] = np.resize(values, len(frame))
    frame.to_csv(path := tmp_path / "complete.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert "resection_complete" in result.variables.columns


@pytest.mark.parametrize(
    ("header", "alive", "dead"),
    [("alive", "yes", "no"), ("alive", 1, 0), ("is_alive", "TRUE", "FALSE"),
     ("Survived", "Y", "N"), ("censored", 1, 0), ("CNSR", 1, 0)],
)  # fmt: skip
def test_a_given_event_column_headed_alive_or_censored_is_inverted(
    tmp_path: Path, gbsg2: pd.DataFrame, header: str, alive: object, dead: object
) -> None:
    """Given as the event column (--event-column alive, the Cohort page's Event column), an
    'alive' column was read with yes = event: 387 deaths instead of GBSG2's 299, no word said.
    Its header says what its values mean, as a 'censored' column found by name does."""
    frame = gbsg2[["pid", "time", *COVARIATES]].rename(columns={"time": "os_days"})
    frame[header] = np.where(gbsg2["event"] == 1, dead, alive)
    frame.to_csv(path := tmp_path / "alive.csv", index=False)
    result = read_clinical_spreadsheet(path, event_column=header)
    np.testing.assert_array_equal(result.table["event"], gbsg2["event"])
    assert any(a.startswith(f"event = 1 - {header!r}") for a in report_actions(result, header))


@pytest.mark.parametrize("header", ["cens", "death (1) / alive (0)", "Dead/Alive", "DeadAlive"])
def test_a_given_cens_or_dead_alive_column_is_read_as_written(
    tmp_path: Path, gbsg2: pd.DataFrame, header: str
) -> None:
    """scikit-survival's GBSG2 calls its event indicator 'cens' (1 = event), and a header naming
    a death beside 'alive' says both: given, they are read as-is ('death (1) / alive (0)' was
    inverted to 387 deaths); only a header that says alive or censored alone is inverted."""
    frame = gbsg2[["pid", "time", *COVARIATES]].rename(columns={"time": "os_days"})
    frame[header] = gbsg2["event"]
    frame.to_csv(path := tmp_path / "cens.csv", index=False)
    result = read_clinical_spreadsheet(path, event_column=header)
    np.testing.assert_array_equal(result.table["event"], gbsg2["event"])


@pytest.mark.parametrize(("unit", "code"), [("days", 9999), ("months", 999)])
def test_a_no_value_code_in_the_time_is_missing(
    tmp_path: Path, gbsg2: pd.DataFrame, unit: str, code: int
) -> None:
    """9999 days (GBSG2's longest follow-up is 2,659) or 999 months (30,407 days) written for an
    unknown time were read as real follow-up; a variable's -999 was already a no-value code."""
    frame = gbsg2[["pid", "time", "event", *COVARIATES]].rename(columns={"time": f"os_{unit}"})
    if unit == "months":
        frame[f"os_{unit}"] = (frame[f"os_{unit}"] / 30.4375).round(2)
    unknown = frame.index % 34 == 5
    frame.loc[unknown, f"os_{unit}"] = code
    frame.to_csv(path := tmp_path / "codes.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.table["time"].isna().to_numpy().tolist() == unknown.tolist()
    assert result.table["time"].max() < 2660
    assert f"read {code} as missing (a no-value code)" in report_actions(result, f"os_{unit}")


def test_sas_and_stata_missing_codes_are_missing(tmp_path: Path, gbsg2: pd.DataFrame) -> None:
    """SAS's '.' in 8 % of tsize made it a category of 59 levels, and tgrade got a level '.';
    Stata's '.a' (a special missing value) and Excel's '#DIV/0!' are missing values too."""
    frame = gbsg2[["pid", "time", "event", *COVARIATES]].rename(columns={"time": "os_days"})
    frame = frame.astype({"tsize": object, "tgrade": object, "pnodes": object})
    rows = np.arange(len(frame))
    frame.loc[rows % 12 == 0, ["tsize", "tgrade"]] = "."
    frame.loc[rows % 25 == 2, "pnodes"] = ".a"
    frame.to_csv(path := tmp_path / "codes.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert pd.api.types.is_numeric_dtype(result.table["tsize"])
    assert set(result.table["tgrade"].dropna()) == {"I", "II", "III"}
    assert result.table["tsize"].isna().sum() == (rows % 12 == 0).sum()
    assert "read '.' as missing" in report_actions(result, "tsize")
    assert "read '.a' as missing" in report_actions(result, "pnodes")


def test_an_adam_cnsr_of_several_censoring_reasons_is_event_at_zero(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """CDISC ADaM's CNSR is 0 for the event and 1, 2... for each reason of censoring: its 2 was
    refused as another outcome, the example header offered reversing its meaning."""
    frame = gbsg2[["pid", "time", *COVARIATES]].rename(columns={"time": "AVAL"})
    reasons = np.resize([1, 2, 3], len(frame))
    frame["CNSR"] = np.where(gbsg2["event"] == 1, 0, reasons)
    frame.to_csv(path := tmp_path / "adtte.csv", index=False)
    result = read_clinical_spreadsheet(path, time_column="AVAL", time_unit="days")
    np.testing.assert_array_equal(result.table["event"], gbsg2["event"])
    assert any("CDISC ADaM" in a for a in report_actions(result, "CNSR"))


def test_columns_that_tell_the_event_are_not_variables(tmp_path: Path, gbsg2: pd.DataFrame) -> None:
    """An ADaM ADTTE's event and censoring descriptions and source domain, and flchain's cause of
    death (filled for the dead alone), were kept as variables: the ADaM export's CV c-index was
    0.86 for 0.66. Each is dropped, said why; the covariates stay."""
    frame = gbsg2[["pid", "time", *COVARIATES]].rename(columns={"time": "AVAL"})
    died = gbsg2["event"] == 1
    frame["CNSR"] = (~died).astype(int)
    frame["EVNTDESC"] = np.where(died, "DEATH", "")
    frame["CNSDTDSC"] = np.where(died, "", "LAST KNOWN ALIVE DATE")
    frame["SRCDOM"] = np.where(died, "DS", "SV")
    frame.to_csv(path := tmp_path / "adtte.csv", index=False)
    result = read_clinical_spreadsheet(path, time_column="AVAL", time_unit="days")
    assert set(result.variables.columns) == {c.lower() for c in COVARIATES}
    for column in ("EVNTDESC", "CNSDTDSC", "SRCDOM"):
        assert any("it tells the outcome" in a for a in report_actions(result, column)), column
    X, y = datasets.load_flchain()
    flchain = X.assign(futime=y["futime"], death=y["death"].astype(int), pid=range(len(X)))
    flchain.to_csv(path := tmp_path / "flchain.csv", index=False)
    result = read_clinical_spreadsheet(path, time_unit="days")
    assert "chapter" not in result.variables.columns and "kappa" in result.variables.columns


def test_a_stata_lower_case_subjid_is_the_patient_id(tmp_path: Path, gbsg2: pd.DataFrame) -> None:
    """CDISC's SUBJID was found as an ID ending in capital 'ID', its Stata export's 'subjid'
    refused as holding no patient ID column."""
    frame = gbsg2[["pid", "time", "event", *COVARIATES]].rename(columns={"pid": "subjid"})
    frame.to_csv(path := tmp_path / "stata.csv", index=False)
    assert read_clinical_spreadsheet(path, time_unit="days").id_column == "subjid"
