"""Automatic model choice and the stacked ensemble: inner-CV choice, weights on inner
out-of-fold risks only, save/load, attributions that add up, the comparison a cross-validation
pools, and the small-data warnings."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_aids, load_gbsg2
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from survival_core.cli.main import main
from survival_core.errors import ConfigError
from survival_core.evaluation import splits
from survival_core.explain.attributions import model_attributions, shapley_attributions
from survival_core.models import load_model, make_model
from survival_core.models.candidates import (
    Candidate,
    InnerPredictions,
    candidate_variables,
    clinical_baseline,
    default_candidates,
    with_baseline,
)
from survival_core.models.selection import (
    ONE_SE_RULE,
    choose_candidate,
    ensemble_members,
    read_selection,
    small_data_warnings,
    stacking_weights,
)
from survival_core.workflows.crossval import cross_validate
from survival_core.workflows.training import ModelMaker
from tests.small_cohorts import gbsg2_subset

#: Small, fast candidates (seconds on 2 cores) covering a linear, a forest and a boosted model.
FAST = [
    {"model": "coxph", "params": {"penalizer": 0.1}},
    {"model": "coxph", "params": {"penalizer": 10.0}},
    {"model": "rsf", "params": {"n_estimators": 20, "min_samples_leaf": 15, "time_points": 50}},
    {"model": "gbsa", "params": {"n_estimators": 40, "max_depth": 1}},
]


@pytest.fixture(scope="module")
def gbsg2() -> dict:
    X, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    order = np.random.default_rng(1).permutation(len(X))
    train, test = order[:450], order[450:]
    return {"X": X.iloc[train], "y": y[train], "X_test": X.iloc[test], "y_test": y[test]}


@pytest.fixture(scope="module")
def ensemble(gbsg2: dict):
    return make_model("ensemble", candidates=FAST, inner_folds=3).fit(gbsg2["X"], gbsg2["y"])


def c_index(y: np.ndarray, risk: np.ndarray) -> float:
    return concordance_index_censored(y["event"], y["time"], risk)[0]


def test_auto_predicts_with_the_candidate_of_the_best_inner_c_index(gbsg2: dict, tmp_path):
    auto = make_model("auto", candidates=FAST, inner_folds=3).fit(gbsg2["X"], gbsg2["y"])
    rows = auto.selection_["candidates"]
    top = max(r["inner_c_index"] for r in rows)
    best = next(r for r in rows if r["inner_c_index"] >= top - 0.005)  # the simplest near-best
    assert auto.selection_["chosen"] == best["label"]
    assert auto.selection_["choice_rule"] == "within 0.005 of the best"  # 24 events per variable
    assert "stacked" not in auto.selection_  # it predicts with its choice: it listed all 4
    assert not any("weight" in row for row in rows)  # and weighed them, unused, as stacked
    assert all(r["inner_c_index_sd"] >= 0 and r["error"] is None for r in rows)
    winner = auto.members_[auto.chosen_]
    np.testing.assert_array_equal(
        auto.predict_risk(gbsg2["X_test"]), winner.predict_risk(gbsg2["X_test"])
    )
    folder = auto.save(tmp_path / "auto")  # the chosen model itself, readable as any model
    loaded = load_model(folder)
    assert loaded.name == best["model"]
    np.testing.assert_array_equal(
        loaded.predict_risk(gbsg2["X_test"]), winner.predict_risk(gbsg2["X_test"])
    )
    assert read_selection(folder)["chosen"] == best["label"]
    assert c_index(gbsg2["y_test"], loaded.predict_risk(gbsg2["X_test"])) > 0.6


def test_stacking_drops_a_candidate_that_points_the_wrong_way():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=400)
    time = rng.exponential(np.exp(-signal)) * 1000 + 1
    event = rng.random(400) < 0.8
    z = np.column_stack([signal, -signal + rng.normal(size=400), rng.normal(size=400)])
    z[:, 2] = np.nan  # a failed candidate
    weights = stacking_weights(z, event, time)
    assert weights[0] == pytest.approx(1.0) and weights[1] == 0 and weights[2] == 0


def test_the_ensemble_is_its_weighted_members_and_survives_a_round_trip(
    ensemble, gbsg2: dict, tmp_path
):
    weights = ensemble.weights_
    assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    X_test = gbsg2["X_test"]
    expected = sum(
        w * (m.predict_risk(X_test) - mean) / sd
        for w, m, (mean, sd) in zip(weights, ensemble.members_, ensemble.scales_, strict=True)
        if w > 0
    )
    np.testing.assert_allclose(ensemble.predict_risk(X_test), expected, rtol=1e-12)
    times = np.array([0.0, 365.0, 730.0, 1500.0, 3000.0])
    surv = ensemble.predict_survival(X_test, times)
    assert (
        (surv >= 0).all() and (surv <= 1 + 1e-12).all() and (np.diff(surv, axis=1) <= 1e-12).all()
    )
    loaded = load_model(ensemble.save(tmp_path / "ensemble"))
    assert loaded.name == "ensemble"
    np.testing.assert_array_equal(loaded.predict_risk(X_test), ensemble.predict_risk(X_test))
    np.testing.assert_array_equal(loaded.predict_survival(X_test, times), surv)
    assert c_index(gbsg2["y_test"], loaded.predict_risk(X_test)) > 0.6


def test_ensemble_attributions_are_the_weighted_members_and_add_up(ensemble, gbsg2: dict):
    X = gbsg2["X_test"].iloc[:5]
    result = model_attributions(ensemble, X)
    assert result.integration == "ensemble"
    np.testing.assert_allclose(result.f_x.to_numpy(), ensemble.predict_risk(X), rtol=1e-9)
    assert result.max_delta < 1e-8  # every member's method adds up exactly
    assert set(result.values.columns) == set(ensemble.features_used_)
    # each baseline said once, with the members measured from it (one sentence was repeated
    # for each linear member)
    names = [m.name for m, w in zip(ensemble.members_, ensemble.weights_, strict=True) if w > 0]
    assert "the mean patient: " in result.baseline_note and "coxph" in names
    assert result.baseline_note.count("the mean patient: ") == 1
    assert result.baseline_note.count("the training cohort: ") == (
        "rsf" in names or "gbsa" in names
    )


def test_shapley_attributions_of_a_forest_add_up_and_repeat(gbsg2: dict):
    forest = make_model("rsf", n_estimators=15, min_samples_leaf=15).fit(gbsg2["X"], gbsg2["y"])
    X = gbsg2["X_test"].iloc[:3]
    first, again = shapley_attributions(forest, X), shapley_attributions(forest, X)
    assert first.integration == "shapley" and first.max_delta < 1e-12
    np.testing.assert_array_equal(first.values.to_numpy(), again.values.to_numpy())
    np.testing.assert_allclose(first.f_x.to_numpy(), forest.predict_risk(X), rtol=1e-12)


def test_shapley_sampling_of_a_linear_model_is_its_exact_attribution(gbsg2: dict):
    """Against a background, a linear model's Shapley values are coefficient x (x - the
    background's mean), whatever the orders."""
    cox = make_model("coxph").fit(gbsg2["X"], gbsg2["y"])
    X = gbsg2["X_test"].iloc[:4]
    sampled = shapley_attributions(cox, X, n_samples=3)
    np.testing.assert_allclose(
        sampled.values.to_numpy(),
        (cox._matrix(X) - sampled.baseline.to_numpy()) * cox.coef_,
        atol=1e-12,
    )


