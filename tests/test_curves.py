"""Evaluation figures: every drawn value is the result object's own, on a Cox model of GBSG2."""

import dataclasses
import json

import numpy as np
import plotly.io as pio
import pytest
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation import splits
from survival_core.evaluation.calibration import calibration_at
from survival_core.evaluation.decision_curve import DecisionCurve, decision_curve
from survival_core.evaluation.risk_groups import (
    KaplanMeierCurve,
    RiskGroupCut,
    kaplan_meier,
    stratify,
)
from survival_core.evaluation.td_auc import cumulative_dynamic_auc, cumulative_dynamic_roc
from survival_core.io.outcome_source import OutcomeSource
from survival_core.io.tables import TIME_UNITS
from survival_core.models import make_model
from survival_core.models.card import ModelCard, build_card
from survival_core.text import upper_first
from survival_core.viewer.curves import (
    calibration_figure,
    decision_curve_figure,
    export_config,
    figure_to_html,
    km_figure,
    km_from_card,
    km_from_stratification,
    risk_distribution_figure,
    roc_figure,
    td_auc_figure,
    td_auc_from_cv,
)
from survival_core.workflows.crossval import cross_validate

MONTH = TIME_UNITS["months"]
HORIZON = 730.5  # 24 months, days
HORIZONS = np.array([365.0, 730.0, 1095.0, 1825.0])


@pytest.fixture(scope="module")
def gbsg2() -> dict:
    X, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:450], order[450:]
    model = make_model("coxph").fit(X.iloc[train], y[train])
    return {
        "X": X,
        "y": y,
        "y_train": y[train],
        "y_test": y[test],
        "risk_train": model.predict_risk(X.iloc[train]),
        "risk_test": model.predict_risk(X.iloc[test]),
        "surv_test": model.predict_survival(X.iloc[test], [HORIZON])[:, 0],
    }


@pytest.fixture(scope="module")
def strat(gbsg2):
    cut = RiskGroupCut("median").fit(gbsg2["y_train"], gbsg2["risk_train"])
    return stratify(gbsg2["y_test"], gbsg2["risk_test"], cut)


@pytest.fixture(scope="module")
def card(gbsg2):
    return build_card("coxph", gbsg2["y_train"], gbsg2["risk_train"], clinical_columns=[])


def traces(fig, role, group=None):
    return [
        t
        for t in fig.data
        if (t.meta or {}).get("role") == role and (group is None or t.meta["group"] == str(group))
    ]


def test_km_traces_are_the_stratification_curves(strat):
    fig = km_from_stratification(strat)
    for g, curve in strat.km.items():
        (line,) = traces(fig, "km", g)
        np.testing.assert_array_equal(line.y[1:], curve.survival)
        assert line.y[0] == 1.0 and line.x[0] == 0.0
        np.testing.assert_allclose(np.asarray(line.x[1:]) * MONTH, curve.time)
        band = {t.name: t for t in fig.data if t.legendgroup == line.legendgroup}
        name = "Low risk" if g == 0 else "High risk"
        np.testing.assert_array_equal(band[f"{name} upper CI"].y[1:], curve.ci_high)
        np.testing.assert_array_equal(band[f"{name} lower CI"].y[1:], curve.ci_low)
        assert f"n = {int(curve.n_at_risk[0])}" in line.name
    note = fig.layout.annotations[-1].text
    hr = strat.hazard_ratio
    assert f"HR high vs low {hr.value:.2f}" in note
    assert f"{hr.ci_low:.2f} to {hr.ci_high:.2f}" in note
    p = strat.logrank_p
    assert ("p < 0.001" if p < 0.001 else f"p = {p:.3f}") in note


