"""Attributions of any tabular model's risk: the right method for each kind of model.

- linear Cox models: exact coefficient x (x - baseline) (:func:`~.tabular.linear_attributions`);
- torch networks: Integrated Gradients (:func:`~.tabular.explain_patients`);
- models without gradients (random survival forest, boosted trees): Shapley value sampling over
  random feature orders (Castro et al. 2009): along each order the inputs switch from the
  baseline to the patient's one at a time, each input is credited with the risk change it makes,
  and the credits are averaged over the orders. Along each order the changes add up exactly, so
  the attributions sum to f(x) - f(baseline) like the others (float64 throughout);
- the ensemble: each weighted member's attributions by its own method, scaled as the member's
  z-scored risk enters the ensemble (weight / risk SD) and added up by input column, so they sum
  to the ensemble's risk difference too.

All are in the units of ``model.predict_risk`` and relative to the same "mean" baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from survival_core.errors import InputError
from survival_core.explain.tabular import (
    Attributions,
    _baseline_matrix,
    _package,
    explain_patients,
    linear_attributions,
)
from survival_core.models.base import SurvivalModel, TorchSurvivalModel
from survival_core.models.registry import is_linear_cox
from survival_core.models.selection import EnsembleSurvival

#: Feature orders sampled per patient by :func:`shapley_attributions`.
SHAPLEY_ORDERS = 64


def shapley_attributions(
    model: SurvivalModel, X: Any, n_samples: int = SHAPLEY_ORDERS, seed: int = 0
) -> Attributions:
    """Shapley value sampling of ``model``'s risk for each row of ``X`` against the training
    mean of its inputs; ``n_samples`` random feature orders, the same for every patient (seeded:
    reproducible)."""
    Z = model._matrix(X)
    if len(Z) == 0:
        raise InputError("No rows to explain.")
    base = _baseline_matrix(model, "mean", None)
    n, p = Z.shape
    orders = np.array([np.random.default_rng([seed, k]).permutation(p) for k in range(n_samples)])
    attr = np.zeros((n, p))
    steps = np.arange(p + 1)
    for order in orders:
        # row j of each patient's block: its first j inputs in this order, the rest at baseline
        switched = steps[:, None] > np.argsort(order)[None, :]  # argsort: each input's place
        path = np.where(switched[None], Z[:, None, :], base[None, None, :]).reshape(-1, p)
        risk = model._risk_matrix(path).reshape(n, p + 1)
        attr[:, order] += np.diff(risk, axis=1)
    f_x = model._risk_matrix(Z)
    f_b = float(model._risk_matrix(base[None, :])[0])
    calls = np.full(n, n_samples * (p + 1))
    return _package(model, X, attr / n_samples, f_x, f_b, calls, base, "shapley")


def ensemble_attributions(
    model: EnsembleSurvival, X: Any, n_steps: int | None = None
) -> Attributions:
    """The members' attributions, each times its weight / risk SD, summed by input column."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    names = model.features_used_
    total = pd.DataFrame(0.0, index=frame.index, columns=names)
    base = pd.Series(0.0, index=names)
    f_x = np.zeros(len(frame))
    f_b = 0.0
    steps = np.zeros(len(frame), dtype=int)
    for k, (candidate, member, factor) in enumerate(model.member_terms()):
        part = model_attributions(member, candidate.select(frame), n_steps)
        total[part.values.columns] += factor * part.values.to_numpy()
        base[part.baseline.index] = part.baseline.to_numpy()
        mean = model.scales_[np.flatnonzero(model.weights_ > 0)[k], 0]
        f_x += factor * (part.f_x.to_numpy() - mean)
        f_b += factor * (float(part.f_baseline.iloc[0]) - mean)
        steps += part.steps.to_numpy()
    return _package(model, frame, total.to_numpy(), f_x, f_b, steps, base.to_numpy(), "ensemble")


#: What each attribution method is called in reports.
METHOD_NAMES = {
    "linear": "exact linear attributions, coefficient × difference",
    "ig": "Integrated Gradients",
    "shapley": "Shapley value sampling",
}


def attribution_method(model: SurvivalModel) -> str:
    """The attribution method that fits ``model`` (see the module doc): "ensemble", "linear",
    "ig" or "shapley"."""
    if isinstance(model, EnsembleSurvival):
        return "ensemble"
    if is_linear_cox(model):
        return "linear"
    return "ig" if isinstance(model, TorchSurvivalModel) else "shapley"


def method_description(model: SurvivalModel) -> str:
    """How ``model``'s attributions are computed, in words (an ensemble's: its members')."""
    method = attribution_method(model)
    if method != "ensemble":
        return METHOD_NAMES[method]
    members = dict.fromkeys(method_description(m) for _, m, _ in model.member_terms())
    return f"weighted sum of the members' attributions ({'; '.join(members)})"


def model_attributions(model: SurvivalModel, X: Any, n_steps: int | None = None) -> Attributions:
    """Attributions of ``model``'s risk for each row of ``X`` by the method that fits the model
    (:func:`attribution_method`); ``n_steps`` is Integrated Gradients' (None: exact) for
    networks."""
    method = attribution_method(model)
    if method == "ensemble":
        return ensemble_attributions(model, X, n_steps)
    if method == "linear":
        return linear_attributions(model, X)
    if method == "ig":
        return explain_patients(model, X, n_steps=n_steps)
    return shapley_attributions(model, X)
