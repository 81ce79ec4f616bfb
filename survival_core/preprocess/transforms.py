"""Composable preprocessing steps over a :class:`Case`.

Each step is a small callable ``Case -> Case`` that returns a new case and never mutates its input;
it only routes the case's image and masks to the functions in the sibling modules. Chain them with
:class:`Compose`, e.g.::

    Compose([Resample((1, 1, 1)), DeriveROIs(ring_mm=5), CropToROI("organ", 10), ApplyWindow("liver")])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from survival_core.case import Case
from survival_core.errors import ConfigError, MaskError
from survival_core.preprocess.intensity import zscore
from survival_core.preprocess.resample import (
    AIR_HU,
    grid_for_spacing,
    resample_image_onto,
    resample_mask_onto,
)
from survival_core.preprocess.roi import (
    BODY,
    ORGAN_MINUS_GTV,
    PERITUMORAL_RING,
    body_clip,
    body_mask,
    crop_to_roi,
    organ_minus_gtv,
    peritumoral_ring,
    resize_to_shape,
)
from survival_core.preprocess.window import Window, apply_window, get_window

CaseTransform = Callable[[Case], Case]


def _updated(
    case: Case, image: sitk.Image | None = None, masks: Mapping[str, sitk.Image] | None = None
) -> Case:
    """A new case with ``image`` and/or ``masks`` replaced; dicts are copied, never shared."""
    return dataclasses.replace(
        case,
        image=case.image if image is None else image,
        masks=dict(case.masks if masks is None else masks),
        clinical=dict(case.clinical),
    )


@dataclass(frozen=True)
class Resample:
    """Image and masks onto an isotropic or other ``spacing`` (mm, x y z) over the same box.

    CT is padded with air (-1024 HU), other modalities with the image minimum.
    """

    spacing: tuple[float, ...] = (1.0, 1.0, 1.0)
    interpolator: str = "linear"
    mask_method: str = "nearest"

    def __call__(self, case: Case) -> Case:
        grid = grid_for_spacing(case.image, self.spacing)
        pad = AIR_HU if case.modality == "CT" else None
        return _updated(
            case,
            resample_image_onto(case.image, grid, self.interpolator, pad),
            {
                role: resample_mask_onto(mask, grid, self.mask_method, role)
                for role, mask in case.masks.items()
            },
        )


@dataclass(frozen=True)
class DeriveROIs:
    """Adds ``organ_minus_gtv`` (when the case has an organ), ``body`` and, with ``ring_mm``, a
    ``peritumoral_ring`` of that thickness (mm) clipped to the organ, else to the body. Needs the
    ``gtv`` mask."""

    ring_mm: float | None = None

    def __call__(self, case: Case) -> Case:
        if "gtv" not in case.masks:
            raise MaskError(
                f"Case {case.case_id} has no GTV mask; derived ROIs are made around the tumour "
                f"(it has {sorted(case.masks) or 'no masks'})."
            )
        gtv, organ = case.masks["gtv"], case.masks.get("organ")
        body = body_mask(case.image, case.modality)
        masks = {**case.masks, BODY: body}
        if organ is not None:
            masks[ORGAN_MINUS_GTV] = organ_minus_gtv(organ, gtv)
        if self.ring_mm is not None:
            masks[PERITUMORAL_RING] = peritumoral_ring(
                gtv, self.ring_mm, clip_to=organ if organ is not None else body_clip(body, masks)
            )
        return _updated(case, masks=masks)


@dataclass(frozen=True)
class CropToROI:
    """Image and all masks cropped to the ``role`` mask's box plus ``margin_mm`` on every side."""

    role: str = "organ"
    margin_mm: float = 10.0

    def __call__(self, case: Case) -> Case:
        image, masks = crop_to_roi(case.image, case.masks, self.role, self.margin_mm)
        return _updated(case, image, masks)


@dataclass(frozen=True)
class ResizeToShape:
    """Image and masks resampled onto ``shape`` voxels (x, y, z) over the same box (for CNN input)."""

    shape: tuple[int, ...] = (224, 224, 48)
    interpolator: str = "linear"

    def __call__(self, case: Case) -> Case:
        image, masks = resize_to_shape(case.image, self.shape, self.interpolator, case.masks)
        return _updated(case, image, masks)


@dataclass(frozen=True)
class ApplyWindow:
    """CT intensities windowed (a preset name or ``Window(level, width)`` in HU) onto ``out_range``."""

    window: str | Window = "abdomen"
    out_range: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        get_window(self.window)  # unknown names fail when the pipeline is built, not per case

    def __call__(self, case: Case) -> Case:
        if case.modality != "CT":
            raise ConfigError(
                f"Case {case.case_id} is {case.modality}; HU windows apply to CT only "
                "(use ZScore or Nyul standardisation for MR)."
            )
        return _updated(case, apply_window(case.image, self.window, self.out_range))


@dataclass(frozen=True)
class ZScore:
    """Image z-scored with mean and SD inside the ``role`` mask (the whole image with ``None``)."""

    role: str | None = None

    def __call__(self, case: Case) -> Case:
        if self.role is not None and self.role not in case.masks:
            raise MaskError(f"Case {case.case_id} has no {self.role!r} mask to z-score within.")
        mask = None if self.role is None else case.mask_array(self.role)
        image = sitk.GetImageFromArray(zscore(case.array(), mask))
        image.CopyInformation(case.image)
        return _updated(case, image)


@dataclass(frozen=True)
class PercentileRange:
    """Intensities between the image's ``low`` and ``high`` percentiles mapped onto [0, 1] (clipped):
    the MR counterpart of a CT window, for images without an absolute scale."""

    low: float = 1.0
    high: float = 99.0

    def __call__(self, case: Case) -> Case:
        values = sitk.GetArrayFromImage(case.image).astype(np.float32)
        lo, hi = np.percentile(values, (self.low, self.high))
        scaled = np.clip((values - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(values)
        image = sitk.GetImageFromArray(scaled.astype(np.float32))
        image.CopyInformation(case.image)
        return _updated(case, image)


class Compose:
    """Applies ``transforms`` in order."""

    def __init__(self, transforms: Sequence[CaseTransform]) -> None:
        for step in transforms:
            if not callable(step):
                raise ConfigError(f"Preprocessing step {step!r} is not callable.")
        self.transforms = tuple(transforms)

    def __call__(self, case: Case) -> Case:
        for step in self.transforms:
            case = step(case)
        return case

    def __repr__(self) -> str:
        return f"Compose([{', '.join(map(repr, self.transforms))}])"