def test_censoring_ticks_and_at_risk_table_match_the_raw_data(gbsg2, strat):
    fig = km_from_stratification(strat, at_risk_every=365.25)
    y = gbsg2["y_test"]
    for g in (0, 1):
        member = strat.groups == g
        event, time = y["event"][member], y["time"][member]
        (ticks,) = traces(fig, "censored", g)
        np.testing.assert_allclose(np.asarray(ticks.x) * MONTH, np.unique(time[~event]))
        assert sum(ticks.customdata) == (~event).sum()
        (table,) = traces(fig, "at_risk", "Low risk" if g == 0 else "High risk")
        at = np.asarray(table.x) * MONTH
        np.testing.assert_allclose(at, np.arange(at.size) * 365.25)
        assert [int(n) for n in table.text] == [int((time >= t).sum()) for t in at]


def test_time_unit_and_patient_time(strat):
    fig = km_from_stratification(strat, time_unit="days", patient_time=400.0)
    (line,) = traces(fig, "km", 0)
    np.testing.assert_array_equal(line.x[1:], strat.km[0].time)
    assert fig.layout.xaxis2.title.text == "Time (days)"
    assert [s.x0 for s in fig.layout.shapes] == [400.0]
    with pytest.raises(ConfigError, match="Time unit"):
        km_from_stratification(strat, time_unit="fortnights")


@pytest.mark.parametrize(("which", "group"), [(np.max, 1), (np.min, 0)])
def test_card_km_highlights_the_patient_group(card, which, group):
    fig = km_from_card(card, patient_risk=float(which(card.training_risk)))
    result = card.stratification_result()
    for g, curve in result.km.items():
        (line,) = traces(fig, "km", g)
        np.testing.assert_array_equal(line.y[1:], curve.survival)
        assert ("this patient's group" in line.name) == (g == group)
        assert line.line.width == (4 if g == group else 2.5)
    assert traces(fig, "at_risk") and traces(fig, "censored")  # cards hold the counts
    # the model was fitted and the groups cut on these patients: a forest's HR of 5.7 on
    # GBSG2 (Cox: 2.8) was shown as the groups' separation, unqualified
    assert fig.layout.title.text.endswith("survival by risk group (apparent)")
    assert f"HR high vs low {result.hazard_ratio.value:.2f}" in fig.layout.annotations[-1].text
    assert f"{card.n} patients" in fig.layout.title.text


def test_a_card_km_names_its_endpoint_on_the_y_axis(card):
    """An RFS model's Risk-page curves were titled 'Recurrence/progression-free survival by risk
    group' over a y axis of 'Survival probability'."""
    rfs = dataclasses.replace(
        card, outcome=OutcomeSource("rfs_days", "rfs", "days", "disease").record()
    )
    fig = km_from_card(rfs)
    short = rfs.endpoint.short
    assert short != "survival" and short in fig.layout.title.text
    assert fig.layout.yaxis.title.text.replace("<br>", " ") == f"{upper_first(short)} probability"
    assert km_from_card(card).layout.yaxis.title.text == "Survival probability"


def test_a_card_saved_before_it_stored_the_stratification_loads_the_same(card, tmp_path):
    saved = json.loads(card.save(tmp_path).read_text())
    strata = saved.pop("stratification")
    ratio = strata["hazard_ratio"]
    saved |= {
        "km": {name: strata["km"][g] for g, name in (("0", "low"), ("1", "high"))},
        "logrank_p": strata["logrank"]["p_value"],
        "hazard_ratio": [ratio["value"], ratio["ci_low"], ratio["ci_high"]],
    }
    for curve in saved["km"].values():
        del curve["level"]
    (tmp_path / "card.json").write_text(json.dumps(saved))
    old = ModelCard.load(tmp_path)
    assert (
        old.stratification_result().logrank.p_value == card.stratification_result().logrank.p_value
    )
    assert (
        km_from_card(old, patient_risk=0.0).to_json()
        == km_from_card(card, patient_risk=0.0).to_json()
    )


