"""Cross-validation on real data (GBSG2) agrees with lifelines fitted on the same folds."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.utils import concordance_index
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.evaluation import splits
from survival_core.evaluation.td_auc import cumulative_dynamic_auc, horizon_marker
from survival_core.models import make_model
from survival_core.workflows.crossval import cross_validate, holdout_metrics, run_fold
from tests.small_cohorts import gbsg2_subset


@pytest.fixture(scope="module")
def gbsg2():
    X, y = load_gbsg2()
    X = pd.DataFrame(X)
    return X, Surv.from_arrays(y["cens"], y["time"])


def test_coxph_cv_matches_lifelines_on_the_same_folds(gbsg2):
    X, y = gbsg2
    folds = splits.nested_cv(y["event"], n_repeats=1, n_folds=5, seed=11)
    ours = cross_validate(X, y, lambda: make_model("coxph", penalizer=0.01), folds, n_bootstrap=50)
    encoded = pd.get_dummies(X, drop_first=True, dtype=float)
    reference = []
    for fold in folds:
        rows = np.sort(np.concatenate([fold.train, fold.validation]))
        train = encoded.iloc[rows].assign(time=y["time"][rows], event=y["event"][rows])
        fitter = CoxPHFitter(penalizer=0.01).fit(train, "time", "event")
        test = encoded.iloc[fold.test]
        risk = fitter.predict_log_partial_hazard(test).to_numpy()
        # lifelines' concordance expects higher = longer survival
        reference.append(concordance_index(y["time"][fold.test], -risk, y["event"][fold.test]))
    assert ours.summary["fold_c_index_mean"] == pytest.approx(np.mean(reference), abs=0.005)
    # the folds' sample SD, as "mean +- SD over folds" is read (it was the population SD)
    assert ours.summary["fold_c_index_sd"] == pytest.approx(np.std(reference, ddof=1), abs=0.001)
    assert len(ours.folds) == 5 and ours.oof["n_predictions"].eq(1).all()


def test_pooled_summary_has_every_reported_metric(gbsg2):
    X, y = gbsg2
    folds = splits.nested_cv(y["event"], n_repeats=2, n_folds=3, seed=0)
    result = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=100)
    s = result.summary
    assert s["ci_low"] < s["c_index"] < s["ci_high"]
    assert 0.6 < s["c_index"] < 0.75 and 0.6 < s["uno_c_index"] < 0.75
    assert set(s["td_auc"]) == {"365", "730", "1095"} and all(
        0.6 < v < 0.85 for v in s["td_auc"].values()
    )
    assert 0.1 < s["ibs"] < 0.25
    assert result.oof["n_predictions"].eq(2).all()


def test_out_of_fold_risk_ignores_test_labels(gbsg2):
    """Shuffling the test rows' outcomes does not change their out-of-fold predictions."""
    X, y = gbsg2
    folds = splits.fixed_split(y["event"], test_fraction=0.3, validation_fraction=0.0, seed=2)
    first = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=20)
    shuffled = y.copy()
    test = folds[0].test
    shuffled[test] = y[np.random.default_rng(0).permutation(test)]
    second = cross_validate(X, shuffled, lambda: make_model("coxph"), folds, n_bootstrap=20)
    np.testing.assert_allclose(
        first.oof["risk"].to_numpy()[test], second.oof["risk"].to_numpy()[test]
    )


