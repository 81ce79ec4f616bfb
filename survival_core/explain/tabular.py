"""Integrated Gradients for the tabular inputs of the torch survival models.

The attributed function is exactly the risk the model reports: :func:`risk_function` maps the
model's input matrix (``model._matrix(X)``: preprocessed, reduced) to

- ``deepsurv`` / ``vaesurv``: the network output, a log-hazard (VAE-SurvNet in eval mode uses the
  latent mean, so it is deterministic);
- ``discrete``: 1 - S(last edge) = 1 - prod_k (1 - sigmoid(logit_k)), the event probability by the
  horizon,

so ``risk_function(model)(matrix) == model.predict_risk(X)``. Attributions are per patient and per
model input column (``model.features_used_``), relative to a baseline:

- ``"mean"``: the training mean of the model's input matrix. With ``X_train`` it is computed as
  ``model._matrix(X_train).mean(0)``; without, it is zeros, because the preprocessing z-scores every
  output column with the training mean and the reductions only keep columns (or z-score them again
  with the training mean), so the training mean of every model input is 0;
- a reference patient: a one-row DataFrame (or a Series, one raw row) in the same raw format as
  ``X``, passed through the model's preprocessing; that patient's own attributions are then zero.

Completeness: IG attributions of a patient sum to f(x) - f(baseline) up to the error of the path
integral's quadrature. ``completeness_delta`` = |sum(attr) - (f(x) - f(b))| / |f(x) - f(b)|, with
the denominator floored at ``CANCEL_SHARE`` x sum|attr| (and at ``ABS_FLOOR``): when a patient's
risk is close to the baseline's because large attributions cancel (f(x) - f(b) near 0, say +0.5 and
-0.5), an error relative to that near-zero difference measures nothing, and no number of steps gets
it under 1 % (the ReLU networks' integrands have kinks, so the quadrature error falls only as
1/steps); the error is then judged against the attributions' own size. ``absolute_error`` keeps
|sum(attr) - (f(x) - f(b))| unscaled. A patient exactly at the baseline has zero attributions and a
delta of about 1e-3 at most (float32 rounding of f across batch sizes, over the 1e-4 floor).

With ``n_steps=None`` the steps start at 32 and double (at most 1024) for the patients whose delta
is still above 1 %; the others keep their attributions, so ``steps`` may differ between patients
and ``n_steps`` is the largest used. A warning names the remaining delta if 1024 steps do not do.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from captum.attr import IntegratedGradients

from survival_core.errors import ConfigError, InputError
from survival_core.models.base import SurvivalModel, TorchSurvivalModel
from survival_core.models.coxnet import Coxnet
from survival_core.models.coxph import CoxPH
from survival_core.models.discrete import DiscreteTimeSurv

#: Automatic step search: first value, cap and target relative completeness delta.
START_STEPS = 32
MAX_STEPS = 1024
TOLERANCE = 0.01
#: Floors of |f(x) - f(baseline)| in the relative completeness delta (see the module notes).
ABS_FLOOR = 1e-4  # float32 networks: risks of the same input differ by ~1e-7 across batches
CANCEL_SHARE = 0.1


@dataclass
class Attributions:
    """Attributions of a cohort, one row per patient and one column per model input.

    values : DataFrame (patients x features), attribution of each input to the patient's risk.
    f_x : risk of each patient (equals ``model.predict_risk``).
    f_baseline : risk of the baseline (the same value in every row).
    completeness_delta : per patient |sum(attr) - (f_x - f_baseline)| / |f_x - f_baseline|, the
        denominator floored at 0.1 x sum|attr| (see the module notes).
    absolute_error : per patient |sum(attr) - (f_x - f_baseline)|.
    n_steps : largest number of integration steps used (0 for the exact linear attributions).
    steps : integration steps used for each patient.
    baseline : the baseline in model input space (Series over the features).
    """

    values: pd.DataFrame
    f_x: pd.Series
    f_baseline: pd.Series
    completeness_delta: pd.Series
    absolute_error: pd.Series
    n_steps: int
    steps: pd.Series
    baseline: pd.Series

    @property
    def max_delta(self) -> float:
        """The largest completeness delta over the patients."""
        return float(self.completeness_delta.max()) if len(self.completeness_delta) else 0.0

    def ranking(self) -> pd.Series:
        """Cohort-level importance: mean |attribution| per feature, largest first."""
        return self.values.abs().mean(axis=0).sort_values(ascending=False, kind="stable")

    def top(self, patient: Any, k: int = 5) -> pd.Series:
        """The ``k`` features with the largest |attribution| for ``patient`` (an index label), signed."""
        if patient not in self.values.index:
            raise InputError(f"Patient {patient!r} is not among the explained rows.")
        row = self.values.loc[patient]
        if isinstance(row, pd.DataFrame):
            raise InputError(f"Patient label {patient!r} is not unique among the explained rows.")
        order = row.abs().sort_values(ascending=False, kind="stable").index[: max(0, int(k))]
        return row[order]


def _is_linear_cox(model: SurvivalModel) -> bool:
    return isinstance(model, CoxPH | Coxnet)


def _require_torch(model: Any) -> TorchSurvivalModel:
    if isinstance(model, TorchSurvivalModel):
        if not hasattr(model, "network_"):
            raise ConfigError(f"Model '{model.name}' is not fitted yet; call fit first.")
        return model
    name = getattr(model, "name", type(model).__name__)
    if isinstance(model, SurvivalModel) and _is_linear_cox(model):
        raise ConfigError(
            f"Integrated Gradients needs a neural model (deepsurv, vaesurv, discrete); '{name}' is a "
            "linear Cox model, whose exact attributions are coefficient x (x - baseline): use "
            "survival_core.explain.tabular.linear_attributions(model, X, baseline)."
        )
    raise ConfigError(
        f"Integrated Gradients needs a neural model (deepsurv, vaesurv, discrete); '{name}' has no "
        "gradients to integrate (a random survival forest is piecewise constant)."
    )


def risk_function(model: SurvivalModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """The map from the model's input matrix (rows x ``features_used_``) to its reported risk.

    The network is put in eval mode (no dropout, batch-norm running statistics, VAE latent mean).
    The input is cast to float32 on the model's device, as ``predict_risk`` does; the output is a
    float64 vector, one risk per row, differentiable with respect to the input.
    """
    model = _require_torch(model)
    net = model.network_
    net.eval()
    device = model.device_

    if isinstance(model, DiscreteTimeSurv):

        def discrete_risk(x: torch.Tensor) -> torch.Tensor:
            hazards = torch.sigmoid(net(x.to(device=device, dtype=torch.float32))).double()
            log_keep = torch.log1p(-hazards.clamp(0.0, 1.0 - 1e-12))
            return 1.0 - torch.exp(log_keep.sum(dim=1))

        return discrete_risk

    def log_hazard(x: torch.Tensor) -> torch.Tensor:
        return net(x.to(device=device, dtype=torch.float32)).reshape(-1).double()

    return log_hazard


def _baseline_matrix(model: SurvivalModel, baseline: Any, X_train: Any) -> np.ndarray:
    """The baseline as one row of the model's input matrix."""
    n_features = len(model.features_used_)
    if isinstance(baseline, str):
        if baseline != "mean":
            raise ConfigError(
                f"baseline must be 'mean' or a reference patient's row (a one-row DataFrame), "
                f"got {baseline!r}."
            )
        if X_train is None:
            # The preprocessing z-scores every column with the training mean and the reductions
            # keep (or re-z-score) columns, so the training mean of each model input is 0.
            return np.zeros(n_features)
        train = model._matrix(X_train)
        if len(train) == 0:
            raise InputError("X_train has no rows; cannot compute the training mean.")
        return train.mean(axis=0)
    if isinstance(baseline, pd.Series):
        baseline = baseline.to_frame().T.infer_objects()
    if isinstance(baseline, pd.DataFrame):
        if len(baseline) != 1:
            raise ConfigError(
                f"A reference-patient baseline must be one row, got {len(baseline)} rows; "
                "select it with X.loc[[patient_id]]."
            )
        return model._matrix(baseline)[0]
    raise ConfigError(
        "baseline must be 'mean' or a reference patient's row (a one-row DataFrame or a Series), "
        f"got {type(baseline).__name__}."
    )


