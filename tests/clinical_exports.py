"""Clinical spreadsheets as hospitals export them, for the reader and import tests:
scikit-survival's real datasets written with their own headers (CSV, tab-separated or XLSX) and
a messy semicolon/decimal-comma export."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lifelines
import numpy as np
import pandas as pd
from lifelines import datasets as lifelines_datasets
from sksurv import datasets
from sksurv.util import Surv

from survival_core.io.deid import KEY_FILE
from survival_core.io.tables import TIME_UNITS

#: A Latin-1 export: mixed casing, -999 codes, text stages, dates, names, a row without outcome.
MESSY = """\
Patient ID;Age (years);Sex;Histology;T stage;Stage;HPV;Dose [Gy];ECOG;Date of diagnosis;Name;OS (months);Vital status;PFS (months);Comments
P01;64;M;Adenocarcinoma;T2;IIIb;Pos;60,5;1;03/04/2015;Ann Smith;12,5;Dead;6,0;ok
P02; 71 ;f;adenocarcinoma ;T3;IIIB;neg;70;0;25/11/2016;Bob Jones;30;Alive;30;
P03;NA;F;Squamous;t2;II;NA;-999;unknown;15/01/2017;Cy Brown;8,25;dead;4;réévalué
P04;58;M;SQUAMOUS;T4;IVa;pos;66;2;;Di Green;NA;Alive;;
P05;-999;m;Adenocarcinoma;T1;I;Neg;54;1;01/02/2018;Ed White;40;Alive;40;moved
P06;49;F;Large cell;T2;IIIb;?;60;-;14/03/2018;Flo Black;22,75;Dead;10;
"""


@dataclass(frozen=True)
class Export:
    """A written spreadsheet, the dataset it holds (``X``, sksurv's structured ``y``) and the
    reader options its headers do not say (``time_unit``, ``event_column``)."""

    path: Path
    X: pd.DataFrame
    y: np.ndarray
    options: dict[str, str] = field(default_factory=dict)


def write_fixed_key(data: Path) -> None:
    """One de-identification key in the data folder ``data``, kept where one is there: imported
    case ids are its pseudonyms and a run takes rows in case id order, so a key drawn anew each
    run drew other folds and splits (now and then one leaving a category out of training)."""
    key = data / KEY_FILE
    key.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    if not key.exists():
        with os.fdopen(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(bytes(range(32)))


def lifelines_csv(name: str) -> Path:
    """A real dataset lifelines ships as CSV (``lung.csv``: R's survival::lung; ``ACTG175.csv``),
    read from the installed package, never copied into the repository."""
    return Path(lifelines.__file__).parent / "datasets" / name


def actg175(folder: Path) -> Path:
    """The ACTG 175 HIV trial (lifelines' ACTG175.csv, 2139 patients) as a model table: pidnum,
    days and cens as case_id, time (days) and event. It holds the CD4 count at week 96
    (``cd496``, missing for 797) and ``r``, whether that count was measured."""
    table = pd.read_csv(lifelines_csv("ACTG175.csv"), index_col=0)
    table = table.rename(columns={"pidnum": "case_id", "days": "time", "cens": "event"})
    path = folder / "actg175.csv"
    table.to_csv(path, index=False)
    return path


def _with_ids(X: pd.DataFrame, ids: list[str], header: str = "patient_id") -> pd.DataFrame:
    frame = X.copy()
    frame.insert(0, header, ids)
    return frame


def gbsg2(folder: Path) -> Export:
    """GBSG2 as CSV: recurrence-free time in months, event 0/1."""
    X, y = datasets.load_gbsg2()
    frame = _with_ids(X, [f"G{i:04d}" for i in range(len(X))])
    frame["RFS (months)"] = y["time"] / TIME_UNITS["months"]
    frame["event"] = y["cens"].astype(int)
    path = folder / "gbsg2.csv"
    frame.to_csv(path, index=False)
    return Export(path, X, y)


def gbsg2_two_endpoints(folder: Path) -> Path:
    """GBSG2 with its recurrence-free pair under scikit-survival's names 'time' (days) and 'cens'
    (1: recurrence), beside a made-up overall-survival pair 'os_days' and 'os_status' (death
    after recurrence only, OS at least as long as RFS)."""
    export = gbsg2(folder)
    sheet = pd.read_csv(export.path, dtype=str).drop(columns=["RFS (months)", "event"])
    recurred = export.y["cens"]
    rng = np.random.default_rng(0)
    sheet["time"], sheet["cens"] = export.y["time"], recurred.astype(int)
    sheet["os_days"] = (export.y["time"] + rng.exponential(500, len(sheet)) * recurred).round()
    sheet["os_status"] = (recurred & (rng.random(len(sheet)) < 0.6)).astype(int)
    sheet.to_csv(path := folder / "gbsg2_two.csv", index=False)
    return path


#: Baseline variables named like another endpoint's flag, as a GBSG2 export may add them (made-up
#: values): diabetes mellitus, the nodal and M stages, a local, distant or regional spread, a
#: prior locoregional recurrence. Header: its cells.
BASELINE_LOOKALIKES = {
    "DM_status": ("0", "1"),
    "regional_lymph_node_status": ("N0", "N1", "N2"),
    "metastasis_status": ("M0", "M1"),
    "local_status": ("0", "1"),
    "Distant": ("yes", "no"),
    "Regional": ("yes", "no"),
    "LR": ("0", "1"),
}


def gbsg2_with_baseline_lookalikes(folder: Path) -> Path:
    """GBSG2 with an overall survival's 'os_days' and 'os_event' (its recurrence-free pair
    renamed, as the regression hunt did) and :data:`BASELINE_LOOKALIKES` filled at random."""
    export = gbsg2(folder)
    sheet = pd.read_csv(export.path).drop(columns=["RFS (months)", "event"])
    sheet["os_days"], sheet["os_event"] = export.y["time"], export.y["cens"].astype(int)
    rng = np.random.default_rng(2)
    for header, cells in BASELINE_LOOKALIKES.items():
        sheet[header] = rng.choice(cells, len(sheet))
    sheet.to_csv(path := folder / "gbsg2_lookalikes.csv", index=False)
    return path


#: GBSG2's endpoints as :func:`gbsg2_two_endpoints` holds them, imported as a cohort each
#: (:func:`imported_gbsg2_model`): (time column, event column). 'rfs' is named by its headers
#: (recurrence-free), 'coded' states a death's code beside a recurrence's, 'unnamed' keeps
#: scikit-survival's 'time' and 'cens', which name no endpoint. 'dead_cells' writes the RFS
#: event Recurrence/Dead/Alive, 'or_death' 0/1 under a header stating '1=recurrence or death',
#: 'pfs' 0/1 under 'PFS_event', which says nothing of a death, 'efs' 0/1 as an event-free
#: survival's under a header stating '1=event or death'.
GBSG2_ENDPOINTS = {
    "os": ("os_days", "os_status"),
    "rfs": ("rfs_days", "recurrence"),
    "coded": ("rfs_days", "status (0=censored, 1=recurrence, 2=dead)"),
    "unnamed": ("time", "cens"),
    "dead_cells": ("rfs_days", "rfs_status"),
    "or_death": ("rfs_days", "rfs_event (0=censored, 1=recurrence or death)"),
    "pfs": ("PFS (days)", "PFS_event"),
    "efs": ("efs_days", "efs_status (0=event-free, 1=event or death)"),
}
#: How many of GBSG2's patients without recurrence :func:`imported_gbsg2` marks as dead (the
#: events of 'coded', 'dead_cells', 'or_death', 'pfs' and 'efs' beside its 299 recurrences).
GBSG2_DEATHS = 38


def imported_gbsg2(folder: Path, endpoint: str, menostat: str | None = None) -> Path:
    """:func:`gbsg2_two_endpoints` imported (``cohort import``) as the cohort
    ``folder/cohort_<endpoint>`` with one of :data:`GBSG2_ENDPOINTS`' outcomes, which it records
    ('coded' marks a made-up 10 % of the patients without recurrence as dead, 2, as the other
    endpoints that count a death do: :data:`GBSG2_DEATHS`); ``menostat``
    ('Pre', 'Post'): those patients alone, as one site's (the column dropped), in
    ``cohort_<endpoint>_<menostat>``. Returns the cohort's folder."""
    from survival_core.cli.main import main

    sheet = pd.read_csv(gbsg2_two_endpoints(folder))
    sheet["rfs_days"], sheet["recurrence"] = sheet["time"], sheet["cens"]
    died = (sheet["cens"] == 0) & (np.random.default_rng(1).random(len(sheet)) < 0.1)
    sheet[GBSG2_ENDPOINTS["coded"][1]] = np.where(died, 2, sheet["cens"])
    sheet["rfs_status"] = np.where(died, "Dead", np.where(sheet["cens"], "Recurrence", "Alive"))
    either = (died | (sheet["cens"] == 1)).astype(int)
    for days, flag in (GBSG2_ENDPOINTS[pair] for pair in ("or_death", "pfs", "efs")):
        sheet[days], sheet[flag] = sheet["time"], either
    name = endpoint if menostat is None else f"{endpoint}_{menostat}"
    if menostat is not None:
        sheet = sheet[sheet["menostat"] == menostat].drop(columns="menostat")
    time, event = GBSG2_ENDPOINTS[endpoint]
    kept = [c for c in sheet.columns if c not in _other_outcomes(time, event)]
    sheet[kept].to_csv(path := folder / f"gbsg2_{name}.csv", index=False)
    cohort = folder / f"cohort_{name}"
    given = ["--time-column", time, "--event-column", event, "--time-unit", "days"]
    assert main(["cohort", "import", "--clinical", str(path), "--out", str(cohort), *given]) == 0
    return cohort


def imported_gbsg2_model(folder: Path, endpoint: str, model: str = "coxph") -> Path:
    """A ``model`` fitted (``fit``) on :func:`imported_gbsg2`'s cohort of ``endpoint``: its card
    records that outcome; returns the model's folder."""
    from survival_core.cli.main import main

    cohort, out = imported_gbsg2(folder, endpoint), folder / f"model_{endpoint}"
    assert main(["fit", "--cohort", str(cohort), "--model", model, "--out", str(out)]) == 0
    return out


def _other_outcomes(time: str, event: str) -> set[str]:
    """The columns of :data:`GBSG2_ENDPOINTS` other than ``time`` and ``event``: an import
    drops them anyway, and a copy of the RFS pair under two names would be read as a predictor."""
    return {c for pair in GBSG2_ENDPOINTS.values() for c in pair} - {time, event}


def lymph_node(folder: Path) -> Path:
    """lifelines' GBSG lymph-node file copied into ``folder`` as it ships: 686 patients, their
    dates (diagdateb, recdate, deathdate: the last contact for the living), a recurrence's
    rectime/censrec (299 events) and a death's survtime/censdead (171)."""
    from lifelines import datasets as lifelines_data

    source = Path(lifelines_data.__file__).with_name("lymph_node.csv")
    (path := folder / "lymph_node.csv").write_bytes(source.read_bytes())
    return path


#: lifelines' lung as hospitals abroad head it (:func:`lung_abroad`), by language: the patient
#: ID, age, survival time (months) and vital status 0/1, then the other outcomes the sheet
#: carries beside them, each a yes/no flag of a recurrence or progression (its yes and no
#: words), a progression-free survival ('months') or a death date ('date').
LUNG_ABROAD = {
    "nl": (
        ("Patiëntnummer", "Leeftijd (jaren)", "Overleving (maanden)",
         "Status (0=levend, 1=overleden)"),
        {"Recidief (ja/nee)": ("ja", "nee"), "Progressievrije overleving (maanden)": "months",
         "Datum overlijden": "date"},
    ),
    "pt": (
        ("Prontuário", "Idade (anos)", "Sobrevida global (meses)", "Óbito (0=não, 1=sim)"),
        {"Recidiva (sim/não)": ("sim", "não"), "Progressão (sim/não)": ("sim", "não"),
         "Sobrevida livre de progressão (meses)": "months"},
    ),
    "es": (
        ("NHC", "Edad (años)", "Supervivencia global (meses)", "Exitus (0=no, 1=sí)"),
        {"Progresión (sí/no)": ("sí", "no"),
         "Supervivencia libre de progresión (meses)": "months", "Fecha de defunción": "date"},
    ),
    "de": (
        ("Pat.-Nr.", "Alter (Jahre)", "Überlebenszeit (Monate)",
         "Status (0=lebend, 1=verstorben)"),
        {"Progress (ja/nein)": ("ja", "nein"), "Sterbedatum": "date"},
    ),
}  # fmt: skip


def lung_abroad(folder: Path, language: str) -> Export:
    """lifelines' lung (228 patients, 165 deaths) headed as :data:`LUNG_ABROAD` says for
    ``language``, semicolon-separated with decimal commas: ID, age, ECOG, survival in months,
    vital status, and the other outcomes made from each patient's real one (a progression for
    85 % of the dead and 15 % of the living, a progression-free survival shorter than the
    survival, a death date for the dead). ``options``: its ID, time and event columns."""
    lung = pd.read_csv(lifelines_csv("lung.csv"))
    (patient, age, time, event), others = LUNG_ABROAD[language]
    dead = lung["status"].to_numpy(bool)
    rng = np.random.default_rng(1)
    progressed = rng.random(len(lung)) < np.where(dead, 0.85, 0.15)
    months = lung["time"] / TIME_UNITS["months"]
    sheet = pd.DataFrame(
        {
            patient: [f"L{i:03d}" for i in range(len(lung))],
            age: lung["age"],
            "ECOG": lung["ph.ecog"],
            time: months.round(1),
            event: lung["status"],
        }
    )
    for header, kind in others.items():
        if kind == "months":
            sheet[header] = (months * rng.uniform(0.3, 0.9, len(lung))).round(1)
        elif kind == "date":
            sheet[header] = np.where(dead, "01.02.2019", "")
        else:
            sheet[header] = np.where(progressed, *kind)
    path = folder / f"lung_{language}.csv"
    sheet.to_csv(path, sep=";", decimal=",", index=False)
    y = Surv.from_arrays(dead, lung["time"], name_event="status", name_time="time")
    options = {"id_column": patient, "time_column": time, "event_column": event}
    return Export(path, lung[["age", "ph.ecog"]], y, options)


def lung_dated(folder: Path, start: str, last: str) -> Export:
    """lifelines' lung as a registry writes it: each patient's diagnosis (every third day from
    1 March 2015) under ``start``, the last contact (the diagnosis plus the real time) under
    ``last``, day first ('01.03.2015'), and a 0/1 'Status'."""
    lung = pd.read_csv(lifelines_csv("lung.csv"))
    diagnosed = pd.Timestamp("2015-03-01") + pd.to_timedelta(np.arange(len(lung)) * 3, unit="D")
    sheet = pd.DataFrame(
        {
            "patient_id": [f"L{i:03d}" for i in range(len(lung))],
            "age": lung["age"],
            start: diagnosed.strftime("%d.%m.%Y"),
            last: (diagnosed + pd.to_timedelta(lung["time"].to_numpy(), unit="D")).strftime(
                "%d.%m.%Y"
            ),
            "Status": lung["status"],
        }
    )
    sheet.to_csv(path := folder / "lung_dated.csv", index=False)
    y = Surv.from_arrays(lung["status"] == 1, lung["time"], name_event="status", name_time="time")
    return Export(path, lung[["age"]], y)


def nlst_lung(folder: Path) -> Export:
    """lifelines' lung under the National Lung Screening Trial's names: 'pid', 'age', 'gender',
    the smoking status and pack-years and stage at diagnosis (made up), then NLST's outcomes:
    the cancer confirmed ('conflc') and days to its diagnosis ('candx_days'), the follow-up
    ('fup_days', real), the death ('deathstat', real; 165), a lung cancer's death
    ('finaldeathlc': 80 % of them) and its days ('death_days', blank for the living)."""
    lung = pd.read_csv(lifelines_csv("lung.csv"))
    rng = np.random.default_rng(0)
    dead = lung["status"].to_numpy(bool)
    sheet = pd.DataFrame(
        {
            "pid": 100000 + np.arange(len(lung)),
            "age": lung["age"],
            "gender": lung["sex"],
            "cigsmok": rng.integers(0, 2, len(lung)),
            "pkyr": rng.uniform(30, 90, len(lung)).round(1),
            "de_stag": rng.choice([110, 120, 210, 220, 310, 320, 400], len(lung)),
            "conflc": 1,
            "candx_days": rng.integers(0, 60, len(lung)),
            "fup_days": lung["time"],
            "deathstat": lung["status"],
            "finaldeathlc": (dead & (rng.random(len(lung)) < 0.8)).astype(int),
            "death_days": np.where(dead, lung["time"], np.nan),
        }
    )
    sheet.to_csv(path := folder / "nlst.csv", index=False)
    y = Surv.from_arrays(dead, lung["time"], name_event="status", name_time="time")
    options = {"id_column": "pid", "time_column": "fup_days", "event_column": "deathstat"}
    return Export(path, sheet.iloc[:, 1:6], y, options)


def whas500(folder: Path) -> Export:
    """WHAS500 as XLSX: numeric IDs under "Patient ID", lenfol in days (unstated), fstat."""
    X, y = datasets.load_whas500()
    frame = _with_ids(X, [str(1000 + i) for i in range(len(X))], header="Patient ID")
    frame["lenfol"] = y["lenfol"]
    frame["fstat"] = y["fstat"].astype(int)
    path = folder / "whas500.xlsx"
    frame.to_excel(path, index=False, sheet_name="WHAS500")
    return Export(path, X, y, {"time_unit": "days"})


def veterans(folder: Path) -> Export:
    """The veterans' lung cancer trial, tab-separated, the status written Dead/Alive."""
    X, y = datasets.load_veterans_lung_cancer()
    frame = _with_ids(X, [f"V{i:03d}" for i in range(len(X))])
    frame["Survival_in_days"] = y["Survival_in_days"]
    frame["Status"] = np.where(y["Status"], "Dead", "Alive")
    path = folder / "veterans.csv"
    frame.to_csv(path, index=False, sep="\t")
    return Export(path, X, y)


def flchain(folder: Path, rows: int | None = None, seed: int = 0) -> Export:
    """FLCHAIN (without its cause-of-death ``chapter``) with its blank cells; futime in days
    (unstated). ``rows``: a random subset of that many patients, drawn with ``seed``."""
    X, y = datasets.load_flchain()
    X = X.drop(columns="chapter")
    if rows is not None:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), rows, replace=False))
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    frame = _with_ids(X, [f"F{i}" for i in range(len(X))])
    frame["futime"] = y["futime"]
    frame["death"] = y["death"].astype(int)
    path = folder / "flchain.csv"
    frame.to_csv(path, index=False)
    return Export(path, X, y, {"time_unit": "days"})


