"""Integrated Gradients for the torch survival models (survival_core.explain.tabular)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import IntegratedGradients
from sksurv.util import Surv

from survival_core.errors import ConfigError
from survival_core.explain.tabular import (
    Attributions,
    explain_patients,
    linear_attributions,
    risk_function,
)
from survival_core.models import make_model

TRUE = ["f0", "f1"]
TORCH = {
    "deepsurv": ("deepsurv", {"hidden": (16,), "lr": 0.01, "epochs": 60}),
    "deepsurv-bn": ("deepsurv", {"hidden": (16, 8), "batchnorm": True, "lr": 0.01, "epochs": 40}),
    "vaesurv": (
        "vaesurv",
        {"latent_dim": 4, "hidden": (16,), "head_hidden": (8,), "epochs": 40},
    ),
    "discrete": (
        "discrete",
        {"edges": (0.0, 200.0, 400.0, 800.0), "hidden": (16,), "lr": 0.01, "epochs": 60},
    ),
}


@pytest.fixture(scope="module")
def cohort() -> dict:
    """300 patients, 6 features; the hazard depends on f0 (up) and f1 (down) only."""
    rng = np.random.default_rng(7)
    n = 300
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"f{i}" for i in range(6)])
    X.index = [f"P{i:03d}" for i in range(n)]
    log_hazard = 1.2 * X["f0"] - 1.0 * X["f1"]
    time = rng.exponential(500.0 * np.exp(-log_hazard))
    censor = rng.uniform(100.0, 1500.0, size=n)
    y = Surv.from_arrays(time <= censor, np.minimum(time, censor))
    return {"X": X, "y": y}


@pytest.fixture(scope="module")
def models(cohort: dict) -> dict:
    fitted = {}
    for label, (name, params) in TORCH.items():
        model = make_model(
            name,
            validation_fraction=0.0,
            dropout=0.0,
            weight_decay=1e-2,
            seed=0,
            device="cpu",
            **params,
        )
        fitted[label] = model.fit(cohort["X"], cohort["y"])
    return fitted


def explain_quietly(*args, **kwargs) -> Attributions:
    """explain_patients, failing the test on any warning (fallback or completeness)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return explain_patients(*args, **kwargs)


