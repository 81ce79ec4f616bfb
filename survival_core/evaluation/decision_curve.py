"""Decision-curve analysis at a horizon for survival outcomes (Vickers et al. 2008).

A patient is "treated" when their predicted risk of an event by the horizon is at least the
threshold probability ``pt``. With ``S_T(h)`` the Kaplan-Meier survival at the horizon among the
treated (so censoring is handled), ``n_T`` their number and ``n`` the cohort size:
``NB(pt) = (1 - S_T(h)) n_T / n - S_T(h) n_T / n * pt / (1 - pt)``. Treat-all uses the whole
cohort's Kaplan-Meier; treat-none is 0. Without censoring this is ``TP/n - FP/n * pt/(1 - pt)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from survival_core.errors import ConfigError
from survival_core.evaluation.concordance import probability_array
from survival_core.evaluation.risk_groups import survival_at
from survival_core.evaluation.td_auc import check_horizons
from survival_core.outcome import Outcome, survival_arrays


@dataclass(frozen=True)
class DecisionCurve:
    """Net benefit per threshold probability for the model, treat-all and treat-none."""

    horizon: float
    thresholds: np.ndarray
    model: np.ndarray
    treat_all: np.ndarray
    treat_none: np.ndarray


def _net_benefit(
    event: np.ndarray, time: np.ndarray, treated: np.ndarray, horizon: float, threshold: float
) -> float:
    if not treated.any():
        return 0.0
    surv = survival_at((event[treated], time[treated]), horizon).value
    if time[treated].max() < horizon and surv > 0:
        return float("nan")  # nobody treated was followed to the horizon: not observed there
    share = treated.mean()
    return float((1.0 - surv) * share - surv * share * threshold / (1.0 - threshold))


def decision_curve(
    y: Outcome,
    predicted_risk: np.ndarray,
    horizon: float,
    thresholds: np.ndarray | None = None,
) -> DecisionCurve:
    """Net benefit of treating patients whose predicted risk of an event by ``horizon`` days (within
    the follow-up) is at least each threshold (default 0.01 to 0.99 in steps of 0.01); NaN (not
    drawn) where none of those patients was followed to the horizon (and not all died before
    it): their Kaplan-Meier curve is only carried flat there."""
    event, time = survival_arrays(y)
    check_horizons(time, horizon)  # past the last follow-up the observed risk is not observed
    risk = probability_array(predicted_risk, time.size, "predicted risk by the horizon")
    pts = (
        np.round(np.arange(1, 100) / 100.0, 2)
        if thresholds is None
        else np.asarray(thresholds, float)
    )
    if pts.ndim != 1 or (pts <= 0).any() or (pts >= 1).any():
        raise ConfigError(
            "Decision-curve thresholds must be probabilities strictly between 0 and 1."
        )
    everyone = np.ones(time.size, dtype=bool)
    model = np.array([_net_benefit(event, time, risk >= pt, horizon, pt) for pt in pts])
    treat_all = np.array([_net_benefit(event, time, everyone, horizon, pt) for pt in pts])
    return DecisionCurve(float(horizon), pts, model, treat_all, np.zeros(pts.size))
