"""Registry exports' event codings, on real cohorts of scikit-survival written as NCDB, SEER,
cBioPortal and hospital sheets write them: their true events known, each read wrong or refused
before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_flchain, load_veterans_lung_cancer, load_whas500

from survival_core.cli.main import main
from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.io.outcome_source import OutcomeSource
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


#: SEER's cause-specific death classification of a death from the cancer, and of the others.
_SEER_CANCER_DEATH = "Dead (attributable to this cancer dx)"
_SEER_OTHERS = "Alive or dead of other cause"
_SEER_UNKNOWN_CAUSE = "Dead (missing/unknown COD)"


def _flchain_causes() -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """FLCHAIN (7874 patients, 2169 deaths) and each death's cause ('chapter'): its 745
    circulatory deaths stand for the cancer's, its 38 of ill-defined cause for the unknown."""
    X, y = load_flchain()
    return X.drop(columns="chapter"), y, X["chapter"].astype(object)


def _seer_case_listing(folder: Path, others: str) -> Path:
    """FLCHAIN as a SEER*Stat case listing: survival months, the vital status recode and the
    cause-specific death classification, another cause's death written ``others``."""
    X, y, cause = _flchain_causes()
    sheet = pd.DataFrame({"Patient ID": np.arange(len(y)) + 100001})
    sheet["Sex"] = np.where(X["sex"].astype(str) == "F", "Female", "Male")
    sheet["kappa"], sheet["lambda"] = X["kappa"], X["lambda"]
    sheet["Survival months"] = np.floor(y["futime"] / TIME_UNITS["months"]).astype(int)
    sheet["Vital status recode (study cutoff used)"] = np.where(y["death"], "Dead", "Alive")
    classified = np.select(
        [cause == "Circulatory", cause == "Ill Defined", y["death"]],
        [_SEER_CANCER_DEATH, _SEER_UNKNOWN_CAUSE, others],
        _SEER_OTHERS,
    )
    sheet["SEER cause-specific death classification"] = classified
    sheet.to_csv(path := folder / "seer_case_listing.csv", index=False)
    return path


@pytest.mark.parametrize(
    "others", [_SEER_OTHERS, "Dead (attributable to causes other than this cancer dx)"]
)
def test_seer_cause_specific_death_of_unknown_cause_is_missing(tmp_path: Path, others: str) -> None:
    """SEER's cause-specific classification's 'Dead (missing/unknown COD)' was read as the
    event: FLCHAIN's 38 deaths of ill-defined cause counted as deaths from the disease. SEER
    leaves them out of cause-specific survival: read as missing, said with their number; a
    death of another cause, however written, is censored (745 events, as many as the
    circulatory deaths)."""
    path = _seer_case_listing(tmp_path, others)
    event = "SEER cause-specific death classification"
    result = read_clinical_spreadsheet(path, time_column="Survival months", event_column=event)
    events = result.table["event"]
    assert (len(events), int(events.sum()), int(events.isna().sum())) == (7874, 745, 38)
    assert int((events == 0).sum()) == 7874 - 745 - 38 and len(result.no_outcome) == 38
    assert (
        f"{event}: deaths of unknown cause 'Dead (missing/unknown COD)' read as missing: neither "
        "a death from the disease (a disease-specific survival's event) nor censored; SEER leaves "
        "them out of cause-specific survival (38)"
    ) in result.report_text().splitlines()
    assert list(result.variables.columns) == ["sex", "kappa", "lambda"]


