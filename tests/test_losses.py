"""Cox and discrete-time losses against lifelines and direct loop implementations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from lifelines import CoxPHFitter
from sksurv.datasets import load_gbsg2

from survival_core.errors import ConfigError
from survival_core.models.losses import cox_nll, discrete_nll
from survival_core.models.tabular import TablePreprocessor


def loop_log_likelihood(eta: np.ndarray, event: np.ndarray, time: np.ndarray, ties: str) -> float:
    """Textbook partial log-likelihood, one distinct event time at a time."""
    total = 0.0
    for t in np.unique(time[event == 1]):
        dead = (time == t) & (event == 1)
        at_risk = time >= t
        risk_sum = np.exp(eta[at_risk]).sum()
        tied_sum = np.exp(eta[dead]).sum()
        d = int(dead.sum())
        total += eta[dead].sum()
        for rank in range(d):
            share = rank / d if ties == "efron" else 0.0
            total -= math.log(risk_sum - share * tied_sum)
    return total


def as_tensors(*arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64) for a in arrays]


@pytest.fixture(scope="module")
def gbsg2() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_gbsg2()
    Z = TablePreprocessor().fit_transform(X).to_numpy()
    return Z, np.asarray(y["cens"], dtype=float), np.asarray(y["time"], dtype=float)


@pytest.mark.parametrize("rounding", [1.0, 100.0])
def test_efron_equals_lifelines_log_likelihood(gbsg2, rounding: float) -> None:
    Z, event, time = gbsg2
    time = np.round(time / rounding) * rounding  # 100-day rounding creates many ties
    frame = pd.DataFrame(Z).add_prefix("x").assign(T=time, E=event)
    fitter = CoxPHFitter().fit(frame, "T", "E")
    eta = Z @ fitter.params_.to_numpy()
    nll = cox_nll(*as_tensors(eta, event, time), ties="efron", reduction="sum")
    assert nll.item() == pytest.approx(-fitter.log_likelihood_, rel=1e-10)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cox_nll_matches_loop_reference(ties: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    eta = rng.normal(size=n)
    time = rng.integers(1, 12, size=n).astype(float)  # heavy ties
    event = (rng.random(n) < 0.6).astype(float)
    event[0] = 1.0
    expected = loop_log_likelihood(eta, event, time, ties)
    total = cox_nll(*as_tensors(eta, event, time), ties=ties, reduction="sum")
    mean = cox_nll(*as_tensors(eta, event, time), ties=ties)
    assert total.item() == pytest.approx(-expected, rel=1e-12)
    assert mean.item() == pytest.approx(-expected / event.sum(), rel=1e-12)


def test_ties_methods_differ_only_with_ties() -> None:
    rng = np.random.default_rng(3)
    eta, event = rng.normal(size=40), np.ones(40)
    distinct = rng.permutation(40).astype(float)
    tied = np.floor(distinct / 5)
    efron = [cox_nll(*as_tensors(eta, event, t), ties="efron").item() for t in (distinct, tied)]
    breslow = [cox_nll(*as_tensors(eta, event, t), ties="breslow").item() for t in (distinct, tied)]
    assert efron[0] == pytest.approx(breslow[0], rel=1e-12)
    assert breslow[1] > efron[1]


def test_gradients_finite_for_extreme_log_hazards() -> None:
    eta = torch.tensor(
        [1000.0, -1000.0, 0.0, 5.0, 5.0, 300.0], dtype=torch.float64, requires_grad=True
    )
    loss = cox_nll(
        eta, torch.tensor([1, 1, 1, 1, 0, 1]), torch.tensor([1.0, 2.0, 2.0, 3.0, 4.0, 4.0])
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(eta.grad).all()


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(4)
    eta = torch.tensor(rng.normal(size=20), requires_grad=True)
    event = torch.tensor((rng.random(20) < 0.7).astype(float))
    time = torch.tensor(rng.integers(1, 6, size=20).astype(float))
    assert torch.autograd.gradcheck(lambda e: cox_nll(e, event, time, ties="efron"), (eta,))


def test_no_event_batch_gives_zero_loss_and_gradient() -> None:
    eta = torch.tensor([0.3, -1.0, 2.0], requires_grad=True)
    loss = cox_nll(eta, torch.zeros(3), torch.tensor([1.0, 2.0, 3.0]))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(eta.grad, torch.zeros(3))


def test_invalid_options_raise_config_error() -> None:
    args = torch.zeros(3), torch.ones(3), torch.arange(3.0)
    with pytest.raises(ConfigError, match="ties"):
        cox_nll(*args, ties="exact")
    with pytest.raises(ConfigError, match="reduction"):
        cox_nll(*args, reduction="none")


def test_discrete_nll_matches_hand_computation() -> None:
    logits = torch.tensor([[0.0, 1.0, -1.0], [2.0, -0.5, 0.3]])
    survived = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    event_at = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    h = torch.sigmoid(logits)
    first = torch.log(1 - h[0, 0]) + torch.log(h[0, 1])  # event in interval 2
    second = torch.log(1 - h[1, 0]) + torch.log(1 - h[1, 1])  # censored after two intervals
    expected = -(first + second) / 2
    assert discrete_nll(logits, survived, event_at).item() == pytest.approx(
        expected.item(), rel=1e-6
    )
