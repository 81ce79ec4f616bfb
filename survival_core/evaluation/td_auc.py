"""Cumulative/dynamic time-dependent ROC and AUC with IPCW (Uno et al. 2007; Hung & Chiang 2010).

At a horizon ``t`` (days) the cases are patients with an event at or before ``t`` and the controls
those still under follow-up after ``t``. Patients censored before ``t`` have unknown status: they
get weight 0 and every case is weighted by ``1 / G(T_i)``, the inverse of the training censoring
survival at its event time, which removes the bias from dropping them. The AUCs come from
``sksurv.metrics.cumulative_dynamic_auc``; the ROC curve itself (drawn, and used for the Youden
cut), which scikit-survival does not return, is computed here with the same rules. A model's
prediction at a horizon is its event probability by then (:func:`horizon_marker`), which orders
patients as its single risk score does only when its hazards are proportional.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sksurv.metrics import cumulative_dynamic_auc as sksurv_auc
from sksurv.nonparametric import CensoringDistributionEstimator
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.outcome import Outcome, survival_arrays


@dataclass(frozen=True)
class RocCurve:
    """ROC points for "positive if risk >= threshold", thresholds descending, starting at (0, 0)."""

    false_positive_rate: np.ndarray
    true_positive_rate: np.ndarray
    thresholds: np.ndarray

    @property
    def auc(self) -> float:
        """Area under the curve (trapezoid rule)."""
        return float(np.trapezoid(self.true_positive_rate, self.false_positive_rate))


def check_horizons(time: np.ndarray, times: np.ndarray | float) -> np.ndarray:
    """Sorted unique horizons, each inside ``[min(time), max(time))`` of the evaluation data."""
    times = np.unique(np.atleast_1d(np.asarray(times, dtype=float)))
    if times.size == 0 or times[0] < time.min() or times[-1] >= time.max():
        raise InputError(
            f"Evaluation horizons must lie within the follow-up of the evaluation data "
            f"[{time.min():g}, {time.max():g}) days; got {times.tolist()}."
        )
    return times


def _check_groups(event: np.ndarray, time: np.ndarray, times: np.ndarray) -> None:
    """Each horizon needs cases (an event by then) and controls (followed beyond it)."""
    cases = (event[:, None] & (time[:, None] <= times)).any(axis=0)
    controls = (time[:, None] > times).any(axis=0)
    if not (cases & controls).all():
        raise InputError(
            f"At {times[~(cases & controls)][0]:g} days the evaluation data need both patients "
            "with an event by then and patients still followed beyond it; choose another horizon."
        )


def _undefined_weights(err: ValueError) -> InputError:
    return InputError(
        f"The training censoring distribution gives no weight to some event times of the "
        f"evaluation data ({err}); keep the evaluation follow-up inside the training one."
    )


def _controls_past_training(
    y_train: Outcome, event: np.ndarray, time: np.ndarray, horizons: np.ndarray
) -> np.ndarray:
    """``event`` without the events after the training follow-up when every horizon precedes
    it: such a patient is a control at each horizon, and only cases are weighted, but the IPCW
    weight of an event is computed for all of them and is undefined past the training
    follow-up (a test fold with a longer follow-up than its training rows lost its td-AUC at
    every horizon). The AUCs and the test Kaplan-Meier at the horizons are unchanged."""
    last = float(np.max(survival_arrays(y_train)[1]))
    if np.max(horizons) < last:
        return event & ~(time > last)
    return event


def _ipcw(y_train: Outcome, event: np.ndarray, time: np.ndarray) -> np.ndarray:
    """``1 / G(T_i)`` for events (0 if censored), G the training censoring Kaplan-Meier (sksurv)."""
    train = Surv.from_arrays(*survival_arrays(y_train))
    try:
        return (
            CensoringDistributionEstimator().fit(train).predict_ipcw(Surv.from_arrays(event, time))
        )
    except ValueError as err:
        raise _undefined_weights(err) from err


def horizon_marker(risk: np.ndarray, event_score: np.ndarray) -> np.ndarray:
    """The score a td-ROC at a horizon ranks by: the model's prediction of the event by then
    (``event_score``: ``1 - S(h)``, or a monotone rescaling of it), its ties broken by ``risk``;
    as integer ranks.

    For a proportional-hazards model this orders as its risk does; for a model whose survival
    curves cross (a forest, a discrete-time head, an ensemble) the patient more likely to die in
    the first year may have the lower risk over four, and the one-year AUC must judge the one-year
    prediction. Where ``S(h)`` cannot tell patients apart (1 for all before any training event),
    the risk still does."""
    event_score = np.asarray(event_score, dtype=float)
    risk = np.asarray(risk, dtype=float)
    order = np.lexsort((risk, event_score))
    step = np.diff(event_score[order]) != 0
    step |= np.diff(risk[order]) != 0
    ranks = np.empty(risk.size)
    ranks[order] = np.cumsum(np.concatenate(([True], step)))
    return ranks


def cumulative_dynamic_roc(
    y_train: Outcome, y_test: Outcome, risk: np.ndarray, horizon: float, tied_tol: float = 1e-8
) -> RocCurve:
    """Cumulative/dynamic ROC of ``risk`` (higher = worse) at ``horizon`` days on ``y_test``,
    with censoring weights estimated on ``y_train``."""
    event, time = survival_arrays(y_test)
    horizon = float(check_horizons(time, horizon)[0])
    risk = np.asarray(risk, dtype=float)
    if risk.shape != time.shape:
        raise InputError(f"Expected one risk value per patient ({time.size}); got {risk.shape}.")
    _check_groups(event, time, np.array([horizon]))
    event = _controls_past_training(y_train, event, time, np.array([horizon]))
    order = np.argsort(-risk, kind="stable")
    risk_sorted = risk[order]
    tp = np.cumsum(((time <= horizon) & event)[order] * _ipcw(y_train, event, time)[order])
    fp = np.cumsum(time[order] > horizon)
    # a threshold sits after the last of a run of (near-)tied risks
    last_of_run = np.append(np.abs(np.diff(risk_sorted)) > tied_tol, True)
    return RocCurve(
        np.concatenate(([0.0], fp[last_of_run] / fp[-1])),
        np.concatenate(([0.0], tp[last_of_run] / tp[-1])),
        np.concatenate(([np.inf], risk_sorted[last_of_run])),
    )


def cumulative_dynamic_auc(
    y_train: Outcome,
    y_test: Outcome,
    risk: np.ndarray,
    times: np.ndarray | float,
    tied_tol: float = 1e-8,
) -> tuple[np.ndarray, float]:
    """Time-dependent AUC at each horizon in ``times`` (days) and their mean, by
    ``sksurv.metrics.cumulative_dynamic_auc`` after our checks (InputErrors, not NaN).

    ``risk`` is one score per patient (n,) or a time-dependent score per horizon (n, len(times))
    with columns in ascending horizon order. The mean AUC integrates the AUC over the test
    Kaplan-Meier estimate ``S``: ``sum AUC(t_k) (S(t_{k-1}) - S(t_k)) / (1 - S(t_last))``.
    """
    event, time = survival_arrays(y_test)
    times = check_horizons(time, times)
    risk = np.asarray(risk, dtype=float)
    if risk.shape not in ((time.size,), (time.size, times.size)) or not np.isfinite(risk).all():
        raise InputError(
            f"Expected finite risk scores of shape ({time.size},) or ({time.size}, {times.size}); "
            f"got {risk.shape}."
        )
    _check_groups(event, time, times)
    event = _controls_past_training(y_train, event, time, times)
    train = Surv.from_arrays(*survival_arrays(y_train))
    try:
        auc, mean = sksurv_auc(train, Surv.from_arrays(event, time), risk, times, tied_tol)
    except ValueError as err:
        raise _undefined_weights(err) from err
    return auc, float(mean)