def test_recalibration_shrinks_a_linear_winner_by_its_inner_slope(gbsg2: dict):
    plain = make_model("auto", candidates=FAST[:1]).fit(gbsg2["X"], gbsg2["y"])
    shrunk = make_model("auto", candidates=FAST[:1], recalibrate=True).fit(gbsg2["X"], gbsg2["y"])
    slope = shrunk.selection_["calibration_slope_applied"]
    assert 0.3 < slope < 1.5 and plain.selection_["calibration_slope_applied"] is None
    np.testing.assert_allclose(
        shrunk.members_[0].coef_, plain.members_[0].coef_ * slope, rtol=1e-12
    )


def test_a_network_chosen_with_few_events_is_flagged():
    from survival_core.models.selection import small_data_warnings

    candidates = [Candidate("coxph"), Candidate("deepsurv"), Candidate("rsf")]
    inner_c = np.array([0.70, 0.72, 0.71])
    (network,) = small_data_warnings(candidates, inner_c, chosen=1, events=128, variables=6)
    assert "neural network (deepsurv)" in network and "128 events" in network
    assert "best non-network candidate was rsf" in network  # the runner-up by inner c-index
    assert small_data_warnings(candidates, inner_c, chosen=1, events=900, variables=6) == []
    assert small_data_warnings(candidates, inner_c, chosen=0, events=128, variables=6) == []
    (few,) = small_data_warnings(candidates, inner_c, chosen=0, events=50, variables=10)
    assert "5.0 per variable" in few
    # a forest chosen with few events per variable (GBSG2's 79-event fold chose one unflagged)
    forest, few = small_data_warnings(candidates, inner_c, chosen=2, events=79, variables=9)
    assert forest.startswith("A tree ensemble (rsf) was chosen with 79 events (8.8 per variable)")
    assert forest.endswith("the best penalised Cox candidate was coxph.")
    assert small_data_warnings(candidates, inner_c, chosen=2, events=900, variables=9) == []


