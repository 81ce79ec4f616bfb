"""Early recurrence (event within 24 months) from a signature, as Wang 2022 evaluated DSFR.

- Label: 1 for an event by ``HORIZON_DAYS`` (730 days), 0 for follow-up beyond it; patients
  censored at or before 730 days without an event have unknown status and are excluded from the
  classification (they still enter the Cox model, which handles censoring).
- Classifier: logistic regression (median imputation and standardisation inside the pipeline, so
  held-out rows never inform them) with a grid search over ``C``, ``max_iter`` and ``tol`` by
  stratified inner cross-validation on the development rows, scored by ROC AUC.
- Held-out comparison: ROC AUC of each signature (DSFR alone, clinical alone, DSFR + clinical) with
  DeLong intervals, and DeLong tests between them on the same patients.
- Cox model: the DSFR signature (the logistic score, fitted on the development rows) with the
  clinical covariates, fitted and saved by :func:`survival_core.workflows.training.train_model`
  (model and card, for the study's report and nomogram), c-index on the held-out rows. It cannot
  score a new case, whose signature and ``afp_ge_400`` no one computes: scoring refuses it and says
  to train a model with features.dsfr.

:func:`train_dsfr` is the U-Net and ``dsfr.parquet`` alone (a run's features.dsfr, which needs
only ``time``/``event``); :func:`run_pipeline`, the ``dsfr`` command, adds the study where the
clinical table holds its covariates.

Clinical covariates: Wang used HBsAg, AFP >= 400 ng/mL and GGT. Our clinical schema has ``hbv``
(HBsAg positive) and ``afp`` (turned into the 0/1 column ``afp_ge_400``) but no GGT, a
cholestatic liver-function marker; ``albi_score`` (albumin-bilirubin liver function) stands in.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.evaluation.delong import binary_outcome, delong_auc, delong_test
from survival_core.features.segmentation import CONFIG_FILE as UNET_CONFIG_FILE
from survival_core.features.segmentation import WEIGHTS_FILE
from survival_core.io.atomic import replaced_folder, write_json, write_text
from survival_core.models.base import MODEL_FILE, stratified_split
from survival_core.models.card import CARD_FILE
from survival_core.models.scoring import STUDY_ONLY_FILE
from survival_core.text import first_few

if TYPE_CHECKING:
    from survival_core.features.dsfr import DSFRTable

HORIZON_DAYS = 730.0
AFP_CUTOFF = 400.0  # ng/mL
#: Wang 2022's clinical covariates in our schema (``albi_score`` in place of GGT, see module doc).
CLINICAL_COLUMNS = ("hbv", "afp_ge_400", "albi_score")
#: The clinical table's columns they come from.
STUDY_INPUTS = ("hbv", "afp", "albi_score")
SIGNATURE_COLUMN = "dsfr_signature"
#: Logistic-regression grid searched on the development rows.
DEFAULT_GRID: dict[str, list[Any]] = {
    "C": [0.01, 0.1, 1.0, 10.0],
    "max_iter": [100, 1000],
    "tol": [1e-4, 1e-2],
}
INNER_FOLDS = 5
#: Why the study's Cox model cannot score a case (its folder's ``study_only.txt``).
STUDY_ONLY = (
    "it was written by `dsfr` for its study report, and its inputs dsfr_signature (a logistic "
    "score of that run's DSFR features) and afp_ge_400 (AFP >= 400 ng/mL) are columns the "
    "study derives, which no new case has. Train a model with features.dsfr (`train --config`) "
    "to score cases."
)
#: The study's Cox model's training table, kept in its folder.
TRAINING_TABLE = "training_table.csv"


_FLAGS = {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "true": 1.0, "false": 0.0}


def _flag(values: pd.Series) -> pd.Series:
    """0/1 (float) from 0/1 or true/false values of any type; anything else NaN."""
    return values.map(lambda v: _FLAGS.get(str(v).strip().lower(), np.nan)).astype(float)


def _outcome(table: pd.DataFrame) -> np.ndarray:
    """Structured survival array from a table's ``time`` (days) and ``event`` (0/1) columns."""
    missing = {"time", "event"} - set(table.columns)
    if missing:
        raise InputError(f"The outcome table lacks the column(s) {', '.join(sorted(missing))}.")
    time = pd.to_numeric(table["time"], errors="coerce")
    event = _flag(table["event"])
    bad = time.isna() | event.isna() | (time < 0)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} case(s) have no usable time/event (e.g. "
            f"{', '.join(map(str, table.index[bad][:3]))}); fix or drop them first."
        )
    return Surv.from_arrays(event.to_numpy(bool), time.to_numpy(float))


