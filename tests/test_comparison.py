"""Paired bootstrap comparison of c-indices and Benjamini-Hochberg against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from survival_core.errors import InputError
from survival_core.evaluation.bootstrap import (
    bca_bounds,
    bootstrap_indices,
    jackknife_statistic,
    resample_statistic,
)
from survival_core.evaluation.comparison import benjamini_hochberg, compare_c_index
from survival_core.evaluation.concordance import harrell_c_index


def cohort(seed: int, n: int):
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=n)
    time = rng.exponential(365.0 * np.exp(-lp))
    censor = rng.exponential(700.0, n)
    strong = lp + 0.3 * rng.normal(size=n)
    weak = lp + 2.0 * rng.normal(size=n)
    return time <= censor, np.minimum(time, censor), strong, weak


@pytest.mark.parametrize("seed", [0, 1])
def test_difference_ci_matches_scipy_paired_bca(seed):
    event, time, strong, weak = cohort(seed, 80)
    ours = compare_c_index((event, time), strong, weak, n_resamples=200, seed=seed)

    def diff(e, t, a, b):
        return harrell_c_index((e, t), a) - harrell_c_index((e, t), b)

    ref = stats.bootstrap(
        (event, time, strong, weak),
        diff,
        paired=True,
        vectorized=False,
        n_resamples=200,
        method="BCa",
        rng=seed,
    )
    assert ours.difference == diff(event, time, strong, weak)
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=1e-12)
    # centred bootstrap p-value from the same replicates
    boot = ref.bootstrap_distribution
    p = (1 + np.sum(np.abs(boot - ours.difference) >= abs(ours.difference))) / 201
    assert ours.p_value == pytest.approx(p)


def test_clearly_better_model_is_significant():
    event, time, strong, weak = cohort(2, 300)
    result = compare_c_index((event, time), strong, weak, n_resamples=500, seed=2)
    assert result.difference > 0.05 and result.ci_low > 0 and result.p_value < 0.01


def test_same_model_is_not_significant():
    event, time, strong, _ = cohort(3, 100)
    result = compare_c_index((event, time), strong, strong * 2.0, n_resamples=100, seed=3)
    assert result.difference == 0.0 and result.p_value == 1.0


@pytest.mark.parametrize(
    "p",
    [
        np.array([0.01, 0.04, 0.03, 0.2, 0.5]),
        np.array([0.05, 0.05, 0.05]),
        np.array([0.3]),
        np.random.default_rng(4).uniform(size=50) ** 3,
        np.array([0.0, 1.0, 0.5, 0.5]),
    ],
)
def test_bh_matches_scipy(p):
    np.testing.assert_allclose(
        benjamini_hochberg(p), stats.false_discovery_control(p), rtol=0, atol=1e-15
    )


@pytest.mark.parametrize("p", [np.array([]), np.array([1.2]), np.array([[0.1, 0.2]])])
def test_bh_bad_input_raises(p):
    with pytest.raises(InputError):
        benjamini_hochberg(p)


def test_fast_path_equals_the_direct_resampled_difference():
    """compare_c_index scores both models on every resample through the pair-matrix fast path:
    the same interval and p-value, bit for bit, as the difference recomputed per resample."""
    rng = np.random.default_rng(5)
    n = 300
    a = np.round(rng.normal(size=n), 1)
    b = np.round(a + rng.normal(size=n), 1)
    event_time = 7.0 * np.ceil(rng.exponential(20 * np.exp(-a)))
    censor = 7.0 * np.ceil(rng.exponential(30.0, n))
    event, time = event_time <= censor, np.minimum(event_time, censor)

    def diff(e, t, r1, r2):
        return harrell_c_index((e, t), r1) - harrell_c_index((e, t), r2)

    data = [event, time, a, b]
    boot = resample_statistic(diff, data, bootstrap_indices(n, 300, 4))
    low, high = bca_bounds(diff(*data), boot, jackknife_statistic(diff, data), 0.95)
    p = (1 + np.sum(np.abs(boot - diff(*data)) >= abs(diff(*data)))) / 301
    ours = compare_c_index((event, time), a, b, n_resamples=300, seed=4)
    assert (ours.difference, ours.ci_low, ours.ci_high, ours.p_value) == (diff(*data), low, high, p)


def test_p_value_counts_only_the_resamples_where_both_c_indices_are_defined():
    """15 patients, 4 events: 27 of 1000 resamples hold no comparable pair. They are neither as
    extreme as the observed difference nor not; counting them in the denominator only lowered p."""
    rng = np.random.default_rng(3)
    n = 15
    a = rng.normal(size=n)
    b = a + rng.normal(size=n)
    time, event = np.round(rng.exponential(300, n)), rng.uniform(size=n) < 0.25

    def diff(e, t, r1, r2):
        return harrell_c_index((e, t), r1) - harrell_c_index((e, t), r2)

    boot = resample_statistic(diff, [event, time, a, b], bootstrap_indices(n, 1000, 1))
    defined = boot[np.isfinite(boot)]
    assert defined.size == 973
    observed = diff(event, time, a, b)
    ours = compare_c_index((event, time), a, b, n_resamples=1000, seed=1)
    assert ours.p_value == (1 + np.sum(np.abs(defined - observed) >= abs(observed))) / 974
    assert ours.method == "paired BCa bootstrap (973 resamples)"
