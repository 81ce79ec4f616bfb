"""Clinical sheets whose ID, time and event columns are found by their names, filled with real
patients: registry exports (SEER, cBioPortal, NCDB, a UK registry), the headers of exports abroad
and a study ID beside a hospital's chart number."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv import datasets

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import InputError
from survival_core.io.tables import TIME_UNITS, load_model_table
from tests.clinical_exports import report_actions

#: How a column the import drops as an identifier is reported.
IDENTIFIER_DROPPED = "dropped: an identifier or free text (by its name)"


def test_a_study_id_wins_over_a_chart_number_beside_it(tmp_path: Path) -> None:
    """The veterans' trial (137 patients, 128 deaths) keyed by the study's 'ID' beside the
    hospital's 'Prontuário', one chart number written for two patients: the chart number was
    taken as the patient ID (new pseudonyms on a re-import, the images' PatientIDs unmatched) and
    the repeated one refused the sheet. The study ID is the patient ID, the chart number dropped
    as an identifier."""
    X, y = datasets.load_veterans_lung_cancer()
    charts = 1_000_000 + np.arange(len(X)) * 7
    charts[1] = charts[0]
    frame = X.reset_index(drop=True)
    frame.insert(0, "ID", [f"V{i:03d}" for i in range(len(X))])
    frame.insert(1, "Prontuário", charts)
    frame["os_days"], frame["os_event"] = y["Survival_in_days"], y["Status"].astype(int)
    frame.to_csv(path := tmp_path / "veterans.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.id_column == "ID"
    assert list(result.table.index) == list(frame["ID"])
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    assert report_actions(result, "Prontuário") == [IDENTIFIER_DROPPED]
    assert "prontuario" not in result.table.columns
    alone = frame.drop(columns="ID").drop(index=1)  # no study ID: the chart number is the ID
    alone.to_csv(path, index=False)
    assert read_clinical_spreadsheet(path).id_column == "Prontuário"


@pytest.mark.parametrize(
    ("time_header", "event_header", "unit"),
    [
        ("Durée de survie (jours)", "Décès", "days"),
        ("Survie globale (mois)", "Décès", "months"),
        ("Tiempo de supervivencia (meses)", "Fallecido", "months"),
        ("Sopravvivenza (mesi)", "Deceduto", "months"),
        ("Überlebenszeit (Monate)", "Verstorben", "months"),
    ],
)
def test_a_survival_time_headed_abroad_is_found_by_its_name(
    tmp_path: Path, time_header: str, event_header: str, unit: str
) -> None:
    """The veterans' trial headed as French, Spanish, Italian and German exports write it:
    'Durée de survie (jours)' was refused ('no survival time column recognised among: N°
    patient, ...'), as 'Tiempo de supervivencia' was."""
    X, y = datasets.load_veterans_lung_cancer()
    frame = pd.DataFrame(
        {
            "N° patient": [f"V{i:03d}" for i in range(len(X))],
            "Karnofsky": X["Karnofsky_score"].to_numpy(),
            time_header: y["Survival_in_days"] / TIME_UNITS[unit],
            event_header: y["Status"].astype(int),
        }
    )
    frame.to_csv(path := tmp_path / "veterans.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert (result.time_column, result.event_column) == (time_header, event_header)
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    np.testing.assert_allclose(result.table["time"], y["Survival_in_days"])
    assert list(result.variables.columns) == ["karnofsky"]


def test_a_table_only_imports_summary_says_what_its_kept_rows_are(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A table-only `cohort import --json` of the veterans' trial printed 'clinical_rows_kept':
    0 though clinical.csv held all 137 rows: it counts the earlier clinical.csv's rows kept, and
    says so by its name."""
    from survival_core.cli.main import main

    X, y = datasets.load_veterans_lung_cancer()
    frame = X.reset_index(drop=True)
    frame.insert(0, "patient_id", [f"V{i:03d}" for i in range(len(X))])
    frame["Survival_in_days"], frame["Status"] = y["Survival_in_days"], y["Status"].astype(int)
    frame.to_csv(sheet := tmp_path / "veterans.csv", index=False)
    argv = ["cohort", "import", "--clinical", str(sheet), "--out", str(cohort := tmp_path / "c")]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "clinical_rows_kept" not in summary
    assert (summary["clinical_rows"], summary["earlier_clinical_rows_kept"]) == (137, 0)
    assert len(pd.read_csv(cohort / "clinical.csv")) == 137


def test_a_seer_case_listing_is_read_by_its_names(tmp_path: Path) -> None:
    """SEER*Stat's case listing of 1,000 FLCHAIN patients: 'Survival months' with 'Vital status
    recode (study cutoff used)' (Alive/Dead) was refused ('no survival event column
    recognised'). Its cause-of-death classifications and months flag stay out of the
    variables."""
    X, y = datasets.load_flchain()
    keep = np.sort(np.random.default_rng(0).choice(len(X), 1000, replace=False))
    X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    cancer = y["death"] & (X["chapter"] == "Circulatory").to_numpy()
    sheet = pd.DataFrame(
        {
            "Patient ID": 100001 + np.arange(len(X)),
            "Sex": np.where(X["sex"] == "F", "Female", "Male"),
            "kappa": X["kappa"],
            "Survival months": np.floor(y["futime"] / TIME_UNITS["months"]).astype(int),
            "Survival months flag": "Complete dates are available",
            "Vital status recode (study cutoff used)": np.where(y["death"], "Dead", "Alive"),
            "SEER cause-specific death classification": np.where(
                cancer, "Dead (attributable to this cancer dx)", "Alive or dead of other cause"
            ),
        }
    )
    sheet.to_csv(path := tmp_path / "seer_case_listing.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.event_column == "Vital status recode (study cutoff used)"
    assert (result.time_column, result.time_unit) == ("Survival months", "months")
    assert (len(result.table), int(result.table["event"].sum())) == (1000, int(y["death"].sum()))
    assert (result.endpoint, result.endpoint_name) == ("death", "os")
    assert list(result.variables.columns) == ["sex", "kappa"]


def test_a_cbioportal_download_of_disease_free_survival_is_read_by_its_names(
    tmp_path: Path,
) -> None:
    """A cBioPortal download's display names of GBSG2's recurrence-free survival (686
    patients, 299 recurrences), 'Disease Free (Months)' and 'Disease Free Status'
    ('1:Recurred/Progressed'), were refused, as 'Overall Survival (Months)' was read."""
    X, y = datasets.load_gbsg2()
    sheet = pd.DataFrame(
        {
            "Patient ID": [f"P-{i:04d}" for i in range(len(X))],
            "Diagnosis Age": X["age"].to_numpy(),
            "Tumor Size": X["tsize"].to_numpy(),
            "Disease Free (Months)": (y["time"] / TIME_UNITS["months"]).round(2),
            "Disease Free Status": np.where(y["cens"], "1:Recurred/Progressed", "0:DiseaseFree"),
        }
    )
    sheet.to_csv(path := tmp_path / "brca_gbsg2.tsv", sep="\t", index=False)
    result = read_clinical_spreadsheet(path)
    assert (result.time_column, result.event_column) == (
        "Disease Free (Months)",
        "Disease Free Status",
    )
    assert (len(result.table), int(result.table["event"].sum())) == (686, 299)
    assert (result.endpoint, result.endpoint_name, result.deaths_counted) == (
        "disease",
        "dfs",
        False,
    )
    assert list(result.variables.columns) == ["diagnosis_age", "tumor_size"]


def test_a_uk_registry_keyed_by_the_nhs_number_is_read(tmp_path: Path) -> None:
    """A UK registry's AIDS trial patients keyed by 'NHS number' alone (no study ID) was refused
    ('no patient ID column'); the NHS number is the ID where nothing else is."""
    X, y = datasets.load_aids()
    sheet = pd.DataFrame(
        {
            "NHS number": [str(9_000_000_000 + i) for i in range(len(X))],
            "CD4": X["cd4"].to_numpy(),
            "time (days)": y["time"],
            "death": y["censor"].astype(int),
        }
    )
    sheet.to_csv(path := tmp_path / "uk_registry.csv", index=False)
    result = read_clinical_spreadsheet(path)
    assert result.id_column == "NHS number"
    assert (len(result.table), int(result.table["event"].sum())) == (1151, 96)


def _veterans(path: Path, event_header: str, dead: str, alive: str) -> None:
    """The veterans' trial with its ID, Karnofsky score, 'OS' (days) and its deaths under
    ``event_header``, each patient ``dead`` or ``alive``."""
    X, y = datasets.load_veterans_lung_cancer()
    pd.DataFrame(
        {
            "ID": [f"UCSF-PDGM-{i:04d}" for i in range(len(X))],
            "Karnofsky": X["Karnofsky_score"].to_numpy(),
            "OS (days)": y["Survival_in_days"],
            event_header: np.where(y["Status"], dead, alive),
        }
    ).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("event_header", "dead", "alive"),
    [
        ("1-dead 0-alive", "1", "0"),  # UCSF-PDGM's
        ("Estado (vivo/fallecido)", "fallecido", "vivo"),
        ("Stato (vivo/deceduto)", "deceduto", "vivo"),
        ("Estado", "falecido", "vivo"),  # Portuguese, its name bare
        ("Estado", "Fallecido.", "Vivo."),  # ending in a full stop: was no vital status
    ],
)
def test_a_vital_status_is_found_by_its_name(
    tmp_path: Path, event_header: str, dead: str, alive: str
) -> None:
    """UCSF-PDGM's '1-dead 0-alive' and a Spanish 'Estado' or Italian 'Stato' vital status
    were read only when given ('no survival event column recognised'): found by name, they are
    overall survival's deaths (137 patients, 128 deaths). A bare 'Estado' of 'Fallecido.' and
    'Vivo.' was no vital status by its cells ('no survival event column recognised')."""
    _veterans(path := tmp_path / "veterans.csv", event_header, dead, alive)
    result = read_clinical_spreadsheet(path)
    assert result.event_column == event_header
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    assert (result.endpoint, result.endpoint_name, result.deaths_counted) == ("death", "os", True)
    assert list(result.variables.columns) == ["karnofsky"]


@pytest.mark.parametrize("gap", ["n.a.", "N.D.", "n.e."])
def test_an_estados_gaps_written_with_full_stops_are_gaps(tmp_path: Path, gap: str) -> None:
    """A bare 'Estado' of 'Fallecido' / 'Vivo' whose unknown vital statuses are written 'n.a.'
    was refused ('no survival event column recognised') once event cells lost their end marks:
    'n.a' is no missing-value word. Its 5 gaps are missing: 128 deaths, 4 alive."""
    _veterans(path := tmp_path / "veterans.csv", "Estado", "Fallecido", "Vivo")
    table = pd.read_csv(path)
    table.loc[table.index[table["Estado"] == "Vivo"][:5], "Estado"] = gap
    table.to_csv(path, index=False)
    result = read_clinical_spreadsheet(path)
    assert result.event_column == "Estado"
    events = result.table["event"]
    assert (int(events.sum()), int((events == 0).sum()), int(events.isna().sum())) == (128, 4, 5)


def _veterans_by_place(folder: Path, place: str, places: tuple[str, ...], **outcome: str) -> Path:
    """The veterans' trial with its ID, Karnofsky score and a column ``place`` of ``places`` (in
    turn), its days and deaths under the headers ``outcome`` gives for 'time' and 'event' (none
    where not given)."""
    X, y = datasets.load_veterans_lung_cancer()
    frame = pd.DataFrame(
        {
            "ID": [f"V{i:03d}" for i in range(len(X))],
            "Karnofsky": X["Karnofsky_score"].to_numpy(),
            place: np.resize(places, len(X)),
            outcome["time"]: y["Survival_in_days"],
        }
    )
    if "event" in outcome:
        frame[outcome["event"]] = y["Status"].astype(int)
    frame.to_csv(path := folder / "veterans.csv", index=False)
    return path


@pytest.mark.parametrize(
    ("place", "places", "time", "event"),
    [
        ("Estado", ("SP", "RJ", "MG"), "Sobrevida (dias)", "Óbito"),  # a Brazilian state
        ("Stato", ("Italia", "Francia"), "Sopravvivenza (giorni)", "Deceduto"),  # a country
    ],
)
def test_a_state_or_country_named_estado_or_stato_is_a_variable(
    tmp_path: Path, place: str, places: tuple[str, ...], time: str, event: str
) -> None:
    """A bare 'Estado' or 'Stato' holding a state or a country, not a vital status, was dropped
    as an outcome by its name in the import and the model tables: it is a variable, the vital
    status beside it the event (137 patients, 128 deaths)."""
    path = _veterans_by_place(tmp_path, place, places, time=time, event=event)
    result = read_clinical_spreadsheet(path)
    assert result.event_column == event
    assert (len(result.table), int(result.table["event"].sum())) == (137, 128)
    assert list(result.variables.columns) == ["karnofsky", place.lower()]
    assert sorted(result.table[place.lower()].unique()) == sorted(places)
    renamed = {"ID": "case_id", time: "time", event: "event"}
    pd.read_csv(path).rename(columns=renamed).to_csv(table := tmp_path / "table.csv", index=False)
    model = load_model_table([table], features=place)
    assert list(model.X.columns) == [place] and model.notes == []


def test_an_estado_of_states_is_no_event_column(tmp_path: Path) -> None:
    """A sheet whose only 'Estado' holds Brazilian states beside its survival time has no event
    column: it was taken as the event and refused as holding 'mg', 'rj', 'sp'; the import asks
    for the event column, as before 'Estado' was a vital status's name."""
    path = _veterans_by_place(tmp_path, "Estado", ("SP", "RJ", "MG"), time="Sobrevida (dias)")
    with pytest.raises(InputError, match="veterans.csv: no survival event column recognised"):
        read_clinical_spreadsheet(path)


@pytest.mark.parametrize(("dead", "alive"), [("fallecido", "vivo"), ("Fallecido.", "Vivo.")])
def test_an_estado_of_vital_status_beside_the_event_is_left_out_of_a_model_table(
    tmp_path: Path, dead: str, alive: str
) -> None:
    """An 'Estado' whose cells are a vital status ('vivo', 'fallecido') beside a model table's
    event is an outcome, left out of the predictors and named in the notes; 'Fallecido.' and
    'Vivo.' too (their full stops made them no vital status: a predictor, the outcome learnt
    back)."""
    _veterans(path := tmp_path / "veterans.csv", "Estado", dead, alive)
    table = pd.read_csv(path).rename(columns={"ID": "case_id", "OS (days)": "time"})
    table["event"] = (table["Estado"] == dead).astype(int)
    table.to_csv(path, index=False)
    model = load_model_table([path])
    assert list(model.X.columns) == ["Karnofsky"]
    assert model.notes[0].startswith("Left out as outcomes, not predictors: Estado (known only")
    assert int(model.y["event"].sum()) == 128