def test_the_folds_warnings_are_summed_up_one_line_per_kind():
    from survival_core.models.selection import small_data_warnings
    from survival_core.workflows.crossval import fold_warnings

    candidates = [Candidate("coxph"), Candidate("deepsurv")]
    per_fold = [
        small_data_warnings(candidates, np.array([0.7, 0.72]), chosen, events, variables=10)
        for chosen, events in ((0, 45), (1, 46), (0, 46), (0, 120))
    ]
    few, network = fold_warnings(per_fold)
    assert few.startswith("In 3 of 4 folds (the first shown): 45 events for 10 candidate")
    assert network.startswith("In 1 of 4 folds (the first shown): A neural network (deepsurv)")
    assert fold_warnings(per_fold[:1]) == per_fold[0]  # one fold: as it said
    assert fold_warnings([[], []]) == []


def test_the_baseline_is_always_among_the_candidates(gbsg2: dict):
    only = [{"model": "gbsa", "params": {"n_estimators": 20, "max_depth": 1}}]
    auto = make_model("auto", candidates=only, inner_folds=2).fit(gbsg2["X"], gbsg2["y"])
    labels = [c["label"] for c in auto.selection_["candidates"]]
    assert labels == ["gbsa(max_depth=1, n_estimators=20)", "coxph(penalizer=0.1)"]
    assert auto.selection_["baseline"] == "coxph(penalizer=0.1)"


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="inner_folds"):
        make_model("auto", inner_folds=1)
    with pytest.raises(ConfigError, match="Unknown candidate model"):
        make_model("ensemble", candidates=[{"model": "nope"}])
    with pytest.raises(ConfigError, match="without --reduction"):
        make_model("auto").with_reduction(object()).fit(pd.DataFrame({"a": [1, 2]}), None)


def test_too_few_events_for_the_inner_folds_names_the_inner_cross_validation():
    """A run asked for 3 folds was refused with "5 folds need at least 5 events": the 5 were
    auto's inner folds, which the message did not say."""
    time = np.arange(1.0, 14.0)
    event = np.zeros(13, dtype=bool)
    event[:2] = True
    X = pd.DataFrame({"age": np.linspace(40, 80, 13)})
    with pytest.raises(ConfigError) as raised:
        make_model("auto", candidates=FAST[:2], inner_folds=5).fit(X, Surv.from_arrays(event, time))
    message = str(raised.value)
    assert "inner cross-validation comparing the candidates (5 inner folds" in message
    assert "Lower inner_folds (2 at least: --param inner_folds=2" in message
    event[1] = False  # one event: at 2 inner folds already, it is not told to lower them to 2
    with pytest.raises(ConfigError) as raised:
        make_model("auto", candidates=FAST[:2], inner_folds=2).fit(X, Surv.from_arrays(event, time))
    assert "Lower inner_folds" not in str(raised.value)
    assert "Too few events to compare candidates: fit one model (coxph)" in str(raised.value)


