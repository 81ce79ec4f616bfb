"""Device choice and seeded random state for the torch models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from survival_core.errors import ConfigError


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; otherwise the named device, checked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"Unknown device {device!r}; use 'auto', 'cpu' or 'cuda'.") from err
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"Device {device!r} requested but no CUDA GPU is available; use 'cpu'.")
    if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
        raise ConfigError(
            f"Device {device!r} requested but this machine has {torch.cuda.device_count()} GPU(s) "
            "(cuda:0 ...); use one of them or 'cpu'."
        )
    if chosen.type not in ("cpu", "cuda"):
        raise ConfigError(f"Device {device!r} is not supported; use 'auto', 'cpu' or 'cuda'.")
    return chosen


def loading_device(device: str) -> torch.device:
    """Where a saved model trained on ``device`` runs here: that device when this machine has
    it, else the CPU (a model trained on a GPU still scores on a CPU-only server; its weights are
    the same, only the kernels differ in the last bits)."""
    wants_gpu = device != "auto" and torch.device(device).type == "cuda"
    if wants_gpu and not torch.cuda.is_available():
        return torch.device("cpu")
    return resolve_device(device)


@contextmanager
def seeded(seed: int) -> Iterator[torch.Generator]:
    """Run a block with torch's global RNG seeded (weight init, dropout) and restored afterwards.

    Yields a CPU generator with the same seed for data splits and batch order. On CPU two runs with
    the same seed and number of torch threads give identical results (another thread count sums
    in another order, which float rounding tells apart); on CUDA some kernels are not
    bit-reproducible.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        yield generator
