"""Resampling of images and masks onto new voxel grids that cover the same physical box.

A volume covers the box from the outer edge of its first voxel to the outer edge of its last voxel
(mm). Resampling to a new spacing keeps that box: the new size is
``round(old_size * old_spacing / new_spacing)`` per axis, and the first voxel edges coincide, so the
new origin (the centre of voxel 0) is::

    origin_new = origin_old + direction @ ((new_spacing - old_spacing) / 2)

When the old extent is not a whole number of new voxels, the far edge moves by less than half a new
voxel. Resampling to a fixed shape (:func:`grid_for_shape`) chooses the spacing so that both edges
coincide exactly.

The IBSI reference manual (chapter 1, "grid alignment") aligns grid *centres* instead
(``align="centre"``): the new size is ``ceil(old_size * old_spacing / new_spacing)`` per axis and the
centre of the new grid is the centre of the old one, so the new grid overhangs the old box by up to
half a new voxel on each side. Radiomics that must reproduce IBSI reference values use it; the
default keeps the box.

Images come out float32. Grid points outside the source volume get ``default_value``: -1024 HU
(air) by default, which is what a reader expects outside a CT field of view; pass ``None`` to use the
image's own minimum (e.g. for MR). With box-preserving grids no point falls outside, so the pad value
only matters for :func:`resample_to_reference` onto a larger grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from survival_core.errors import ConfigError, GeometryError, MaskError

#: CT number of air (HU): the pad value outside a CT volume.
AIR_HU = -1024.0

_IMAGE_INTERPOLATORS = {
    "linear": sitk.sitkLinear,
    "bspline": sitk.sitkBSpline,
    "nearest": sitk.sitkNearestNeighbor,
}
_MASK_METHODS = ("nearest", "linear")

#: Largest grid we agree to build (voxels): 4 GB as float32. Beyond it a spacing or shape is a typo.
MAX_VOXELS = 1_000_000_000

#: How a new grid is placed over the old: first voxel edges together ("box", the default) or grid
#: centres together (IBSI, "centre"); see the module doc.
ALIGNMENTS = ("box", "centre")


@dataclass(frozen=True)
class Grid:
    """A voxel grid in SimpleITK (x, y, z) order.

    ``size`` in voxels, ``spacing`` in mm, ``origin`` the centre of voxel 0 in mm (patient LPS),
    ``direction`` the row-major direction cosine matrix, flattened.
    """

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image: sitk.Image) -> Grid:
        """The grid ``image`` lies on."""
        return cls(
            tuple(image.GetSize()),
            tuple(image.GetSpacing()),
            tuple(image.GetOrigin()),
            tuple(image.GetDirection()),
        )


def check_same_grid(image: sitk.Image, other: sitk.Image, what: str) -> None:
    """Raise GeometryError unless ``other`` lies on ``image``'s voxel grid (to 1e-4 mm)."""
    a, b = Grid.of(image), Grid.of(other)
    if a.size != b.size or not (
        np.allclose(a.spacing, b.spacing, atol=1e-4)
        and np.allclose(a.origin, b.origin, atol=1e-4)
        and np.allclose(a.direction, b.direction, atol=1e-6)
    ):
        raise GeometryError(
            f"{what} is not on the image grid: image size {a.size}, spacing {a.spacing} mm, "
            f"origin {a.origin} mm; {what} size {b.size}, spacing {b.spacing} mm, origin {b.origin} mm."
        )


def _as_positive(values: Sequence[float], dim: int, what: str, whole: bool = False) -> np.ndarray:
    """``values`` as a length-``dim`` array of positive finite numbers (``whole``: integers), or
    ConfigError."""
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{what} must be {dim} numbers (x, y, z); got {values!r}.") from err
    if array.size != dim or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ConfigError(f"{what} must be {dim} positive numbers (x, y, z); got {values!r}.")
    if whole and not np.all(array == np.round(array)):
        raise ConfigError(f"{what} must be whole numbers of voxels; got {values!r}.")
    return array