def test_risk_distribution_marks_cut_and_patient(card):
    patient = float(np.quantile(card.training_risk, 0.8))
    percentile = card.percentile(patient)
    fig = risk_distribution_figure(
        card.training_risk, card.cut, patient, patient_percentile=percentile
    )
    drawn = np.sort(np.concatenate([t.x for t in fig.data]))
    np.testing.assert_array_equal(drawn, card.training_risk)
    high = fig.data[1].x
    assert min(high) > card.cut["threshold"] >= max(fig.data[0].x)
    assert [s.x0 for s in fig.layout.shapes] == [card.cut["threshold"], patient]
    assert f"(percentile {percentile:.0f})" in fig.layout.annotations[-1].text
    assert fig.data[0].xbins.size == fig.data[1].xbins.size  # both groups share the bins
    # the axis spans the risks (the labels' text does not stretch it), the patient inside it
    low, high = fig.layout.xaxis.range
    assert low < min(card.training_risk) and max(card.training_risk) < high
    assert high - low < 1.2 * (max(card.training_risk) - min(card.training_risk)) + 1e-9
    far = risk_distribution_figure(card.training_risk, card.cut, max(card.training_risk) + 5.0)
    assert far.layout.xaxis.range[1] > max(card.training_risk) + 5.0


def test_a_patient_just_past_the_cut_is_printed_apart_from_it(card):
    """A risk 0.00015 above the cut was labelled 'this patient: 0.07' beside 'cut: 0.07', a
    high-risk patient drawn on the cut; a patient at percentile 99.7 was 'percentile 100'."""
    threshold = float(card.cut["threshold"])
    fig = risk_distribution_figure(
        card.training_risk, card.cut, threshold + 1.5e-4, patient_percentile=99.708
    )
    cut_text, patient_text = (a.text for a in fig.layout.annotations)
    cut_shown = float(cut_text.rsplit(": ", 1)[1])
    risk_shown = float(patient_text.split(": ", 1)[1].split(" ")[0])
    assert risk_shown > cut_shown
    assert patient_text.endswith("(percentile > 99)")


def test_risk_distribution_takes_a_fitted_cut_or_a_number(gbsg2):
    cut = RiskGroupCut("median").fit(gbsg2["y_train"], gbsg2["risk_train"])
    for given in (cut, cut.threshold_):
        fig = risk_distribution_figure(gbsg2["risk_train"], given)
        assert [s.x0 for s in fig.layout.shapes] == [cut.threshold_]
    with pytest.raises(ConfigError, match="not been fitted"):
        risk_distribution_figure(gbsg2["risk_train"], RiskGroupCut("median"))


def test_td_auc_and_roc_figures(gbsg2):
    aucs, _ = cumulative_dynamic_auc(
        gbsg2["y_train"], gbsg2["y_test"], gbsg2["risk_test"], HORIZONS
    )
    fig = td_auc_figure(HORIZONS, {"coxph": aucs, "shuffled": aucs[::-1]})
    np.testing.assert_array_equal(fig.data[0].y, aucs)
    np.testing.assert_allclose(np.asarray(fig.data[0].x) * MONTH, HORIZONS)
    roc = cumulative_dynamic_roc(gbsg2["y_train"], gbsg2["y_test"], gbsg2["risk_test"], HORIZON)
    fig = roc_figure(roc, horizon=HORIZON)
    np.testing.assert_array_equal(fig.data[0].x, roc.false_positive_rate)
    np.testing.assert_array_equal(fig.data[0].y, roc.true_positive_rate)
    assert f"AUC {roc.auc:.3f}" in fig.data[0].name
    assert fig.layout.title.text == "Time-dependent ROC at 24 months"
    # the single-horizon AUC of cumulative_dynamic_auc is the drawn curve's
    assert roc.auc == pytest.approx(
        cumulative_dynamic_auc(gbsg2["y_train"], gbsg2["y_test"], gbsg2["risk_test"], HORIZON)[1]
    )


def test_td_auc_from_cross_validation_summary(gbsg2):
    folds = splits.nested_cv(gbsg2["y"]["event"], n_repeats=1, n_folds=3, seed=0)
    result = cross_validate(
        gbsg2["X"], gbsg2["y"], lambda: make_model("coxph"), folds, n_bootstrap=20
    )
    fig = td_auc_from_cv(result.summary)
    np.testing.assert_array_equal(fig.data[0].y, list(result.summary["td_auc"].values()))
    np.testing.assert_allclose(np.asarray(fig.data[0].x) * MONTH, [365, 730, 1095])