def test_all_times_tied_give_no_fold_c_index_and_say_why():
    """GBSG2 rows with every time set to one year: no fold has a c-index (two distinct times
    needed); the summary says so instead of a NaN mean and numpy's warnings."""
    import warnings

    X, y = load_gbsg2()
    X = X.select_dtypes("number").iloc[:200]
    tied = Surv.from_arrays(y["cens"][:200], np.full(200, 365.0))
    folds = splits.nested_cv(tied["event"], 1, 3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        summary = cross_validate(
            X, tied, lambda: make_model("coxph"), folds, n_bootstrap=20
        ).summary
    assert summary["fold_c_index_mean"] is None and summary["fold_c_index_sd"] is None
    assert any("No fold has a c-index of its own" in n for n in summary["preprocessing_notes"])
    assert 0 < summary["c_index"] < 1


def test_a_horizon_few_patients_are_followed_after_is_said(gbsg2):
    """GBSG2 at 2,500 days: a handful of the 686 patients are still followed, and its td-AUC was
    reported as any other horizon's."""
    X, y = gbsg2
    followed = int((y["time"] > 2500.0).sum())
    assert 0 < followed < 10
    folds = splits.nested_cv(y["event"], 1, 3, seed=0)
    summary = cross_validate(
        X, y, lambda: make_model("coxph"), folds, n_bootstrap=20, horizons=[730.0, 2500.0]
    ).summary
    notes = [n for n in summary["preprocessing_notes"] if "still followed" in n]
    assert notes == [
        f"At 2500 days only {followed} of the {len(y)} tested patients are still followed: its "
        "td-AUC and calibration rest on that few controls, too few to trust."
    ]


def test_horizons_outside_the_follow_up_are_said_when_left_out(gbsg2):
    X, y = gbsg2
    folds = splits.nested_cv(y["event"], 1, 3, seed=0)
    summary = cross_validate(
        X, y, lambda: make_model("coxph"), folds, n_bootstrap=20, horizons=[730.0, 5000.0]
    ).summary
    assert list(summary["td_auc"]) == ["730"]
    (note,) = [n for n in summary["preprocessing_notes"] if n.startswith("Horizon(s)")]
    assert note.startswith("Horizon(s) 5000 days left out: outside the follow-up (")


def test_a_horizon_without_events_leaves_the_other_horizons_defined(gbsg2):
    """GBSG2's first event is on day 72: the td-AUC at 60 days is undefined, and used to take
    every other horizon's with it (365 days: null instead of its value), without a word."""
    X, y = gbsg2
    folds = splits.nested_cv(y["event"], 1, 3, seed=0)

    def run(horizons):
        return cross_validate(
            X, y, lambda: make_model("coxph"), folds, n_bootstrap=20, horizons=horizons
        )

    alone, with_early = run([365.0]), run([60.0, 365.0])
    assert with_early.summary["td_auc"]["365"] == alone.summary["td_auc"]["365"] > 0.6
    assert np.isnan(with_early.summary["td_auc"]["60"])
    np.testing.assert_array_equal(with_early.folds["td_auc_365"], alone.folds["td_auc_365"])
    assert any(
        n.startswith("td-AUC at 60 days: ") for n in with_early.summary["preprocessing_notes"]
    )
    # each fold's null says why too, with the folds it holds for (the fold table had only nulls)
    assert with_early.folds["td_auc_60"].isna().all()
    assert any(
        n.startswith("Fold(s) 1.1, 1.2, 1.3 (3 of 3): td-AUC at 60 days")
        for n in with_early.summary["preprocessing_notes"]
    )
    assert with_early.summary["calibration"] == alone.summary["calibration"]  # at 365 days


def test_a_fold_without_comparable_pairs_has_no_c_index_and_the_others_stand(gbsg2):
    """GBSG2 rows, one hand-made fold whose test patients are two censored early and one event
    after them: no pair is comparable there, which aborted the whole cross-validation."""
    X, y = gbsg2
    order = np.argsort(y["time"])
    early = [i for i in order if not y["event"][i]][:2]
    late = [i for i in order[::-1] if y["event"][i]][:1]
    odd = np.array(sorted(early + late))
    rest = np.setdiff1d(np.arange(len(y)), odd)
    usual = rest[::5]
    folds = [
        splits.Fold(0, 0, np.setdiff1d(np.arange(len(y)), odd), np.array([], int), odd),
        splits.Fold(0, 1, np.setdiff1d(np.arange(len(y)), usual), np.array([], int), usual),
    ]
    result = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=20)
    assert np.isnan(result.folds["c_index"].iloc[0]) and result.folds["c_index"].iloc[1] > 0.6
    assert result.summary["fold_c_index_mean"] == result.folds["c_index"].iloc[1]


def test_one_test_set_gets_one_set_of_numbers_and_each_null_horizon_a_note():
    """WHAS500 (real), a fixed 70:30 split: the summary's Uno's c, tau, td-AUC and IBS differed
    from the fold's (the pooled censoring estimate took every row, the test rows included).
    A deepsurv fold estimated it on its training rows only, without the early-stopping ones.
    A horizon beyond the test rows' follow-up was null with no note."""
    from sksurv.datasets import load_whas500

    X, raw = load_whas500()
    y = Surv.from_arrays(raw["fstat"], raw["lenfol"])
    X = pd.DataFrame(X)[["age", "bmi", "hr", "sysbp", "diasbp"]].astype(float)
    folds = splits.fixed_split(y["event"], test_fraction=0.3, seed=0)  # tested up to 2173 days
    result = cross_validate(
        X, y, lambda: make_model("coxnet"), folds, horizons=[365, 730, 2250], n_bootstrap=20
    )
    fold = result.folds.iloc[0]
    summary = result.summary
    assert summary["uno_c_index"] == pytest.approx(fold["uno_c_index"], abs=1e-12)
    assert summary["uno_tau"] == pytest.approx(fold["uno_tau"], abs=1e-12)
    assert summary["ibs"] == pytest.approx(fold["ibs"], abs=1e-12)
    for h in ("365", "730"):
        assert summary["td_auc"][h] == pytest.approx(fold[f"td_auc_{h}"], abs=1e-12)
    assert y["time"][folds[0].test].max() < 2250 < y["time"].max()
    assert np.isnan(summary["td_auc"]["2250"])
    assert any("td-AUC at 2250 days: outside" in n for n in summary["preprocessing_notes"])