def _patient_index(X: Any, n: int) -> pd.Index:
    return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)


def _deltas(attr: np.ndarray, f_x: np.ndarray, f_b: float) -> np.ndarray:
    difference = f_x - f_b
    scale = np.maximum(np.abs(difference), CANCEL_SHARE * np.abs(attr).sum(axis=1))
    return np.abs(attr.sum(axis=1) - difference) / np.maximum(scale, ABS_FLOOR)


def _package(
    model: SurvivalModel,
    X: Any,
    attr: np.ndarray,
    f_x: np.ndarray,
    f_b: float,
    steps: np.ndarray,
    base: np.ndarray,
) -> Attributions:
    features = model.features_used_
    index = _patient_index(X, len(f_x))
    error = np.abs(attr.sum(axis=1) - (f_x - f_b))
    return Attributions(
        values=pd.DataFrame(attr, index=index, columns=features),
        f_x=pd.Series(f_x, index=index, name="f_x"),
        f_baseline=pd.Series(np.full(len(f_x), f_b), index=index, name="f_baseline"),
        completeness_delta=pd.Series(_deltas(attr, f_x, f_b), index=index, name="delta"),
        absolute_error=pd.Series(error, index=index, name="absolute_error"),
        n_steps=int(steps.max()),
        steps=pd.Series(steps.astype(int), index=index, name="steps"),
        baseline=pd.Series(base, index=features, name="baseline"),
    )


