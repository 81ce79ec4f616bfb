"""Bias-corrected and accelerated (BCa) bootstrap confidence intervals (Efron & Tibshirani 1993,
ch. 14) for any statistic of per-patient arrays, and the c-index interval built on it.

Rows (patients) are resampled jointly across all arrays, so a statistic of ``(event, time, risk)``
keeps each patient's outcome with their score. Resample indices come from
``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))``, the same stream
``scipy.stats.bootstrap(..., paired=True, rng=seed)`` draws, so both give the same intervals.
The acceleration is the jackknife estimate; percentiles are linearly interpolated.
Kept rather than ``scipy.stats.bootstrap(method="BCa")``: scipy cannot drop the resamples where a
statistic is undefined (no comparable pair, see ``MAX_UNDEFINED``), and its end points differ from
these in the last bit (up to 2e-16 on the tests' cohorts), so they are not exactly identical.

The c-index intervals (:func:`c_index_ci`, and ``comparison.compare_c_index``) take an exact fast
path, :func:`resampled_c_indices`: Harrell's C of a resample is a ratio of pair sums, so with the
resample's per-patient counts ``w`` it is ``(w' K w) / (w' P w)`` over fixed pair matrices, and B
resamples cost two BLAS products instead of B pairwise passes; the jackknife values come from the
same matrices' row and column sums. Every sum is an integer, so the values equal the direct path's
to the last bit (1,000 resamples at n = 3,000: about 1 s instead of about 5 minutes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.concordance import _PAIR_BLOCK, harrell_c_index, risk_array
from survival_core.outcome import survival_arrays


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a two-sided confidence interval and how the interval was obtained."""

    value: float
    ci_low: float
    ci_high: float
    method: str