def test_calibration_figure_draws_the_result(gbsg2):
    result = calibration_at(gbsg2["y_test"], gbsg2["surv_test"], HORIZON, n_groups=5)
    fig = calibration_figure(result)
    diagonal, smooth, groups = fig.data
    table = result.table
    np.testing.assert_array_equal(groups.x, table.predicted_survival)
    np.testing.assert_array_equal(groups.y, table.observed_survival)
    np.testing.assert_allclose(groups.y + groups.error_y.array, table.observed_high)
    np.testing.assert_allclose(groups.y - groups.error_y.arrayminus, table.observed_low)
    order = np.argsort(result.smoothed.predicted_risk, kind="stable")
    np.testing.assert_allclose(1 - np.asarray(smooth.x), result.smoothed.predicted_risk[order])
    np.testing.assert_allclose(1 - np.asarray(smooth.y), result.smoothed.observed_risk[order])
    assert list(diagonal.x) == list(diagonal.y) == [0, 1]
    note = fig.layout.annotations[0].text
    assert f"Slope {result.slope.value:.2f}" in note
    assert f"{result.in_the_large.value:+.3f}" in note and f"ICI {result.smoothed.ici:.3f}" in note
    assert fig.layout.xaxis.title.text == "Predicted survival at 24 months"


def test_decision_curve_figure_draws_the_result(gbsg2):
    result = decision_curve(gbsg2["y_test"], 1.0 - gbsg2["surv_test"], HORIZON)
    fig = decision_curve_figure(result, time_unit="years")
    by_name = {t.name: t for t in fig.data}
    np.testing.assert_array_equal(by_name["model"].y, result.model)
    np.testing.assert_array_equal(by_name["treat all"].y, result.treat_all)
    np.testing.assert_array_equal(by_name["treat none"].y, result.treat_none)
    np.testing.assert_array_equal(by_name["model"].x, result.thresholds)
    assert "by 2 years" in fig.layout.xaxis.title.text


def test_html_is_self_contained_and_holds_the_figure(strat, tmp_path):
    fig = km_from_stratification(strat, title="GBSG2 test set")
    path = figure_to_html(fig, tmp_path / "runs" / "km.html")
    html = path.read_text(encoding="utf-8")
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js is embedded
    assert pio.json.to_json_plotly(fig.to_plotly_json()["data"]) in html
    assert json.dumps("GBSG2 test set")[1:-1] in html
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="Cannot write the figure"):
        figure_to_html(fig, blocker / "km.html")


def _short_curve() -> KaplanMeierCurve:
    two, one = np.array([10.0, 20.0]), np.array([0.9])
    return KaplanMeierCurve(two, one, two, two, two, two, 0.95)


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda s: km_figure({}), InputError, "No Kaplan-Meier curves"),
        (lambda s: km_figure({0: _short_curve()}), InputError, "one value per point"),
        (lambda s: km_figure(s.km, patient_group="medium"), InputError, "not one of the curves"),
        (lambda s: km_figure(s.km, hazard_ratio=[2.0, 1.0]), InputError, "value, CI low"),
        (lambda s: km_figure({0: {"time": [1.0]}}), InputError, "must be a KaplanMeierCurve"),
        (lambda s: km_figure(s.km, at_risk_every=0.0), ConfigError, "positive days"),
        (lambda s: td_auc_figure([365.0, 730.0], [0.7]), InputError, "one value per point"),
        (lambda s: td_auc_figure([365.0], [1.2]), InputError, r"in \[0, 1\]"),
        (lambda s: td_auc_figure([], []), InputError, "non-empty"),
        (lambda s: roc_figure({}), InputError, "No ROC curves"),
        (lambda s: risk_distribution_figure([], 0.0), InputError, "non-empty"),
        (lambda s: risk_distribution_figure([0.1, np.nan], 0.0), InputError, "NaN"),
        (
            lambda s: decision_curve_figure(
                DecisionCurve(365.0, np.array([0.1, 0.2]), np.zeros(2), np.zeros(3), np.zeros(2))
            ),
            InputError,
            "one value per point",
        ),
    ],
)
def test_bad_inputs_raise_project_errors(strat, build, error, match):
    with pytest.raises(error, match=match):
        build(strat)


