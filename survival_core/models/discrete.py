"""Discrete-time survival network (Sun 2023): one hazard per follow-up interval.

Intervals are (edges[k], edges[k+1]] in days, by default the yearly intervals 0-365-730-1095-1460.
The network (a clinical MLP 16-32-64, then a linear head) outputs one logit per interval; the hazard
h_k = sigmoid(logit_k) is the probability of the event in interval k given survival to its start,
and S(edges[k+1]) = prod_{j<=k} (1 - h_j).

Likelihood: an event in interval k contributes log h_k + sum_{j<k} log(1 - h_j). A subject censored
in interval k contributes sum_{j<k} log(1 - h_j), plus log(1 - h_k) when censored at or after the
interval's midpoint (counted as having survived it, as pycox does). Follow-up beyond the last edge is
censoring at the last edge (survived every interval), whether or not an event came later.

``predict_survival`` interpolates within an interval with a constant hazard rate,
S(t) = S(e_k) (1 - h_k)^((t - e_k) / (e_{k+1} - e_k)); beyond the last edge S stays at S(last edge)
(no extrapolation: ``survival_until`` says so to the curves and horizons drawn from the model).
``predict_risk`` is the restricted mean time lost by the last edge, in days (:func:`time_lost`):
the last edge minus the area under that S(t). It ranks by the whole curve; 1 - S(last edge), the
risk before, saturated where nearly everyone dies by the last edge (veterans' edges to 2 years:
every training risk 0.988-0.989, ranked by their fourth decimal; CV c-index 0.61 against 0.67).

The grid must fit the training follow-up (:func:`check_grid`): edges written in months and read
as days held none of GBSG2's 299 events (every patient survived every interval: a survival of
0.999 at 3 years), and intervals nobody was followed into (AIDS's follow-up ends at 364 days)
kept their untrained hazards of about 0.5, on which the risk rests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from survival_core.errors import ConfigError, InputError
from survival_core.io.tables import TIME_UNITS
from survival_core.models.base import TorchSurvivalModel, mlp, mlp_widths
from survival_core.models.losses import discrete_nll
from survival_core.models.training_loop import TrainingSettings


def interval_targets(
    event: np.ndarray, time: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(survived, event_at) masks, each (n, K): intervals lived through and the event interval."""
    n_intervals = len(edges) - 1
    k = np.clip(np.searchsorted(edges, time, side="left") - 1, 0, None)
    beyond = time > edges[-1]
    k = np.minimum(k, n_intervals - 1)
    columns = np.arange(n_intervals)[None, :]
    survived = columns < k[:, None]
    midpoint = (edges[k] + edges[k + 1]) / 2
    survived_last = beyond | (~event & (time >= midpoint))
    survived |= (columns == k[:, None]) & survived_last[:, None]
    event_at = (columns == k[:, None]) & (event & ~beyond)[:, None]
    return survived.astype(np.float32), event_at.astype(np.float32)


def check_edges(edges: tuple[float, ...]) -> tuple[float, ...]:
    """Interval edges (days) as floats: at least two, strictly increasing, the first >= 0."""
    edges_array = np.asarray(edges, dtype=float)
    if (
        edges_array.ndim != 1
        or len(edges_array) < 2
        or edges_array[0] < 0
        or np.any(np.diff(edges_array) <= 0)
    ):
        raise ConfigError(
            f"edges must be at least two strictly increasing times >= 0 (days), got {list(edges)}."
        )
    return tuple(float(e) for e in edges_array)


def check_grid(edges: tuple[float, ...], event: np.ndarray, time: np.ndarray) -> None:
    """Refuse interval ``edges`` (days) that hold none of the training events, or an interval
    that no training patient is followed into: its hazard would never be learned."""
    followed = float(time.max())
    in_units = ", ".join(
        f"{followed / TIME_UNITS[u]:.3g} {u}" for u in ("weeks", "months", "years")
    )
    hint = (
        f"the longest follow-up of the rows it is fitted on is {followed:g} days ({in_units}): "
        "give edges within it (on the command line in the table's --time-unit)"
    )
    if not (event & (time <= edges[-1])).any():
        raise InputError(
            f"None of the {int(event.sum())} training events falls within the intervals' edges "
            f"({edges[0]:g} to {edges[-1]:g} days): the model would learn nothing; {hint}."
        )
    empty = [e for e in edges[1:-1] if not (time > e).any()]
    if empty:
        raise InputError(
            f"No training patient is followed past {empty[0]:g} days, where an interval begins: "
            f"its hazard would never be learned, and the risk (the mean days of life lost by "
            f"{edges[-1]:g} days) rests on it; {hint}."
        )


