"""Columns that may not be baseline variables, named in the notes of `cv`, `fit` and training
runs: ACTG175's CD4 count at week 96 and its missingness indicator lifted a Cox model's
cross-validated c-index from 0.687 (baseline variables) to 0.831 with one note alone, that
'cd496' was 39 % missing and imputed with the median."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv import datasets
from sksurv.util import Surv

from survival_core.cli.main import main
from survival_core.models.card import ModelCard
from survival_core.models.leaks import outcome_leak_notes
from tests.clinical_exports import actg175

#: What the notes say of ACTG175 (all 2139 patients).
CD496_C = (
    "'cd496' alone orders the outcome with a c-index of 0.866 (its 1342 patients with a value), "
    "as baseline predictors rarely do (0.80 or more): check it was known at baseline (not "
    "measured after it, nor derived from the outcome), else leave it out of the table."
)
R_INDICATOR = (
    "'r' says exactly which patients have a value of 'cd496' (all 2139 patients): if it was "
    "known at baseline (a treatment and its dose) this is fine; if it says who was still followed "
    "when a value was measured later, it tells their outcome: leave such columns out of the table."
)
#: What it no longer says beside 'r', the indicator the model already sees.
CD496_MISSING = "'cd496': the 797 of 2139 patients without a value fare otherwise"


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[dict, str]:
    """The command's JSON summary (its last line) and its stderr; the command must succeed."""
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr()
    return json.loads(out.out.strip().splitlines()[-1]), out.err