def test_a_calibration_slope_of_barely_different_predictions_is_noted(gbsg2):
    """A tiny network's run logged a calibration slope of 106,997 without a word: predictions that
    hardly differ between patients make the slope meaningless, and the notes now say so."""
    X, y = gbsg2
    folds = splits.nested_cv(y["event"], n_repeats=1, n_folds=3, seed=1)
    flat = cross_validate(
        X[["age"]], y, lambda: make_model("coxph", penalizer=500.0), folds, n_bootstrap=20
    )
    notes = flat.summary["preprocessing_notes"]
    assert any("the predicted survival barely differs between patients" in n for n in notes)
    fitted = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=20)
    assert not any("barely differs" in n for n in fitted.summary["preprocessing_notes"])


def test_the_calibration_slope_reads_extreme_predictions_as_they_are():
    """Veterans (real), 2 x 5 Cox folds: out-of-fold S(365) under 1e-10 (the least 1e-16) were
    clipped at 1e-10, and the slope was 0.787 where lifelines' Cox on log(-log S) gives 0.740.
    It is that Cox coefficient now; an S of 0 or 1, whose log(-log S) is infinite, is still
    taken at a bound, and the notes count such predictions."""
    from sksurv.datasets import load_veterans_lung_cancer

    from survival_core.workflows.crossval import pooled_calibration

    X, raw = load_veterans_lung_cancer()
    y = Surv.from_arrays(raw["Status"], raw["Survival_in_days"])
    folds = splits.nested_cv(y["event"], n_repeats=2, n_folds=5, seed=0)
    result = cross_validate(
        X, y, lambda: make_model("coxph"), folds, horizons=[365.0], n_bootstrap=10
    )
    survival = result.oof["survival_365"].to_numpy()
    assert (survival < 1e-10).sum() >= 2 and survival.min() > 0
    x = pd.DataFrame({"t": y["time"], "e": y["event"], "x": np.log(-np.log(survival))})
    slope = CoxPHFitter().fit(x, "t", "e", fit_options={"precision": 1e-12}).params_["x"]
    assert result.summary["calibration"]["slope"] == pytest.approx(slope, rel=1e-6)
    assert not any("of 0 or 1" in n for n in result.summary["preprocessing_notes"])
    notes: list[str] = []
    bounds = result.oof.assign(survival_365=np.r_[0.0, 1.0, survival[2:]])
    pooled_calibration(y, bounds, np.ones(len(y), bool), np.array([365.0]), notes)
    (said,) = [n for n in notes if "of 0 or 1" in n]
    assert said.startswith(
        "Calibration at 365 days: 2 predicted survival(s) of 0 or 1, whose log(-log S) is "
        "infinite, were taken at the nearest finite value for the slope ("
    )


def test_an_external_cohort_with_categories_the_model_never_saw_is_noted():
    """Veterans (real) with its 'large' cell type renamed 'large cell' in the external rows:
    the model encoded them as the reference level, which a note alone said; they are now left
    out of the metrics, as the note says."""
    from sksurv.datasets import load_veterans_lung_cancer

    X, raw = load_veterans_lung_cancer()
    y = Surv.from_arrays(raw["Status"], raw["Survival_in_days"])
    external = np.arange(len(y)) >= 100
    X = X.assign(Celltype=X["Celltype"].astype(str))
    X.loc[external & (X["Celltype"] == "large"), "Celltype"] = "large cell"
    folds = splits.external(y["event"], external, validation_fraction=0.0)
    result = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=20)
    notes = result.summary["preprocessing_notes"]
    assert any(n.startswith("test rows: 'Celltype': value(s) 'large cell' not seen") for n in notes)
    renamed = int((X["Celltype"] == "large cell").sum())
    assert len(result.left_out) == renamed and result.summary["n"] == external.sum() - renamed