def aids(folder: Path) -> Export:
    """The AIDS trial keyed by "subject", with sksurv's ``censor`` column, which is 1 for the
    event: read as-is only when given as the event column."""
    X, y = datasets.load_aids()
    frame = _with_ids(X, [f"A{i}" for i in range(len(X))], header="subject")
    frame["time (days)"] = y["time"]
    frame["censor"] = y["censor"].astype(int)
    path = folder / "aids.csv"
    frame.to_csv(path, index=False)
    return Export(path, X, y, {"event_column": "censor"})


def anderson(folder: Path) -> Export:
    """lifelines' anderson.csv (its ``load_leukemia``: 42 patients; remission 't' in weeks,
    unstated; 'status' 1: relapse) as the package ships it, separated by spaces ('t status sex
    logWBC Rx'), each line led by a 'patient_id'."""
    shipped = Path(lifelines_datasets.__file__).with_name("anderson.csv").read_text()
    header, *rows = shipped.splitlines()
    lines = [f"patient_id {header}", *(f"A{i} {row}" for i, row in enumerate(rows, start=1))]
    path = folder / "anderson.csv"
    path.write_text("\n".join(lines) + "\n")
    X = lifelines_datasets.load_leukemia()  # anderson.csv, read by lifelines
    y = Surv.from_arrays(X.pop("status") == 1, X.pop("t"), name_event="status", name_time="t")
    options = {"id_column": "patient_id", "time_column": "t", "event_column": "status"}
    return Export(path, X, y, {**options, "time_unit": "weeks"})


