"""Cumulative/dynamic time-dependent AUC against sksurv.metrics.cumulative_dynamic_auc."""

from __future__ import annotations

import numpy as np
import pytest
from sksurv.datasets import load_gbsg2
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import cumulative_dynamic_auc as sksurv_auc
from sksurv.preprocessing import OneHotEncoder
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.evaluation.td_auc import (
    cumulative_dynamic_auc,
    cumulative_dynamic_roc,
    horizon_marker,
)


def synthetic(seed: int, n: int, tied: bool):
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    time = rng.exponential(300.0 * np.exp(-0.8 * risk))
    censor = rng.exponential(500.0, n)
    event, time = time <= censor, np.minimum(time, censor)
    if tied:
        time, risk = np.ceil(time / 30.0) * 30.0, np.round(risk, 1)
    return Surv.from_arrays(event, time), risk


@pytest.mark.parametrize("seed,n,tied", [(0, 100, False), (1, 300, True), (2, 60, True)])
@pytest.mark.parametrize("quantiles", [(0.5,), (0.2, 0.4, 0.6, 0.8)])
def test_matches_sksurv(seed, n, tied, quantiles):
    y_train, _ = synthetic(seed + 50, 400, tied)
    y_test, risk = synthetic(seed, n, tied)
    times = np.quantile(y_test["time"][y_test["time"] < y_train["time"].max()], quantiles)
    auc, mean_auc = cumulative_dynamic_auc(y_train, y_test, risk, times)
    ref_auc, ref_mean = sksurv_auc(y_train, y_test, risk, times)
    np.testing.assert_allclose(auc, ref_auc, rtol=0, atol=1e-12)
    assert mean_auc == pytest.approx(ref_mean, abs=1e-12)


def test_time_dependent_risk_matches_sksurv():
    y, risk = synthetic(3, 200, False)
    times = np.quantile(y["time"], [0.25, 0.5, 0.75])
    risk_2d = risk[:, None] * np.array([1.0, 0.5, -0.2]) + np.random.default_rng(3).normal(
        size=(200, 3)
    )
    auc, mean_auc = cumulative_dynamic_auc(y, y, risk_2d, times)
    ref_auc, ref_mean = sksurv_auc(y, y, risk_2d, times)
    np.testing.assert_allclose(auc, ref_auc, atol=1e-12)
    assert mean_auc == pytest.approx(ref_mean, abs=1e-12)


@pytest.fixture(scope="module")
def gbsg2():
    x, y = load_gbsg2()
    x = OneHotEncoder().fit_transform(x)
    train = np.arange(len(y)) % 3 != 0
    model = CoxPHSurvivalAnalysis().fit(x[train], y[train])
    return y[train], y[~train], model.predict(x[~train])


@pytest.mark.parametrize("times", [[365.0], [365.0, 730.0, 1095.0, 1460.0]])
def test_gbsg2_matches_sksurv(gbsg2, times):
    y_train, y_test, risk = gbsg2
    auc, mean_auc = cumulative_dynamic_auc(y_train, y_test, risk, times)
    ref_auc, ref_mean = sksurv_auc(y_train, y_test, risk, times)
    np.testing.assert_allclose(auc, ref_auc, atol=1e-12)
    assert mean_auc == pytest.approx(ref_mean, abs=1e-12)
    assert (auc > 0.6).all()


def test_roc_curve_area_and_ends(gbsg2):
    y_train, y_test, risk = gbsg2
    roc = cumulative_dynamic_roc(y_train, y_test, risk, 730.0)
    assert roc.auc == pytest.approx(sksurv_auc(y_train, y_test, risk, [730.0])[0][0], abs=1e-12)
    assert roc.false_positive_rate[[0, -1]].tolist() == [0.0, 1.0]
    assert roc.true_positive_rate[[0, -1]].tolist() == [0.0, 1.0]
    assert (np.diff(roc.thresholds) < 0).all()