def check_level(level: float) -> float:
    """``level`` if it is a valid confidence level (strictly between 0 and 1)."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"Confidence level must lie strictly between 0 and 1; got {level!r}.")
    return float(level)


def two_sided_z(level: float) -> float:
    """Standard normal quantile for a two-sided interval at ``level`` (1.96 for 0.95)."""
    return float(ndtri(1.0 - (1.0 - check_level(level)) / 2.0))


def _paired_arrays(arrays: tuple[np.ndarray, ...]) -> tuple[list[np.ndarray], int]:
    arrays_ = [np.asarray(a) for a in arrays]
    if not arrays_:
        raise InputError("The bootstrap needs at least one data array.")
    n = len(arrays_[0])
    if any(len(a) != n for a in arrays_):
        raise InputError(
            f"All arrays passed to the bootstrap must have one row per patient; got lengths "
            f"{[len(a) for a in arrays_]}."
        )
    if n < 2:
        raise InputError(f"The bootstrap needs at least 2 patients; got {n}.")
    return arrays_, n


def bootstrap_indices(
    n: int, n_resamples: int, seed: int | np.random.Generator | None
) -> np.ndarray:
    """``(n_resamples, n)`` row indices drawn with replacement."""
    if n_resamples < 1:
        raise ConfigError(f"The number of bootstrap resamples must be positive; got {n_resamples}.")
    return np.random.default_rng(seed).integers(0, n, (n_resamples, n))


#: Share of bootstrap resamples that may leave the statistic undefined (e.g. no comparable pair
#: in a resample of a small test set); they are dropped, more is an error.
MAX_UNDEFINED = 0.1


def _defined(statistic: Callable[..., float], arrays: Iterable[np.ndarray]) -> float:
    """The statistic, NaN where the data leave it undefined (our InputError)."""
    try:
        return statistic(*arrays)
    except InputError:
        return np.nan


def resample_statistic(
    statistic: Callable[..., float], arrays: list[np.ndarray], indices: np.ndarray
) -> np.ndarray:
    """The statistic on each bootstrap resample (one row of ``indices`` each); NaN where a
    resample leaves it undefined."""
    return np.array([_defined(statistic, (a[rows] for a in arrays)) for rows in indices])


def jackknife_statistic(statistic: Callable[..., float], arrays: list[np.ndarray]) -> np.ndarray:
    """The statistic with each patient left out in turn (NaN where that leaves it undefined)."""
    n = len(arrays[0])
    keep = ~np.eye(n, dtype=bool)
    return np.array([_defined(statistic, (a[keep[i]] for a in arrays)) for i in range(n)])


def _finite_replicates(values: np.ndarray, what: str) -> np.ndarray:
    """The defined replicates; an error when more than ``MAX_UNDEFINED`` of them are not."""
    finite = values[np.isfinite(values)]
    if finite.size < (1.0 - MAX_UNDEFINED) * values.size:
        raise InputError(
            f"The statistic is undefined in {values.size - finite.size} of {values.size} {what} "
            "(too few patients or events to resample); no confidence interval."
        )
    return finite


def bca_bounds(
    theta_hat: float, theta_boot: np.ndarray, theta_jack: np.ndarray, level: float
) -> tuple[float, float]:
    """BCa interval end points from the bootstrap and jackknife distributions."""
    alpha = (1.0 - check_level(level)) / 2.0
    theta_boot = _finite_replicates(theta_boot, "bootstrap resamples")
    theta_jack = _finite_replicates(theta_jack, "leave-one-out jackknife samples")
    z0 = ndtri(
        ((theta_boot < theta_hat).sum() + (theta_boot <= theta_hat).sum()) / (2 * theta_boot.size)
    )
    if not np.isfinite(z0):
        raise InputError(
            "The BCa interval is undefined because every bootstrap replicate lies on one side of "
            "the estimate (a degenerate bootstrap distribution); use more patients or another "
            "statistic."
        )
    u = (theta_jack.size - 1) * (theta_jack.mean() - theta_jack)
    spread = np.sum(u**2)
    accel = np.sum(u**3) / (6.0 * spread**1.5) if spread > 0 else 0.0
    z = ndtri(np.array([alpha, 1.0 - alpha]))
    quantiles = ndtr(z0 + (z0 + z) / (1.0 - accel * (z0 + z)))
    low, high = np.quantile(theta_boot, quantiles)
    return float(low), float(high)


def bca_interval(
    statistic: Callable[..., float],
    *arrays: np.ndarray,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int | np.random.Generator | None = None,
) -> Estimate:
    """BCa bootstrap interval of ``statistic(*arrays)``, resampling rows of all arrays together."""
    data, n = _paired_arrays(arrays)
    theta_hat = float(statistic(*data))
    theta_boot = resample_statistic(statistic, data, bootstrap_indices(n, n_resamples, seed))
    low, high = bca_bounds(theta_hat, theta_boot, jackknife_statistic(statistic, data), level)
    return Estimate(theta_hat, low, high, f"BCa bootstrap ({n_resamples} resamples)")


#: Largest number of resample-count entries (resamples x patients) multiplied at once.
_RESAMPLE_BLOCK = 1 << 22


def _pair_blocks(
    event: np.ndarray, time: np.ndarray, risks: np.ndarray, tied_tol: float
) -> Iterable[tuple[slice, np.ndarray]]:
    """Row blocks of the pair matrices ``[K_1 | ... | K_p | P]`` (float32, ``(rows, (p + 1) n)``).

    ``P[i, j] = 1`` when the ordered pair (i, j) is comparable by the rule of
    ``concordance_columns`` (i an event, and ``T_i < T_j``, or ``T_i == T_j`` with j censored);
    ``K_c[i, j]`` is twice the concordance credit of risk column c on that pair (2 when
    ``r_i > r_j``, 1 when the risks lie within ``tied_tol``), so every entry is a small integer.
    A patient is never comparable with itself, so the diagonal is 0, and so is the pair of two
    copies of one patient in a resample."""
    n, p = risks.shape
    block = max(1, _PAIR_BLOCK // max(1, n * (p + 1)))
    for start in range(0, n, block):
        i = slice(start, min(n, start + block))
        comparable = event[i, None] & (
            (time[None, :] > time[i, None]) | ((time[None, :] == time[i, None]) & ~event[None, :])
        )
        out = np.empty((comparable.shape[0], (p + 1) * n), dtype=np.float32)
        for c in range(p):
            diff = risks[None, :, c] - risks[i, None, c]
            credit = np.where(np.abs(diff) <= tied_tol, 1.0, 2.0 * (diff < 0))
            out[:, c * n : (c + 1) * n] = credit * comparable
        out[:, p * n :] = comparable
        yield i, out


def _ratio(numerator2: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Harrell's C from twice its numerator and its denominator; NaN without comparable pairs."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (numerator2 / 2.0) / denominator, np.nan)


def resampled_c_indices(
    event: np.ndarray,
    time: np.ndarray,
    risks: np.ndarray,
    indices: np.ndarray,
    tied_tol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Harrell's c-index of each risk column ``(n, p)`` on each bootstrap resample (rows of
    ``indices``, ``(B, n)``) and with each patient left out: ``(B, p)`` and ``(n, p)`` arrays,
    NaN where no comparable pair is left. Exactly (bit for bit) what ``harrell_c_index`` gives on
    ``(event[rows], time[rows], risks[rows, c])`` and on the leave-one-out arrays.

    With ``W`` the resamples' per-patient counts, the pair sums are ``sum((W @ M) * W, axis=1)``
    for the pair matrices ``M`` of :func:`_pair_blocks`. Exactness: every entry of ``W`` and ``M``
    is a small integer, every partial sum of the float32 product is at most ``2 n < 2^24`` and
    the float64 totals at most ``2 n^2 < 2^53``, so no sum rounds, in any order. Memory stays
    bounded: resamples and pair-matrix rows are taken in blocks (no ``n x n`` matrix is held).
    """
    event = np.asarray(event, dtype=bool)
    time = np.asarray(time, dtype=float)
    risks = np.asarray(risks, dtype=float)
    n, p = risks.shape
    if n >= 1 << 23:
        raise InputError(f"Too many patients for the exact pair sums ({n}).")
    B = indices.shape[0]
    sums = np.zeros((B, p + 1))  # twice the numerators per column, then the denominator
    row_sums = np.zeros((n, p + 1))
    col_sums = np.zeros((p + 1, n))
    per_block = max(1, _RESAMPLE_BLOCK // max(1, n))
    for b0 in range(0, B, per_block):
        rows = indices[b0 : b0 + per_block]
        flat = (rows + n * np.arange(rows.shape[0])[:, None]).ravel()
        counts = np.bincount(flat, minlength=rows.size).reshape(rows.shape).astype(np.float32)
        product = np.zeros((rows.shape[0], (p + 1) * n), dtype=np.float32)
        for i, block in _pair_blocks(event, time, risks, tied_tol):
            product += counts[:, i] @ block
            if b0 == 0:
                row_sums[i] += block.reshape(block.shape[0], p + 1, n).sum(axis=2, dtype=float)
                col_sums += block.reshape(block.shape[0], p + 1, n).sum(axis=0, dtype=float)
        weighted = product.reshape(rows.shape[0], p + 1, n).astype(float) * counts[:, None, :]
        sums[b0 : b0 + per_block] = weighted.sum(axis=2)
    totals = row_sums.sum(axis=0)
    jack = totals[None, :] - row_sums - col_sums.T  # the diagonal (a patient with itself) is 0
    return _ratio(sums[:, :p], sums[:, p:]), _ratio(jack[:, :p], jack[:, p:])


def c_index_ci(
    y: np.ndarray,
    risk: np.ndarray,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    tied_tol: float = 1e-8,
) -> Estimate:
    """Harrell's c-index of ``risk`` (higher = worse) with a BCa bootstrap confidence interval."""
    event, time = survival_arrays(y)
    risk = risk_array(risk, time.size)
    _paired_arrays((event, time, risk))
    theta_hat = harrell_c_index((event, time), risk, tied_tol)
    indices = bootstrap_indices(time.size, n_resamples, seed)  # the draws bca_interval makes
    boot, jack = resampled_c_indices(event, time, risk[:, None], indices, tied_tol)
    low, high = bca_bounds(theta_hat, boot[:, 0], jack[:, 0], level)
    if low == high:  # every resample gave one c-index (BCa's z0 is then 0)
        raise InputError(
            f"The c-index's interval is undefined because every bootstrap resample gives "
            f"{low:.4g} (a perfectly separating risk, or risks all tied): a zero-width "
            "interval would claim a certainty the data do not give."
        )
    return Estimate(theta_hat, low, high, f"BCa bootstrap ({n_resamples} resamples)")
