"""Calibration at a horizon: grouped KM table, Cox calibration slope, and smoothed ICI/E50/E90
cross-checked against lifelines' survival_probability_calibration."""

from __future__ import annotations

import contextlib
import io
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.calibration import survival_probability_calibration
from sksurv.datasets import load_gbsg2
from sksurv.preprocessing import OneHotEncoder

from survival_core.errors import InputError
from survival_core.evaluation.calibration import (
    calibration_at,
    calibration_in_the_large,
    calibration_slope,
    calibration_table,
    cloglog_risk,
    smoothed_calibration,
)

matplotlib.use("Agg")
YEAR = 365.25


@pytest.fixture(scope="module")
def gbsg2_cox():
    x, y = load_gbsg2()
    x = OneHotEncoder().fit_transform(x)[["age", "pnodes", "tsize", "progrec", "horTh=yes"]]
    # lifelines' spline fit only converges with times near 1 (it fails in days), so use years
    df = x.assign(T=y["time"] / YEAR, E=y["cens"].astype(int))
    return df, CoxPHFitter().fit(df, "T", "E")


@pytest.mark.parametrize("horizon_days", [500.0, 1000.0, 1500.0, 2000.0])
def test_ici_e50_match_lifelines(gbsg2_cox, horizon_days):
    df, cph = gbsg2_cox
    t0 = horizon_days / YEAR
    surv = cph.predict_survival_function(df, times=[t0]).to_numpy()[0]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        _, ici, e50 = survival_probability_calibration(cph, df, t0)
    ours = smoothed_calibration((df["E"].to_numpy().astype(bool), df["T"].to_numpy()), surv, t0)
    assert ours.ici == pytest.approx(ici, abs=5e-4)
    assert ours.e50 == pytest.approx(e50, abs=5e-4)
    assert ours.e50 <= ours.ici * 1.5 and ours.e90 >= ours.e50


def test_smoothed_calibration_does_not_depend_on_time_unit(gbsg2_cox):
    df, cph = gbsg2_cox
    event = df["E"].to_numpy().astype(bool)
    surv = cph.predict_survival_function(df, times=[3.0]).to_numpy()[0]
    in_years = smoothed_calibration((event, df["T"].to_numpy()), surv, 3.0)
    in_days = smoothed_calibration((event, df["T"].to_numpy() * YEAR), surv, 3.0 * YEAR)
    assert in_days.ici == pytest.approx(in_years.ici, abs=1e-7)
    np.testing.assert_allclose(in_days.observed_risk, in_years.observed_risk, atol=1e-6)