def test_with_few_events_per_variable_the_choice_takes_the_simplest_within_one_se():
    # candidate 1 leads the pooled inner c-index by 0.02, but its per-fold lead swings by 0.06
    fold_c = np.array([[0.70, 0.78], [0.72, 0.70], [0.69, 0.75], [0.71, 0.68], [0.70, 0.76]])
    inner = InnerPredictions(np.zeros((10, 2)), fold_c, np.array([0.70, 0.72]), {})
    assert choose_candidate(inner, inner.pooled_c, few_events=False) == 1  # beyond 0.005
    assert choose_candidate(inner, inner.pooled_c, few_events=True) == 0  # within one SE
    steady = InnerPredictions(inner.risk_z, fold_c[:, [0, 0]] + [0, 0.02], inner.pooled_c, {})
    assert choose_candidate(steady, steady.pooled_c, few_events=True) == 1  # a steady lead holds
    failed_c = fold_c * [np.nan, 1]  # a candidate that failed has no fold c-index
    failed = InnerPredictions(inner.risk_z, failed_c, np.array([np.nan, 0.72]), {0: "failed"})
    with warnings.catch_warnings():  # numpy's 'Mean of empty slice' went to stderr
        warnings.simplefilter("error")
        assert choose_candidate(failed, failed.pooled_c, few_events=True) == 1
        assert np.isnan(failed.mean_c()[0]) and np.isnan(failed.sd_c()[0])
    assert failed.mean_c()[1] == pytest.approx(fold_c[:, 1].mean())
    assert failed.sd_c()[1] == pytest.approx(fold_c[:, 1].std())


def test_a_small_real_cohort_is_chosen_for_by_the_one_se_rule():
    """AIDS trial rows (scikit-survival): 60 events on 11 variables, under 10 per variable."""
    X, y = load_aids()
    event, time = y.dtype.names
    y = Surv.from_arrays(y[event], y[time])
    rows = np.sort(
        np.concatenate([np.flatnonzero(y["event"])[:60], np.flatnonzero(~y["event"])[:400]])
    )
    ensemble = make_model("ensemble", candidates=FAST, inner_folds=3).fit(X.iloc[rows], y[rows])
    selection = ensemble.selection_
    assert selection["choice_rule"] == "within one standard error of the best"
    assert selection["events_per_variable"] < 10
    # the forest and the boosted trees are refitted and compared, but not stacked
    assert selection["stacked"] == ["coxph(penalizer=0.1)", "coxph(penalizer=10.0)"]
    weights = {c["label"]: c["weight"] for c in selection["candidates"]}
    assert weights["coxph(penalizer=0.1)"] + weights["coxph(penalizer=10.0)"] == pytest.approx(1)
    assert all(ensemble.members_)  # every candidate was fitted


def test_the_ensemble_stacks_only_penalised_cox_with_few_events_unless_there_is_none():
    candidates = [Candidate.from_dict(c) for c in FAST]
    assert [c.is_linear_cox for c in candidates] == [True, True, False, False]
    assert Candidate("lasso_cox").is_linear_cox and not Candidate("deepsurv").is_linear_cox
    fitted = [object(), None, object(), object()]  # the second failed
    assert ensemble_members(candidates, fitted, few_events=False) == [0, 2, 3]
    assert ensemble_members(candidates, fitted, few_events=True) == [0]
    assert ensemble_members(candidates[2:], fitted[2:], few_events=True) == [0, 1]


@pytest.mark.parametrize("n_events", [10, 60])  # few events put the LASSO-Cox first
def test_every_candidate_taking_a_seed_gets_the_given_one(n_events: int) -> None:
    """coxnet and lasso_cox were built without it: `auto --seed 7` chose a coxnet fitted with
    seed 0, whose inner folds choose the penalty (risks up to 1.05 log-hazard apart on veterans)."""
    import inspect

    from survival_core.models.registry import MODELS

    table = pd.DataFrame({"age": np.arange(100.0), "size": np.arange(100.0) % 7})
    for candidate in default_candidates(table, n_events=n_events, seed=7):
        takes = "seed" in inspect.signature(MODELS[candidate.model].__init__).parameters
        assert candidate.params.get("seed") == (7 if takes else None), candidate.label


