"""BCa bootstrap against scipy.stats.bootstrap (same resamples), coverage, and torchsurv's c-index CIs."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from scipy import stats
from sksurv.util import Surv
from torchsurv.metrics.cindex import ConcordanceIndex

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.bootstrap import Estimate, bca_interval, c_index_ci
from survival_core.evaluation.concordance import harrell_c_index


def cohort(seed: int, n: int):
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    event_time = rng.exponential(np.exp(-risk))
    censor = rng.exponential(2.0, n)
    return event_time <= censor, np.minimum(event_time, censor) * 365.0, risk


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", [0.9, 0.95])
@pytest.mark.parametrize("statistic", [np.mean, np.median, lambda x: np.std(x, ddof=1)])
def test_bca_matches_scipy_one_sample(seed, level, statistic):
    x = np.random.default_rng(seed + 10).lognormal(size=40)
    ours = bca_interval(statistic, x, n_resamples=500, level=level, seed=seed)
    ref = stats.bootstrap(
        (x,),
        lambda s: statistic(s),
        vectorized=False,
        n_resamples=500,
        confidence_level=level,
        method="BCa",
        rng=seed,
    )
    assert ours.value == statistic(x)
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
def test_c_index_bca_matches_scipy_paired(seed):
    event, time_, risk = cohort(seed, 80)
    ours = c_index_ci(Surv.from_arrays(event, time_), risk, n_resamples=200, seed=seed)
    ref = stats.bootstrap(
        (event, time_, risk),
        lambda e, t, r: harrell_c_index((e, t), r),
        paired=True,
        vectorized=False,
        n_resamples=200,
        method="BCa",
        rng=seed,
    )
    assert ours.value == pytest.approx(harrell_c_index((event, time_), risk), abs=0)
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=1e-12)
    assert ours.ci_low < ours.value < ours.ci_high


def test_bca_coverage_of_the_mean():
    rng = np.random.default_rng(5)
    hits = 0
    reps = 200
    for _ in range(reps):
        x = rng.exponential(1.0, 40)
        est = bca_interval(np.mean, x, n_resamples=400, level=0.9, seed=rng)
        hits += est.ci_low <= 1.0 <= est.ci_high
    # nominal 90 %; binomial SD over 200 replicates is about 2 %
    assert 0.82 <= hits / reps <= 0.96


def test_c_index_ci_is_fast_and_reproducible():
    event, time_, risk = cohort(6, 300)
    start = time.perf_counter()
    first = c_index_ci((event, time_), risk, n_resamples=1000, seed=11)
    elapsed = time.perf_counter() - start
    assert first == c_index_ci((event, time_), risk, n_resamples=1000, seed=11)
    assert isinstance(first, Estimate) and "BCa" in first.method
    assert elapsed < 4.0  # measured ~0.5 s on an idle core; generous for shared machines


def test_c_index_ci_close_to_torchsurv():
    """torchsurv gives Efron percentile bootstrap and Noether intervals, not BCa: compare within
    Monte Carlo and method tolerance, and the point estimate exactly (float32)."""
    seed = 7
    event, time_, risk = cohort(seed, 80)
    ours = c_index_ci((event, time_), risk, n_resamples=1000, seed=seed)
    metric = ConcordanceIndex()
    value = metric(
        torch.tensor(risk, dtype=torch.float32),
        torch.tensor(event),
        torch.tensor(time_, dtype=torch.float32),
    )
    torch.manual_seed(seed)
    percentile = metric.confidence_interval(method="bootstrap", n_bootstraps=100).numpy()
    noether = metric.confidence_interval().numpy()
    assert ours.value == pytest.approx(float(value), abs=1e-5)
    assert ours.ci_low == pytest.approx(percentile[0], abs=0.05)
    assert ours.ci_high == pytest.approx(percentile[1], abs=0.05)
    # Noether's standard error is conservative: its interval contains most of the bootstrap one
    assert noether[0] - 0.02 <= ours.ci_low and ours.ci_high <= noether[1] + 0.02


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5])
def test_bad_level_raises(level):
    with pytest.raises(ConfigError):
        bca_interval(np.mean, np.arange(10.0), level=level)


def test_mismatched_arrays_raise():
    with pytest.raises(InputError):
        bca_interval(lambda a, b: a.mean() - b.mean(), np.arange(10.0), np.arange(9.0))


def test_constant_data_give_zero_width_interval():
    est = bca_interval(np.mean, np.ones(20), n_resamples=50, seed=0)
    assert (est.value, est.ci_low, est.ci_high) == (1.0, 1.0, 1.0)


def test_statistic_biased_on_every_resample_raises():
    # every resample repeats someone, so it has fewer distinct values than the data: z0 is infinite
    with pytest.raises(InputError, match="degenerate"):
        bca_interval(lambda x: -np.unique(x).size, np.arange(20.0), n_resamples=50, seed=0)


def test_resamples_without_comparable_pairs_are_dropped_up_to_a_limit():
    rng = np.random.default_rng(4)
    times = np.arange(1.0, 21.0)
    event = np.zeros(20, dtype=bool)
    event[[0, 1, 2]] = True  # ~4 % of resamples hold none of the 3 events: dropped
    risk = -times + rng.normal(0, 3, 20)
    estimate = c_index_ci((event, times), risk, n_resamples=400, seed=1)
    assert estimate.ci_low <= estimate.value <= estimate.ci_high
    single = np.zeros(8, dtype=bool)
    single[0] = True  # a third of the resamples lose the only event: no interval
    with pytest.raises(InputError, match="undefined in"):
        c_index_ci((single, np.arange(1.0, 9.0)), -np.arange(8.0), n_resamples=400, seed=1)