def simulate(seed: int, n: int, distort: float):
    """Weibull-free exponential cohort with known survival at 365 days; predictions are the truth
    raised to ``distort`` (1 = perfectly calibrated)."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=n)
    rate = np.exp(lp) / 700.0
    time = rng.exponential(1.0 / rate)
    censor = rng.uniform(200.0, 2000.0, n)
    event, time = time <= censor, np.minimum(time, censor)
    true_surv = np.exp(-rate * 365.0)
    return event, time, true_surv**distort


def test_true_probabilities_are_well_calibrated():
    event, time, surv = simulate(0, 2000, 1.0)
    result = calibration_at((event, time), surv, 365.0)
    assert result.smoothed.ici < 0.02
    assert result.slope.ci_low < 1.0 < result.slope.ci_high
    assert result.in_the_large.ci_low < 0.0 < result.in_the_large.ci_high
    assert (np.abs(result.table.observed_survival - result.table.predicted_survival) < 0.08).all()


def test_too_high_risk_is_flagged_in_the_large():
    event, time, surv = simulate(1, 2000, 2.0)  # hazards doubled: a shift on the cloglog scale
    good = smoothed_calibration((event, time), simulate(1, 2000, 1.0)[2], 365.0)
    bad = calibration_at((event, time), surv, 365.0)
    assert bad.smoothed.ici > 2 * good.ici
    assert bad.in_the_large.ci_high < 0  # observed risk below predicted
    assert bad.slope.ci_low < 1.0 < bad.slope.ci_high  # a pure shift keeps the slope at 1


def test_too_extreme_predictions_have_slope_below_one():
    event, time, surv = simulate(2, 2000, 1.0)
    cumulative_hazard = -np.log(surv)
    extreme = np.exp(-(cumulative_hazard**2.0) / cumulative_hazard.mean())  # cloglog doubled
    slope = calibration_slope((event, time), extreme)
    assert slope.ci_high < 1.0 and slope.value == pytest.approx(0.5, abs=0.1)


def test_slope_is_the_lifelines_cox_coefficient():
    event, time, surv = simulate(2, 500, 1.5)
    slope = calibration_slope((event, time), surv)
    df = pd.DataFrame({"t": time, "e": event, "x": cloglog_risk(surv)})
    cph = CoxPHFitter().fit(df, "t", "e", fit_options={"precision": 1e-12})
    assert slope.value == pytest.approx(cph.params_["x"], rel=1e-8)
    assert slope.ci_low == pytest.approx(cph.confidence_intervals_.iloc[0, 0], rel=1e-8)


@pytest.mark.parametrize("n_groups", [2, 4, 10])
def test_table_without_censoring_is_fraction_alive(n_groups):
    rng = np.random.default_rng(3)
    time = rng.exponential(500.0, 40)
    surv = rng.uniform(0.2, 0.9, 40)
    table = calibration_table((np.ones(40, dtype=bool), time), surv, 365.0, n_groups)
    order = np.argsort(-surv, kind="stable")
    for g, members in enumerate(np.array_split(order, n_groups)):
        assert table.n[g] == members.size
        assert table.predicted_survival[g] == pytest.approx(surv[members].mean())
        assert table.observed_survival[g] == pytest.approx(np.mean(time[members] > 365.0))
    assert (table.observed_low <= table.observed_survival).all()
    assert (table.observed_survival <= table.observed_high).all()


@pytest.mark.parametrize("surv", [np.full(10, 1.2), np.full(9, 0.5), np.full(10, np.nan)])
def test_bad_predictions_raise(surv):
    with pytest.raises(InputError):
        calibration_table((np.ones(10, dtype=bool), np.arange(1.0, 11.0)), surv, 5.0)


@pytest.mark.parametrize("value", [1.0, 0.97])
def test_slope_of_a_constant_prediction_is_refused(gbsg2_cox, value):
    """A constant float column's standard deviation is rounding (1e-17), not spread: the slope
    was 0 with a +-1e20 interval. Before the first event every model predicts S = 1."""
    df, _ = gbsg2_cox
    with pytest.raises(InputError, match="same value"):
        calibration_slope((df["E"].to_numpy(bool), df["T"].to_numpy()), np.full(len(df), value))


def test_horizon_past_the_follow_up_is_refused(gbsg2_cox):
    """GBSG2's follow-up ends at 2,659 days with a censoring: at 4,000 days the observed
    survival would be the last Kaplan-Meier value carried on, as if observed."""
    df, cph = gbsg2_cox
    y = (df["E"].to_numpy(bool), df["T"].to_numpy() * YEAR)
    surv = cph.predict_survival_function(df, times=[4000.0 / YEAR]).to_numpy()[0]
    for check in (calibration_table, calibration_in_the_large, smoothed_calibration):
        with pytest.raises(InputError, match="within the follow-up"):
            check(y, surv, 4000.0)


def test_a_group_nobody_was_followed_to_the_horizon_has_no_observed_survival(gbsg2_cox):
    """GBSG2 at 2,400 days: a decile whose last follow-up is 2,227 days drew an 'observed'
    37 % [23, 51] %, its Kaplan-Meier curve carried flat past its end."""
    from survival_core.viewer.curves import calibration_figure

    df, cph = gbsg2_cox
    y = (df["E"].to_numpy(bool), df["T"].to_numpy() * YEAR)
    surv = cph.predict_survival_function(df, times=[2400.0 / YEAR]).to_numpy()[0]
    table = calibration_table(y, surv, 2400.0)
    rank = np.empty(surv.size, dtype=int)
    rank[np.argsort(-surv, kind="stable")] = np.arange(surv.size)
    group = rank * 10 // surv.size
    short = np.array([y[1][group == g].max() < 2400.0 for g in range(10)])
    assert short.any() and not short.all()  # nobody in these died out before the horizon either
    np.testing.assert_array_equal(np.isnan(table.observed_survival), short)
    figure = calibration_figure(calibration_at(y, surv, 2400.0))
    assert np.isnan(figure.data[-1].y).sum() == np.isnan(table.observed_survival).sum()


@pytest.mark.parametrize("horizon", [100.0, 200.0, 300.0])
def test_aids_smoothed_calibration_falls_back_to_the_cox_spline(horizon):
    """AIDS (real; 1,151 patients, 96 events, one year of administrative follow-up): the spline
    AFT did not converge at 100 and 200 days (the whole calibration figure of a run was lost)
    and at 300 days converged to a cumulative hazard falling with time, observed risks up to
    0.76 off. Now the Cox model of the cloglog and its spline term smooths it; its observed
    risks are scikit-survival's Cox (Efron ties, Breslow baseline) on the same design."""
    from sksurv.datasets import load_aids
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    from survival_core.evaluation.calibration import COX_SPLINE, SPLINE_AFT

    x, y = load_aids()
    y = (y["censor"].astype(bool), y["time"].astype(float))
    cph = CoxPHFitter(penalizer=0.1).fit(x.astype(float).assign(t=y[1], e=y[0]), "t", "e")
    surv = cph.predict_survival_function(x.astype(float), times=[horizon]).to_numpy()[0]
    result = calibration_at(y, surv, horizon)
    assert result.smoothed.method == COX_SPLINE
    cloglog = np.log(-np.log(surv))
    low, mid, high = np.percentile(cloglog, [10, 50, 90])

    def cube(k):
        return np.maximum(cloglog - k, 0) ** 3

    term = (
        cube(low)
        - cube(mid) * (high - low) / (high - mid)
        + cube(high) * (mid - low) / (high - mid)
    )
    design = np.column_stack([cloglog, term / (high - low) ** 2])
    outcome = np.array(list(zip(*y, strict=True)), dtype=[("e", bool), ("t", float)])
    sksurv = CoxPHSurvivalAnalysis(ties="efron").fit(design, outcome)
    expected = 1 - np.array([f(horizon) for f in sksurv.predict_survival_function(design)])
    np.testing.assert_allclose(result.smoothed.observed_risk, expected, rtol=1e-4, atol=1e-5)
    # the grouped Kaplan-Meier risks agree with the smoothed curve within the groups' spread
    assert result.smoothed.ici < 0.04
    df, fitted = gbsg2_in_days()
    ok = smoothed_calibration(df, fitted, 1000.0)
    assert ok.method == SPLINE_AFT  # where the spline AFT is a survival model, it is kept