def gbsg2_workbook_with_notes(folder: Path) -> Export:
    """GBSG2 (686 patients, 299 recurrences) as a trial's XLSX export: a merged title row,
    merged group headers ('Baseline', 'Outcome'), a 'Notes' row of units and ranges under the
    header ('years', 'mm', 'I-III', 'n', 'days'), a 'Total' row and a hidden column."""
    import openpyxl

    X, y = datasets.load_gbsg2()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["GBSG-2 trial: clinical data export"])
    sheet.append(["Patient", "Baseline", *[""] * 5, "Outcome", "", ""])
    sheet.append(
        [
            "Patient ID",
            "Age",
            "Tumour size",
            "Grade",
            "Positive nodes",
            "Hormone therapy",
            "Menopausal status",
            "RFS (days)",
            "Recurrence (0=no, 1=yes)",
            "Remarks",
        ]
    )
    sheet.append(["Notes", "years", "mm", "I-III", "n", "", "", "days", "", ""])  # fmt: skip
    for i, (row, outcome) in enumerate(zip(X.itertuples(), y, strict=True)):
        sheet.append([f"G-{i + 1:03d}", int(row.age), int(row.tsize), str(row.tgrade),
                      int(row.pnodes), str(row.horTh), str(row.menostat), int(outcome["time"]),
                      int(outcome["cens"]), ""])  # fmt: skip
    sheet.append(["Total", *[None] * 7, int(y["cens"].sum()), ""])
    for merged in ("A1:J1", "B2:G2", "H2:J2"):
        sheet.merge_cells(merged)
    sheet.column_dimensions["E"].hidden = True
    book.save(path := folder / "gbsg2_trial.xlsx")
    return Export(path, X, y)


