"""Comparing models on the same patients: paired bootstrap of the c-index difference and the
Benjamini-Hochberg false-discovery-rate adjustment across many comparisons.

The bootstrap resamples patients once per replicate and scores both models on that resample, so
the correlation between the two c-indices is kept. The CI of the difference is BCa; the two-sided
p-value compares the centred bootstrap distribution with the observed difference:
``p = (1 + #{|d*_b - d| >= |d|}) / (B + 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import false_discovery_control

from survival_core.errors import InputError
from survival_core.evaluation.bootstrap import (
    Estimate,
    bca_bounds,
    bootstrap_indices,
    c_index_ci,
    resampled_c_indices,
)
from survival_core.evaluation.concordance import harrell_c_index, risk_array
from survival_core.outcome import Outcome, survival_arrays


@dataclass(frozen=True)
class Comparison:
    """Difference of a metric between two models (a - b), its CI and two-sided p-value (None
    where the test gives none, ``note`` saying why)."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None
    method: str
    note: str | None = None


def compare_c_index(
    y: Outcome,
    risk_a: np.ndarray,
    risk_b: np.ndarray,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    tied_tol: float = 1e-8,
) -> Comparison:
    """Harrell's c-index of model a minus model b (risks: higher = worse), paired bootstrap."""
    event, time = survival_arrays(y)
    data = [event, time, risk_array(risk_a, time.size), risk_array(risk_b, time.size)]

    def difference(e: np.ndarray, t: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return harrell_c_index((e, t), a, tied_tol) - harrell_c_index((e, t), b, tied_tol)

    observed = difference(*data)
    indices = bootstrap_indices(time.size, n_resamples, seed)
    # both models' c-indices on every resample and jackknife sample at once, exactly as
    # ``difference`` on the resampled arrays (both are undefined on the same resamples)
    both, jack = resampled_c_indices(event, time, np.column_stack(data[2:]), indices, tied_tol)
    boot = both[:, 0] - both[:, 1]
    low, high = bca_bounds(observed, boot, jack[:, 0] - jack[:, 1], level)
    # over the resamples where both are defined: the undefined ones are neither extreme nor not
    defined = boot[np.isfinite(boot)]
    p = (1 + np.sum(np.abs(defined - observed) >= abs(observed))) / (defined.size + 1)
    return Comparison(
        observed, low, high, float(p), f"paired BCa bootstrap ({defined.size} resamples)"
    )


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order
    (``scipy.stats.false_discovery_control``; our check turns bad input into an InputError)."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or p.size == 0 or not ((p >= 0) & (p <= 1)).all():
        raise InputError("Benjamini-Hochberg needs a non-empty 1-D array of p-values in [0, 1].")
    return false_discovery_control(p, method="bh")


def comparison_table(
    y: Outcome,
    risks: dict[str, np.ndarray],
    reference: str,
    n_resamples: int = 1000,
    seed: int = 0,
) -> list[dict[str, float | str | None]]:
    """Every model's Harrell c-index with its BCa CI on the same patients, and its paired
    difference from ``reference`` (bootstrap p, Benjamini-Hochberg q over the comparisons),
    best c-index first; ``risks`` maps a name to its risk per patient (higher = worse)."""
    rows: list[dict[str, float | str | None]] = []
    for name, risk in risks.items():
        try:
            estimate = c_index_ci(y, risk, n_resamples=n_resamples, seed=seed)
        except InputError:  # a constant candidate (no variable kept): its c-index, no interval
            estimate = Estimate(harrell_c_index(y, risk), np.nan, np.nan, "none")
        row: dict[str, float | str | None] = {
            "model": name,
            "c_index": estimate.value,
            "ci_low": estimate.ci_low,
            "ci_high": estimate.ci_high,
            "difference": None,
            "p_value": None,
            "q_value": None,
        }
        if name != reference:
            paired = compare_c_index(y, risk, risks[reference], n_resamples, seed=seed)
            row.update(difference=paired.difference, p_value=paired.p_value)
        rows.append(row)
    compared = [r for r in rows if r["p_value"] is not None]
    if compared:
        q = benjamini_hochberg(np.array([r["p_value"] for r in compared], dtype=float))
        for row, value in zip(compared, q, strict=True):
            row["q_value"] = float(value)
    return sorted(rows, key=lambda r: -float(r["c_index"]))
