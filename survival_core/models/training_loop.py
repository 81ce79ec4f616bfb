"""The one torch training loop, :func:`train_network`, and the settings it reads,
:class:`TrainingSettings`: used by the torch survival models and the segmentation U-Net, which pass
in what differs (an epoch's batches, the loss of a batch, the validation loss)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from survival_core.errors import ConfigError, InputError

Constraints = dict[str, tuple[Callable[[Any], bool], str]]


@dataclass(frozen=True)
class TrainingSettings:
    """Adam at ``lr``, L2 ``weight_decay`` on weight matrices and kernels, up to ``epochs`` passes
    in mini-batches of ``batch_size`` rows (None: full batch). With validation rows
    (``validation_fraction`` of the training rows, or given ones) training stops after ``patience``
    epochs without improvement and keeps the best epoch. ``seed`` seeds initialisation, dropout,
    splits and batch order; ``device`` is "auto", "cpu" or "cuda". ``constraints`` (field: test,
    rule) are checked on creation. A batch needs ``min_batch_size`` rows (a Cox risk set, batch
    norm); a shorter trailing one is left out."""

    constraints: ClassVar[Constraints] = {
        "lr": (lambda v: float(v) > 0, "> 0"),
        "weight_decay": (lambda v: float(v) >= 0, ">= 0"),
        "epochs": (lambda v: int(v) >= 1, ">= 1"),
        "patience": (lambda v: int(v) >= 1, ">= 1"),
        "validation_fraction": (lambda v: 0.0 <= float(v) < 1.0, "in [0, 1)"),
        "batch_size": (lambda v: v is None or int(v) >= 2, ">= 2 or None (full batch)"),
    }
    min_batch_size: ClassVar[int] = 2

    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 200
    patience: int = 20
    validation_fraction: float = 0.2
    batch_size: int | None = None
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, (valid, rule) in self.constraints.items():
            if not valid(getattr(self, name)):
                raise ConfigError(f"{name} must be {rule}, got {getattr(self, name)!r}.")

    def batch_rows(self, n: int) -> int:
        """Rows per mini-batch out of ``n``."""
        return n if self.batch_size is None else min(int(self.batch_size), n)

    def minibatches(self, n: int, order: Any = None) -> Iterator[Any]:
        """Consecutive ``batch_rows(n)``-long slices of ``order`` (``slice(None)`` when None)."""
        size = self.batch_rows(n)
        for start in range(0, n, size):
            if n - start >= self.min_batch_size:
                yield slice(None) if order is None else order[start : start + size]


def decay_groups(net: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Adam parameter groups: weight decay on weight matrices and kernels only."""
    decay = [p for p in net.parameters() if p.ndim > 1 and p.requires_grad]
    no_decay = [p for p in net.parameters() if p.ndim <= 1 and p.requires_grad]
    return [
        {"params": decay, "weight_decay": float(weight_decay)},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def train_network(
    net: torch.nn.Module,
    settings: TrainingSettings,
    batches: Callable[[], Iterable[Any]],
    batch_loss: Callable[[Any], torch.Tensor],
    *,
    name: str,
    groups: list[dict[str, Any]] | None = None,
    epochs: int | None = None,
    validation: Callable[[], float] | None = None,
    rows: Callable[[Any], int] | None = None,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    warmup: int = 0,
) -> dict[str, Any]:
    """Train ``net`` for ``epochs`` (default ``settings.epochs``) with Adam on ``groups`` (default
    :func:`decay_groups`); returns ``{"train": [...], "val": [...], "best_epoch": n}``. Each epoch
    minimises ``batch_loss(batch)`` over ``batches()`` in train mode (its train loss: the mean,
    weighted by ``rows(batch)`` when given); ``validation()`` (eval mode, no gradient) gives the
    loss that stops training after ``settings.patience`` epochs without improvement, the best
    epoch's weights restored. Epochs before ``warmup`` are trained but neither kept nor counted
    toward the patience: a network starting on a plateau of the validation loss (the null
    model) kept its first epoch, no covariate learned. ``on_epoch(epoch, history)`` follows
    each epoch."""
    groups = decay_groups(net, settings.weight_decay) if groups is None else groups
    optimizer = torch.optim.Adam(groups, lr=float(settings.lr))
    epochs = int(settings.epochs if epochs is None else epochs)
    history: dict[str, Any] = {"train": [], "val": [], "best_epoch": epochs}
    best_loss, best_state, waited = np.inf, None, 0
    first_kept = min(int(warmup), epochs)  # 1-based: the first epoch early stopping may keep
    for epoch in range(epochs):
        net.train()
        total, weight = 0.0, 0
        for batch in batches():
            optimizer.zero_grad()
            loss = batch_loss(batch)
            if not torch.isfinite(loss):
                raise InputError(
                    f"Training of '{name}' diverged (loss {loss.item()}) at epoch {epoch + 1}; "
                    "lower lr or raise weight_decay."
                )
            loss.backward()
            optimizer.step()
            n_rows = 1 if rows is None else rows(batch)
            total, weight = total + loss.item() * n_rows, weight + n_rows
        history["train"].append(total / max(1, weight))
        if validation is not None:
            net.eval()
            with torch.no_grad():
                val_loss = validation()
            if not np.isfinite(val_loss):
                raise InputError(
                    f"Validation loss of '{name}' is {val_loss} at epoch {epoch + 1}; "
                    "lower lr or raise weight_decay."
                )
            history["val"].append(val_loss)
            if epoch + 1 >= first_kept:
                waited += 1
                if val_loss < best_loss - 1e-6:
                    best_loss, waited, history["best_epoch"] = val_loss, 0, epoch + 1
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        if on_epoch is not None:
            on_epoch(epoch, history)
        if waited >= int(settings.patience):
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return history
