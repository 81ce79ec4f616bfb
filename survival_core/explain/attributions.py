"""Attributions of any tabular model's risk: the right method for each kind of model.

- linear Cox models: exact coefficient x (x - baseline) (:func:`~.tabular.linear_attributions`);
- torch networks: Integrated Gradients (:func:`~.tabular.explain_patients`);
- models without gradients (random survival forest, boosted trees): interventional Shapley values
  by sampling (Castro et al. 2009; Strumbelj and Kononenko 2014): each of 64 random orders starts
  from its own background patient, every input drawn independently from its training
  distribution (the percentiles and level shares the saved model keeps: no training row), and
  switches the inputs to the patient's one variable at a time (a category's indicator columns
  together), crediting each with the risk change it makes; the credits are averaged over the
  orders. Along each order the changes add up exactly, so the attributions sum to f(x) minus
  the background patients' mean risk (float64 throughout), and their spread over the orders
  gives each one's standard error. Not from the mean point, as the others: to a tree, the mean
  of a 0/1 column (z = 0) lies on its majority side, so that "mean patient" had every majority
  level, and every patient at a majority or reference level got exactly 0 for it (every chf = 0
  patient under WHAS500's forest, though chf = 0 for all lowered the mean risk from 66 to 56);
- the ensemble: each weighted member's attributions by its own method, scaled as the member's
  z-scored risk enters the ensemble (weight / risk SD) and added up by input column, so they sum
  to the ensemble's risk difference too.

All are in the units of ``model.predict_risk``; each :class:`~.tabular.Attributions` says its
baseline in ``baseline_note`` and its risk in ``f_baseline``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from survival_core.errors import ConfigError, InputError
from survival_core.explain.tabular import (
    Attributions,
    _package,
    _patient_index,
    explain_patients,
    linear_attributions,
)
from survival_core.models.base import SurvivalModel, TorchSurvivalModel
from survival_core.models.registry import is_linear_cox
from survival_core.models.selection import EnsembleSurvival

#: Feature orders (each with its own background patient) sampled by :func:`shapley_attributions`.
SHAPLEY_ORDERS = 64
#: Rows, and cells, of the model's input matrix per risk evaluation of the sampled paths: memory
#: stays bounded (a forest holds a leaf index per row and tree) at hundreds of columns.
PATH_ROWS, PATH_CELLS = 2**15, 2**22


def _grouped_order(group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of the columns keeping each variable's columns (``group``: a variable
    number per column) together: the variables in random order, each one's columns too."""
    place = rng.permutation(group.max() + 1)[group]
    return np.lexsort((rng.random(len(group)), place))


def shapley_attributions(
    model: SurvivalModel, X: Any, n_samples: int | None = None, seed: int = 0
) -> Attributions:
    """Interventional Shapley values of ``model``'s risk for each row of ``X``, sampled against
    the training cohort: ``n_samples`` (default :data:`SHAPLEY_ORDERS`) random orders, each
    starting from its own background patient whose inputs are drawn independently from their
    training distributions (:meth:`~survival_core.models.tabular.TablePreprocessor.draw_inputs`);
    along an order the inputs switch to the patient's one variable at a time (a category's
    indicator columns together, so its levels stay levels), each credited with the risk change.
    The attributions add up to f(x) minus the background patients' mean risk (``f_baseline``),
    exactly; ``sampling_error`` holds each variable's standard error over the orders. The same
    orders and draws for every patient (seeded: reproducible)."""
    n_samples = SHAPLEY_ORDERS if n_samples is None else int(n_samples)
    if n_samples < 2:
        raise ConfigError(
            f"Shapley value sampling needs at least 2 orders (its sampling error is their "
            f"spread), got {n_samples}."
        )
    Z = model._matrix(X)
    if len(Z) == 0:
        raise InputError("No rows to explain.")
    rng = np.random.default_rng(seed)
    drawn, held = model.preprocessor_.draw_inputs(n_samples, rng)
    background = model._reduce(drawn)
    owner = model.preprocessor_.input_of_
    names = [owner.get(f, f) for f in model.features_used_]
    variables = list(dict.fromkeys(names))
    group = np.array([variables.index(name) for name in names])
    places = np.argsort([_grouped_order(group, rng) for _ in range(n_samples)], axis=1)
    # row j of an order's path: the inputs at places < j switched to the patient's (j = 1..p)
    switched = np.arange(1, Z.shape[1] + 1)[None, :, None] > places[:, None, :]
    f_start = model._risk_matrix(background)
    credit, spread = _sampled_credits(model, Z, background, switched, places, f_start, group)
    f_x = model._risk_matrix(Z)
    error = pd.DataFrame(
        np.sqrt(np.clip(spread, 0.0, None) / (n_samples * (n_samples - 1))),
        index=_patient_index(X, len(Z)),
        columns=variables,
    )
    note = (
        f"the training cohort: each of the {n_samples} sampled orders starts from a patient "
        "whose inputs are drawn independently from their training distributions (numbers from "
        "their percentiles, categories by their shares); its risk is these patients' mean risk"
    )
    if held:
        note += (
            f"; {', '.join(held)} held at the training mean (the model was saved without their "
            "training percentiles: fit it again to draw them)"
        )
    attr, f_b = credit / n_samples, float(f_start.mean())
    steps, base = np.full(len(Z), n_samples), background.mean(axis=0)
    return _package(model, X, attr, f_x, f_b, steps, base, "shapley", note, error)