def test_events_per_variable_count_the_model_matrix_not_the_table() -> None:
    """AIDS (real) with four of its six columns categories of 3-5 levels: 96 events for 6 table
    columns read as 16 per variable, the margin rule and every candidate stacked; the model
    estimates 14 coefficients: 6.9 per variable, the one-SE rule and the small-data warning."""
    X, y = load_aids()
    X = X[["age", "cd4", "raceth", "txgrp", "karnof", "ivdrug"]]  # four categories (sksurv's)
    assert candidate_variables(X) == 14
    labels = [c.label for c in default_candidates(X, n_events=96)]
    assert labels[0] == "lasso_cox(n_alphas=50)"  # few events per variable: the sparse one first
    (few,) = small_data_warnings(
        [Candidate("coxph")], np.array([0.7]), chosen=0, events=96, variables=14
    )
    assert "96 events for 14 candidate variables (6.9 per variable" in few
    outcome = Surv.from_arrays(y["censor"], y["time"])
    report = make_model("auto", candidates=FAST[:1]).fit(X, outcome).selection_
    assert (report["variables"], report["events_per_variable"]) == (14, 96 / 14)
    assert report["choice_rule"] == ONE_SE_RULE


def test_the_default_grid_adapts_to_the_table():
    values = np.random.default_rng(0).normal(size=(100, 41))
    wide = pd.DataFrame(values[:, :40], columns=[f"tumour__glcm__f{i}" for i in range(40)])
    wide["age"] = values[:, 40]
    labels = [c.label for c in default_candidates(wide, n_events=60)]
    # few events per variable: the sparse LASSO-Cox first, then the stronger ridge
    assert labels[:3] == ["lasso_cox(n_alphas=50)", "coxph(penalizer=1.0)", "coxph(penalizer=0.1)"]
    assert "coxph(penalizer=0.1) + cox_pvalue" in labels  # features outnumber events
    assert "coxph(penalizer=0.1) [clinical only]" in labels  # the clinical-only baseline
    narrow = [c.label for c in default_candidates(wide[["age"]], n_events=60)]
    assert not any("cox_pvalue" in n or "clinical only" in n for n in narrow)
    assert narrow[:2] == ["coxph(penalizer=0.1)", "coxph(penalizer=1.0)"]
    assert narrow.index("lasso_cox(n_alphas=50)") > narrow.index("coxnet(n_alphas=50)")
    assert Candidate("gbsa", {"seed": 3}).label == "gbsa"  # seeds do not name a pipeline
    # columns outnumber patients twice: no unfiltered Cox PH (lifelines takes minutes there)
    radiomics = wide.drop(columns="age").iloc[:15]
    labels = [c.label for c in with_baseline(default_candidates(radiomics, n_events=20), radiomics)]
    assert not any(label.startswith("coxph") and "+" not in label for label in labels)
    assert labels.count("coxph(penalizer=0.1) + cox_pvalue") == 1  # also the baseline
    assert clinical_baseline([], radiomics).label == "coxph(penalizer=0.1) + cox_pvalue"


def test_cross_validation_pools_every_candidate_on_the_same_folds(gbsg2: dict):
    X, y = gbsg2["X"], gbsg2["y"]
    folds = splits.nested_cv(y["event"], 1, 3, seed=0)
    result = cross_validate(X, y, ModelMaker("auto", {"candidates": FAST}), folds, n_bootstrap=100)
    table = result.comparison
    assert set(table["model"]) >= {"auto", "ensemble", "coxph(penalizer=0.1)"}
    assert table["times_chosen"].sum() == len(folds)
    assert table.loc[table["model"] == "auto", "difference"].isna().all()  # the reference
    others = table[table["model"] != "auto"]
    assert others["q_value"].between(0, 1).all() and (others["q_value"] >= others["p_value"]).all()
    assert result.folds["chosen"].notna().all() and "candidates" not in result.folds
    selection = result.summary["selection"]
    assert sum(selection["chosen_per_fold"].values()) == len(folds)
    assert selection["choice_rule"] == "within 0.005 of the best"
    assert selection["versus_baseline"]["baseline"] == "coxph(penalizer=0.1)"
    auto_row = table.loc[table["model"] == "auto"].iloc[0]
    assert auto_row["c_index"] == pytest.approx(result.summary["c_index"])
    calibration = result.summary["calibration"]
    assert calibration["horizon"] == 730 and 0 < calibration["slope"] < 3
    json.dumps(selection)  # plain JSON, what runs and --out write