#: The saved state's name of the risk (:func:`time_lost`): models saved before lack it.
RISK = "time_lost"


class IntervalGrid:
    """What models of interval hazards share: their grid checked against the training follow-up
    (:func:`check_grid`), their survival estimated up to its last edge, and a validation loss
    that censored rows enter (their intervals lived through)."""

    edges: tuple[float, ...]
    validation_needs_events = False

    @property
    def survival_until(self) -> float:
        """The last edge (days): the survival is carried flat beyond, not estimated."""
        return self.edges[-1]

    @property
    def risk_scale(self) -> str:
        """The risk is :func:`time_lost`."""
        return f"mean days of life lost by {self.edges[-1]:g} days"

    def _fit_matrix(self, Z: Any, event: np.ndarray, time: np.ndarray, validation: Any) -> None:
        check_grid(self.edges, event, time)
        super()._fit_matrix(Z, event, time, validation)  # type: ignore[misc]

    def _state(self, folder: Path) -> dict[str, Any]:
        return {**super()._state(folder), "risk": RISK}  # type: ignore[misc]

    def _set_state(self, state: dict[str, Any], folder: Path) -> None:
        """A model saved before its risk was :func:`time_lost` is refused: its card's risk
        groups, percentiles and cut are on the scale of 1 - S(last edge)."""
        if state.get("risk") != RISK:
            raise InputError(
                f"The discrete-time model in {folder} was saved by an earlier RadSurv, whose risk "
                "was the probability of the event by the last edge (now the mean days of life "
                "lost by then); its risk groups and percentiles are on that scale. Train it "
                "again (fit, train, or the Training page)."
            )
        super()._set_state(state, folder)  # type: ignore[misc]


def start_at_null_model(head: torch.nn.Linear, targets: dict[str, torch.Tensor]) -> None:
    """Set an interval head to the null model: weights 0, biases the logits of the training
    rows' life-table hazards (each interval's events over the patients at risk through it)."""
    events = targets["event_at"].sum(dim=0)
    at_risk = (events + targets["survived"].sum(dim=0)).clamp(min=1.0)
    hazard = (events / at_risk).clamp(1e-4, 1 - 1e-4)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.logit(hazard).to(head.bias))


def time_lost(logits: torch.Tensor, edges: Sequence[float]) -> torch.Tensor:
    """Restricted mean time lost by the last edge (days), one per row of interval ``logits``
    (rows, K): the last edge minus the area under S(t) as :func:`interval_survival` draws it
    (1 before the first edge, then a constant hazard rate inside each interval, whose area is
    S(e_k) w_k h_k / -log(1 - h_k)).
    Differentiable (the explainers attribute it)."""
    widths = torch.as_tensor(np.diff(edges), dtype=logits.dtype, device=logits.device)
    log_keep = F.logsigmoid(-logits)  # log(1 - h_k)
    at_start = torch.exp(torch.cumsum(log_keep, dim=1) - log_keep)  # S(e_k)
    # h / -log(1 - h), 1 - h/2 as h -> 0: at logits below -30 it is 1 to 1e-13, where either
    # part alone underflows (a clamped denominator made a near-zero hazard a whole width lost)
    tail = logits.clamp_min(-30.0)
    per_width = torch.sigmoid(tail) / F.softplus(tail)
    # S is 1 before the first edge (interval_survival): no time is lost there
    return float(edges[-1] - edges[0]) - (at_start * widths * per_width).sum(dim=1)


