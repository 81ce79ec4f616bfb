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
#: |Pearson r| between two model-matrix columns above which they hold one variable twice (a
#: weight in kg and in lb, a value and its copy): their coefficients have no separate estimate.
COLLINEAR_R = 0.999
#: Most collinear pairs a message names.
_SHOWN_PAIRS = 5


def collinear_pairs(Z: np.ndarray, names: list[str]) -> list[str]:
    """The pairs of columns of the model matrix ``Z`` (named ``names``) with |r| above
    :data:`COLLINEAR_R`, as a message names them ("'weight_kg' and 'weight_lb' (r = +1.0000)").
    Unpenalized, the Cox likelihood has no maximum along such a pair (Newton-Raphson does not
    converge); penalized, the fit splits the one effect between them arbitrarily."""
    varying = np.flatnonzero(np.ptp(Z, axis=0) > 0) if len(Z) else np.array([], int)
    if len(varying) < 2:
        return []
    r = np.corrcoef(Z[:, varying], rowvar=False)
    first, second = np.nonzero(np.triu(np.abs(r) > COLLINEAR_R, k=1))
    return [
        f"'{names[varying[i]]}' and '{names[varying[j]]}' (r = {r[i, j]:+.4f})"
        for i, j in zip(first, second, strict=True)
    ]


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
    penalty_param = "penalizer"

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
        collinear = collinear_pairs(Z, self.features_used_)
        for step_size in (None, 0.5):  # lifelines' own step, then half steps
            fitter = CoxPHFitter(penalizer=self.penalizer, l1_ratio=self.l1_ratio)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    options = None if step_size is None else {"step_size": step_size}
                    fitter.fit(frame, duration_col="_time", event_col="_event", fit_options=options)
            except ConvergenceError as err:
                raise InputError(self._not_converged(collinear, err)) from err
            failed = [w for w in caught if "failed to converge" in str(w.message)]
            if not failed:
                break
        else:  # lifelines returns a fit that did not converge with only a warning
            raise InputError(self._not_converged(collinear, failed[0].message))
        if collinear:
            self.preprocessor_.notes_.append(
                f"{self._said_twice(collinear)}: the penalty (penalizer {self.penalizer:g}) "
                "splits the one effect between them arbitrarily, so neither's hazard ratio means "
                "anything alone. Leave one of each pair out."
            )
        self.fitter_ = fitter
        self.coef_ = fitter.params_[columns].to_numpy(float)
        self.norm_mean_ = fitter._norm_mean[columns].to_numpy(float)
        self.log_likelihood_ = float(fitter.log_likelihood_)
        # coefficient covariance: the Risk page's confidence band of the survival curve
        self.covariance_ = fitter.variance_matrix_.loc[columns, columns].to_numpy(float)
        self._note_unbounded()

    @staticmethod
    def _said_twice(collinear: list[str]) -> str:
        """The collinear pairs (:func:`collinear_pairs`) as a message's opening words."""
        more = len(collinear) - _SHOWN_PAIRS
        listed = "; ".join(collinear[:_SHOWN_PAIRS]) + (f"; {more} more" if more > 0 else "")
        return f"Columns correlated with |r| > {COLLINEAR_R}, one variable given twice: {listed}"

    def _not_converged(self, collinear: list[str], detail: object) -> str:
        """The refusal of a fit that did not converge, naming the collinear pairs when any."""
        if collinear:
            cause = f"{self._said_twice(collinear)}. Leave one of each pair out, or"
        else:
            cause = "Collinear or separating features? You may"
        return (
            f"The Cox model did not converge. {cause} raise the penalizer (now "
            f"{self.penalizer:g}). Detail: {detail}"
        )

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