def test_only_an_ensembles_cross_validation_says_what_its_folds_stacked():
    """`cv --model auto` listed every candidate under ``stacked`` and ``stacked_per_fold`` (the
    veterans' 8, in each of 3 folds), though auto predicts with its choice alone; an ensemble's
    summary says what its folds stacked."""
    X, y = gbsg2_subset(60, 90)
    folds = splits.nested_cv(y["event"], 1, 2, seed=0)
    linear = {"candidates": FAST[:2], "inner_folds": 3}
    for name, said in (("auto", False), ("ensemble", True)):
        result = cross_validate(X, y, ModelMaker(name, linear), folds, n_bootstrap=20)
        selection = result.summary["selection"]
        assert [key in selection for key in ("stacked", "stacked_per_fold")] == [said] * 2, name
    assert selection["stacked_per_fold"] == {
        c: 2 for c in ("coxph(penalizer=0.1)", "coxph(penalizer=10.0)")
    }


def test_fit_says_the_small_data_warnings_of_its_choice(tmp_path, capsys):
    """`fit --model auto` on a small real cohort (AIDS rows: 60 events on 11 variables) prints
    and returns the warnings its selection records, as `cv` does."""
    from survival_core.workflows.training import train_model

    X, y = load_aids()
    event, time = y.dtype.names
    rows = np.sort(np.concatenate([np.flatnonzero(y[event])[:60], np.flatnonzero(~y[event])[:300]]))
    table = X.iloc[rows].assign(time=y[time][rows], event=y[event][rows].astype(int))
    table.insert(0, "case_id", [f"A{i:04d}" for i in rows])
    table.to_csv(path := tmp_path / "aids.csv", index=False)
    said: list[str] = []
    summary = train_model(
        [path], "auto", {"candidates": FAST, "inner_folds": 3}, tmp_path / "m", progress=said.append
    )
    (warning,) = [w for w in summary["warnings"] if "per variable, fewer than 10" in w]
    assert f"warning: {warning}" in said
    assert warning in read_selection(tmp_path / "m")["warnings"]
    # and it scores: its card says auto, its model file is the chosen candidate, and every auto
    # model was refused by score, report and the pages as "mixing two models"
    patient = table.drop(columns=["case_id", "time", "event"]).iloc[0].to_dict()
    (values := tmp_path / "p.json").write_text(json.dumps({"case_id": "A1", **patient}))
    argv = ["score", "--values", str(values), "--model", str(tmp_path / "m"), "--json"]
    assert main(argv) == 0, capsys.readouterr()
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    chosen = load_model(tmp_path / "m")
    assert scored["risk"] == pytest.approx(chosen.predict_risk(table.iloc[[0]])[0])
    # a single model says it too (a coxph of 1 event and 9 variables was saved unwarned, its
    # apparent c-index 1.0); a penalty chosen by inner CV guards itself
    said.clear()
    summary = train_model([path], "coxph", {}, tmp_path / "c", progress=said.append)
    (warning,) = summary["warnings"]
    assert warning.startswith("60 event(s) for 11 variable(s) (5.5 per variable, fewer than 10)")
    assert f"warning: {warning}" in said
    assert "warnings" not in train_model([path], "lasso_cox", {"n_alphas": 10}, tmp_path / "l")
    # counted on the variables the model uses: a selection's, not the table's
    selected = train_model([path], "coxph", {}, tmp_path / "s", reduction="cox_pvalue")
    used = selected["features_used"]
    assert ("warnings" in selected) == (60 / used < 10), used


def test_an_image_model_of_no_variable_gets_no_events_per_variable_warning() -> None:
    """`fit --model cnn3d` warned of '3 event(s) for 0 variable(s) (3.0 per variable)'."""
    from types import SimpleNamespace

    from survival_core.workflows.training import _few_events_warning

    table = SimpleNamespace(y={"event": np.array([1, 1, 1, 0, 0])})
    cnn3d = SimpleNamespace(features_used_=[], guards_variables=False)
    assert _few_events_warning(table, cnn3d, 0.9) == []
    coxph = SimpleNamespace(features_used_=["a"], guards_variables=False)
    (said,) = _few_events_warning(table, coxph, 0.9)
    assert said.startswith("3 event(s) for 1 variable(s) (3.0 per variable")


