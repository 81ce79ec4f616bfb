"""Brier score with IPCW (Graf et al. 1999) and the integrated Brier score.

At horizon ``t`` (days), with predicted survival ``S_i(t)``:
``BS(t) = mean_i [ S_i(t)^2 * 1{T_i <= t, event} / G(T_i) + (1 - S_i(t))^2 * 1{T_i > t} / G(t) ]``;
patients censored before ``t`` contribute 0. ``G`` is the Kaplan-Meier censoring survival of the
training data evaluated at ``T_i`` itself (scikit-survival's convention; Graf uses ``G(T_i-)``,
which differs only when a censoring coincides with an event time). The integrated score is the
trapezoid integral over the horizons divided by their span. Results agree with
``sksurv.metrics.brier_score`` / ``integrated_brier_score`` to floating-point precision; kept
because sksurv evaluates ``G`` at every test time and so fails on a test fold followed up longer
than its training fold, where only event times up to the last horizon need a weight, and because
where ``G`` is 0 (past the training outcomes' last censoring) sksurv weights the patients alive
by 0, a lower score than the truth, where the score is undefined and refused here.
"""

from __future__ import annotations

import numpy as np

from survival_core.errors import InputError
from survival_core.evaluation.concordance import censoring_survival
from survival_core.evaluation.td_auc import check_horizons
from survival_core.outcome import Outcome, survival_arrays


def _inverse(g: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``1 / g`` of the censoring survival ``g`` at ``times``; an InputError where ``g`` is 0:
    weighted by 0 there, the patients it stood for were dropped from the score, which came out
    lower than it is."""
    if (g <= 0).any():
        raise InputError(
            f"At {float(times[g <= 0].min()):g} days the training outcomes' censoring survival "
            "is 0 (every training patient followed that long was censored by then): the IPCW "
            "Brier score is undefined there; choose horizons before it."
        )
    return 1.0 / g


def brier_score(
    y_train: Outcome, y_test: Outcome, survival_prob: np.ndarray, times: np.ndarray | float
) -> np.ndarray:
    """IPCW Brier score at each horizon; ``survival_prob`` is (n, len(times)) predicted survival,
    columns in ascending horizon order (or (n,) for a single horizon)."""
    event, time = survival_arrays(y_test)
    given = np.atleast_1d(np.asarray(times, dtype=float))
    times = check_horizons(time, given)
    if given.size != times.size or (given != times).any():
        raise InputError(
            "Brier horizons must be given in strictly increasing order, one per column of the "
            f"predicted survival; got {given.tolist()}."
        )
    prob = np.asarray(survival_prob, dtype=float)
    if prob.ndim == 1 and times.size == 1:
        prob = prob[:, None]
    if prob.shape != (time.size, times.size) or not np.isfinite(prob).all():
        raise InputError(
            f"Predicted survival must be a finite ({time.size}, {times.size}) array; got shape "
            f"{prob.shape}."
        )
    if (prob < 0).any() or (prob > 1).any():
        raise InputError("Predicted survival probabilities must lie in [0, 1].")
    g = censoring_survival(y_train)
    is_case = event[:, None] & (time[:, None] <= times[None, :])
    is_control = time[:, None] > times[None, :]
    needed = event & (time <= times[-1])
    case_weight = np.zeros(time.size)
    case_weight[needed] = _inverse(g(time[needed]), time[needed])
    controlled = is_control.any(axis=0)
    control_weight = np.zeros(times.size)
    control_weight[controlled] = _inverse(g(times[controlled]), times[controlled])
    terms = np.square(prob) * is_case * case_weight[:, None]
    terms += np.square(1.0 - prob) * is_control * control_weight[None, :]
    return terms.mean(axis=0)


def integrated_brier_score(
    y_train: Outcome, y_test: Outcome, survival_prob: np.ndarray, times: np.ndarray
) -> float:
    """Integrated Brier score over ``times`` (at least two horizons, days), trapezoid rule."""
    times = np.asarray(times, dtype=float)
    if times.size < 2:
        raise InputError("The integrated Brier score needs at least two horizons.")
    scores = brier_score(y_train, y_test, survival_prob, times)
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))