#: Duke-Breast-Cancer-MRI's 'Clinical_and_Other_Features.xlsx' columns, as (group, name, legend).
DUKE_COLUMNS = (
    ("Patient Information", "Patient ID", ""),
    ("", "Days to MRI (From the Date of Diagnosis)", ""),
    ("Demographics", "Date of Birth (Days)", ""),
    ("", "Menopause (at diagnosis)", "0 = pre, 1 = post, 2 = N/A"),
    ("Tumor Characteristics", "Nottingham grade", "1 = low, 2 = intermediate, 3 = high"),
    ("", "ER", "0 = neg, 1 = pos"),
    ("Follow Up", "Days to death (from the date of diagnosis)", ""),
    ("", "Vital status", "0 = alive, 1 = dead"),
    ("", "Recurrence event(s)", "0 = no, 1 = yes"),
    ("", "Days to local recurrence (from the date of diagnosis)", ""),
    ("", "Days to last local recurrence free assessment (from the date of diagnosis)", ""),
)


def duke_breast_mri(folder: Path) -> Export:
    """Duke-Breast-Cancer-MRI's clinical workbook (:data:`DUKE_COLUMNS`: a group row, the names
    and a row of code legends, 'NP' where a field does not apply) filled with lifelines' GBSG
    lymph-node patients 300-599 (their age and grade, 112 recurrences, 64 deaths): the birth
    'date' in days before diagnosis, days to the local recurrence for the 112 and to the last
    assessment free of it for the others. ``X`` holds the ages, ``y`` the recurrences."""
    import openpyxl

    source = Path(lifelines_datasets.__file__).with_name("lymph_node.csv")
    patients = pd.read_csv(source).iloc[300:600].reset_index(drop=True)
    book = openpyxl.Workbook()
    sheet = book.active
    for row in zip(*DUKE_COLUMNS, strict=True):
        sheet.append(list(row))
    for i, p in patients.iterrows():
        recurred, died = p["censrec"] == 1, p["censdead"] == 1
        sheet.append([f"Breast_MRI_{i + 1:03d}", 5 + i % 20, -int(p["age"] * TIME_UNITS["years"]),
                      int(p["menopause"] - 1), int(p["grade"]), int(p["estrg_recp"] > 0),
                      int(p["survtime"]) if died else "NP", int(died), int(recurred),
                      int(p["rectime"]) if recurred else "NP",
                      "NP" if recurred else int(p["rectime"])])  # fmt: skip
    for merged in ("A1:B1", "C1:D1", "E1:F1", "G1:K1"):
        sheet.merge_cells(merged)
    book.save(path := folder / "Clinical_and_Other_Features.xlsx")
    y = Surv.from_arrays(patients["censrec"] == 1, patients["rectime"])
    return Export(path, patients[["age"]], y)


