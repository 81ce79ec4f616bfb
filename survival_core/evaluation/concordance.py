"""Concordance indices (Harrell; Uno's IPCW) and the outcome primitives every metric shares.

The primitives come first because the other metrics build on them: input checks, and
:func:`censoring_survival`, the censoring Kaplan-Meier ``G(t)`` behind the IPCW Brier score.

Conventions: risk scores are "higher = worse" (shorter survival); times are in days. Tie handling
follows scikit-survival so results agree with ``sksurv.metrics`` to floating-point precision:
a pair (i, j) is comparable when ``T_i < T_j`` and i had the event, or ``T_i == T_j`` with i an
event and j censored; risks within ``tied_tol`` count 1/2.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sksurv.metrics import concordance_index_ipcw
from sksurv.nonparametric import CensoringDistributionEstimator
from sksurv.util import Surv

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


def censoring_survival(y_train: Outcome) -> Callable[[np.ndarray], np.ndarray]:
    """Kaplan-Meier estimate ``G(t)`` of the censoring distribution (probability of still being
    under follow-up at ``t`` days): scikit-survival's ``CensoringDistributionEstimator``, with
    asking beyond the training follow-up (while ``G > 0``), and training outcomes without an event
    (scikit-survival's bare ValueError, which ended a cross-validation), InputErrors."""
    event, time = survival_arrays(y_train)
    if not np.any(event):
        raise InputError(
            "Every training outcome is censored: the censoring distribution (and the Brier score "
            "and time-dependent AUC it weights) needs at least one event."
        )
    estimator = CensoringDistributionEstimator().fit(Surv.from_arrays(event, time))

    def g(t: np.ndarray) -> np.ndarray:
        try:
            return estimator.predict_proba(np.atleast_1d(np.asarray(t, dtype=float)))
        except ValueError as err:
            raise InputError(
                f"A time lies beyond the last follow-up time of the data the censoring estimate "
                f"was fitted on ({err}); choose earlier time points."
            ) from err

    return g


def concordance_columns(
    event: np.ndarray, time: np.ndarray, risks: np.ndarray, tied_tol: float = 1e-8
) -> np.ndarray:
    """Harrell's c-index of each column of ``risks`` (n, p), NaN when there is no comparable pair.

    The one pairwise implementation (c-index, univariate feature filter, LASSO-Cox inner CV),
    vectorised over columns in memory-bounded blocks. Kept over sksurv's concordance_index_censored
    (a Python loop over event times, one column a call): a BCa c-index CI at n = 300 takes 5.3 s
    with it vs 0.46 s (3.7 vs 0.3 ms a call; 14.5 vs 9.5 ms at n = 1,000, 51 vs 69 ms at 3,000).
    """
    risks = np.asarray(risks, dtype=float)
    n, p = risks.shape
    rows = np.flatnonzero(event)
    cols = max(1, min(p, _PAIR_BLOCK // max(1, n * 16)))
    block = max(1, _PAIR_BLOCK // max(1, n * cols))
    numerator, denominator = np.zeros(p), 0
    for start in range(0, rows.size, block):
        i = rows[start : start + block]
        comparable = (time[None, :] > time[i, None]) | ((time[None, :] == time[i, None]) & ~event)
        denominator += int(comparable.sum())
        weight = comparable.astype(np.float32)[:, None, :]
        for c in range(0, p, cols):
            mine, others = risks[i, None, c : c + cols], risks[None, :, c : c + cols]
            # 2 x the pair's score: 2 when the other's risk is lower (beyond tied_tol), 1 when tied;
            # each event's count (<= 2n) is exact in float32; the events are summed as float64
            twice = (others < mine - tied_tol).astype(np.float32)
            twice += others <= mine + tied_tol
            numerator[c : c + cols] += 0.5 * np.matmul(weight, twice)[:, 0].sum(0, np.float64)
    return numerator / denominator if denominator else np.full(p, np.nan)


def harrell_c_index(y: Outcome, risk: np.ndarray, tied_tol: float = 1e-8) -> float:
    """Harrell's concordance index of ``risk`` (higher = worse) against outcome ``y``."""
    event, time = survival_arrays(y)
    c = concordance_columns(event, time, risk_array(risk, time.size)[:, None], tied_tol)[0]
    if np.isnan(c):
        raise InputError(
            "No comparable patient pairs (need at least one event followed by a longer follow-up); "
            "the concordance index is undefined for these data."
        )
    return float(c)


#: Uno's default truncation: the time by which all but this share of the training patients have
#: had their event or been censored.
UNO_AT_RISK = 0.1


def uno_tau(y_train: Outcome, y_test: Outcome) -> float:
    """Uno's default truncation time: the last test follow-up, or earlier, the time by which only
    :data:`UNO_AT_RISK` of the training patients remain under follow-up. Past it the censoring
    survival ``G`` rests on a few patients and nears 0, and the ``G^-2`` weight lets a single late
    event decide the index (WHAS500, one fold: 0.959 at the last follow-up, Harrell's 0.738,
    0.728 at this tau)."""
    train_time = np.sort(survival_arrays(y_train)[1])
    late = train_time[int(np.ceil((1.0 - UNO_AT_RISK) * train_time.size)) - 1]
    return float(min(survival_arrays(y_test)[1].max(), late))


def uno_c_index(
    y_train: Outcome,
    y_test: Outcome,
    risk: np.ndarray,
    tau: float | None = None,
    tied_tol: float = 1e-8,
) -> float:
    """Uno's IPCW concordance index truncated at ``tau`` days (Uno et al. 2011), by
    ``sksurv.metrics.concordance_index_ipcw``; its ValueErrors become InputErrors.

    The censoring distribution ``G`` is estimated on ``y_train``; each comparable pair whose earlier
    time is the event of patient i is weighted by ``G(T_i)^-2``; events at or after ``tau`` get
    weight 0. ``tau`` defaults to :func:`uno_tau`.
    """
    event, time = survival_arrays(y_test)
    risk = risk_array(risk, time.size)
    tau = uno_tau(y_train, y_test) if tau is None else tau
    try:
        return float(
            concordance_index_ipcw(
                Surv.from_arrays(*survival_arrays(y_train)),
                Surv.from_arrays(event, time),
                risk,
                tau=tau,
                tied_tol=tied_tol,
            )[0]
        )
    except ValueError as err:  # includes sksurv's NoComparablePairException
        raise InputError(
            f"Uno's c-index is undefined for these data ({err}); the test follow-up must stay "
            "inside the training follow-up and hold comparable pairs before tau."
        ) from err
