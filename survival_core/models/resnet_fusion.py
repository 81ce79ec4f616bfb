"""ResNet + clinical fusion with a discrete-time head (Sun 2023).

Image branch: a MONAI ResNet (depth 18, 50 or 101) on the CT, its last feature map averaged into the
image embedding. Clinical branch: an MLP (16-32-64) on the table row. The two are concatenated and a
linear layer gives one logit per follow-up interval (``edges``, yearly to 4 years by default),
trained with the discrete-time likelihood of :mod:`survival_core.models.discrete`.

``spatial_dims=3`` runs a 3-D ResNet on the liver-cropped patch or volume ``(1, z, y, x)``.
``spatial_dims=2`` (Sun 2023's slice network) runs a 2-D ResNet on every axial slice of it: the
slices form the batch, and the last feature maps are stacked back into ``(N, C, z, h, w)`` before
the average, so the embedding is the mean of the slices' pooled features and Grad-CAM sees one 3-D
map per case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from survival_core.errors import ConfigError
from survival_core.models.base import mlp
from survival_core.models.discrete import (
    IntervalGrid,
    check_edges,
    interval_survival,
    interval_targets,
    time_lost,
)
from survival_core.models.image_base import ImageSurvivalModel
from survival_core.models.image_set import ImageRows
from survival_core.models.losses import discrete_nll
from survival_core.models.pretrained import load_weights, make_resnet


class SliceStack(nn.Module):
    """``(N * z, C, h, w)`` slice maps back to ``(N, C, z, h, w)`` volumes of ``n`` cases."""

    def forward(self, x: torch.Tensor, n: int) -> torch.Tensor:
        return x.reshape(n, -1, *x.shape[1:]).transpose(1, 2)


class ResNetEncoder(nn.Module):
    """A MONAI ResNet (see :func:`~survival_core.models.pretrained.make_resnet`) mapping
    ``(N, C, z, y, x)`` to its pooled last feature map ``(N, features)``; a 2-D net runs on the
    axial slices. A single-channel CT input is repeated over the channels a net expects (e.g. 3
    for ImageNet weights)."""

    def __init__(self, **resnet_args: Any) -> None:
        super().__init__()
        self.resnet = make_resnet(**resnet_args)
        self.spatial_dims = self.resnet.conv1.weight.ndim - 2
        self.in_channels = self.resnet.conv1.weight.shape[1]
        self.features = self.resnet.in_planes  # channels of the last stage
        self.slices = SliceStack() if self.spatial_dims == 2 else None

    @property
    def last_block(self) -> nn.Module:
        """The module whose ``(N, C, z, h, w)`` output is the last feature map (Grad-CAM)."""
        return self.slices if self.slices is not None else self.resnet.layer4

    def feature_map(self, volume: torch.Tensor) -> torch.Tensor:
        """The last stage's output ``(N, C, z', y', x')``."""
        if volume.ndim != 5:
            raise ConfigError(f"Expected volumes (N, C, z, y, x); got shape {tuple(volume.shape)}.")
        if volume.shape[1] == 1 and self.in_channels > 1:
            volume = volume.expand(-1, self.in_channels, -1, -1, -1)
        n = volume.shape[0]
        x = volume
        if self.slices is not None:
            x = x.transpose(1, 2).reshape(-1, x.shape[1], *x.shape[3:])
        net = self.resnet
        x = net.act(net.bn1(net.conv1(x)))
        if not net.no_max_pool:
            x = net.maxpool(x)
        x = net.layer4(net.layer3(net.layer2(net.layer1(x))))
        return x if self.slices is None else self.slices(x, n)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        return self.feature_map(volume).mean(dim=(2, 3, 4))


class ResNetFusionNet(nn.Module):
    """``net(volume, tabular)`` -> interval logits ``(N, K)``: ResNet embedding and clinical MLP
    concatenated, then dropout and a linear head. ``last_block`` is the ResNet's last stage."""

    def __init__(
        self,
        resnet_args: dict[str, Any],
        n_tabular: int,
        hidden: Sequence[int],
        n_intervals: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.encoder = ResNetEncoder(**resnet_args)
        self.clinical, width = mlp(n_tabular, tuple(hidden)) if n_tabular else (None, 0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.features + width, n_intervals)

    @property
    def last_block(self) -> nn.Module:
        return self.encoder.last_block

    def embed(self, volume: torch.Tensor) -> torch.Tensor:
        """The image embedding ``(N, features)`` (the ResNet's pooled feature)."""
        return self.encoder(volume)

    def forward(self, volume: torch.Tensor, tabular: torch.Tensor | None = None) -> torch.Tensor:
        parts = [self.embed(volume)]
        if self.clinical is not None:
            parts.append(self.clinical(tabular.expand(volume.shape[0], -1)))
        return self.head(self.dropout(torch.cat(parts, dim=1)))


class ResNetFusion(IntervalGrid, ImageSurvivalModel):
    """ResNet image branch + clinical MLP, discrete-time survival head (Sun 2023).

    Parameters
    ----------
    depth : ResNet depth, 18, 50 or 101 (Sun 2023: 101, on 2-D slices).
    spatial_dims : 3 (3-D ResNet on the CT patch) or 2 (2-D ResNet on its axial slices).
    widen_factor : channel multiplier of the ResNet (1 = the standard 64-128-256-512 widths).
    shortcut_type, bias_downsample : ResNet shortcut form; match them to ``pretrained`` weights.
    stem_stride : stride (x, y, z) of the first convolution (a 2-D net uses x, y).
    pretrained : path of a local weights file for the ResNet (e.g. MedicalNet), loaded before
        training after a name/shape check; None trains from random initialisation.
    hidden : units of the clinical MLP (Sun 2023: 16, 32, 64). dropout : before the head.
    edges : interval edges in days (default yearly to 4 years); risk = the mean days lost by the
        last edge (:func:`.discrete.time_lost`).
    volume_shape, window, margin_mm, patch_size, inference : the image input, as ``cnn3d``.
    lr, weight_decay, epochs, patience, validation_fraction, batch_size, seed, device : training.
    """

    name = "resnet_fusion"
    uses_tabular = True
    uses_baseline = False

    def __init__(
        self,
        depth: int = 18,
        spatial_dims: int = 3,
        widen_factor: float = 1.0,
        shortcut_type: str = "B",
        bias_downsample: bool = True,
        stem_stride: Sequence[int] = (2, 2, 1),
        pretrained: str | None = None,
        hidden: Sequence[int] = (16, 32, 64),
        dropout: float = 0.1,
        edges: Sequence[float] = (0.0, 365.0, 730.0, 1095.0, 1460.0),
        volume_shape: Sequence[int] = (224, 224, 48),
        window: str = "arterial",
        margin_mm: float = 10.0,
        patch_size: Sequence[int] = (80, 80, 40),
        inference: str = "volume",
        **training: Any,
    ) -> None:
        if not (isinstance(dropout, int | float) and 0.0 <= dropout < 1.0):
            raise ConfigError(f"dropout must be in [0, 1); got {dropout!r}.")
        self.depth = depth
        self.spatial_dims = spatial_dims
        self.widen_factor = widen_factor
        self.shortcut_type = shortcut_type
        self.bias_downsample = bias_downsample
        self.stem_stride = tuple(int(s) for s in stem_stride)
        self.pretrained = None if pretrained is None else str(pretrained)
        self.hidden = tuple(int(h) for h in hidden)
        self.dropout = dropout
        self.edges = check_edges(tuple(edges))
        self._set_image_params(volume_shape, window, margin_mm, patch_size, inference)
        self._set_training(training)
        make_resnet(**self._resnet_args)  # check the architecture now, not after loading volumes

    @property
    def _resnet_args(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "spatial_dims": self.spatial_dims,
            "widen_factor": self.widen_factor,
            "shortcut_type": self.shortcut_type,
            "bias_downsample": self.bias_downsample,
            "stem_stride": self.stem_stride,
        }

    def _build_network(self, n_features: int) -> ResNetFusionNet:
        return ResNetFusionNet(
            self._resnet_args, n_features, self.hidden, len(self.edges) - 1, float(self.dropout)
        )

    def _fit_network(
        self,
        net: nn.Module,
        data: dict[str, Any],
        val_data: dict[str, Any] | None,
        generator: torch.Generator,
    ) -> dict[str, Any]:
        if self.pretrained is not None:
            load_weights(net.encoder.resnet, self.pretrained, f"ResNet-{self.depth}")
        return super()._fit_network(net, data, val_data, generator)

    def _targets(self, event: np.ndarray, time: np.ndarray) -> dict[str, torch.Tensor]:
        survived, event_at = interval_targets(event, time, np.asarray(self.edges))
        return {"survived": torch.from_numpy(survived), "event_at": torch.from_numpy(event_at)}

    def _output_loss(self, output: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        return discrete_nll(output, targets["survived"], targets["event_at"])

    def _risk_from_output(self, output: torch.Tensor) -> torch.Tensor:
        """The restricted mean time lost by the last edge (:func:`.discrete.time_lost`)."""
        return time_lost(output, self.edges)

    def _survival_matrix(self, Z: ImageRows, times: np.ndarray) -> np.ndarray:
        hazards = torch.sigmoid(self._predict_outputs(Z)).double().cpu().numpy()
        return interval_survival(hazards, self.edges, times)