def gdc_per_treatment(folder: Path) -> Export:
    """The veterans' lung cancer trial (137 cases, 128 deaths) as a CPTAC clinical.tsv from the
    GDC: one row per treatment (two per case, differing in 'treatment_type' alone), "'--" for a
    blank, days to death or to the last follow-up."""
    X, y = datasets.load_veterans_lung_cancer()
    rows = []
    for i, (age, outcome) in enumerate(zip(X["Age_in_years"], y, strict=True)):
        days, died = str(int(outcome["Survival_in_days"])), bool(outcome["Status"])
        for treatment in ("Pharmaceutical Therapy, NOS", "Radiation Therapy, NOS"):
            rows.append({
                "case_id": f"uuid-{i:04d}", "case_submitter_id": f"C3L-{i + 100:05d}",
                "project_id": "CPTAC-3", "age_at_index": int(age),
                "vital_status": "Dead" if died else "Alive",
                "days_to_death": days if died else "'--",
                "days_to_last_follow_up": "'--" if died else days,
                "karnofsky_performance_status": int(X["Karnofsky_score"].iloc[i]),
                "treatment_or_therapy": "yes", "treatment_type": treatment,
            })  # fmt: skip
    pd.DataFrame(rows).to_csv(path := folder / "clinical.tsv", sep="\t", index=False)
    return Export(path, X, y)


def redcap_longitudinal(folder: Path) -> Export:
    """The AIDS trial (1151 patients, 96 events) as REDCap's longitudinal export: one row per
    event of a record, 'baseline_arm_1' (age, CD4 count, race as checkboxes 'raceth___1'...)
    and 'followup_arm_1' (days followed, the event), each blank in the other event; REDCap's
    event and repeat fields and each form's status ('demographics_complete')."""
    X, y = datasets.load_aids()
    rows = []
    baseline = zip(X["age"], X["cd4"], X["raceth"], y, strict=True)
    for i, (age, cd4, race, outcome) in enumerate(baseline):
        races = {f"raceth___{code}": int(race == code) for code in X["raceth"].cat.categories}
        for event, fields in (
            ("baseline_arm_1", {"age": age, "cd4": cd4, **races, "demographics_complete": 2}),
            ("followup_arm_1", {"os_days": int(outcome["time"]), "dead": int(outcome["censor"]),
                                "followup_complete": 2}),
        ):  # fmt: skip
            rows.append({
                "record_id": i + 1, "redcap_event_name": event, "redcap_repeat_instrument": "",
                "redcap_repeat_instance": "", **fields,
            })  # fmt: skip
    pd.DataFrame(rows).to_csv(path := folder / "redcap.csv", index=False)
    return Export(path, X, y)


def messy(folder: Path) -> Path:
    """:data:`MESSY` written as its Latin-1 export."""
    path = folder / "export.csv"
    path.write_bytes(MESSY.encode("latin-1"))
    return path


def hcc_tace_seg(folder: Path) -> Path:
    """TCIA's HCC-TACE-Seg clinical sheet (105 patients) filled from real ones: its codes in its
    headers ('Censored_0_progressed_1', 35 progressions from GBSG2's recurrences before WHAS500's
    deaths; 'Death_1_StillAliveorLostToFU_0', 54 deaths of WHAS500), TTP and OS in months
    (unstated)."""
    X, y = datasets.load_whas500()
    _, rfs = datasets.load_gbsg2()
    n, days = 105, TIME_UNITS["months"]
    death, died = y["lenfol"][:n], y["fstat"][:n].astype(int)
    recurred = rfs["time"][:n] <= death
    frame = pd.DataFrame(
        {
            "TCIA_ID": [f"HCC_{i + 1:03d}" for i in range(n)],
            "age": X["age"][:n].astype(int),
            "TTP": (np.minimum(rfs["time"][:n], death) / days).round(1),
            "Censored_0_progressed_1": np.where(recurred, rfs["cens"][:n], 0).astype(int),
            "OS": (death / days).round(1),
            "Death_1_StillAliveorLostToFU_0": died,
            "BCLC": np.random.default_rng(0).choice(["A", "B", "C"], n),
        }
    )
    frame.to_csv(path := folder / "HCC-TACE-Seg_clinical_data-V2.csv", index=False)
    return path


def head_neck_pet_ct(folder: Path) -> Path:
    """TCIA's Head-Neck-PET-CT (Vallières) sheet, 298 patients filled from real ones: WHAS500's
    deaths (139) and follow-up under 'Time – diagnosis to last follow-up(days)' and 'Death',
    GBSG2's recurrences before them as the 0/1 'Locoregional' (87), its time 'Time – diagnosis
    to LR(days)' blank for the censored as the collection leaves it, 'Distant' all 0."""
    X, y = datasets.load_whas500()
    _, rfs = datasets.load_gbsg2()
    n = 298
    follow_up, died = y["lenfol"][:n].astype(int), y["fstat"][:n].astype(int)
    recurred = np.where(rfs["time"][:n] <= follow_up, rfs["cens"][:n], 0).astype(int)
    frame = pd.DataFrame(
        {
            "Patient #": [f"HN-CHUS-{i + 1:03d}" for i in range(n)],
            "Age": X["age"][:n].astype(int),
            "M-stage": np.random.default_rng(0).choice(["M0", "M1"], n, p=[0.95, 0.05]),
            "Time – diagnosis to last follow-up(days)": follow_up,
            "Death": died,
            "Locoregional": recurred,
            "Distant": 0,
            "Time – diagnosis to LR(days)": np.where(recurred, rfs["time"][:n], np.nan).round(),
            "Time – diagnosis to DM(days)": np.nan,
            "Time - diagnosis to Death(days)": np.where(died, follow_up, np.nan),
        }
    )
    frame.to_csv(path := folder / "INFO_GTVcontours_HN.csv", index=False)
    return path


