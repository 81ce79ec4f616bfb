"""Harrell's and Uno's c-index against scikit-survival on synthetic and real cohorts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sksurv.datasets import load_gbsg2, load_veterans_lung_cancer, load_whas500
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.preprocessing import OneHotEncoder
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.evaluation.concordance import (
    censoring_survival,
    harrell_c_index,
    uno_c_index,
    uno_tau,
)
from survival_core.evaluation.splits import nested_cv
from survival_core.outcome import survival_arrays


def synthetic(seed: int, n: int, censor_rate: float, tied_times: bool, tied_risk: bool):
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    time = rng.exponential(100.0 * np.exp(-0.7 * risk))
    censor = rng.exponential(100.0 * (1.0 - censor_rate) / censor_rate, n)
    event = time <= censor
    time = np.minimum(time, censor)
    if tied_times:
        time = np.ceil(time / 10.0) * 10.0
    if tied_risk:
        risk = np.round(risk, 1)
    return event, time, risk


CASES = [
    (0, 50, 0.3, False, False),
    (1, 200, 0.5, True, False),
    (2, 200, 0.5, False, True),
    (3, 500, 0.7, True, True),
    (4, 30, 0.1, True, True),
]


@pytest.mark.parametrize("case", CASES)
def test_harrell_matches_sksurv(case):
    event, time, risk = synthetic(*case)
    expected = concordance_index_censored(event, time, risk)[0]
    assert harrell_c_index(Surv.from_arrays(event, time), risk) == pytest.approx(expected, abs=1e-9)
    assert harrell_c_index((event, time), risk) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("tau_quantile", [None, 0.5, 0.8])
def test_uno_matches_sksurv(case, tau_quantile):
    event, time, risk = synthetic(*case)
    y = Surv.from_arrays(event, time)
    # a separate training sample for the censoring distribution, covering the test follow-up
    e_train, t_train, _ = synthetic(case[0] + 100, 400, case[2], case[3], False)
    t_train[np.argmax(t_train)] = time.max() + 1.0
    e_train[np.argmax(t_train)] = False
    y_train = Surv.from_arrays(e_train, t_train)
    tau = None if tau_quantile is None else float(np.quantile(time, tau_quantile))
    sksurv_tau = uno_tau(y_train, y) if tau is None else tau  # ours defaults to uno_tau
    expected = concordance_index_ipcw(y_train, y, risk, tau=sksurv_tau)[0]
    assert uno_c_index(y_train, y, risk, tau=tau) == pytest.approx(expected, abs=1e-9)


def test_uno_tau_leaves_the_last_tenth_of_training_follow_up_out():
    y_train = Surv.from_arrays([True] * 10, np.arange(1.0, 11.0))
    assert uno_tau(y_train, Surv.from_arrays([True, False], [2.0, 20.0])) == 9.0
    assert uno_tau(y_train, Surv.from_arrays([True, False], [2.0, 5.0])) == 5.0


def test_default_uno_tau_keeps_one_late_event_from_deciding_the_index():
    """WHAS500 (real), a Cox model's test fold where the training censoring survival G falls to
    0.005 at the last follow-up: untruncated, one event's G^-2 weight carries 98 % of the index."""
    X, y = load_whas500()
    event, time = y["fstat"], y["lenfol"]
    x = OneHotEncoder().fit_transform(X).to_numpy(float)
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
    fold = nested_cv(event, 1, 5, seed=0)[3]
    train = np.sort(np.concatenate([fold.train, fold.validation]))
    y_train, y_test = Surv.from_arrays(event[train], time[train]), y[fold.test]
    risk = CoxPHSurvivalAnalysis(alpha=1.0).fit(x[train], y_train).predict(x[fold.test])
    harrell = harrell_c_index(y_test, risk)
    untruncated = uno_c_index(
        y_train, y_test, risk, tau=min(time[fold.test].max(), time[train].max())
    )
    assert untruncated - harrell > 0.15
    assert abs(uno_c_index(y_train, y_test, risk) - harrell) < 0.03


def _cox_risk(x, y):
    x = OneHotEncoder().fit_transform(x)
    return CoxPHSurvivalAnalysis(alpha=1e-3).fit(x, y).predict(x)


