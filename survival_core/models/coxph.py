"""Cox proportional hazards model fitted by lifelines (Efron ties, optional elastic-net penalty)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError

from survival_core.errors import ConfigError, InputError
from survival_core.models.base import SurvivalModel

#: Standard error (per SD of the feature) above which a Cox coefficient has no finite estimate:
#: about 1 / sqrt(events) for a fitted one (0.06-0.3 on cohorts of 10-300 events).
UNBOUNDED_SE = 10.0


class CoxPH(SurvivalModel):
    """Cox PH on the preprocessed (z-scored) features.

    Parameters
    ----------
    penalizer : strength of lifelines' penalty (0 = classical Cox); a small default keeps the fit
        stable with correlated or separating features.
    l1_ratio : L1 share of the penalty (0 = ridge).

    ``predict_risk`` is lifelines' log partial hazard, (x - training mean) . beta; survival uses a
    Breslow baseline on the training rows, the same estimator lifelines uses.
    """

    name = "coxph"

    def __init__(self, penalizer: float = 0.01, l1_ratio: float = 0.0) -> None:
        if penalizer < 0:
            raise ConfigError(f"penalizer must be >= 0, got {penalizer}.")
        if not 0.0 <= l1_ratio <= 1.0:
            raise ConfigError(f"l1_ratio must be between 0 and 1, got {l1_ratio}.")
        self.penalizer = penalizer
        self.l1_ratio = l1_ratio

    def _fit_matrix(
        self, Z: np.ndarray, event: np.ndarray, time: np.ndarray, validation: Any
    ) -> None:
        columns = [f"x{i}" for i in range(Z.shape[1])]
        frame = pd.DataFrame(Z, columns=columns).assign(_time=time, _event=event.astype(int))
        for step_size in (None, 0.5):  # lifelines' own step, then half steps
            fitter = CoxPHFitter(penalizer=self.penalizer, l1_ratio=self.l1_ratio)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    options = None if step_size is None else {"step_size": step_size}
                    fitter.fit(frame, duration_col="_time", event_col="_event", fit_options=options)
            except ConvergenceError as err:
                raise InputError(
                    "The Cox model did not converge (collinear or separating features?); "
                    f"raise the penalizer (now {self.penalizer}). Detail: {err}"
                ) from err
            failed = [w for w in caught if "failed to converge" in str(w.message)]
            if not failed:
                break
        else:  # lifelines returns a fit that did not converge with only a warning
            raise InputError(
                "The Cox model did not converge (collinear or separating features?); raise the "
                f"penalizer (now {self.penalizer}). Detail: {failed[0].message}"
            )
        self.fitter_ = fitter
        self.coef_ = fitter.params_[columns].to_numpy(float)
        self.norm_mean_ = fitter._norm_mean[columns].to_numpy(float)
        self.log_likelihood_ = float(fitter.log_likelihood_)
        # coefficient covariance: the Risk page's confidence band of the survival curve
        self.covariance_ = fitter.variance_matrix_.loc[columns, columns].to_numpy(float)
        self._note_unbounded()

    def _note_unbounded(self) -> None:
        """Say in the fit's notes which coefficients have no finite estimate: a standard error
        above :data:`UNBOUNDED_SE` per SD, where the likelihood keeps rising as the coefficient
        grows (a group without events, a feature separating the events: monotone likelihood);
        lifelines stops there with only a warning, and the hazard ratio is whatever it reached."""
        se = np.sqrt(np.clip(np.diag(self.covariance_), 0, None))
        flat = np.flatnonzero(se > UNBOUNDED_SE)
        if not len(flat):
            return
        names = self.features_used_
        shown = ", ".join(f"'{names[k]}' (SE {se[k]:.0f})" for k in flat[:5])
        self.preprocessor_.notes_.append(
            f"The Cox coefficient(s) of {shown} have no finite estimate (monotone likelihood: a "
            "group without events, or a feature separating the events); their hazard ratios "
            f"are meaningless. Give a penalty (--param penalizer=0.1; now {self.penalizer:g})."
        )

    def _risk_matrix(self, Z: np.ndarray) -> np.ndarray:
        return (Z - self.norm_mean_) @ self.coef_

    def _state(self, folder: Path) -> dict[str, Any]:
        return {
            "coef": self.coef_.tolist(),
            "norm_mean": self.norm_mean_.tolist(),
            "covariance": self.covariance_.tolist(),
            "log_likelihood": self.log_likelihood_,
        }

    def _set_state(self, state: dict[str, Any], folder: Path) -> None:
        self.coef_ = np.asarray(state["coef"], dtype=float)
        self.norm_mean_ = np.asarray(state["norm_mean"], dtype=float)
        self.log_likelihood_ = float(state["log_likelihood"])
        covariance = state.get("covariance")  # absent from models saved before it was kept
        self.covariance_ = None if covariance is None else np.asarray(covariance, dtype=float)