def head_neck_radiomics_hn1(folder: Path) -> Path:
    """TCIA's HEAD-NECK-RADIOMICS-HN1 sheet, the veterans' lung cancer trial's 137 patients (128
    deaths) under its names: each endpoint an 'event_<endpoint>' beside '<endpoint>_in_days'
    (overall survival; recurrence- and metastasis-free survival the same; local, locoregional
    recurrence and distant metastases none)."""
    X, y = datasets.load_veterans_lung_cancer()
    days, died = y["Survival_in_days"].astype(int), y["Status"].astype(int)
    frame = pd.DataFrame(
        {
            "id": [f"HN1{i + 4:03d}" for i in range(len(X))],
            "age_at_diagnosis": X["Age_in_years"].astype(int),
            "performance_status": np.random.default_rng(0).choice([0, 1, 2], len(X)),
            "event_overall_survival": died,
            "overall_survival_in_days": days,
            "event_recurrence_metastatic_free_survival": died,
            "recurrence_metastatic_free_survival_in_days": days,
        }
    )
    for endpoint in ("local_recurrence", "locoregional_recurrence", "distant_metastases"):
        frame[f"event_{endpoint}"], frame[f"{endpoint}_in_days"] = 0, days
    frame.to_csv(path := folder / "HEAD-NECK-RADIOMICS-HN1 Clinical data.csv", index=False)
    return path


def nsclc_radiogenomics(folder: Path) -> Path:
    """TCIA's NSCLC Radiogenomics sheet, lifelines' lung cancer patients' first 211 (162 deaths)
    under its names: 'Survival Status' Alive/Dead, 'Time to Death (days)' blank for the living,
    and the dates giving everyone's follow-up ('CT Date' to 'Date of Death' or 'Date of Last
    Known Alive')."""
    lung = lifelines_datasets.load_lung().iloc[:211]
    days, died = lung["time"].to_numpy(), lung["status"].to_numpy() == 1
    ct = pd.Timestamp("2006-01-01") + pd.to_timedelta(np.arange(211) * 11 % 2500, "D")
    last = (ct + pd.to_timedelta(days, "D")).strftime("%m/%d/%Y")
    frame = pd.DataFrame(
        {
            "Case ID": [f"R01-{i + 1:03d}" for i in range(211)],
            "Age at Histological Diagnosis": lung["age"].to_numpy(),
            "Date of Last Known Alive": last,
            "Survival Status": np.where(died, "Dead", "Alive"),
            "Date of Death": np.where(died, last, ""),
            "Time to Death (days)": np.where(died, days, np.nan),
            "CT Date": ct.strftime("%m/%d/%Y"),
        }
    )
    frame.to_csv(path := folder / "NSCLCR01Radiogenomic_DATA_LABELS.csv", index=False)
    return path


def radcure(folder: Path) -> Path:
    """TCIA's RADCURE sheet, WHAS500's 500 patients (215 deaths) under its names: the vital
    status 'Status' Alive/Dead, 'Length FU' in years (unstated)."""
    X, y = datasets.load_whas500()
    frame = pd.DataFrame(
        {
            "patient_id": [f"RADCURE-{i + 1:04d}" for i in range(len(X))],
            "Age": X["age"].astype(int),
            "Status": np.where(y["fstat"], "Dead", "Alive"),
            "Length FU": (y["lenfol"] / TIME_UNITS["years"]).round(3),
        }
    )
    frame.to_csv(path := folder / "RADCURE_Clinical_v04.csv", index=False)
    return path


def soft_tissue_sarcoma(folder: Path) -> Path:
    """TCIA's Soft-tissue-Sarcoma sheet (51 patients), WHAS500's first 51 (24 deaths) under its
    names: 'Status (NED, AWD, D)' (the living NED or AWD), 'Time - diagnosis to last follow-up
    (days)', and GBSG2's recurrences before them (17) as 'Lung metastasis [Yes/No]' beside its
    'Time - diagnosis to lung metastasis (days)'."""
    X, y = datasets.load_whas500()
    _, rfs = datasets.load_gbsg2()
    n = 51
    follow_up, died = y["lenfol"][:n].astype(int), y["fstat"][:n]
    spread = rfs["time"][:n] <= follow_up
    metastasis = spread & rfs["cens"][:n]
    frame = pd.DataFrame(
        {
            "Patient-ID": [f"STS_{i + 1:03d}" for i in range(n)],
            "Sex": np.where(X["gender"][:n] == "1", "F", "M"),
            "Age": X["age"][:n].astype(int),
            "Grade": np.random.default_rng(0).choice(["Low", "Intermediate", "High"], n),
            "Lung metastasis [Yes/No]": np.where(metastasis, "Yes", "No"),
            "Time - diagnosis to lung metastasis (days)": np.where(
                spread, rfs["time"][:n], follow_up
            ).astype(int),
            "Status (NED, AWD, D)": np.where(died, "D", np.where(np.arange(n) % 3, "NED", "AWD")),
            "Time - diagnosis to last follow-up (days)": follow_up,
        }
    )
    frame.to_csv(path := folder / "Soft-tissue-Sarcoma_clinical.csv", index=False)
    return path


def opc_radiomics(folder: Path) -> Path:
    """TCIA's OPC-Radiomics sheet, WHAS500's 500 patients (215 deaths) under its names: 'Diag'
    (a date), 'Length FU' in years (unstated), the vital status 'Status' Alive/Dead, 'Date of
    Death' and 'Cause of Death' of the dead only, and GBSG2's recurrences before them as the
    local failure 'Local' (Yes/blank) beside its 'Date Local'."""
    X, y = datasets.load_whas500()
    _, rfs = datasets.load_gbsg2()
    n = len(X)
    diag = pd.Timestamp("2005-01-03") + pd.to_timedelta(np.arange(n) * 7 % 2900, "D")
    days, died = y["lenfol"], y["fstat"]
    recurred = (rfs["time"][:n] <= days) & rfs["cens"][:n]
    dated = lambda when, kept: np.where(kept, when.strftime("%Y-%m-%d"), "")  # noqa: E731
    frame = pd.DataFrame(
        {
            "ID": [f"OPC-{i + 1:05d}" for i in range(n)],
            "Age": X["age"].astype(int),
            "Diag": diag.strftime("%Y-%m-%d"),
            "T": np.random.default_rng(0).choice(["T1", "T2", "T3", "T4"], n),
            "Length FU": (days / TIME_UNITS["years"]).round(2),
            "Status": np.where(died, "Dead", "Alive"),
            "Date of Death": dated(diag + pd.to_timedelta(days, "D"), died),
            "Cause of Death": np.where(died, "Index Cancer", ""),
            "Local": np.where(recurred, "Yes", ""),
            "Date Local": dated(diag + pd.to_timedelta(rfs["time"][:n], "D"), recurred),
        }
    )
    frame.to_csv(path := folder / "OPC-Radiomics_clinical.csv", index=False)
    return path


