"""IPCW Brier score and integrated Brier score against scikit-survival."""

from __future__ import annotations

import numpy as np
import pytest
from sksurv.datasets import load_gbsg2
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import brier_score as sksurv_brier
from sksurv.metrics import integrated_brier_score as sksurv_ibs
from sksurv.preprocessing import OneHotEncoder
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.evaluation.brier import brier_score, integrated_brier_score


def synthetic(seed: int, n: int, rounded: bool):
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    time = rng.exponential(300.0 * np.exp(-risk))
    censor = rng.exponential(600.0, n)
    event, time = time <= censor, np.minimum(time, censor)
    if rounded:
        time = np.ceil(time / 30.0) * 30.0
    return Surv.from_arrays(event, time), risk


@pytest.mark.parametrize("seed,n,rounded", [(0, 80, False), (1, 250, True)])
@pytest.mark.parametrize("quantiles", [(0.3,), (0.1, 0.3, 0.5, 0.7)])
def test_matches_sksurv(seed, n, rounded, quantiles):
    y_train, _ = synthetic(seed + 10, 400, rounded)
    y_test, risk = synthetic(seed, n, rounded)
    times = np.unique(np.quantile(y_test["time"], quantiles))
    prob = np.exp(-np.outer(np.exp(risk), times) / 300.0)
    np.testing.assert_allclose(
        brier_score(y_train, y_test, prob, times),
        sksurv_brier(y_train, y_test, prob, times)[1],
        atol=1e-12,
    )
    if times.size > 1:
        assert integrated_brier_score(y_train, y_test, prob, times) == pytest.approx(
            sksurv_ibs(y_train, y_test, prob, times), abs=1e-12
        )


@pytest.fixture(scope="module")
def gbsg2():
    x, y = load_gbsg2()
    x = OneHotEncoder().fit_transform(x)
    train = np.arange(len(y)) % 3 != 0
    model = CoxPHSurvivalAnalysis().fit(x[train], y[train])
    times = np.arange(180.0, 1800.0, 90.0)
    prob = np.vstack([fn(times) for fn in model.predict_survival_function(x[~train])])
    return y[train], y[~train], prob, times


def test_gbsg2_matches_sksurv(gbsg2):
    y_train, y_test, prob, times = gbsg2
    ours = brier_score(y_train, y_test, prob, times)
    np.testing.assert_allclose(ours, sksurv_brier(y_train, y_test, prob, times)[1], atol=1e-12)
    ibs = integrated_brier_score(y_train, y_test, prob, times)
    assert ibs == pytest.approx(sksurv_ibs(y_train, y_test, prob, times), abs=1e-12)
    # the Cox model must beat the uninformative 0.25 of predicting 0.5 for everyone
    assert ibs < 0.25


def test_hand_computed_without_censoring():
    y = Surv.from_arrays(np.ones(4, dtype=bool), np.array([1.0, 2.0, 3.0, 4.0]))
    # at t = 2.5: patients 1, 2 died (target 0), 3, 4 alive (target 1)
    prob = np.array([0.0, 0.5, 1.0, 0.5])
    assert brier_score(y, y, prob, 2.5)[0] == pytest.approx((0 + 0.25 + 0 + 0.25) / 4)
    perfect = np.array([0.0, 0.0, 1.0, 1.0])
    assert brier_score(y, y, perfect, 2.5)[0] == 0.0


def test_unsorted_times_raise():
    y, _ = synthetic(0, 50, False)
    times = np.quantile(y["time"], [0.5, 0.2])
    with pytest.raises(InputError, match="increasing"):
        brier_score(y, y, np.full((50, 2), 0.5), times)


@pytest.mark.parametrize("prob", [np.full((50, 2), 1.5), np.full((50, 3), 0.5)])
def test_bad_probabilities_raise(prob):
    y, _ = synthetic(0, 50, False)
    with pytest.raises(InputError):
        brier_score(y, y, prob, np.quantile(y["time"], [0.2, 0.5]))


def test_integrated_needs_two_horizons():
    y, _ = synthetic(0, 50, False)
    with pytest.raises(InputError, match="two"):
        integrated_brier_score(y, y, np.full(50, 0.5), [np.median(y["time"])])


def test_a_horizon_where_the_censoring_survival_is_zero_is_refused():
    """GBSG2 split so that the training fold's longest follow-up is a censoring: beyond it the
    censoring survival G is 0, and the patients alive there were weighted by 0 (as sksurv still
    does), a Brier score lower than it is."""
    _, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    order = np.argsort(y["time"])
    y_train, y_test = y[order[:450]], y[order[150:]]
    last = y_train["time"].max()
    assert not y_train["event"][y_train["time"] == last].any()  # a censoring ends its follow-up
    times = np.array([last / 2, last + 30.0])
    prob = np.full((len(y_test), 2), 0.5)
    alive = (y_test["time"] > times[1]).sum()
    assert alive > 50 and sksurv_brier(y_train, y_test, prob, times)[1][1] < 0.25 * alive / 400
    with pytest.raises(InputError, match=r"At \d+ days .* censoring survival is 0"):
        brier_score(y_train, y_test, prob, times)
    kept = brier_score(y_train, y_test, prob[:, :1], times[:1])  # before it: as sksurv
    np.testing.assert_allclose(kept, sksurv_brier(y_train, y_test, prob[:, :1], times[:1])[1])