def test_test_rows_of_a_category_their_fold_never_trained_on_are_left_out_of_that_fold():
    """AIDS (real): 'txgrp' 3 is one patient's, 4 two patients'. A test patient of a category
    its fold's training rows lacked was scored as the reference level '1' and counted in the
    pooled metrics, with only a note. Now that fold leaves them out and lists them; the 4s,
    tested together in the first repeat, are scored in the second, split apart there."""
    from sksurv.datasets import load_aids

    from survival_core.evaluation.concordance import harrell_c_index

    X, raw = load_aids()
    X = X.drop(columns="ivdrug")  # its 4 patients of "2" all fall in one half: txgrp alone here
    X.index = pd.Index([f"A{k:04d}" for k in range(len(X))], name="case_id")
    y = Surv.from_arrays(raw["censor"], raw["time"])
    (three,), (four_a, four_b) = (np.flatnonzero(X["txgrp"].astype(str) == g) for g in "34")
    others = np.setdiff1d(np.arange(len(y)), [three, four_a, four_b])
    half, rest = others[::2], others[1::2]
    tests = [  # (repeat, fold) -> test rows: the 4s together, then apart; the 3 always tested
        [[*half, four_a, four_b], [*rest, three]],
        [[*half, four_a], [*rest, four_b, three]],
    ]
    folds = [
        splits.Fold(r, f, np.setdiff1d(np.arange(len(y)), test), np.array([], int), np.sort(test))
        for r, pair in enumerate(tests)
        for f, test in enumerate(map(np.asarray, pair))
    ]
    result = cross_validate(
        X, y, lambda: make_model("coxph", penalizer=0.1), folds, case_ids=X.index, n_bootstrap=20
    )
    left = result.left_out
    assert left[["case_id", "fold", "column", "value"]].values.tolist() == [
        ["A1038", "1.1", "txgrp", "4"],
        ["A1096", "1.1", "txgrp", "4"],
        ["A1091", "1.2", "txgrp", "3"],
        ["A1091", "2.2", "txgrp", "3"],
    ]
    assert (
        left["error"]
        .iloc[0]
        .startswith(
            "fold 1.1: 'txgrp' is '4', a category the fold's training rows never had (their levels: "
            "'1', '2', '3'); its model would score it as '1', so it is left out"
        )
    )
    counted = result.oof.set_index("case_id")["n_predictions"]
    assert counted[["A1038", "A1096", "A1091"]].tolist() == [1, 1, 0]
    assert counted.drop(["A1038", "A1096", "A1091"]).eq(2).all()
    assert result.folds["n_test"].tolist() == [len(half), len(rest), len(half) + 1, len(rest) + 1]
    # the pooled metrics are over the patients scored, each by the folds that scored them
    assert result.summary["n"] == len(y) - 1
    scored = result.oof["risk_z"].notna().to_numpy()
    pooled = harrell_c_index(y[scored], result.oof["risk_z"].to_numpy()[scored])
    assert result.summary["c_index"] == pytest.approx(pooled, abs=1e-12)
    notes = result.summary["preprocessing_notes"]
    assert (
        "Fold(s) 1.2, 2.2 (2 of 4): test rows: 'txgrp': value(s) '3' not seen in training: "
        "left out of the fold's predictions and metrics" in " ".join(notes)
    )
    assert (
        "4 test prediction(s) of 3 patient(s) left out: they hold a category the fold's training "
        "rows never had"
    ) in " ".join(notes)
    assert "1 of them scored in no fold, so the pooled metrics are over the 1150 patients" in (
        " ".join(notes)
    )


def test_out_of_fold_risk_is_the_models_own_beside_its_z_score(gbsg2):
    """GBSG2 (real), developed on the postmenopausal patients, tested on the premenopausal: the
    out-of-fold 'risk' of a tested patient was their z-score against the development risks
    (0.5706 where `score` gave 0.42349, the log relative hazard the card's cut is on). Now
    'risk' is the model's own, as lifelines computes it, and 'risk_z' the z-score the pooled
    metrics rank by."""
    from survival_core.evaluation.standardisation import z_scores

    X, y = gbsg2
    external = (X["menostat"] == "Pre").to_numpy()
    folds = splits.external(y["event"], external, validation_fraction=0.0)
    factory = partial(make_model, "coxph", penalizer=0.0)
    result = cross_validate(X, y, factory, folds, n_bootstrap=20)
    model = factory().fit(X[~external], y[~external])
    risk = model.predict_risk(X[external])
    tested = result.oof[external]
    np.testing.assert_allclose(tested["risk"], risk, rtol=1e-12)
    expected_z = z_scores(risk, model.predict_risk(X[~external]))
    np.testing.assert_allclose(tested["risk_z"], expected_z, rtol=1e-12)
    assert result.oof.loc[~external, ["risk", "risk_z"]].isna().all().all()  # never tested
    encoded = pd.get_dummies(X.drop(columns="menostat"), drop_first=True, dtype=float)
    development = encoded[~external].assign(time=y["time"][~external], event=y["event"][~external])
    fitter = CoxPHFitter().fit(development, "time", "event")
    lifelines_risk = fitter.predict_log_partial_hazard(encoded[external]).to_numpy()
    np.testing.assert_allclose(tested["risk"], lifelines_risk, atol=1e-6)


def test_tested_patients_missing_values_are_said_with_what_filled_them(gbsg2):
    """GBSG2 (real), developed on the postmenopausal patients, tested on the premenopausal with
    'tsize' blank for all but one: the external c-index came without a word that they were
    scored at the development median (only unseen categories passed as test-row notes). Said
    once a column, under repeated CV too, not once a fold. A grade written '', '.', '#N/A' or
    ' ' is filled with the most frequent grade as a blank one is, and was not counted."""
    X, y = gbsg2
    external = (X["menostat"] == "Pre").to_numpy()
    blank = X.assign(tsize=X["tsize"].where(~external | (np.cumsum(external) == 1)))
    blank["tgrade"] = blank["tgrade"].astype(str)
    unwritten = np.flatnonzero(external)[1:5]
    blank.iloc[unwritten, blank.columns.get_loc("tgrade")] = ["", ".", "#N/A", " "]
    folds = splits.external(y["event"], external, validation_fraction=0.0)
    result = cross_validate(blank, y, lambda: make_model("coxph"), folds, n_bootstrap=20)
    said = [n for n in result.summary["preprocessing_notes"] if n.startswith("test rows:")]
    n, median = int(external.sum()), np.median(X.loc[~external, "tsize"])
    grade = X.loc[~external, "tgrade"].mode()[0]
    assert said == [
        f"test rows: 'tgrade' missing for 4 of {n} tested patients (1%), filled with the "
        f"training rows' most frequent category ({grade!r}).",
        f"test rows: 'tsize' missing for {n - 1} of {n} tested patients (>99%), filled with the "
        f"training rows' median ({median:g}); above the 50% missing at which training drops a "
        "column, the metrics measure the model with 'tsize' mostly at that value.",
    ]
    gaps = X.assign(tsize=X["tsize"].mask(np.random.default_rng(0).random(len(X)) < 0.2))
    folds = splits.nested_cv(y["event"], n_repeats=2, n_folds=3, seed=0)
    result = cross_validate(gaps, y, lambda: make_model("coxph"), folds, n_bootstrap=20)
    (said,) = [n for n in result.summary["preprocessing_notes"] if n.startswith("test rows:")]
    missing = int(gaps["tsize"].isna().sum())
    assert said.startswith(
        f"test rows: 'tsize' missing for {missing} of {len(X)} tested patients "
        f"({missing / len(X):.0%}), filled with "
    )


