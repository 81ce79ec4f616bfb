"""Run a survival model through a resampling protocol and report what a reviewer asks for.

Each fold fits a fresh model (with its preprocessing and feature reduction) on the fold's training
rows only; neural models use the fold's validation rows for early stopping, other models are fitted
on training + validation rows (their hyper-parameters are tuned by inner CV on those rows).

Results:

- ``folds``: one row per fold with Harrell's and Uno's c-index, td-AUC per horizon (of the
  predicted event probability by that horizon) and the IBS on the test rows (omitted for
  single-patient test folds such as leave-one-out); a model choice's or a hyper-parameter
  search's fold adds what it chose (``chosen``) and its inner c-index;
- ``oof``: out-of-fold risk per patient: ``risk``, its test model's own (``score``'s scale; one
  model tests the patients of a fixed split or an external protocol, an external run's the
  registered model, on its card's cut's scale; under nested CV or leave-one-out each patient's
  fold model's own scale, averaged over repeats: compare patients by ``risk_z``), and
  ``risk_z``, what the pooled metrics rank by: risk scales differ between folds' models, so each
  fold's test risks are z-scored against that model's own training risks before the repeats
  are averaged;
  out-of-fold survival probabilities (a common scale) are averaged as they are, and S(h) at each
  td-AUC horizon h is a column ``survival_<h>`` (for calibration and decision curves); the td-AUC
  at h ranks by the event probability 1 - S(h), z-scored as the risks are before pooling (the
  folds' models differ in their baseline hazards, not only in their risk scales);
- ``summary``: pooled out-of-fold metrics over all patients — Harrell's c-index with a BCa bootstrap
  interval, Uno's c-index (truncated at ``uno_tau``), td-AUC at each horizon, IBS (over the
  days ``ibs_range`` gives), calibration slope and calibration-in-the-large at the middle
  horizon — plus the mean and SD of fold c-indices.
- ``comparison`` (``auto`` and ``ensemble``, which fit every candidate pipeline in each fold):
  every candidate's pooled out-of-fold c-index with CI on the same folds (and the mean of its
  fold c-indices), its paired difference
  from the run's model (bootstrap p, BH q), how often each was chosen; ``summary["selection"]``
  adds the choices per fold, the comparison with the clinical-only baseline and the warnings.

``map_folds`` is the seam for parallel engines: any ``map(fn, items) -> iterable`` (built-in map,
an executor's map, or a distributed engine) runs the folds.
"""

from __future__ import annotations

import contextlib
import copy
import re
import time as clock
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.evaluation.bootstrap import Estimate, c_index_ci
from survival_core.evaluation.brier import integrated_brier_score
from survival_core.evaluation.concordance import (
    concordance_columns,
    harrell_c_index,
    uno_c_index,
    uno_tau,
)
from survival_core.evaluation.risk_groups import RiskGroupCut, constant_columns
from survival_core.evaluation.splits import Fold
from survival_core.evaluation.standardisation import z_scores
from survival_core.evaluation.td_auc import cumulative_dynamic_auc, horizon_marker
from survival_core.models.base import SurvivalModel, survival_reach
from survival_core.models.candidates import too_few_events
from survival_core.models.leaks import outcome_leak_notes
from survival_core.models.selection import ENSEMBLE
from survival_core.models.tabular import UNSEEN, share_text, unseen_levels_noted
from survival_core.outcome import survival_arrays
from survival_core.text import first_few

#: Default horizons: 1, 2 and 3 years, in days.
DEFAULT_HORIZONS = (365.0, 730.0, 1095.0)

#: Per-patient arrays of a fold record (the rest are scalars and notes).
FOLD_ARRAYS = ("test", "risk", "risk_z", "survival", "survival_at_horizons", "event_z", "high")
#: Fold-record entries that are not per-fold metrics (kept out of the fold table).
FOLD_EXTRAS = ("notes", "metric_notes", "filled", "candidates", "selection", "model", "left_out")
#: Columns of :attr:`CrossValidationResult.left_out`.
LEFT_OUT_COLUMNS = ["case_id", "fold", "column", "value", "error"]

ModelFactory = Callable[[], SurvivalModel]
Mapper = Callable[[Callable[[Fold], dict], Iterable[Fold]], Iterable[dict]]


@dataclass
class CrossValidationResult:
    """Per-fold metrics, out-of-fold predictions and the pooled summary."""

    folds: pd.DataFrame
    oof: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None
    #: The test predictions left out (:func:`run_fold`): a patient's category the fold's
    #: training rows never had, one row per value (:data:`LEFT_OUT_COLUMNS`; ``fold`` counted
    #: from 1 as 'repeat.fold'). Case ids stay out of ``summary``, which a model card keeps.
    left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LEFT_OUT_COLUMNS))

    def counted_folds(self) -> pd.DataFrame:
        """The per-fold table with its repeats and folds counted from 1, as the progress log
        counts them ('fold 1/3 (repeat 1)'; the tables written numbered them from 0)."""
        counted = [c for c in ("repeat", "fold") if c in self.folds.columns]
        return self.folds.assign(**{c: self.folds[c] + 1 for c in counted})

    def left_out_records(self) -> list[dict[str, Any]]:
        """The test predictions left out, one record per value without its long ``error``
        (what ``cv --json`` and ``fit --cv-repeats --json`` print)."""
        return self.left_out.drop(columns="error").to_dict("records")


