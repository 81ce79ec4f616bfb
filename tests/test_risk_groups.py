"""Kaplan-Meier, log-rank, Cox hazard ratio and training-fitted risk-group cuts vs lifelines/sksurv."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test as lifelines_logrank
from sksurv.datasets import load_gbsg2
from sksurv.nonparametric import CensoringDistributionEstimator
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.risk_groups import (
    RiskGroupCut,
    cox_coefficient,
    hazard_ratio,
    kaplan_meier,
    logrank_test,
    stratify,
    survival_at,
)


def synthetic(seed: int, n: int, rounded: bool):
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    time = rng.exponential(400.0 * np.exp(-0.8 * risk))
    censor = rng.exponential(700.0, n)
    event, time = time <= censor, np.minimum(time, censor)
    if rounded:
        time = np.ceil(time / 30.0) * 30.0
    return event, time, risk


@pytest.fixture(scope="module")
def gbsg2():
    x, y = load_gbsg2()
    return y["cens"], y["time"], (x["horTh"] == "yes").to_numpy().astype(int), x


SYNTHETIC = [(0, 60, False), (1, 300, True), (2, 500, True)]


@pytest.mark.parametrize("case", SYNTHETIC)
def test_kaplan_meier_matches_lifelines(case):
    event, time, _ = synthetic(*case)
    curve = kaplan_meier((event, time))
    ref = KaplanMeierFitter().fit(time, event)
    np.testing.assert_allclose(
        curve.survival, ref.survival_function_.loc[curve.time].iloc[:, 0], atol=1e-12
    )
    ci = ref.confidence_interval_.loc[curve.time].to_numpy()
    np.testing.assert_allclose(curve.ci_low, ci[:, 0], atol=1e-10)
    np.testing.assert_allclose(curve.ci_high, ci[:, 1], atol=1e-10)
    median = ref.median_survival_time_
    assert curve.median == (float(median) if np.isfinite(median) else None)


def test_survival_at_between_steps():
    event, time, _ = synthetic(0, 60, False)
    ref = KaplanMeierFitter().fit(time, event)
    for t in (0.0, 100.0, float(np.median(time))):
        est = survival_at((event, time), t)
        assert est.value == pytest.approx(float(ref.predict(t)), abs=1e-12)
        assert est.ci_low <= est.value <= est.ci_high


@pytest.mark.parametrize("case", SYNTHETIC)
def test_logrank_matches_lifelines(case):
    event, time, risk = synthetic(*case)
    groups = (risk > 0).astype(int)
    ours = logrank_test((event, time), groups)
    hi = groups == 1
    ref = lifelines_logrank(time[hi], time[~hi], event[hi], event[~hi])
    assert ours.chi2 == pytest.approx(ref.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-8)
    assert ours.observed > ours.expected  # the high-risk group has more events than expected


def test_gbsg2_logrank_and_hazard_ratio(gbsg2):
    event, time, treated, _ = gbsg2
    ours = logrank_test((event, time), treated)
    ref = lifelines_logrank(
        time[treated == 1], time[treated == 0], event[treated == 1], event[treated == 0]
    )
    assert ours.chi2 == pytest.approx(ref.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-8)
    hr = hazard_ratio((event, time), treated)
    cph = CoxPHFitter().fit(pd.DataFrame({"t": time, "e": event, "g": treated}), "t", "e")
    row = cph.summary.loc["g"]
    assert hr.value == pytest.approx(row["exp(coef)"], rel=1e-6)
    assert hr.ci_low == pytest.approx(row["exp(coef) lower 95%"], rel=1e-6)
    assert hr.ci_high == pytest.approx(row["exp(coef) upper 95%"], rel=1e-6)
    assert hr.value < 1  # hormonal therapy is protective in GBSG2


@pytest.mark.parametrize("case", SYNTHETIC)
def test_cox_coefficient_matches_lifelines_with_ties(case):
    event, time, risk = synthetic(*case)
    coef, se = cox_coefficient((event, time), risk)
    cph = CoxPHFitter().fit(
        pd.DataFrame({"t": time, "e": event, "x": risk}), "t", "e", fit_options={"precision": 1e-12}
    )
    # lifelines' default stopping rule leaves ~1e-6 relative error; tightened, both agree to 1e-9
    assert coef == pytest.approx(cph.params_["x"], rel=1e-9)
    assert se == pytest.approx(cph.standard_errors_["x"], rel=1e-9)


def _youden_brute_force(event, time, risk, horizon):
    """Best midpoint cut maximising IPCW sensitivity + specificity - 1, pair by pair."""
    y = Surv.from_arrays(event, time)
    w = CensoringDistributionEstimator().fit(y).predict_ipcw(y)
    case = event & (time <= horizon)
    control = time > horizon
    values = np.unique(risk)
    best, best_cut = -np.inf, None
    for lo, hi in zip(values[:-1], values[1:], strict=True):
        cut = (lo + hi) / 2
        sens = np.sum(w * case * (risk > cut)) / np.sum(w * case)
        spec = np.sum(control * (risk <= cut)) / control.sum()
        if sens + spec - 1 > best + 1e-12:
            best, best_cut = sens + spec - 1, cut
    return best_cut


@pytest.mark.parametrize("case", SYNTHETIC)
def test_youden_cut_is_the_ipcw_optimum(case):
    event, time, risk = synthetic(*case)
    risk = np.round(risk, 2)
    horizon = float(np.median(time))
    cut = RiskGroupCut("youden", horizon).fit((event, time), risk)
    assert cut.threshold_ == pytest.approx(_youden_brute_force(event, time, risk, horizon))


def test_median_cut_learned_on_training_only():
    event, time, risk = synthetic(3, 200, False)
    cut = RiskGroupCut("median").fit((event[:100], time[:100]), risk[:100])
    assert cut.threshold_ == np.median(risk[:100])
    groups = cut.assign(risk[100:])
    np.testing.assert_array_equal(groups, (risk[100:] > np.median(risk[:100])).astype(int))


def test_a_risk_tied_at_the_cut_stays_in_its_training_group_when_scored_alone():
    """The median cut lands on tied training risks ('low'); the same patient's risk computed
    alone differs by ~1e-16 and was 'high' (144 of GBSG2's patients on three categories)."""
    event, time, risk = synthetic(3, 200, False)
    risk = np.round(risk, 1)  # few distinct risks: the median is a tied value
    cut = RiskGroupCut("median").fit((event, time), risk)
    tied = risk == cut.threshold_
    assert tied.sum() > 1 and not cut.assign(risk[tied]).any()
    alone = np.nextafter(risk[tied], np.inf)  # one row's rounding, above the batch value
    assert not cut.assign(alone).any()
    assert cut.assign(risk[tied] + 1e-6).all()  # a real difference still counts


@pytest.mark.parametrize("method,horizon", [("median", None), ("youden", 300.0)])
def test_cut_round_trips_through_json(method, horizon):
    event, time, risk = synthetic(4, 200, False)
    cut = RiskGroupCut(method, horizon).fit((event, time), risk)
    restored = RiskGroupCut.from_dict(json.loads(json.dumps(cut.to_dict())))
    np.testing.assert_array_equal(restored.assign(risk), cut.assign(risk))
    assert restored.to_dict() == cut.to_dict()


def test_stratify_on_test_set():
    event, time, risk = synthetic(5, 400, True)
    cut = RiskGroupCut("median").fit((event[:200], time[:200]), risk[:200])
    result = stratify((event[200:], time[200:]), risk[200:], cut)
    groups = cut.assign(risk[200:])
    assert result.logrank_p == logrank_test((event[200:], time[200:]), groups).p_value
    assert result.hr > 1 and result.hr_ci[0] < result.hr < result.hr_ci[1]
    assert result.logrank_p < 0.05
    # the high-risk curve lies below the low-risk one at the median follow-up
    t = float(np.median(time))
    assert result.km[1].at(t).value < result.km[0].at(t).value


@pytest.mark.parametrize(
    "kwargs", [{"method": "tertile"}, {"method": "youden"}, {"method": "youden", "horizon": -1}]
)
def test_bad_cut_settings_raise(kwargs):
    with pytest.raises(ConfigError):
        RiskGroupCut(**kwargs)


def test_unfitted_cut_and_bad_dict_raise():
    with pytest.raises(ConfigError, match="fitted"):
        RiskGroupCut().assign(np.zeros(3))
    with pytest.raises(ConfigError, match="malformed"):
        RiskGroupCut.from_dict({"method": "median"})


def test_single_group_raises():
    event, time, _ = synthetic(6, 30, False)
    with pytest.raises(InputError, match="Both risk groups"):
        logrank_test((event, time), np.zeros(30, dtype=int))


def test_univariate_cox_of_skewed_real_columns_matches_scikit_survival():
    """FLCHAIN (real, 7,874 patients): creatinine, kappa and lambda are right-skewed (values up to
    20-27 SD above the mean). Unhalved Newton steps overshot and cycled between two betas of
    opposite sign: creatinine was reported HR 0.32 per SD; the maximum is 1.44."""
    from sksurv.datasets import load_flchain
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    from survival_core.evaluation.risk_groups import cox_wald

    X, y = load_flchain()
    for column in ("creatinine", "kappa", "lambda"):
        keep = X[column].notna().to_numpy()
        x = X[column].to_numpy(float)[keep]
        event, time = y["death"][keep], y["futime"][keep]
        fit = cox_wald(x[:, None], event, time)
        reference = CoxPHSurvivalAnalysis(ties="breslow").fit(
            x[:, None], Surv.from_arrays(event, time)
        )
        assert fit.converged, column
        assert fit.coef[0] / fit.sd[0] == pytest.approx(reference.coef_[0], rel=1e-6), column


def test_a_median_on_the_highest_tied_risk_still_makes_two_groups(tmp_path):
    """GBSG2 under a Cox model of hormonal therapy alone: 440 of 686 patients (no therapy) share
    the higher risk, the median landed on it, everybody was 'low', and `fit` failed with 'A
    Kaplan-Meier curve needs at least one patient'. The cut goes below the tie: the two arms."""
    from survival_core.cli.main import main

    X, y = load_gbsg2()
    table = pd.DataFrame({"horTh": X["horTh"], "time": y["time"], "event": y["cens"].astype(int)})
    table.to_csv(path := tmp_path / "gbsg2.csv", index_label="case_id")
    out = tmp_path / "m"
    argv = ["fit", "--table", str(path), "--model", "coxph", "--out", str(out), "--json"]
    assert main(argv) == 0
    card = json.loads((out / "card.json").read_text())
    assert set(card["stratification"]["km"]) == {"0", "1"}
    risk = np.asarray(card["training_risk"])
    cut = RiskGroupCut.from_dict(card["cut"])
    high = cut.assign(risk)
    assert high.sum() == (X["horTh"] == "no").sum() == 440
    expected = lifelines_logrank(
        y["time"][X["horTh"] == "no"], y["time"][X["horTh"] == "yes"],
        y["cens"][X["horTh"] == "no"], y["cens"][X["horTh"] == "yes"],
    ).p_value  # fmt: skip
    assert card["stratification"]["logrank"]["p_value"] == pytest.approx(expected, rel=1e-6)
