"""Cut a case into displayable 2-D slices with each ROI's contour, in millimetres.

Planes follow radiological convention for LPS volumes: axial slices show the patient's right on the
screen's left and anterior at the top; coronal and sagittal slices show superior at the top.
Coordinates are voxel index x spacing (mm) along the volume's own axes.

An :class:`Overlay` (e.g. an IG or Grad-CAM map from :func:`survival_core.explain.case.explain_case`)
lies on the CT grid and is cut exactly like the CT; its colour scale is fixed once for the whole
volume (:class:`OverlayScale`), so slices and planes are comparable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from skimage.measure import find_contours

from survival_core.case import Case
from survival_core.errors import ConfigError, GeometryError
from survival_core.preprocess.resample import check_same_grid

PLANES = ("axial", "coronal", "sagittal")
#: Percentile of |map| taken as the overlay's colour limit (robust to a few extreme voxels).
ROBUST_PERCENTILE = 99.5


@dataclass(frozen=True)
class OverlayScale:
    """Colour scale of a whole overlay: ``limit`` = robust max of |map|; ``signed`` maps get a
    diverging scale symmetric about 0, non-negative maps a sequential one from 0."""

    limit: float
    signed: bool
    label: str = "attribution"


@dataclass(frozen=True)
class Overlay:
    """A voxel map on a case's CT grid, ``values[z, y, x]``, with its volume-wide colour scale."""

    values: np.ndarray
    scale: OverlayScale


def robust_limit(values: np.ndarray, percentile: float = ROBUST_PERCENTILE) -> float:
    """The ``percentile`` of |values| over the voxels the map covers (non-zero), else its max.

    Zeros (outside the network's crop around the organ) are left out so that the limit does not
    depend on how much of the scan lies outside the crop; 1.0 for an all-zero map.
    """
    magnitude = np.abs(np.asarray(values, dtype=np.float32))
    covered = magnitude[magnitude > 0]
    if covered.size == 0:
        return 1.0
    # numpy's linear percentile from two order statistics (np.percentile is ~7x slower here)
    rank = percentile / 100.0 * (covered.size - 1)
    below = int(np.floor(rank))
    covered.partition(below)  # a copy already: sorted in place around its order statistic
    low = float(covered[below])
    high = float(covered[below + 1 :].min()) if rank > below else low
    limit = low + (rank - below) * (high - low)
    return limit if limit > 0 else float(covered.max())


def make_overlay(
    case: Case, values: sitk.Image | np.ndarray, label: str = "attribution"
) -> Overlay:
    """``values`` (an image on ``case``'s CT grid, or a (z, y, x) array of its shape) as an
    :class:`Overlay`; GeometryError when it lies on another grid."""
    if isinstance(values, sitk.Image):
        check_same_grid(case.image, values, f"The {label} map")
        array = sitk.GetArrayFromImage(values)
    else:
        array = np.asarray(values)
        expected = sitk.GetArrayViewFromImage(case.image).shape
        if array.shape != expected:
            raise GeometryError(
                f"The {label} map has shape {array.shape} (z, y, x) but case {case.case_id}'s CT "
                f"has {expected}: recompute the map for this case."
            )
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise GeometryError(f"The {label} map of case {case.case_id} has non-finite values.")
    scale = OverlayScale(robust_limit(array), bool((array < 0).any()), label)
    return Overlay(array, scale)


@dataclass
class SliceView:
    """One 2-D slice: ``pixels[row, col]`` with ``col_mm``/``row_mm`` coordinates and contours.

    ``contours[role]`` is a list of (N, 2) arrays of (col_mm, row_mm) points. ``row_up`` says the
    first row is at the bottom of the screen (coronal/sagittal: superior at the top).
    """

    plane: str
    index: int
    pixels: np.ndarray
    col_mm: np.ndarray
    row_mm: np.ndarray
    contours: dict[str, list[np.ndarray]] = field(default_factory=dict)
    overlay: np.ndarray | None = None
    overlay_scale: OverlayScale | None = None
    row_up: bool = False
    #: The patient directions at the screen's (left, right, top, bottom) edges: ('R', 'L', 'A',
    #: 'P') for an axial slice of an LPS image (:func:`edge_labels`).
    edges: tuple[str, str, str, str] | None = None

    @property
    def extent_mm(self) -> tuple[float, float]:
        """Physical (width, height) of the slice in mm, voxel edges included."""
        col_sp = self.col_mm[1] - self.col_mm[0] if len(self.col_mm) > 1 else 1.0
        row_sp = self.row_mm[1] - self.row_mm[0] if len(self.row_mm) > 1 else 1.0
        return len(self.col_mm) * float(col_sp), len(self.row_mm) * float(row_sp)


def n_slices(image: sitk.Image, plane: str) -> int:
    """Number of slices of ``image`` in ``plane``."""
    size = image.GetSize()  # (x, y, z)
    return {"axial": size[2], "coronal": size[1], "sagittal": size[0]}[_check_plane(plane)]


#: The image axis (x 0, y 1, z 2) a plane's slices are stacked along.
_SLICE_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}


def slice_position(image: sitk.Image, plane: str, index: int) -> str:
    """Where slice ``index`` of ``plane`` lies in the patient, as a PACS gives a slice location
    ('z -789.8 mm': the LPS coordinate of the slice's centre along the axis it is stacked on;
    the slice number alone cannot be matched with the PACS, which may count from the top)."""
    axis = _SLICE_AXIS[_check_plane(plane)]
    centre = [(n - 1) / 2 for n in image.GetSize()]
    centre[axis] = index
    point = image.TransformContinuousIndexToPhysicalPoint(centre)
    return f"{'xyz'[axis]} {point[axis]:.1f} mm"