def usable_horizons(time: np.ndarray, horizons: Iterable[float]) -> np.ndarray:
    """The horizons strictly inside the follow-up range of ``time`` (others cannot be evaluated)."""
    h = np.unique(np.asarray(list(horizons), dtype=float))
    return h[(h >= time.min()) & (h < time.max())]


def developed_reach(time: np.ndarray, folds: Iterable[Fold]) -> float:
    """The last follow-up time (days) every fold's model was developed on (its training and
    early-stopping rows): past it a model's survival is carried on, not estimated (a development
    cohort followed to 1,000 days gave every external patient S(1,095) = S(1,000), calibrated at
    1,095 days as if predicted)."""
    return min(float(time[np.concatenate([f.train, f.validation])].max()) for f in folds)


def brier_grid(event: np.ndarray, time: np.ndarray, n: int = 20) -> np.ndarray:
    """Time grid for the integrated Brier score: 10th-90th percentile of event times (days), the
    same for every model (a discrete model's survival carried flat past its last edge is scored
    as what it predicts there)."""
    low, high = np.percentile(time[event], [10, 90])
    return np.unique(np.linspace(low, min(high, np.nextafter(time.max(), 0)), n))


def brier_times(grid: np.ndarray, y_train: np.ndarray, y_test: np.ndarray) -> np.ndarray:
    """The times of ``grid`` the IBS of ``y_test`` integrates over: from the tested patients'
    first follow-up time to before their last and the training patients' last (past it the
    censoring weights are undefined)."""
    time = survival_arrays(y_test)[1]
    reach = min(time.max(), survival_arrays(y_train)[1].max())
    return grid[(grid >= time.min()) & (grid < reach)]


def ibs_label(start: float | None, end: float | None) -> str:
    """'Integrated Brier score (251-769 days)': the score depends on the days it integrates
    over (one model on the same external patients scored 0.187 over 281-1526 days, 0.116 with
    their follow-up cut at 800 days, over 251-769); the name alone where a run recorded none."""
    name = "Integrated Brier score"
    return name if pd.isna(start) or pd.isna(end) else f"{name} ({start:.0f}-{end:.0f} days)"


def holdout_metrics(
    y_train: np.ndarray,
    y_test: np.ndarray,
    risk: np.ndarray,
    survival: np.ndarray | None,
    grid: np.ndarray,
    horizons: np.ndarray,
    event_scores: np.ndarray,
    notes: list[str] | None = None,
) -> dict[str, float]:
    """Harrell, Uno (truncated at :func:`uno_tau`), td-AUC per horizon and IBS of one set of test
    predictions (NaN when undefined); why a horizon's td-AUC is undefined goes to ``notes``.
    The c-indices rank by ``risk``; the td-AUC at each horizon by the prediction of the event by
    then (``event_scores``, a column per horizon: 1 - S(h) or its z-score;
    :func:`.td_auc.horizon_marker`)."""
    event, time = survival_arrays(y_test)
    out: dict[str, float] = {"c_index": np.nan, "uno_c_index": np.nan, "ibs": np.nan}
    if event.any() and len(np.unique(time)) > 1:
        out["uno_tau"] = uno_tau(y_train, y_test)
        with contextlib.suppress(InputError):  # no comparable pair (events only at the end)
            out["c_index"] = harrell_c_index(y_test, risk)
            out["uno_c_index"] = uno_c_index(y_train, y_test, risk, tau=out["uno_tau"])
    inside = usable_horizons(time, horizons)
    for j, h in enumerate(horizons):  # one at a time: a horizon without cases leaves others
        out[f"td_auc_{h:g}"] = np.nan
        if h not in inside:
            if notes is not None:
                notes.append(
                    f"td-AUC at {h:g} days: outside the tested patients' follow-up "
                    f"({time.min():g} to {time.max():g} days)."
                )
            continue
        try:
            marker = horizon_marker(risk, event_scores[:, j])
            out[f"td_auc_{h:g}"] = float(cumulative_dynamic_auc(y_train, y_test, marker, h)[0][0])
        except InputError as err:
            if notes is not None:
                notes.append(f"td-AUC at {h:g} days: {err}")
    keep = brier_times(grid, y_train, y_test)
    if survival is not None and keep.size >= 2:
        columns = np.isin(grid, keep)
        try:
            out["ibs"] = integrated_brier_score(y_train, y_test, survival[:, columns], keep)
        except InputError as err:
            if notes is not None:
                notes.append(f"Integrated Brier score: {err}")
    return out