def test_risk_groups_place_tested_patients_by_their_folds_training_cut(gbsg2):
    """GBSG2 (real), developed on horTh = no and tested on horTh = yes: the run's KM groups were
    the external patients split at their own median; a scored patient is placed by the
    development cut, and so is every tested patient now."""
    from survival_core.evaluation.risk_groups import RiskGroupCut

    X, y = gbsg2
    external = (X["horTh"] == "yes").to_numpy()
    folds = splits.external(y["event"], external, validation_fraction=0.0)
    result = cross_validate(
        X, y, lambda: make_model("coxph"), folds, n_bootstrap=20, group_cut=RiskGroupCut()
    )
    model = make_model("coxph").fit(X[~external], y[~external])
    cut = np.median(model.predict_risk(X[~external]))
    expected = (model.predict_risk(X[external]) > cut).astype(float)
    np.testing.assert_array_equal(result.oof["high_share"].to_numpy()[external], expected)
    assert np.isnan(result.oof["high_share"].to_numpy()[~external]).all()  # never tested


def test_the_fold_table_counts_the_rows_each_model_was_fitted_on(gbsg2):
    """A Cox fold fits on its validation rows too (only a network stops early on them): the fold
    table said 330 trained / 110 validation for a Cox model fitted on all 440."""
    X, y = gbsg2
    external = (X["horTh"] == "yes").to_numpy()
    folds = splits.external(y["event"], external, validation_fraction=0.25)
    cox = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=20).folds
    assert (cox["n_train"].iloc[0], cox["n_validation"].iloc[0]) == ((~external).sum(), 0)
    net = cross_validate(
        X, y, lambda: make_model("deepsurv", epochs=2, seed=0), folds, n_bootstrap=20
    ).folds
    assert net["n_train"].iloc[0] + net["n_validation"].iloc[0] == (~external).sum()
    assert net["n_validation"].iloc[0] == folds[0].validation.size > 0


def test_cv_does_not_depend_on_the_row_order_or_the_order_of_the_tables(tmp_path, capsys):
    """GBSG2 as a clinical and a laboratory table: its c-index was 0.6706 in one row order and
    0.6816 shuffled, 0.6706 or 0.6826 with the two tables given the other way round (folds and
    coxnet's inner CV drew by row position; `cohort import` keeps the spreadsheet's order while
    features follow the manifest). Rows are taken in case id order."""
    import json

    from survival_core.cli.main import main

    X, y = load_gbsg2()
    frame = pd.DataFrame(X).assign(
        case_id=[f"P{k:04d}" for k in range(len(X))], time=y["time"], event=y["cens"].astype(int)
    )
    clinical = ["case_id", "time", "event", "age", "menostat", "tgrade", "horTh"]
    lab = ["case_id", "estrec", "progrec", "pnodes", "tsize"]
    shuffled = frame.sample(frac=1.0, random_state=7)
    tables = {}
    for name, rows in (("sorted", frame), ("shuffled", shuffled)):
        for part, columns in (("clin", clinical), ("lab", lab)):
            tables[name, part] = tmp_path / f"{name}_{part}.csv"
            rows[columns].to_csv(tables[name, part], index=False)

    def c_index(*order: tuple[str, str]) -> float:
        argv = ["cv", "--model", "coxnet", "--param", "n_alphas=10", "--repeats", "1", "--json"]
        argv += [a for key in order for a in ("--table", str(tables[key]))]
        assert main(argv) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["c_index"]

    first = c_index(("sorted", "clin"), ("sorted", "lab"))
    assert c_index(("shuffled", "clin"), ("shuffled", "lab")) == first
    assert c_index(("sorted", "lab"), ("shuffled", "clin")) == first


