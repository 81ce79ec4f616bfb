"""The elastic-net Cox regularisation path and its penalty chosen by inner K-fold CV.

The penalty strength (sksurv's ``alpha``, often called lambda) is chosen on the training rows only:
the regularisation path of the whole training set defines the candidate values; each inner fold
(stratified by event, seeded) refits the path on its training part and scores every candidate by
Harrell's c-index on its held-out part; the candidate with the highest mean c-index wins (ties go to
the stronger penalty). When scikit-survival ends a fold's path early (no further improvement), the
remaining weaker penalties reuse the last coefficients of that path. When a path diverges (nearly
as many features as patients: the weak penalties fit an almost unpenalised Cox model of every
column), it stops at the last penalty that converged, in the whole-training fit and in every inner
fold; only penalties that converged everywhere compete, and the result's notes say so. Plain arrays
in and out: the Coxnet models (:mod:`survival_core.models.coxnet`) and the LASSO feature reduction
(:mod:`survival_core.models.reduction`) both use it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.evaluation.concordance import concordance_columns
from survival_core.evaluation.splits import stratified_folds


def _fit_once(
    Z: np.ndarray, event: np.ndarray, time: np.ndarray, l1_ratio: float, **kwargs: Any
) -> CoxnetSurvivalAnalysis:
    model = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, max_iter=100_000, **kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(Z, Surv.from_arrays(event, time))
    except ValueError as err:
        raise InputError(f"The elastic-net Cox fit failed: {err}") from err


def _fit_path(
    Z: np.ndarray,
    event: np.ndarray,
    time: np.ndarray,
    l1_ratio: float,
    alphas: np.ndarray | None = None,
    n_alphas: int = 50,
) -> tuple[CoxnetSurvivalAnalysis | None, int | None]:
    """The path over ``alphas`` (None: scikit-survival's ``n_alphas`` from the penalty that zeroes
    every coefficient) and where it diverged (scikit-survival's "weights are too large"): the
    index of the first penalty whose fit did, which is also how many converged, the path cut
    before it (no model when that is the first); None when none did. Found by bisection, as each
    fit runs from the strongest penalty: ``alphas[:good]`` converges, ``alphas[:bad]`` does not."""
    try:
        return _fit_once(Z, event, time, l1_ratio, alphas=alphas, n_alphas=n_alphas), None
    except ArithmeticError:
        if alphas is None:  # the sequence scikit-survival made: log-spaced from alpha_max down
            strongest = _fit_once(Z, event, time, l1_ratio, n_alphas=2, alpha_min_ratio=0.5)
            ratio = 1e-4 if Z.shape[0] > Z.shape[1] else 1e-2  # its alpha_min_ratio "auto"
            alphas = strongest.alphas_[0] * ratio ** (np.arange(n_alphas) / max(n_alphas - 1, 1))
    model, good, bad = None, 0, len(alphas)
    while bad - good > 1:
        mid = (good + bad) // 2
        try:
            model, good = _fit_once(Z, event, time, l1_ratio, alphas=alphas[:mid]), mid
        except ArithmeticError:
            bad = mid
    return model, good


def cv_coxnet(
    Z: np.ndarray,
    event: np.ndarray,
    time: np.ndarray,
    l1_ratio: float,
    n_alphas: int = 50,
    cv_folds: int = 5,
    seed: int = 0,
    require_nonzero: bool = False,
) -> dict[str, Any]:
    """Choose the penalty by inner CV; returns alphas, mean c-index per alpha, the choice, coef
    and notes (what a path that diverged left out).

    With ``require_nonzero`` only penalties leaving at least one non-zero coefficient compete
    (feature selection must keep something); where none does, coef is all zero.
    """
    events = int(event.sum())
    if events < cv_folds:
        lower = (
            f"Lower cv_folds (`--param cv_folds={events}`, a run config's params), or fit coxph."
            if events >= 2
            else "Too few events to choose a penalty by cross-validation: fit coxph (a fixed "
            "penalty), or give more patients."
        )
        raise InputError(
            f"Choosing the penalty by {cv_folds}-fold CV needs at least {cv_folds} events; "
            f"the training data have {events}. {lower}"
        )
    path, diverged = _fit_path(Z, event, time, l1_ratio, n_alphas=n_alphas)
    if path is None:
        raise InputError(
            f"The penalised Cox fit of {Z.shape[1]} features on {len(event)} patients diverged "
            "at its strongest penalty: keep fewer features (a --reduction) or give more patients."
        )
    alphas = path.alphas_
    scores = np.zeros((cv_folds, len(alphas)))
    fold_stops = []
    for k, (tr, va) in enumerate(stratified_folds(event, cv_folds, seed)):
        fold, stop = _fit_path(Z[tr], event[tr], time[tr], l1_ratio, alphas=alphas)
        coef = np.zeros((Z.shape[1], 1)) if fold is None else fold.coef_
        if coef.shape[1] < len(alphas):  # sksurv ends a path early once the fit stops improving
            coef = np.pad(coef, ((0, 0), (0, len(alphas) - coef.shape[1])), mode="edge")
        risks = Z[va] @ coef
        scores[k] = concordance_columns(event[va], time[va], risks)  # NaN: no vote
        if stop is not None:  # the penalties this fold diverged at: no vote
            scores[k, stop:] = np.nan
            fold_stops.append(stop)
    counted = np.isfinite(scores).sum(axis=0)
    mean = np.where(counted > 0, np.nansum(scores, axis=0) / np.maximum(counted, 1), 0.5)
    # only penalties that converged in every fold compete (the strongest always does)
    converged = alphas[: max(min(fold_stops, default=len(alphas)), 1)]
    eligible = np.arange(len(alphas)) < len(converged)
    if require_nonzero:
        eligible &= np.any(path.coef_ != 0, axis=0)
    best = int(np.argmax(np.where(eligible, mean, -np.inf)))
    coef = path.coef_[:, best].copy() if eligible.any() else np.zeros(Z.shape[1])
    notes = (
        _diverged_notes(
            l1_ratio, converged, eligible.any(), diverged is not None, fold_stops, cv_folds
        )
        if diverged is not None or fold_stops
        else []
    )
    return {"alphas": alphas, "cv_cindex": mean, "best": best, "coef": coef, "notes": notes}


def _diverged_notes(
    l1_ratio: float,
    converged: np.ndarray,
    kept: bool,
    whole: bool,
    fold_stops: list[int],
    cv_folds: int,
) -> list[str]:
    """What :func:`cv_coxnet` says of a path that diverged on the training rows (``whole``) or
    in inner folds: where, and which penalties were left to choose from."""
    where = ["on the training rows"] if whole else []
    where += [f"in {len(fold_stops)} of {cv_folds} inner folds"] if fold_stops else []
    kind = "LASSO-Cox" if l1_ratio == 1.0 else f"elastic-net Cox (l1_ratio {l1_ratio:g})"
    chosen = (
        f"the penalty was chosen among the {len(converged)} stronger ones that converged "
        f"(down to {converged[-1]:.3g})"
        if kept
        else "none of the penalties that converged kept a feature"
    )
    return [
        f"The {kind} path diverged {' and '.join(where)} (too many features for the patients: "
        "the weakest penalties fit an almost unpenalised Cox model of every feature); "
        f"{chosen}."
    ]
