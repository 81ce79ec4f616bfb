"""Hyper-parameter search: TunedModel tunes on inner folds, is reproducible for a seed, survives
failing trials, saves as an ordinary model, runs inside cross-validation and on Ray, and samples
each range kind within its bounds. A 200-patient subset of GBSG-2 with CoxPH (penalizer)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core import engine
from survival_core.errors import ConfigError, InputError, RadSurvError
from survival_core.evaluation import splits
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.io.tables import ModelTable
from survival_core.models import CoxPH, load_model, make_model
from survival_core.models.image_set import ImageSet
from survival_core.models.tabular import unseen_levels_noted
from survival_core.runs.config import FrozenDict, ParamRange, SearchConfig, parse_config
from survival_core.runs.search import (
    TRIAL_COLUMNS,
    TunedModel,
    inner_score,
    inner_splits,
    read_search,
    suggest,
    tuned_factory,
)
from survival_core.workflows.crossval import cross_validate, run_fold
from survival_core.workflows.training import _few_events_warning, train_model
from tests.small_cohorts import gbsg2_subset

PENALIZER = {"penalizer": ParamRange("loguniform", (1e-4, 10.0))}
TRIALS = 6


def search(space: dict[str, ParamRange], trials: int = TRIALS) -> SearchConfig:
    return SearchConfig(FrozenDict(space), trials=trials)


@pytest.fixture(scope="module")
def gbsg2() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_gbsg2()
    X = pd.get_dummies(X, drop_first=True, dtype=float).iloc[:200]
    X.index = [f"p{i:03d}" for i in range(len(X))]
    return X, Surv.from_arrays(y["cens"], y["time"])[:200]


@pytest.fixture(scope="module")
def tuned(gbsg2: tuple[pd.DataFrame, np.ndarray]) -> TunedModel:
    return tuned_factory("coxph", {}, search(PENALIZER), seed=3)().fit(*gbsg2)


def _table(model: TunedModel) -> pd.DataFrame:
    return model.trials_.drop(columns="seconds")


def test_an_inner_folds_unseen_category_is_not_warned_of_per_trial() -> None:
    """GBSG2 with one grade-IV patient: the inner fold whose training rows lack it warned
    (UnseenLevelWarning, once per trial and fold: dozens in a run's log)."""
    import warnings

    X, y = load_gbsg2()
    X = X.iloc[:200].assign(tgrade=X["tgrade"].astype(str).iloc[:200])
    X.loc[X.index[3], "tgrade"] = "IV"
    y = Surv.from_arrays(y["cens"], y["time"])[:200]
    folds = inner_splits(y, 3, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = inner_score(lambda params: make_model("coxph", **params), {}, X, y, folds)
    assert 0.5 < score < 1 and not [w for w in caught if "not seen in training" in str(w.message)]


def test_search_is_at_least_as_good_as_the_default(gbsg2, tuned: TunedModel) -> None:
    X, y = gbsg2
    folds = inner_splits(y, 3, seed=3)
    default = inner_score(tuned.make, {}, X, y, folds)
    assert tuned.best_score_ >= default
    assert tuned.best_score_ == tuned.trials_["score"].max()
    # the recorded score is reproducible, and the refit is the best parameters on all rows
    assert inner_score(tuned.make, tuned.best_params_, X, y, folds) == pytest.approx(
        tuned.best_score_, abs=1e-12
    )
    refit = make_model("coxph", **tuned.best_params_).fit(X, y)
    np.testing.assert_allclose(tuned.predict_risk(X), refit.predict_risk(X), rtol=1e-9)
    assert isinstance(tuned.best_model_, CoxPH)
    assert list(tuned.trials_.columns) == ["number", "penalizer", *TRIAL_COLUMNS[1:]]
    assert (tuned.trials_["state"] == "COMPLETE").all() and len(tuned.trials_) == TRIALS


def test_inner_folds_are_stratified_and_cover_every_row(gbsg2) -> None:
    _, y = gbsg2
    folds = inner_splits(y, 3, seed=0)
    tested = np.sort(np.concatenate([f.test for f in folds]))
    np.testing.assert_array_equal(tested, np.arange(len(y)))
    rates = [y["event"][f.test].mean() for f in folds]
    assert max(rates) - min(rates) < 0.02


def test_same_seed_same_search(gbsg2, tuned: TunedModel) -> None:
    again = tuned_factory("coxph", {}, search(PENALIZER), seed=3)().fit(*gbsg2)
    pd.testing.assert_frame_equal(_table(again), _table(tuned))
    assert again.best_params_ == tuned.best_params_
    other = tuned_factory("coxph", {}, search(PENALIZER, 2), seed=4)().fit(*gbsg2)
    assert not np.allclose(other.trials_["penalizer"], tuned.trials_["penalizer"][:2])


def test_failed_trials_are_recorded_and_the_search_goes_on(gbsg2) -> None:
    X, y = gbsg2
    lines: list[str] = []
    space = {"penalizer": ParamRange("uniform", (-1.0, 1.0))}  # coxph refuses penalizer < 0
    factory = replace(tuned_factory("coxph", {}, search(space, 8)), progress=lines.append)
    model = factory().fit(X, y)
    table = model.trials_
    failed = table[table["state"] == "FAIL"]
    assert 0 < len(failed) < len(table)
    assert (failed["penalizer"] < 0).all() and failed["score"].isna().all()
    assert failed["error"].str.contains("penalizer must be >= 0").all()
    assert (table.loc[table["state"] == "COMPLETE", "penalizer"] >= 0).all()
    assert model.best_params_["penalizer"] >= 0
    assert np.isfinite(model.predict_risk(X)).all()
    assert len(lines) == 8 and sum("failed" in line for line in lines) == len(failed)


def test_all_trials_failing_is_a_clear_error(gbsg2) -> None:
    space = {"penalizer": ParamRange("uniform", (-2.0, -1.0))}
    with pytest.raises(RadSurvError, match=r"all 3 trials failed.*penalizer must be >= 0") as err:
        tuned_factory("coxph", {}, search(space, 3))().fit(*gbsg2)
    assert ".." not in str(err.value)


PILOT_PENALIZER = {"penalizer": ParamRange("loguniform", (0.1, 1.0))}


def test_an_inner_fold_without_comparable_pairs_is_left_out_of_the_score() -> None:
    """14 GBSG2 patients, 5 events (a pilot study): the third inner fold's test rows hold no
    comparable pair. Its undefined c-index failed every trial ('all 4 trials failed ... Narrow
    model.search.space'), though the parameters were not at fault; it is left out of the mean."""
    X, y = gbsg2_subset(5, 9, seed=2)
    folds = inner_splits(y, 3, seed=0)
    model = tuned_factory("coxph", {}, search(PILOT_PENALIZER, 4), seed=0)().fit(X, y)
    assert (model.trials_["state"] == "COMPLETE").all()
    c = []
    for fold in folds[:2]:
        fitted = make_model("coxph", **model.best_params_).fit(X.iloc[fold.train], y[fold.train])
        with unseen_levels_noted():  # a grade the fold's training rows lack, as the search does
            c.append(harrell_c_index(y[fold.test], fitted.predict_risk(X.iloc[fold.test])))
    with pytest.raises(InputError, match="No comparable patient pairs"):
        harrell_c_index(y[folds[2].test], np.zeros(folds[2].test.size))
    assert model.best_score_ == pytest.approx(np.mean(c), abs=1e-12)


def test_inner_folds_too_small_to_score_are_named_as_such() -> None:
    """6 GBSG2 patients, 3 events: no inner fold's test rows hold a comparable pair, so no trial
    can be scored; the error blamed the search space and doubled its period."""
    X, y = gbsg2_subset(3, 3, seed=10)
    with pytest.raises(InputError) as err:
        tuned_factory("coxph", {}, search(PILOT_PENALIZER, 2), seed=0)().fit(X, y)
    assert str(err.value) == (
        "Hyper-parameter search on 6 patients (3 events): none of its 3 inner folds' test rows "
        "holds two comparable patients (an event followed by a longer follow-up), so the c-index "
        "of every trial is undefined: the inner folds are too small. Search on more patients, or "
        "set the parameters in model.params instead of searching them."
    )


LEAF = {"min_samples_leaf": ParamRange("choice", (10, 500))}


def test_a_trial_whose_model_learned_nothing_fails_and_is_never_chosen(gbsg2) -> None:
    """A forest whose minimum leaf (500) holds all 133 inner-training patients gives them all one
    risk: its trial was COMPLETE with the ties' 0.5, which beat real trials of inner c < 0.5 on
    weak data and was chosen (every outer fold of a 60-patient run chose it)."""
    factory = tuned_factory("rsf", {"n_estimators": 10}, search(LEAF, 4), seed=1)
    model = factory().fit(*gbsg2)
    table = model.trials_
    assert set(table["min_samples_leaf"]) == {10, 500}
    learned_nothing = table[table["min_samples_leaf"] == 500]
    assert (learned_nothing["state"] == "FAIL").all() and learned_nothing["score"].isna().all()
    said = (
        "InputError: the model learned nothing in any inner fold (inner fold 1: the model gave all "
        "its 133 inner-training patients one risk (it learned nothing from them)"
    )
    assert learned_nothing["error"].str.startswith(said).all()
    assert model.best_params_ == {"min_samples_leaf": 10} and model.best_score_ > 0.6


def test_a_search_of_models_that_learn_nothing_is_refused(gbsg2) -> None:
    only = {"min_samples_leaf": ParamRange("choice", (500,))}
    with pytest.raises(RadSurvError) as err:
        tuned_factory("rsf", {"n_estimators": 10}, search(only, 2))().fit(*gbsg2)
    assert "all 2 trials failed" in str(err.value) and "one risk" in str(err.value)
    assert "No trial's model learned anything" in str(err.value)
    assert "Narrow model.search.space" not in str(err.value)  # no value of it was refused


def test_a_fold_whose_model_learned_nothing_is_left_out_of_its_trial() -> None:
    """A coxnet of GBSG2's hormone therapy alone (120 patients, real): its penalty path picks
    the null fit in two inner folds and learns in the third, as on all 120 patients. The first
    fold to learn nothing failed every trial, and the search and its run with them, where a
    fixed coxnet trained; such a fold is left out of its trial's mean, as an undefined one is."""
    X, y = load_gbsg2()
    rows = np.sort(np.random.default_rng(0).choice(len(y), 120, replace=False))
    X = X[["horTh"]].iloc[rows].reset_index(drop=True)
    y = Surv.from_arrays(y["cens"], y["time"])[rows]
    ratio = {"l1_ratio": ParamRange("uniform", (0.1, 0.9))}
    model = tuned_factory("coxnet", {}, search(ratio, 2), seed=0)().fit(X, y)
    assert (model.trials_["state"] == "COMPLETE").all()
    assert np.unique(model.predict_risk(X)).size == 2  # the chosen coxnet learned


def test_saved_search_loads_as_the_best_model(gbsg2, tuned: TunedModel, tmp_path: Path) -> None:
    X, _ = gbsg2
    tuned.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, CoxPH) and loaded.penalizer == tuned.best_params_["penalizer"]
    np.testing.assert_array_equal(loaded.predict_risk(X), tuned.predict_risk(X))
    times = [365.0, 1095.0]
    np.testing.assert_allclose(
        loaded.predict_survival(X, times), tuned.predict_survival(X, times), rtol=1e-12
    )
    saved = read_search(tmp_path / "model")
    assert saved["best_params"] == tuned.best_params_ and saved["metric"] == "c_index"
    assert saved["space"] == {"penalizer": {"loguniform": [1e-4, 10.0]}}
    assert [t["number"] for t in saved["trials"]] == list(range(TRIALS))
    assert read_search(tmp_path) is None


def test_unfitted_search_refuses_to_predict(gbsg2) -> None:
    model = tuned_factory("coxph", {}, search(PENALIZER))()
    with pytest.raises(ConfigError, match="not fitted"):
        model.predict_risk(gbsg2[0])


def test_tuned_model_inside_cross_validation(gbsg2) -> None:
    X, y = gbsg2
    folds = splits.nested_cv(y["event"], 1, 2, seed=0)
    factory = tuned_factory("coxph", {}, search(PENALIZER, 3))
    result = cross_validate(X, y, factory, folds, n_bootstrap=50)
    assert len(result.folds) == 2 and result.folds["c_index"].between(0.55, 0.85).all()
    assert 0.55 < result.summary["c_index"] < 0.85
    assert result.oof["n_predictions"].eq(1).all()


@pytest.mark.parametrize(
    ("model", "space", "cautioned"),
    [
        ("coxph", PENALIZER, False),
        ("coxph", {"l1_ratio": ParamRange("uniform", (0.0, 1.0))}, True),
        ("coxnet", {"l1_ratio": ParamRange("uniform", (0.1, 1.0))}, False),
    ],
    ids=["coxph-penalizer", "coxph-l1-ratio", "coxnet"],
)
def test_a_searched_penalty_is_not_told_to_choose_a_penalty_by_cv(model, space, cautioned) -> None:
    """30 GBSG2 events on 9 variables: a Cox PH whose penalizer the search chose by inner CV was
    cautioned to 'prefer a penalty chosen by cross-validation (coxnet, lasso_cox)', and a
    searched coxnet, which chooses its own, too (the search's model was not the coxnet the
    caution spares). Only a search leaving the penalty as given keeps the caution, in `cv`'s
    notes and `fit`'s warnings."""
    X, y = gbsg2_subset(30, 70)
    folds = splits.nested_cv(y["event"], 1, 2, seed=0)
    factory = tuned_factory(model, {"cv_folds": 3} if model == "coxnet" else {}, search(space, 2))
    notes = cross_validate(X, y, factory, folds, n_bootstrap=20).summary["preprocessing_notes"]
    said = [n for n in notes if "per variable" in n]
    assert bool(said) == cautioned
    if cautioned:
        assert said[0].startswith("30 event(s) for 9 variable(s) (3.3 per variable")
    warnings = _few_events_warning(ModelTable(X, y), factory().fit(X, y), 0.7)
    assert bool(warnings) == cautioned


def test_a_searched_networks_fold_early_stops_on_its_validation_rows(gbsg2) -> None:
    """A searched deepsurv's fold reported n_train 91, n_validation 0 and no epochs (veterans,
    3 folds) where the same network with the chosen lr fixed reported 73, 18, best epoch 1 of 3:
    the fold fitted the search on its training and validation rows alike and found no count or
    epoch on the wrapper. It now early-stops on the fold's validation rows, as the network does."""
    X, y = gbsg2
    fold = splits.nested_cv(y["event"], 1, 3, validation_fraction=0.2, seed=0)[0]
    lr = {"lr": ParamRange("loguniform", (1e-3, 1e-1))}
    factory = tuned_factory("deepsurv", {"epochs": 3, "hidden": [8]}, search(lr, 2), seed=0)
    grid = np.array([365.0, 730.0])
    record = run_fold(fold, X, y, factory, grid, np.array([730.0]))
    train, validation = fold.train, fold.validation
    fitted = factory().fit(X.iloc[train], y[train], X.iloc[validation], y[validation])
    history = fitted.best_model_.history_
    assert (record["n_train"], record["n_validation"]) == (fold.train.size, fold.validation.size)
    assert (record["best_epoch"], record["epochs_trained"]) == (
        history["best_epoch"],
        len(history["train"]),
    )
    np.testing.assert_allclose(record["risk"], fitted.predict_risk(X.iloc[fold.test]), atol=1e-6)


def test_factory_travels_by_pickle_and_refuses_bad_names() -> None:
    factory = tuned_factory("coxph", {"l1_ratio": 0.1}, search(PENALIZER), seed=5)
    model = pickle.loads(pickle.dumps(factory))()
    assert isinstance(model, TunedModel) and model.seed == 5
    assert model.make({"penalizer": 0.5}).get_params() == {"penalizer": 0.5, "l1_ratio": 0.1}
    with pytest.raises(ConfigError, match=r"space\.lr: not a parameter of model 'coxph'"):
        tuned_factory("coxph", {}, search({"lr": ParamRange("uniform", (0.1, 1.0))}))
    with pytest.raises(ConfigError, match=r"space\.l1_ratio: also set in model.params"):
        tuned_factory(
            "coxph", {"l1_ratio": 0.1}, search({"l1_ratio": ParamRange("choice", (0.0,))})
        )


def test_image_models_get_their_images_in_every_trial() -> None:
    images = ImageSet()
    lr = {"lr": ParamRange("loguniform", (1e-4, 1e-2))}
    model = tuned_factory("cnn3d", {"epochs": 2}, search(lr), images=images)()
    built = model.make({"lr": 1e-3})
    assert built.images is images and (built.lr, built.epochs) == (1e-3, 2)


def test_a_run_config_search_drives_the_factory(gbsg2) -> None:
    config = parse_config(
        {
            "name": "t",
            "cohort": "demo",
            "model": {
                "name": "coxph",
                "params": {"l1_ratio": 0.0},
                "search": {"space": {"penalizer": {"loguniform": [0.001, 1]}}, "trials": 2},
            },
        }
    )
    factory = tuned_factory(
        config.model.name, config.model_params(), config.model.search, seed=config.seed
    )
    model = factory().fit(*gbsg2)
    assert len(model.trials_) == 2 and 0.001 <= model.best_params_["penalizer"] <= 1


def test_train_model_saves_the_searched_model_with_its_card(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 60
    table = pd.DataFrame(
        {
            "case_id": [f"P{i:03d}" for i in range(n)],
            "age": rng.normal(62, 10, n).round(),
            "albumin": rng.normal(38, 5, n).round(1),
            "sex": rng.choice(["M", "F"], n),
        }
    )
    hazard = np.exp(0.04 * (table["age"] - 62) - 0.08 * (table["albumin"] - 38))
    table["time"] = np.ceil(rng.exponential(900 / hazard)).astype(int)
    table["event"] = (rng.random(n) < 0.7).astype(int)
    table.to_csv(tmp_path / "clinical.csv", index=False)
    factory = tuned_factory("coxph", {}, search(PENALIZER, 3))
    summary = train_model(
        [tmp_path / "clinical.csv"], "coxph", {}, tmp_path / "model", factory=factory
    )
    loaded = load_model(tmp_path / "model")
    saved = read_search(tmp_path / "model")
    assert loaded.penalizer == saved["best_params"]["penalizer"] and len(saved["trials"]) == 3
    assert (tmp_path / "model" / "card.json").is_file() and summary["n"] == n


SPACES = [
    ("int", (2, 5), lambda v: isinstance(v, int) and 2 <= v <= 5),
    ("uniform", (0.1, 0.4), lambda v: isinstance(v, float) and 0.1 <= v <= 0.4),
    ("loguniform", (1e-5, 1e-1), lambda v: isinstance(v, float) and 1e-5 <= v <= 1e-1),
    ("choice", ("a", "b"), lambda v: v in ("a", "b")),
    ("choice", ((32,), (64, 32)), lambda v: v in ((32,), (64, 32))),
]


@pytest.mark.parametrize(("kind", "values", "valid"), SPACES)
def test_each_range_kind_samples_within_its_bounds(kind, values, valid) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = []
    for _ in range(40):
        trial = study.ask()
        drawn.append(suggest(trial, {"p": ParamRange(kind, values)})["p"])
        study.tell(trial, 0.0)
    assert all(valid(v) for v in drawn)
    assert len({repr(v) for v in drawn}) > 1
    distribution = study.trials[0].distributions["p"]
    if kind in ("uniform", "loguniform"):
        assert distribution.log == (kind == "loguniform")
        assert (distribution.low, distribution.high) == values
    if kind == "loguniform":  # log scale: about half the draws below the geometric midpoint
        assert 0.25 < np.mean(np.array(drawn) < 1e-3) < 0.75


@pytest.fixture(scope="module")
def local_ray(data_folder: Path) -> Iterator[None]:
    """A local Ray with 1 CPU for this module's Ray test only: one worker imports the models (the
    slow part of the first task), and the batches of 2 trials still go through Ray."""
    engine.connect(num_cpus=1)
    yield
    engine.shutdown()


def test_trials_as_ray_tasks_match_the_same_batches_in_process(gbsg2, local_ray: None) -> None:
    factory = tuned_factory("coxph", {}, search(PENALIZER), seed=3, parallel=2)
    on_ray = replace(factory, trial_map=engine.fold_map)().fit(*gbsg2)
    here = factory().fit(*gbsg2)
    assert len(on_ray.trials_) == TRIALS and (on_ray.trials_["state"] == "COMPLETE").all()
    assert 1e-4 <= on_ray.best_params_["penalizer"] <= 10.0
    assert on_ray.best_score_ == on_ray.trials_["score"].max()
    pd.testing.assert_frame_equal(_table(on_ray), _table(here), rtol=1e-12)
    np.testing.assert_array_equal(on_ray.predict_risk(gbsg2[0]), here.predict_risk(gbsg2[0]))


def test_a_searched_discrete_model_says_its_last_edge_before_and_after_the_fit() -> None:
    """A searched discrete model's cross-validation still evaluated horizons past its last edge:
    the tuned wrapper said no limit (the review found it)."""
    space = {"lr": ParamRange("loguniform", (1e-3, 1e-2))}
    maker = tuned_factory("discrete", {"edges": [0, 365, 730], "epochs": 2}, search(space), seed=1)
    assert maker().survival_until == 730.0
    assert tuned_factory("coxph", {}, search(PENALIZER))().survival_until == np.inf