def interval_survival(
    hazards: np.ndarray, edges: tuple[float, ...], times: np.ndarray
) -> np.ndarray:
    """S(t) at ``times`` from interval hazards ``(rows, K)``: the product of (1 - h) over the
    intervals lived through, a constant hazard rate inside an interval, flat after the last edge."""
    edges_array = np.asarray(edges, dtype=float)
    log_keep = np.log1p(-np.clip(hazards, 0.0, 1.0 - 1e-12))
    log_s_edges = np.concatenate([np.zeros((len(hazards), 1)), np.cumsum(log_keep, axis=1)], axis=1)
    clipped = np.clip(times, edges_array[0], edges_array[-1])
    k = np.clip(np.searchsorted(edges_array, clipped, side="right") - 1, 0, len(edges_array) - 2)
    fraction = (clipped - edges_array[k]) / (edges_array[k + 1] - edges_array[k])
    return np.exp(log_s_edges[:, k] + fraction[None, :] * log_keep[:, k])


class DiscreteTimeSurv(IntervalGrid, TorchSurvivalModel):
    """Discrete-time survival MLP.

    Parameters
    ----------
    edges : interval edges in days, strictly increasing, first >= 0 (default yearly to 4 years).
    hidden : units of the clinical MLP (Sun 2023: 16, 32, 64).
    dropout, batchnorm : regularisation of the hidden layers.
    lr, weight_decay, epochs, patience, validation_fraction, batch_size, seed, device : training.
    """

    name = "discrete"
    uses_baseline = False
    #: From the null model (below), weight decay and a warm-up keep the early stopping off its
    #: plateau: from logits 0 (hazards of 0.5) it ended during the fall to the baseline hazards
    #: (GBSG2 CV c-index 0.63 for Cox's 0.68), or kept epoch 1, no covariate learned (veterans
    #: folds 0.34-0.44); the life-table start alone kept epoch 1 on GBSG2 folds. Measured on
    #: GBSG2, WHAS500, veterans, AIDS and flchain (README).
    training_defaults = TrainingSettings(weight_decay=1e-2)
    warmup_epochs = 50

    def __init__(
        self,
        edges: tuple[float, ...] = (0.0, 365.0, 730.0, 1095.0, 1460.0),
        hidden: tuple[int, ...] = (16, 32, 64),
        dropout: float = 0.1,
        batchnorm: bool = False,
        **training: Any,
    ) -> None:
        self.edges = check_edges(edges)
        self.hidden = mlp_widths(hidden, dropout)
        self.dropout = dropout
        self.batchnorm = batchnorm
        self._set_training(training)

    def _build_network(self, n_features: int) -> torch.nn.Module:
        body, width = mlp(n_features, self.hidden, self.dropout, self.batchnorm)
        return torch.nn.Sequential(body, torch.nn.Linear(width, len(self.edges) - 1))

    def _targets(self, event: np.ndarray, time: np.ndarray) -> dict[str, torch.Tensor]:
        survived, event_at = interval_targets(event, time, np.asarray(self.edges))
        return {"survived": torch.from_numpy(survived), "event_at": torch.from_numpy(event_at)}

    def _loss(self, net: torch.nn.Module, x: torch.Tensor, targets: dict) -> torch.Tensor:
        return discrete_nll(net(x), targets["survived"], targets["event_at"])

    def _fit_network(
        self,
        net: torch.nn.Module,
        data: tuple[torch.Tensor, dict],
        *args: Any,
        **kwargs: Any,
    ) -> dict[str, Any]:
        start_at_null_model(net[-1], data[1])
        return super()._fit_network(net, data, *args, **kwargs)

    def interval_hazards(self, Z: np.ndarray) -> np.ndarray:
        """Hazard of each interval, (rows, K), from a preprocessed matrix."""
        return torch.sigmoid(self._forward_numpy(Z)).double().cpu().numpy()

    def _survival_matrix(self, Z: np.ndarray, times: np.ndarray) -> np.ndarray:
        return interval_survival(self.interval_hazards(Z), self.edges, times)

    def _risk_matrix(self, Z: np.ndarray) -> np.ndarray:
        return time_lost(self._forward_numpy(Z).double(), self.edges).cpu().numpy()
