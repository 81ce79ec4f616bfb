"""Concordance indices (Harrell; Uno's IPCW) and the outcome primitives every metric shares.

The primitives come first because everything else in ``survival_core.evaluation`` builds on them:
:func:`product_limit` is the one Kaplan-Meier
product used for survival curves and for the censoring distribution, and
:func:`censoring_survival` is the censoring Kaplan-Meier ``G(t)`` behind every inverse probability
of censoring weight (IPCW).

Conventions: risk scores are "higher = worse" (shorter survival); times are in days. Tie handling
follows scikit-survival so results agree with ``sksurv.metrics`` to floating-point precision:
a pair (i, j) is comparable when ``T_i < T_j`` and i had the event, or ``T_i == T_j`` with i an
event and j censored; risks within ``tied_tol`` count 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from survival_core.errors import InputError
from survival_core.outcome import Outcome, survival_arrays

#: Largest number of pair entries (event rows x patients) evaluated at once; bounds memory.
_PAIR_BLOCK = 1 << 22


def risk_array(risk: np.ndarray, n: int, name: str = "risk") -> np.ndarray:
    """``risk`` as a finite 1-D float array of length ``n`` (one score per patient)."""
    risk = np.asarray(risk, dtype=float)
    if risk.shape != (n,):
        raise InputError(f"Expected one {name} value per patient ({n}); got shape {risk.shape}.")
    if not np.isfinite(risk).all():
        raise InputError(f"The {name} values contain NaN or infinite entries.")
    return risk


def probability_array(prob: np.ndarray, n: int, name: str) -> np.ndarray:
    """``prob`` as a 1-D float array of ``n`` probabilities in [0, 1] (one per patient)."""
    prob = risk_array(prob, n, name)
    if (prob < 0).any() or (prob > 1).any():
        raise InputError(f"The {name} values must be probabilities in [0, 1].")
    return prob


@dataclass(frozen=True)
class StepFunction:
    """A right-continuous step function: ``value[k]`` holds on ``[x[k], x[k+1])``; 1 before ``x[0]``.

    ``defined_until`` is the largest time at which the function is known (the last observed time);
    asking beyond it is an error unless the function has already dropped to zero.
    """

    x: np.ndarray
    value: np.ndarray
    defined_until: float

    def __call__(self, t: np.ndarray | float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if self.value[-1] > 0 and (t > self.defined_until).any():
            raise InputError(
                f"Time {float(t.max()):g} days lies beyond the last follow-up time "
                f"({self.defined_until:g} days) of the data the estimate was fitted on; choose "
                "earlier time points."
            )
        idx = np.searchsorted(self.x, t, side="right") - 1
        return np.where(idx >= 0, self.value[np.maximum(idx, 0)], 1.0)


def product_limit(
    event: np.ndarray, time: np.ndarray, reverse: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier product at the unique times: ``(times, survival, n_at_risk, n_events)``.

    ``reverse=True`` estimates the censoring distribution: censorings are the "events" and, at a
    tied time, events are taken to happen before censorings (so they leave the risk set first).
    """
    times, inverse = np.unique(time, return_inverse=True)
    n_total = np.bincount(inverse, minlength=times.size)
    n_events = np.bincount(inverse, weights=event.astype(float), minlength=times.size)
    n_at_risk = time.size - np.concatenate(([0], np.cumsum(n_total)[:-1])).astype(float)
    if reverse:
        n_at_risk = n_at_risk - n_events
        n_events = n_total - n_events
    ratio = np.divide(n_events, n_at_risk, out=np.zeros(times.size), where=n_events > 0)
    return times, np.cumprod(1.0 - ratio), n_at_risk, n_events


def censoring_survival(y_train: Outcome) -> StepFunction:
    """Kaplan-Meier estimate ``G(t)`` of the censoring distribution (probability of still being
    under follow-up at ``t`` days), as scikit-survival's ``CensoringDistributionEstimator``."""
    event, time = survival_arrays(y_train)
    if event.all():
        times = np.unique(time)
        return StepFunction(times, np.ones(times.size), float(times[-1]))
    times, g, _, _ = product_limit(event, time, reverse=True)
    return StepFunction(times, g, float(times[-1]))


def inverse_censoring_weights(g: StepFunction, event: np.ndarray, time: np.ndarray) -> np.ndarray:
    """``1 / G(T_i)`` for patients with an event, 0 for censored patients."""
    weights = np.zeros(time.size)
    g_at = g(time[event])
    if (g_at == 0).any():
        raise InputError(
            "The censoring distribution of the training data drops to zero before some event "
            "times of the evaluation data, so IPCW weights are undefined; use a truncation time "
            "inside the training follow-up."
        )
    weights[event] = 1.0 / g_at
    return weights


def _weighted_concordance(
    event: np.ndarray, time: np.ndarray, risk: np.ndarray, weights: np.ndarray, tied_tol: float
) -> float:
    """Sum over comparable pairs of ``w_i * (concordant + tie/2)`` divided by ``sum w_i``-weighted
    comparable pairs; vectorised in blocks of event rows."""
    rows = np.flatnonzero(event)
    block = max(1, _PAIR_BLOCK // max(1, time.size))
    numerator = denominator = 0.0
    for start in range(0, rows.size, block):
        i = rows[start : start + block]
        t_i = time[i, None]
        comparable = (time[None, :] > t_i) | ((time[None, :] == t_i) & ~event[None, :])
        diff = risk[None, :] - risk[i, None]
        tied = np.abs(diff) <= tied_tol
        score = np.where(tied, 0.5, (diff < 0).astype(float))
        numerator += weights[i] @ (comparable * score).sum(axis=1)
        denominator += weights[i] @ comparable.sum(axis=1)
    if denominator == 0:
        raise InputError(
            "No comparable patient pairs (need at least one event followed by a longer follow-up); "
            "the concordance index is undefined for these data."
        )
    return float(numerator / denominator)


def harrell_c_index(y: Outcome, risk: np.ndarray, tied_tol: float = 1e-8) -> float:
    """Harrell's concordance index of ``risk`` (higher = worse) against outcome ``y``."""
    event, time = survival_arrays(y)
    risk = risk_array(risk, time.size)
    return _weighted_concordance(event, time, risk, np.ones(time.size), tied_tol)


def uno_c_index(
    y_train: Outcome,
    y_test: Outcome,
    risk: np.ndarray,
    tau: float | None = None,
    tied_tol: float = 1e-8,
) -> float:
    """Uno's IPCW concordance index truncated at ``tau`` days (Uno et al. 2011).

    The censoring distribution ``G`` is estimated on ``y_train``; each comparable pair whose earlier
    time is the event of patient i is weighted by ``G(T_i)^-2``; events at or after ``tau`` get
    weight 0. ``tau`` should be a time where the training censoring survival is still positive.
    """
    event, time = survival_arrays(y_test)
    risk = risk_array(risk, time.size)
    in_window = np.ones(time.size, dtype=bool) if tau is None else time < tau
    weights = np.zeros(time.size)
    weights[in_window] = inverse_censoring_weights(
        censoring_survival(y_train), event[in_window], time[in_window]
    )
    return _weighted_concordance(event, time, risk, np.square(weights), tied_tol)