def check_grid_size(
    grid: Grid, what: str = "Resampling", advice: str = "check the spacing or shape."
) -> None:
    """ConfigError when ``grid`` holds more than :data:`MAX_VOXELS` voxels, saying ``what`` would
    build it and ``advice``. Checked where a grid is resampled onto, not where it is described: a
    whole scan's 1 mm grid that is only cropped to the ROIs (:func:`grid_around`) costs nothing
    (a 1.8 m whole-body CT's was refused though its GTV's part held a few million voxels)."""
    count = int(np.prod(grid.size))
    if count > MAX_VOXELS:
        raise ConfigError(
            f"{what} would create {' x '.join(str(n) for n in grid.size)} voxels of "
            f"{tuple(round(float(v), 4) for v in grid.spacing)} mm, {count:,} voxels (at most "
            f"{MAX_VOXELS:,}); {advice}"
        )


def _box_preserving_grid(image: sitk.Image, spacing: np.ndarray, size: np.ndarray) -> Grid:
    """The grid with ``spacing`` and ``size`` whose voxel edge meets ``image``'s at the box's
    low end (patient coordinates) of each axis: its first voxel edge, or its last along an axis
    stored the other way round (a mirrored NIfTI, a feet-first series), so that the grid's points,
    and every feature computed on them, do not depend on the order the voxels were stored in."""
    dim = image.GetDimension()
    direction = np.asarray(image.GetDirection()).reshape(dim, dim)
    old_spacing = np.asarray(image.GetSpacing())
    reversed_axes = direction[np.abs(direction).argmax(axis=0), np.arange(dim)] < 0
    far = np.asarray(image.GetSize()) * old_spacing - size * spacing  # far edges together
    local = (spacing - old_spacing) / 2.0 + np.where(reversed_axes, far, 0.0)
    shift = direction @ local
    return Grid(
        tuple(int(n) for n in size),
        tuple(float(s) for s in spacing),
        tuple(float(o) for o in np.asarray(image.GetOrigin()) + shift),
        tuple(image.GetDirection()),
    )


def _centre_aligned_grid(image: sitk.Image, spacing: np.ndarray) -> Grid:
    """The IBSI grid with ``spacing``: ``ceil(extent / spacing)`` voxels whose centre is ``image``'s
    grid centre."""
    old_size = np.asarray(image.GetSize())
    old_spacing = np.asarray(image.GetSpacing())
    # 1e-9: an extent that is a whole number of new voxels (60 x 3 mm / 2 mm) must not gain one
    size = np.maximum(1, np.ceil(old_size * old_spacing / spacing - 1e-9))
    dim = image.GetDimension()
    direction = np.asarray(image.GetDirection()).reshape(dim, dim)
    shift = direction @ ((old_size - 1) * old_spacing / 2.0 - (size - 1) * spacing / 2.0)
    return Grid(
        tuple(int(n) for n in size),
        tuple(float(s) for s in spacing),
        tuple(float(o) for o in np.asarray(image.GetOrigin()) + shift),
        tuple(image.GetDirection()),
    )


def grid_for_spacing(image: sitk.Image, spacing: Sequence[float], align: str = "box") -> Grid:
    """The grid with voxel ``spacing`` (mm, x y z) over ``image``'s physical box, placed as ``align``
    says: "box" (first voxel edges together) or "centre" (IBSI: grid centres together; module doc)."""
    if align not in ALIGNMENTS:
        raise ConfigError(f"Unknown grid alignment {align!r}; choose one of {list(ALIGNMENTS)}.")
    new_spacing = _as_positive(spacing, image.GetDimension(), "Resampling spacing (mm)")
    if align == "centre":
        return _centre_aligned_grid(image, new_spacing)
    extent = np.asarray(image.GetSize()) * np.asarray(image.GetSpacing())
    size = np.maximum(1, np.round(extent / new_spacing))
    return _box_preserving_grid(image, new_spacing, size)