@dataclass
class EarlyRecurrence:
    """Early-recurrence status: ``label`` 0/1 (index case_id) of the patients whose status is known
    and the ids of those ``excluded`` (censored at or before ``horizon`` days without an event)."""

    label: pd.Series
    excluded: list[str]
    horizon: float

    @property
    def n_excluded(self) -> int:
        return len(self.excluded)


def early_recurrence(table: pd.DataFrame, horizon: float = HORIZON_DAYS) -> EarlyRecurrence:
    """Labels from ``time``/``event`` columns (index case_id) by :func:`binary_outcome`."""
    label, known = binary_outcome(_outcome(table), horizon)
    index = table.index.astype(str)
    return EarlyRecurrence(
        pd.Series(label[known], index=index[known], name="early_recurrence"),
        list(index[~known]),
        float(horizon),
    )


def study_skipped(columns: Sequence[str]) -> str | None:
    """Why the early-recurrence study cannot run on a clinical table of ``columns`` (it lacks
    :data:`STUDY_INPUTS`), or None when it can."""
    missing = sorted(set(STUDY_INPUTS) - set(columns))
    if not missing:
        return None
    return (
        f"The clinical table lacks {', '.join(missing)}, needed for the early-recurrence study's "
        "clinical model (Wang 2022's covariates)"
    )


def clinical_covariates(clinical: pd.DataFrame) -> pd.DataFrame:
    """``hbv`` (0/1), ``afp_ge_400`` (0/1, AFP >= 400 ng/mL) and ``albi_score``; missing stays
    NaN."""
    if skipped := study_skipped(list(clinical.columns)):
        raise InputError(f"{skipped}.")
    hbv = _flag(clinical["hbv"])
    afp = pd.to_numeric(clinical["afp"], errors="coerce")
    columns = {
        "hbv": hbv,
        "afp_ge_400": (afp >= AFP_CUTOFF).astype(float).where(afp.notna()),
        "albi_score": pd.to_numeric(clinical["albi_score"], errors="coerce"),
    }
    return pd.DataFrame(
        {name: values.to_numpy() for name, values in columns.items()},
        index=clinical.index.astype(str),
    )


def check_test_fraction(test_fraction: float) -> None:
    """ConfigError unless the held-out fraction lies strictly between 0 and 1."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"The held-out fraction must be between 0 and 1; got {test_fraction}.")


def split_development(
    status: EarlyRecurrence, case_ids: Sequence[str], test_fraction: float = 0.2, seed: int = 0
) -> tuple[list[str], list[str]]:
    """``(development, held_out)`` case ids: ``test_fraction`` of the patients with, without and of
    unknown early-recurrence status each go to the held-out set (at least one of a group of two or
    more, never a whole group), seeded. The ids are drawn in sorted order: the same patients and
    seed give the same split in any row order of the cohort's tables (a shuffled export held out
    other patients, and its U-Net and Cox coefficients differed)."""
    check_test_fraction(test_fraction)
    ids = np.array(sorted(str(c) for c in case_ids))
    unknown = ~np.isin(ids, status.label.index)
    positive = np.isin(ids, status.label.index[status.label == 1])
    generator = torch.Generator().manual_seed(int(seed))
    development, held_out = [], []
    for group, flag in ((~unknown, positive[~unknown]), (unknown, np.zeros(unknown.sum(), bool))):
        train, test = stratified_split(flag, float(test_fraction), generator)
        development += list(ids[group][train])
        held_out += list(ids[group][test])
    return sorted(development), sorted(held_out)


def logistic_pipeline() -> Pipeline:
    """Median imputation, standardisation and logistic regression."""
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("logistic", LogisticRegression()),
        ]
    )


@dataclass
class LogisticSignature:
    """A fitted early-recurrence signature: the pipeline, its columns and the chosen grid point."""

    pipeline: Pipeline
    columns: list[str]
    best_params: dict[str, Any]
    inner_folds: int

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of early recurrence (the signature) per row of ``X``."""
        return self.pipeline.decision_function(X[self.columns])