@pytest.mark.parametrize("name", list(TORCH))
def test_risk_function_equals_predict_risk(name: str, models: dict, cohort: dict) -> None:
    model = models[name]
    Z = torch.as_tensor(model._matrix(cohort["X"]))
    with torch.no_grad():
        risk = risk_function(model)(Z).numpy()
        risk64 = risk_function(model, dtype=torch.float64)(Z).numpy()
    np.testing.assert_allclose(risk, model.predict_risk(cohort["X"]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(risk64, risk, rtol=1e-5, atol=1e-5)  # float32 rounding only
    assert not np.array_equal(risk64, risk)


@pytest.mark.parametrize("name", list(TORCH))
def test_exact_completeness_for_every_patient(name: str, models: dict, cohort: dict) -> None:
    model, X = models[name], cohort["X"]
    result = explain_quietly(model, X, X_train=X)  # speed: benchmarks/bench_explain.py
    assert isinstance(result, Attributions)
    assert result.integration == "piecewise"
    assert list(result.values.columns) == model.features_used_
    assert list(result.values.index) == list(X.index)
    np.testing.assert_allclose(result.f_x, model.predict_risk(X), rtol=1e-5, atol=1e-5)
    # completeness recomputed from its definition: relative to |f(x) - f(b)|, floor 1e-8
    difference = result.f_x - result.f_baseline
    error = (result.values.sum(axis=1) - difference).abs()
    np.testing.assert_allclose(error, result.absolute_error, atol=1e-15)
    np.testing.assert_allclose(
        result.completeness_delta, error / np.maximum(difference.abs(), 1e-8), rtol=1e-12
    )
    assert result.max_delta == result.completeness_delta.max()
    assert (result.completeness_delta <= 1e-6).all(), result.max_delta
    # patients whose large attributions cancel (f(x) close to f(b)) are held to the same bound
    cancelling = difference.abs() < 0.05 * result.values.abs().sum(axis=1)
    assert cancelling.sum() >= 5
    assert (error[cancelling] <= 1e-6 * difference.abs()[cancelling]).all()
    # one gradient per linear piece (Cox networks) or Gauss-Legendre nodes (discrete)
    assert (result.steps >= 1).all() and result.n_steps == result.steps.max()
    assert result.steps.median() > (6 if name == "discrete" else 2)
    # the training mean of z-scored inputs is (numerically) zero: same baseline without X_train
    np.testing.assert_allclose(result.baseline, 0.0, atol=1e-9)
    without_train = explain_quietly(model, X.iloc[:30])
    np.testing.assert_allclose(without_train.values, result.values.iloc[:30], atol=1e-9)
    batched = explain_quietly(model, X.iloc[:30], internal_batch_size=7)
    np.testing.assert_allclose(batched.values, without_train.values, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", list(TORCH))
def test_constructed_patient_at_the_baseline_risk(name: str, models: dict, cohort: dict) -> None:
    """A patient on the level set f(x) = f(b) between a high- and a low-risk patient: large
    attributions that cancel, completeness still relative to the tiny difference."""
    model, X = models[name], cohort["X"]
    f = risk_function(model, dtype=torch.float64)

    def risk_at(s: float) -> float:
        row = X.loc[[low]] + s * (X.loc[[high]].to_numpy() - X.loc[[low]].to_numpy())
        with torch.no_grad():
            return float(f(torch.as_tensor(model._matrix(row)))[0])

    risks = model.predict_risk(X)
    low, high = X.index[np.argmin(risks)], X.index[np.argmax(risks)]
    with torch.no_grad():
        f_b = float(f(torch.zeros(1, len(model.features_used_), dtype=torch.float64))[0])
    lo, hi = 0.0, 1.0
    assert risk_at(lo) < f_b < risk_at(hi)
    for _ in range(60):
        middle = (lo + hi) / 2
        lo, hi = (middle, hi) if risk_at(middle) < f_b else (lo, middle)
    patient = X.loc[[low]] + hi * (X.loc[[high]].to_numpy() - X.loc[[low]].to_numpy())
    result = explain_quietly(model, patient)
    difference = abs(float(result.f_x.iloc[0] - result.f_baseline.iloc[0]))
    assert difference < 1e-9
    assert result.values.abs().to_numpy().sum() > 1e3 * difference + 1e-3
    assert result.absolute_error.iloc[0] < 1e-11
    assert result.max_delta <= 1e-4


@pytest.mark.parametrize("name", list(TORCH))
def test_agrees_with_captum_many_step_ig(name: str, models: dict, cohort: dict) -> None:
    model, X = models[name], cohort["X"].iloc[:12]
    exact = explain_quietly(model, X).values.to_numpy()
    Z = torch.as_tensor(model._matrix(X))
    ig = IntegratedGradients(risk_function(model, dtype=torch.float64))

    def captum_error(steps: int) -> float:
        approx = ig.attribute(
            Z, baselines=torch.zeros_like(Z), n_steps=steps, method="riemann_trapezoid"
        )
        return float(np.abs(approx.numpy() - exact).max())

    coarse, fine = captum_error(1024), captum_error(4096)
    assert fine <= 2e-3 * np.abs(exact).max()
    assert fine < 0.6 * coarse  # Captum converges (as 1 / steps) to the exact integral


def test_one_hidden_layer_relu_net_matches_analytic_ig(cohort: dict) -> None:
    """f(z) = v . relu(W z + c) + c0: unit j is active on a sub-interval of the path, ending at
    its kink a_j = -c_j / (W_j . z) (baseline 0), so IG_i = z_i sum_j v_j W_ji length_j."""
    X, y = cohort["X"], cohort["y"]
    model = make_model(
        "deepsurv", hidden=(4,), dropout=0.0, epochs=1, validation_fraction=0.0, device="cpu"
    ).fit(X, y)
    W = np.array(
        [
            [1.0, -0.5, 0.0, 0.2, 0.0, 0.0],
            [-0.8, 1.0, 0.3, 0.0, 0.0, 0.1],
            [0.0, 0.0, 1.5, -1.0, 0.4, 0.0],
            [0.3, 0.3, 0.3, 0.3, 0.3, -0.3],
        ]
    )
    c, v, c0 = np.array([0.4, -0.3, 0.1, -0.2]), np.array([1.5, -2.0, 0.7, 1.1]), 0.25
    first, last = model.network_[0][0], model.network_[1]
    with torch.no_grad():
        first.weight.copy_(torch.as_tensor(W))
        first.bias.copy_(torch.as_tensor(c))
        last.weight.copy_(torch.as_tensor(v[None, :]))
        last.bias.fill_(c0)
    # the network holds float32 weights: the analytic IG uses exactly those values
    W, c = first.weight.detach().double().numpy(), first.bias.detach().double().numpy()
    v, c0 = last.weight.detach().double().numpy()[0], float(last.bias.detach().double())
    Z = model._matrix(X)
    slope = Z @ W.T  # d z_j / da along the path from 0 to the patient
    with np.errstate(divide="ignore", invalid="ignore"):
        kink = -c[None, :] / slope
    active_length = np.where(slope > 0, np.clip(1 - kink, 0, 1), np.clip(kink, 0, 1))
    active_length = np.where(slope == 0, (c[None, :] > 0).astype(float), active_length)
    expected = Z * ((active_length * v[None, :]) @ W)
    result = explain_quietly(model, X)
    np.testing.assert_allclose(result.values.to_numpy(), expected, rtol=1e-9, atol=1e-9)
    f = np.maximum(Z @ W.T + c, 0) @ v + c0
    np.testing.assert_allclose(result.f_x, f, rtol=1e-12)
    assert result.f_baseline.iloc[0] == pytest.approx(np.maximum(c, 0) @ v + c0, rel=1e-12)
    # one gradient evaluation per linear piece: 1 + the kinks strictly inside the path
    kinks_inside = ((kink > 0) & (kink < 1)).sum(axis=1)
    np.testing.assert_array_equal(result.steps, 1 + kinks_inside)
    assert kinks_inside.max() >= 2


@pytest.mark.parametrize("name", list(TORCH))
def test_reference_patient_has_zero_attributions(name: str, models: dict, cohort: dict) -> None:
    X = cohort["X"].iloc[:20]
    reference = X.loc[["P003"]]
    result = explain_quietly(models[name], X, baseline=reference)
    assert (result.values.loc["P003"] == 0.0).all()
    # f(x) and f(b) may differ in the last bit (float64 sums over batches of 20 and 1 rows):
    # the 1e-8 floor keeps that rounding from reading as a completeness error
    assert result.f_x.loc["P003"] == pytest.approx(result.f_baseline.loc["P003"], abs=1e-12)
    assert (result.completeness_delta <= 1e-6).all()
    as_series = explain_quietly(models[name], X, baseline=X.loc["P003"])
    np.testing.assert_allclose(as_series.values, result.values)


def test_fixed_steps_run_captum(models: dict, cohort: dict) -> None:
    X = cohort["X"].iloc[:10]
    result = explain_quietly(models["deepsurv"], X, n_steps=8)
    assert result.integration == "captum"
    assert result.n_steps == 8 and (result.steps == 8).all()
    exact = explain_quietly(models["deepsurv"], X)
    assert result.max_delta > 1e3 * exact.max_delta  # 8 steps miss the kinks
    with pytest.raises(ConfigError, match="n_steps"):
        explain_patients(models["deepsurv"], cohort["X"], n_steps=0)
    with pytest.raises(ConfigError, match="internal_batch_size"):
        explain_patients(models["deepsurv"], cohort["X"], internal_batch_size=0)
    with pytest.raises(ConfigError, match="baseline"):
        explain_patients(models["deepsurv"], cohort["X"], baseline="median")
    with pytest.raises(ConfigError, match="one row"):
        explain_patients(models["deepsurv"], cohort["X"], baseline=cohort["X"].iloc[:2])


def test_unknown_layer_falls_back_to_adaptive_captum(models: dict, cohort: dict) -> None:
    model = copy.deepcopy(models["deepsurv"])
    model.network_[0][1] = torch.nn.Tanh()  # smooth, not piecewise linear
    X = cohort["X"].iloc[:40]
    with pytest.warns(UserWarning, match="Captum") as caught:
        result = explain_patients(model, X)
    assert len(caught) == 1  # the fallback notice; the completeness target is met
    assert result.integration == "captum"
    assert 32 <= result.n_steps <= 1024 and result.steps.min() == 32
    np.testing.assert_allclose(result.f_x, model.predict_risk(X), rtol=1e-5, atol=1e-5)
    assert (result.completeness_delta <= 0.01).all()
    # the model's own network is untouched by the explanation
    assert models["deepsurv"].network_[0][1].__class__ is torch.nn.ReLU


def test_deepsurv_ranking_puts_the_true_features_first(models: dict, cohort: dict) -> None:
    result = explain_quietly(models["deepsurv"], cohort["X"].iloc[:120])
    ranking = result.ranking()
    assert ranking.is_monotonic_decreasing
    assert set(ranking.index[:2]) == set(TRUE)
    assert ranking.iloc[1] > 3 * ranking.iloc[2]
    top = result.top("P000", k=2)
    assert len(top) == 2
    assert top.abs().is_monotonic_decreasing
    assert set(top.index) <= set(result.values.columns)


def test_non_torch_models_are_refused(cohort: dict) -> None:
    X, y = cohort["X"], cohort["y"]
    cox = make_model("coxph").fit(X, y)
    with pytest.raises(ConfigError, match="linear_attributions"):
        explain_patients(cox, X)
    with pytest.raises(ConfigError, match="neural model"):
        risk_function(cox)
    forest = make_model("rsf", n_estimators=5, seed=0).fit(X, y)
    with pytest.raises(ConfigError, match="neural model"):
        explain_patients(forest, X)
    with pytest.raises(ConfigError, match="not fitted"):
        explain_patients(make_model("deepsurv"), X)


def test_linear_cox_attributions_are_exact(cohort: dict) -> None:
    X, y = cohort["X"], cohort["y"]
    cox = make_model("coxph").fit(X, y)
    result = linear_attributions(cox, X, X_train=X)
    assert result.integration == "linear"
    assert result.n_steps == 0
    assert result.max_delta < 1e-9
    np.testing.assert_allclose(result.f_x, cox.predict_risk(X))
    assert set(result.ranking().index[:2]) == set(TRUE)
    with pytest.raises(ConfigError, match="explain_patients"):
        linear_attributions(make_model("deepsurv"), X)
