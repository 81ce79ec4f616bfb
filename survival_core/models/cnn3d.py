"""3-D CNN survival model (Wei 2021): a basic CNN on the liver-cropped CT, trained on patches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from survival_core.models.image_base import ImageSurvivalModel, crop_batch
from survival_core.models.image_data import grid_patch_starts
from survival_core.models.losses import check_cox_loss, cox_nll, cox_output
from survival_core.models.networks import CNN3DSurv


class CNN3DModel(ImageSurvivalModel):
    """Image-only Cox model: :class:`~survival_core.models.networks.CNN3DSurv` on the CT.

    Parameters
    ----------
    channels, fc, dropout, stem_stride, activation, pooling : the network (conv stage widths, FC
        embedding units, dropout before the risk head, stride (x, y, z) of the first convolution,
        "silu"/"relu", "avg"/"max"; see :class:`CNN3DSurv`).
    volume_shape : (x, y, z) voxels the liver-cropped CT is resized to (Wei 2021: 224 x 224 x 48).
    window : CT window preset mapped onto [0, 1]; margin_mm : margin around the liver box.
    patch_size : (x, y, z) voxels of the random training crops (Wei 2021: 80 x 80 x 40).
    inference : "volume" (score the whole volume) or "grid" (mean over a patch grid).
    ties, l1_output : Cox loss tie handling and the penalty on mean |log-hazard|.
    lr, weight_decay, epochs, patience, validation_fraction, batch_size, seed, device : training
        (Wei 2021: lr 1e-3); ``batch_size`` cases per step, Cox risk sets within the batch.
    """

    name = "cnn3d"
    uses_tabular = False

    def __init__(
        self,
        channels: Sequence[int] = (16, 32, 64, 64),
        fc: int = 64,
        dropout: float = 0.3,
        stem_stride: Sequence[int] = (2, 2, 1),
        activation: str = "silu",
        pooling: str = "avg",
        volume_shape: Sequence[int] = (224, 224, 48),
        window: str = "arterial",
        margin_mm: float = 10.0,
        patch_size: Sequence[int] = (80, 80, 40),
        inference: str = "volume",
        ties: str = "efron",
        l1_output: float = 0.0,
        **training: Any,
    ) -> None:
        check_cox_loss(ties, l1_output)
        self.channels = tuple(int(c) for c in channels)
        self.fc = int(fc)
        self.dropout = dropout
        self.stem_stride = tuple(int(s) for s in stem_stride)
        self.activation = activation
        self.pooling = pooling
        self.ties = ties
        self.l1_output = l1_output
        self._set_image_params(volume_shape, window, margin_mm, patch_size, inference)
        self._set_training(training)
        self._build_network(0)  # check the network parameters now, not after loading volumes

    def _build_network(self, n_features: int) -> CNN3DSurv:
        net = CNN3DSurv(
            1, self.channels, self.fc, float(self.dropout), self.stem_stride, self.activation,
            self.pooling,
        )  # fmt: skip
        cox_output(net.head, self.l1_output)
        return net

    def _output_loss(self, output: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        log_hz = output.reshape(-1)
        loss = cox_nll(log_hz, targets["event"], targets["time"], ties=self.ties)
        return loss + self.l1_output * log_hz.abs().mean()

    def _risk_from_output(self, output: torch.Tensor) -> torch.Tensor:
        return output.reshape(-1)

    def embed(self, X: Any) -> np.ndarray:
        """FC embeddings ``(rows, fc)`` of the rows' CTs (Wei 2021's deep features), computed the
        way risks are (whole volume, or the mean over the patch grid)."""
        Z = self._matrix(X)
        data = self._tensors(Z, np.zeros(len(Z), bool), np.ones(len(Z)))
        net = self.network_.eval()
        rows = []
        with torch.no_grad():
            for volume in data["volumes"]:
                volume = volume[None].to(self.device_)
                if self.inference == "grid":
                    starts = grid_patch_starts(volume.shape[1:], self.patch_size)
                    volume = crop_batch(
                        volume.expand(len(starts), *volume.shape[1:]), starts, self._patch_zyx
                    )
                rows.append(net.embed(volume).mean(dim=0))
        return torch.stack(rows).double().cpu().numpy()
