"""Gantry-tilted CT: parallel slices whose origins drift sideways, put back on a regular grid.

A CT acquired with a tilted gantry (common in older head-and-neck and brain scans) has slices in
parallel planes, but ImagePositionPatient moves along the table axis, not along the slice normal:
each slice's origin is shifted in its own plane by (distance along the normal) x tan(tilt). Such a
stack is not a regular voxel grid. The correction dcm2niix and 3D Slicer apply is used: every slice
keeps its plane and is shifted in-plane (linear interpolation) onto the first slice's pixel lattice,
the lattice widened so that no slice loses pixels. Structures drawn in patient coordinates (RTSTRUCT)
then land on the right voxels of the corrected grid. Sideways shifts that are not one constant tilt
(a sheared or shuffled stack) are refused: no single regular grid explains them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from survival_core.errors import DicomError

#: Largest in-plane shift between slices (fraction of a pixel) before the stack counts as tilted,
#: and the largest departure (fraction of a pixel) of any slice from one constant tilt...
IN_PLANE_SHIFT_TOL = 0.1
#: ... or, where more, this many mm: exporters write positions to 0.1 mm, whose rounding moves an
#: oblique slice in-plane by up to about 0.09 mm (0.17 of a 0.5 mm pixel, refused as sheared).
POSITION_PRECISION_MM = 0.1
#: Steepest tilt corrected; beyond it the "tilt" is more likely a mislabelled series.
MAX_TILT_DEGREES = 45.0


@dataclass(frozen=True)
class Tilt:
    """A constant gantry tilt: each slice's in-plane shift (x, y) in voxels from the first slice,
    and the angle signed as GantryDetectorTilt states it (:func:`measure_tilt`)."""

    shifts: np.ndarray
    degrees: float

    @property
    def corner(self) -> np.ndarray:
        """(x, y) voxel of the first slice's lattice where the widened grid starts (<= 0)."""
        return np.floor(np.minimum(self.shifts.min(axis=0), 0.0) + 1e-6).astype(int)

    def grown(self, shape: tuple[int, int]) -> tuple[int, int]:
        """(rows, columns) of the widened slices that hold every shifted slice of ``shape``."""
        top = np.ceil(np.maximum(self.shifts.max(axis=0), 0.0) - 1e-6).astype(int)
        width, height = top - self.corner
        return shape[0] + int(height), shape[1] + int(width)

    def describe(self) -> str:
        """The case's warning: the signed angle, how far slices moved, and that the interpolation
        smoothed the texture (measured on the real sarcoma CT: its GTV's HU standard deviation
        17% lower at 5, 12 or 20 degrees, its slices shifted by fractions of a voxel)."""
        largest = float(np.abs(self.shifts).max())
        return (
            f"Gantry tilt of {self.degrees:.1f} degrees: the slices were shifted sideways by up to "
            f"{largest:.1f} voxels onto a regular grid (linear interpolation in each slice's plane), "
            "as dcm2niix and 3D Slicer correct it. The interpolation smooths the texture (a "
            "sarcoma CT tilted 12 degrees lost 17% of its GTV's HU standard deviation): its "
            "texture features are not comparable with those of untilted scans."
        )


def measure_tilt(
    offsets: np.ndarray,
    row: np.ndarray,
    col: np.ndarray,
    spacing: tuple[float, float],
    series: str,
) -> Tilt | None:
    """The tilt of slices at ``offsets`` (n x 3 mm from the first slice, sorted along the normal),
    with row / column cosines ``row``, ``col`` and (x, y) voxel ``spacing``; None when the slices are
    stacked straight; :class:`DicomError` naming ``series`` when the shifts are not one tilt. The
    angle is signed as GantryDetectorTilt states it, t of an axial scan's column cosine (0, cos t,
    -sin t): positive when the slices' origins drift up the image (against the column) along the
    normal; unsigned, a -12 degree series was said tilted 12 degrees."""
    normal = np.cross(row, col)
    normal = normal / np.linalg.norm(normal)
    shifts = np.column_stack([offsets @ row / spacing[0], offsets @ col / spacing[1]])
    tolerance = np.maximum(IN_PLANE_SHIFT_TOL, POSITION_PRECISION_MM / np.asarray(spacing))
    largest = float(np.abs(shifts).max())
    if (np.abs(shifts) <= tolerance).all():
        return None
    along = offsets @ normal
    per_mm = along @ shifts / (along @ along)  # least squares through the first slice
    off = np.abs(shifts - np.outer(along, per_mm))
    departure = float(off.max())
    drift = per_mm * spacing  # mm sideways (along a row, down a column) per mm along the normal
    degrees = math.degrees(math.atan(float(np.linalg.norm(drift))))
    sheared = bool((off > tolerance).any())
    if sheared or degrees > MAX_TILT_DEGREES:
        why = (
            f"not one constant tilt (a slice is {departure:.2f} voxels off it)"
            if sheared
            else f"a tilt of {degrees:.0f} degrees, more than the {MAX_TILT_DEGREES:.0f} corrected"
        )
        raise DicomError(
            f"Series {series}: slices are shifted sideways by up to {largest:.2f} voxels, {why}: "
            "a sheared or mixed stack. Check that it is one acquisition, or resample it to a "
            "regular grid before loading it."
        )
    lead = drift[1] if abs(drift[1]) >= abs(drift[0]) else drift[0]  # a gantry tilts about x
    return Tilt(shifts=shifts, degrees=-math.copysign(degrees, lead))


def untilt(volume: np.ndarray, tilt: Tilt) -> np.ndarray:
    """``volume`` (z, y, x) with every slice moved onto the first slice's lattice, widened by
    :meth:`Tilt.grown` from :attr:`Tilt.corner`; voxels no slice covers hold the volume's minimum
    (the scanner's air or padding value)."""
    rows, columns = tilt.grown(volume.shape[1:])
    out = np.empty((volume.shape[0], rows, columns), dtype=volume.dtype)
    fill = float(volume.min())
    x0, y0 = tilt.corner
    for k, (dx, dy) in enumerate(tilt.shifts):
        ndimage.affine_transform(
            volume[k],
            np.ones(2),
            offset=(y0 - dy, x0 - dx),
            output_shape=(rows, columns),
            output=out[k],
            order=1,
            mode="constant",
            cval=fill,
        )
    return out
