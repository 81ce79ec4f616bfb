"""Derived regions of interest (organ minus tumour, peritumoral ring, body outline) and
cropping/resizing of a volume together with its masks.

Masks are uint8 0/1 SimpleITK images on the image grid; distances are physical (mm), taking the
voxel spacing into account, so a 5 mm ring is 5 mm thick in-plane and across thick slices alike.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import SimpleITK as sitk
from scipy.ndimage import distance_transform_edt

from survival_core.errors import ConfigError, MaskError
from survival_core.preprocess.intensity import OUTLINE_VERSION, tissue_threshold
from survival_core.preprocess.resample import (
    Grid,
    check_same_grid,
    grid_for_shape,
    resample_image_onto,
    resample_mask_onto,
)

#: Role names of the derived masks.
ORGAN_MINUS_GTV = "organ_minus_gtv"
PERITUMORAL_RING = "peritumoral_ring"
BODY = "body"
#: The mask of every lesion, beside a single lesion's ``gtv`` (per-lesion features).
ALL_LESIONS = "all_lesions"
#: Thickness (mm) of the ``peritumoral_ring`` feature ROI.
RING_MM = 5.0
#: CT voxels above this (HU) are tissue rather than air, for the body outline.
BODY_THRESHOLD_HU = -500.0

logger = logging.getLogger(__name__)


def _check_mm(value: float, what: str, allow_zero: bool) -> None:
    """ConfigError unless ``value`` is a finite number of mm, positive (or zero if allowed)."""
    is_number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    )
    if not (is_number and math.isfinite(value) and (value > 0 or (allow_zero and value == 0))):
        sign = "non-negative" if allow_zero else "positive"
        raise ConfigError(f"{what} must be a {sign} number of mm; got {value!r}.")


def _voxels(mask: sitk.Image, name: str) -> np.ndarray:
    """The (z, y, x) boolean voxels of a mask that must not be empty."""
    voxels = sitk.GetArrayFromImage(mask).astype(bool)
    if not voxels.any():
        raise MaskError(
            f"The {name} mask is empty (no voxels); check that the structure is contoured."
        )
    return voxels


def _as_mask(voxels: np.ndarray, like: sitk.Image) -> sitk.Image:
    out = sitk.GetImageFromArray(voxels.astype(np.uint8))
    out.CopyInformation(like)
    return out


def organ_minus_gtv(organ: sitk.Image, gtv: sitk.Image) -> sitk.Image:
    """The organ without the tumour (e.g. background liver or lung parenchyma), uint8 0/1."""
    check_same_grid(organ, gtv, "The GTV mask")
    parenchyma = _voxels(organ, "organ") & ~_voxels(gtv, "GTV")
    if not parenchyma.any():
        raise MaskError("Organ minus GTV is empty: the GTV mask covers the whole organ mask.")
    return _as_mask(parenchyma, organ)


def body_mask(
    image: sitk.Image, modality: str | None = None, version: int = OUTLINE_VERSION
) -> sitk.Image:
    """The body outline: CT voxels above -500 HU (MR, PET: above
    :func:`~survival_core.preprocess.intensity.tissue_threshold`), the largest connected part,
    holes filled slice by slice (the lungs and bowel gas are inside the body), uint8 0/1.

    ``modality`` None guesses CT when the image holds air-like values below -500. ``version``:
    the MR outline of extraction settings of that version (:data:`OUTLINE_VERSION`), kept so that
    their models score as they trained; version 1's was Otsu's threshold of the raw values (the
    fat alone on T1)."""
    from scipy import ndimage

    values = sitk.GetArrayFromImage(image).astype(np.float32)
    is_ct = (modality or "").upper() == "CT" or (
        modality is None and values.min() < BODY_THRESHOLD_HU
    )
    if is_ct:
        tissue = values > BODY_THRESHOLD_HU
    elif version < 2:
        otsu = sitk.OtsuThreshold(sitk.Cast(image, sitk.sitkFloat32), 0, 1)
        tissue = sitk.GetArrayFromImage(otsu).astype(bool)
    else:
        tissue = values > tissue_threshold(image, robust=version >= OUTLINE_VERSION)
    labels, count = ndimage.label(tissue)
    if count == 0:
        raise MaskError("No body outline found: the image holds no tissue-like voxels.")
    sizes = np.bincount(labels.ravel())[1:]
    body = labels == (int(np.argmax(sizes)) + 1)
    body = np.stack([ndimage.binary_fill_holes(plane) for plane in body])
    return _as_mask(body, image)


#: Share of the GTV the body outline may leave out and still clip the ring: a contour straying
#: a voxel or two past the skin (the ring must hold no air around a superficial tumour), not an
#: outline cut open on a scan cropped around the tumour (IBSI's CT phantom: 7 %; lung1 cropped:
#: all of it), whose lung is no hole to fill.
BODY_MISSED_GTV = 0.02


def body_clip(body: sitk.Image | None, masks: Mapping[str, sitk.Image]) -> sitk.Image | None:
    """The body outline to clip the ring around ``masks``' tumour (every lesion where the masks
    hold them, else the GTV) to, or None where it leaves out more than :data:`BODY_MISSED_GTV` of
    the tumour: then the ring kept only the chest wall's side (or nothing) of a lung tumour."""
    if body is None:
        return None
    tumour = sitk.GetArrayViewFromImage(masks.get(ALL_LESIONS, masks["gtv"])).astype(bool)
    inside = sitk.GetArrayViewFromImage(body).astype(bool)
    if (tumour & ~inside).sum() > BODY_MISSED_GTV * tumour.sum():
        logger.warning(
            "The body outline leaves out part of the GTV (a scan cropped around the tumour?): "
            "the peritumoral ring is not clipped to it."
        )
        return None
    return body


