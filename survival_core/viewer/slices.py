"""Cut a case into displayable 2-D slices with each ROI's contour, in millimetres.

Planes follow radiological convention for LPS volumes: axial slices show the patient's right on the
screen's left and anterior at the top; coronal and sagittal slices show superior at the top.
Coordinates are voxel index x spacing (mm) along the volume's own axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from skimage.measure import find_contours

from survival_core.case import Case
from survival_core.errors import ConfigError

PLANES = ("axial", "coronal", "sagittal")


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
    row_up: bool = False


def n_slices(image: sitk.Image, plane: str) -> int:
    """Number of slices of ``image`` in ``plane``."""
    size = image.GetSize()  # (x, y, z)
    return {"axial": size[2], "coronal": size[1], "sagittal": size[0]}[_check_plane(plane)]


def _check_plane(plane: str) -> str:
    if plane not in PLANES:
        raise ConfigError(f"Unknown plane {plane!r}; expected one of {', '.join(PLANES)}.")
    return plane


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
    overlay: np.ndarray | None = None,
    volume: np.ndarray | None = None,
) -> SliceView:
    """Slice ``index`` of ``case`` in ``plane`` with every ROI's contour.

    ``overlay`` is an optional (z, y, x) map on the image grid (e.g. a saliency map) cut alike.
    ``volume`` lets callers pass the image array they already hold, to avoid a copy per slice.
    """
    plane = _check_plane(plane)
    count = n_slices(case.image, plane)
    if not 0 <= index < count:
        raise ConfigError(f"Slice {index} is outside 0-{count - 1} for the {plane} plane.")
    sx, sy, sz = case.image.GetSpacing()
    col_sp, row_sp = {"axial": (sx, sy), "coronal": (sx, sz), "sagittal": (sy, sz)}[plane]
    pixels = _cut(case.array() if volume is None else volume, plane, index)
    contours = {
        role: _contours(_cut(sitk.GetArrayViewFromImage(mask), plane, index), col_sp, row_sp)
        for role, mask in case.masks.items()
    }
    return SliceView(
        plane=plane,
        index=index,
        pixels=pixels,
        col_mm=np.arange(pixels.shape[1]) * col_sp,
        row_mm=np.arange(pixels.shape[0]) * row_sp,
        contours=contours,
        overlay=None if overlay is None else _cut(overlay, plane, index),
        row_up=plane != "axial",
    )


def best_slice(case: Case, plane: str, role: str = "gtv") -> int:
    """The slice through the largest cross-section of ``role`` (the middle slice without it)."""
    plane = _check_plane(plane)
    if role not in case.masks:
        return n_slices(case.image, plane) // 2
    mask = sitk.GetArrayViewFromImage(case.masks[role])
    axes = {"axial": (1, 2), "coronal": (0, 2), "sagittal": (0, 1)}[plane]
    areas = mask.sum(axis=axes)
    return int(np.argmax(areas)) if areas.any() else n_slices(case.image, plane) // 2