def test_td_auc_judges_each_horizons_event_probability_where_curves_cross(gbsg2):
    """A forest's survival curves cross: a fold's 1-year AUC ranks by 1 - S(1 year), not by the
    forest's risk over the whole follow-up."""
    X, y = gbsg2
    fold = splits.nested_cv(y["event"], n_repeats=1, n_folds=3, seed=0)[0]
    horizons = np.array([365.0, 1095.0])
    factory = partial(make_model, "rsf", n_estimators=30, seed=0)
    record = run_fold(fold, X, y, factory, horizons, horizons)
    development = np.concatenate([fold.train, fold.validation])
    for j, h in enumerate(horizons):
        marker = horizon_marker(record["risk"], 1.0 - record["survival_at_horizons"][:, j])
        expected = cumulative_dynamic_auc(y[development], y[fold.test], marker, h)[0][0]
        assert record[f"td_auc_{h:g}"] == pytest.approx(expected, abs=1e-12)
        by_risk = cumulative_dynamic_auc(y[development], y[fold.test], record["risk"], h)[0][0]
        assert abs(by_risk - expected) > 1e-4


def test_pooled_td_auc_standardises_each_folds_event_probabilities(gbsg2):
    """The folds' Cox models differ in their baseline hazards: their 1-year event probabilities
    pooled as they are ranked GBSG2 0.737 against a fold mean of 0.752; z-scored against each
    fold's training predictions, as the risks are, the pooled AUC is the folds'."""
    X, y = gbsg2
    folds = splits.nested_cv(y["event"], n_repeats=1, n_folds=5, seed=0)
    result = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=20)
    for h in ("365", "730", "1095"):
        fold_mean = result.folds[f"td_auc_{h}"].mean()
        assert result.summary["td_auc"][h] == pytest.approx(fold_mean, abs=0.005)


def test_a_proportional_hazards_models_td_auc_is_that_of_its_risk(gbsg2):
    X, y = gbsg2
    rng = np.random.default_rng(0)
    risk = rng.normal(size=len(y))
    horizons = np.array([365.0, 1095.0])
    at_horizons = np.exp(-np.outer(np.exp(risk), [0.05, 0.3]))  # S0(h) ** exp(risk)
    metrics = holdout_metrics(y, y, risk, None, horizons, horizons, 1.0 - at_horizons)
    for h in horizons:
        by_risk = cumulative_dynamic_auc(y, y, risk, h)[0][0]
        assert metrics[f"td_auc_{h:g}"] == pytest.approx(by_risk, abs=1e-12)


@pytest.mark.parametrize("fraction", [0.0, 0.1])
def test_a_networks_fold_is_the_model_fit_trains(gbsg2, fraction):
    """A fold validates the network `fit` trains: the network holds back its own
    ``validation_fraction`` of the fold's training rows. The folds held back 25 % whatever it was,
    so a network fitted without early stopping (0) was cross-validated with it."""
    X, y = gbsg2
    (fold,) = splits.fixed_split(y["event"], test_fraction=0.3, seed=4)

    def factory():
        return make_model("deepsurv", epochs=3, seed=0, validation_fraction=fraction)

    result = run_fold(fold, X, y, factory, np.array([365.0]), np.array([365.0]))
    fitted = factory().fit(X.iloc[fold.train], y[fold.train])
    np.testing.assert_allclose(result["risk"], fitted.predict_risk(X.iloc[fold.test]), atol=1e-6)
    held = int(np.ceil(fraction * fold.train.size))
    assert (result["n_train"], result["n_validation"]) == (fold.train.size - held, held)
    # the epoch kept and the epochs trained are the fold table's too (they were in model.json only)
    assert (result["best_epoch"], result["epochs_trained"]) == (
        fitted.history_["best_epoch"],
        len(fitted.history_["train"]),
    )


def test_a_fold_whose_model_learned_nothing_is_noted():
    """Veterans' outcomes with noise for inputs: a coxnet fold whose inner CV keeps no
    coefficient gives every patient the same risk; `fit` refuses such a model, and the CV counted
    its c-index of 0.5 without a word."""
    from sksurv.datasets import load_veterans_lung_cancer

    _, outcome = load_veterans_lung_cancer()
    y = Surv.from_arrays(outcome["Status"], outcome["Survival_in_days"])
    noise = np.random.default_rng(0).normal(size=(len(y), 5))
    X = pd.DataFrame(noise, columns=[f"noise{j}" for j in range(5)])
    folds = splits.nested_cv(y["event"], n_repeats=1, n_folds=5, seed=0)
    result = cross_validate(X, y, lambda: make_model("coxnet"), folds, n_bootstrap=20)
    said = [n for n in result.summary["preprocessing_notes"] if "learned nothing" in n]
    flat = result.folds.index[result.folds["c_index"] == 0.5] + 1
    assert len(flat) >= 1 and said == [
        f"Fold(s) {', '.join(f'1.{i}' for i in flat)} ({len(flat)} of 5): the fold's model gave "
        "all its training patients the same risk: it learned nothing from them (`fit` refuses "
        "such a model), and its test patients count as ties (c-index 0.5)"
    ]


