"""VAE-SurvNet (Wei 2021): a variational auto-encoder whose latent mean feeds a Cox head."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from survival_core.errors import ConfigError
from survival_core.models.base import TorchSurvivalModel, mlp, mlp_widths
from survival_core.models.losses import check_cox_loss, cox_nll, cox_output
from survival_core.models.training_loop import TrainingSettings


class VAENet(torch.nn.Module):
    """Encoder -> (mu, log-variance) -> latent -> decoder; survival head on the latent.

    In training mode the head sees the reparameterised sample z = mu + sigma * eps; in eval mode
    it sees mu, so predictions are deterministic.
    """

    def __init__(self, n_features: int, hidden: tuple[int, ...], latent_dim: int,
                 head_hidden: tuple[int, ...], dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.encoder, width = mlp(n_features, hidden)
        self.mu = torch.nn.Linear(width, latent_dim)
        self.log_var = torch.nn.Linear(width, latent_dim)
        decoder, width = mlp(latent_dim, tuple(reversed(hidden)))
        self.decoder = torch.nn.Sequential(decoder, torch.nn.Linear(width, n_features))
        head, width = mlp(latent_dim, head_hidden, dropout)
        self.head = torch.nn.Sequential(head, torch.nn.Linear(width, 1))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        mu, log_var = self.mu(h), self.log_var(h).clamp(-10.0, 10.0)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu) if self.training else mu
        return z, mu, log_var

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-hazard per row."""
        z, _, _ = self.encode(x)
        return self.head(z).reshape(-1)


def vae_loss(net: VAENet, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction MSE + KL divergence to N(0, I) averaged over rows, latent z)."""
    z, mu, log_var = net.encode(x)
    reconstruction = F.mse_loss(net.decoder(z), x)
    kl = -0.5 * torch.mean(torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=1))
    return reconstruction + kl, z


class VAESurv(TorchSurvivalModel):
    """VAE-SurvNet: loss = Cox + tau * (reconstruction + KL) + l1_output * mean |log-hazard|.

    Parameters
    ----------
    latent_dim : size of the latent space.
    hidden : encoder units (the decoder mirrors them).
    head_hidden : units of the survival head on the latent.
    tau : weight of the VAE loss (Wei 2021: 1e-6).
    pretrain_epochs : epochs training the VAE alone (reconstruction + KL) before the joint training.
    Other parameters as :class:`DeepSurv` (defaults lr 0.01, weight_decay 1e-4 from Wei 2021).
    """

    name = "vaesurv"
    training_defaults = TrainingSettings(lr=0.01)

    def __init__(
        self,
        latent_dim: int = 8,
        hidden: tuple[int, ...] = (32,),
        head_hidden: tuple[int, ...] = (16,),
        dropout: float = 0.1,
        tau: float = 1e-6,
        pretrain_epochs: int = 0,
        ties: str = "efron",
        l1_output: float = 0.0,
        **training: Any,
    ) -> None:
        check_cox_loss(ties, l1_output)
        if latent_dim < 1 or pretrain_epochs < 0 or tau < 0:
            raise ConfigError("latent_dim must be >= 1, pretrain_epochs >= 0 and tau >= 0.")
        self.latent_dim = int(latent_dim)
        self.hidden = mlp_widths(hidden, dropout)
        self.head_hidden = mlp_widths(head_hidden, dropout, "head_hidden")
        self.dropout = dropout
        self.tau = tau
        self.pretrain_epochs = pretrain_epochs
        self.ties = ties
        self.l1_output = l1_output
        self._set_training(training)

    def _build_network(self, n_features: int) -> torch.nn.Module:
        net = VAENet(n_features, self.hidden, self.latent_dim, self.head_hidden, self.dropout)
        cox_output(net.head[-1], self.l1_output)
        return net

    def _pretrain_loss(self, net: VAENet, x: torch.Tensor, targets: dict) -> torch.Tensor:
        return vae_loss(net, x)[0]

    def _loss(self, net: VAENet, x: torch.Tensor, targets: dict) -> torch.Tensor:
        reconstruction_kl, z = vae_loss(net, x)
        log_hz = net.head(z).reshape(-1)
        cox = cox_nll(log_hz, targets["event"], targets["time"], ties=self.ties)
        return cox + self.tau * reconstruction_kl + self.l1_output * log_hz.abs().mean()

    def _fit_network(
        self,
        net: torch.nn.Module,
        data: tuple[torch.Tensor, dict],
        val_data: tuple[torch.Tensor, dict] | None,
        generator: torch.Generator,
    ) -> dict[str, Any]:
        """Optional VAE-only pre-training (own early stopping), then the joint training."""
        pretrain = {}
        if self.pretrain_epochs > 0:
            pretrain["pretrain"] = super()._fit_network(
                net, data, val_data, generator, self._pretrain_loss, int(self.pretrain_epochs)
            )
        return {**super()._fit_network(net, data, val_data, generator), **pretrain}

    def encode(self, X: Any) -> np.ndarray:
        """Latent means (rows, latent_dim) of a table, e.g. for correlation plots."""
        x = torch.as_tensor(self._matrix(X), dtype=torch.float32, device=self.device_)
        self.network_.eval()
        with torch.no_grad():
            return self.network_.encode(x)[1].double().cpu().numpy()
