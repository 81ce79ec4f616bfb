"""3-D convolutional networks for image-based survival (Wei 2021's image model).

:class:`CNN3DSurv` maps a CT volume or patch, ``(N, C, z, y, x)``, to one log-hazard (risk) per
sample. Global average pooling makes it accept any input size, so a net trained on random patches
also scores whole volumes or a grid of patches (see :mod:`survival_core.models.image_data`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from survival_core.errors import ConfigError

#: Activation choices: ReLU, or SiLU (x * sigmoid(x)), smooth, so that the risk is a smooth
#: function of the image and Integrated Gradients converges in few steps.
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU}
#: Pooling choices between stages: max (piecewise) or average (smooth).
POOLING = {"max": F.max_pool3d, "avg": F.avg_pool3d}


def _check_positive_ints(values: Sequence[int], what: str) -> tuple[int, ...]:
    values = tuple(values)
    if not values or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ConfigError(f"{what} must be positive integers; got {values!r}.")
    return values


class CNN3DSurv(nn.Module):
    """A basic 3-D CNN with a Cox (log-hazard) output.

    Each stage is Conv3d(3x3x3) - BatchNorm3d - activation - pooling(2); the pool halves every axis
    that has at least 2 voxels (so tiny inputs still pass). The defaults, SiLU and average pooling,
    make the risk a smooth function of the image: voxel Integrated Gradients then meets its
    completeness check in about 12 steps on a trained net, where ReLU and max pooling (piecewise
    linear, available as options) needed about 100. The first convolution strides by
    ``stem_stride`` (x, y, z; default 2 in-plane, 1 across slices, matching CT's finer in-plane
    sampling): it cuts the cost of every later stage by 4, which is what brings voxel Integrated
    Gradients of a 224 x 224 x 48 input within seconds on a CPU. The last feature map is averaged globally,
    fed to a fully connected layer of ``fc`` units with the activation (the *embedding*, deep
    features), then
    dropout and a ``Linear(fc, 1)`` risk head.

    Parameters
    ----------
    in_channels : input channels (1 for a single CT phase).
    channels : output channels of the conv stages, one stage per entry.
    fc : units of the embedding layer.
    dropout : dropout probability between the embedding and the risk head.
    stem_stride : stride (x, y, z) of the first convolution.
    activation : "silu" (smooth) or "relu". pooling : "avg" (smooth) or "max".

    Attributes for explanation methods: ``last_conv`` is the last ``Conv3d`` and ``last_block`` the
    last Conv-BN-activation stage (its output, before pooling, is the map Grad-CAM usually targets).
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64, 64),
        fc: int = 64,
        dropout: float = 0.3,
        stem_stride: Sequence[int] = (2, 2, 1),
        activation: str = "silu",
        pooling: str = "avg",
    ) -> None:
        super().__init__()
        (in_channels,) = _check_positive_ints((in_channels,), "in_channels")
        channels = _check_positive_ints(channels, "CNN channels")
        (fc,) = _check_positive_ints((fc,), "fc units")
        if not (isinstance(dropout, int | float) and 0.0 <= dropout < 1.0):
            raise ConfigError(f"dropout must be in [0, 1); got {dropout!r}.")
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation must be one of {tuple(ACTIVATIONS)}; got {activation!r}."
            )
        if pooling not in POOLING:
            raise ConfigError(f"pooling must be one of {tuple(POOLING)}; got {pooling!r}.")
        stem_stride = _check_positive_ints(stem_stride, "stem_stride")
        if len(stem_stride) != 3:
            raise ConfigError(f"stem_stride must be three strides (x, y, z); got {stem_stride!r}.")
        blocks = []
        previous = in_channels
        for i, width in enumerate(channels):
            stride = stem_stride[::-1] if i == 0 else 1
            blocks.append(
                nn.Sequential(
                    nn.Conv3d(previous, width, kernel_size=3, stride=stride, padding=1, bias=False),
                    nn.BatchNorm3d(width),
                    ACTIVATIONS[activation](),
                )
            )
            previous = width
        self.blocks = nn.ModuleList(blocks)
        self.last_block = self.blocks[-1]
        self.last_conv = self.last_block[0]
        self.fc = nn.Linear(previous, fc)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(fc, 1)
        self.activation = ACTIVATIONS[activation]()
        self.pooling = pooling
        self.in_channels = in_channels
        self.embedding_dim = fc

    def last_block_grid(self, shape: Sequence[int]) -> tuple[tuple[float, float], ...]:
        """Where the last block's output voxels sit on an input of ``shape`` (z, y, x): per axis
        ``(offset, step)``, voxel ``j`` centred on input index ``offset + step * j`` (the centre
        of its receptive field). The stem's 3-voxel kernel with padding 1 centres output ``j``
        on input ``stride * j``, and each 2-voxel pooling of an axis then moves the centres half
        a step on: 8j + 3 in-plane for a stride-2 stem and two poolings, not the 8j + 3.5 a plain
        resize to the input's size assumes. Grad-CAM places its map by this."""
        grid = []
        for axis, n in enumerate(shape):
            stride = self.blocks[0][0].stride[axis]
            size, offset, step = (n - 1) // stride + 1, 0.0, float(stride)
            for _ in self.blocks[1:]:  # every block but the last is pooled before the next
                if size >= 2:
                    offset, step, size = offset + step / 2, step * 2, size // 2
            grid.append((offset, step))
        return tuple(grid)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        kernel = tuple(2 if s >= 2 else 1 for s in x.shape[2:])
        return POOLING[self.pooling](x, kernel_size=kernel, stride=kernel)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"CNN3DSurv expects a (N, {self.in_channels}, z, y, x) tensor; got shape "
                f"{tuple(x.shape)}."
            )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The ``(N, fc)`` embedding (FC layer after the activation) of ``x`` ``(N, C, z, y, x)``."""
        self._check_input(x)
        for block in self.blocks:
            x = self._pool(block(x))
        x = torch.flatten(F.adaptive_avg_pool3d(x, 1), 1)
        return self.activation(self.fc(x))

    def forward(self, x: torch.Tensor, tabular: torch.Tensor | None = None) -> torch.Tensor:
        """Risk (log-hazard, higher = worse) of shape ``(N,)``; ``tabular`` is ignored (the image
        models call every network as ``net(volume, tabular)``)."""
        return self.head(self.dropout(self.embed(x))).squeeze(1)