def run_fold(
    fold: Fold,
    X: pd.DataFrame,
    y: np.ndarray,
    factory: ModelFactory,
    grid: np.ndarray,
    horizons: np.ndarray,
    group_cut: RiskGroupCut | None = None,
) -> dict[str, Any]:
    """Fit on the fold's training rows, predict its test rows; a picklable unit of work.
    ``group_cut`` (unfitted) is fitted on the training rows' risks and puts each test patient in
    the low (0) or high (1) risk group (``high``), as a scored patient is placed by the training
    cohort's cut. A test row holding a category of an input the model uses that its training
    rows never had is left out of the fold's predictions and metrics (``left_out``), as `score`
    refuses such a case: encoded as the reference level, a BCLC D patient was scored as BCLC 0
    and counted in the pooled metrics."""
    model = factory()
    network = model.is_network  # a search's asks its maker: read once
    if network and fold.validation.size:
        model.fit(
            X.iloc[fold.train],
            y[fold.train],
            X_val=X.iloc[fold.validation],
            y_val=y[fold.validation],
        )
        fit_rows = fold.train
    else:
        fit_rows = np.sort(np.concatenate([fold.train, fold.validation]))
        model.fit(X.iloc[fit_rows], y[fit_rows])
    # the rows that only stopped a network's training early: the fold's own validation rows, or
    # those the network held back of the rows it was given
    n_validation = int(getattr(model, "n_validation_", 0))
    n_train = fit_rows.size - (0 if fit_rows is fold.train else n_validation)
    train_risk = model.predict_risk(X.iloc[fit_rows])
    train_event = 1.0 - model.predict_survival(X.iloc[fit_rows], horizons)
    preprocessor = model.preprocessor_
    test_rows = X.iloc[fold.test].reset_index(drop=True)  # labelled by place in the fold
    unscored = preprocessor.unseen_cells(test_rows, model.features_used_)
    unscored["row"] = fold.test[unscored["row"].to_numpy(dtype=int)]  # their places in X
    test = fold.test[~np.isin(fold.test, unscored["row"])]
    risk, survival, at_horizons, unseen = _predict(model, X.iloc[test], grid, horizons)
    event_by = 1.0 - at_horizons  # the event's probability by each horizon
    filled = {  # the test rows' missing values, and what the model filled them with
        name: {"rows": test[at].tolist(), "fill": fill, "limit": preprocessor.max_missing_fraction}
        for name, (at, fill) in preprocessor.missing_filled(X.iloc[test]).items()
    }
    metrics: dict[str, float] = {}
    metric_notes: list[str] = []  # why a metric of this fold is undefined, or says nothing
    if not model.null_ and constant_columns(train_risk[:, None])[0]:  # (null: said in its notes)
        metric_notes.append(
            "the fold's model gave all its training patients the same risk: it learned nothing "
            "from them (`fit` refuses such a model), and its test patients count as ties "
            "(c-index 0.5)"
        )
    high = np.full(test.size, np.nan)
    if group_cut is not None and test.size:
        try:
            high = copy.copy(group_cut).fit(y[fit_rows], train_risk).assign(risk).astype(float)
        except InputError as err:  # a Youden cut this fold's training risks do not allow
            metric_notes.append(f"risk groups: {err}")
    if test.size > 1:  # censoring estimated on the fold's development rows (early stopping's
        development = np.concatenate([fold.train, fold.validation])  # too), as the pooled one
        metrics = holdout_metrics(
            y[development], y[test], risk, survival, grid, horizons, event_by, metric_notes
        )
    choice = {}
    if hasattr(model, "candidate_risks"):  # auto, ensemble: every candidate's test risks too
        with unseen_levels_noted():
            candidate_risks = model.candidate_risks(X.iloc[test]) if test.size else {}
        chosen = next(
            c for c in model.selection_["candidates"] if c["label"] == model.selection_["chosen"]
        )
        choice = {
            "chosen": chosen["label"],
            "chosen_inner_c_index": chosen["inner_c_index"],
            "chosen_inner_c_index_sd": chosen["inner_c_index_sd"],
            "candidates": candidate_risks,
            "selection": model.selection_,
            "model": model.name,
        }
    elif hasattr(model, "fold_choice"):  # a hyper-parameter search: what this fold's chose
        choice = model.fold_choice()
    return {
        "repeat": fold.repeat,
        "fold": fold.fold,
        "n_train": int(n_train),
        "n_validation": n_validation,
        "n_test": int(test.size),
        **(model.epochs_kept() if network else {}),
        **metrics,
        "test": test,
        "risk": risk,
        "risk_z": z_scores(risk, train_risk),
        "survival": survival,
        "survival_at_horizons": at_horizons,
        "event_z": z_scores(event_by, train_event),
        "high": high,
        "features_used": len(model.features_used_),
        "notes": [
            *preprocessor.notes_,
            *(f"test rows: {note}" for note in unseen),
            *_left_out_notes(unscored),
        ],
        "metric_notes": metric_notes,
        "filled": filled,
        "left_out": unscored.assign(repeat=fold.repeat, fold=fold.fold).to_dict("records"),
        **choice,
    }


