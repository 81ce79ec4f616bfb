"""Analytic shapes in patient millimetres and their partial-volume rendering on voxel grids.

The phantoms (:mod:`survival_core.synthetic.phantom`, :mod:`survival_core.synthetic.chest`) describe
every structure as a signed distance ("level", mm, negative inside) in LPS coordinates, so the same
anatomy can be rendered on any grid. A voxel's occupancy of a shape is the chance that a point
spread by the pixel (in-plane) and the slice profile (z) lies inside it, which gives realistic
partial-volume edges whatever the spacing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import special

from survival_core.errors import GeometryError

#: Slices rendered at a time by the slab loops (bounds memory).
SLAB_SLICES = 12


@dataclass(frozen=True)
class Grid:
    """An axial voxel grid: ``origin`` is the centre of voxel (0, 0, 0) in mm (x, y, z, LPS),
    ``spacing`` in mm (x, y, z), ``size`` in voxels (x, y, z), identity direction."""

    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    size: tuple[int, int, int]

    @classmethod
    def covering(cls, lo: Sequence[float], hi: Sequence[float], spacing: Sequence[float]) -> Grid:
        """The grid whose voxel centres cover the box ``lo``-``hi`` (mm) at ``spacing``."""
        size = tuple(
            max(1, int(math.ceil((b - a) / s))) for a, b, s in zip(lo, hi, spacing, strict=True)
        )
        return cls(tuple(float(v) for v in lo), tuple(float(s) for s in spacing), size)

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates (mm) along x, y and z."""
        return tuple(
            (o + s * np.arange(n)).astype(np.float32)
            for o, s, n in zip(self.origin, self.spacing, self.size, strict=True)
        )

    def index_box(self, lo: Sequence[float], hi: Sequence[float]) -> tuple[slice, slice, slice]:
        """(z, y, x) slices of the voxels whose centres lie in the box ``lo``-``hi`` (mm)."""
        out = []
        for axis in (2, 1, 0):
            o, s, n = self.origin[axis], self.spacing[axis], self.size[axis]
            start = int(np.clip(math.ceil((lo[axis] - o) / s), 0, n))
            stop = int(np.clip(math.floor((hi[axis] - o) / s) + 1, start, n))
            out.append(slice(start, stop))
        return tuple(out)

    def crop(self, lo: Sequence[float], hi: Sequence[float]) -> Grid:
        """The part of this grid inside the box ``lo``-``hi`` (mm), on the same voxel lattice."""
        box = self.index_box(lo, hi)
        start = [box[2].start, box[1].start, box[0].start]
        size = [box[2].stop - box[2].start, box[1].stop - box[1].start, box[0].stop - box[0].start]
        if min(size) < 1:
            raise GeometryError(f"The box {lo}-{hi} mm does not overlap the grid.")
        origin = tuple(o + s * i for o, s, i in zip(self.origin, self.spacing, start, strict=True))
        return Grid(origin, self.spacing, tuple(size))

    def image(self, array: np.ndarray) -> sitk.Image:
        """A SimpleITK image of a (z, y, x) array on this grid."""
        image = sitk.GetImageFromArray(array)
        image.SetOrigin(self.origin)
        image.SetSpacing(self.spacing)
        return image


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid: centre and semi-axes (mm, x y z), rotated by ``angle`` (rad) about z."""

    center: tuple[float, float, float]
    radii: tuple[float, float, float]
    angle: float = 0.0

    def level(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Approximate signed distance (mm, negative inside), exact to first order at the
        surface."""
        dx, dy, dz = x - self.center[0], y - self.center[1], z - self.center[2]
        c, s = math.cos(self.angle), math.sin(self.angle)
        u = (c * dx + s * dy) / self.radii[0]
        v = (-s * dx + c * dy) / self.radii[1]
        w = dz / self.radii[2]
        q = np.sqrt(u * u + v * v + w * w)
        grad = np.sqrt(
            (u / self.radii[0]) ** 2 + (v / self.radii[1]) ** 2 + (w / self.radii[2]) ** 2
        ) / np.maximum(q, 1e-6)
        return (q - 1.0) / np.maximum(grad, 1.0 / max(self.radii))

    def bounds(self, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounding box (mm) grown by ``margin``."""
        c, s = abs(math.cos(self.angle)), abs(math.sin(self.angle))
        ext = np.array(
            [
                math.hypot(self.radii[0] * c, self.radii[1] * s),
                math.hypot(self.radii[0] * s, self.radii[1] * c),
                self.radii[2],
            ]
        )
        center = np.asarray(self.center)
        return center - ext - margin, center + ext + margin


@dataclass(frozen=True)
class Vessel:
    """A tapered tube from ``start`` to ``end`` (mm) with radii (mm) and intensity (HU)."""

    start: tuple[float, float, float]
    end: tuple[float, float, float]
    radius_start: float
    radius_end: float
    hu: float

    def level(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to the tube's surface."""
        p0, p1 = np.asarray(self.start, np.float32), np.asarray(self.end, np.float32)
        v = p1 - p0
        t = ((x - p0[0]) * v[0] + (y - p0[1]) * v[1] + (z - p0[2]) * v[2]) / float(v @ v)
        t = np.clip(t, 0.0, 1.0)
        dist = np.sqrt(
            (x - p0[0] - t * v[0]) ** 2 + (y - p0[1] - t * v[1]) ** 2 + (z - p0[2] - t * v[2]) ** 2
        )
        return dist - (self.radius_start + t * (self.radius_end - self.radius_start))

    def bounds(self, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounding box (mm) of the tube grown by ``margin``."""
        reach = max(self.radius_start, self.radius_end) + margin
        return (
            np.minimum(self.start, self.end) - reach,
            np.maximum(self.start, self.end) + reach,
        )


def smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Union of two levels with a fillet of about ``k`` mm where they meet."""
    m = np.minimum(a, b)
    return m - k * np.log1p(np.exp(-np.abs(a - b) / k))


def ellipse2d(x: np.ndarray, y: np.ndarray, a: float, b: float) -> np.ndarray:
    """Signed distance (mm) to the centred axial ellipse with semi-axes a (x) and b (y)."""
    return Ellipsoid((0.0, 0.0, 0.0), (a, b, 1e9)).level(x, y, np.float32(0.0))


def _gradient(level: np.ndarray, spacing: Sequence[float]) -> list[np.ndarray]:
    """Gradient (per mm) along z, y, x; zero along an axis with a single sample."""
    out = []
    for axis, step in zip(range(3), (spacing[2], spacing[1], spacing[0]), strict=True):
        if level.shape[axis] < 2:
            out.append(np.zeros((1, 1, 1), np.float32))
        else:
            out.append(np.gradient(level, step, axis=axis))
    return out


def occupancy(level: np.ndarray, grid: Grid) -> np.ndarray:
    """Fraction of each voxel inside the shape ``level < 0``: the chance that a point spread by
    the pixel (in-plane) and the slice profile (z) lies inside, to first order in the level."""
    sx, sy, sz = grid.spacing
    sigma = (sz / math.sqrt(12.0), sy / math.sqrt(12.0), sx / math.sqrt(12.0))
    gz, gy, gx = _gradient(level, grid.spacing)
    spread = np.sqrt((sigma[0] * gz) ** 2 + (sigma[1] * gy) ** 2 + (sigma[2] * gx) ** 2)
    return special.ndtr(-level / np.maximum(spread, np.float32(0.05))).astype(np.float32)


def paint(image: np.ndarray, weight: np.ndarray, value: np.ndarray | float) -> None:
    """Blend ``value`` into ``image`` in place with the given occupancy ``weight``."""
    image *= 1.0 - weight
    image += weight * value


def box_axes(grid: Grid, lo: Sequence[float], hi: Sequence[float]):
    """Slices of ``grid`` inside the box (mm), whether it is empty, and the coordinates along each
    axis shaped to broadcast as (z, y, x)."""
    box = grid.index_box(lo, hi)
    xs, ys, zs = grid.axes()
    x, y, z = xs[box[2]], ys[box[1]], zs[box[0]]
    empty = any(s.stop <= s.start for s in box)
    return box, empty, x[None, None, :], y[None, :, None], z[:, None, None]


def slabs(start: int, stop: int) -> Iterator[tuple[int, int, int, int]]:
    """Slabs of :data:`SLAB_SLICES` slices covering ``start``-``stop``: (start, stop, padded start,
    padded stop), padded by one slice each side within the range so that gradients computed per
    slab equal those of one pass over the whole range."""
    for first in range(start, stop, SLAB_SLICES):
        last = min(first + SLAB_SLICES, stop)
        yield first, last, max(first - 1, start), min(last + 1, stop)
