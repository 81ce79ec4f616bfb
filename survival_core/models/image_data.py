"""Image inputs for the 3-D CNN: liver-cropped CT volumes, random and grid patches, volume risk.

Sizes and shapes given by the user are (x, y, z) voxels, as everywhere in the preprocessing;
arrays are numpy/torch order ``(C, z, y, x)`` for a volume and ``(n, C, z, y, x)`` for patches.
A volume smaller than the patch along an axis is zero-padded at the far end (0 is the bottom of
the [0, 1] window, i.e. air/fat), so every patch has the requested size.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import numpy as np
import SimpleITK as sitk
import torch
from torch import nn

from survival_core.case import Case
from survival_core.errors import ConfigError, InputError, MaskError
from survival_core.io.modality_view import extent_text
from survival_core.preprocess.transforms import (
    ApplyWindow,
    Compose,
    CropToROI,
    PercentileRange,
    ResizeToShape,
)
from survival_core.preprocess.window import Window

#: Margin (mm) around the GTV's box when a case has no organ to crop the network input to.
GTV_MARGIN_MM = 30.0
#: A crop stretched more than this many times along an axis onto the network's grid, or of
#: fewer scanned voxels than :data:`MIN_SCANNED` along it, is refused: the network would read
#: interpolation (a 2- or 3-slice scan, a 6 x 6 x 3-voxel chip were scored high-risk as whole
#: volumes). Whole scans are stretched less: pyradiomics' lung1 (5 mm slices) 3.2-fold along z
#: and its breast1 (45 voxels wide) 5-fold along x at 224 x 224 x 48.
MAX_STRETCH = 8.0
#: Fewest scanned voxels along an axis that make a volume (2 or 3 slices are a slab), for a
#: network reading more than that many along it.
MIN_SCANNED = 4
#: Default patch size (x, y, z) voxels.
PATCH_SIZE = (80, 80, 40)


def network_input(
    case: Case,
    shape: Sequence[int] = (224, 224, 48),
    window: str | Window = "arterial",
    margin_mm: float = 10.0,
    gtv_margin_mm: float = GTV_MARGIN_MM,
) -> tuple[np.ndarray, sitk.Image]:
    """The CNN input of ``case`` and the physical grid it lies on.

    The image is cropped to the organ's box (+ ``margin_mm``) when the case has an organ, else to
    the GTV's box (+ ``gtv_margin_mm``), so a network sees the organ of its own site (lungs for a
    lung case), never an empty liver crop. It is resized to ``shape`` (x, y, z) and mapped onto
    [0, 1]: CT through the HU ``window``, MR (no absolute scale) between the crop's 1st and 99th
    percentiles. Returns ``(volume, reference)``: ``volume`` a float32 array ``(1, z, y, x)``;
    ``reference`` the SimpleITK image of that input (size, origin, spacing, direction), so maps
    computed on the network grid can be resampled back to the original image. Only the cropping
    mask takes part (a GTV thinner than an output voxel does not stop it). A crop too small for
    ``shape`` is refused (:func:`_check_extent`).
    """
    shape = _check_size(shape, "Volume shape")
    role = "organ" if "organ" in case.masks else "gtv"
    if role not in case.masks:
        raise MaskError(
            f"Case {case.case_id} has neither an organ nor a GTV mask to crop the network input to "
            f"(it has {sorted(case.masks) or 'no masks'})."
        )
    margin = margin_mm if role == "organ" else gtv_margin_mm
    one_mask = dataclasses.replace(case, masks={role: case.masks[role]})
    intensity = ApplyWindow(window) if case.modality == "CT" else PercentileRange()
    cropped = CropToROI(role, margin)(one_mask)
    _check_extent(case.case_id, cropped.image, case.image.GetSize(), shape)
    reference = Compose([ResizeToShape(shape), intensity])(cropped).image
    return sitk.GetArrayFromImage(reference).astype(np.float32, copy=False)[None], reference


def _check_extent(
    case_id: str, crop: sitk.Image, scanned: Sequence[int], shape: tuple[int, int, int]
) -> None:
    """Refuse a scan that ``shape`` (x, y, z) would read as interpolation rather than scan: along
    an axis where the crop is the whole ``scanned`` image (the scan, not the model's margin,
    bounds it), fewer than :data:`MIN_SCANNED` voxels, or stretched more than
    :data:`MAX_STRETCH` times (where the network reads fewer voxels along an axis, those are
    enough). A crop bounded by its margin within a larger scan is the model's own choice: the
    whole 48-slice lung1 CT, its GTV box + 30 mm 15 slices of 5 mm, was refused at 128^3."""
    size = crop.GetSize()
    needed = [min(s, max(MIN_SCANNED, math.ceil(s / MAX_STRETCH))) for s in shape]
    short = [
        i for i, (n, k) in enumerate(zip(size, needed, strict=True)) if n < k and n >= scanned[i]
    ]
    if not short:
        return
    what = "a single slice (2-D)" if any(size[i] == 1 for i in short) else "too small"
    stretched = ", ".join(f"{shape[i] / size[i]:.3g}-fold along {'xyz'[i]}" for i in short)
    raise InputError(
        f"Case {case_id} is {what}: a 3-D network reads volumes, and the scan it reads "
        f"({extent_text(crop)}) stretched onto its {_times(shape)} voxels ({stretched}) would "
        f"score a volume that was never scanned. This model reads at least {_times(needed)} "
        f"scanned voxels (at most {MAX_STRETCH:g}-fold stretched, {MIN_SCANNED} or more along "
        "an axis). Give the whole scan."
    )


def _times(size: Sequence[int]) -> str:
    return " x ".join(map(str, size))


def case_volume(
    case: Case,
    shape: Sequence[int] = (224, 224, 48),
    window: str | Window = "arterial",
    margin_mm: float = 10.0,
    gtv_margin_mm: float = GTV_MARGIN_MM,
) -> np.ndarray:
    """The CNN input of ``case`` (see :func:`network_input`) as a float32 array ``(1, z, y, x)``."""
    return network_input(case, shape, window, margin_mm, gtv_margin_mm)[0]


def _check_size(size: Sequence[int], what: str) -> tuple[int, int, int]:
    size = tuple(size)
    if len(size) != 3 or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0 for s in size
    ):
        raise ConfigError(f"{what} must be three positive voxel counts (x, y, z); got {size!r}.")
    return tuple(int(s) for s in size)


def _check_volume(volume: np.ndarray) -> np.ndarray:
    volume = np.asarray(volume)
    if volume.ndim != 4:
        raise ConfigError(
            f"Expected a volume of shape (C, z, y, x); got an array of shape {volume.shape}."
        )
    return volume


def _padded(volume: np.ndarray, zyx: tuple[int, int, int]) -> np.ndarray:
    """``volume`` zero-padded at the far end of every axis shorter than the patch."""
    pad = [(0, 0)] + [(0, max(p - s, 0)) for s, p in zip(volume.shape[1:], zyx, strict=True)]
    return np.pad(volume, pad) if any(after for _, after in pad) else volume


def extract_patches(
    volume: np.ndarray, starts: Sequence[Sequence[int]], size: Sequence[int] = PATCH_SIZE
) -> np.ndarray:
    """Patches of ``size`` (x, y, z) at ``starts`` (z, y, x voxel indices): ``(n, C, pz, py, px)``."""
    volume = _check_volume(volume)
    zyx = _check_size(size, "Patch size")[::-1]
    volume = _padded(volume, zyx)
    out = np.empty((len(starts), volume.shape[0], *zyx), dtype=volume.dtype)
    for i, start in enumerate(starts):
        box = tuple(slice(int(a), int(a) + p) for a, p in zip(start, zyx, strict=True))
        out[i] = volume[(slice(None), *box)]
    return out


def random_patch_starts(
    volume_shape: Sequence[int],
    size: Sequence[int] = PATCH_SIZE,
    n: int = 1,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """``n`` uniformly drawn patch corners ``(n, 3)`` (z, y, x) for a ``(C, z, y, x)`` volume shape."""
    if not (isinstance(n, int | np.integer) and n >= 0):
        raise ConfigError(f"Number of patches must be a non-negative integer; got {n!r}.")
    rng = np.random.default_rng(rng)
    zyx = _check_size(size, "Patch size")[::-1]
    highs = [max(s - p, 0) + 1 for s, p in zip(tuple(volume_shape)[1:], zyx, strict=True)]
    return np.stack([rng.integers(0, h, size=int(n)) for h in highs], axis=1)


def random_patches(
    volume: np.ndarray,
    size: Sequence[int] = PATCH_SIZE,
    n: int = 1,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """``n`` random crops of ``size`` (x, y, z) from ``volume`` ``(C, z, y, x)``:
    ``(n, C, pz, py, px)`` (training augmentation). ``rng`` is a numpy Generator or a seed."""
    volume = _check_volume(volume)
    return extract_patches(volume, random_patch_starts(volume.shape, size, n, rng), size)


def _axis_starts(length: int, patch: int, stride: int) -> list[int]:
    if length <= patch:
        return [0]
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] + patch < length:
        starts.append(length - patch)  # last patch flush with the far edge (overlaps its neighbour)
    return starts


def grid_patch_starts(
    volume_shape: Sequence[int],
    size: Sequence[int] = PATCH_SIZE,
    stride: Sequence[int] | None = None,
) -> np.ndarray:
    """Corners ``(n, 3)`` (z, y, x) of a patch grid covering every voxel of a ``(C, z, y, x)``
    volume shape; ``stride`` (x, y, z) defaults to the patch size (overlap only at the far edges)."""
    zyx = _check_size(size, "Patch size")[::-1]
    steps = zyx if stride is None else _check_size(stride, "Patch stride")[::-1]
    per_axis = [
        _axis_starts(s, p, st) for s, p, st in zip(tuple(volume_shape)[1:], zyx, steps, strict=True)
    ]
    return np.array(list(itertools.product(*per_axis)), dtype=np.int64).reshape(-1, 3)


def patch_grid(
    volume: np.ndarray, size: Sequence[int] = PATCH_SIZE, stride: Sequence[int] | None = None
) -> np.ndarray:
    """Grid patches ``(n, C, pz, py, px)`` covering the whole ``volume`` (see
    :func:`grid_patch_starts`); a volume no larger than one patch gives one (padded) patch."""
    volume = _check_volume(volume)
    return extract_patches(volume, grid_patch_starts(volume.shape, size, stride), size)


def predict_volume_risk(
    net: nn.Module,
    volume: np.ndarray,
    size: Sequence[int] = PATCH_SIZE,
    stride: Sequence[int] | None = None,
    batch_size: int = 8,
) -> float:
    """Mean of ``net``'s risk over the patch grid of ``volume`` (eval mode, no gradient).

    The net's train/eval mode is restored afterwards; patches run on the net's device.
    """
    patches = patch_grid(volume, size, stride)
    step = max(int(batch_size), 1)
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            risks = [
                net(torch.as_tensor(patches[i : i + step], dtype=torch.float32, device=device))
                .reshape(-1)
                .cpu()
                for i in range(0, len(patches), step)
            ]
    finally:
        net.train(was_training)
    return float(torch.cat(risks).double().mean())
