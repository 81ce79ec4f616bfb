"""Elastic-net and LASSO Cox (scikit-survival's coordinate descent), lambda by inner K-fold CV.

The penalty is chosen on the training rows only (:func:`survival_core.models.coxnet_path.cv_coxnet`);
the final coefficients are those of the whole-training path at that value. Survival curves come
from our Breslow baseline (the estimator sksurv's ``fit_baseline_model=True`` uses), stored as
JSON instead of pickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from survival_core.errors import ConfigError
from survival_core.models.base import SurvivalModel
from survival_core.models.coxnet_path import cv_coxnet


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
    guards_variables = True

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
        self.preprocessor_.notes_.extend(result["notes"])

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
