"""Integrated Gradients for the tabular inputs of the torch survival models.

The attributed function is exactly the risk the model reports: :func:`risk_function` maps the
model's input matrix (``model._matrix(X)``: preprocessed, reduced) to

- ``deepsurv`` / ``vaesurv``: the network output, a log-hazard (VAE-SurvNet in eval mode uses the
  latent mean, so it is deterministic);
- ``discrete``: the restricted mean time lost by the last edge
  (:func:`~survival_core.models.discrete.time_lost`, a smooth function of the interval logits),

so ``risk_function(model)(matrix) == model.predict_risk(X)``. Attributions are per patient and per
model input column (``model.features_used_``), relative to a baseline:

- ``"mean"``: the training mean of the model's input matrix. With ``X_train`` it is computed as
  ``model._matrix(X_train).mean(0)``; without, it is zeros, because the preprocessing z-scores every
  output column with the training mean and the reductions only keep columns (or z-score them again
  with the training mean), so the training mean of every model input is 0;
- a reference patient: a one-row DataFrame (or a Series, one raw row) in the same raw format as
  ``X``, passed through the model's preprocessing; that patient's own attributions are then zero.

Exact integration. In eval mode the networks are piecewise linear in their input (Linear, ReLU,
Dropout = identity, BatchNorm1d = an affine map with its running statistics; VAE-SurvNet feeds
the latent mean to its head). Along the straight path x(a) = b + a (x - b), a in [0, 1], every
ReLU pre-activation is therefore affine between the kinks, the a where one of them changes sign.
:func:`explain_patients` splits [0, 1] at the kinks, batched over patients: at the middle of a
still unsplit interval, every pre-activation z is evaluated together with its slope dz/da (the
network run a second time at a + 1 with the ReLUs frozen at the activation pattern of a, i.e. the
affine map of that linear piece); the nearest zero crossings of z + t dz on either side bound the
linear piece around the middle, and the rest of the interval is split again in the next round
(each round at least halves the unsplit intervals, so there are at most ~40 rounds; leftovers
shorter than ``MIN_PIECE`` are dropped).
On a piece the log-hazard gradient (deepsurv, vaesurv) is constant, so one gradient at its middle
is exact; the discrete risk is a smooth function of logits that are affine on the piece and is
integrated by ``GAUSS_NODES``-node Gauss-Legendre on sub-pieces over which no logit moves by more
than ``MAX_LOGIT_STEP`` (error at float64 rounding). attribution_i = (x_i - b_i) x sum over pieces
of (length x mean gradient_i) is the IG integral itself, evaluated with torch.autograd: Captum's
fixed-grid quadrature would need ~1/error steps, because the gradient jumps at every kink. All of
it runs in float64 on a copy of the network, so the reported ``f_x`` equals ``predict_risk``
(float32 network) to float32 rounding (~1e-6 relative) and the completeness is not limited by it.

Completeness: the attributions of a patient sum to f(x) - f(baseline). ``completeness_delta`` =
|sum(attr) - (f(x) - f(b))| / max(|f(x) - f(b)|, ``ABS_FLOOR``). The exact integration keeps it
below ~1e-9 for every patient, also when large attributions cancel (f(x) close to f(b)); the
absolute floor 1e-8 (of |f(b)| where that is above 1: a discrete risk in days) only matters for a
patient at (or within float64 rounding of) the baseline, whose attributions are zero. A warning
names the delta if it exceeds ``EXACT_TOLERANCE``.

Captum path. A network holding any other module (anything but Sequential, VAE-SurvNet, Linear,
ReLU, Dropout and BatchNorm1d with running statistics) may not be piecewise linear: it gets
Captum's IG, with a warning, the steps starting at 32 and doubling (at most 1024) for the patients
whose delta is still above 1 % (``TOLERANCE``); a warning names the remaining delta. An integer
``n_steps`` asks for Captum's IG with that fixed number of steps for any network (e.g. to compare
with the exact integral); its delta is reported, not warned about.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from survival_core.errors import ConfigError, InputError
from survival_core.models.base import SurvivalModel, TorchSurvivalModel
from survival_core.models.discrete import DiscreteTimeSurv, time_lost
from survival_core.models.registry import is_linear_cox
from survival_core.models.vaesurv import VAENet

#: Captum path: first step count, cap and target relative completeness delta.
START_STEPS = 32
MAX_STEPS = 1024
TOLERANCE = 0.01
#: Exact path: completeness delta above which a warning says the integration went wrong.
EXACT_TOLERANCE = 1e-6
#: Floor of |f(x) - f(baseline)| in the relative completeness delta: a patient at the baseline.
ABS_FLOOR = 1e-8
#: Unsplit path intervals shorter than this (in a, the path fraction) are dropped.
MIN_PIECE = 1e-12
#: Gauss-Legendre nodes per sub-piece, and the largest logit change over a sub-piece (discrete).
GAUSS_NODES = 6
MAX_LOGIT_STEP = 1.0
#: Module types whose eval-mode map is piecewise linear (BatchNorm1d also, with running statistics).
PIECEWISE_LINEAR = (
    torch.nn.Sequential,
    VAENet,
    torch.nn.Linear,
    torch.nn.ReLU,
    torch.nn.Dropout,
)


@dataclass
class Attributions:
    """Attributions of a cohort, one row per patient and one column per model input.

    values : DataFrame (patients x features), attribution of each input to the patient's risk.
    f_x : risk of each patient (``model.predict_risk`` up to float32 rounding, see the notes).
    f_baseline : risk of the baseline (the same value in every row).
    completeness_delta : per patient |sum(attr) - (f_x - f_baseline)| / |f_x - f_baseline|, the
        denominator floored at ``ABS_FLOOR`` (1e-8).
    absolute_error : per patient |sum(attr) - (f_x - f_baseline)|.
    n_steps : largest number of gradient evaluations used for a patient (0: linear attributions).
    steps : gradient evaluations used for each patient (exact path: one per linear piece of the
        path for the Cox networks, Gauss-Legendre nodes for the discrete one; Captum: its steps);
        Shapley value sampling: the orders sampled.
    baseline : the baseline in model input space (Series over the features); sampled against
        the training cohort, the mean of the background patients.
    integration : "piecewise" (exact integral over the linear pieces of the path), "captum"
        (Captum's quadrature), "linear" (coefficient x (x - baseline)), "shapley" (sampled) or
        "ensemble".
    baseline_note : what the attributions are measured from, in words (the explanation says it
        with ``f_baseline``, so that risk = f_baseline + sum of the attributions can be read).
    sampling_error : Shapley value sampling only (else None): per patient and input variable (a
        category's columns together), the standard error of its attribution over the orders.
    """

    values: pd.DataFrame
    f_x: pd.Series
    f_baseline: pd.Series
    completeness_delta: pd.Series
    absolute_error: pd.Series
    n_steps: int
    steps: pd.Series
    baseline: pd.Series
    integration: str
    baseline_note: str = ""
    sampling_error: pd.DataFrame | None = None

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


def _require_torch(model: Any) -> TorchSurvivalModel:
    if isinstance(model, TorchSurvivalModel):
        if not hasattr(model, "network_"):
            raise ConfigError(f"Model '{model.name}' is not fitted yet; call fit first.")
        return model
    name = getattr(model, "name", type(model).__name__)
    if is_linear_cox(model):
        raise ConfigError(
            f"Integrated Gradients needs a neural model (deepsurv, vaesurv, discrete); '{name}' is a "
            "linear Cox model, whose exact attributions are coefficient x (x - baseline): use "
            "survival_core.explain.tabular.linear_attributions(model, X, baseline)."
        )
    raise ConfigError(
        f"Integrated Gradients needs a neural model (deepsurv, vaesurv, discrete); '{name}' has no "
        "gradients to integrate (a random survival forest is piecewise constant)."
    )


def _eval_network(model: TorchSurvivalModel, dtype: torch.dtype) -> torch.nn.Module:
    """A frozen eval-mode copy of the model's network in ``dtype`` (the model stays untouched)."""
    net = copy.deepcopy(model.network_).to(dtype).eval()
    net.requires_grad_(False)
    return net


def _link(model: TorchSurvivalModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """Map from the network output to the reported risk, a float64 vector."""
    if isinstance(model, DiscreteTimeSurv):
        return lambda logits: time_lost(logits.double(), model.edges)

    def log_hazard(output: torch.Tensor) -> torch.Tensor:
        return output.reshape(-1).double()

    return log_hazard


def risk_function(
    model: SurvivalModel, dtype: torch.dtype = torch.float32
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The map from the model's input matrix (rows x ``features_used_``) to its reported risk.

    It runs an eval-mode copy of the network (no dropout, batch-norm running statistics, VAE latent
    mean) in ``dtype`` on the model's device: float32, as ``predict_risk`` does (equal to it), or
    float64 (as the attributions use). The output is a float64 vector, one risk per row,
    differentiable with respect to the input.
    """
    model = _require_torch(model)
    net, link, device = _eval_network(model, dtype), _link(model), model.device_

    def risk(x: torch.Tensor) -> torch.Tensor:
        return link(net(x.to(device=device, dtype=dtype)))

    return risk


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


def _is_piecewise_linear(net: torch.nn.Module) -> bool:
    """Whether every module of ``net`` is known to be piecewise linear in eval mode."""
    for module in net.modules():
        if type(module) is torch.nn.BatchNorm1d:
            if module.running_mean is None:  # batch statistics: rows are not independent
                return False
        elif type(module) not in PIECEWISE_LINEAR:
            return False
    return True


def _linear_pieces(
    net: torch.nn.Module, start: torch.Tensor, direction: torch.Tensor, batch: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The linear pieces [lo, hi] of the paths ``start + a * direction[i]``, a in [0, 1].

    Returns (patient row, lo, hi, slope of the network outputs d out / da) per piece; the pieces of
    a patient cover [0, 1] up to dropped leftovers shorter than ``MIN_PIECE`` (see the notes).
    """
    pre_activations: list[torch.Tensor] = []

    def record(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        pre_activations.append(inputs[0].clone())  # before an in-place ReLU overwrites it

    def freeze(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        z = pre_activations[-1]
        half = len(z) // 2
        return torch.cat([output[:half], z[half:] * (z[:half] > 0)])

    def offsets_to_kinks(point: torch.Tensor, step: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Distances in a from ``point`` to the nearest ReLU sign change ahead and behind, and the
        output slopes. The rows ``point + step`` go through the network with the ReLUs frozen at
        the activation pattern of ``point``, i.e. along the affine map of its linear piece, so
        their differences from ``point`` are the slopes d/da of every pre-activation."""
        pre_activations.clear()
        with torch.no_grad():
            out = net(torch.cat([point, point + step])).reshape(2 * len(point), -1)
        rows = len(point)
        never = torch.full((rows, 1), math.inf, dtype=point.dtype, device=point.device)
        z = torch.cat([p[:rows].reshape(rows, -1) for p in pre_activations] + [never], dim=1)
        dz = torch.cat(
            [(p[rows:] - p[:rows]).reshape(rows, -1) for p in pre_activations]
            + [torch.ones_like(never)],
            dim=1,
        )
        offset = -z / dz  # nan where z = dz = 0 (a unit constant on the path): never crosses
        ahead = torch.where(offset > 0, offset, math.inf).amin(dim=1)
        behind = torch.where(offset < 0, offset, -math.inf).amax(dim=1)
        return ahead, behind, out[rows:] - out[:rows]

    relus = [module for module in net.modules() if type(module) is torch.nn.ReLU]
    handles = [relu.register_forward_pre_hook(record) for relu in relus]
    handles += [relu.register_forward_hook(freeze) for relu in relus]
    n, device = len(direction), direction.device
    rows = torch.arange(n, device=device)
    lower = torch.zeros(n, dtype=direction.dtype, device=device)
    upper = torch.ones_like(lower)
    pieces = []
    try:
        while len(rows):
            middle = (lower + upper) / 2
            parts = [
                offsets_to_kinks(
                    start + middle[i : i + batch, None] * direction[rows[i : i + batch]],
                    direction[rows[i : i + batch]],
                )
                for i in range(0, len(rows), batch)
            ]
            ahead, behind, out_slope = (torch.cat(column) for column in zip(*parts, strict=True))
            lo = torch.maximum(lower, middle + behind)
            hi = torch.minimum(upper, middle + ahead)
            pieces.append((rows, lo, hi, out_slope))
            left, right = lo - lower > MIN_PIECE, upper - hi > MIN_PIECE
            rows = torch.cat([rows[left], rows[right]])
            lower, upper = torch.cat([lower[left], hi[right]]), torch.cat([lo[left], upper[right]])
    finally:
        for handle in handles:
            handle.remove()
    return tuple(torch.cat(column) for column in zip(*pieces, strict=True))  # type: ignore[return-value]


def _exact_ig(
    net: torch.nn.Module,
    link: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    base: torch.Tensor,
    smooth_link: bool,
    batch: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(attributions, gradient evaluations per patient) by exact integration over linear pieces."""
    direction = inputs - base
    rows, lo, hi, out_slope = _linear_pieces(net, base, direction, batch)
    if smooth_link:
        change = (hi - lo) * out_slope.abs().amax(dim=1)
        splits = torch.ceil(change / MAX_LOGIT_STEP).clamp(min=1).long()
        nodes, weights = np.polynomial.legendre.leggauss(GAUSS_NODES)
    else:  # constant gradient on a piece: the midpoint (1-node Gauss-Legendre) is exact
        splits = torch.ones_like(rows)
        nodes, weights = np.zeros(1), np.full(1, 2.0)
    piece = torch.repeat_interleave(torch.arange(len(rows), device=rows.device), splits)
    first = torch.repeat_interleave(torch.cumsum(splits, 0) - splits, splits)
    width = ((hi - lo) / splits)[piece]
    sub_lo = lo[piece] + (torch.arange(len(piece), device=rows.device) - first) * width
    nodes_t = torch.as_tensor((nodes + 1) / 2, dtype=width.dtype, device=width.device)
    weights_t = torch.as_tensor(weights / 2, dtype=width.dtype, device=width.device)
    where = (sub_lo[:, None] + width[:, None] * nodes_t[None, :]).reshape(-1)
    weight = (width[:, None] * weights_t[None, :]).reshape(-1)
    patient = rows[piece].repeat_interleave(len(nodes))
    integral = torch.zeros_like(direction)  # of the gradient over a in [0, 1]
    for i in range(0, len(where), batch):
        chunk = patient[i : i + batch]
        points = (base + where[i : i + batch, None] * direction[chunk]).requires_grad_(True)
        (gradient,) = torch.autograd.grad(link(net(points)).sum(), points)
        integral.index_add_(0, chunk, gradient * weight[i : i + batch, None])
    steps = torch.bincount(patient, minlength=len(direction))
    return (direction * integral).cpu().numpy(), steps.cpu().numpy()


def _patient_index(X: Any, n: int) -> pd.Index:
    return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)


def _deltas(attr: np.ndarray, f_x: np.ndarray, f_b: float) -> np.ndarray:
    difference = f_x - f_b
    floor = ABS_FLOOR * max(1.0, abs(f_b))  # of the risk's own scale (a discrete risk in days)
    return np.abs(attr.sum(axis=1) - difference) / np.maximum(np.abs(difference), floor)


def _captum_ig(
    f: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    base: torch.Tensor,
    f_x: np.ndarray,
    f_b: float,
    n_steps: int | None,
    batch: int,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(attributions, steps per patient) by Captum's IG: ``n_steps`` fixed, or doubled from 32
    for the patients whose completeness delta is above ``TOLERANCE`` (at most 1024)."""
    from captum.attr import IntegratedGradients  # slow to import (~1-4 s); only this path needs it

    ig = IntegratedGradients(f)

    def run(rows: np.ndarray, n: int) -> np.ndarray:
        x = inputs[torch.as_tensor(rows, device=inputs.device)]
        attr = ig.attribute(
            x,
            baselines=base.expand_as(x),
            n_steps=n,
            method=method,
            internal_batch_size=max(batch, len(rows)),
        )
        return attr.detach().double().cpu().numpy()

    every = np.arange(len(inputs))
    current = int(n_steps) if n_steps is not None else START_STEPS
    steps = np.full(len(inputs), current)
    attr = run(every, current)
    if n_steps is None:
        failing = every[_deltas(attr, f_x, f_b) > TOLERANCE]
        while len(failing) and current < MAX_STEPS:
            current = min(2 * current, MAX_STEPS)
            attr[failing] = run(failing, current)
            steps[failing] = current
            failing = failing[_deltas(attr[failing], f_x[failing], f_b) > TOLERANCE]
    return attr, steps


def _package(
    model: SurvivalModel,
    X: Any,
    attr: np.ndarray,
    f_x: np.ndarray,
    f_b: float,
    steps: np.ndarray,
    base: np.ndarray,
    integration: str,
    note: str,
    sampling_error: pd.DataFrame | None = None,
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
        integration=integration,
        baseline_note=note,
        sampling_error=sampling_error,
    )


def _baseline_note(baseline: Any, X_train: Any) -> str:
    """The baseline of :func:`_baseline_matrix`, in words."""
    if not isinstance(baseline, str):
        return "the reference patient given"
    if X_train is None:
        return (
            "the mean patient: every model input at its training mean (a category's indicator "
            "columns at its levels' shares)"
        )
    return "the mean patient of the rows given as X_train: every model input at their mean"


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
    zeros, see the module notes) or a reference patient's raw row. ``n_steps`` : None integrates
    exactly over the linear pieces of the path (Captum with doubling steps for a network that is
    not piecewise linear, with a warning); an integer runs Captum's IG with that many steps.
    ``internal_batch_size`` : rows (path points) per forward pass. ``method`` : Captum's
    quadrature rule (Captum path only).
    """
    model = _require_torch(model)
    if n_steps is not None and int(n_steps) < 1:
        raise ConfigError(f"n_steps must be >= 1 or None (exact), got {n_steps}.")
    batch = int(internal_batch_size)
    if batch < 1:
        raise ConfigError(f"internal_batch_size must be >= 1, got {internal_batch_size}.")
    Z = model._matrix(X)
    if len(Z) == 0:
        raise InputError("No rows to explain.")
    base = _baseline_matrix(model, baseline, X_train)
    net, link = _eval_network(model, torch.float64), _link(model)
    inputs = torch.as_tensor(Z, dtype=torch.float64, device=model.device_)
    base_t = torch.as_tensor(base, dtype=torch.float64, device=model.device_).reshape(1, -1)
    with torch.no_grad():
        f_x = link(net(inputs)).cpu().numpy()
        f_b = float(link(net(base_t)).cpu().numpy()[0])
    exact = n_steps is None and _is_piecewise_linear(net)
    if exact:
        smooth = isinstance(model, DiscreteTimeSurv)
        attr, steps = _exact_ig(net, link, inputs, base_t, smooth, batch)
    else:
        if n_steps is None:
            warnings.warn(
                f"The network of '{model.name}' holds layers other than Linear, ReLU, Dropout "
                "and BatchNorm1d, so its path integral cannot be split into exact linear pieces; "
                "using Captum's Integrated Gradients with up to "
                f"{MAX_STEPS} steps instead (check completeness_delta).",
                stacklevel=2,
            )
        attr, steps = _captum_ig(
            lambda x: link(net(x)), inputs, base_t, f_x, f_b, n_steps, batch, method
        )
    integration = "piecewise" if exact else "captum"
    note = _baseline_note(baseline, X_train)
    result = _package(model, X, attr, f_x, f_b, steps, base, integration, note)
    target = EXACT_TOLERANCE if exact else TOLERANCE
    if n_steps is None and result.max_delta > target:
        warnings.warn(
            f"Integrated Gradients of '{model.name}' ({result.integration} integration) left a "
            f"completeness delta of {result.max_delta:.2e} (target {target:.0e}): the attributions "
            "do not add up to the risk difference; read them with care.",
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
    if not is_linear_cox(model):
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
    note = _baseline_note(baseline, X_train)
    if isinstance(baseline, str):  # a linear risk at the mean inputs is the mean risk
        note += "; for a linear model, its risk is the mean risk score of the same patients"
    steps = np.zeros(len(Z), dtype=int)
    return _package(model, X, attr, f_x, f_b, steps, base, "linear", note)