def test_the_folds_choices_are_said_over_every_fold_not_the_last_ones() -> None:
    """GBSG2's first 199 patients, 5 folds: four folds chose by the one-SE rule (9.9 events per
    variable) and stacked the linear Cox models only; the summary gave the last fold's margin rule,
    10.0 and all 8 candidates as every fold's."""
    from survival_core.workflows.crossval import _fold_choices

    one_se = {"choice_rule": ONE_SE_RULE, "events_per_variable": 9.9, "stacked": ["a", "b"]}
    margin = {"choice_rule": "within 0.005 of the best", "events_per_variable": 10.0}
    folds = [one_se] * 4 + [{**margin, "stacked": ["a", "b", "c"]}]
    summary = _fold_choices(folds, stacks=True)
    assert summary["choice_rule"] is None and summary["stacked"] is None
    assert summary["choice_rules"] == {ONE_SE_RULE: 4, "within 0.005 of the best": 1}
    assert summary["events_per_variable_range"] == [9.9, 10.0]
    assert summary["stacked_per_fold"] == {"a": 5, "b": 5, "c": 1}
    agreed = _fold_choices([one_se] * 2, stacks=True)
    assert (agreed["choice_rule"], agreed["stacked"]) == (ONE_SE_RULE, ["a", "b"])
    # auto stacks nothing: its folds' 'stacked' (written before it was left out) are not said
    assert _fold_choices(folds, stacks=False) == {
        k: v for k, v in summary.items() if not k.startswith("stacked")
    }


def test_an_unseen_level_in_the_folds_is_said_once_not_warned_per_fold(gbsg2: dict):
    """A category level of one patient is unseen by the fold model trained without it: the
    'not seen in training' warning came once per inner and outer fold (52 times on the demo);
    the folds' notes say it instead."""
    import warnings

    X, y = gbsg2["X"].copy(), gbsg2["y"]
    X["centre"] = np.where(np.arange(len(X)) < 1, "rare", np.where(np.arange(len(X)) % 2, "a", "b"))
    folds = splits.nested_cv(y["event"], 1, 3, seed=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*not seen in training")
        cross_validate(X, y, ModelMaker("auto", {"candidates": FAST[:1]}), folds)  # inner folds
        result = cross_validate(X, y, ModelMaker("coxph", {"penalizer": 0.1}), folds)
    notes = result.summary["preprocessing_notes"]
    assert any("'rare'" in note and "not seen in training" in note for note in notes)


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({"model": "coxph", "parms": {"penalizer": 5.0}}, "unknown key(s) 'parms'"),
        ({"model": "coxph", "reduciton": "lasso"}, "unknown key(s) 'reduciton'"),
        ({"name": "coxph"}, "unknown key(s) 'name'"),
        ({"model": "coxph", "params": {"penaliser": 5.0}}, "no parameter(s) penaliser"),
    ],
)
def test_a_misspelt_candidate_is_refused_before_any_fold(entry: dict, said: str) -> None:
    """A run config's candidate with 'parms' or 'reduciton' ran as a default coxph; 'penaliser'
    failed in every fold and was dropped (said in selection.json only); 'name:' crashed."""
    from survival_core.errors import ConfigError
    from survival_core.models import make_model

    with pytest.raises(ConfigError, match=re.escape(said)):
        make_model("auto", candidates=[entry])


def test_a_discrete_members_last_edge_bounds_the_curves_of_auto_and_the_ensemble(gbsg2: dict):
    """A discrete-time member estimates survival to its last edge and carries it flat after: an
    ensemble holding one reported 5-year survival averaged with that flat 2-year value, and a
    cross-validation reported td-AUC and IBS past it."""
    two_years = {"model": "discrete", "params": {"edges": [0, 365, 730], "epochs": 60}}
    candidates = [FAST[0], two_years]
    for name in ("auto", "ensemble"):
        assert make_model(name, candidates=candidates).survival_until == 730
        assert make_model(name, candidates=FAST).survival_until == np.inf
    fitted = make_model("ensemble", candidates=candidates, inner_folds=3).fit(
        gbsg2["X"], gbsg2["y"]
    )
    weighted = {c.model for c, _, _ in fitted.member_terms()}
    assert fitted.survival_until == (730 if "discrete" in weighted else np.inf), weighted
    folds = splits.nested_cv(gbsg2["y"]["event"], 1, 3, seed=0)
    result = cross_validate(
        gbsg2["X"],
        gbsg2["y"],
        lambda: make_model("ensemble", candidates=candidates, inner_folds=3),
        folds,
        n_bootstrap=20,
    )
    assert set(result.summary["td_auc"]) == {"365", "730"}
    assert any("1095 days left out: beyond" in n for n in result.summary["preprocessing_notes"])


