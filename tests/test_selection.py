"""Feature reduction: statistics against references, selector behaviour, and no test-fold leakage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from sksurv.datasets import load_gbsg2
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError, RadSurvError
from survival_core.models import make_model
from survival_core.models.reduction import (
    CorrelationFilter,
    CoxPValueFilter,
    LassoCoxSelector,
    MADFilter,
    ReductionChain,
    Standardizer,
    UnivariateCIndexFilter,
    default_chain,
    selector_from_dict,
    univariate_cindex,
    univariate_cox,
)
from survival_core.models.tabular import TablePreprocessor


@pytest.fixture(scope="module")
def gbsg2() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    Z = TablePreprocessor().fit_transform(X)
    noise = np.random.default_rng(0).normal(size=(len(Z), 4))
    Z = Z.assign(**{f"noise{i}": noise[:, i] for i in range(4)})
    return Z, y


def test_univariate_cindex_equals_sksurv(gbsg2) -> None:
    Z, y = gbsg2
    rounded = np.round(Z.to_numpy(), 1)  # many tied risks
    ours = univariate_cindex(rounded, y["event"], y["time"])
    for j in range(Z.shape[1]):
        expected = concordance_index_censored(y["event"], y["time"], rounded[:, j])[0]
        assert ours[j] == pytest.approx(expected, abs=1e-12)


def test_univariate_cox_matches_lifelines(gbsg2) -> None:
    Z, y = gbsg2
    time = y["time"] + np.random.default_rng(1).uniform(
        0, 0.5, len(y)
    )  # distinct times: Breslow = Efron
    coef, p_value = univariate_cox(Z.to_numpy()[:, :4], y["event"], time)
    for j, name in enumerate(Z.columns[:4]):
        x = (Z[name] - Z[name].mean()) / Z[name].std(ddof=0)
        frame = pd.DataFrame({"x": x, "T": time, "E": y["event"]})
        fitter = CoxPHFitter().fit(frame, "T", "E", fit_options={"precision": 1e-12})
        assert coef[j] == pytest.approx(fitter.params_["x"], rel=1e-6)
        assert p_value[j] == pytest.approx(fitter.summary["p"]["x"], rel=1e-5)


def test_mad_filter_drops_zero_mad_feature(gbsg2) -> None:
    Z, y = gbsg2
    spiky = np.zeros(len(Z))
    spiky[:15], spiky[15:20] = (
        5.0,
        7.0,
    )  # 97 % identical values: MAD = 0 although the variance is not
    selector = MADFilter().fit(Z.assign(spiky=spiky), y)
    assert "spiky" not in selector.feature_names_out_
    assert "pnodes" in selector.feature_names_out_
    # yes/no and category indicators have MAD 0 when under half the patients hold the rarer
    # value: hormone therapy and grade III (univariate Cox p < 0.004) were dropped
    assert {"horTh=yes", "tgrade=III"} <= set(selector.feature_names_out_)
    constant = MADFilter().fit(Z.assign(constant=1.0), y)
    assert "constant" not in constant.feature_names_out_


def test_cindex_filter_keeps_strong_features_of_either_sign(gbsg2) -> None:
    Z, y = gbsg2
    selector = UnivariateCIndexFilter(0.55).fit(Z.assign(protective=-Z["pnodes"]), y)
    kept = selector.feature_names_out_
    assert "pnodes" in kept and "protective" in kept
    assert not any(name.startswith("noise") for name in kept)


def test_correlation_filter_keeps_the_stronger_of_a_pair(gbsg2) -> None:
    Z, y = gbsg2
    rng = np.random.default_rng(2)
    weaker = Z["pnodes"] + 0.3 * rng.normal(size=len(Z))
    frame = Z.assign(weaker=weaker, duplicate=Z["progrec"])
    assert np.corrcoef(frame["pnodes"], weaker)[0, 1] > 0.85
    kept = CorrelationFilter(0.85).fit(frame, y).feature_names_out_
    assert "pnodes" in kept and "weaker" not in kept
    assert "progrec" in kept and "duplicate" not in kept  # exact tie: the earlier column stays


def test_cox_pvalue_and_lasso_selectors(gbsg2) -> None:
    Z, y = gbsg2
    by_p = CoxPValueFilter(0.01).fit(Z, y)
    assert "pnodes" in by_p.feature_names_out_
    assert not any(n.startswith("noise") for n in by_p.feature_names_out_)
    lasso = LassoCoxSelector(n_alphas=30).fit(Z, y)
    assert "pnodes" in lasso.feature_names_out_
    assert len(lasso.feature_names_out_) < Z.shape[1]


def test_cox_pvalue_keeps_a_feature_that_separates_the_events(gbsg2) -> None:
    """No event under hormone therapy: horTh's Cox coefficient runs to infinity and its Wald p to
    1 (lifelines: 0.99), so the filter dropped the strongest feature; its likelihood-ratio p
    (lifelines, distinct times) is 8e-47."""
    Z, y = gbsg2
    time = y["time"] + np.random.default_rng(1).uniform(0, 0.5, len(y))
    treated = Z["horTh=yes"].to_numpy() > 0  # standardised: yes is the positive value
    y = Surv.from_arrays(y["event"] & ~treated, time)
    by_p = CoxPValueFilter(0.05).fit(Z, y)
    assert "horTh=yes" in by_p.feature_names_out_
    frame = pd.DataFrame({"x": treated.astype(float), "T": time, "E": y["event"]})
    expected = CoxPHFitter().fit(frame, "T", "E").log_likelihood_ratio_test().p_value
    p_value = by_p.scores_["p_value"][list(Z.columns).index("horTh=yes")]
    assert expected < 1e-40 and p_value == pytest.approx(expected, rel=1e-5)


def test_chain_support_and_json_round_trip(gbsg2) -> None:
    Z, y = gbsg2
    chain = default_chain(0.55, 0.85)
    out = chain.fit_transform(Z, y)
    support = chain.get_support(indices=True)
    assert list(out.columns) == [Z.columns[i] for i in support] == chain.feature_names_out_
    restored = selector_from_dict(json.loads(json.dumps(chain.to_dict())))
    np.testing.assert_array_equal(restored.transform(Z).to_numpy(), out.to_numpy())


def test_standardizer_uses_training_statistics_only(gbsg2) -> None:
    Z, y = gbsg2
    train, test = Z.iloc[:400], Z.iloc[400:] + 3.0
    scaler = Standardizer().fit(train, y[:400])
    np.testing.assert_allclose(scaler.transform(train).mean().to_numpy(), 0.0, atol=1e-12)
    assert (scaler.transform(test).mean() > 1.0).all()


def test_errors_name_the_problem(gbsg2) -> None:
    Z, y = gbsg2
    selector = MADFilter().fit(Z, y)
    with pytest.raises(InputError, match="pnodes"):
        selector.transform(Z.drop(columns="pnodes"))
    with pytest.raises(InputError, match="impute"):
        MADFilter().fit(Z.assign(pnodes=np.nan), y)
    assert UnivariateCIndexFilter(0.99).fit(Z, y).kept_nothing() == "'cindex' (threshold=0.99)"
    with pytest.raises(ConfigError):
        UnivariateCIndexFilter(0.3)
    with pytest.raises(ConfigError):
        ReductionChain([])


def leaky_fold(
    Z: pd.DataFrame, y: np.ndarray, test_time: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows get a noise 'leak' column; test rows get minus their own survival time."""
    train, test = Z.iloc[:480].copy(), Z.iloc[480:].copy()
    train["leak"] = np.random.default_rng(3).normal(size=len(train))
    test["leak"] = -test_time
    return train, test