def _predict(
    model: SurvivalModel, X_test: pd.DataFrame, grid: np.ndarray, horizons: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The test rows' risks, survival on the Brier ``grid`` and at the ``horizons``, and the
    notes of categories the model never learned that it read as the reference level (an
    input it does not use); empty for no row (a fold whose test rows were all left out)."""
    if not len(X_test):  # (a frame of no column, an image model's, is 'empty' too)
        return np.empty(0), np.empty((0, grid.size)), np.empty((0, horizons.size)), []
    with unseen_levels_noted():  # said once per run from the notes, not per fold (52 times)
        risk = model.predict_risk(X_test)
        unseen = [  # categories of the test rows (an external cohort's) the model never learned
            note for note in getattr(model.preprocessor_, "transform_notes_", []) if UNSEEN in note
        ]
        # one pass for the Brier grid and the horizons (image models rerun the network per call)
        both = model.predict_survival(X_test, np.concatenate([grid, horizons]))
    return risk, both[:, : grid.size], both[:, grid.size :], unseen


def _left_out_notes(unscored: pd.DataFrame) -> list[str]:
    """A fold's note for each input whose categories its training rows never had left test
    rows out (the counts are the run's, :func:`_left_out_summary`)."""
    return [
        f"test rows: '{name}': value(s) {', '.join(map(repr, sorted(set(cells['value']))))} "
        f"{UNSEEN}: left out of the fold's predictions and metrics (its model would score them "
        f"as the reference category {cells['levels'].iloc[0][0]!r}; `score` refuses such a case)."
        for name, cells in unscored.groupby("column", sort=False)
    ]


def cross_validate(
    X: pd.DataFrame,
    y: np.ndarray,
    factory: ModelFactory,
    folds: list[Fold],
    *,
    case_ids: Iterable[str] | None = None,
    horizons: Iterable[float] = DEFAULT_HORIZONS,
    n_bootstrap: int = 1000,
    seed: int = 0,
    map_folds: Mapper = map,
    progress: Callable[[str], None] | None = None,
    group_cut: RiskGroupCut | None = None,
    test_set: str = "the tested patients",
) -> CrossValidationResult:
    """Fit and evaluate ``factory()`` models on every fold; pool the out-of-fold predictions.
    With ``group_cut`` the out-of-fold table also holds ``high_share``: the share of a patient's
    predictions that put them in the high-risk group by their fold's training cut (see
    :func:`run_fold`). ``test_set`` names the tested patients in the notes (an external
    cohort). Horizons are kept inside the follow-up of every fold's development rows
    (:func:`developed_reach`) and of the cohort."""
    start = clock.perf_counter()
    event, time = survival_arrays(y)
    y = Surv.from_arrays(event, time)
    ids = np.asarray(list(case_ids) if case_ids is not None else [str(i) for i in range(len(y))])
    model = factory()
    until = survival_reach(model)  # a discrete model's last edge
    grid = brier_grid(event, time)
    asked = np.unique(np.asarray(list(horizons), dtype=float))
    horizons = usable_horizons(time, asked)
    left_out = [f"{h:g}" for h in asked if h not in horizons]
    reach = developed_reach(time, folds)
    undeveloped = [f"{h:g}" for h in horizons if h >= reach]
    horizons = horizons[horizons < reach]
    beyond = [f"{h:g}" for h in horizons if h > until]
    horizons = horizons[horizons <= until]
    work = partial(
        run_fold, X=X, y=y, factory=factory, grid=grid, horizons=horizons, group_cut=group_cut
    )
    records = []
    for n, record in enumerate(map_folds(work, folds), start=1):
        records.append(record)
        if progress:
            c = record.get("c_index", np.nan)
            shown = "" if np.isnan(c) else f" c-index {c:.3f}"
            progress(f"fold {n}/{len(folds)} (repeat {record['repeat'] + 1}){shown}")
    risk_sum, risk_z_sum, count = np.zeros(len(y)), np.zeros(len(y)), np.zeros(len(y))
    surv_sum = np.zeros((len(y), grid.size))
    horizon_sum, event_z_sum = np.zeros((len(y), horizons.size)), np.zeros((len(y), horizons.size))
    high_sum, high_count = np.zeros(len(y)), np.zeros(len(y))
    for record in records:
        high = record.get("high", np.full(len(record["test"]), np.nan))  # older checkpoints
        np.add.at(high_sum, record["test"], np.nan_to_num(high))
        np.add.at(high_count, record["test"], ~np.isnan(high))
        risk_sum[record["test"]] += record["risk"]
        risk_z_sum[record["test"]] += record["risk_z"]
        surv_sum[record["test"]] += record["survival"]
        horizon_sum[record["test"]] += record["survival_at_horizons"]
        event_z_sum[record["test"]] += record["event_z"]
        count[record["test"]] += 1
    tested = count > 0  # scored in one fold or more (never: never a test row, or left out)
    in_test = np.zeros(len(y), dtype=bool)
    for fold in folds:
        in_test[fold.test] = True
    oof_risk = np.where(tested, risk_z_sum / np.maximum(count, 1), np.nan)
    oof_surv = surv_sum[tested] / count[tested, None]
    oof = pd.DataFrame(
        {
            "case_id": ids,
            "risk": np.where(tested, risk_sum / np.maximum(count, 1), np.nan),
            "risk_z": oof_risk,
            "n_predictions": count.astype(int),
        }
    )
    if group_cut is not None:
        oof["high_share"] = np.where(high_count > 0, high_sum / np.maximum(high_count, 1), np.nan)
    for j, h in enumerate(horizons):  # pooled out-of-fold S(h), for calibration and decision curves
        oof[f"survival_{h:g}"] = np.where(tested, horizon_sum[:, j] / np.maximum(count, 1), np.nan)
    fold_table = pd.DataFrame(
        [{k: v for k, v in r.items() if k not in (*FOLD_ARRAYS, *FOLD_EXTRAS)} for r in records]
    )
    # the rows never tested where there are any (one split, external validation: the fold's own
    # development rows), else all (each tested once a repeat)
    developing = ~in_test if (~in_test).any() else np.ones(len(y), dtype=bool)
    # outcome-aware, so checked once on the development rows, never in a fold's preprocessing
    notes = outcome_leak_notes(X.iloc[developing], y[developing])
    notes += _fold_notes(records, "notes", every_plain=True) + _fold_notes(records, "metric_notes")
    notes += _filled_notes(records, int(tested.sum()))
    unscored = _left_out(records, ids)
    notes += _left_out_summary(unscored, ids[in_test & ~tested], int(tested.sum()))
    # the censoring distribution (IPCW, Uno's tau) of the development rows (the one test set of
    # a split gets the fold's numbers; all rows gave other ones)
    development = y[developing]
    oof_event_z = event_z_sum[tested] / count[tested, None]
    pooled = holdout_metrics(
        development, y[tested], oof_risk[tested], oof_surv, grid, horizons, oof_event_z, notes
    )
    ibs_range = _ibs_range(grid, development, y[tested], pooled["ibs"], notes)
    # the events the models were fitted on: the rows never tested (one split, external
    # validation: the development patients), else all (each fold's model on fewer still)
    developed = int(event[~in_test].sum()) if (~in_test).any() else None
    notes += _few_events_notes(model, records, int(event[tested].sum()), developed, test_set)
    if left_out:
        notes.append(
            f"Horizon(s) {', '.join(left_out)} days left out: outside the follow-up "
            f"({time.min():g} to {time.max():g} days), where time-dependent AUC and calibration "
            "cannot be evaluated."
        )
    if undeveloped:
        notes.append(
            f"Horizon(s) {', '.join(undeveloped)} days left out: at or past the follow-up the "
            f"model{'s were' if len(folds) > 1 else ' was'} developed on ({reach:g} days, its "
            "training patients' last time), after which its survival is carried flat, not "
            "estimated; no td-AUC, calibration or decision curve is computed there."
        )
    if beyond:
        notes.append(
            f"Horizon(s) {', '.join(beyond)} days left out: beyond the model's last estimated "
            f"time (its last interval's edge, {model.survival_until:g} days), after which its "
            "survival is carried flat, not estimated."
        )
    ci = _pooled_c_index(
        y[tested], oof_risk[tested], n_bootstrap, seed, test_set, notes, _unscored_why(unscored)
    )
    calibration = pooled_calibration(y[tested], oof, tested, horizons, notes)
    notes += _sparse_horizons(time[tested], horizons, pooled, (calibration or {}).get("horizon"))
    if calibration and constant_columns(oof_risk[tested][:, None])[0]:
        notes.append(
            f"Calibration at {calibration['horizon']:g} days: every fold's model gave all its "
            f"patients one risk, so the slope ({calibration['slope']:.3g}) measures only how the "
            "folds' baseline survival differs, not a ranking the model learned."
        )
    summary = {
        "n": int(tested.sum()),
        "n_folds": len(folds),
        "c_index": ci.value,
        "ci_low": ci.ci_low,
        "ci_high": ci.ci_high,
        "uno_c_index": pooled["uno_c_index"],
        "uno_tau": pooled.get("uno_tau"),
        "td_auc": {f"{h:g}": pooled[f"td_auc_{h:g}"] for h in horizons},
        "ibs": pooled["ibs"],
        "ibs_range": ibs_range,
        **_fold_spread(fold_table, notes),
        "calibration": calibration,
        "preprocessing_notes": notes,
    }
    comparison = None
    if any("candidates" in r for r in records):
        comparison, summary["selection"] = compare_candidates(
            records, y, oof_risk, tested, n_bootstrap, seed
        )
    summary["seconds"] = round(clock.perf_counter() - start, 2)
    return CrossValidationResult(fold_table, oof, summary, comparison, unscored)


def _left_out_summary(left_out: pd.DataFrame, unscored: np.ndarray, n_scored: int) -> list[str]:
    """The run's note of the test predictions :func:`run_fold` left out (``left_out``): how
    many, of how many patients, those scored in no fold (``unscored``: a patient left out in
    one repeat's fold is counted from the others) and that the pooled metrics are over the
    ``n_scored`` patients scored."""
    if left_out.empty:
        return []
    predictions = left_out[["case_id", "fold"]].drop_duplicates()
    never = (
        f"{len(unscored)} of them scored in no fold, so the pooled metrics are over the "
        f"{n_scored} patients scored"
        if len(unscored)
        else f"each is scored in another repeat, and the pooled metrics are over all {n_scored}"
    )
    return [
        f"{len(predictions)} test prediction(s) of {predictions['case_id'].nunique()} patient(s) "
        "left out: they hold a category the fold's training rows never had, which its model "
        "would score as the reference level (as `score` refuses such a case; each listed with "
        "its fold, column and value in cv's left_out.csv and --json, fit --cv-repeats' --json, "
        f"a run's reports/left_out.csv); {never}."
    ]


def _unscored_why(left_out: pd.DataFrame) -> str:
    """What a refusal for want of scored patients adds of those the folds left out (``left_out``,
    :func:`_left_out`): 5 patients of one-off categories in 2 folds left 1 scored, and the
    refusal named that 1 alone."""
    if left_out.empty:
        return ""
    first = left_out.iloc[0]
    return (
        f" {left_out['case_id'].nunique()} other patient(s) were left out of their folds, holding "
        f"a category the fold's training rows never had (first: {first['case_id']}, fold "
        f"{first['fold']}: '{first['column']}' is {first['value']!r}). With fewer folds each "
        "trains on more patients; or leave such a column out of the model (--features)."
    )


def _left_out(records: list[dict[str, Any]], ids: np.ndarray) -> pd.DataFrame:
    """The folds' left-out test rows (:func:`run_fold`) by case id (``ids``, in the rows'
    order), one row per value, each with why (:data:`LEFT_OUT_COLUMNS`)."""
    cells = [cell for record in records for cell in record.get("left_out", [])]  # older: none
    rows = [
        {
            "case_id": str(ids[cell["row"]]),
            "fold": f"{cell['repeat'] + 1}.{cell['fold'] + 1}",
            "column": cell["column"],
            "value": cell["value"],
            "error": f"fold {cell['repeat'] + 1}.{cell['fold'] + 1}: '{cell['column']}' is "
            f"{cell['value']!r}, a category the fold's training rows never had (their levels: "
            f"{', '.join(map(repr, cell['levels']))}); its model would score it as "
            f"{cell['levels'][0]!r}, so it is left out of that fold's predictions and metrics.",
        }
        for cell in cells
    ]
    return pd.DataFrame(rows, columns=LEFT_OUT_COLUMNS)


def _ibs_range(
    grid: np.ndarray, y_train: np.ndarray, y_test: np.ndarray, ibs: float, notes: list[str]
) -> dict[str, float] | None:
    """The days (``from``, ``to``) the pooled IBS integrates over (None without one) and, where
    the follow-up cut the grid short, a note: the same model on the same external patients
    scored 0.187 over 281-1526 days and, their follow-up cut at 800 days, 0.116 over 251-769,
    both reported as its integrated Brier score."""
    if not np.isfinite(ibs):
        return None
    times = brier_times(grid, y_train, y_test)
    if times.size < grid.size:
        tested, trained = survival_arrays(y_test)[1], survival_arrays(y_train)[1]
        notes.append(
            f"{ibs_label(times[0], times[-1])}, not over the {grid[0]:.0f}-{grid[-1]:.0f} days "
            "of all the patients' event times (10th to 90th percentile): the tested patients are "
            f"followed from {tested.min():g} to {tested.max():g} days (the training ones to "
            f"{trained.max():g}); compare it only with scores over the same days."
        )
    # rounded: a grid point written 295.0999999999999 in the JSON and the tracked metrics
    return {"from": round(float(times[0]), 6), "to": round(float(times[-1]), 6)}


def _fold_notes(records: list[dict[str, Any]], key: str, every_plain: bool = False) -> list[str]:
    """The folds' notes under ``key`` ('notes': what their fits noted; 'metric_notes': why a
    metric is undefined, a null in the fold table), each once, in the folds' order, with the folds
    (repeat.fold) it holds for; with ``every_plain`` one of every fold as it is (a column
    constant in one fold's training rows, used by the others, was said dropped as if no fold
    had used it)."""
    where: dict[str, list[str]] = {}
    for record in records:
        for note in record.get(key, []):
            where.setdefault(note, []).append(f"{record['repeat'] + 1}.{record['fold'] + 1}")
    shown = []
    for note, folds in where.items():  # in the folds' order
        listed = first_few(folds, 5)
        every = every_plain and len(folds) == len(records)
        shown.append(
            note if every else f"Fold(s) {listed} ({len(folds)} of {len(records)}): {note}"
        )
    return shown


def _filled_notes(records: list[dict[str, Any]], n_tested: int) -> list[str]:
    """One note per input column with tested patients' values missing (the folds' ``filled``):
    how many of the ``n_tested`` patients (each once over the folds and repeats) and what the
    folds' models filled them with, and, above the share at which training drops a column
    (``max_missing_fraction``), that the metrics measure the model with that input mostly at
    its filled value: an external cohort's 'tsize', blank for 234 of its 235 patients, was
    scored as the development median and its c-index reported without a word."""
    rows: dict[str, set[int]] = {}
    fills: dict[str, dict[str, None]] = {}  # in the folds' order, each once
    limits: dict[str, float] = {}
    for record in records:
        for name, filled in record.get("filled", {}).items():  # none in older checkpoints
            rows.setdefault(name, set()).update(filled["rows"])
            fills.setdefault(name, {})[filled["fill"]] = None
            limits[name] = filled["limit"]
    notes = []
    for name, missing in rows.items():
        share = len(missing) / n_tested
        used = list(fills[name])
        by = (
            f"the training rows' {used[0]}"
            if len(used) == 1
            else f"each fold's training rows' own ({first_few(used, 3)})"
        )
        shown = share_text(share)
        if share > limits[name] and shown == f"{limits[name]:.0%}":  # 50.2 %, not '50 %'
            shown = f"{share:.1%}"
        note = (
            f"test rows: '{name}' missing for {len(missing)} of {n_tested} tested patients "
            f"({shown}), filled with {by}"
        )
        if share > limits[name]:
            note += (
                f"; above the {limits[name]:.0%} missing at which training drops a column, the "
                f"metrics measure the model with '{name}' mostly at that value"
            )
        notes.append(note + ".")
    return notes


def _fold_spread(fold_table: pd.DataFrame, notes: list[str]) -> dict[str, float | None]:
    """The folds' c-index mean and sample SD (None for one fold); None, with a note, when no
    fold has one (a fold needs events at two or more distinct times: all times tied, say),
    where the pooled c-index, over events against patients censored at the same time, still
    stands."""
    values = fold_table["c_index"].to_numpy(float) if "c_index" in fold_table else np.array([])
    values = values[np.isfinite(values)]
    if not values.size:
        if "c_index" in fold_table:
            notes.append(
                "No fold has a c-index of its own (each needs two or more distinct times); the "
                "pooled c-index compares events with patients censored at the same time."
            )
        return {"fold_c_index_mean": None, "fold_c_index_sd": None}
    sd = float(values.std(ddof=1)) if values.size > 1 else None  # the folds' sample SD
    return {"fold_c_index_mean": float(values.mean()), "fold_c_index_sd": sd}


def _pooled_c_index(
    y: np.ndarray,
    risk: np.ndarray,
    n_bootstrap: int,
    seed: int,
    test_set: str,
    notes: list[str],
    unscored: str = "",
) -> Estimate:
    """The pooled Harrell c-index with its BCa interval, the value alone (the reason in
    ``notes``) where the interval is undefined; :class:`InputError` naming the tested patients
    and their events where the c-index itself is (no event: an external cohort of 290 patients
    all censored failed on 'No comparable patient pairs' alone), and why patients went
    unscored (``unscored``, :func:`_unscored_why`)."""
    event = survival_arrays(y)[0]
    try:
        value = harrell_c_index(y, risk)
    except InputError as err:
        raise InputError(
            f"{test_set[0].upper()}{test_set[1:]}: {event.size} patients, "
            f"{int(event.sum())} event(s). {err}{unscored}"
        ) from err
    try:
        return c_index_ci(y, risk, n_resamples=n_bootstrap, seed=seed)
    except InputError as err:  # a few test patients: the c-index stands, its interval does not
        notes.append(f"c-index: {err}")
        return Estimate(value, np.nan, np.nan, "none")


#: Fewer tested events than this are very few for a c-index interval, whatever the model.
FEW_EVENTS_FOR_INTERVAL = 20


def _few_events_notes(
    model: SurvivalModel,
    records: list[dict[str, Any]],
    events: int,
    developed: int | None = None,
    test_set: str = "the tested patients",
) -> list[str]:
    """The caution `fit` gives on fewer than 10 events per variable the folds' models use (the
    most of any fold) and, when the c-index interval rests on fewer than
    :data:`FEW_EVENTS_FOR_INTERVAL` tested ``events``, that caution: cv of a Cox PH on 5 events
    and 10 variables reported c 0.42 [0.06, 0.82] without a word. Under cross-validation the
    folds' models are fitted on fewer than the ``events`` tested; under one split or external
    validation on the ``developed`` events of the rows never tested (3 external events were
    said to overfit a model fitted on 180)."""
    variables = max((int(r["features_used"]) for r in records), default=0)
    few = too_few_events(model, events if developed is None else developed, variables)
    if few and developed is None:
        return [
            f"{few}: each fold's model is fitted on fewer still and overfits, and the pooled "
            f"c-index and its interval rest on {events} events; read them with care, and prefer "
            "a penalty chosen by cross-validation (coxnet, lasso_cox) or fewer variables."
        ]
    notes, of = [], "" if developed is None else f" of {test_set}"
    if few:
        notes.append(
            f"{few} in the development patients the model is fitted on: it overfits; prefer a "
            "penalty chosen by cross-validation (coxnet, lasso_cox) or fewer variables."
        )
    if events < FEW_EVENTS_FOR_INTERVAL:
        notes.append(
            f"The c-index and its interval rest on {events} events{of} (fewer than "
            f"{FEW_EVENTS_FOR_INTERVAL}): too few for a precise estimate; read them with care."
        )
    return notes


#: Below this SD of the cloglog of the predicted survival, predictions barely differ between
#: patients (a hazard ratio of about 1.05 per SD) and the calibration slope is noted as such.
FLAT_CLOGLOG_SD = 0.05


#: Fewest tested patients still followed after a horizon for its td-AUC and calibration to
#: rest on more than a handful of controls.
MIN_FOLLOWED = 10


def _sparse_horizons(
    time: np.ndarray, horizons: np.ndarray, pooled: dict[str, float], calibrated: float | None
) -> list[str]:
    """A note for each horizon with a pooled td-AUC (``pooled``'s ``td_auc_<h>``, NaN where
    undefined) or the calibration (at ``calibrated``) after which fewer than
    :data:`MIN_FOLLOWED` tested patients are still followed: veterans at 730 days, 2 of 137,
    reported a pooled td-AUC and calibration as any other's."""
    notes = []
    for h in horizons:
        evaluated = ["td-AUC"] if np.isfinite(pooled[f"td_auc_{h:g}"]) else []
        if h == calibrated:
            evaluated.append("calibration")
        if evaluated and (note := sparse_horizon_note(time, h, " and ".join(evaluated))):
            notes.append(note)
    return notes


def sparse_horizon_note(time: np.ndarray, horizon: float, evaluated: str) -> str | None:
    """The caution where fewer than :data:`MIN_FOLLOWED` of the tested patients (follow-up
    ``time``) are followed after ``horizon``, on what was ``evaluated`` there ('td-AUC'); None
    where enough are: a horizon past every tested follow-up was said to have a td-AUC and
    calibration resting on 0 controls, though it had neither."""
    followed = int(np.count_nonzero(time > horizon))
    if followed >= MIN_FOLLOWED:
        return None
    verb = "rest" if " and " in evaluated else "rests"
    return (
        f"At {horizon:g} days only {followed} of the {time.size} tested patients are still "
        f"followed: its {evaluated} {verb} on that few controls, too few to trust."
    )


def pooled_calibration(
    y: np.ndarray,
    oof: pd.DataFrame,
    tested: np.ndarray,
    horizons: np.ndarray,
    notes: list[str] | None = None,
) -> dict[str, Any] | None:
    """Calibration slope and calibration-in-the-large of the pooled out-of-fold S(h) at the
    middle horizon (None when no horizon is usable or the data do not allow them, and then why
    goes to ``notes``)."""
    from survival_core.evaluation.calibration import (
        calibration_in_the_large,
        calibration_slope,
        cloglog_clipped,
        cloglog_risk,
    )

    if not horizons.size:
        return None
    horizon = float(horizons[len(horizons) // 2])
    survival = oof[f"survival_{horizon:g}"].to_numpy()[tested]
    try:
        slope = calibration_slope(y, survival)
        large = calibration_in_the_large(y, survival, horizon)
    except InputError as err:
        if notes is not None:
            notes.append(f"Calibration at {horizon:g} days: {err}")
        return None
    clipped = cloglog_clipped(survival)
    if clipped and notes is not None:
        notes.append(
            f"Calibration at {horizon:g} days: {clipped} predicted survival(s) of 0 or 1, whose "
            "log(-log S) is infinite, were taken at the nearest finite value for the slope "
            f"({slope.value:.3g}), which leans on them: check the model's extreme predictions."
        )
    spread = float(np.std(cloglog_risk(survival)))
    if spread < FLAT_CLOGLOG_SD and notes is not None:  # a slope of 1e5 was reported unexplained
        notes.append(
            f"Calibration at {horizon:g} days: the predicted survival barely differs between "
            f"patients (SD of its cloglog {spread:.2g}), so the slope ({slope.value:.3g}) says "
            "little: the model hardly ranks them."
        )
    return {
        "horizon": horizon,
        "slope": slope.value,
        "slope_ci": [slope.ci_low, slope.ci_high],
        "in_the_large": large.value,
        "in_the_large_ci": [large.ci_low, large.ci_high],
    }


def fold_warnings(per_fold: list[list[str]]) -> list[str]:
    """The folds' model-choice warnings, one per kind (texts that differ only in their numbers,
    e.g. each fold's event count), the first fold's text with how many folds gave that kind: one
    line for a warning all 25 folds give, not one per event count."""
    kinds: dict[str, list[str]] = {}
    for notes in per_fold:
        for note in dict.fromkeys(notes):
            kinds.setdefault(re.sub(r"\d+(\.\d+)?", "#", note), []).append(note)
    if len(per_fold) < 2:
        return [texts[0] for texts in kinds.values()]
    return [
        f"In {len(texts)} of {len(per_fold)} folds (the first shown): {texts[0]}"
        for texts in kinds.values()
    ]


def compare_candidates(
    records: list[dict[str, Any]],
    y: np.ndarray,
    oof_risk: np.ndarray,
    tested: np.ndarray,
    n_bootstrap: int,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Pool each candidate's fold test risks (z-scored per fold model, averaged over repeats)
    like the run's own, and compare them all with the run's model on the same patients."""
    from survival_core.evaluation.comparison import comparison_table

    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    fold_c: dict[str, list[float]] = {}
    for record in records:
        event, time = survival_arrays(y[record["test"]])
        for label, risk in record.get("candidates", {}).items():
            sums.setdefault(label, np.zeros(len(y)))[record["test"]] += risk
            counts.setdefault(label, np.zeros(len(y)))[record["test"]] += 1
            c = concordance_columns(event, time, np.asarray(risk, dtype=float)[:, None])[0]
            fold_c.setdefault(label, []).append(c)
    pooled = {
        label: sums[label][tested] / counts[label][tested]
        for label in sums
        if (counts[label][tested] > 0).all()  # a candidate that failed in a fold is left out
    }
    reference = records[-1]["model"]  # auto or ensemble: the run's own model among them
    pooled[reference] = oof_risk[tested]
    rows = comparison_table(y[tested], pooled, reference, n_bootstrap, seed)
    chosen = Counter(r["chosen"] for r in records if "chosen" in r)
    table = pd.DataFrame(rows)
    table["fold_c_index_mean"] = [float(np.nanmean(fold_c[str(m)])) for m in table["model"]]
    table["times_chosen"] = [chosen.get(str(m), 0) for m in table["model"]]
    selections = [r["selection"] for r in records if "selection" in r]
    baseline = selections[-1]["baseline"]
    notes = fold_warnings([s.get("warnings", []) for s in selections])
    versus = None
    if baseline in pooled:
        row = table.loc[table["model"] == baseline].iloc[0]
        versus = {
            "baseline": baseline,
            "difference": float(-row["difference"]),  # this run minus the baseline
            "p_value": float(row["p_value"]),
        }
        if not (versus["difference"] > 0 and versus["p_value"] < 0.05):
            kind = "clinical-only" if "[clinical only]" in baseline else "plain Cox PH"
            notes.append(
                f"{reference} does not beat the {kind} baseline ({baseline}) by a paired test: "
                f"its c-index differs from it by {versus['difference']:+.3f} "
                f"(p = {versus['p_value']:.3f}), so this run shows no value added over it (the "
                "table compares each candidate with this run's model, not with the baseline)."
            )
    summary = {
        "chosen_per_fold": dict(chosen.most_common()),
        "versus_baseline": versus,
        **_fold_choices(selections, stacks=reference == ENSEMBLE),
        "warnings": notes,
    }
    return table, summary


def _fold_choices(selections: list[dict[str, Any]], stacks: bool) -> dict[str, Any]:
    """How the folds' model choices were made: events per candidate variable (their median and
    range), each rule with its number of folds and, where the run's model ``stacks`` (an
    ensemble; ``auto`` predicts with its choice alone, and listed every candidate as stacked),
    each candidate with the number of folds that stacked it; ``choice_rule`` and ``stacked``
    where every fold agrees (the last fold's were reported as every fold's, though folds of
    fewer events per variable chose by another rule)."""
    epv = [s["events_per_variable"] for s in selections]
    rules = Counter(s.get("choice_rule") for s in selections)
    summary = {
        "events_per_variable": float(np.median(epv)),
        "events_per_variable_range": [float(min(epv)), float(max(epv))],
        "choice_rule": next(iter(rules)) if len(rules) == 1 else None,
        "choice_rules": dict(rules.most_common()),
    }
    if not stacks:
        return summary
    stacked = [tuple(s.get("stacked") or ()) for s in selections]
    return summary | {
        "stacked": list(stacked[0]) if len(set(stacked)) == 1 else None,
        "stacked_per_fold": dict(Counter(label for labels in stacked for label in labels)),
    }