def gbsg2_in_days():
    x, y = load_gbsg2()
    x = OneHotEncoder().fit_transform(x)[["age", "pnodes", "tsize", "progrec", "horTh=yes"]]
    cph = CoxPHFitter().fit(x.assign(T=y["time"], E=y["cens"].astype(int)), "T", "E")
    return (y["cens"], y["time"]), cph.predict_survival_function(x, times=[1000.0]).to_numpy()[0]


def test_a_small_cohort_gets_fewer_groups_not_an_error():
    """Eight out-of-fold patients: 10 groups were asked for and the run's calibration figure was
    left out ('Need between 1 and 8 calibration groups'); now groups of at least 10 patients
    (at least 2 groups), deciles from 100 patients on."""
    event, time, surv = simulate(4, 2000, 1.0)
    for n, groups in ((8, 2), (45, 4), (100, 10), (2000, 10)):
        result = calibration_at((event[:n], time[:n]), surv[:n], 365.0)
        assert result.table.n.size == groups and result.table.n.sum() == n


def test_patients_of_one_prediction_are_one_group_whatever_the_row_order():
    """A grade-only model on GBSG2 (three predictions): its ten groups were cut by row order,
    five of one prediction showing 67-78 % observed survival, 66-82 % with the rows shuffled.
    Now one group per prediction, each its grade's Kaplan-Meier survival, in any order."""
    from survival_core.evaluation.risk_groups import kaplan_meier

    X, y = load_gbsg2()
    grade = X["tgrade"].astype(str).to_numpy()
    surv = pd.Series(grade).map({"I": 0.93, "II": 0.77, "III": 0.68}).to_numpy(float)
    outcome = (y["cens"], y["time"])
    table = calibration_table(outcome, surv, 730.0)
    shuffle = np.random.default_rng(0).permutation(surv.size)
    again = calibration_table((y["cens"][shuffle], y["time"][shuffle]), surv[shuffle], 730.0)
    np.testing.assert_allclose(table.predicted_survival, [0.93, 0.77, 0.68])
    np.testing.assert_array_equal(table.observed_survival, again.observed_survival)
    for k, level in enumerate(("I", "II", "III")):
        member = grade == level
        assert table.n[k] == member.sum()
        km = kaplan_meier((y["cens"][member], y["time"][member])).at(730.0)
        assert table.observed_survival[k] == pytest.approx(km.value)