def test_a_forest_that_learned_nothing_ranks_no_one_when_the_folds_are_pooled():
    """40 GBSG2 patients with 6 events: a forest of 15-patient leaves cannot split its 27
    training patients and gives them all one risk. Its float SD (1e-16) was taken for spread:
    z-scoring blew the rounding noise up to -1 / +1 per fold, which ranked the patients by their
    fold: a pooled c-index of 0.37 with an interval and a td-AUC of 0.35 for a model that learned
    nothing."""
    X, y = gbsg2_subset(6, 34)
    folds = splits.nested_cv(y["event"], n_repeats=1, n_folds=3, seed=0)
    factory = partial(make_model, "rsf", min_samples_leaf=15, n_estimators=50, time_points=50)
    result = cross_validate(X, y, factory, folds, n_bootstrap=100)
    assert (result.folds["c_index"] == 0.5).all()
    assert (result.oof["risk_z"] == 0).all()
    assert result.summary["c_index"] == 0.5
    assert all(v == 0.5 for v in result.summary["td_auc"].values() if v is not None)
    notes = result.summary["preprocessing_notes"]
    assert any(
        "every fold's model gave all its patients one risk, so the slope" in n for n in notes
    )


def test_cv_on_few_events_per_variable_gives_fits_caution():
    """60 GBSG2 patients with 5 events: `cv` of a Cox PH on its 9 variables reported a c-index of
    0.42 [0.06, 0.82] with no word of the 0.6 events per variable `fit` warns about; a LASSO-Cox
    (which guards its own variables) gets the note that its interval rests on 5 events."""
    X, y = gbsg2_subset(5, 55)
    folds = splits.nested_cv(y["event"], n_repeats=2, n_folds=3, seed=0)
    cox = cross_validate(X, y, lambda: make_model("coxph"), folds, n_bootstrap=50)
    (said,) = [n for n in cox.summary["preprocessing_notes"] if "per variable" in n]
    assert said.startswith("5 event(s) for 9 variable(s) (0.6 per variable, fewer than 10)")
    assert "interval rest on 5 events" in said
    lasso = cross_validate(
        X, y, partial(make_model, "lasso_cox", cv_folds=3), folds, n_bootstrap=50
    )
    notes = lasso.summary["preprocessing_notes"]
    assert not [n for n in notes if "per variable" in n]
    assert "The c-index and its interval rest on 5 events (fewer than 20)" in " ".join(notes)


def test_the_integrated_brier_score_stays_inside_the_training_follow_up(gbsg2):
    """A test fold followed up longer than its training fold, whose last time is a censoring:
    the grid ran past it, where the censoring survival is 0, and the IBS was left empty without a
    word (it had weighted the patients alive there by 0). It is taken over the grid the training
    follow-up covers."""
    from survival_core.evaluation.brier import integrated_brier_score

    _, y = gbsg2
    order = np.argsort(y["time"])
    y_train, y_test = y[order[:450]], y[order[150:]]
    last = y_train["time"].max()
    grid = np.linspace(y_test["time"].min(), y_test["time"].max(), 30)
    survival = np.exp(-np.outer(np.ones(len(y_test)), grid) / 3000.0)
    notes: list[str] = []
    risk = np.zeros(len(y_test))
    metrics = holdout_metrics(y_train, y_test, risk, survival, grid, grid[:0], survival, notes)
    inside = grid < last
    assert (~inside).sum() > 5 and not notes
    expected = integrated_brier_score(y_train, y_test, survival[:, inside], grid[inside])
    assert metrics["ibs"] == pytest.approx(expected, abs=1e-12)


def _by_menopause(gbsg2) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """GBSG2 (real) developed on its postmenopausal patients and validated on the
    premenopausal ones, as two sites' cohorts: the table, outcomes and external rows."""
    X, y = gbsg2
    external = (X["menostat"] == "Pre").to_numpy()
    return X.drop(columns="menostat"), y.copy(), external


def test_external_horizons_stay_inside_the_development_follow_up(gbsg2):
    """The development cohort followed to 1,000 days, the external one longer: every external
    patient's S(1,095) was S(1,000) carried flat, and the summary gave a calibration slope and
    calibration-in-the-large at 1,095 days. No horizon-based metric is computed past the
    development follow-up now, with a note; those inside it stay."""
    X, y, external = _by_menopause(gbsg2)
    late = ~external & (y["time"] > 1000)
    y["event"][late], y["time"][late] = False, 1000.0
    folds = splits.external(y["event"], external, validation_fraction=0.0)
    result = cross_validate(
        X, y, lambda: make_model("coxph"), folds, n_bootstrap=20, horizons=[365, 730, 1095, 1825]
    )
    summary = result.summary
    assert list(summary["td_auc"]) == ["365", "730"] and summary["calibration"]["horizon"] == 730
    assert [c for c in result.oof if c.startswith("survival_")] == ["survival_365", "survival_730"]
    assert (
        "Horizon(s) 1095, 1825 days left out: at or past the follow-up the model was developed on "
        "(1000 days, its training patients' last time)"
    ) in " ".join(summary["preprocessing_notes"])
    whole = cross_validate(  # the same external patients, developed on the whole follow-up
        X, gbsg2[1], lambda: make_model("coxph"), folds, n_bootstrap=20, horizons=[1095]
    )
    assert whole.summary["calibration"]["horizon"] == 1095