def hnscc_mdacc(folder: Path) -> Path:
    """TCIA's HNSCC (MDACC) sheet, the veterans' lung cancer trial's 137 patients (128 deaths)
    under its names: 'Vital status' Alive/Dead, 'Survival (months)', and GBSG2's recurrences
    (the first 137: 59) as 'Local control' (No where it recurred) beside its 'Local
    control_duration'; baseline 'Distant metastasis at diagnosis' (Yes/No) and 'M stage'."""
    X, y = datasets.load_veterans_lung_cancer()
    _, rfs = datasets.load_gbsg2()
    n, rng = len(X), np.random.default_rng(0)
    months = TIME_UNITS["months"]
    frame = pd.DataFrame(
        {
            "TCIA code": [f"HNSCC-01-{i + 1:04d}" for i in range(n)],
            "Age at Diag": X["Age_in_years"].astype(int),
            "M stage": rng.choice(["M0", "M1"], n, p=[0.9, 0.1]),
            "Distant metastasis at diagnosis": rng.choice(["No", "Yes"], n, p=[0.9, 0.1]),
            "Vital status": np.where(y["Status"], "Dead", "Alive"),
            "Survival (months)": (y["Survival_in_days"] / months).round(1),
            "Local control": np.where(rfs["cens"][:n], "No", "Yes"),
            "Local control_duration": (rfs["time"][:n] / months).round(1),
        }
    )
    frame.to_csv(path := folder / "HNSCC_MDACC_clinical.csv", index=False)
    return path


def colorectal_liver_metastases(folder: Path) -> Path:
    """TCIA's Colorectal-Liver-Metastases sheet, GBSG2's 686 patients under its names: their
    recurrence (299) as 'progression_or_recurrence' beside 'months_to_DFS_progression', their
    follow-up as 'overall_survival_months' beside a 0/1 'vital_status' (all 0)."""
    X, y = datasets.load_gbsg2()
    months = (y["time"] / TIME_UNITS["months"]).round(2)
    frame = pd.DataFrame(
        {
            "Patient-ID": [f"CRLM-CT-{i + 1:04d}" for i in range(len(X))],
            "age": X["age"].astype(int),
            "overall_survival_months": months,
            "vital_status": 0,
            "progression_or_recurrence": y["cens"].astype(int),
            "months_to_DFS_progression": months,
        }
    )
    frame.to_csv(path := folder / "CRLM_clinical.csv", index=False)
    return path


def ispy1(folder: Path) -> Path:
    """TCIA's I-SPY1 sheet (221 patients) under its names, filled from real ones: GBSG2's first
    221 recurrences (111) as 'rfs_ind' beside 'RFS' (days), WHAS500's first 221 deaths (102) as
    'sstat' in I-SPY's codes (8 dead, 7 alive, 9 lost: every 10th living patient) beside
    'survDtD2 (tx)' (days); the tumour's longest diameter at baseline, during treatment and
    before surgery, and the pathologic response at surgery ('PCR', 'RCBClass')."""
    X, rfs = datasets.load_gbsg2()
    _, os_ = datasets.load_whas500()
    n, rng = 221, np.random.default_rng(0)
    died, lost = os_["fstat"][:n], np.arange(n) % 10 == 0
    frame = pd.DataFrame(
        {
            "SUBJECTID": np.arange(1001, 1001 + n),
            "age": X["age"][:n].astype(int),
            "MRI LD Baseline": X["tsize"][:n].astype(int),
            "MRI LD InterReg": (X["tsize"][:n] * 0.6).astype(int),
            "MRI LD PreSurg": (X["tsize"][:n] * rfs["cens"][:n] * 0.5).astype(int),
            "PCR": rng.choice([0, 1], n),
            "RCBClass": rng.choice([0, 1, 2, 3], n),
            "sstat": np.where(died, 8, np.where(lost, 9, 7)),
            "survDtD2 (tx)": os_["lenfol"][:n].astype(int),
            "rfs_ind": rfs["cens"][:n].astype(int),
            "RFS": rfs["time"][:n].astype(int),
        }
    )
    frame.to_csv(path := folder / "I-SPY1_clinical.csv", index=False)
    return path


def tcga_cdr(folder: Path) -> Export:
    """TCGA-CDR's supplementary table (Liu 2018) filled with WHAS500's 500 patients (215
    deaths: 'OS', 'OS.time' in days, unstated), with 'treatment_outcome_first_course' as TCGA
    records it: Progressive Disease for 80 % of those who died (a made-up share), else Complete
    Remission/Response or Stable Disease. Kept as a predictor, it lifted a 3-fold Cox c-index
    from 0.717 to 0.829."""
    X, y = datasets.load_whas500()
    n, rng = len(X), np.random.default_rng(2)
    died = y["fstat"]
    first_course = np.where(
        died & (rng.random(n) < 0.8),
        "Progressive Disease",
        np.where(rng.random(n) < 0.5, "Complete Remission/Response", "Stable Disease"),
    )
    frame = pd.DataFrame(
        {
            "bcr_patient_barcode": [f"TCGA-DD-{1000 + i}" for i in range(n)],
            "type": "LIHC",
            "age_at_initial_pathologic_diagnosis": X["age"].astype(int),
            "gender": np.where(X["gender"].astype(str) == "1", "FEMALE", "MALE"),
            "histological_grade": rng.choice(["G1", "G2", "G3", "G4"], n),
            "treatment_outcome_first_course": first_course,
            "margin_status": rng.choice(["R0", "R1", "[Not Available]"], n),
            "OS": died.astype(int),
            "OS.time": y["lenfol"].astype(int),
        }
    )
    frame.to_excel(path := folder / "TCGA-CDR-SupplementalTableS1.xlsx", index=False)
    return Export(path, X, y, {"time_unit": "days"})