def test_km_of_a_single_curve_without_statistics():
    curve = kaplan_meier((np.array([1, 0, 1, 1], bool), np.array([30.0, 60.0, 90.0, 400.0])))
    fig = km_figure({"cohort": curve}, title="All patients")
    assert not fig.layout.annotations or all(
        "Log-rank" not in a.text for a in fig.layout.annotations
    )
    (ticks,) = traces(fig, "censored")
    assert list(ticks.x) == [60.0 / MONTH] and list(ticks.y) == [curve.survival[1]]


def test_figures_are_drawn_in_a_font_their_png_export_draws_too(strat):
    """The exported PNG (an SVG drawn as an image, where the app's web font 'Source Sans' does
    not load) drew the legend in a wider fallback font than it was laid out for: GBSG2's
    'no, n = 440' ran into 'yes, n = 246', cut to 'yes, n = 2'. The figures name a system font
    the page and its export both draw; the export is laid out at a set size, named as asked."""
    fig = km_from_stratification(strat)
    assert fig.layout.font.family == "Helvetica, Arial, sans-serif"
    assert "Source Sans" not in fig.to_json()
    assert export_config("gbsg2 / RFS: horTh", 560) == {
        "toImageButtonOptions": {
            "format": "png",
            "filename": "gbsg2_RFS_horTh",
            "width": 1200,
            "height": 560,
            "scale": 2,
        }
    }


def test_a_model_giving_everyone_the_same_risk_gets_no_card():
    """A random survival forest on 12 patients (real veterans rows) predicts one risk for all:
    its card's median cut left a risk group empty and fit failed on an unrelated Kaplan-Meier
    message; it is now refused for what it is."""
    from sksurv.datasets import load_veterans_lung_cancer

    from survival_core.models import make_model
    from survival_core.models.card import build_card

    X, y = load_veterans_lung_cancer()
    X, y = (
        X.select_dtypes("number").iloc[:12],
        Surv.from_arrays(y["Status"][:12], y["Survival_in_days"][:12]),
    )
    risk = make_model("rsf", n_estimators=20).fit(X, y).predict_risk(X)
    assert np.ptp(risk) == 0
    with pytest.raises(InputError, match="same risk .* learned nothing"):
        build_card("rsf", y, risk, clinical_columns=[])


def test_a_card_with_no_event_in_one_group_keeps_its_log_rank(tmp_path):
    """40 GBSG2 patients, a marker equal to the event: all 6 events fall in the high-risk group.
    Only the hazard ratio is infinite; the card dropped the log-rank test with it (p = 0.004 by
    lifelines), leaving no test of the separation and no reason."""
    from lifelines.statistics import logrank_test

    from tests.small_cohorts import gbsg2_subset

    X, y = gbsg2_subset(6, 34)
    X = X.assign(marker=y["event"].astype(float))
    risk = make_model("coxph").fit(X, y).predict_risk(X)
    card = build_card("coxph", y, risk, clinical_columns=[])
    high = RiskGroupCut.from_dict(card.cut).assign(risk).astype(bool)
    assert not y["event"][~high].any()
    reference = logrank_test(y["time"][high], y["time"][~high], y["event"][high], y["event"][~high])
    loaded = ModelCard.load(card.save(tmp_path).parent)
    strata = loaded.stratification
    assert strata["logrank"]["p_value"] == pytest.approx(reference.p_value, rel=1e-6)
    assert strata["logrank"]["chi2"] == pytest.approx(reference.test_statistic, rel=1e-6)
    assert strata["hazard_ratio"] is None
    assert strata["hazard_ratio_note"].startswith("Both risk groups need at least one event")
    assert loaded.stratification_result().logrank.p_value == pytest.approx(reference.p_value)