def test_a_tie_block_of_a_few_patients_joins_its_nearest_group():
    """45 patients predicted 0.8, one 0.6 and 54 at 0.4: the one patient was a group of its
    own, its Kaplan-Meier estimate drawn as a calibration point."""
    rng = np.random.default_rng(0)
    surv = np.r_[np.full(45, 0.8), 0.6, np.full(54, 0.4)]
    time = rng.exponential(500.0, 100)
    table = calibration_table((np.ones(100, dtype=bool), time), surv, 365.0)
    assert table.n.tolist() == [46, 54]
    np.testing.assert_allclose(table.predicted_survival, [(45 * 0.8 + 0.6) / 46, 0.4])


def test_deaths_on_day_0_keep_the_smoothed_curve():
    """flchain (real; 7,874 patients, 3 died on day 0): the smoothed calibration was refused
    ('positive follow-up times'), and with it a run's whole calibration figure, though time 0
    is accepted everywhere else. Now the spline AFT takes those 3 at half a day (its log time),
    says so, and its ICI is about that of the cohort without them."""
    from sksurv.datasets import load_flchain
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    from survival_core.evaluation.calibration import SPLINE_AFT

    x, y = load_flchain()
    X = x[["age", "kappa", "lambda"]].assign(male=x["sex"] == "M").to_numpy(float)
    cox = CoxPHSurvivalAnalysis().fit(X, y)
    surv = np.exp(-cox.cum_baseline_hazard_(1095.0) * np.exp(cox.predict(X)))
    event, time = y["death"], y["futime"].astype(float)
    result = calibration_at((event, time), surv, 1095.0)
    assert result.smoothed.method == SPLINE_AFT
    assert result.smoothed_note == (
        "3 patient(s) followed 0 days taken as 0.5 days (half the shortest positive follow-up) "
        "for the smoothed curve's log time."
    )
    kept = time > 0
    without = smoothed_calibration((event[kept], time[kept]), surv[kept], 1095.0)
    assert result.smoothed.ici == pytest.approx(without.ici, abs=5e-4)
    assert 0.005 < result.smoothed.ici < 0.02


def test_too_few_events_for_the_smoothed_curve_keep_the_rest(gbsg2_cox):
    """44 GBSG2 patients with 4 events: the smoothed curve needs 5, and its refusal dropped the
    grouped table, slope and calibration-in-the-large with it (a run's whole calibration
    figure). Now only the curve is left out, the figure's note saying why."""
    from survival_core.viewer.curves import calibration_figure

    df, cph = gbsg2_cox
    rows = np.r_[np.flatnonzero(df["E"] == 0)[:40], np.flatnonzero(df["E"] == 1)[:4]]
    y = (df["E"].to_numpy(bool)[rows], df["T"].to_numpy()[rows])
    surv = cph.predict_survival_function(df.iloc[rows], times=[2.0]).to_numpy()[0]
    result = calibration_at(y, surv, 2.0)
    assert result.smoothed is None
    assert result.smoothed_note == (
        "smoothed curve left out: Smoothed calibration needs at least 5 events; the 44 patients "
        "have 4."
    )
    assert result.table.n.sum() == 44
    assert result.slope.value == calibration_slope(y, surv).value
    assert result.in_the_large.value == calibration_in_the_large(y, surv, 2.0).value
    figure = calibration_figure(result)
    assert [trace.name for trace in figure.data] == ["ideal", "risk groups (Kaplan-Meier, 95% CI)"]
    note = figure.layout.annotations[0].text.replace("<br>", " ")
    assert "ICI" not in note
    assert note.endswith(
        "Smoothed curve left out: Smoothed calibration needs at least 5 events; the 44 patients "
        "have 4."
    )