def _sampled_credits(
    model: SurvivalModel,
    Z: np.ndarray,
    background: np.ndarray,
    switched: np.ndarray,
    places: np.ndarray,
    f_start: np.ndarray,
    group: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: the risk changes credited to each column, summed over the orders, and per
    variable the sum of squared deviations of its credit from their mean over the orders (the
    standard error's). The (patient, order) paths are evaluated in batches (``PATH_ROWS``)."""
    n, p = Z.shape
    k = len(background)
    members = np.eye(group.max() + 1)[group]  # column -> its variable
    total = np.zeros((n, p))
    first, second = np.zeros((n, members.shape[1])), np.zeros((n, members.shape[1]))
    pairs = np.arange(n * k)
    batch = max(1, min(PATH_ROWS, PATH_CELLS // p) // p)  # (patient, order) paths of p rows
    for chunk in (pairs[start : start + batch] for start in range(0, n * k, batch)):
        i, o = chunk // k, chunk % k
        path = np.where(switched[o], Z[i][:, None, :], background[o][:, None, :])
        risk = model._risk_matrix(path.reshape(-1, p)).reshape(len(chunk), p)
        change = np.diff(np.concatenate([f_start[o][:, None], risk], axis=1), axis=1)
        column = np.take_along_axis(change, places[o], axis=1)  # each column's own change
        by_variable = column @ members
        np.add.at(total, i, column)
        np.add.at(first, i, by_variable)
        np.add.at(second, i, by_variable**2)
    return total, second - first**2 / k


def ensemble_attributions(
    model: EnsembleSurvival, X: Any, n_steps: int | None = None
) -> Attributions:
    """The members' attributions, each times its weight / risk SD, summed by input column; a
    sampled member's standard errors scaled alike and added (a bound: the members share the
    orders and draws)."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    names = model.features_used_
    total = pd.DataFrame(0.0, index=frame.index, columns=names)
    base = pd.Series(0.0, index=names)
    f_x = np.zeros(len(frame))
    f_b = 0.0
    steps = np.zeros(len(frame), dtype=int)
    notes: dict[str, list[str]] = {}  # each baseline once, with the members measured from it
    error = None
    for k, (candidate, member, factor) in enumerate(model.member_terms()):
        part = model_attributions(member, candidate.select(frame), member_steps(member, n_steps))
        total[part.values.columns] += factor * part.values.to_numpy()
        base[part.baseline.index] = part.baseline.to_numpy()
        mean = model.scales_[np.flatnonzero(model.weights_ > 0)[k], 0]
        f_x += factor * (part.f_x.to_numpy() - mean)
        f_b += factor * (float(part.f_baseline.iloc[0]) - mean)
        steps += part.steps.to_numpy()
        notes.setdefault(part.baseline_note, []).append(member.name)
        if part.sampling_error is not None:
            scaled = abs(factor) * part.sampling_error
            error = scaled if error is None else error.add(scaled, fill_value=0.0)
    said = "; ".join(f"{', '.join(names)}: {note}" for note, names in notes.items())
    note = f"each member's own baseline, weighted as its risk enters the ensemble ({said})"
    return _package(
        model, frame, total.to_numpy(), f_x, f_b, steps, base.to_numpy(), "ensemble", note, error
    )


#: What each attribution method is called in reports.
METHOD_NAMES = {
    "linear": "exact linear attributions, coefficient × difference",
    "ig": "Integrated Gradients",
    "shapley": "Shapley value sampling",
}
#: What each method's attributions of a case are measured from, as the bars' axis and the
#: report name it (:attr:`~.tabular.Attributions.baseline_note` says it in full).
BASELINE_LABELS = {
    "linear": "the training mean",
    "ig": "the mean patient",
    "shapley": "the training cohort",
    "ensemble": "its members' baselines",
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


def takes_steps(model: SurvivalModel) -> bool:
    """Whether ``n_steps`` sets anything in ``model``'s attributions: Integrated Gradients'
    steps (networks) or the orders sampled (trees); a linear Cox model's are exact."""
    if attribution_method(model) == "ensemble":
        return any(takes_steps(member) for _, member, _ in model.member_terms())
    return attribution_method(model) != "linear"


def member_steps(member: SurvivalModel, n_steps: int | None) -> int | None:
    """``n_steps`` for an ensemble member that takes them, else None."""
    return n_steps if takes_steps(member) else None


def model_attributions(model: SurvivalModel, X: Any, n_steps: int | None = None) -> Attributions:
    """Attributions of ``model``'s risk for each row of ``X`` by the method that fits the model
    (:func:`attribution_method`). ``n_steps``: Integrated Gradients' steps for networks (None:
    the exact integral), the orders sampled for trees (None: :data:`SHAPLEY_ORDERS`), each
    member's for an ensemble; refused for a linear Cox model, whose attributions take none."""
    if n_steps is not None and not takes_steps(model):
        raise ConfigError(
            f"Model '{model.name}' gets exact linear attributions, coefficient x (x - mean), "
            f"which take no steps: leave out steps ({n_steps} given)."
        )
    method = attribution_method(model)
    if method == "ensemble":
        return ensemble_attributions(model, X, n_steps)
    if method == "linear":
        return linear_attributions(model, X)
    if method == "ig":
        return explain_patients(model, X, n_steps=n_steps)
    return shapley_attributions(model, X, n_steps)