@pytest.mark.parametrize("loader", [load_gbsg2, load_veterans_lung_cancer, load_whas500])
def test_real_cohorts_match_sksurv(loader):
    x, y = loader()
    event, time = survival_arrays(y)
    risk = _cox_risk(x, y)
    assert harrell_c_index(y, risk) == pytest.approx(
        concordance_index_censored(event, time, risk)[0], abs=1e-9
    )
    tau = float(np.quantile(time, 0.8))
    assert uno_c_index(y, y, risk, tau=tau) == pytest.approx(
        concordance_index_ipcw(y, y, risk, tau=tau)[0], abs=1e-9
    )
    # the fitted model must beat chance on its own data
    assert harrell_c_index(y, risk) > 0.6


def test_hand_computed_pairs():
    # times 1(e) 2(c) 3(e) 4(e): comparable pairs (1,2)(1,3)(1,4)(3,4) -> risks order decides
    y = Surv.from_arrays([True, False, True, True], [1.0, 2.0, 3.0, 4.0])
    assert harrell_c_index(y, np.array([4.0, 3.0, 2.0, 1.0])) == 1.0
    assert harrell_c_index(y, np.array([1.0, 2.0, 3.0, 4.0])) == 0.0
    # tie in risk between patient 1 and 3 -> that pair counts 1/2: (1 + 0.5 + 1 + 1) / 4
    assert harrell_c_index(y, np.array([2.0, 1.0, 2.0, 0.0])) == pytest.approx(3.5 / 4)


def test_censoring_survival_steps():
    g = censoring_survival(Surv.from_arrays([True, False, True, False], [1.0, 2.0, 3.0, 4.0]))
    # censorings at 2 (3 at risk) and 4 (1 at risk): G = 1, 2/3, 2/3, 0
    np.testing.assert_allclose(g(np.array([0.5, 1.0, 2.0, 3.5, 4.0])), [1, 1, 2 / 3, 2 / 3, 0])


def test_brier_score_of_training_outcomes_without_an_event_is_a_message():
    """Veterans' first 20 patients all censored as training outcomes: scikit-survival's bare
    ValueError ('all samples are censored') ended a cross-validation instead of leaving the
    fold's Brier score undefined."""
    from survival_core.evaluation.brier import brier_score

    _, y = load_veterans_lung_cancer()
    time = y["Survival_in_days"].astype(float)
    censored = (np.zeros(20, dtype=bool), time[:20])
    surv = np.full((20, 1), 0.5)
    with pytest.raises(InputError, match="Every training outcome is censored"):
        brier_score(censored, (y["Status"][:20], time[:20]), surv, np.array([100.0]))


@pytest.mark.parametrize(
    "y",
    [
        np.array([1.0, 2.0]),
        (np.array([1, 2]), np.array([1.0, 2.0])),
        (np.array([1]), np.array([1.0, 2.0])),
    ],
)
def test_bad_outcome_raises(y):
    with pytest.raises(InputError):
        harrell_c_index(y, np.array([0.1, 0.2]))


def test_no_comparable_pairs_raises():
    y = Surv.from_arrays([False, False, True], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="comparable"):
        harrell_c_index(y, np.array([0.1, 0.2, 0.3]))


def test_uno_beyond_training_follow_up_raises():
    y_train = Surv.from_arrays([True, False], [1.0, 2.0])
    y_test = Surv.from_arrays([True, True, False], [1.0, 5.0, 6.0])
    with pytest.raises(InputError, match="follow-up"):
        uno_c_index(y_train, y_test, np.array([0.3, 0.2, 0.1]), tau=6.0)


outcomes = st.integers(min_value=5, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.booleans(), min_size=n, max_size=n).filter(any),
        st.lists(st.integers(1, 30), min_size=n, max_size=n),
        st.lists(st.integers(-50, 50), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(outcomes)
def test_invariant_to_monotone_transforms(data):
    event, time, risk = (np.asarray(a) for a in data)
    event, time, risk = event.astype(bool), time.astype(float), risk.astype(float)
    try:
        c = harrell_c_index((event, time), risk)
    except InputError:
        return
    for transformed in (3.0 * risk + 7.0, np.exp(risk / 10.0), risk**3):
        assert harrell_c_index((event, time), transformed) == pytest.approx(c, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(outcomes)
def test_negated_risk_without_ties_gives_complement(data):
    event, time, _ = (np.asarray(a) for a in data)
    risk = np.random.default_rng(len(time)).permutation(len(time)).astype(float)
    try:
        c = harrell_c_index((event.astype(bool), time.astype(float)), risk)
    except InputError:
        return
    assert harrell_c_index((event.astype(bool), time.astype(float)), -risk) == pytest.approx(1 - c)
