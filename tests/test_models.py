"""Every registered survival model: contract, quality on GBSG2, exactness against references."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from lifelines import CoxPHFitter
from sksurv.datasets import load_gbsg2, load_veterans_lung_cancer
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation import splits
from survival_core.models import IMAGE_MODELS, MODELS, load_model, make_model
from survival_core.models.discrete import interval_targets
from survival_core.models.training_loop import TrainingSettings
from survival_core.workflows.crossval import cross_validate

TABULAR = sorted(set(MODELS) - set(IMAGE_MODELS))  # image models: tests/test_image_models.py

TORCH_MODELS = ("deepsurv", "vaesurv", "discrete")
#: Model choice among two quick candidates (tests/test_model_choice.py tries the full grid's kinds).
CANDIDATES = (
    {"model": "coxph", "params": {"penalizer": 0.1}},
    {"model": "gbsa", "params": {"n_estimators": 30, "max_depth": 1}},
)
#: Small settings so the whole file runs in seconds on 2 cores.
FAST = {
    "coxph": {},
    "coxnet": {"n_alphas": 30},
    "lasso_cox": {"n_alphas": 30},
    "rsf": {"n_estimators": 40},
    "gbsa": {"n_estimators": 60},
    "auto": {"candidates": CANDIDATES},
    "ensemble": {"candidates": CANDIDATES},
    "deepsurv": {"epochs": 60, "lr": 1e-2, "device": "cpu"},
    "vaesurv": {"epochs": 60, "device": "cpu"},
    "discrete": {
        "epochs": 80,
        "lr": 1e-2,
        "edges": (0, 500, 1000, 1500, 2000, 2700),
        "device": "cpu",
    },
}
TIMES = np.array([0.0, 200.0, 500.0, 1000.0, 1500.0, 2500.0, 5000.0])


@pytest.fixture(scope="module")
def gbsg2() -> dict:
    X, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:480], order[480:]
    return {"X": X.iloc[train], "y": y[train], "X_test": X.iloc[test], "y_test": y[test]}


@pytest.fixture(scope="module")
def fitted(gbsg2: dict) -> dict:
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = make_model(name, **FAST[name]).fit(gbsg2["X"], gbsg2["y"])
        return cache[name]

    return get


def test_registry_lists_all_models() -> None:
    assert set(TABULAR) == {
        "coxph",
        "coxnet",
        "lasso_cox",
        "rsf",
        "gbsa",
        "auto",
        "ensemble",
        "deepsurv",
        "vaesurv",
        "discrete",
    }
    assert set(IMAGE_MODELS) == {"cnn3d", "fusion", "resnet_fusion"}
    assert all(MODELS[name].name == name for name in MODELS)
    from survival_core.models import ImageSurvivalModel

    assert set(IMAGE_MODELS) == {n for n, k in MODELS.items() if issubclass(k, ImageSurvivalModel)}


def test_table_models_load_without_the_image_networks(tmp_path):
    """Models are imported when first used: fitting and scoring a Cox model never imports MONAI
    (2 s of the CLI's start-up)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from sksurv.util import Surv\n"
        "from survival_core.models import load_model, make_model\n"
        "X = pd.DataFrame({'a': np.arange(20.0), 'b': np.arange(20.0) % 3})\n"
        "y = Surv.from_arrays(np.arange(20) % 2 == 0, np.arange(1.0, 21.0))\n"
        f"folder = make_model('coxph').fit(X, y).save(r'{tmp_path}')\n"
        "load_model(folder).predict_risk(X)\n"
        "assert 'monai' not in sys.modules, 'monai imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("name", TABULAR)
def test_contract_shapes_ranges_and_discrimination(name: str, fitted, gbsg2: dict) -> None:
    model = fitted(name)
    X_test, y_test = gbsg2["X_test"], gbsg2["y_test"]
    risk = model.predict_risk(X_test)
    survival = model.predict_survival(X_test, TIMES)
    assert risk.shape == (len(X_test),) and np.isfinite(risk).all()
    assert survival.shape == (len(X_test), len(TIMES))
    assert np.all((survival >= 0) & (survival <= 1))
    assert np.all(np.diff(survival, axis=1) <= 1e-12)
    np.testing.assert_allclose(survival[:, 0], 1.0)
    cindex = concordance_index_censored(y_test["event"], y_test["time"], risk)[0]
    assert cindex > 0.6, f"{name}: test c-index {cindex:.3f}"
    # higher risk = worse: the riskier half has lower mean survival at 3 years
    high = risk > np.median(risk)
    at_1000 = list(TIMES).index(1000.0)
    assert survival[high, at_1000].mean() < survival[~high, at_1000].mean()


def test_coxph_equals_lifelines(fitted, gbsg2: dict) -> None:
    model = fitted("coxph")
    Z = model.preprocessor_.transform(gbsg2["X"])
    Z_test = model.preprocessor_.transform(gbsg2["X_test"])
    frame = Z.assign(T=gbsg2["y"]["time"], E=gbsg2["y"]["event"])
    reference = CoxPHFitter(penalizer=0.01).fit(frame, "T", "E")
    np.testing.assert_allclose(
        model.predict_risk(gbsg2["X_test"]),
        reference.predict_log_partial_hazard(Z_test),
        rtol=1e-9,
        atol=1e-12,
    )
    # training event times: lifelines interpolates linearly between them, we keep the Breslow steps
    times = np.unique(gbsg2["y"]["time"][gbsg2["y"]["event"]])[::15]
    expected = reference.predict_survival_function(Z_test, times=times).to_numpy().T
    np.testing.assert_allclose(
        model.predict_survival(gbsg2["X_test"], times), expected, rtol=1e-8, atol=1e-12
    )


def test_forest_arrays_reproduce_sksurv_exactly(fitted, gbsg2: dict) -> None:
    model = fitted("rsf")
    Z_test = model.preprocessor_.transform(gbsg2["X_test"]).to_numpy()
    np.testing.assert_array_equal(
        model.predict_risk(gbsg2["X_test"]), model.estimator_.predict(Z_test)
    )
    times = model.arrays_["unique_times"]
    expected = model.estimator_.predict_survival_function(Z_test, return_array=True)
    np.testing.assert_array_equal(model.predict_survival(gbsg2["X_test"], times), expected)


def test_boosting_arrays_reproduce_sksurv_exactly(fitted, gbsg2: dict, tmp_path) -> None:
    from survival_core.models import load_model

    model = fitted("gbsa")
    Z_test = model.preprocessor_.transform(gbsg2["X_test"]).to_numpy()
    expected = model.estimator_.predict(Z_test)
    np.testing.assert_array_equal(model.predict_risk(gbsg2["X_test"]), expected)
    loaded = load_model(model.save(tmp_path / "gbsa"))
    np.testing.assert_array_equal(loaded.predict_risk(gbsg2["X_test"]), expected)
    surv = loaded.predict_survival(gbsg2["X_test"], TIMES)
    assert (np.diff(surv, axis=1) <= 1e-12).all() and (surv >= 0).all() and (surv <= 1).all()
    with pytest.raises(ConfigError, match="learning_rate"):
        make_model("gbsa", learning_rate=0)


def test_sorted_cox_loss_is_sksurvs_loss() -> None:
    """RadSurv's O(n log n) Cox loss and gradient equal scikit-survival's double loop, with tied
    times, no events and one subject, and stay finite where the double loop's exp overflows."""
    from sksurv.ensemble._coxph_loss import coxph_loss, coxph_negative_gradient

    from survival_core.models.boosting import SortedCoxLoss

    rng = np.random.default_rng(3)
    loss = SortedCoxLoss()
    for n, event_rate in ((1, 1.0), (2, 0.5), (40, 0.0), (300, 0.6)):
        time = rng.integers(1, 15, n).astype(float)  # many ties
        event = rng.random(n) < event_rate
        f = rng.normal(scale=2.0, size=n)
        y = Surv.from_arrays(event, time)
        stock_loss = coxph_loss(event.astype(np.uint8), time, f)
        assert loss(y, f) == pytest.approx(stock_loss, rel=1e-12, abs=1e-12)
        stock_gradient = coxph_negative_gradient(event.astype(np.uint8), time, f)
        np.testing.assert_allclose(loss.gradient(y, f), stock_gradient, rtol=1e-10, atol=1e-12)
        weights = rng.random(n)
        np.testing.assert_allclose(
            loss.gradient(y, f, sample_weight=weights), stock_gradient * weights, atol=1e-12
        )
    y = Surv.from_arrays(np.array([True, False, True]), np.array([1.0, 2.0, 3.0]))
    huge = np.array([800.0, 10.0, 790.0])  # exp(800) overflows a double
    assert loss(y, huge) == pytest.approx(loss(y, huge - 795.0), rel=1e-12)  # shift-invariant
    np.testing.assert_allclose(loss.gradient(y, huge), loss.gradient(y, huge - 795.0))
    assert np.isfinite(loss(y, huge)) and np.isfinite(loss.gradient(y, huge)).all()


@pytest.mark.parametrize("subsample", [1.0, 0.8])
def test_boosting_grows_sksurvs_trees(gbsg2: dict, subsample: float) -> None:
    """The model's boosting (the sorted Cox loss) grows the trees scikit-survival's own
    ``GradientBoostingSurvivalAnalysis`` grows from the same rows and seed."""
    from sksurv.ensemble import GradientBoostingSurvivalAnalysis

    settings = {"n_estimators": 40, "max_depth": 2, "subsample": subsample}
    model = make_model("gbsa", **settings).fit(gbsg2["X"], gbsg2["y"])
    Z = model.preprocessor_.transform(gbsg2["X"]).to_numpy()
    Z_test = model.preprocessor_.transform(gbsg2["X_test"]).to_numpy()
    stock = GradientBoostingSurvivalAnalysis(
        loss="coxph", min_samples_leaf=10, random_state=0, **settings
    ).fit(Z, gbsg2["y"])
    np.testing.assert_allclose(
        model.predict_risk(gbsg2["X_test"]), stock.predict(Z_test), atol=1e-10
    )
    np.testing.assert_allclose(model.estimator_.train_score_, stock.train_score_, rtol=1e-10)
    if subsample < 1:
        np.testing.assert_allclose(model.estimator_.oob_scores_, stock.oob_scores_, rtol=1e-10)


def _test_c_indices(gbsg2: dict, *models) -> list[float]:
    """Harrell's C of each fitted model on the held-out GBSG2 rows."""
    y_test = gbsg2["y_test"]
    return [
        concordance_index_censored(
            y_test["event"], y_test["time"], m.predict_risk(gbsg2["X_test"])
        )[0]
        for m in models
    ]


def test_forest_time_grid_bounds_the_step_functions(gbsg2: dict) -> None:
    from survival_core.models.forest import on_time_grid

    event, time = gbsg2["y"]["event"], gbsg2["y"]["time"]
    moved = on_time_grid(time, event, 20)
    assert np.unique(moved[event]).size <= 20
    assert (moved >= time).all()  # moved up, never earlier
    after = time > time[event].max()
    np.testing.assert_array_equal(moved[after], time[after])
    np.testing.assert_array_equal(on_time_grid(time, np.zeros_like(event), 20), time)
    model = make_model("rsf", n_estimators=20, time_points=20).fit(gbsg2["X"], gbsg2["y"])
    assert model.arrays_["is_event_time"].sum() <= 20
    full = make_model("rsf", n_estimators=20).fit(gbsg2["X"], gbsg2["y"])
    c = _test_c_indices(gbsg2, model, full)
    assert c[0] > 0.62 and abs(c[0] - c[1]) < 0.03  # the grid costs little discrimination
    with pytest.raises(ConfigError, match="time_points"):
        make_model("rsf", time_points=1)


def test_forest_histogram_splits_fit_faster_and_predict_alike(gbsg2: dict, tmp_path) -> None:
    from survival_core.models import load_model
    from survival_core.models.forest import bin_edges, binned

    column = np.array([[3.0], [1.0], [2.0], [1.0], [3.0]])  # few distinct values: nothing lost
    np.testing.assert_array_equal(bin_edges(column, 4), [[1.5, 2.5, np.inf]])
    np.testing.assert_array_equal(binned(column, bin_edges(column, 4))[:, 0], [2, 0, 1, 0, 2])
    wide = np.random.default_rng(0).normal(size=(1000, 1))
    assert np.unique(binned(wide, bin_edges(wide, 16))).size == 16
    params = {"n_estimators": 30, "time_points": 50, "seed": 1}
    model = make_model("rsf", max_bins=16, **params).fit(gbsg2["X"], gbsg2["y"])
    Z_test = model.preprocessor_.transform(gbsg2["X_test"]).to_numpy()
    bins = binned(Z_test, model.arrays_["bin_edges"])  # the trees split bins, not values
    np.testing.assert_array_equal(
        model.predict_risk(gbsg2["X_test"]), model.estimator_.predict(bins)
    )
    loaded = load_model(model.save(tmp_path / "binned"))
    np.testing.assert_array_equal(
        loaded.predict_risk(gbsg2["X_test"]), model.predict_risk(gbsg2["X_test"])
    )
    full = make_model("rsf", **params).fit(gbsg2["X"], gbsg2["y"])
    c = _test_c_indices(gbsg2, model, full)
    assert c[0] > 0.62 and abs(c[0] - c[1]) < 0.03  # 16 bins cost little discrimination
    with pytest.raises(ConfigError, match="max_bins"):
        make_model("rsf", max_bins=1)


def test_lasso_cox_zeroes_noise_features(gbsg2: dict) -> None:
    rng = np.random.default_rng(5)
    noise = pd.DataFrame(
        rng.normal(size=(len(gbsg2["X"]), 6)), columns=[f"noise{i}" for i in range(6)]
    )
    X = pd.concat([gbsg2["X"].reset_index(drop=True), noise], axis=1)
    model = make_model("lasso_cox", n_alphas=30).fit(X, gbsg2["y"])
    names = model.preprocessor_.feature_names_out_
    coef = dict(zip(names, model.coef_, strict=True))
    assert model.l1_ratio == 1.0
    assert sum(coef[f"noise{i}"] == 0 for i in range(6)) >= 4
    assert coef["pnodes"] > 0  # more positive nodes = worse


def test_a_penalty_chosen_on_too_few_events_says_what_can_work(gbsg2: dict) -> None:
    """One event: "Lower cv_folds (--param cv_folds=2)", which refused the same way. Fewer
    censored patients than folds: scikit-learn's "least populated class" warning on the console."""
    import warnings

    X, y = gbsg2["X"].iloc[:60], gbsg2["y"][:60].copy()
    y["event"][:] = False
    y["event"][0] = True
    with pytest.raises(InputError, match="the training data have 1. Too few events .* fit coxph"):
        make_model("coxnet", n_alphas=10).fit(X, y)
    y["event"][:] = True
    y["event"][:3] = False  # 3 censored patients in 5 folds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(make_model("coxnet", n_alphas=10).fit(X, y).predict_risk(X)).all()


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_torch_models_are_deterministic_with_a_seed(name: str, fitted, gbsg2: dict) -> None:
    params = dict(FAST[name], epochs=5)
    first = make_model(name, **params).fit(gbsg2["X"], gbsg2["y"]).predict_risk(gbsg2["X_test"])
    second = make_model(name, **params).fit(gbsg2["X"], gbsg2["y"]).predict_risk(gbsg2["X_test"])
    other = (
        make_model(name, **dict(params, seed=1))
        .fit(gbsg2["X"], gbsg2["y"])
        .predict_risk(gbsg2["X_test"])
    )
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("name", ["deepsurv", "vaesurv"])
def test_a_cox_network_gives_the_same_risks_whatever_the_rounding(
    name: str, gbsg2: dict, tmp_path: Path
) -> None:
    """The Cox loss is the same whatever constant every log-hazard gets, so the output bias's
    gradient is rounding noise, which Adam scaled to steps of the whole learning rate: the same
    patients with each value one float32 step off (another process's rounding, as `cv
    --workers 2` trains a fold) got every risk shifted by one constant (here deepsurv 0.007,
    vaesurv 0.03; a vaesurv radiomics fold under `cv --workers 2` 0.03). The bias is held at 0,
    and a model saved with a trained bias loads it as saved."""
    X = gbsg2["X"].iloc[:200]
    numbers = X.select_dtypes("number")
    steps = np.random.default_rng(0).choice([-1.0, 1.0], numbers.shape) * 2.0**-23
    jittered = X.assign(**(numbers * (1 + steps)))
    params = dict(FAST[name], epochs=20)
    fitted = [make_model(name, **params).fit(T, gbsg2["y"][:200]) for T in (X, jittered)]
    first, second = (m.predict_risk(gbsg2["X_test"]) for m in fitted)
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-5)
    head = _cox_head(fitted[0].network_)
    with torch.no_grad():  # as a model trained before the bias was held
        head.bias.fill_(0.25)
    loaded = load_model(fitted[0].save(tmp_path / name))
    np.testing.assert_allclose(loaded.predict_risk(gbsg2["X_test"]), first + 0.25, atol=1e-6)