@pytest.mark.parametrize(
    ("time", "header"),
    [
        ("DSS (days)", "DSS status (0=alive, 1=dead of disease, 2=dead of other causes)"),
        ("DSS (days)", "DSS status (0=alive, 1=DOD, 2=DOC)"),
        ("css_days", "css_status (0=alive, 1=dead of disease, 2=dead of other causes)"),
        ("CSS time (days)", "CSS event (0=alive, 1=DOD, 2=DOC)"),
        ("DSS (days)", "DSS status (0=alive, 1=dead of disease, 2=non-cancer death)"),
    ],
)
def test_a_disease_specific_survivals_other_causes_are_censored(
    tmp_path: Path, time: str, header: str
) -> None:
    """'DSS (days)' beside 'DSS status (0=alive, 1=dead of disease, 2=dead of other causes)'
    was recognised as neither time nor event (refused), and given, its 2 was read as missing
    (or, as DOC, as the event). FLCHAIN's 745 circulatory deaths as the disease's (1), its 1424
    other deaths (2): found by name, the 2 censored, said so, 745 events. A cancer-specific
    survival's 'css_days' and 'css_status' (or 'CSS time', 'CSS event') were found as no
    outcome (refused) where DSS's were: read as a DSS, its other causes' deaths not counted. A
    code '2=non-cancer death' was left unread (1424 missing): censored too."""
    X, y, cause = _flchain_causes()
    sheet = pd.DataFrame({"patient_id": [f"F{i}" for i in range(len(y))], "age": X["age"]})
    sheet[time] = y["futime"]
    sheet[header] = np.where(cause == "Circulatory", 1, np.where(y["death"], 2, 0))
    sheet.to_csv(path := tmp_path / "dss.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert (result.time_column, result.event_column) == (time, header)
    events = result.table["event"]
    assert (int(events.sum()), int((events == 0).sum()), int(events.isna().sum())) == (
        745,
        7874 - 745,
        0,
    )
    codes = header[header.index("(") + 1 : -1]
    assert (
        f"{header}: event from the codes stated in the header ({codes}); '2', a death of another "
        "cause, censored (a disease-specific survival's event is a death from the disease) (7874)"
    ) in result.report_text().splitlines()
    assert (result.endpoint, result.endpoint_name, result.deaths_counted) == ("death", "dss", False)


@pytest.mark.parametrize(
    "others",
    [
        "dead (not cancer)",
        "Dead without disease",
        "Dead, no evidence of disease",
        "Dead - NED",
        "Non-cancer death",
        "Non-disease death",
        "Other-cause death",
        "Death, other cause",
        "Death not due to cancer",
    ],
)
@pytest.mark.parametrize("endpoint", ["dss", "css"])
def test_a_disease_specific_survivals_death_denying_the_disease_is_censored(
    tmp_path: Path, others: str, endpoint: str
) -> None:
    """A DSS's (or CSS's) 'dead (not cancer)', 'Dead without disease', 'Dead, no evidence of
    disease' and 'Dead - NED' were read as deaths from the disease, and 'dead, cause not known'
    too, where 'Dead, unknown cause' is left out: FLCHAIN's 1424 other deaths so written counted
    as events (2169 for its 745 circulatory ones). Each other death is censored, the 38 of
    ill-defined cause missing, named; under OS the same cells are all deaths. 'Non-cancer death'
    and 'Non-disease death' were read as missing (a death not known), 'Death not due to cancer' as
    the disease's death, and under OS 'Other-cause death' as missing."""
    X, y, cause = _flchain_causes()
    sheet = pd.DataFrame({"patient_id": [f"F{i}" for i in range(len(y))], "age": X["age"]})
    sheet[f"{endpoint}_days"] = y["futime"]
    sheet[f"{endpoint}_status"] = np.select(
        [cause == "Circulatory", cause == "Ill Defined", y["death"]],
        ["Dead of disease", "dead, cause not known", others],
        "Alive",
    )
    sheet.to_csv(path := tmp_path / "dss.csv", index=False)
    result = read_clinical_spreadsheet(path)
    events = result.table["event"]
    assert (int(events.sum()), int((events == 0).sum()), int(events.isna().sum())) == (
        745,
        7874 - 745 - 38,
        38,
    )
    assert (
        f"{endpoint}_status: deaths of unknown cause 'dead, cause not known' read as missing: "
        "neither a death from the disease (a disease-specific survival's event) nor censored; "
        "SEER leaves them out of cause-specific survival (38)"
    ) in result.report_text().splitlines()
    sheet.columns = ["patient_id", "age", "os_days", "os_status"]
    sheet.to_csv(path, index=False)
    assert int(read_clinical_spreadsheet(path).table["event"].sum()) == 2169


@pytest.mark.parametrize(
    "others", ["Other-cause death", "Non cancer-related death", "Non-disease death"]
)
@pytest.mark.parametrize("header", ["status", "censored", "PFS_STATUS", "RFS status", "DFS_STATUS"])
def test_another_causes_death_outside_a_disease_specific_survival_is_an_event(
    tmp_path: Path, others: str, header: str
) -> None:
    """'Other-cause death' beside 'Dead of disease' and 'Alive' under a bare status or a PFS's,
    RFS's or DFS's was refused as another outcome (read as missing, 'deaths not known', before
    another cause's death was read). It is a death, an event as 'Died of other causes' there
    is (a PFS's, RFS's, DFS's event is a death of any cause): WHAS500's 215 events, 285
    censored."""
    X, y = load_whas500()
    cells = np.where(y["fstat"], "Dead of disease", "Alive").astype(object)
    cells[np.flatnonzero(y["fstat"])[2::3]] = others
    frame = pd.DataFrame({"patient_id": range(len(y)), "time_days": y["lenfol"], header: cells})
    frame.to_csv(path := tmp_path / "clinical.csv", index=False)
    event = read_clinical_spreadsheet(path).table["event"]
    assert (int(event.sum()), int((event == 0).sum()), int(event.isna().sum())) == (215, 285, 0)


@pytest.mark.parametrize(
    ("disease", "others"),
    [
        ("Cancer death", "Non-cancer death"),
        ("Cancer death", "Death not due to cancer"),
        ("Cancer death", "Other cause of death"),
        ("Tumor death", "Non-tumor death"),
    ],
)
@pytest.mark.parametrize("header", ["vital_status", "Death"])
def test_a_vital_status_of_deaths_of_either_cause_records_overall_survival(
    tmp_path: Path, disease: str, others: str, header: str
) -> None:
    """A vital status of 'Cancer death', 'Non-cancer death' and 'Alive' recorded no endpoint
    (None, compared on re-import) since another cause's death was read as one: its deaths are
    every death, overall survival's ('os'), WHAS500's 215 events."""
    X, y = load_whas500()
    cells = np.where(y["fstat"], disease, "Alive").astype(object)
    cells[np.flatnonzero(y["fstat"])[2::3]] = others
    frame = pd.DataFrame({"patient_id": range(len(y)), "time_days": y["lenfol"], header: cells})
    frame.to_csv(path := tmp_path / "clinical.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert int(result.table["event"].sum()) == 215
    assert (result.endpoint, result.endpoint_name, result.deaths_counted) == ("death", "os", True)


def test_a_disease_specific_survivals_code_of_a_cause_not_known_is_no_event(
    tmp_path: Path,
) -> None:
    """'DSS status (..., 9=dead, cause not known)' read its 9 as a death from the disease, where
    '9=dead of unknown cause' is left unread: FLCHAIN's 38 deaths of ill-defined cause so coded
    are missing, named as cells of an unknown cause's death are (SEER), not events."""
    X, y, cause = _flchain_causes()
    header = "DSS status (0=alive, 1=dead of disease, 2=DOC, 9=dead, cause not known)"
    sheet = pd.DataFrame({"patient_id": [f"F{i}" for i in range(len(y))], "age": X["age"]})
    sheet["DSS (days)"] = y["futime"]
    sheet[header] = np.select(
        [cause == "Circulatory", cause == "Ill Defined", y["death"]], [1, 9, 2], 0
    )
    sheet.to_csv(path := tmp_path / "dss.csv", index=False)
    result = read_clinical_spreadsheet(path)
    events = result.table["event"]
    assert (int(events.sum()), int(events.isna().sum())) == (745, 38)
    assert f"{header}: deaths of unknown cause '9' read as missing" in result.report_text()


@pytest.mark.parametrize(
    ("unknown", "a_death"),
    [
        ("dead of unknown cause", True),
        ("dead, cause not known", True),
        ("unknown if dead", False),
        ("not known if dead", False),
        ("alive or dead unknown", False),
        ("death uncertain", False),
    ],
)
def test_an_overall_survivals_code_of_an_unknown_is_a_death_when_its_cause_is(
    tmp_path: Path, unknown: str, a_death: bool
) -> None:
    """'OS status (0=alive, 1=dead, 9=dead of unknown cause)': every death is overall survival's,
    but the 9 was left unread ('unknown' read as a death not known): FLCHAIN's 38 deaths of
    ill-defined cause so coded were missing, not events; all 2,169 deaths are events. Where the
    death itself is unknown ('9=unknown if dead'), the 9 was then read as a death (its 'unknown'
    read as the cause's): those 38 stay missing."""
    _, y, cause = _flchain_causes()
    codes = np.select([cause == "Ill Defined", y["death"]], [9, 1], 0)
    events = _flchain_os_events(tmp_path, f"OS status (0=alive, 1=dead, 9={unknown})", codes)
    deaths, unread = (int(y["death"].sum()), 0) if a_death else (int(y["death"].sum()) - 38, 38)
    assert (int(events.sum()), int(events.isna().sum())) == (deaths, unread)


@pytest.mark.parametrize("other", ["non-cancer death", "other-cause death"])
def test_an_overall_survivals_code_of_another_causes_death_is_a_death(
    tmp_path: Path, other: str
) -> None:
    """'OS status (0=alive, 1=dead of disease, 2=non-cancer death)': every death is overall
    survival's, but the 2 was left unread: FLCHAIN's 1424 deaths other than its 745 circulatory
    ones so coded were missing. All 2169 deaths are events."""
    _, y, cause = _flchain_causes()
    codes = np.select([cause == "Circulatory", y["death"]], [1, 2], 0)
    header = f"OS status (0=alive, 1=dead of disease, 2={other})"
    events = _flchain_os_events(tmp_path, header, codes)
    assert (int(events.sum()), int(events.isna().sum())) == (2169, 0)


def _flchain_os_events(tmp_path: Path, header: str, codes: np.ndarray) -> pd.Series:
    """The events read from FLCHAIN's patients, their OS in days and the ``codes`` under
    ``header``."""
    X, y, _ = _flchain_causes()
    sheet = pd.DataFrame({"patient_id": [f"F{i}" for i in range(len(y))], "age": X["age"]})
    sheet["OS (days)"] = y["futime"]
    sheet[header] = codes
    sheet.to_csv(path := tmp_path / "os.csv", index=False)
    return read_clinical_spreadsheet(path).table["event"]


@pytest.mark.parametrize(
    "death",
    [
        "Dead of disease, never NED",
        "Died of recurrent disease, previously NED",
        "Dead - disease (not NED)",
        "Dead, not disease free",
        "Dead of cancer (not tumor free)",
    ],
)
def test_a_disease_specific_survivals_death_naming_the_disease_stays_an_event(
    tmp_path: Path, death: str
) -> None:
    """A DSS death naming the disease as its cause, or denying a denial ('not NED'), was censored
    as another cause's for the 'NED' or 'disease free' anywhere after the death: FLCHAIN's 745
    circulatory deaths so written counted none. Each stays the event."""
    X, y, cause = _flchain_causes()
    sheet = pd.DataFrame({"patient_id": [f"F{i}" for i in range(len(y))], "age": X["age"]})
    sheet["dss_days"] = y["futime"]
    sheet["dss_status"] = np.select(
        [cause == "Circulatory", y["death"]], [death, "Dead of other causes"], "Alive"
    )
    sheet.to_csv(path := tmp_path / "dss.csv", index=False)
    events = read_clinical_spreadsheet(path).table["event"]
    assert (int(events.sum()), int(events.isna().sum())) == (745, 0)


def test_a_disease_specific_survivals_death_of_no_stated_cause_is_said(tmp_path: Path) -> None:
    """A DSS's bare 'Dead' says nothing of the cause: read as a death from the disease (the
    column's event), as before, but the report now says how many were so read, and how to write
    another cause's death; FLCHAIN's 745 circulatory deaths written 'Dead'."""
    X, y, cause = _flchain_causes()
    sheet = pd.DataFrame({"patient_id": [f"F{i}" for i in range(len(y))], "age": X["age"]})
    sheet["dss_days"] = y["futime"]
    sheet["dss_status"] = np.select(
        [cause == "Circulatory", y["death"]], ["Dead", "Dead of other causes"], "Alive"
    )
    sheet.to_csv(path := tmp_path / "dss.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert int(result.table["event"].sum()) == 745
    assert (
        "dss_status: deaths of no stated cause 'Dead' read as deaths from the disease (a "
        "disease-specific survival's event): write another cause's as 'dead of other causes' (or "
        "DOC) to censor it, an unknown cause's as 'dead, unknown cause' to leave it out (745)"
    ) in result.report_text().splitlines()


def _cbioportal_dss(folder: Path) -> tuple[Path, int]:
    """WHAS500 (500 patients, 215 deaths) as a cBioPortal patient table, half its deaths
    (drawn) the disease's under DSS_STATUS; and their number."""
    X, y = load_whas500()
    of_disease = y["fstat"] & (np.random.default_rng(0).random(len(y)) < 0.5)
    sheet = pd.DataFrame({"PATIENT_ID": [f"TCGA-XX-{i:04d}" for i in range(len(y))]})
    sheet["AGE"], sheet["BMI"] = X["age"].astype(int), X["bmi"].round(2)
    sheet["OS_STATUS"] = np.where(y["fstat"], "1:DECEASED", "0:LIVING")
    sheet["OS_MONTHS"] = (y["lenfol"] / TIME_UNITS["months"]).round(2)
    sheet["DSS_STATUS"] = np.where(of_disease, "1:DEAD WITH TUMOR", "0:ALIVE OR DEAD TUMOR FREE")
    sheet["DSS_MONTHS"] = sheet["OS_MONTHS"]
    sheet.to_csv(path := folder / "data_clinical_patient.txt", sep="\t", index=False)
    return path, int(of_disease.sum())


def test_a_disease_specific_import_records_deaths_not_all_counted(tmp_path: Path) -> None:
    """A cBioPortal DSS_STATUS import (and SEER's cause-specific classification) recorded
    '"deaths_counted": true' in outcome.json, though its deaths of other causes are censored;
    the same sheet's OS_STATUS counts every death. A record written so before reads False, and
    the endpoint's words stay those of deaths from the disease."""
    path, of_disease = _cbioportal_dss(tmp_path)
    seer = _seer_case_listing(tmp_path, _SEER_OTHERS)
    imports = {  # the cohort: the sheet, its time and event, their events, the endpoint named
        "cbio_dss": (path, "DSS_MONTHS", "DSS_STATUS", of_disease, "dss"),
        "cbio_os": (path, "OS_MONTHS", "OS_STATUS", 215, "os"),
        "seer": (seer, "Survival months", "SEER cause-specific death classification", 745, "dss"),
    }
    for cohort, (sheet, time, event, events, name) in imports.items():
        argv = ["cohort", "import", "--clinical", str(sheet), "--out", str(tmp_path / cohort)]
        assert main([*argv, "--time-column", time, "--event-column", event]) == 0
        assert pd.read_csv(tmp_path / cohort / "clinical.csv")["event"].sum() == events
        record = json.loads((tmp_path / cohort / "outcome.json").read_text())
        assert (record["name"], record["deaths_counted"]) == (name, name == "os")
    earlier = OutcomeSource.from_record({**record, "deaths_counted": True})
    assert earlier.deaths_counted is False
    assert earlier.words().events == "deaths from the disease"


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
