"""Z-scoring a model's risks against its own training risks: how risks on different scales
(different folds' models, different candidates) are pooled, compared and stacked.

A model that gave every training patient the same risk learned nothing and ranks no one: its
risks z-score to 0 (ties). Its float SD is rounding (1e-16 for a forest that could not split),
and dividing by it blew that noise up to -1 / +1 per fold: a cross-validation ranked patients
by their fold, a pooled c-index of 0.37 with a confidence interval for such a model.
"""

from __future__ import annotations

import numpy as np

from survival_core.evaluation.risk_groups import constant_columns


def risk_standardisation(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD (per column) of ``reference``, a model's risks on its training rows, to
    z-score that model's risks by (:func:`standardised`); the SD is 0 where the spread is rounding
    (:func:`~survival_core.evaluation.risk_groups.constant_columns`)."""
    reference = np.asarray(reference, dtype=float)
    sd = np.where(constant_columns(reference), 0.0, reference.std(axis=0))
    return reference.mean(axis=0), sd


def standardised(values: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``(values - mean) / sd``, and 0 (a tie) where ``sd`` is 0."""
    values, sd = np.asarray(values, dtype=float), np.asarray(sd, dtype=float)
    return np.where(sd > 0, (values - mean) / np.where(sd > 0, sd, 1.0), 0.0)


def z_scores(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``values`` (a model's risks, column by column) z-scored against ``reference``, the same
    model's training risks."""
    return standardised(values, *risk_standardisation(reference))
