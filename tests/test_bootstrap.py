"""BCa bootstrap against scipy.stats.bootstrap (same resamples), coverage, and torchsurv's c-index CIs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from sksurv.util import Surv
from torchsurv.metrics.cindex import ConcordanceIndex

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation import bootstrap
from survival_core.evaluation.bootstrap import (
    Estimate,
    bca_interval,
    bootstrap_indices,
    c_index_ci,
    jackknife_statistic,
    resample_statistic,
    resampled_c_indices,
)
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


def test_c_index_ci_is_reproducible():
    """Its speed is measured by benchmarks/bench_thousands.py, not here."""
    event, time_, risk = cohort(6, 300)
    first = c_index_ci((event, time_), risk, n_resamples=1000, seed=11)
    assert first == c_index_ci((event, time_), risk, n_resamples=1000, seed=11)
    assert isinstance(first, Estimate) and "BCa" in first.method


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


def test_a_c_index_every_resample_repeats_has_no_interval():
    """A perfectly separating risk or risks all tied gave a zero-width interval ([1, 1] for a
    c-index of 1 at n = 20), claiming a certainty the data do not give; scipy's BCa gives none."""
    time = np.arange(1.0, 21.0)
    y = Surv.from_arrays(np.ones(20, dtype=bool), time)
    for risk, value in ((-time, "1"), (np.zeros(20), "0.5")):
        with pytest.raises(InputError, match=f"every bootstrap resample gives {value} "):
            c_index_ci(y, risk, n_resamples=50, seed=0)


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


def tied_cohort(seed: int, n: int):
    """Ties in time (whole weeks, events and censorings on the same day), in risk (one decimal,
    and differences inside tied_tol), about 40 % censored."""
    rng = np.random.default_rng(seed)
    risk = np.round(rng.normal(size=(n, 2)), 1)
    risk[::7, 1] += 1e-9  # within tied_tol of the one-decimal grid
    event_time = 7.0 * np.ceil(rng.exponential(20 * np.exp(-risk[:, 0])))
    censor = 7.0 * np.ceil(rng.exponential(30.0, n))
    return event_time <= censor, np.minimum(event_time, censor), risk


def harrell(e, t, r):
    return harrell_c_index((e, t), r)


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_resampled_c_indices_equal_the_direct_path(seed):
    event, time_, risk = tied_cohort(seed, 300)
    indices = bootstrap_indices(300, 150, seed)
    boot, jack = resampled_c_indices(event, time_, risk, indices)
    assert boot.shape == (150, 2) and jack.shape == (300, 2)
    for c in range(2):
        data = [event, time_, risk[:, c]]
        # bit for bit, not approximately: every pair sum is an exact integer
        assert np.array_equal(boot[:, c], resample_statistic(harrell, data, indices))
        assert np.array_equal(jack[:, c], jackknife_statistic(harrell, data))


def test_fast_path_marks_the_same_resamples_undefined():
    times = np.arange(1.0, 13.0)
    event = np.zeros(12, dtype=bool)
    event[[0, 5]] = True
    risk = -times[:, None] + np.random.default_rng(0).normal(0, 2, (12, 1))
    indices = bootstrap_indices(12, 300, 2)
    boot, jack = resampled_c_indices(event, times, risk, indices)
    direct = resample_statistic(harrell, [event, times, risk[:, 0]], indices)
    assert np.isnan(direct).any() and np.array_equal(boot[:, 0], direct, equal_nan=True)
    last = np.zeros(12, dtype=bool)
    last[0] = True  # leaving out the only event leaves no comparable pair
    _, jack = resampled_c_indices(last, times, risk, indices)
    assert np.isnan(jack[0, 0]) and np.isfinite(jack[1:, 0]).all()
    assert np.array_equal(
        jack[:, 0], jackknife_statistic(harrell, [last, times, risk[:, 0]]), equal_nan=True
    )


def test_c_index_ci_equals_the_generic_bca_interval(monkeypatch):
    event, time_, risk = tied_cohort(3, 300)
    direct = bca_interval(harrell, event, time_, risk[:, 0], n_resamples=200, seed=9)
    assert c_index_ci((event, time_), risk[:, 0], n_resamples=200, seed=9) == direct
    # small blocks (several resample blocks and pair-matrix row blocks) give the same values
    monkeypatch.setattr(bootstrap, "_RESAMPLE_BLOCK", 7 * 300)
    monkeypatch.setattr(bootstrap, "_PAIR_BLOCK", 13 * 300 * 2)
    assert c_index_ci((event, time_), risk[:, 0], n_resamples=200, seed=9) == direct