def grid_around(
    grid: Grid, image: sitk.Image, masks: Sequence[np.ndarray], margin_mm: float
) -> Grid:
    """The part of ``grid`` (one of :func:`grid_for_spacing` over ``image``) that holds the box
    of the ``masks``' voxels ((z, y, x) arrays on ``image``'s grid, nonzero inside) widened by
    ``margin_mm``, and by one of ``image``'s voxels and one of the grid's for interpolation:
    resampling onto it gives the values resampling onto ``grid`` would there, in memory of the
    box rather than of the scan (a 600 x 600 x 900 CT resampled whole to 1 mm took over 4 GB).
    The whole ``grid`` when the masks hold no voxel."""
    present = [
        np.flatnonzero(np.logical_or.reduce([m.any(axis=tuple({0, 1, 2} - {k})) for m in masks]))
        for k in (2, 1, 0)
    ]
    if any(p.size == 0 for p in present):
        return grid
    low = np.array([p[0] for p in present]) - 1.5  # (x, y, z) voxel edges, one voxel out
    high = np.array([p[-1] for p in present]) + 1.5
    dim = image.GetDimension()
    direction = np.asarray(grid.direction).reshape(dim, dim)
    offset = np.linalg.solve(direction, np.asarray(image.GetOrigin()) - grid.origin)
    spacing, image_spacing = np.asarray(grid.spacing), np.asarray(image.GetSpacing())
    ends = (offset + np.stack([low, high]) * image_spacing) / spacing
    pad = np.ceil(margin_mm / spacing - 1e-9) + 1
    start = np.maximum(np.floor(ends.min(axis=0)) - pad, 0).astype(int)
    stop = np.minimum(np.ceil(ends.max(axis=0)) + pad, np.asarray(grid.size) - 1).astype(int)
    if np.any(stop < start):
        return grid
    return Grid(
        tuple(int(n) for n in stop - start + 1),
        grid.spacing,
        tuple(float(o) for o in np.asarray(grid.origin) + direction @ (start * spacing)),
        grid.direction,
    )


#: How far (in voxels, along each axis) :func:`nudged` moves a grid's points.
NUDGE = 1e-6


def nudged(grid: Grid) -> Grid:
    """``grid`` with its points moved by :data:`NUDGE` of a voxel along each axis, for masks
    sampled at the nearest voxel: a point exactly on the edge between two mask voxels (common
    where spacings are round numbers) then takes the same voxel whatever the last bit of the
    grid's placement, so a part of a grid (:func:`grid_around`) gives the whole grid's mask; a
    flipped plane had changed a GTV's volume by 4 % with the filter margin. Far less than a
    voxel, it moves nothing else."""
    dim = len(grid.size)
    direction = np.asarray(grid.direction).reshape(dim, dim)
    shift = direction @ (NUDGE * np.asarray(grid.spacing))
    return Grid(
        grid.size, grid.spacing, tuple(float(o) for o in grid.origin + shift), grid.direction
    )


def grid_for_shape(image: sitk.Image, shape: Sequence[int]) -> Grid:
    """The grid of ``shape`` voxels (x, y, z) exactly covering ``image``'s physical box."""
    size = _as_positive(shape, image.GetDimension(), "Output shape (voxels)", whole=True)
    extent = np.asarray(image.GetSize()) * np.asarray(image.GetSpacing())
    return _box_preserving_grid(image, extent / size, size)


def _resample(
    image: sitk.Image, grid: Grid, interpolator: int, default: float, pixel: int
) -> sitk.Image:
    if len(grid.size) != image.GetDimension():
        raise GeometryError(
            f"Cannot resample a {image.GetDimension()}-D volume onto a {len(grid.size)}-D grid."
        )
    check_grid_size(grid)
    resampler = sitk.ResampleImageFilter()
    resampler.SetSize([int(n) for n in grid.size])
    resampler.SetOutputSpacing(grid.spacing)
    resampler.SetOutputOrigin(grid.origin)
    resampler.SetOutputDirection(grid.direction)
    resampler.SetInterpolator(interpolator)
    resampler.SetDefaultPixelValue(float(default))
    resampler.SetOutputPixelType(pixel)
    return resampler.Execute(image)


def as_pixel(image: sitk.Image, pixel: int) -> sitk.Image:
    """``image`` as pixel type ``pixel``: itself when it already is one (a cast copies the whole
    volume: 0.9 GB of a 512 x 512 x 900 CT for nothing)."""
    return image if image.GetPixelID() == pixel else sitk.Cast(image, pixel)


