"""The elastic-net Cox regularisation path and its penalty chosen by inner K-fold CV.

The penalty strength (sksurv's ``alpha``, often called lambda) is chosen on the training rows only:
the regularisation path of the whole training set defines the candidate values; each inner fold
(stratified by event, seeded) refits the path on its training part and scores every candidate by
Harrell's c-index on its held-out part; the candidate with the highest mean c-index wins (ties go to
the stronger penalty). When scikit-survival ends a fold's path early (no further improvement), the
remaining weaker penalties reuse the last coefficients of that path. Plain arrays in and out: the
Coxnet models (:mod:`survival_core.models.coxnet`) and the LASSO feature reduction
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


def _fit_path(
    Z: np.ndarray, event: np.ndarray, time: np.ndarray, l1_ratio: float, **kwargs: Any
) -> CoxnetSurvivalAnalysis:
    model = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, max_iter=100_000, **kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Z, Surv.from_arrays(event, time))
    except (ArithmeticError, ValueError) as err:
        raise InputError(f"The elastic-net Cox fit failed: {err}") from err
    return model


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
    """Choose the penalty by inner CV; returns alphas, mean c-index per alpha, the choice and coef.

    With ``require_nonzero`` only penalties leaving at least one non-zero coefficient compete
    (feature selection must keep something).
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
    path = _fit_path(Z, event, time, l1_ratio, n_alphas=n_alphas)
    alphas = path.alphas_
    scores = np.zeros((cv_folds, len(alphas)))
    for k, (tr, va) in enumerate(stratified_folds(event, cv_folds, seed)):
        fold = _fit_path(Z[tr], event[tr], time[tr], l1_ratio, alphas=alphas)
        coef = fold.coef_
        if coef.shape[1] < len(alphas):  # sksurv ends a path early once the fit stops improving
            coef = np.pad(coef, ((0, 0), (0, len(alphas) - coef.shape[1])), mode="edge")
        risks = Z[va] @ coef
        scores[k] = concordance_columns(event[va], time[va], risks)  # NaN: no vote
    counted = np.isfinite(scores).sum(axis=0)
    mean = np.where(counted > 0, np.nansum(scores, axis=0) / np.maximum(counted, 1), 0.5)
    eligible = np.any(path.coef_ != 0, axis=0) if require_nonzero else np.ones(len(alphas), bool)
    if not eligible.any():
        raise InputError("The LASSO-Cox path has no penalty with a non-zero coefficient.")
    best = int(np.argmax(np.where(eligible, mean, -np.inf)))
    return {"alphas": alphas, "cv_cindex": mean, "best": best, "coef": path.coef_[:, best].copy()}
