"""Elastic-net and LASSO Cox (scikit-survival's coordinate descent), lambda by inner K-fold CV.

The penalty strength (sksurv's ``alpha``, often called lambda) is chosen on the training rows only:
the regularisation path of the whole training set defines the candidate values; each inner fold
(stratified by event, seeded) refits the path on its training part and scores every candidate by
Harrell's c-index on its held-out part; the candidate with the highest mean c-index wins (ties go to
the stronger penalty). The final coefficients are those of the whole-training path at that value.
When scikit-survival ends a fold's path early (no further improvement), the remaining weaker
penalties reuse the last coefficients of that path. Survival curves come from our Breslow baseline
(the estimator sksurv's ``fit_baseline_model=True`` uses), stored as JSON instead of pickled.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sksurv.exceptions import NoComparablePairException
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.models.base import SurvivalModel


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
    if event.sum() < cv_folds:
        raise InputError(
            f"Choosing the penalty by {cv_folds}-fold CV needs at least {cv_folds} events; "
            f"the training data have {int(event.sum())}. Lower cv_folds."
        )
    path = _fit_path(Z, event, time, l1_ratio, n_alphas=n_alphas)
    alphas = path.alphas_
    scores = np.zeros((cv_folds, len(alphas)))
    splitter = StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)
    for k, (tr, va) in enumerate(splitter.split(Z, event)):
        fold = _fit_path(Z[tr], event[tr], time[tr], l1_ratio, alphas=alphas)
        coef = fold.coef_
        if coef.shape[1] < len(alphas):  # sksurv ends a path early once the fit stops improving
            coef = np.pad(coef, ((0, 0), (0, len(alphas) - coef.shape[1])), mode="edge")
        risks = Z[va] @ coef
        for j in range(len(alphas)):
            try:
                scores[k, j] = concordance_index_censored(event[va], time[va], risks[:, j])[0]
            except NoComparablePairException:
                scores[k, j] = np.nan  # a fold without comparable pairs does not vote
    counted = np.isfinite(scores).sum(axis=0)
    mean = np.where(counted > 0, np.nansum(scores, axis=0) / np.maximum(counted, 1), 0.5)
    eligible = np.any(path.coef_ != 0, axis=0) if require_nonzero else np.ones(len(alphas), bool)
    if not eligible.any():
        raise InputError("The LASSO-Cox path has no penalty with a non-zero coefficient.")
    best = int(np.argmax(np.where(eligible, mean, -np.inf)))
    return {"alphas": alphas, "cv_cindex": mean, "best": best, "coef": path.coef_[:, best].copy()}


class Coxnet(SurvivalModel):
    """Elastic-net Cox with the penalty chosen by ``cv_folds``-fold CV on the training rows.

    Parameters
    ----------
    l1_ratio : L1 share of the elastic-net penalty (Han 2020: 0.1; 1 = LASSO).
    n_alphas : number of penalty values on the path.
    cv_folds : inner folds (Han 2020 used 10).
    seed : seed of the inner fold split.
    """

    name = "coxnet"

    def __init__(
        self, l1_ratio: float = 0.5, n_alphas: int = 50, cv_folds: int = 5, seed: int = 0
    ) -> None:
        if not 0.0 < l1_ratio <= 1.0:
            raise ConfigError(f"l1_ratio must be in (0, 1], got {l1_ratio}.")
        if cv_folds < 2 or n_alphas < 1:
            raise ConfigError(
                f"cv_folds must be >= 2 and n_alphas >= 1, got {cv_folds}, {n_alphas}."
            )
        self.l1_ratio = l1_ratio
        self.n_alphas = n_alphas
        self.cv_folds = cv_folds
        self.seed = seed

    def _fit_matrix(
        self, Z: np.ndarray, event: np.ndarray, time: np.ndarray, validation: Any
    ) -> None:
        result = cv_coxnet(Z, event, time, self.l1_ratio, self.n_alphas, self.cv_folds, self.seed)
        self.coef_ = result["coef"]
        self.alpha_ = float(result["alphas"][result["best"]])
        self.cv_cindex_ = float(result["cv_cindex"][result["best"]])

    def _risk_matrix(self, Z: np.ndarray) -> np.ndarray:
        return Z @ self.coef_

    def _state(self, folder: Path) -> dict[str, Any]:
        return {"coef": self.coef_.tolist(), "alpha": self.alpha_, "cv_cindex": self.cv_cindex_}

    def _set_state(self, state: dict[str, Any], folder: Path) -> None:
        self.coef_ = np.asarray(state["coef"], dtype=float)
        self.alpha_ = float(state["alpha"])
        self.cv_cindex_ = float(state["cv_cindex"])


class LassoCox(Coxnet):
    """LASSO Cox: :class:`Coxnet` with ``l1_ratio = 1``."""

    name = "lasso_cox"

    def __init__(self, n_alphas: int = 50, cv_folds: int = 5, seed: int = 0) -> None:
        super().__init__(1.0, n_alphas, cv_folds, seed)