def _cox_head(network: torch.nn.Module) -> torch.nn.Linear:
    """The log-hazard output layer of a Cox network: its last linear layer."""
    return [m for m in network.modules() if isinstance(m, torch.nn.Linear)][-1]


@pytest.mark.parametrize("name", ["deepsurv", "vaesurv"])
def test_a_cox_networks_output_bias_is_trained_under_an_l1_output_penalty_alone(
    name: str, gbsg2: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``l1_output`` penalises the log-hazards themselves, so the output bias gets a real
    gradient and is trained; without it the bias is held at 0. Holding it always failed no
    test, yet changed the results: deepsurv on veterans with l1_output=0.1 had a mean risk of
    0.2516 with its bias trained to 0.169, of 0.0832 with it held at 0."""
    built: list[float] = []
    network_class = type(make_model(name))
    build = network_class._build_network

    def recording(self, n_features: int) -> torch.nn.Module:
        network = build(self, n_features)
        built.append(_cox_head(network).bias.item())  # its value before training
        return network

    monkeypatch.setattr(network_class, "_build_network", recording)
    X, y = gbsg2["X"].iloc[:200], gbsg2["y"][:200]
    params = dict(FAST[name], epochs=20, seed=7)
    penalised, plain = (make_model(name, **params, l1_output=l1).fit(X, y) for l1 in (0.1, 0))
    trained, held = (_cox_head(m.network_).bias for m in (penalised, plain))
    assert trained.requires_grad and abs(trained.item() - built[0]) > 0.01
    assert not held.requires_grad and (built[1], held.item()) == (0.0, 0.0)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_device_parameter_is_honoured(name: str, fitted) -> None:
    model = fitted(name)
    assert model.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in model.network_.parameters())
    grid = {"edges": (0, 2, 4)} if name == "discrete" else {}  # within the 4 days followed
    with pytest.raises(ConfigError, match="tpu"):
        make_model(name, device="tpu", **grid).fit(
            np.zeros((4, 1)) + np.arange(4)[:, None],
            Surv.from_arrays([1, 0, 1, 1], [1.0, 2.0, 3.0, 4.0]),
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when no GPU is present")
def test_cuda_request_without_gpu_is_a_config_error() -> None:
    from survival_core.models.device import resolve_device

    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="CUDA"):
        resolve_device("cuda")


def test_a_gpu_index_beyond_the_machines_is_a_config_error(monkeypatch) -> None:
    from survival_core.models.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a one-GPU machine
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ConfigError, match="has 1 GPU"):
        resolve_device("cuda:1")


def test_explicit_validation_set_and_mini_batches(gbsg2: dict) -> None:
    model = make_model("deepsurv", epochs=30, patience=5, batch_size=128, lr=1e-2, device="cpu")
    model.fit(gbsg2["X"], gbsg2["y"], X_val=gbsg2["X_test"], y_val=gbsg2["y_test"])
    assert len(model.history_["val"]) == len(model.history_["train"]) <= 30
    assert 1 <= model.history_["best_epoch"] <= len(model.history_["val"])
    assert np.isfinite(model.predict_risk(gbsg2["X_test"])).all()
    with pytest.raises(ConfigError, match="X_val"):
        make_model("coxph").fit(
            gbsg2["X"], gbsg2["y"], X_val=gbsg2["X_test"], y_val=gbsg2["y_test"]
        )


def test_vae_pretraining_runs_first(gbsg2: dict) -> None:
    model = make_model(
        "vaesurv", epochs=5, pretrain_epochs=3, validation_fraction=0.0, device="cpu"
    )
    model.fit(gbsg2["X"], gbsg2["y"])
    assert len(model.history_["pretrain"]["train"]) == 3
    assert len(model.history_["train"]) == 5
    assert model.encode(gbsg2["X_test"]).shape == (len(gbsg2["X_test"]), 8)


def test_discrete_interval_targets_follow_the_censoring_rule() -> None:
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    event = np.array([True, False, False, True, True])
    time = np.array([15.0, 14.0, 16.0, 30.0, 45.0])
    survived, event_at = interval_targets(event, time, edges)
    np.testing.assert_array_equal(
        survived,
        [[1, 0, 0],  # event in (10, 20]
         [1, 0, 0],  # censored before the midpoint of (10, 20]: that interval not counted
         [1, 1, 0],  # censored after the midpoint: counted as survived
         [1, 1, 0],  # event at 30 falls in (20, 30]
         [1, 1, 1]],  # beyond the last edge: censored there
    )  # fmt: skip
    np.testing.assert_array_equal(event_at, [[0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]])


@pytest.mark.parametrize(
    ("cohort", "folds_seed", "fold", "edges"),
    [
        ("veterans", 1, 2, (0.0, 30.0, 90.0, 180.0, 365.0)),  # default kept epoch 1: c 0.34
        ("veterans", 2, 4, (0.0, 30.0, 90.0, 180.0, 365.0)),  # and 0.40 (Cox 0.66, 0.71)
        ("gbsg2", 1, 0, (0.0, 365.0, 730.0, 1095.0, 1460.0)),  # the life-table start alone: 0.59
    ],
)
def test_a_discrete_network_learns_past_the_null_model(cohort, folds_seed, fold, edges) -> None:
    """From logits 0 (hazards of 0.5), or from the life-table hazards alone, early stopping
    kept epoch 1 or 2 on these real folds (model seed 1): a network that learned no covariate,
    c-index 0.34-0.59 where Cox gives 0.66-0.71. It starts at the null model (head weights 0,
    biases the life-table hazards) and keeps no epoch before the 50th."""
    from sksurv.datasets import load_veterans_lung_cancer

    from survival_core.evaluation.splits import stratified_folds

    if cohort == "veterans":
        X, raw = load_veterans_lung_cancer()
        y = Surv.from_arrays(raw["Status"], raw["Survival_in_days"])
    else:
        X, raw = load_gbsg2()
        y = Surv.from_arrays(raw["cens"], raw["time"])
    train, test = stratified_folds(y["event"], 5, folds_seed)[fold]
    model = make_model("discrete", edges=edges, seed=1, device="cpu").fit(X.iloc[train], y[train])
    cox = make_model("coxph").fit(X.iloc[train], y[train])
    c_index, c_cox = (
        concordance_index_censored(y["event"][test], y["time"][test], m.predict_risk(X.iloc[test]))[
            0
        ]
        for m in (model, cox)
    )
    assert model.history_["best_epoch"] >= 50
    assert c_index > c_cox - 0.05, (c_index, c_cox)
    head = model.network_[-1]
    assert head.weight.abs().sum() > 0  # it learned from the covariates


def test_discrete_survival_interpolates_between_edges(fitted, gbsg2: dict) -> None:
    model = fitted("discrete")
    Z = model.preprocessor_.transform(gbsg2["X_test"].iloc[:3]).to_numpy()
    hazards = model.interval_hazards(Z)
    s = model.predict_survival(gbsg2["X_test"].iloc[:3], [500.0, 750.0, 1000.0, 9999.0])
    np.testing.assert_allclose(s[:, 0], 1 - hazards[:, 0], rtol=1e-9)
    np.testing.assert_allclose(s[:, 1], (1 - hazards[:, 0]) * np.sqrt(1 - hazards[:, 1]), rtol=1e-9)
    np.testing.assert_allclose(s[:, 3], np.prod(1 - hazards, axis=1), rtol=1e-9)
    # the risk: the mean time lost by the last edge, each interval's area S(e_k) w h / -log(1 - h)
    at_start = np.cumprod(np.hstack([np.ones((3, 1)), 1 - hazards[:, :-1]]), axis=1)
    areas = at_start * np.diff(model.edges) * hazards / -np.log1p(-hazards)
    expected = model.edges[-1] - areas.sum(axis=1)
    np.testing.assert_allclose(model.predict_risk(gbsg2["X_test"].iloc[:3]), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["coxph", "rsf", "deepsurv"])
def test_prediction_columns_matched_by_name(name: str, fitted, gbsg2: dict) -> None:
    model = fitted(name)
    X_test = gbsg2["X_test"]
    expected = model.predict_risk(X_test)
    np.testing.assert_array_equal(
        model.predict_risk(X_test[list(reversed(X_test.columns))].assign(x=1)), expected
    )
    with pytest.raises(InputError, match="tsize"):
        model.predict_risk(X_test.drop(columns="tsize"))


def test_make_model_refuses_unknown_names_and_parameters() -> None:
    with pytest.raises(ConfigError, match="coxph, coxnet"):
        make_model("cox")
    with pytest.raises(ConfigError, match="allowed: penalizer, l1_ratio"):
        make_model("coxph", alpha=0.1)
    with pytest.raises(ConfigError, match="ties"):
        make_model("deepsurv", ties="exact")
    for name in ("deepsurv", "vaesurv", "discrete"):  # the networks with an MLP
        with pytest.raises(ConfigError, match=r"dropout must be in \[0, 1\)"):
            make_model(name, dropout=1.5)
        with pytest.raises(ConfigError, match="hidden layer widths must be >= 1"):
            make_model(name, hidden=(0,))
    with pytest.raises(ConfigError, match="head_hidden layer widths must be >= 1"):
        make_model("vaesurv", head_hidden=(8, 0))
    with pytest.raises(ConfigError, match="edges"):
        make_model("discrete", edges=(0, 365, 100))
    # a negative penalty on |log-hazard| rewarded large risks: a DeepSurv fitted on GBSG2 to a
    # loss of -52, log-hazards of 54 to 119, saved without a word
    for name in ("deepsurv", "vaesurv", "cnn3d"):
        with pytest.raises(ConfigError, match="l1_output must be a number >= 0, got -1"):
            make_model(name, l1_output=-1)


def test_bad_labels_are_input_errors(gbsg2: dict) -> None:
    with pytest.raises(InputError, match="structured array"):
        make_model("coxph").fit(gbsg2["X"], gbsg2["y"]["time"])
    no_events = Surv.from_arrays(np.zeros(len(gbsg2["X"]), bool), gbsg2["y"]["time"])
    with pytest.raises(InputError, match="no events"):
        make_model("coxph").fit(gbsg2["X"], no_events)
    with pytest.raises(InputError, match="rows"):
        make_model("coxph").fit(gbsg2["X"].iloc[:10], gbsg2["y"])
    few_events = Surv.from_arrays(np.arange(len(gbsg2["X"])) < 3, gbsg2["y"]["time"])
    with pytest.raises(InputError, match="at least 5 events"):
        make_model("coxnet").fit(gbsg2["X"], few_events)


def test_a_table_of_outcomes_alone_says_features_are_missing(gbsg2: dict) -> None:
    """'No usable feature columns remain after preprocessing: ', the reason left empty."""
    X = gbsg2["X"].iloc[:, :0]
    with pytest.raises(InputError, match="holds no feature column besides the case id, time"):
        make_model("coxph").fit(X, gbsg2["y"])


def test_training_parameters_are_one_checked_settings() -> None:
    model = make_model("vaesurv", epochs=7, batch_size=4)
    assert model.training_settings == TrainingSettings(lr=0.01, epochs=7, batch_size=4)
    assert model.get_params()["epochs"] == 7
    model.epochs = 9  # assigning a training parameter replaces (and re-checks) the settings
    assert model.training_settings.epochs == 9
    for bad in ({"epochs": 0}, {"batch_size": 1}, {"validation_fraction": 1.0}, {"lr": 0}):
        with pytest.raises(ConfigError):
            make_model("cnn3d", **bad)
    with pytest.raises(ConfigError, match="patience"):
        model.patience = 0


def test_a_cox_fit_that_does_not_converge_is_an_error_not_a_silent_result() -> None:
    rng = np.random.default_rng(0)
    time = rng.exponential(100, 60) + 1
    event = rng.random(60) < 0.7
    X = pd.DataFrame({"separating": -np.log(time), "noise": rng.normal(size=60)})
    y = Surv.from_arrays(event, time)
    with pytest.raises(InputError, match="did not converge.*raise the penalizer"):
        make_model("coxph", penalizer=0.0).fit(X, y)  # lifelines only warns and returns
    assert np.isfinite(make_model("coxph", penalizer=0.1).fit(X, y).coef_).all()


def test_a_variable_given_twice_is_named_in_the_refusal_and_the_note(gbsg2: dict) -> None:
    """Real GBSG2 rows with the tumour size exported in mm and in cm (as flchain's weight in kg
    and lb): unpenalised, the refusal said 'collinear or separating features?' without naming a
    column; with the default penalty the one effect was split between the two, without a word."""
    X = gbsg2["X"].assign(tsize_cm=gbsg2["X"]["tsize"] / 10)
    twice = r"'tsize' and 'tsize_cm' \(r = \+1\.0000\)"
    with pytest.raises(InputError, match=rf"did not converge.*{twice}.*Leave one of each pair"):
        make_model("coxph", penalizer=0.0).fit(X, gbsg2["y"])
    model = make_model("coxph").fit(X, gbsg2["y"])
    said = [n for n in model.preprocessor_.notes_ if "one variable given twice" in n]
    assert len(said) == 1 and re.search(twice, said[0]) and "'age'" not in said[0]
    fitted = make_model("coxph").fit(gbsg2["X"], gbsg2["y"])  # the cohort as it is: no note
    assert not any("given twice" in n for n in fitted.preprocessor_.notes_)


def test_a_group_without_events_is_said_to_have_no_finite_hazard_ratio(gbsg2: dict) -> None:
    """Real GBSG2 rows with grade I's events censored: an unpenalised Cox fit 'converged' at
    hazard ratios of e^8 per SD for grades II and III (standard errors of about 700), without a
    word; lifelines only warns. The note names them; a penalty bounds them, without the note."""
    X, y = gbsg2["X"], gbsg2["y"].copy()
    y["event"][(X["tgrade"] == "I").to_numpy()] = False
    model = make_model("coxph", penalizer=0.0).fit(X, y)
    unbounded = [n for n in model.preprocessor_.notes_ if "no finite estimate" in n]
    assert (
        len(unbounded) == 1 and "'tgrade=II' (SE" in unbounded[0] and "'tgrade=III'" in unbounded[0]
    )
    assert "'age'" not in unbounded[0]
    penalised = make_model("coxph", penalizer=0.1).fit(X, y)
    assert not any("no finite estimate" in n for n in penalised.preprocessor_.notes_)
    assert np.abs(penalised.coef_).max() < 3
    fitted = make_model("coxph").fit(gbsg2["X"], gbsg2["y"])  # the real cohort as it is: no note
    assert not any("no finite estimate" in n for n in fitted.preprocessor_.notes_)


def test_a_baseline_of_diverged_risks_is_refused():
    """Training risks 800 log-hazard units apart (deepsurv at lr 10): exp(risk - max)
    underflowed, the baseline became inf and every survival curve NaN, with numpy warnings
    only (the CLI then failed on writing inf to JSON, leaving half a model folder)."""
    from survival_core.models.baseline import BreslowBaseline

    time = np.arange(1.0, 21.0)
    event = np.ones(20, dtype=bool)
    fine = BreslowBaseline().fit(np.linspace(-5, 5, 20), event, time)
    assert np.isfinite(fine.cum_hazard_).all()
    with pytest.raises(InputError, match="span 800 log-hazard units .* its training diverged"):
        BreslowBaseline().fit(np.linspace(-400, 400, 20), event, time)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_keeps_scikit_learns_parameter_contract(name: str) -> None:
    """get_params(deep=...), set_params and sklearn.base.clone (searches and pipelines use them)
    raised TypeError for every model."""
    from sklearn.base import clone

    model = make_model(name)
    params = model.get_params(deep=False)
    assert params == model.get_params() and list(params) == model.param_names()
    copy = clone(model)
    assert type(copy) is type(model) and copy is not model
    assert repr(copy) == repr(model)
    first, value = next(iter(params.items()))
    assert model.set_params(**{first: value}) is model and repr(model) == repr(copy)
    with pytest.raises(ConfigError, match="has no parameter.s. no_such"):
        model.set_params(no_such=1)


def test_a_discrete_grid_outside_the_follow_up_is_refused() -> None:
    """Real cohorts: GBSG2's edges written in months but read as days hold none of its 299
    events (the model predicted a survival of 0.999 at 3 years, Kaplan-Meier 0.64); AIDS's
    follow-up ends at 364 days, so the default yearly intervals after the first were never
    learned (hazards of about 0.5, a test c-index of 0.50)."""
    from sksurv.datasets import load_aids

    X, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    months = make_model("discrete", edges=(0, 12, 24, 36, 48), epochs=2, device="cpu")
    refusal = r"None of the 299 training events .*\(0 to 48 days\).*2659 days \(.*87.4 months"
    with pytest.raises(InputError, match=refusal):
        months.fit(X, y)
    X, y = load_aids()
    y = Surv.from_arrays(y["censor"], y["time"])
    with pytest.raises(InputError, match="No training patient is followed past 365 days"):
        make_model("discrete", epochs=2, device="cpu").fit(X, y)


def test_a_discrete_model_reports_no_survival_past_its_last_edge(gbsg2: dict, fitted) -> None:
    """GBSG2 is followed to 2,659 days; a model of yearly intervals carried its survival flat
    after its last edge (0.53 at 1,800-2,600 days, Kaplan-Meier 0.51-0.34), drawn on the
    patient's curve and evaluated at cross-validation horizons past the last edge. The 3-year
    survival (1,095.75 days) of edges of 1,095 days is still its own (it was then lost)."""
    from survival_core.evaluation.splits import nested_cv
    from survival_core.models.scoring import LoadedModel
    from survival_core.workflows.crossval import cross_validate

    yearly = {"edges": (0, 365, 730, 1095), "epochs": 3, "device": "cpu"}
    model = make_model("discrete", **yearly).fit(gbsg2["X"], gbsg2["y"])
    assert model.survival_until == 1095.0
    assert fitted("coxph").survival_until == np.inf
    card = type("Card", (), {"stratification": {"km": {"0": {"time": [2659.0]}}}})()
    loaded = LoadedModel(Path("gbsg2"), model, card)
    assert 1095.75 < loaded.last_follow_up < 1101
    assert [loaded.followed(m) for m in (12, 24, 36, 48)] == [True, True, True, False]

    X, y = gbsg2["X"], gbsg2["y"]
    folds = nested_cv(y["event"], 1, 3, seed=0)
    factory = lambda: make_model("discrete", **yearly)  # noqa: E731
    result = cross_validate(X, y, factory, folds, horizons=(365, 1095.75, 1825))
    assert list(result.summary["td_auc"]) == ["365", "1095.75"]
    assert "survival_1825" not in result.oof
    assert any(
        "1825 days left out: beyond the model's last estimated time (its last interval's edge, "
        "1095 days)" in n
        for n in result.summary["preprocessing_notes"]
    )


def test_validation_rows_without_an_event_do_not_stop_a_cox_network_at_epoch_one(
    gbsg2: dict,
) -> None:
    """The Cox loss of rows without an event is 0 at every epoch: early stopping kept the first
    epoch's weights (21 epochs run, best epoch 1), silently; the fit now trains every epoch and
    says why."""
    censored = ~gbsg2["y_test"]["event"]
    model = make_model("deepsurv", epochs=25, patience=5, lr=1e-2, device="cpu")
    model.fit(
        gbsg2["X"], gbsg2["y"], X_val=gbsg2["X_test"][censored], y_val=gbsg2["y_test"][censored]
    )
    assert model.history_["best_epoch"] == len(model.history_["train"]) == 25
    assert any("hold no event" in note for note in model.preprocessor_.notes_)


def test_each_model_names_its_risk_scale_and_whether_its_curves_can_cross():
    expected = {
        "coxph": ("log relative hazard", False),
        "deepsurv": ("log relative hazard", False),
        "rsf": ("summed cumulative hazard (forest)", True),
        "discrete": ("mean days of life lost by 1460 days", True),
        "ensemble": ("weighted sum of its members' z-scored risks", True),
    }
    for name, (scale, cross) in expected.items():
        model = make_model(name)
        assert (model.risk_scale, model.curves_may_cross) == (scale, cross), name
    edges = make_model("discrete", edges=[0, 365, 730])
    assert edges.risk_scale == "mean days of life lost by 730 days"


def test_the_discrete_risk_is_the_mean_time_lost_by_the_last_edge(gbsg2: dict, fitted) -> None:
    """The risk is the last edge minus the area under the survival curve the model draws."""
    model = fitted("discrete")
    times = np.linspace(0.0, model.edges[-1], 100_001)
    area = np.trapezoid(model.predict_survival(gbsg2["X"][:20], times), times, axis=1)
    np.testing.assert_allclose(model.predict_risk(gbsg2["X"][:20]), times[-1] - area, atol=1e-3)


def test_the_discrete_risk_ranks_where_nearly_everyone_dies_by_the_last_edge() -> None:
    """Veterans followed to 2 years, nearly all dead by then: 1 - S(2 years), the risk before,
    was 0.988-0.989 for every patient and ranked them by its fourth decimal (3-fold CV c-index
    0.651); the mean time lost by 2 years ranks them by the whole curve (0.683)."""
    X, y = load_veterans_lung_cancer()
    y = Surv.from_arrays(y["Status"], y["Survival_in_days"])
    folds = splits.nested_cv(y["event"], 1, 3, seed=0)
    factory = partial(make_model, "discrete", edges=[0, 90, 180, 365, 730])
    result = cross_validate(pd.DataFrame(X), y, factory, folds, horizons=(90, 180), n_bootstrap=20)
    assert result.summary["fold_c_index_mean"] > 0.67


def test_the_time_lost_falls_with_the_hazard_to_none_and_counts_no_time_before_the_first_edge():
    """A near-zero hazard (logit below -27.6) counted its whole interval as lost, a patient of
    the best survival getting nearly the largest risk; edges from 30 days counted those 30 days
    lost though S is 1 there."""
    from survival_core.models.discrete import interval_survival, time_lost

    edges = (0.0, 365.0, 730.0, 1095.0, 1460.0)
    logits = torch.tensor([[v] * 4 for v in (-2.0, -10.0, -27.0, -28.0, -40.0, -110.0)])
    lost = time_lost(logits.double(), edges).numpy()
    assert np.all(np.diff(lost) <= 0) and lost[-1] < 1e-9
    lost32 = time_lost(logits.requires_grad_(), edges)
    lost32.sum().backward()
    assert torch.isfinite(lost32).all() and torch.isfinite(logits.grad).all()
    later = (30.0, 365.0, 730.0)
    row = torch.tensor([[-1.0, -2.0]], dtype=torch.float64)
    times = np.linspace(0.0, 730.0, 200_001)
    curve = interval_survival(torch.sigmoid(row).numpy(), later, times)[0]
    expected = 730.0 - np.trapezoid(curve, times)
    assert float(time_lost(row, later)[0]) == pytest.approx(expected, abs=1e-3)
