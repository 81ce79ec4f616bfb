"""Net benefit at a horizon: hand-computable uncensored cases and a KM cross-check with lifelines."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.decision_curve import decision_curve


def uncensored(seed: int, n: int):
    rng = np.random.default_rng(seed)
    risk = rng.uniform(0.0, 1.0, n)
    time = rng.exponential(300.0 / (0.2 + risk))
    return np.ones(n, dtype=bool), time, risk


@pytest.mark.parametrize("seed,n", [(0, 20), (1, 200)])
@pytest.mark.parametrize("horizon", [100.0, 365.0])
def test_uncensored_matches_tp_fp_formula(seed, n, horizon):
    event, time, risk = uncensored(seed, n)
    thresholds = np.array([0.05, 0.2, 0.5, 0.8])
    curve = decision_curve((event, time), risk, horizon, thresholds)
    died = time <= horizon
    for k, pt in enumerate(thresholds):
        treated = risk >= pt
        tp, fp = np.sum(treated & died), np.sum(treated & ~died)
        assert curve.model[k] == pytest.approx(tp / n - fp / n * pt / (1 - pt), abs=1e-12)
        assert curve.treat_all[k] == pytest.approx(
            died.mean() - (~died).mean() * pt / (1 - pt), abs=1e-12
        )
    assert (curve.treat_none == 0).all()


def test_tiny_hand_example():
    # 4 patients, horizon 10: events at 5 and 20 days, others at 7 and 30 days
    time = np.array([5.0, 20.0, 7.0, 30.0])
    risk = np.array([0.9, 0.6, 0.4, 0.1])
    curve = decision_curve((np.ones(4, dtype=bool), time), risk, 10.0, np.array([0.5]))
    # treated: patients 1, 2 -> TP = 1 (died at 5), FP = 1 (alive at 10); odds 1
    assert curve.model[0] == pytest.approx(1 / 4 - 1 / 4)
    # treat all: 2 died by 10 days, 2 alive
    assert curve.treat_all[0] == pytest.approx(2 / 4 - 2 / 4)


def test_censored_uses_kaplan_meier_among_treated():
    rng = np.random.default_rng(2)
    event, time, risk = uncensored(2, 300)
    censor = rng.uniform(50.0, 800.0, 300)
    event, time = time <= censor, np.minimum(time, censor)
    horizon, pt = 200.0, 0.3
    curve = decision_curve((event, time), risk, horizon, np.array([pt]))
    treated = risk >= pt
    s = float(KaplanMeierFitter().fit(time[treated], event[treated]).predict(horizon))
    share = treated.mean()
    assert curve.model[0] == pytest.approx((1 - s) * share - s * share * pt / (1 - pt), abs=1e-12)


def test_nobody_treated_gives_zero():
    event, time, risk = uncensored(3, 50)
    curve = decision_curve((event, time), risk * 0.1, 100.0, np.array([0.5, 0.9]))
    assert (curve.model == 0).all()


def test_default_thresholds_and_useful_model():
    event, time, u = uncensored(4, 2000)
    true_risk = 1.0 - np.exp(-365.0 * (0.2 + u) / 300.0)  # the true probability of death by 1 year
    curve = decision_curve((event, time), true_risk, 365.0)
    assert (
        curve.thresholds[0] == 0.01 and curve.thresholds[-1] == 0.99 and curve.thresholds.size == 99
    )
    # the true risk is the optimal policy: on average it beats treat-all and treat-none
    best_default = np.maximum(curve.treat_all, curve.treat_none)
    assert np.mean(curve.model - best_default) > 0.01
    assert (curve.model >= best_default - 0.02).all()


@pytest.mark.parametrize("thresholds", [np.array([0.0, 0.5]), np.array([1.0])])
def test_bad_thresholds_raise(thresholds):
    event, time, risk = uncensored(0, 10)
    with pytest.raises(ConfigError):
        decision_curve((event, time), risk, 100.0, thresholds)


def test_risk_outside_unit_interval_raises():
    event, time, risk = uncensored(0, 10)
    with pytest.raises(InputError):
        decision_curve((event, time), risk + 1.0, 100.0)


def test_a_horizon_past_the_follow_up_is_refused():
    """Past the last follow-up the Kaplan-Meier risk is carried on, not observed."""
    event, time, risk = uncensored(0, 50)
    with pytest.raises(InputError, match="within the follow-up"):
        decision_curve((event, time), risk, float(time.max()) + 100.0)


def test_treated_patients_none_followed_to_the_horizon_have_no_net_benefit():
    """At high thresholds the treated few may all be censored before the horizon: their
    Kaplan-Meier survival was carried flat to it and drawn as an observed net benefit."""
    event, time, risk = uncensored(4, 200)
    top = risk >= 0.9
    event[top], time[top] = False, 50.0  # the highest risks all lost to follow-up at 50 days
    curve = decision_curve((event, time), risk, 200.0, np.array([0.5, 0.9, 0.95]))
    assert np.isfinite(curve.model[0]) and np.isnan(curve.model[1:]).all()
    assert np.isfinite(curve.treat_all).all()