def resample_image_onto(
    image: sitk.Image,
    grid: Grid,
    interpolator: str = "linear",
    default_value: float | None = AIR_HU,
) -> sitk.Image:
    """``image`` resampled onto ``grid`` as float32.

    ``interpolator`` is "linear", "bspline" (smoother, may overshoot at edges) or "nearest".
    ``default_value`` fills points outside the image; ``None`` means the image's minimum.
    """
    if interpolator not in _IMAGE_INTERPOLATORS:
        raise ConfigError(
            f"Unknown image interpolator {interpolator!r}; choose one of {sorted(_IMAGE_INTERPOLATORS)}."
        )
    source = as_pixel(image, sitk.sitkFloat32)
    if default_value is None:
        stats = sitk.MinimumMaximumImageFilter()
        stats.Execute(source)
        default_value = stats.GetMinimum()
    return _resample(
        source, grid, _IMAGE_INTERPOLATORS[interpolator], default_value, sitk.sitkFloat32
    )


def check_binary(mask: sitk.Image, name: str = "mask") -> None:
    """Raise MaskError unless every voxel of ``mask`` is 0 or 1."""
    values = sitk.GetArrayViewFromImage(mask)
    if values.dtype.kind in "iub" and values.min() >= 0 and values.max() <= 1:
        return  # an integer 0/1 mask, told without a whole-volume temporary (three, 300 MB)
    if np.any((values != 0) & (values != 1)):
        raise MaskError(
            f"The {name} mask must contain only 0 and 1; it has values "
            f"{np.unique(values)[:10].tolist()}. Split label maps into one mask per structure."
        )


def resample_mask_onto(
    mask: sitk.Image, grid: Grid, method: str = "nearest", name: str = "mask"
) -> sitk.Image:
    """A 0/1 ``mask`` resampled onto ``grid`` as uint8 0/1.

    "nearest" takes the nearest source voxel; "linear" interpolates the 0/1 values linearly and keeps
    voxels >= 0.5, which follows the surface more smoothly when upsampling thick slices. Both keep
    the volume (mm^3) of objects much larger than a voxel within a few percent.
    """
    if method not in _MASK_METHODS:
        raise ConfigError(
            f"Unknown mask resampling method {method!r}; choose one of {list(_MASK_METHODS)}."
        )
    check_binary(mask, name)
    if method == "nearest":
        source = as_pixel(mask, sitk.sitkUInt8)
        return _resample(source, grid, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    fraction = _resample(
        sitk.Cast(mask, sitk.sitkFloat32), grid, sitk.sitkLinear, 0, sitk.sitkFloat32
    )
    return sitk.BinaryThreshold(fraction, 0.5, float("inf"), 1, 0)


def resample_image(
    image: sitk.Image,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    interpolator: str = "linear",
    default_value: float | None = AIR_HU,
    align: str = "box",
) -> sitk.Image:
    """``image`` resampled to voxel ``spacing`` (mm, x y z) over the same physical box (grid placed
    as ``align`` says, see :func:`grid_for_spacing`), float32."""
    grid = grid_for_spacing(image, spacing, align)
    return resample_image_onto(image, grid, interpolator, default_value)


def resample_mask(
    mask: sitk.Image,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    method: str = "nearest",
    name: str = "mask",
    align: str = "box",
) -> sitk.Image:
    """A 0/1 ``mask`` resampled to voxel ``spacing`` (mm) over the same physical box (grid placed as
    ``align`` says), uint8."""
    return resample_mask_onto(mask, grid_for_spacing(mask, spacing, align), method, name)


def resample_to_reference(
    image: sitk.Image,
    reference: sitk.Image,
    interpolator: str = "linear",
    default_value: float | None = AIR_HU,
) -> sitk.Image:
    """``image`` resampled onto ``reference``'s grid, float32 (for masks use
    ``resample_mask_onto(mask, Grid.of(reference))``)."""
    return resample_image_onto(image, Grid.of(reference), interpolator, default_value)