def test_perfect_and_reversed_scores_without_censoring():
    time = np.arange(1.0, 11.0)
    y = Surv.from_arrays(np.ones(10, dtype=bool), time)
    assert cumulative_dynamic_auc(y, y, -time, 5.0)[0][0] == 1.0
    assert cumulative_dynamic_auc(y, y, time, 5.0)[0][0] == 0.0
    assert cumulative_dynamic_auc(y, y, np.zeros(10), 5.0)[0][0] == 0.5


@pytest.mark.parametrize("times", [[0.5], [10.0], [11.0]])
def test_horizon_outside_follow_up_raises(times):
    y = Surv.from_arrays(np.ones(10, dtype=bool), np.arange(1.0, 11.0))
    with pytest.raises(InputError, match="horizons"):
        cumulative_dynamic_auc(y, y, np.arange(10.0), times)


def test_wrong_risk_shape_raises():
    y = Surv.from_arrays(np.ones(10, dtype=bool), np.arange(1.0, 11.0))
    with pytest.raises(InputError):
        cumulative_dynamic_auc(y, y, np.zeros((10, 3)), [3.0, 5.0])


def test_a_test_event_after_the_training_follow_up_is_a_control():
    """Veterans (real), a test fold followed longer than its training rows (an event at 999
    days, training to 587): sksurv refused the fold and its td-AUC was NaN at every horizon, no
    note. That patient is a control at 90-365 days; the AUC is the IPCW definition written out,
    cases weighted by the training censoring distribution, controls unweighted."""
    from sksurv.datasets import load_veterans_lung_cancer
    from sksurv.nonparametric import CensoringDistributionEstimator

    X, y = load_veterans_lung_cancer()
    event, time = y["Status"], y["Survival_in_days"].astype(float)
    risk = -X["Karnofsky_score"].to_numpy(float) + 0.01 * X["Age_in_years"].to_numpy(float)
    train = time <= 587  # the training rows: follow-up ends at 587 days
    test = ~train | (np.arange(time.size) % 3 == 0)
    assert (event[test] & (time[test] > time[train].max())).any()
    y_train = Surv.from_arrays(event[train], time[train])
    y_test = Surv.from_arrays(event[test], time[test])
    horizons = np.array([90.0, 180.0, 365.0])
    auc, _ = cumulative_dynamic_auc(y_train, y_test, risk[test], horizons)
    censoring = CensoringDistributionEstimator().fit(y_train)
    for h, ours in zip(horizons, auc, strict=True):
        cases = event[test] & (time[test] <= h)
        controls = time[test] > h
        weight = 1.0 / censoring.predict_proba(time[test][cases])
        r_case, r_control = risk[test][cases][:, None], risk[test][controls][None, :]
        pairs = (r_case > r_control) + 0.5 * (r_case == r_control)
        expected = (weight[:, None] * pairs).sum() / (weight.sum() * controls.sum())
        assert ours == pytest.approx(expected, rel=1e-10)
    roc = cumulative_dynamic_roc(y_train, y_test, risk[test], 180.0)
    assert np.trapezoid(roc.true_positive_rate, roc.false_positive_rate) == pytest.approx(
        auc[1], rel=1e-10
    )


def test_the_horizon_marker_ranks_by_event_probability_then_by_risk():
    event_probability = np.array([0.1, 0.2, 0.2, 0.0, 0.1])
    risk = np.array([5.0, 1.0, 2.0, 9.0, 5.0])
    # the two 0.2s told apart by their risks, the two (0.1, 5) patients tied
    assert horizon_marker(risk, event_probability).tolist() == [2.0, 3.0, 4.0, 1.0, 2.0]
    # before any training event S(h) is 1 for everyone: the risk orders them
    assert horizon_marker(risk, np.zeros(5)).tolist() == [3.0, 1.0, 2.0, 4.0, 3.0]