def test_external_events_are_not_taken_for_the_development_models(gbsg2):
    """3 external events under a Cox model developed on 179 were said to give '0.4 per variable
    ... each fold's model is fitted on fewer still and overfits'. The development events decide
    the events-per-variable caution; the external cohort's few events get their own, by name.
    All external patients censored: the pooled c-index failed on 'No comparable patient pairs'
    alone (its fallback computed the same undefined c-index again)."""
    X, y, external = _by_menopause(gbsg2)
    kept = np.flatnonzero(external & y["event"])[:3]
    y["event"][external & ~np.isin(np.arange(len(y)), kept)] = False
    folds = splits.external(y["event"], external, validation_fraction=0.0)
    named = "the external cohort pre"
    cox = partial(cross_validate, X, factory=lambda: make_model("coxph"), n_bootstrap=20)
    result = cox(y=y, folds=folds, test_set=named)
    notes = result.summary["preprocessing_notes"]
    assert not [n for n in notes if "per variable" in n]
    assert "The c-index and its interval rest on 3 events of the external cohort pre" in (
        " ".join(notes)
    )
    few = np.flatnonzero(~external & y["event"])[40:]  # 40 development events for 8 variables
    y["event"][few] = False
    notes = cox(y=y, folds=folds).summary["preprocessing_notes"]
    (said,) = [n for n in notes if "per variable" in n]
    assert said.startswith("40 event(s) for 8 variable(s) (5.0 per variable, fewer than 10) in ")
    assert "fewer still" not in said
    y["event"][external] = False
    with pytest.raises(InputError, match="^The tested patients: 290 patients, 0 event"):
        cox(y=y, folds=folds)


def test_the_integrated_brier_score_says_the_days_it_covers(gbsg2):
    """One Cox model, the same 450 GBSG2 development and 236 external patients: IBS 0.187 with
    the external follow-up whole, 0.116 with it cut at 800 days, both reported as 'the'
    integrated Brier score, though the second integrates over far fewer days. Now the summary
    gives the days (``ibs_range``) and a note says when the follow-up cut them short."""
    from survival_core.workflows.crossval import ibs_label

    X, y = gbsg2
    external = np.zeros(len(y), dtype=bool)
    external[np.random.default_rng(1).permutation(len(y))[450:]] = True
    short = y.copy()
    late = external & (y["time"] > 800)
    short["event"][late], short["time"][late] = False, 800.0
    whole, cut = (
        cross_validate(
            X, outcome, lambda: make_model("coxph"), splits.external(outcome["event"], external),
            horizons=[365, 730], n_bootstrap=20,
        ).summary
        for outcome in (y, short)
    )  # fmt: skip
    assert whole["ibs"] == pytest.approx(0.1867, abs=1e-4)
    assert cut["ibs"] == pytest.approx(0.1163, abs=1e-4)
    assert whole["ibs_range"] == {"from": 281.0, "to": pytest.approx(1525.6)}
    assert cut["ibs_range"] == {"from": pytest.approx(250.8), "to": pytest.approx(769.28, abs=0.01)}
    assert not [n for n in whole["preprocessing_notes"] if "Brier" in n]
    assert [n for n in cut["preprocessing_notes"] if "Brier" in n] == [
        "Integrated Brier score (251-769 days), not over the 251-1482 days of all the patients' "
        "event times (10th to 90th percentile): the tested patients are followed from 8 to 800 "
        "days (the training ones to 2659); compare it only with scores over the same days."
    ]
    assert ibs_label(281.0, 1525.6) == "Integrated Brier score (281-1526 days)"
    assert ibs_label(None, None) == "Integrated Brier score"  # a run that recorded no range


def test_only_a_horizon_evaluated_is_said_to_rest_on_few_controls(gbsg2):
    """GBSG2, a fixed 8:2 split (tested 57 to 2,556 days): the td-AUC at 2,600 days was null,
    'outside the tested patients' follow-up', and yet 'its td-AUC and calibration rest on' the
    0 patients followed after it, though neither was computed there. Now only horizons with a
    td-AUC or the calibration are cautioned, naming what was computed (the calibration is at
    the middle horizon, 365 days)."""
    X, y = gbsg2
    folds = splits.fixed_split(y["event"], test_fraction=0.2, seed=0)
    horizons = [10, 60, 365, 2400, 2600]
    summary = cross_validate(
        X, y, lambda: make_model("coxph"), folds, n_bootstrap=20, horizons=horizons
    ).summary
    assert np.isnan(summary["td_auc"]["2600"]) and summary["calibration"]["horizon"] == 365
    notes = summary["preprocessing_notes"]
    assert "td-AUC at 2600 days: outside the tested patients' follow-up (57 to 2556 days)." in notes
    assert [n for n in notes if "tested patients are still followed" in n] == [
        "At 2400 days only 3 of the 138 tested patients are still followed: its td-AUC rests on "
        "that few controls, too few to trust."
    ]