def test_cv_names_the_week_96_cd4_count_and_its_indicator(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    table = actg175(tmp_path)
    protocol = ("--repeats", "1", "--folds", "3", "--bootstrap", "20")
    summary, err = _run(capsys, "cv", "--table", str(table), "--model", "coxph", *protocol)
    assert summary["notes"][:2] == [CD496_C, R_INDICATOR]
    assert not any(note.startswith(CD496_MISSING) for note in summary["notes"])
    assert f"note: {R_INDICATOR}" in err.splitlines()
    # the existing notes stay as they were
    assert "'zprior' dropped: constant in the training rows." in summary["notes"]


def test_a_fixed_splits_notes_read_its_development_patients_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outcome-aware, the notes are checked on the rows the model is developed on: under a
    fixed split, ACTG175's 1711 development patients, never its 428 test patients' outcomes
    (the notes counted all 2139 when every row was read, and no test said otherwise)."""
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    table = str(actg175(tmp_path))
    protocol = ("--protocol", "fixed_split", "--bootstrap", "20")
    summary, _err = _run(capsys, "cv", "--table", table, "--model", "coxph", *protocol)
    assert summary["notes"][1] == R_INDICATOR.replace("(all 2139 patients)", "(all 1711 patients)")


def test_fit_names_them_in_its_notes_and_the_model_card(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "model"
    table = str(actg175(tmp_path))
    summary, err = _run(capsys, "fit", "--table", table, "--model", "coxph", "--out", str(out))
    assert summary["notes"][:2] == [CD496_C, R_INDICATOR]
    assert f"note: {R_INDICATOR}" in err.splitlines()
    assert "'cd496': 37% missing in training, imputed with the median (321.0)." in summary["notes"]
    assert ModelCard.load(out).notes[:2] == [CD496_C, R_INDICATOR]


def test_baseline_variables_alone_give_no_such_note(tmp_path: Path) -> None:
    """Without cd496 and r, ACTG175's own baseline table: nothing to say."""
    table = pd.read_csv(actg175(tmp_path)).drop(columns=["cd496", "r", "cd420", "cd820"])
    y = Surv.from_arrays(table.pop("event") == 1, table.pop("time"))
    assert outcome_leak_notes(table, y) == []


@pytest.mark.parametrize(
    ("load", "event", "time"),
    [
        (datasets.load_gbsg2, "cens", "time"),
        (datasets.load_whas500, "fstat", "lenfol"),
        (datasets.load_veterans_lung_cancer, "Status", "Survival_in_days"),
    ],
)
def test_clean_real_cohorts_get_no_such_note(load, event: str, time: str) -> None:
    """No false alarm on real cohorts of baseline variables (the best univariate c-indices:
    GBSG2's pnodes 0.645, WHAS500's age 0.731, the veterans' Karnofsky score 0.709)."""
    X, y = load()
    assert outcome_leak_notes(X, Surv.from_arrays(y[event], y[time])) == []


def test_a_baseline_labs_prognostic_missingness_is_not_said_to_be_after_baseline() -> None:
    """FLCHAIN's creatinine, a baseline lab, is missing for 1350 of 7874 patients who fare
    otherwise (p 6e-22): the note said 'measured only after baseline, or only while a patient
    was followed?'; it says the missingness goes with the outcome and what to do. ('chapter',
    the cause of death, left out: it is no baseline variable.)"""
    X, y = datasets.load_flchain()
    baseline = X.drop(columns="chapter")
    notes = outcome_leak_notes(baseline, Surv.from_arrays(y["death"], y["futime"]))
    assert notes == [
        "'creatinine': the 1350 of 7874 patients without a value fare otherwise than the others "
        "(log-rank p = 6.2e-22): whether it is missing goes with the outcome, which its filling "
        "with the median (1) hides. Check why it is missing (measured only later, or only in some "
        "patients?), or add a 0/1 column saying whether it was measured (a missingness "
        "indicator) where that was known at baseline."
    ]


def test_the_event_as_a_column_and_an_indicator_in_words_are_named() -> None:
    """GBSG2 with its recurrence as a yes/no column: named with its c-index; and a yes/no
    column saying for whom a size was measured (every third patient not): named beside it."""
    X, y = datasets.load_gbsg2()
    measured = np.arange(len(X)) % 3 > 0
    X = X.assign(
        relapsed=np.where(y["cens"], "yes", "no"),
        size_known=np.where(measured, "yes", "no"),
        later_size=X["tsize"].where(measured),
    )
    notes = outcome_leak_notes(X, Surv.from_arrays(y["cens"], y["time"]))
    assert notes[0].startswith("'relapsed' alone orders the outcome with a c-index of ")
    indicator = "'size_known' says exactly which patients have a value of 'later_size' (all 686"
    assert notes[1].startswith(indicator)
    assert len(notes) == 2  # its missingness is chance's: no log-rank note


def test_a_treatment_flag_and_its_dose_give_one_note_that_allows_baseline() -> None:
    """GBSG2's hormone therapy (horTh) and a tamoxifen dose given only to its 'yes' patients, an
    ordinary baseline structure: two contradicting notes said horTh might be measured after
    baseline and that the dose's missingness goes with the outcome, asking for the 0/1 column
    horTh already is. One note remains: the indicator, said as a fact to check."""
    X, y = datasets.load_gbsg2()
    dose = np.random.default_rng(0).choice([20.0, 40.0], len(X))
    X = X.assign(tamoxifen_mg=np.where(X["horTh"] == "yes", dose, np.nan))
    assert outcome_leak_notes(X, Surv.from_arrays(y["cens"], y["time"])) == [
        "'horTh' says exactly which patients have a value of 'tamoxifen_mg' (all 686 patients): "
        "if it was known at baseline (a treatment and its dose) this is fine; if it says who was "
        "still followed when a value was measured later, it tells their outcome: leave such "
        "columns out of the table."
    ]


def test_many_randomly_missing_columns_give_no_chance_missingness_note() -> None:
    """200 copies of GBSG2's age, each missing for a random tenth of the patients: tested each
    at p < 0.01 without correction, 2 of them were said to go with the outcome. Holm's
    correction across the columns tested says none."""
    X, y = datasets.load_gbsg2()
    rng = np.random.default_rng(0)
    copies = {f"lab{i:03d}": X["age"].where(rng.random(len(X)) > 0.1) for i in range(200)}
    X = pd.concat([X[["age"]], pd.DataFrame(copies)], axis=1)
    assert outcome_leak_notes(X, Surv.from_arrays(y["cens"], y["time"])) == []


def test_an_underflowing_log_rank_p_is_said_as_below_its_bound() -> None:
    """FLCHAIN's cause of death ('chapter', missing for the 5705 patients alive) was said to
    go with the outcome at 'log-rank p = 0', a certainty no test gives: '< 1e-300'."""
    X, y = datasets.load_flchain()
    notes = outcome_leak_notes(X, Surv.from_arrays(y["death"], y["futime"]))
    assert notes[0].startswith(
        "'chapter': the 5705 of 7874 patients without a value fare otherwise than the others "
        "(log-rank p < 1e-300): whether it is missing goes with the outcome"
    )
    assert notes[1].startswith("'creatinine': the 1350 of 7874 patients without a value")