def bounding_box(
    mask: sitk.Image, margin_mm: float = 0.0, name: str = "mask"
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Start index and size (voxels, x y z) of the box around ``mask``'s voxels, widened by at least
    ``margin_mm`` on every side and clipped to the image."""
    _check_mm(margin_mm, "Crop margin", allow_zero=True)
    voxels = _voxels(mask, name)
    dim = voxels.ndim
    first, last = [], []
    for axis in range(dim):  # numpy axes are z, y, x
        present = np.flatnonzero(voxels.any(axis=tuple(a for a in range(dim) if a != axis)))
        first.append(present[0])
        last.append(present[-1])
    first, last = np.array(first[::-1]), np.array(last[::-1])  # now x, y, z
    margin = np.ceil(margin_mm / np.asarray(mask.GetSpacing()) - 1e-9).astype(int)
    start = np.maximum(first - margin, 0)
    stop = np.minimum(last + margin, np.asarray(mask.GetSize()) - 1)
    return tuple(int(v) for v in start), tuple(int(v) for v in stop - start + 1)


def peritumoral_ring(
    gtv: sitk.Image,
    distance_mm: float,
    clip_to: sitk.Image | None = None,
    all_tumour: sitk.Image | None = None,
) -> sitk.Image:
    """Voxels outside the GTV within ``distance_mm`` (mm, centre to nearest GTV voxel centre) of it,
    optionally kept only inside ``clip_to`` (the organ, else the body outline), uint8 0/1. With
    ``gtv`` one lesion, ``all_tumour`` (every lesion) keeps its neighbours out of its ring."""
    _check_mm(distance_mm, "Peritumoral ring distance", allow_zero=False)
    tumour = _voxels(gtv, "GTV")
    # Every voxel within distance_mm of the tumour lies in its box widened by distance_mm.
    start, size = bounding_box(gtv, distance_mm)
    box = tuple(slice(s, s + n) for s, n in zip(start[::-1], size[::-1], strict=True))
    distance = distance_transform_edt(~tumour[box], sampling=gtv.GetSpacing()[::-1])
    ring = np.zeros_like(tumour)
    ring[box] = (distance > 0) & (distance <= distance_mm)
    if clip_to is not None:
        check_same_grid(gtv, clip_to, "The mask to clip the ring to")
        ring &= _voxels(clip_to, "clipping (organ or body)")
    if all_tumour is not None:
        check_same_grid(gtv, all_tumour, "The mask of every lesion")
        ring &= ~sitk.GetArrayViewFromImage(all_tumour).astype(bool)
    if not ring.any():
        raise MaskError(
            f"The {distance_mm:g} mm peritumoral ring is empty: the GTV leaves no room around it "
            "inside the organ or body mask."
        )
    return _as_mask(ring, gtv)


def crop_to_roi(
    image: sitk.Image, masks: Mapping[str, sitk.Image], role: str, margin_mm: float = 0.0
) -> tuple[sitk.Image, dict[str, sitk.Image]]:
    """``image`` and all ``masks`` cropped to the same box: the ``role`` mask plus ``margin_mm``.

    The crops keep their physical position (origin moves with the box).
    """
    if role not in masks:
        raise MaskError(f"No {role!r} mask to crop to; this case has masks {sorted(masks)}.")
    for name, mask in masks.items():
        check_same_grid(image, mask, f"The {name!r} mask")
    start, size = bounding_box(masks[role], margin_mm, role)
    return (
        sitk.RegionOfInterest(image, size, start),
        {name: sitk.RegionOfInterest(mask, size, start) for name, mask in masks.items()},
    )


def resize_to_shape(
    image: sitk.Image,
    shape: Sequence[int] = (224, 224, 48),
    interpolator: str = "linear",
    masks: Mapping[str, sitk.Image] | None = None,
) -> tuple[sitk.Image, dict[str, sitk.Image]]:
    """``image`` (float32, ``interpolator``) and ``masks`` (nearest neighbour) resampled onto a grid of
    ``shape`` voxels (x, y, z) covering the same physical box; the spacing changes per axis.

    A mask that vanishes (a structure thinner than one output voxel) raises MaskError naming it.
    """
    grid = grid_for_shape(image, shape)
    resized = {}
    for name, mask in (masks or {}).items():
        check_same_grid(image, mask, f"The {name!r} mask")
        _voxels(mask, name)
        resized[name] = resample_mask_onto(mask, grid, "nearest", name)
        check_not_vanished(sitk.GetArrayViewFromImage(resized[name]), name, grid)
    return resample_image_onto(image, grid, interpolator), resized


def check_not_vanished(voxels: np.ndarray, name: str, grid: Grid) -> None:
    """MaskError naming mask ``name`` when its ``voxels`` resampled onto ``grid`` are all empty:
    the structure is thinner than one voxel of the grid, and a case with an empty tumour would
    be read (or scored) as one without."""
    if not np.asarray(voxels).any():
        spacing = ", ".join(f"{s:.2f}" for s in grid.spacing)
        raise MaskError(
            f"The {name!r} mask disappears when resized to {tuple(grid.size)} voxels "
            f"({spacing} mm); it is thinner than one output voxel."
        )