def fit_logistic(
    X: pd.DataFrame,
    label: pd.Series,
    grid: Mapping[str, Sequence[Any]] | None = None,
    inner_folds: int = INNER_FOLDS,
    seed: int = 0,
) -> LogisticSignature:
    """Logistic regression on ``X`` for ``label`` (0/1), its ``C``/``max_iter``/``tol`` chosen by
    grid search with stratified ``inner_folds``-fold CV (ROC AUC) and refitted on all rows. With
    fewer than 2 patients in a class the folds shrink; below 2 folds the defaults are fitted."""
    y = np.asarray(label, dtype=int)
    counts = np.bincount(y, minlength=2)
    if counts.size != 2 or counts.min() == 0:
        raise InputError(
            f"Early-recurrence classification needs patients with and without early recurrence "
            f"among the development cases; got {counts[1]} with and {counts[0]} without."
        )
    grid = DEFAULT_GRID if grid is None else grid
    folds = int(min(inner_folds, counts.min()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if folds < 2:
            pipeline = logistic_pipeline().fit(X, y)
            return LogisticSignature(pipeline, list(X.columns), {}, folds)
        search = GridSearchCV(
            logistic_pipeline(),
            {f"logistic__{name}": list(values) for name, values in grid.items()},
            scoring="roc_auc",
            cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        ).fit(X, y)
    best = {k.removeprefix("logistic__"): v for k, v in search.best_params_.items()}
    return LogisticSignature(search.best_estimator_, list(X.columns), best, folds)


def held_out_auc(label: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """ROC AUC (sklearn) and its DeLong 95 % CI; None where the held-out set cannot give them."""
    label = np.asarray(label, dtype=int)
    if np.unique(label).size < 2:
        return {"auc": None, "ci": None}
    auc = float(roc_auc_score(label, score))
    try:
        estimate = delong_auc(label, score)
        return {"auc": auc, "ci": [estimate.ci_low, estimate.ci_high]}
    except InputError:  # fewer than 2 patients in a class: no variance
        return {"auc": auc, "ci": None}


def compare_aucs(label: np.ndarray, score_a: np.ndarray, score_b: np.ndarray) -> dict[str, Any]:
    """DeLong test AUC(a) - AUC(b); None values when a class has fewer than 2 patients, a None
    p-value with the test's ``note`` where the AUCs differ with zero variance."""
    try:
        test = delong_test(np.asarray(label, dtype=int), score_a, score_b)
    except InputError:
        return {"difference": None, "ci": None, "p_value": None}
    compared = {
        "difference": test.difference,
        "ci": [test.ci_low, test.ci_high],
        "p_value": test.p_value,
    }
    return compared if test.note is None else {**compared, "note": test.note}


def cox_signature_model(
    signature: pd.Series,
    covariates: pd.DataFrame,
    outcome: pd.DataFrame,
    development: Sequence[str],
    held_out: Sequence[str],
    out: Path | str,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Cox PH of the signature and clinical covariates fitted on the ``development`` rows and saved
    into ``out`` by ``train_model`` (model + card; its training table as ``training_table.csv``),
    marked as the study's alone (``study_only.txt``: scoring a case refuses it, its inputs being
    the study's own columns); returns its summary with the Harrell c-index on the ``held_out``
    rows (None if not defined)."""
    from survival_core.models import load_model
    from survival_core.workflows.training import train_model

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.concat(
        [signature.rename(SIGNATURE_COLUMN), covariates, outcome[["time", "event"]]], axis=1
    )
    frame.index.name = "case_id"
    with tempfile.TemporaryDirectory(dir=out.parent) as staging:  # out is written whole
        table = Path(staging) / TRAINING_TABLE
        frame.loc[list(development)].to_csv(table)
        summary = train_model([table], "coxph", {}, out, horizon=HORIZON_DAYS, progress=progress)
        shutil.move(table, out / table.name)
    write_text(out / STUDY_ONLY_FILE, STUDY_ONLY)
    model = load_model(out)
    summary["coefficients"] = dict(zip(model.features_used_, model.coef_.tolist(), strict=True))
    test = frame.loc[list(held_out)]
    summary["held_out_c_index"] = None
    if len(test) >= 2:
        try:
            c_index = harrell_c_index(
                _outcome(test), model.predict_risk(test.drop(columns=["time", "event"]))
            )
            summary["held_out_c_index"] = None if not np.isfinite(c_index) else float(c_index)
        except InputError:  # no comparable pair among the held-out patients
            pass
    return summary


def early_recurrence_study(
    dsfr: pd.DataFrame,
    clinical: pd.DataFrame,
    development: Sequence[str],
    held_out: Sequence[str],
    cox_out: Path | str,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Wang 2022's evaluation: logistic signatures (DSFR, clinical, DSFR + clinical) fitted on the
    development patients of known status, held-out AUCs and DeLong tests, and the Cox model of the
    DSFR signature + clinical covariates (saved into ``cox_out``). ``clinical`` holds ``time``,
    ``event`` and the clinical variables, both tables indexed by case_id."""
    clinical = clinical.copy()
    clinical.index = clinical.index.astype(str)
    status = early_recurrence(clinical)
    covariates = clinical_covariates(clinical)
    tables = {
        "dsfr": dsfr,
        "clinical": covariates,
        "combined": pd.concat([dsfr, covariates], axis=1),
    }
    dev = [c for c in development if c in status.label.index]
    test = [c for c in held_out if c in status.label.index]
    fits = {
        name: fit_logistic(table.loc[dev], status.label.loc[dev], seed=seed)
        for name, table in tables.items()
    }
    y_test = status.label.loc[test].to_numpy()
    scores = {
        name: fit.score(tables[name].loc[test]) if test else np.array([])
        for name, fit in fits.items()
    }
    signature = pd.Series(fits["dsfr"].score(dsfr), index=dsfr.index.astype(str))
    cox = cox_signature_model(
        signature, covariates, clinical, development, held_out, cox_out, progress
    )
    return {
        "horizon_days": status.horizon,
        "n_excluded_censored": status.n_excluded,
        "excluded": status.excluded,
        "n_dev_classified": len(dev),
        "n_test_classified": len(test),
        "dev_positive": int(status.label.loc[dev].sum()),
        "test_positive": int(y_test.sum()),
        "clinical_columns": list(CLINICAL_COLUMNS),
        "signatures": {
            name: {
                **held_out_auc(y_test, scores[name]),
                "best_params": fit.best_params,
                "inner_folds": fit.inner_folds,
                "n_features": len(fit.columns),
            }
            for name, fit in fits.items()
        },
        "delong": {
            "combined_vs_clinical": compare_aucs(y_test, scores["combined"], scores["clinical"]),
            "dsfr_vs_clinical": compare_aucs(y_test, scores["dsfr"], scores["clinical"]),
            "combined_vs_dsfr": compare_aucs(y_test, scores["combined"], scores["dsfr"]),
        },
        "cox": cox,
    }


def _silent(line: str) -> None:
    """No progress lines."""


#: The fewest cases the U-Net and its held-out Dice are made from.
MIN_CASES = 4
#: What :func:`train_dsfr` writes into its folder besides the U-Net and ``dsfr.parquet``.
SEGMENTATION_FILE = "segmentation.json"
#: Every entry a ``dsfr`` run writes into its folder (:func:`train_dsfr`, :func:`_study`), by
#: name, with what a folder of them holds (None: a file); a folder holding any other, at any
#: depth, is not a run's, and is refused rather than replaced.
RUN_ENTRIES: Mapping[str, Mapping[str, None] | None] = {
    "unet": dict.fromkeys((UNET_CONFIG_FILE, WEIGHTS_FILE)),
    "dsfr.parquet": None,
    "dsfr.failures.csv": None,
    SEGMENTATION_FILE: None,
    "classification.json": None,
    "cox_model": dict.fromkeys((MODEL_FILE, CARD_FILE, TRAINING_TABLE, STUDY_ONLY_FILE)),
}


@dataclass
class DSFRRun:
    """What :func:`train_dsfr` made: the DSFR table of the cases on the network grid, their
    clinical rows (index case_id), early-recurrence status and split, and ``record`` (the split,
    held-out Dice, fallback and failed cases, U-Net loss: its ``segmentation.json``)."""

    table: DSFRTable
    clinical: pd.DataFrame
    status: EarlyRecurrence
    development: list[str]
    held_out: list[str]
    record: dict[str, Any]


def train_dsfr(
    cohort: Path,
    out: Path,
    *,
    epochs: int = 30,
    slice_size: int = 128,
    n_slices: int = 32,
    batch_size: int = 16,
    test_fraction: float = 0.2,
    seed: int = 0,
    device: str = "auto",
    progress: Callable[[str], None] = _silent,
) -> DSFRRun:
    """The tumour U-Net trained on the development cases of ``cohort`` and the DSFR features of
    every case; it needs ``time``/``event`` alone (a run's features.dsfr; the early-recurrence
    study's covariates are :func:`run_pipeline`'s). Writes ``out/unet/``, ``out/dsfr.parquet``,
    ``out/dsfr.failures.csv`` (the cases left out, and why: :func:`cases_on_grid`) and
    ``out/segmentation.json``; refused, before any file is written, when fewer than
    :data:`MIN_CASES` cases remain."""
    from survival_core.features.cohort import write_failures
    from survival_core.features.dsfr import cases_on_grid, dsfr_features, write_dsfr_table
    from survival_core.features.segmentation import (
        UNetConfig,
        UNetTraining,
        case_dice,
        train_unet,
    )
    from survival_core.io.manifest import cases_read_as, read_clinical
    from survival_core.models.device import resolve_device

    settings = UNetTraining(epochs=epochs, batch_size=batch_size, seed=seed, device=device)
    resolve_device(device)  # a device or held-out fraction refused before any case is read
    check_test_fraction(test_fraction)
    clinical = read_clinical(cohort).set_index("case_id")
    reads = [read for read in cases_read_as(cohort) if read.case_id in clinical.index]
    if len(reads) < MIN_CASES:
        raise InputError(
            f"DSFR needs at least {MIN_CASES} cases with an outcome in {cohort}; got {len(reads)}."
        )
    early_recurrence(clinical.loc[[read.case_id for read in reads]])  # bad outcomes: refused unread
    config = UNetConfig(slice_size=slice_size, n_slices=n_slices)
    inputs, failures, config = cases_on_grid(reads, config, progress, training=True)
    if len(inputs) < MIN_CASES:  # before any file: nothing of a refused run is left in ``out``
        first = failures.iloc[0]
        raise InputError(
            f"DSFR needs at least {MIN_CASES} cases on the network grid; only {len(inputs)} of the "
            f"{len(reads)} cases of {cohort} are ({len(failures)} left out; "
            f"first, {first['case_id']}: {first['error']})"
        )
    out.mkdir(parents=True, exist_ok=True)
    failures_file = write_failures(failures, len(reads), out / "dsfr.parquet").name
    by_id = {item.case_id: item for item in inputs}
    clinical = clinical.loc[list(by_id)]
    status = early_recurrence(clinical)
    development, held_out = split_development(status, list(by_id), test_fraction, seed)
    left_out = (
        f"; {len(failures)} case(s) left out (named in {failures_file})" if len(failures) else ""
    )
    progress(
        f"{len(development)} development / {len(held_out)} held-out cases{left_out}; "
        f"{status.n_excluded} censored before {status.horizon:g} days are left out of the "
        "early-recurrence classification"
    )
    model = train_unet([by_id[c] for c in development], config, settings, progress)
    model.save(out / "unet")
    dice = case_dice(model, [by_id[c] for c in held_out])
    progress(f"held-out Dice: mean {np.mean(list(dice.values())):.3f}")
    table = dsfr_features(model, inputs)
    write_dsfr_table(table, out / "dsfr.parquet", model)
    record = {
        "dice": {"mean": float(np.mean(list(dice.values()))), "per_case": dice},
        "fallback_cases": [str(c) for c in table.regions.index[table.regions["fallback"]]],
        "failed": dict(zip(failures["case_id"], failures["error"], strict=True)),
        "development": development,
        "held_out": held_out,
        "unet_loss": model.history["train"],
    }
    write_json(out / SEGMENTATION_FILE, record)
    return DSFRRun(table, clinical, status, development, held_out, record)


def _not_written(folder: Path, entries: Mapping[str, Mapping | None]) -> Iterator[Path]:
    """The paths under ``folder`` that are none of ``entries`` (a name: what its folder holds,
    None for a file), in order: a foreign folder itself, not its files."""
    for path in sorted(folder.iterdir()):
        if path.name not in entries:
            yield path
        elif path.is_dir():
            yield from _not_written(path, entries[path.name] or {})


def check_study_out(out: Path) -> None:
    """Refuse, before any work, an ``out`` folder holding an entry no ``dsfr`` run writes
    (:data:`RUN_ENTRIES`), at any depth, naming them: the run is written as a whole folder
    (:func:`~survival_core.io.atomic.replaced_folder`), replacing what it holds. A folder holding
    a run's failures table or segmentation.json beside a user's files was taken for a run's, and
    the user's files were deleted without a word; so was a user's ``unet/mynotes.txt``."""
    if not out.is_dir():
        return
    others = [str(p.relative_to(out)) for p in _not_written(out, RUN_ENTRIES)]
    if others:
        raise InputError(
            f"{out} holds {first_few(others, 3)}, which no dsfr run writes; the run is written "
            "as a whole folder, replacing what a folder holds. Give a new or empty folder, or a "
            "dsfr run's folder to replace."
        )


def check_images(cohort: Path) -> None:
    """InputError for a table-only cohort (clinical.csv without manifest.csv, as ``cohort import
    --clinical`` makes one): DSFR segments images. It was told the study was skipped for want of
    Wang's columns, then refused as 'not a cohort folder'."""
    if (cohort / "clinical.csv").is_file() and not (cohort / "manifest.csv").is_file():
        raise InputError(
            f"Cohort folder {cohort} is table-only (clinical.csv without a manifest.csv of "
            "images); DSFR segments the tumour on the images: import the images into the "
            "cohort (cohort import --images)."
        )


def run_pipeline(
    cohort: Path,
    out: Path,
    *,
    seed: int = 0,
    progress: Callable[[str], None] = _silent,
    **training: Any,
) -> dict[str, Any]:
    """The ``dsfr`` command: :func:`train_dsfr` (``training``: its other settings, epochs to
    device), then the early-recurrence study (:func:`early_recurrence_study`:
    ``out/classification.json``, ``out/cox_model/``) where the clinical table holds its
    covariates; without them the study is skipped, which the summary's ``study_skipped`` and a
    progress line (before the U-Net trains) say. ``out`` is written as a whole folder, replacing
    an earlier run's (:func:`check_study_out`); a refused run leaves it as it was. Returns the
    summary."""
    from survival_core.io.manifest import read_clinical

    start = time.perf_counter()
    check_images(cohort)
    check_study_out(out)
    skipped = study_skipped(list(read_clinical(cohort).columns))
    if skipped:
        progress(f"{skipped}: the study is skipped; the U-Net and dsfr.parquet are written")
    with replaced_folder(out) as folder:  # whole: no file of a run made there before
        summary = _study(cohort, folder, out, skipped, seed, progress, training)
    return summary | {"out": str(out), "seconds": round(time.perf_counter() - start, 2)}


def _study(
    cohort: Path,
    out: Path,
    final: Path,
    skipped: str | None,
    seed: int,
    progress: Callable[[str], None],
    training: Mapping[str, Any],
) -> dict[str, Any]:
    """:func:`run_pipeline`'s work, written into ``out`` (its staging folder, which becomes
    ``final``: the paths the run's files record are there, the staging folder being gone once
    the run ends); the summary."""
    run = train_dsfr(cohort, out, seed=seed, progress=progress, **training)
    summary: dict[str, Any] = {
        "dice_mean": run.record["dice"]["mean"],
        "n_dev": len(run.development),
        "n_test": len(run.held_out),
        "n_excluded_censored": run.status.n_excluded,
        "n_fallback": run.table.n_fallback,
        "n_failed": len(run.record["failed"]),
        "study_skipped": skipped,
    }
    if not skipped:
        study = early_recurrence_study(
            run.table.features, run.clinical, run.development, run.held_out,
            out / "cox_model", seed, progress,
        )  # fmt: skip
        study["cox"]["out"] = str(final / "cox_model")  # not the staging folder, deleted after
        write_json(out / "classification.json", {**study, **run.record})
        signatures, headline = study["signatures"], study["delong"]["combined_vs_clinical"]
        summary |= {
            "auc_dsfr": signatures["dsfr"]["auc"],
            "auc_clinical": signatures["clinical"]["auc"],
            "auc_combined": signatures["combined"]["auc"],
            "delong_p_combined_vs_clinical": headline["p_value"],
            **({"delong_note": headline["note"]} if "note" in headline else {}),
            "cox_c_index": study["cox"]["held_out_c_index"],
        }
    return summary