@pytest.mark.parametrize("model_name", ["coxph", "coxnet"])
def test_no_information_from_the_test_fold_reaches_the_model(gbsg2, model_name: str) -> None:
    Z, y = gbsg2
    y_train, y_test = y[:480], y[480:]
    predictions = []
    shuffled = np.random.default_rng(4).permutation(len(y_test))
    for test_time in (y_test["time"], y_test["time"][shuffled]):
        train, test = leaky_fold(Z, y, test_time)
        leak_c = concordance_index_censored(
            y_test["event"], y_test["time"], test["leak"].to_numpy()
        )[0]
        chain = default_chain(0.55, 0.85).fit(train, y_train)
        assert "leak" not in chain.feature_names_out_
        model = make_model(model_name).fit(chain.transform(train), y_train)
        predictions.append(model.predict_risk(chain.transform(test)))
        if test_time is y_test["time"]:
            assert leak_c > 0.9  # the leak is a near-perfect predictor in the test fold
            test_c = concordance_index_censored(y_test["event"], y_test["time"], predictions[-1])[0]
            assert test_c < 0.8  # an honest model, not the leak
    np.testing.assert_array_equal(predictions[0], predictions[1])


def test_a_filter_keeping_no_feature_gives_a_null_model_not_a_failed_run(tmp_path, capsys) -> None:
    """WHAS500's real outcomes with noise predictors: a fold whose filter kept no feature stopped
    the whole `cv` ('relax its threshold', which no option could do), so null data gave no
    c-index while a chance signal gave one. The fold's model is a null model: every patient the
    training rows' survival curve, c-index 0.5, said; it saves, loads and predicts so; `fit`
    refuses to save one, naming the step."""
    from sksurv.datasets import load_whas500

    from survival_core.cli.main import main
    from survival_core.models import load_model
    from survival_core.models.baseline import BreslowBaseline
    from survival_core.models.reduction import make_reduction

    _, y = load_whas500()
    y = Surv.from_arrays(y["fstat"][:200], y["lenfol"][:200])
    noise = pd.DataFrame(np.random.default_rng(1).normal(size=(200, 5)), columns=list("abcde"))
    chain = make_reduction("cox_pvalue")
    model = make_model("coxph").with_reduction(chain).fit(noise, y)
    assert model.null_ and model.features_used_ == []
    assert "'cox_pvalue' (alpha=0.05) kept no feature" in model.preprocessor_.notes_[-1]
    times = np.array([100.0, 365.0, 1000.0])
    km = BreslowBaseline().fit(np.zeros(200), y["event"], y["time"]).survival(np.zeros(3), times)
    np.testing.assert_allclose(model.predict_survival(noise.iloc[:3], times), km)
    assert not model.predict_risk(noise).any()
    loaded = load_model(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.predict_survival(noise.iloc[:3], times), km)
    table = noise.assign(time=y["time"], event=y["event"].astype(int))
    table.insert(0, "case_id", [f"P{i}" for i in range(200)])
    table.to_csv(path := tmp_path / "noise.csv", index=False)
    argv = ["--table", str(path), "--model", "coxph", "--reduction", "cox_pvalue", "--json"]
    assert main(["cv", *argv, "--repeats", "1"]) == 0
    said = capsys.readouterr()  # the folds whose filter kept nothing: null models, said
    assert 0.4 < json.loads(said.out.strip().splitlines()[-1])["c_index"] < 0.6
    assert "a null model (every patient the same risk" in said.err
    # a network's null folds too (the fold table read the epochs of a network never trained)
    net = [*argv[:2], "--model", "deepsurv", "--param", "epochs=2", *argv[4:], "--folds", "3"]
    assert main(["cv", *net, "--repeats", "1"]) == 0
    assert "a null model (every patient the same risk" in capsys.readouterr().err
    assert main(["fit", *argv, "--out", str(tmp_path / "f")]) != 0
    assert "'cox_pvalue' (alpha=0.05) kept no feature of the 200" in capsys.readouterr().out