def explain_patients(
    model: SurvivalModel,
    X: Any,
    baseline: str | pd.DataFrame | pd.Series = "mean",
    n_steps: int | None = None,
    X_train: Any = None,
    internal_batch_size: int = 8192,
    method: str = "gausslegendre",
) -> Attributions:
    """Integrated Gradients of the model's risk for each row of ``X`` (raw table, as for predict).

    ``baseline`` : "mean" (training mean of the model inputs; from ``X_train`` when given, else
    zeros, see the module notes) or a reference patient's raw row. ``n_steps`` : integration steps,
    or None to double from 32, for the patients still above, until every completeness delta is
    <= 1 % (cap 1024).
    ``internal_batch_size`` : rows (patients x steps) per forward pass. ``method`` : Captum's
    quadrature rule.
    """
    model = _require_torch(model)
    if n_steps is not None and int(n_steps) < 1:
        raise ConfigError(f"n_steps must be >= 1 or None (automatic), got {n_steps}.")
    if int(internal_batch_size) < 1:
        raise ConfigError(f"internal_batch_size must be >= 1, got {internal_batch_size}.")
    Z = model._matrix(X)
    if len(Z) == 0:
        raise InputError("No rows to explain.")
    base = _baseline_matrix(model, baseline, X_train)
    f = risk_function(model)
    device = model.device_
    inputs = torch.as_tensor(Z, dtype=torch.float64, device=device)
    base_t = torch.as_tensor(base, dtype=torch.float64, device=device).reshape(1, -1)
    with torch.no_grad():
        f_x = f(inputs).cpu().numpy()
        f_b = float(f(base_t).cpu().numpy()[0])
    ig = IntegratedGradients(f)

    def run(rows: np.ndarray, n: int) -> np.ndarray:
        x = inputs[torch.as_tensor(rows, device=device)]
        attr = ig.attribute(
            x,
            baselines=base_t.expand_as(x),
            n_steps=n,
            method=method,
            internal_batch_size=max(int(internal_batch_size), len(rows)),
        )
        return attr.detach().double().cpu().numpy()

    every = np.arange(len(Z))
    current = int(n_steps) if n_steps is not None else START_STEPS
    steps = np.full(len(Z), current)
    attr = run(every, current)
    if n_steps is None:
        failing = every[_deltas(attr, f_x, f_b) > TOLERANCE]
        while len(failing) and current < MAX_STEPS:
            current = min(2 * current, MAX_STEPS)
            attr[failing] = run(failing, current)
            steps[failing] = current
            failing = failing[_deltas(attr[failing], f_x[failing], f_b) > TOLERANCE]
    result = _package(model, X, attr, f_x, f_b, steps, base)
    if n_steps is None and result.max_delta > TOLERANCE:
        warnings.warn(
            f"Integrated Gradients of '{model.name}' reached {MAX_STEPS} steps with a completeness "
            f"delta of {result.max_delta:.2%} (target {TOLERANCE:.0%}); read the attributions "
            "with care.",
            stacklevel=2,
        )
    return result


def linear_attributions(
    model: SurvivalModel,
    X: Any,
    baseline: str | pd.DataFrame | pd.Series = "mean",
    X_train: Any = None,
) -> Attributions:
    """Exact attributions of the linear Cox models (coxph, coxnet, lasso_cox): coef x (x - baseline).

    The risk is linear in the model inputs, so these sum exactly to f(x) - f(baseline) (the
    completeness delta is rounding only) and equal what Integrated Gradients would converge to.
    ``baseline`` and ``X_train`` as in :func:`explain_patients`.
    """
    if not (isinstance(model, SurvivalModel) and _is_linear_cox(model)):
        name = getattr(model, "name", type(model).__name__)
        raise ConfigError(
            f"linear_attributions is for the linear Cox models (coxph, coxnet, lasso_cox), not "
            f"'{name}'; use explain_patients for the neural models."
        )
    if not hasattr(model, "coef_"):
        raise ConfigError(f"Model '{model.name}' is not fitted yet; call fit first.")
    Z = model._matrix(X)
    if len(Z) == 0:
        raise InputError("No rows to explain.")
    base = _baseline_matrix(model, baseline, X_train)
    coef = np.asarray(model.coef_, dtype=float)
    attr = (Z - base[None, :]) * coef[None, :]
    f_x = model._risk_matrix(Z)
    f_b = float(model._risk_matrix(base[None, :])[0])
    return _package(model, X, attr, f_x, f_b, np.zeros(len(Z), dtype=int), base)
