"""DeLong's variance of the ROC AUC and test for two correlated AUCs (DeLong et al. 1988), with the
fast midrank algorithm of Sun & Xu (2014): O(n log n) per model instead of O(m n) pairs.

The outcome is binary. For survival data, :func:`binary_outcome` turns ``y`` into "event by the
horizon" (1) vs "event-free beyond it" (0); patients censored before the horizon have unknown
status and are excluded (complete-case; use the IPCW time-dependent AUC of
:mod:`survival_core.evaluation.td_auc` when that exclusion is large).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr
from scipy.stats import rankdata

from survival_core.errors import InputError
from survival_core.evaluation.bootstrap import Estimate, two_sided_z
from survival_core.evaluation.comparison import Comparison
from survival_core.outcome import Outcome, survival_arrays


def binary_outcome(y: Outcome, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """``(label, known)``: label 1 for an event by ``horizon`` days, 0 for follow-up beyond it;
    ``known`` is False for patients censored at or before the horizon."""
    event, time = survival_arrays(y)
    label = (event & (time <= horizon)).astype(int)
    return label, (time > horizon) | (label == 1)


def delong_covariance(label: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of each row of ``scores`` (k, n) for binary ``label`` and their (k, k) DeLong covariance."""
    label = np.asarray(label)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    if label.ndim != 1 or scores.shape[1] != label.size or not np.isin(label, (0, 1)).all():
        raise InputError("DeLong needs one 0/1 label and one score per patient.")
    if not np.isfinite(scores).all():
        raise InputError("Scores for the DeLong test contain NaN or infinite values.")
    positive = label == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        raise InputError(
            f"DeLong's variance needs at least 2 patients with and 2 without the outcome; got "
            f"{m} and {n}."
        )
    x, z = scores[:, positive], scores[:, ~positive]
    rank_all = rankdata(np.concatenate((x, z), axis=1), axis=1)
    rank_x, rank_z = rankdata(x, axis=1), rankdata(z, axis=1)
    auc = (rank_all[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    v_pos = (rank_all[:, :m] - rank_x) / n
    v_neg = 1.0 - (rank_all[:, m:] - rank_z) / m
    cov = np.atleast_2d(np.cov(v_pos)) / m + np.atleast_2d(np.cov(v_neg)) / n
    return auc, cov


def delong_auc(label: np.ndarray, score: np.ndarray, level: float = 0.95) -> Estimate:
    """ROC AUC with a Wald interval from DeLong's variance, clipped to [0, 1]."""
    z = two_sided_z(level)
    auc, cov = delong_covariance(label, score)
    half = z * np.sqrt(cov[0, 0])
    return Estimate(
        float(auc[0]), float(max(0.0, auc[0] - half)), float(min(1.0, auc[0] + half)), "DeLong"
    )


#: Why a DeLong test of two different AUCs gives no p-value: DeLong's estimate of the variance
#: of their difference is 0, as where both scores separate the outcome without overlap (a
#: perfect score against its negation: AUCs 1 and 0) or one scores every patient alike beside
#: one that separates, and on a few patients with tied scores (AUCs 0.75 and 0.25 on 5
#: patients): no spread to test against.
ZERO_VARIANCE = (
    "zero variance: DeLong's variance of the AUCs' difference is 0 on these patients (scores "
    "that separate the outcome without overlap, or one score for all beside one that separates, "
    "or few patients with ties); no p-value"
)


def delong_test(
    label: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, level: float = 0.95
) -> Comparison:
    """AUC(a) - AUC(b) on the same patients, its Wald CI and two-sided DeLong p-value: 1 where
    the AUCs are equal with no variance (the same ranking), None where they differ with none
    (:data:`ZERO_VARIANCE`; a p of 1 there contradicted a CI excluding 0)."""
    z = two_sided_z(level)
    auc, cov = delong_covariance(label, np.vstack((score_a, score_b)))
    diff = float(auc[0] - auc[1])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1], 0.0)))
    p = float(2.0 * ndtr(-abs(diff) / se)) if se > 0.0 else 1.0 if diff == 0.0 else None
    note = ZERO_VARIANCE if p is None else None
    return Comparison(diff, diff - z * se, diff + z * se, p, "DeLong test", note)