def test_a_searched_or_chosen_null_model_is_said_null() -> None:
    """A searched model (model.search) whose reduction kept nothing was saved as a null model:
    `fit` asked the wrapper, always False. A search every trial of which keeps nothing in every
    inner fold is now refused as learning nothing, naming the reduction."""
    from sksurv.datasets import load_whas500

    from survival_core.runs.search import ParamRange, TunedModel
    from survival_core.workflows.training import ModelMaker

    _, y = load_whas500()
    y = Surv.from_arrays(y["fstat"][:200], y["lenfol"][:200])
    noise = pd.DataFrame(np.random.default_rng(1).normal(size=(200, 5)), columns=list("abcde"))
    space = {"l1_ratio": ParamRange("uniform", (0.5, 1.0))}
    tuned = TunedModel(ModelMaker("coxnet", {}, "cox_pvalue"), space, trials=2, inner_folds=2)
    assert not tuned.null_
    with pytest.raises(RadSurvError, match="No trial's model learned anything") as refused:
        tuned.fit(noise, y)
    assert "'cox_pvalue' (alpha=0.05) kept no feature" in str(refused.value)


def test_a_lasso_path_that_diverges_stops_at_its_last_converged_penalty() -> None:
    """WHAS500's real outcomes of 60 patients and 45-50 noise columns (a high-dimensional fold):
    the LASSO-Cox path diverged at its weakest penalties, on the training rows or in an inner
    fold, and `cv --reduction lasso` ended with scikit-survival's 'Consider increasing alpha'
    (no option sets it). The path stops at the last penalty that converged; the fit says so."""
    from sksurv.datasets import load_whas500

    _, y = load_whas500()
    y = Surv.from_arrays(y["fstat"][:60], y["lenfol"][:60])

    def noise(columns: int, seed: int) -> pd.DataFrame:
        values = np.random.default_rng(seed).normal(size=(60, columns))
        return pd.DataFrame(values, columns=[f"noise{j}" for j in range(columns)])

    whole = LassoCoxSelector().fit(noise(45, 5), y)
    assert len(whole.feature_names_out_) == 26
    assert whole.notes_ == [
        "The LASSO-Cox path diverged on the training rows (too many features for the patients: "
        "the weakest penalties fit an almost unpenalised Cox model of every feature); the "
        "penalty was chosen among the 49 stronger ones that converged (down to 2.31e-05)."
    ]
    model = make_model("coxph").with_reduction(ReductionChain([LassoCoxSelector()]))
    model.fit(noise(50, 9), y)
    assert model.features_used_ == ["noise40"]
    # the fold converged down to its 47th penalty: the 48th, which diverged, is no candidate
    assert model.preprocessor_.notes_[-1] == (
        "The LASSO-Cox path diverged in 1 of 5 inner folds (too many features for the patients: "
        "the weakest penalties fit an almost unpenalised Cox model of every feature); the "
        "penalty was chosen among the 47 stronger ones that converged (down to 4.31e-05)."
    )
