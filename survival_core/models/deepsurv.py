"""DeepSurv: an MLP whose output is the log-hazard, trained with the Cox partial likelihood."""

from __future__ import annotations

from typing import Any

import torch

from survival_core.models.base import TorchSurvivalModel, mlp, mlp_widths
from survival_core.models.losses import check_cox_loss, cox_nll, cox_output


class DeepSurv(TorchSurvivalModel):
    """MLP Cox model (Katzman 2018; Wei 2021's penalties).

    Parameters
    ----------
    hidden : units per hidden layer.
    dropout : dropout probability after each hidden layer.
    batchnorm : batch normalisation after each hidden linear layer.
    ties : "efron" or "breslow" handling of tied event times in the Cox loss.
    l1_output : weight of mean |log-hazard| added to the loss (Wei 2021; keeps outputs bounded).
    lr, weight_decay, epochs, patience, validation_fraction, batch_size, seed, device : keywords
        of the training (:class:`~survival_core.models.training_loop.TrainingSettings`).
    """

    name = "deepsurv"

    def __init__(
        self,
        hidden: tuple[int, ...] = (32, 16),
        dropout: float = 0.1,
        batchnorm: bool = False,
        ties: str = "efron",
        l1_output: float = 0.0,
        **training: Any,
    ) -> None:
        check_cox_loss(ties, l1_output)
        self.hidden = mlp_widths(hidden, dropout)
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.ties = ties
        self.l1_output = l1_output
        self._set_training(training)

    def _build_network(self, n_features: int) -> torch.nn.Module:
        body, width = mlp(n_features, self.hidden, self.dropout, self.batchnorm)
        return torch.nn.Sequential(body, cox_output(torch.nn.Linear(width, 1), self.l1_output))

    def _loss(self, net: torch.nn.Module, x: torch.Tensor, targets: dict) -> torch.Tensor:
        log_hz = net(x).reshape(-1)
        loss = cox_nll(log_hz, targets["event"], targets["time"], ties=self.ties)
        return loss + self.l1_output * log_hz.abs().mean()