def test_a_candidate_that_failed_is_a_warning_not_only_a_line_of_selection_json(gbsg2: dict):
    never_learned = {"model": "discrete", "params": {"edges": [0, 1, 2]}}  # no event by day 2
    auto = make_model("auto", candidates=[FAST[0], never_learned], inner_folds=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto.fit(gbsg2["X"], gbsg2["y"])
    (warning,) = [w for w in auto.selection_["warnings"] if "failed" in w]
    assert warning.startswith("Candidate discrete(edges=[0, 1, 2]) failed and was left out:")
    # said there, with no fold c-index in selection.json, and no numpy warning on stderr
    failed = auto.selection_["candidates"][1]
    assert failed["inner_fold_c_index_mean"] is None and failed["inner_c_index_sd"] is None
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_a_candidate_that_learned_nothing_ranks_no_one_in_the_comparison():
    """40 GBSG2 patients with 6 events: the forest of 15-patient leaves gives every training
    patient of a fold one risk; its float SD (1e-16) z-scored rounding noise to +-1 per fold, and
    the comparison reported it at a pooled c-index of 0.37 instead of the 0.5 of ties."""
    X, y = gbsg2_subset(6, 34)
    folds = splits.nested_cv(y["event"], 1, 3, seed=0)
    maker = ModelMaker("auto", {"candidates": FAST[:3], "inner_folds": 3})
    result = cross_validate(X, y, maker, folds, n_bootstrap=50)
    forest = result.comparison.set_index("model").loc[Candidate.from_dict(FAST[2]).label]
    assert forest["c_index"] == 0.5 and forest["fold_c_index_mean"] == 0.5


def test_an_auto_model_that_kept_no_variable_is_refused_for_what_it_is(tmp_path):
    """60 GBSG2 patients with 9 events, exported awkwardly (a one-patient grade, a 3-patient
    flag, missing nodes among the events): auto chose the LASSO-Cox by the one-SE rule, which
    kept no coefficient, and `fit` refused it advising 'fewer parameters (coxph, coxnet)' and
    forest leaf sizes. The refusal now names the choice, that it kept no variable, and the best
    inner c-index."""
    from survival_core.errors import InputError
    from survival_core.workflows.training import train_model

    X, y = load_gbsg2()
    table = X.astype({c: str for c in X.select_dtypes("category")}).reset_index(drop=True)
    table.insert(0, "event", y["cens"].astype(int))
    table.insert(0, "time", y["time"])
    table.insert(0, "case_id", [f"G{i:04d}" for i in range(len(table))])
    rows = [table[table.event == e].sample(n, random_state=7) for e, n in ((1, 9), (0, 51))]
    awkward = pd.concat(rows).sort_values("case_id")
    awkward.loc[awkward.index[0], "tgrade"] = "IV"
    awkward["rare"] = 0
    awkward.loc[awkward.index[[1, 2, 3]], "rare"] = 1
    awkward.loc[awkward.index[awkward.event == 1][:5], "pnodes"] = np.nan
    awkward.to_csv(path := tmp_path / "awkward.csv", index=False)
    candidates = [{"model": "lasso_cox"}, {"model": "coxph", "params": {"penalizer": 1.0}}]
    with pytest.raises(InputError) as refused:
        train_model([path], "auto", {"candidates": candidates}, tmp_path / "model")
    said = str(refused.value)
    assert "gives all 60 training patients the same risk" in said
    assert "It predicts with lasso_cox, the simplest candidate within one standard error" in said
    assert "which kept no variable (every coefficient 0)" in said
    assert re.search(r"the best inner cross-validated c-index of any candidate was 0\.\d{3} ", said)
    assert "coxnet" not in said and "forest" not in said
