"""MONAI ResNets and user-given local weight files for them (e.g. MedicalNet's 3-D ResNets).

:func:`make_resnet` builds the image encoder of :mod:`survival_core.models.resnet_fusion` and of the
deep-feature extractor: a ``monai.networks.nets.ResNet`` without its classification layer, so its
output is the pooled feature. :func:`load_weights` reads a weights file safely
(``torch.load(weights_only=True)``: tensors and plain containers only, no code) and loads it into a
module after checking every tensor's name and shape, so a file made for another architecture is
refused with a message naming the file and the first mismatching tensors, never a raw torch error.

Accepted file layouts: a plain ``state_dict``; one wrapped as ``{"state_dict": ...}`` (MedicalNet
checkpoints, which also hold plain values such as the epoch); keys prefixed ``module.`` (saved from
``nn.DataParallel``). A final ``fc.*`` classification layer that the module lacks is ignored, and so
are ``num_batches_tracked`` counters that old checkpoints lack.

:func:`resnet_architecture` reads the architecture a ResNet weight file was saved from (depth, 2-D
or 3-D, width, shortcut type), so a bare weight file is enough to extract deep features.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from monai.networks.nets import resnet as monai_resnet
from torch import nn

from survival_core.errors import ConfigError, InputError
from survival_core.models.weights_file import SHOWN, check_finite, load_tensors, unwrapped

#: ResNet depth -> (MONAI block type, residual blocks per stage).
DEPTHS: dict[int, tuple[str, tuple[int, ...]]] = {
    18: ("basic", (2, 2, 2, 2)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
}
#: Input channels a weights file's network may take: one image, or three (an ImageNet-style
#: network, the grey image repeated in each).
INPUT_CHANNELS = (1, 3)


def make_resnet(
    depth: int = 18,
    spatial_dims: int = 3,
    n_input_channels: int = 1,
    widen_factor: float = 1.0,
    shortcut_type: str = "B",
    bias_downsample: bool = True,
    stem_stride: Sequence[int] = (2, 2, 1),
    conv1_size: int | Sequence[int] = 7,
) -> monai_resnet.ResNet:
    """A MONAI ResNet of ``depth`` (18, 50, 101) without a classification layer.

    ``stem_stride`` is the first convolution's stride (x, y, z) voxels; a 2-D net uses (x, y).
    ``shortcut_type``/``bias_downsample`` must match a weights file: MedicalNet ResNet-18 uses
    ("A", True), ResNet-50/101 ("B", False).
    """
    if depth not in DEPTHS:
        raise ConfigError(f"ResNet depth must be one of {sorted(DEPTHS)}; got {depth!r}.")
    if spatial_dims not in (2, 3):
        raise ConfigError(f"spatial_dims must be 2 (axial slices) or 3; got {spatial_dims!r}.")
    if shortcut_type not in ("A", "B"):
        raise ConfigError(f"shortcut_type must be 'A' or 'B'; got {shortcut_type!r}.")
    if not (isinstance(widen_factor, int | float) and widen_factor > 0):
        raise ConfigError(f"widen_factor must be > 0; got {widen_factor!r}.")
    stride = tuple(int(s) for s in stem_stride)
    if len(stride) != 3 or min(stride) < 1:
        raise ConfigError(f"stem_stride must be three strides (x, y, z) >= 1; got {stem_stride!r}.")
    block, layers = DEPTHS[depth]
    return monai_resnet.ResNet(
        block,
        list(layers),
        monai_resnet.get_inplanes(),
        spatial_dims=spatial_dims,
        n_input_channels=int(n_input_channels),
        conv1_t_size=conv1_size,
        conv1_t_stride=stride[:spatial_dims][::-1],  # MONAI takes tensor order: (z,) y, x
        shortcut_type=shortcut_type,
        widen_factor=float(widen_factor),
        bias_downsample=bool(bias_downsample),
        feed_forward=False,
    )


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, unwrapped (``state_dict`` key; :func:`unwrapped` names); one
    holding NaN or infinite values is refused (:func:`check_finite`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Weights file {path} does not exist.")
    loaded = load_tensors(path, "cpu")
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not loaded:
        raise InputError(f"{path} holds no state_dict (a mapping of tensor names to tensors).")
    not_tensors = [str(k) for k, v in loaded.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise InputError(
            f"{path} is not a state_dict: entries {', '.join(not_tensors[:SHOWN])} are not tensors."
        )
    state = unwrapped(dict(loaded))
    check_finite(state, path)
    return state


def _shape(tensor: torch.Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def load_weights(module: nn.Module, path: str | Path, what: str = "network") -> None:
    """Load the weights file ``path`` into ``module`` after checking every tensor's name and shape.

    Raises InputError naming the file and the first mismatches (expected vs found shapes, tensors
    missing from the file, tensors the module does not have).
    """
    path = Path(path)
    found = read_state_dict(path)
    expected = module.state_dict()
    problems = []
    for key, tensor in expected.items():
        if key not in found:
            if not key.endswith("num_batches_tracked"):
                problems.append(f"{key} missing (expected {_shape(tensor)})")
        elif _shape(found[key]) != _shape(tensor):
            problems.append(f"{key}: expected {_shape(tensor)}, found {_shape(found[key])}")
    has_fc = any(k.startswith("fc.") for k in expected)
    for key in found:
        if key not in expected and (has_fc or not key.startswith("fc.")):
            problems.append(f"{key} {_shape(found[key])} is not in the {what}")
    if problems:
        hint = ""
        if any("downsample" in p for p in problems):
            hint = (
                " (MedicalNet ResNet-18 weights need shortcut_type='A'; ResNet-50/101 need "
                "bias_downsample=False)"
            )
        raise InputError(
            f"Weights file {path} does not fit the {what}{hint}: {len(problems)} mismatching "
            f"tensor(s), first: {'; '.join(problems[:SHOWN])}."
        )
    state = {k: found[k].to(expected[k].dtype) for k in expected if k in found}
    module.load_state_dict(state, strict=False)  # names and shapes checked above


def resnet_architecture(
    state: Mapping[str, torch.Tensor], source: str = "weights"
) -> dict[str, Any]:
    """The :func:`make_resnet` arguments a ResNet state dict was saved from (depth 18/50/101)."""
    conv1 = state.get("conv1.weight")
    if conv1 is None or conv1.ndim not in (4, 5):
        raise InputError(f"{source} is not a ResNet: it has no 2-D or 3-D 'conv1.weight'.")
    blocks = []
    for stage in range(1, 5):
        indices = {int(m.group(1)) for k in state if (m := re.match(rf"layer{stage}\.(\d+)\.", k))}
        blocks.append(len(indices))
    block = "bottleneck" if "layer1.0.conv3.weight" in state else "basic"
    depth = next((d for d, spec in DEPTHS.items() if spec == (block, tuple(blocks))), None)
    if depth is None:
        known = ", ".join(f"{d} ({b}, {list(n)})" for d, (b, n) in DEPTHS.items())
        raise InputError(
            f"{source}: a ResNet with {block} blocks {blocks} per stage is not supported; "
            f"supported depths: {known}."
        )
    if int(conv1.shape[1]) not in INPUT_CHANNELS:
        raise InputError(
            f"{source}: its first convolution takes {int(conv1.shape[1])} input channels (a "
            "network of several images, such as CT and PET): RadSurv gives it one image (CT or "
            "MR; repeated for a 3-channel ImageNet-style network), which would fill every "
            "channel. Give a network of 1 or 3 input channels."
        )
    has_shortcut_conv = "layer2.0.downsample.0.weight" in state
    return {
        "depth": depth,
        "spatial_dims": conv1.ndim - 2,
        "n_input_channels": int(conv1.shape[1]),
        "widen_factor": conv1.shape[0] / monai_resnet.get_inplanes()[0],
        "shortcut_type": "B" if has_shortcut_conv else "A",
        "bias_downsample": "layer2.0.downsample.0.bias" in state or not has_shortcut_conv,
        "conv1_size": tuple(int(s) for s in conv1.shape[2:]),
    }
