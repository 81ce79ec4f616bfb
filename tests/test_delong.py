"""DeLong AUC variance and paired test: AUC vs sklearn, variance vs direct structural components."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.evaluation.delong import (
    ZERO_VARIANCE,
    binary_outcome,
    delong_auc,
    delong_covariance,
    delong_test,
)


def structural_components(label, scores):
    """O(m n) DeLong (1988): psi over all positive/negative pairs, then the covariance."""
    pos, neg = scores[:, label == 1], scores[:, label == 0]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    auc = psi.mean(axis=(1, 2))
    cov = np.cov(v10) / pos.shape[1] + np.cov(v01) / neg.shape[1]
    return auc, np.atleast_2d(cov)


def data(seed: int, n: int, tied: bool):
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.4).astype(int)
    a = label * 1.0 + rng.normal(size=n)
    b = label * 0.5 + rng.normal(size=n) + 0.3 * a
    if tied:
        a, b = np.round(a), np.round(b * 2)
    return label, a, b


CASES = [(0, 30, False), (1, 200, True), (2, 500, False), (3, 80, True)]


@pytest.mark.parametrize("case", CASES)
def test_auc_matches_sklearn(case):
    label, a, b = data(*case)
    auc, _ = delong_covariance(label, np.vstack((a, b)))
    assert auc[0] == pytest.approx(roc_auc_score(label, a), abs=1e-12)
    assert auc[1] == pytest.approx(roc_auc_score(label, b), abs=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_covariance_matches_structural_components(case):
    label, a, b = data(*case)
    scores = np.vstack((a, b))
    auc, cov = delong_covariance(label, scores)
    ref_auc, ref_cov = structural_components(label, scores)
    np.testing.assert_allclose(auc, ref_auc, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_paired_test_uses_the_correlated_variance(case):
    label, a, b = data(*case)
    result = delong_test(label, a, b)
    auc, cov = structural_components(label, np.vstack((a, b)))
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert result.difference == pytest.approx(auc[0] - auc[1], abs=1e-12)
    assert result.p_value == pytest.approx(2 * norm.sf(abs(auc[0] - auc[1]) / se), rel=1e-9)
    assert result.ci_low == pytest.approx(result.difference - norm.ppf(0.975) * se, abs=1e-12)
    swapped = delong_test(label, b, a)
    assert swapped.difference == pytest.approx(
        -result.difference
    ) and swapped.p_value == pytest.approx(result.p_value)


def test_hanley_mcneil_ct_ratings():
    """Hanley & McNeil (1982) 5-point CT ratings: 58 normal, 51 abnormal; AUC 0.893."""
    label = np.r_[np.zeros(58), np.ones(51)].astype(int)
    rating = np.r_[
        np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2]), np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    ]
    est = delong_auc(label, rating)
    assert round(est.value, 3) == 0.893
    assert est.ci_low < 0.893 < est.ci_high and est.ci_high - est.ci_low < 0.15


def test_identical_scores_give_p_one():
    label, a, _ = data(0, 50, False)
    result = delong_test(label, a, a)
    assert result.difference == 0 and result.p_value == 1.0


@pytest.mark.parametrize(("other", "difference"), [(-1.0, 1.0), (0.0, 0.5)])
def test_different_aucs_without_variance_give_no_p(other: float, difference: float) -> None:
    """A perfect score against its negation (AUCs 1 and 0) or a constant (0.5): DeLong's variance
    of the difference is 0, and p was 1 (no difference) beside a CI of [1, 1] excluding 0."""
    label = np.r_[np.zeros(10), np.ones(10)].astype(int)
    score = np.arange(20.0)
    result = delong_test(label, score, other * score)
    assert (result.difference, result.ci_low, result.ci_high) == (difference,) * 3
    assert result.p_value is None
    assert result.note == ZERO_VARIANCE


def test_tied_scores_on_few_patients_without_variance_give_no_p() -> None:
    """Neither score separates nor is constant, yet DeLong's variance of the difference is 0 (AUCs
    0.75 and 0.25 on 5 patients): no p-value, the note naming few patients with ties."""
    result = delong_test(np.array([0, 0, 0, 1, 1]), np.r_[0, 0, 0, 0, 1.0], np.r_[1, 1, 1, 0, 1.0])
    assert result.difference == pytest.approx(0.5) and result.p_value is None
    assert "few patients with ties" in result.note


def test_binary_outcome_from_survival():
    y = Surv.from_arrays([True, False, True, False, True], [10.0, 20.0, 50.0, 60.0, 100.0])
    label, known = binary_outcome(y, 30.0)
    np.testing.assert_array_equal(label, [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(known, [True, False, True, True, True])


def test_too_few_positives_raise():
    with pytest.raises(InputError, match="at least 2"):
        delong_auc(np.array([1, 0, 0, 0]), np.array([0.9, 0.1, 0.2, 0.3]))