def _check_plane(plane: str) -> str:
    if plane not in PLANES:
        raise ConfigError(f"Unknown plane {plane!r}; expected one of {', '.join(PLANES)}.")
    return plane


#: The patient direction of each LPS axis, towards + and towards -.
_DIRECTIONS = (("L", "R"), ("P", "A"), ("S", "I"))
#: The image axes (x 0, y 1, z 2) along a plane's columns and rows.
_PLANE_AXES = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}


def _towards(vector: np.ndarray) -> str:
    """The patient direction (L, R, P, A, S, I) an image axis mostly points to, in LPS."""
    axis = int(np.argmax(np.abs(vector)))
    return _DIRECTIONS[axis][0 if vector[axis] > 0 else 1]


def edge_labels(image: sitk.Image, plane: str) -> tuple[str, str, str, str]:
    """The patient directions at the (left, right, top, bottom) edges of a slice as drawn
    (columns left to right; rows top-down for axial, bottom-up for coronal and sagittal), from
    the image's direction: an axial slice of an LPS image has R, L, A, P; the nearest direction
    of a tilted axis."""
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    column, row = (direction[:, axis] for axis in _PLANE_AXES[plane])
    up = plane != "axial"  # the first row at the bottom
    top, bottom = (_towards(row), _towards(-row)) if up else (_towards(-row), _towards(row))
    return _towards(-column), _towards(column), top, bottom


def _cut(volume: np.ndarray, plane: str, index: int) -> np.ndarray:
    """2-D cut of a (z, y, x) array: axial (y, x), coronal (z, x), sagittal (z, y)."""
    if plane == "axial":
        return volume[index]
    if plane == "coronal":
        return volume[:, index, :]
    return volume[:, :, index]


def _contours(mask2d: np.ndarray, col_mm: float, row_mm: float) -> list[np.ndarray]:
    """Sub-voxel outlines of a 2-D mask as (col_mm, row_mm) point arrays."""
    if not mask2d.any():
        return []
    padded = np.pad(mask2d.astype(np.float32), 1)
    return [
        np.column_stack(((c[:, 1] - 1) * col_mm, (c[:, 0] - 1) * row_mm))
        for c in find_contours(padded, 0.5)
    ]


def extract_slice(
    case: Case,
    plane: str,
    index: int,
    *,
    overlay: Overlay | None = None,
    volume: np.ndarray | None = None,
    roles: Collection[str] | None = None,
    masks: Mapping[str, sitk.Image] | None = None,
) -> SliceView:
    """Slice ``index`` of ``case`` in ``plane`` with the contour of each ROI in ``roles`` (all).

    The ROIs are ``masks`` (key -> mask on the image grid, e.g. the named structures of
    :func:`~survival_core.viewer.figures.display_layers`), by default the case's role masks.
    ``overlay`` (from :func:`make_overlay`, so on the image grid) is cut alike.
    ``volume`` lets callers pass the image array they already hold, to avoid a copy per slice.
    """
    plane = _check_plane(plane)
    count = n_slices(case.image, plane)
    if not 0 <= index < count:
        raise ConfigError(f"Slice {index} is outside 0-{count - 1} for the {plane} plane.")
    sx, sy, sz = case.image.GetSpacing()
    col_sp, row_sp = {"axial": (sx, sy), "coronal": (sx, sz), "sagittal": (sy, sz)}[plane]
    # one slice copied out of a view: a copy of the whole scan per slice, pinned by the slice's
    # pixels, took 1.8 GB more for three planes of a 512 x 512 x 900 CT
    held = sitk.GetArrayViewFromImage(case.image) if volume is None else volume
    pixels = np.array(_cut(held, plane, index))
    contours = {
        role: _contours(_cut(sitk.GetArrayViewFromImage(mask), plane, index), col_sp, row_sp)
        for role, mask in (case.masks if masks is None else masks).items()
        if roles is None or role in roles
    }
    return SliceView(
        plane=plane,
        index=index,
        pixels=pixels,
        col_mm=np.arange(pixels.shape[1]) * col_sp,
        row_mm=np.arange(pixels.shape[0]) * row_sp,
        contours=contours,
        overlay=None if overlay is None else _cut(overlay.values, plane, index),
        overlay_scale=None if overlay is None else overlay.scale,
        row_up=plane != "axial",
        edges=edge_labels(case.image, plane),
    )


def crosshair_mm(case: Case, plane: str, indices: dict[str, int]) -> tuple[float, float]:
    """Where the other planes' slices (``indices`` by plane) cross a ``plane`` slice, as its
    (col_mm, row_mm): e.g. on an axial slice, the sagittal slice's x and the coronal slice's y."""
    plane = _check_plane(plane)
    sx, sy, sz = case.image.GetSpacing()
    x = indices["sagittal"] * sx if "sagittal" in indices else None
    y = indices["coronal"] * sy if "coronal" in indices else None
    z = indices["axial"] * sz if "axial" in indices else None
    col, row = {"axial": (x, y), "coronal": (x, z), "sagittal": (y, z)}[plane]
    if col is None or row is None:
        raise ConfigError(f"A {plane} crosshair needs the slice index of both other planes.")
    return col, row


def best_slice(case: Case, plane: str, role: str = "gtv") -> int:
    """The slice through the largest cross-section of ``role`` (the middle slice without it)."""
    plane = _check_plane(plane)
    if role not in case.masks:
        return n_slices(case.image, plane) // 2
    mask = sitk.GetArrayViewFromImage(case.masks[role])
    axes = {"axial": (1, 2), "coronal": (0, 2), "sagittal": (0, 1)}[plane]
    areas = mask.sum(axis=axes)
    return int(np.argmax(areas)) if areas.any() else n_slices(case.image, plane) // 2