#: Columns of the disease after treatment, by the name a clinical sheet gives them: its control
#: or failure, a time free of it, an abbreviation or a status at the last contact (dropped as
#: another outcome), and a response, a stage after neoadjuvant therapy or a salvage treatment
#: (set aside as measured after treatment). Header: its cells.
AFTER_TREATMENT_OUTCOMES = {
    **dict.fromkeys(
        ["Local Control", "Locoregional control", "Regional Control", "Distant Control", "LRF",
         "Local failure", "Loco-regional failure", "Freedom from distant metastasis", "BCR",
         "Biochemical failure", "Treatment failure", "Status at last contact",
         "Disease-free status", "NED", "Tumor free", "Treatment outcome"],
        ("yes", "no"),
    ),
    **dict.fromkeys(
        ["Best Overall Response", "RECIST response", "Tumor response", "disease_response",
         "Progressive disease", "Response to induction", "Response"],
        ("CR", "PR", "SD", "PD"),
    ),
    "Residual cancer burden": ("RCB-0", "RCB-I", "RCB-II", "RCB-III"),
    "ypT": ("ypT0", "ypT1", "ypT2"),
    "ypN": ("ypN0", "ypN1"),
    "Salvage therapy": ("yes", "no"),
}  # fmt: skip
#: Baseline variables named like those (made-up values): a test by PCR, a treatment given or
#: assigned, a performance status, another control or failure, a time free of smoking, a
#: surgical margin (known at surgery, before an adjuvant model's baseline), a pathologic T stage,
#: free text, a diabetes ('DM') beside its duration, the mRECIST response after TACE the
#: clinical schema's HCC studies take as a predictor (sun2023), and a control, failure, freedom,
#: outcome or status its header says was known at baseline or is a plan, risk or score (they were
#: dropped as another outcome), and a response or salvage it says came before (they were set
#: aside as measured after treatment). Header: its cells.
AFTER_TREATMENT_LOOKALIKES = {
    "HPV PCR": ("positive", "negative"),
    "Postoperative radiotherapy": ("yes", "no"),
    "ECOG_0_vs_1": ("0", "1"),
    "Pain control": ("good", "poor"),
    "Glycemic control": ("good", "poor"),
    "Quality control": ("passed", "failed"),
    "Control arm": ("yes", "no"),
    "Treatment arm": ("A", "B"),
    "Heart failure": ("yes", "no"),
    "Free text": ("seen", "called"),
    "Smoke-free years": ("0", "5", "12"),
    "Tumor free margin": ("yes", "no"),
    "Margin free": ("yes", "no"),
    "pT": ("pT1", "pT2", "pT3"),
    "DM": ("0", "1"),
    "DM duration (years)": ("1", "4", "9"),
    "Progressive disease at diagnosis": ("yes", "no"),
    "mRECIST": ("CR", "PR", "SD", "PD"),
    **dict.fromkeys(
        ["Disease control at baseline", "Metastasis-free at diagnosis", "Prior treatment failure",
         "Treatment failure prior to enrollment", "NED at enrollment", "Failure of prior line"],
        ("yes", "no"),
    ),
    "Tumor control probability (planned)": ("0.62", "0.81", "0.95"),
    "Local failure risk group": ("low", "intermediate", "high"),
    "BCR risk": ("low", "high"),
    "Distant control strategy": ("surgery", "SBRT", "systemic"),
    "Outcome of previous pregnancy": ("live birth", "miscarriage"),
    "Outcome prediction score": ("0.2", "0.5", "0.7"),
    "Status at last prior therapy": ("CR", "PR", "SD", "PD"),
    "Last line status": ("completed", "stopped"),
    "Response to prior chemotherapy": ("CR", "PR", "SD", "PD"),
    "Previous response": ("CR", "PR", "SD", "PD"),
    "Chemotherapy response score (baseline)": ("1", "2", "3"),
    "Prior salvage surgery": ("yes", "no"),
}  # fmt: skip


def veterans_after_treatment(folder: Path) -> Export:
    """The veterans' lung cancer trial (137 patients, 128 deaths) as 'Patient ID', 'OS (days)',
    'OS status' (Dead/Alive) and its age, with :data:`AFTER_TREATMENT_OUTCOMES` and
    :data:`AFTER_TREATMENT_LOOKALIKES` filled at random."""
    X, y = datasets.load_veterans_lung_cancer()
    n, rng = len(X), np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "Patient ID": [f"P{i:03d}" for i in range(n)],
            "OS (days)": y["Survival_in_days"].astype(int),
            "OS status": np.where(y["Status"], "Dead", "Alive"),
            "Age": X["Age_in_years"].astype(int),
        }
    )
    for header, cells in {**AFTER_TREATMENT_OUTCOMES, **AFTER_TREATMENT_LOOKALIKES}.items():
        frame[header] = rng.choice(cells, n)
    frame.to_csv(path := folder / "veterans_after_treatment.csv", index=False)
    return Export(path, X, y)


def mama_mia(folder: Path, metastases: bool = False) -> Export:
    """MAMA-MIA's clinical workbook ('dataset_info') filled with GBSG2's 686 patients: no event
    column, an event being a filled 'days_to_recurrence' (299), every patient's
    'days_to_follow_up', 'days_to_metastasis' and 'days_to_death' blank; ``metastases``: a
    made-up metastasis for every 7th recurrence, at its days."""
    X, y = datasets.load_gbsg2()
    n, rng = len(X), np.random.default_rng(0)
    days = y["time"].astype(int)
    recurred = y["cens"]
    frame = pd.DataFrame(
        {
            "patient_id": [f"DUKE_{i:03d}" for i in range(n)],
            "dataset": "DUKE",
            "age": X["age"].astype(int),
            "menopause": np.where(X["menostat"] == "Post", "post", "pre"),
            "tumor_size_mm": X["tsize"].astype(int),
            "hr": (X["estrec"] > 0).astype(int),
            "tumor_subtype": rng.choice(["luminal_a", "luminal_b", "triple_negative"], n),
            "nodes_positive": X["pnodes"].astype(int),
            "pcr": rng.choice([0, 1], n),
            "days_to_follow_up": days,
            "days_to_recurrence": np.where(recurred, days, np.nan),
            "days_to_metastasis": np.where(recurred & (np.arange(n) % 7 == 0), days, np.nan)
            if metastases
            else np.nan,
            "days_to_death": np.nan,
        }
    )
    path = folder / "clinical_and_imaging_info.xlsx"
    frame.to_excel(path, sheet_name="dataset_info", index=False)
    return Export(path, X, y)


def report_actions(result: Any, column: str) -> list[str]:
    """What a clinical import's report says of ``column``, in order."""
    return [c.action for c in result.report if c.column == column]
