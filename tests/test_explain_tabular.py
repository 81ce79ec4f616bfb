"""Integrated Gradients for the torch survival models (survival_core.explain.tabular)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
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
    "deepsurv": {"hidden": (16,), "lr": 0.01, "epochs": 60},
    "vaesurv": {"latent_dim": 4, "hidden": (16,), "head_hidden": (8,), "epochs": 40},
    "discrete": {"edges": (0.0, 200.0, 400.0, 800.0), "hidden": (16,), "lr": 0.01, "epochs": 60},
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
    for name, params in TORCH.items():
        model = make_model(
            name,
            validation_fraction=0.0,
            dropout=0.0,
            weight_decay=1e-2,
            seed=0,
            device="cpu",
            **params,
        )
        fitted[name] = model.fit(cohort["X"], cohort["y"])
    return fitted


@pytest.mark.parametrize("name", list(TORCH))
def test_risk_function_equals_predict_risk(name: str, models: dict, cohort: dict) -> None:
    model = models[name]
    Z = torch.as_tensor(model._matrix(cohort["X"]))
    with torch.no_grad():
        risk = risk_function(model)(Z).numpy()
    np.testing.assert_allclose(risk, model.predict_risk(cohort["X"]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(TORCH))
def test_completeness_within_one_percent_for_every_patient(
    name: str, models: dict, cohort: dict
) -> None:
    model, X = models[name], cohort["X"].iloc[:60]
    result = explain_patients(model, X, X_train=cohort["X"])
    assert isinstance(result, Attributions)
    assert list(result.values.columns) == model.features_used_
    assert list(result.values.index) == list(X.index)
    assert 32 <= result.n_steps <= 1024
    assert result.steps.min() == 32 and result.steps.max() == result.n_steps
    assert (result.completeness_delta <= 0.01).all(), result.completeness_delta.max()
    assert result.max_delta == result.completeness_delta.max()
    print(f"{name}: n_steps={result.n_steps}, max delta={result.max_delta:.2e}")
    np.testing.assert_allclose(result.f_x, model.predict_risk(X), rtol=1e-12)
    # completeness recomputed here: error relative to |f(x) - f(b)|, or to 0.1 sum|attr| where
    # large attributions cancel (the difference is then near 0)
    difference = result.f_x - result.f_baseline
    error = (result.values.sum(axis=1) - difference).abs()
    np.testing.assert_allclose(error, result.absolute_error, atol=1e-12)
    scale = np.maximum(difference.abs(), 0.1 * result.values.abs().sum(axis=1))
    assert (error <= 0.01 * np.maximum(scale, 1e-4) + 1e-12).all()
    plain = difference.abs() >= 0.1 * result.values.abs().sum(axis=1)  # the floor is not binding
    assert plain.mean() > 0.5
    assert (error[plain] <= 0.01 * difference.abs()[plain] + 1e-12).all()
    # the training mean of z-scored inputs is (numerically) zero: same baseline without X_train
    np.testing.assert_allclose(result.baseline, 0.0, atol=1e-9)
    default = explain_patients(model, X, n_steps=64)
    assert (default.steps == 64).all()
    without_train = explain_patients(model, X, n_steps=64, X_train=cohort["X"])
    np.testing.assert_allclose(default.values, without_train.values, atol=1e-5)


def test_deepsurv_ranking_puts_the_true_features_first(models: dict, cohort: dict) -> None:
    result = explain_patients(models["deepsurv"], cohort["X"].iloc[:120])
    ranking = result.ranking()
    assert ranking.is_monotonic_decreasing
    assert set(ranking.index[:2]) == set(TRUE)
    assert ranking.iloc[1] > 3 * ranking.iloc[2]
    top = result.top("P000", k=2)
    assert len(top) == 2
    assert top.abs().is_monotonic_decreasing
    assert set(top.index) <= set(result.values.columns)


@pytest.mark.parametrize("name", list(TORCH))
def test_reference_patient_has_zero_attributions(name: str, models: dict, cohort: dict) -> None:
    X = cohort["X"].iloc[:20]
    reference = X.loc[["P003"]]
    result = explain_patients(models[name], X, baseline=reference)
    assert (result.values.loc["P003"] == 0.0).all()
    assert result.f_x.loc["P003"] == pytest.approx(result.f_baseline.loc["P003"], abs=1e-6)
    assert (result.completeness_delta <= 0.01).all()
    as_frame = explain_patients(models[name], X, baseline=reference, n_steps=64)
    as_series = explain_patients(models[name], X, baseline=X.loc["P003"], n_steps=64)
    np.testing.assert_allclose(as_series.values, as_frame.values)


def test_fixed_steps_are_used_as_given(models: dict, cohort: dict) -> None:
    result = explain_patients(models["deepsurv"], cohort["X"].iloc[:10], n_steps=8)
    assert result.n_steps == 8
    with pytest.raises(ConfigError, match="n_steps"):
        explain_patients(models["deepsurv"], cohort["X"], n_steps=0)
    with pytest.raises(ConfigError, match="baseline"):
        explain_patients(models["deepsurv"], cohort["X"], baseline="median")
    with pytest.raises(ConfigError, match="one row"):
        explain_patients(models["deepsurv"], cohort["X"], baseline=cohort["X"].iloc[:2])


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
    assert result.n_steps == 0
    assert result.max_delta < 1e-9
    np.testing.assert_allclose(result.f_x, cox.predict_risk(X))
    assert set(result.ranking().index[:2]) == set(TRUE)
    with pytest.raises(ConfigError, match="explain_patients"):
        linear_attributions(make_model("deepsurv"), X)
