"""Radiomics features of one case on pyradiomics' feature classes, sharing the work per case.

For each scale the image and the ROI masks are resampled once (the whole volume, so that values equal
a plain resample-then-crop) and cropped to the union box of the ROIs (plus a margin when filters are
on). Per filtered image and ROI the crop is narrowed to the ROI's box; shape and first-order features
are computed on it, then each discretisation is applied once and every texture class runs on those
gray levels. Feature classes are called directly with only the features the settings name, which
avoids ``RadiomicsFeatureExtractor``'s per-call overhead (image hashing, diagnostics, whole-image
statistics).

Gray levels come from our quantisers (:mod:`survival_core.preprocess.quantize`), never from
pyradiomics: the texture classes here take the image's integer levels as they are (pyradiomics'
own binning, a bin width anchored at the ROI minimum, would shift levels whenever level 1 is absent
from the ROI). As in pyradiomics, ``Ng`` is the highest level present in the ROI and empty levels
are dropped from the matrices while the level values are kept.

First-order features use the original intensities (HU) unless the settings ask for the levels;
shape features use the mask only. With a re-segmentation in the settings, first-order and texture
features use each ROI's intensity mask (:mod:`survival_core.preprocess.resegment`, computed once per
scale on the original image, also for filtered images) and shape features the contoured ROI.
Texture features are 3D, or IBSI 2.5D (pyradiomics' in-plane mode) or 2D (each slice on its own,
features averaged over the slices, the number of gray levels that of the whole ROI) as the texture
options say.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

import numpy as np
import SimpleITK as sitk
from radiomics import cMatrices, firstorder, glcm, gldm, glrlm, glszm, imageoperations, ngtdm, shape

from survival_core.case import Case
from survival_core.errors import ConfigError, InputError, MaskError, RadSurvError
from survival_core.features.gray_level_runs import GRAY_LEVEL_FEATURES, runs_per_gray_level
from survival_core.features.gray_level_zones import zone_size_matrix
from survival_core.features.settings import (
    INTENSITY_CLASS,
    ROI_SOURCES,
    SHAPE_CLASS,
    Discretisation,
    ExtractionSettings,
    FeatureClass,
    Filters,
    Resegmentation,
    Scale,
    Standardisation,
    feature_name,
    required_masks,
    roi_label,
)
from survival_core.io.role_masks import OUTSIDE_REFUSED, organs_set_aside, outside_share
from survival_core.io.volume import nonzero_box
from survival_core.preprocess.filters import laplacian_of_gaussian, mean_filter
from survival_core.preprocess.intensity import (
    OUTLINE_VERSION,
    NyulStandardizer,
    n4_bias_correct,
    zscore,
)
from survival_core.preprocess.quantize import quantize_roi
from survival_core.preprocess.resample import (
    check_grid_size,
    grid_around,
    grid_for_spacing,
    nudged,
    resample_image_onto,
    resample_mask_onto,
)
from survival_core.preprocess.resegment import resegment
from survival_core.preprocess.roi import (
    ALL_LESIONS,
    RING_MM,
    body_clip,
    body_mask,
    organ_minus_gtv,
    peritumoral_ring,
)

# pyradiomics logs a traceback on stderr for every feature it returns as NaN (e.g. the correlation of
# a one-level ROI); the NaN is kept in the table, the log line is noise at cohort scale.
logging.getLogger("radiomics").setLevel(logging.CRITICAL)
logger = logging.getLogger(__name__)


class _GivenLevels:
    """Mixin for pyradiomics feature classes: use the image's integer gray levels 1..L as they are
    instead of re-binning them (``_applyBinning`` is pyradiomics' discretisation hook)."""

    def __init__(self, inputImage: sitk.Image, inputMask: sitk.Image, **kwargs: Any) -> None:  # noqa: N803
        super().__init__(inputImage, inputMask, **kwargs)
        # Log as the stock class does (e.g. "radiomics.glcm"), not under this module's name.
        self.logger = logging.getLogger(
            next(c.__module__ for c in type(self).__mro__ if c.__module__.startswith("radiomics."))
        )

    def _applyBinning(self, matrix: np.ndarray) -> np.ndarray:  # noqa: N802 - pyradiomics' name
        levels = np.where(self.maskArray, matrix, 0).astype(np.int64)
        inside = levels[self.maskArray]
        # the levels present, sorted (np.unique's result; a histogram is faster for level counts)
        small = inside.size and inside.min() >= 0 and inside.max() < 1 << 16
        present = np.bincount(inside) if small else None
        self.coefficients["grayLevels"] = (
            np.unique(inside) if present is None else np.flatnonzero(present)
        )
        # levelCount: the whole ROI's highest level when this is one slice of it (IBSI 2D)
        highest = int(self.coefficients["grayLevels"].max())
        self.coefficients["Ng"] = max(highest, int(self.settings.get("levelCount", 0)))
        return levels

    def _present_only(self, matrix: np.ndarray) -> np.ndarray:
        """``matrix`` (gray levels 1..Ng on axis 1) without the levels absent from the ROI, as
        pyradiomics drops them."""
        gray_levels = self.coefficients["Ng"]
        absent = np.setdiff1d(np.arange(1, gray_levels + 1), self.coefficients["grayLevels"])
        return np.delete(matrix, absent - 1, 1)


class GLCM(_GivenLevels, glcm.RadiomicsGLCM):
    """Gray level co-occurrence features on given levels."""


class GLRLM(_GivenLevels, glrlm.RadiomicsGLRLM):
    """Gray level run length features on given levels; when every enabled feature needs only the
    runs per gray level (:mod:`survival_core.features.gray_level_runs`), the matrix holds those
    counts alone (one run-length column), which gives pyradiomics' values exactly, faster."""

    def _calculateMatrix(self, voxelCoordinates: np.ndarray | None = None) -> np.ndarray:  # noqa: N802, N803
        enabled = {name for name, on in self.enabledFeatures.items() if on}
        pooled = voxelCoordinates is None and self.weightingNorm is None
        if not (pooled and enabled and enabled <= GRAY_LEVEL_FEATURES):
            return super()._calculateMatrix(voxelCoordinates)
        force_2d = bool(self.settings.get("force2D", False))
        angles = cMatrices.generate_angles(
            np.array(self.imageArray.shape),
            np.array([1]),
            False,
            force_2d,
            int(self.settings.get("force2Ddimension", 0)) if force_2d else -1,
        )
        gray_levels = self.coefficients["Ng"]
        counts = runs_per_gray_level(self.imageArray, self.maskArray, angles, gray_levels)
        # as pyradiomics (same operations, same memory order, so the same sums): drop the levels
        # absent from the ROI, then the directions without runs
        matrix = self._present_only(counts.reshape(1, gray_levels, 1, -1))  # C order, as theirs
        runs = np.sum(matrix, (1, 2))
        empty = np.flatnonzero(np.sum(runs, 0) == 0)
        if matrix.shape[3] > 1 and len(empty):
            matrix, runs = np.delete(matrix, empty, 3), np.delete(runs, empty, 1)
        runs[runs == 0] = np.nan
        self.coefficients["Nr"] = runs
        return matrix


class GLSZM(_GivenLevels, glszm.RadiomicsGLSZM):
    """Gray level size zone features on given levels; the 3D matrix of a whole ROI comes from one
    connected-component pass (:mod:`survival_core.features.gray_level_zones`), pyradiomics'
    exactly, faster; in-plane and voxel-based matrices are pyradiomics' own."""

    def _calculateMatrix(self, voxelCoordinates: np.ndarray | None = None) -> np.ndarray:  # noqa: N802, N803
        if voxelCoordinates is not None or self.settings.get("force2D", False):
            return super()._calculateMatrix(voxelCoordinates)
        matrix = zone_size_matrix(self.imageArray, self.maskArray, self.coefficients["Ng"])
        return self._present_only(matrix[None])  # as pyradiomics: (1, levels, sizes)


class GLDM(_GivenLevels, gldm.RadiomicsGLDM):
    """Gray level dependence features on given levels."""


class NGTDM(_GivenLevels, ngtdm.RadiomicsNGTDM):
    """Neighbouring gray tone difference features on given levels."""


class FirstOrderOnLevels(_GivenLevels, firstorder.RadiomicsFirstOrder):
    """First-order features of the gray levels themselves (histogram = the levels)."""


class FirstOrderBinnedAs(firstorder.RadiomicsFirstOrder):
    """First-order features of the intensities whose histogram (Entropy, Uniformity) counts the
    given ``levels`` (an image on the same grid: the texture features' gray levels), not
    pyradiomics' bins of a width."""

    def __init__(
        self, inputImage: sitk.Image, inputMask: sitk.Image, levels: sitk.Image, **kwargs: Any
    ) -> None:  # noqa: N803
        self._levels = sitk.GetArrayFromImage(levels)
        super().__init__(inputImage, inputMask, **kwargs)

    def _applyBinning(self, matrix: np.ndarray) -> np.ndarray:  # noqa: N802 - pyradiomics' name
        return np.where(self.maskArray, self._levels, 0)


TEXTURE_CALCULATORS: dict[str, type] = {
    "glcm": GLCM,
    "glrlm": GLRLM,
    "glszm": GLSZM,
    "gldm": GLDM,
    "ngtdm": NGTDM,
}
_PYRADIOMICS_CLASSES: dict[str, type] = {
    "shape": shape.RadiomicsShape,
    "firstorder": firstorder.RadiomicsFirstOrder,
    "glcm": glcm.RadiomicsGLCM,
    "glrlm": glrlm.RadiomicsGLRLM,
    "glszm": glszm.RadiomicsGLSZM,
    "gldm": gldm.RadiomicsGLDM,
    "ngtdm": ngtdm.RadiomicsNGTDM,
}
WAVELET_BANDS = tuple("".join(bands) for bands in product("LH", repeat=3))


@cache
def class_features(feature_class: FeatureClass) -> tuple[str, ...]:
    """The pyradiomics features computed for ``feature_class``: the named ones (checked), else every
    feature pyradiomics does not mark deprecated, sorted."""
    available = _PYRADIOMICS_CLASSES[feature_class.name].getFeatureNames()  # name -> deprecated
    if feature_class.features is None:
        return tuple(sorted(name for name, deprecated in available.items() if not deprecated))
    unknown = [f for f in feature_class.features if f not in available]
    if unknown:
        raise ConfigError(
            f"Unknown {feature_class.name} features {unknown}; pyradiomics has "
            f"{sorted(n for n, d in available.items() if not d)}."
        )
    deprecated = [f for f in feature_class.features if available[f]]
    if deprecated:
        raise ConfigError(
            f"The {feature_class.name} features {deprecated} are deprecated in pyradiomics; leave them out."
        )
    return feature_class.features


def _log_name(sigma_mm: float) -> str:
    return f"log{sigma_mm:g}mm"


def _mean_name(size: int) -> str:
    return f"mean{size}"


def image_types(filters: Filters) -> tuple[str, ...]:
    """Names of the images features are computed on: "original", then ``log{sigma}mm`` per LoG
    sigma, then ``wavelet{XYZ}`` per wavelet band (L/H low/high pass along x, y, z), then
    ``mean{size}`` per mean filter."""
    logs = tuple(_log_name(sigma) for sigma in filters.log_sigmas_mm)
    wavelets = tuple(f"wavelet{band}" for band in WAVELET_BANDS) if filters.wavelet else ()
    means = tuple(_mean_name(size) for size in filters.mean_sizes)
    return ("original", *logs, *wavelets, *means)


def _groups(
    settings: ExtractionSettings, scale: Scale, image_type: str
) -> Iterator[tuple[str, str, Discretisation | None]]:
    """(class, name token, discretisation or None) of every feature group of a ROI on one scale and
    image: shape once (original image), first-order once per image, texture once per discretisation."""
    for feature_class in settings.classes:
        name = feature_class.name
        if name == SHAPE_CLASS:
            if image_type == "original":
                yield name, settings.token(scale), None
        elif name == INTENSITY_CLASS and settings.intensity.on == "original":
            yield name, settings.token(scale, image_type), None
        else:
            for discretisation in settings.discretisations:
                yield name, settings.token(scale, image_type, discretisation), discretisation


def feature_names(settings: ExtractionSettings, site: str | None = None) -> list[str]:
    """Every feature name ``settings`` produce on cases of ``site``, in table column order."""
    names = []
    for scale, image_type, roi in product(
        settings.scales, image_types(settings.filters), settings.rois
    ):
        for class_name, token, _ in _groups(settings, scale, image_type):
            features = class_features(settings.feature_class(class_name))
            label = roi_label(roi, site)
            names.extend(feature_name(label, token, class_name, f) for f in features)
    return names


# --- ROIs and grids ---------------------------------------------------------------------------


def _check_organ_holds_gtv(organ: sitk.Image, gtv: sitk.Image, site: str | None) -> None:
    """Refuse organ-minus-GTV features of a GTV lying mostly outside its organ: such features
    were extracted silently with up to 74 % of the GTV outside the liver, and of a lung 3 voxels
    away from the tumour. A GTV partly outside is in the case's warnings
    (:func:`~survival_core.io.role_masks.gtv_outside_organ`), which every result carries."""
    share = outside_share(organ, gtv)
    if share > OUTSIDE_REFUSED:
        raise MaskError(
            f"{share:.0%} of the GTV lies outside the {site or 'organ'} contour, so the "
            f"{site or 'organ'} minus the GTV is not the tissue around the tumour "
            "(another organ, or a GTV shifted or drawn on another scan). Check that the organ "
            "and GTV masks are this case's and on this scan, or extract a preset of the GTV "
            "alone (han2020, full)."
        )


def roi_masks(
    masks: Mapping[str, sitk.Image],
    rois: tuple[str, ...],
    image: sitk.Image | None = None,
    version: int = OUTLINE_VERSION,
) -> dict[str, sitk.Image]:
    """The ROI masks (uint8 0/1, image grid) named in ``rois``, derived from the case's masks (the
    body, and the ring's clip without an organ, from ``image``; ``version``: the settings' MR
    outline, see :func:`~survival_core.preprocess.roi.body_mask`)."""
    missing = [role for role in required_masks(rois) if role not in masks]
    if missing:
        needing = [r for r in rois if set(ROI_SOURCES[r]) & set(missing)]
        raise MaskError(
            f"The ROI(s) {', '.join(needing)} need the {' and '.join(missing)} mask, which this "
            f"case lacks (it has {', '.join(sorted(masks)) or 'no masks'})."
            + (
                " Contour the organ hosting the tumour, or use settings on the GTV alone (han2020, full)."
                if "organ" in missing
                else ""
            )
        )
    body = None
    if (
        "body" in rois or ("peritumoral_ring" in rois and "organ" not in masks)
    ) and image is not None:
        body = body_mask(image, version=version)
    out = {}
    for roi in rois:
        if roi == "organ_minus_gtv":
            out[roi] = organ_minus_gtv(masks["organ"], masks["gtv"])
        elif roi == "peritumoral_ring":
            clip = masks["organ"] if "organ" in masks else body_clip(body, masks)
            out[roi] = peritumoral_ring(
                masks["gtv"], RING_MM, clip_to=clip, all_tumour=masks.get(ALL_LESIONS)
            )
        elif roi == "body":
            if body is None:
                raise MaskError("The body ROI needs the image to find the body outline.")
            out[roi] = body
        else:
            out[roi] = masks[roi]
    return out


@dataclass
class Region:
    """The part of one scale's grid around all ROIs: image values (z, y, x, float32), boolean ROI
    masks of the same shape (as contoured: shape features), their intensity masks (re-segmented:
    intensity and texture features; the ROI masks without a re-segmentation), and the voxel spacing
    (x, y, z, mm)."""

    image: np.ndarray
    masks: dict[str, np.ndarray]
    spacing: tuple[float, float, float]
    intensity_masks: dict[str, np.ndarray]

    def as_image(self, array: np.ndarray) -> sitk.Image:
        """``array`` (z, y, x) as a SimpleITK image with this region's spacing."""
        image = sitk.GetImageFromArray(array)
        image.SetSpacing(self.spacing)
        return image


def _single_voxel(roi: str, where: str) -> str:
    return (
        f"The {roi} ROI is a single voxel {where}: a marker, not a contoured structure; its shape "
        "and texture are undefined."
    )


def resample_region(
    image: sitk.Image,
    rois: Mapping[str, sitk.Image],
    scale: Scale,
    margin_mm: float = 0.0,
    resegmentation: Resegmentation | None = None,
) -> Region:
    """``image`` and ``rois`` on ``scale``'s grid, cropped to the union box of the ROIs widened by
    ``margin_mm`` (mm), with the ROIs' intensity masks after ``resegmentation``. Raises MaskError
    naming a ROI that vanishes on the new grid or in re-segmentation, and one that is a single
    voxel, as contoured or on the new grid (a 5 mm marker voxel became five 1 mm voxels with a
    texture)."""
    contoured = {
        roi: int(np.count_nonzero(sitk.GetArrayViewFromImage(m))) for roi, m in rois.items()
    }
    for roi, count in contoured.items():
        if count == 1:
            raise MaskError(_single_voxel(roi, "as contoured"))
    if scale.spacing_mm is not None:
        grid = grid_for_spacing(image, scale.spacing_mm, scale.alignment)
        inside = [sitk.GetArrayViewFromImage(m) for m in rois.values()]
        grid = grid_around(grid, image, inside, margin_mm)  # the crop's part of the grid alone
        check_grid_size(
            grid,
            f"The box around the {', '.join(rois)} ROI{'s' if len(rois) > 1 else ''} "
            f"(widened by a {margin_mm:g} mm filter margin)",
            "a contour this large (a body or couch outline as the GTV?) is not what radiomics "
            "measures: check the contours, or extract fewer ROIs (--roi) or on a coarser scale.",
        )
        image = resample_image_onto(image, grid, scale.interpolator)
        # nearest-neighbour masks take a tie (a point on the edge between two voxels) by the
        # nudge; linear ones keep IBSI's rule, a fraction of exactly 0.5 inside
        mask_grid = nudged(grid) if scale.mask_method == "nearest" else grid
        rois = {
            roi: resample_mask_onto(mask, mask_grid, scale.mask_method, roi)
            for roi, mask in rois.items()
        }
    masks = {roi: sitk.GetArrayViewFromImage(mask).astype(bool) for roi, mask in rois.items()}
    for roi, voxels in masks.items():
        if not voxels.any():
            raise MaskError(
                f"The {roi} ROI has no voxels on the {scale.token} grid ({contoured[roi]} as "
                "contoured); it is too thin to resample."
            )
        if np.count_nonzero(voxels) == 1:  # pyradiomics' texture classes fail on it, unnamed
            raise MaskError(_single_voxel(roi, f"on the {scale.token} grid"))
    spacing = tuple(float(s) for s in image.GetSpacing())
    margin = np.ceil(margin_mm / np.asarray(spacing[::-1]) - 1e-9).astype(int)
    box = nonzero_box(np.logical_or.reduce(list(masks.values())), margin)
    values = sitk.GetArrayViewFromImage(image)[box].astype(np.float32)
    if scale.spacing_mm is not None and scale.round_intensities:
        values = np.rint(values)
    masks = {roi: voxels[box] for roi, voxels in masks.items()}
    intensity_masks = masks
    if resegmentation is not None:
        intensity_masks = {}
        for roi, voxels in masks.items():
            try:
                intensity_masks[roi] = resegment(
                    values,
                    voxels,
                    resegmentation.range_min,
                    resegmentation.range_max,
                    resegmentation.outlier_sd,
                )
            except MaskError as err:
                raise MaskError(f"The {roi} ROI: {err}") from err
    return Region(values, masks, spacing, intensity_masks)


def filtered_images(region: Region, filters: Filters) -> Iterator[tuple[str, np.ndarray]]:
    """(image type, values) of the original and each filtered image of ``region`` (pyradiomics'
    LoG and wavelet filters, or the sampled IBSI LoG; the IBSI mean filter)."""
    yield "original", region.image
    if not filters.enabled:
        return
    image = region.as_image(region.image)
    union = region.as_image(np.logical_or.reduce(list(region.masks.values())).astype(np.uint8))
    for sigma in filters.log_sigmas_mm:
        if filters.log_kernel == "sampled":
            log = laplacian_of_gaussian(region.image, sigma, region.spacing, filters.boundary)
            yield _log_name(sigma), log.astype(np.float32)
            continue
        produced = list(imageoperations.getLoGImage(image, union, sigma=[sigma]))
        if not produced:
            raise InputError(
                f"The ROI crop ({'x'.join(map(str, image.GetSize()))} voxels) is too small for a "
                f"LoG filter of sigma {sigma:g} mm; use a smaller sigma or a wider filter margin."
            )
        yield _log_name(sigma), sitk.GetArrayFromImage(produced[0][0]).astype(np.float32)
    if filters.wavelet:
        bands = {
            name.removeprefix("wavelet-"): sitk.GetArrayFromImage(band).astype(np.float32)
            for band, name, _ in imageoperations.getWaveletImage(
                image, union, wavelet=filters.wavelet
            )
        }
        for band in WAVELET_BANDS:
            yield f"wavelet{band}", bands[band]
    for size in filters.mean_sizes:
        mean = mean_filter(region.image, size, filters.boundary)
        yield _mean_name(size), mean.astype(np.float32)


# --- features -----------------------------------------------------------------------------------


def compute_class(
    calculator: type, image: sitk.Image, mask: sitk.Image, features: tuple[str, ...], **kwargs: Any
) -> dict[str, float]:
    """``features`` of one pyradiomics feature class (only these are enabled), as floats."""
    instance = calculator(image, mask, **kwargs)
    for feature in features:
        instance.enableFeatureByName(feature)
    values = instance.execute()
    return {feature: float(values[feature]) for feature in features}


def slice_mean_class(
    calculator: type, image: sitk.Image, mask: sitk.Image, features: tuple[str, ...], **kwargs: Any
) -> dict[str, float]:
    """``features`` of a texture class computed on each z slice of ``image`` (gray levels) holding
    ROI voxels on its own, then averaged over those slices (IBSI 2D); the number of gray levels is
    the whole ROI's. A slice's NaN (e.g. the correlation of one gray level) is left out of the mean."""
    levels = sitk.GetArrayViewFromImage(image)
    inside = sitk.GetArrayViewFromImage(mask).astype(bool)
    count = int(levels[inside].max())
    per_slice = [
        compute_class(
            calculator,
            image[:, :, int(z) : int(z) + 1],
            mask[:, :, int(z) : int(z) + 1],
            features,
            levelCount=count,
            **kwargs,
        )
        for z in np.flatnonzero(inside.any(axis=(1, 2)))
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature NaN on every slice stays NaN
        return {f: float(np.nanmean([values[f] for values in per_slice])) for f in features}


#: First-order features of the intensities that count the bins of a histogram.
BINNED_FIRSTORDER = frozenset({"Entropy", "Uniformity"})


def _histogram_of(settings: ExtractionSettings) -> Discretisation | None:
    """The discretisation whose bins first-order Entropy and Uniformity count
    (:attr:`~survival_core.features.settings.ExtractionSettings.histogram_discretisation`); None
    where neither is computed, so that no ROI is discretised for the other first-order features."""
    found = settings.feature_class(INTENSITY_CLASS)
    if found is None or not BINNED_FIRSTORDER & set(class_features(found)):
        return None
    return settings.histogram_discretisation


def roi_features(
    values: np.ndarray,
    mask: np.ndarray,
    region: Region,
    settings: ExtractionSettings,
    scale: Scale,
    image_type: str,
    roi: str,
    intensity_mask: np.ndarray | None = None,
) -> dict[str, float]:
    """All features of one ROI on one scale and image: ``values`` and ``mask`` (z, y, x) are the
    region's arrays, ``intensity_mask`` the ROI's re-segmented voxels (None: ``mask``) for
    intensity and texture features; the work is done on the ROI's own box."""
    box = nonzero_box(mask)
    values, shape_mask = values[box], mask[box]
    mask = shape_mask if intensity_mask is None else intensity_mask[box]
    mask_image = region.as_image(mask.astype(np.uint8))
    texture_kwargs = settings.texture.pyradiomics_kwargs()
    per_slice = settings.texture.dimension == "2D"
    out: dict[str, float] = {}

    def add(
        class_name: str,
        token: str,
        calculator: type,
        image: sitk.Image,
        on: sitk.Image = mask_image,
        compute: Callable[..., dict[str, float]] = compute_class,
        **kwargs: Any,
    ) -> None:
        features = class_features(settings.feature_class(class_name))
        computed = compute(calculator, image, on, features, **kwargs)
        out.update({feature_name(roi, token, class_name, f): v for f, v in computed.items()})

    groups = list(_groups(settings, scale, image_type))
    original = region.as_image(values)
    histogram = _histogram_of(settings)
    shift = settings.intensity.voxel_array_shift
    for class_name, token, discretisation in groups:
        if class_name == SHAPE_CLASS:
            add(
                class_name,
                token,
                shape.RadiomicsShape,
                original,
                on=region.as_image(shape_mask.astype(np.uint8)),
            )
        elif discretisation is None and histogram is None:
            add(
                class_name,
                token,
                firstorder.RadiomicsFirstOrder,
                original,
                binWidth=settings.intensity.bin_width,
                voxelArrayShift=shift,
            )
    for discretisation in settings.discretisations:
        level_groups = [g for g in groups if g[2] == discretisation]
        binned = [g for g in groups if g[2] is None and g[0] == INTENSITY_CLASS]
        binned = binned if discretisation == histogram else []
        if not (level_groups or binned):
            continue
        if level_groups or np.ptp(values[mask.astype(bool)]) > 0:
            quantizer = settings.quantizer(discretisation, filtered=image_type != "original")
            gray = quantize_roi(values, mask, quantizer)
        else:  # one intensity: one bin whatever the binning (quantisers refuse it, for texture)
            gray = mask.astype(np.int32)
        levels = region.as_image(gray)
        for class_name, token, _ in binned:
            add(
                class_name,
                token,
                FirstOrderBinnedAs,
                original,
                levels=levels,
                voxelArrayShift=shift,
            )
        for class_name, token, _ in level_groups:
            if class_name == INTENSITY_CLASS:
                add(
                    class_name,
                    token,
                    FirstOrderOnLevels,
                    levels,
                    voxelArrayShift=shift,
                )
            else:
                add(
                    class_name,
                    token,
                    TEXTURE_CALCULATORS[class_name],
                    levels,
                    compute=slice_mean_class if per_slice else compute_class,
                    **texture_kwargs,
                )
    return out


def standardise(
    image: sitk.Image,
    masks: Mapping[str, sitk.Image],
    standardisation: Standardisation,
    modality: str = "MR",
    version: int = OUTLINE_VERSION,
) -> sitk.Image:
    """``image`` bias-corrected (N4) and standardised as ``standardisation`` says, statistics taken
    inside its region (the body outline, or the case's organ or GTV mask; ``version``: the
    settings' outline and bias field, see :data:`~.intensity.OUTLINE_VERSION`)."""
    region = standardisation.region
    if region == "body":
        mask = body_mask(image, modality, version)
    elif region in masks:
        mask = masks[region]
    else:
        raise MaskError(
            f"Intensity standardisation inside the {region} needs the {region} mask, which this "
            f"case lacks (it has {', '.join(sorted(masks)) or 'no masks'})."
        )
    if standardisation.bias_correction:
        image = n4_bias_correct(image, mask, centred=version >= OUTLINE_VERSION)
    values = sitk.GetArrayFromImage(image)
    inside = sitk.GetArrayViewFromImage(mask).astype(bool)
    if standardisation.method == "zscore":
        standard = zscore(values, inside)
    else:
        nyul = NyulStandardizer(standardisation.percentiles)
        nyul.landmarks_ = np.asarray(standardisation.standard_landmarks)
        standard = nyul.transform(values, inside)
    out = sitk.GetImageFromArray(standard.astype(np.float32))
    out.CopyInformation(image)
    return out


#: Modalities whose voxel values are on an absolute scale: CT in HU, PET in SUVbw (as read).
ABSOLUTE_SCALE_MODALITIES = ("CT", "PT")


def extract_image(
    image: sitk.Image,
    masks: Mapping[str, sitk.Image],
    settings: ExtractionSettings,
    name: str = "image",
    site: str | None = None,
    modality: str = "CT",
) -> dict[str, float]:
    """Features (name -> value) of ``image`` with ``masks`` (role -> uint8 0/1 on the image grid) for
    ``settings``; organ ROIs are named after ``site``. A non-CT image is standardised first when the
    settings say how, and refused when the settings need absolute (HU) intensities. Errors name
    ``name`` (the case id), the ROI and the scale."""
    for feature_class in settings.classes:
        class_features(feature_class)  # settings errors before any work
    if modality.upper() not in ABSOLUTE_SCALE_MODALITIES and settings.uses_absolute_intensity:
        raise ConfigError(
            f"{name}: the {settings.preset} settings use absolute CT intensities (HU bins of a "
            f"fixed width or first-order features of raw values), but the image is {modality}, "
            "which has no absolute scale (CT has HU, PET SUV). Use the preset's MR variant "
            "(modality MR: intensity standardisation first) or settings with a standardisation."
        )
    first = settings.version < 2  # settings of version 1 keep that version's filter margin
    try:
        if settings.standardisation is not None:
            image = standardise(image, masks, settings.standardisation, modality, settings.version)
        rois = roi_masks(masks, settings.rois, image, settings.version)
        if "organ_minus_gtv" in settings.rois:
            _check_organ_holds_gtv(masks["organ"], masks["gtv"], site)
    except RadSurvError as err:
        raise type(err)(f"{name}: {err}") from err
    out: dict[str, float] = {}
    for scale in settings.scales:
        where = f"{name} ({scale.token} grid)"
        spacing = max(np.atleast_1d(scale.spacing_mm or image.GetSpacing()))
        margin = settings.filters.margin_for(float(spacing), fixed=first)
        try:
            region = resample_region(image, rois, scale, margin, settings.resegmentation)
            for image_type, values in filtered_images(region, settings.filters):
                for roi in settings.rois:
                    where = f"{name}, {roi} ({scale.token} grid, {image_type} image)"
                    out.update(
                        roi_features(
                            values,
                            region.masks[roi],
                            region,
                            settings,
                            scale,
                            image_type,
                            roi_label(roi, site),
                            region.intensity_masks[roi],
                        )
                    )
        except RadSurvError as err:
            raise type(err)(f"{where}: {err}") from err
    return out


def extract_case(case: Case, settings: ExtractionSettings) -> dict[str, float]:
    """Features (name -> value) of ``case`` for ``settings``; see :func:`extract_image` (and
    :mod:`survival_core.features.lesions` when lesions are not united)."""
    if settings.lesions != "union":
        from survival_core.features.lesions import extract_lesions

        return extract_lesions(case, settings, extract_case)
    try:
        return extract_image(
            case.image,
            case.masks,
            settings,
            name=case.case_id,
            site=case.site,
            modality=case.modality,
        )
    except MaskError as err:  # an organ contour set aside on loading: say why with the refusal
        set_aside = organs_set_aside(case.warnings)
        if "organ" in case.masks or not set_aside:
            raise
        raise MaskError(f"{err} {' '.join(set_aside)}") from err
