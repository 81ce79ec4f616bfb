"""Random texture fields on fixed lattices in millimetres, so that a phantom rendered on any voxel
grid shows the same anatomy.

A field is white noise on a regular lattice (its own random stream, derived from the anatomy seed
and a field identifier), filtered by a chain of Gaussian low/high passes and scaled to unit sd; it
is read at voxel centres by linear interpolation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from survival_core.synthetic.shapes import Grid


class Lattice:
    """A scalar field sampled on a regular lattice (mm), read by separable linear interpolation."""

    def __init__(self, values: np.ndarray, lo: np.ndarray, step: float):
        self.values = values.astype(np.float32)
        self.lo = np.asarray(lo, float)
        self.step = step

    def sample(self, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray) -> np.ndarray:
        """Values at the grid points xs x ys x zs (mm) as a (z, y, x) array, clamped at the
        lattice's edges."""
        out = self.values
        for axis, coords in ((0, zs), (1, ys), (2, xs)):
            n = out.shape[axis]
            u = np.clip((coords - self.lo[2 - axis]) / self.step, 0, n - 1)
            i0 = np.minimum(np.floor(u).astype(np.intp), max(n - 2, 0))
            i1 = np.minimum(i0 + 1, n - 1)
            w = (u - i0).astype(np.float32)
            shape = [1, 1, 1]
            shape[axis] = len(coords)
            w = w.reshape(shape)
            out = np.take(out, i0, axis=axis) * (1 - w) + np.take(out, i1, axis=axis) * w
        return out


def _white(seed: tuple[int, ...], field: int, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(seed + (field,)))
    return rng.standard_normal(shape, dtype=np.float32)


def _lattice_shape(lo: np.ndarray, hi: np.ndarray, step: float) -> tuple[int, int, int]:
    n = np.maximum(np.ceil((np.asarray(hi) - np.asarray(lo)) / step).astype(int) + 1, 2)
    return int(n[2]), int(n[1]), int(n[0])


#: A filter chain: ("low", sigma) smooths with a Gaussian, ("high", sigma) subtracts the smoothed
#: field; sigmas in mm as (z, y, x).
Chain = tuple[tuple[str, tuple[float, float, float]], ...]


def _apply(chain: Chain, array: np.ndarray, step: float) -> np.ndarray:
    for kind, sigma in chain:
        smooth = ndimage.gaussian_filter(array, [s / step for s in sigma], truncate=3.0)
        array = smooth if kind == "low" else array - smooth
    return array


def _radius(chain: Chain, step: float) -> int:
    return sum(int(math.ceil(3.0 * max(sigma) / step)) + 1 for _, sigma in chain)


def iso(sigma: float) -> tuple[float, float, float]:
    """The same sigma (mm) along z, y and x."""
    return (sigma, sigma, sigma)


def band_pass(scale_mm: float) -> Chain:
    """Band-pass chain keeping structures of about ``scale_mm`` (blobs, nodules, texture grain)."""
    return (("low", iso(scale_mm)), ("high", iso(math.sqrt(3.0) * scale_mm)))


def noise_fields(
    seed: tuple[int, ...],
    field: int,
    lo: Sequence[float],
    hi: Sequence[float],
    step: float,
    chain: Chain,
    region: tuple[np.ndarray, np.ndarray] | None = None,
    posts: tuple[Chain, ...] = ((),),
) -> list[Lattice]:
    """Filtered white noise on the lattice over ``lo``-``hi`` (mm), scaled to unit sd by ``chain``'s
    gain, then filtered by each of ``posts`` (not rescaled: e.g. the slice profile), one lattice
    per post. Only the block needed for ``region`` (mm) is filtered; its values equal those of
    filtering the whole lattice."""
    lo = np.asarray(lo, float)
    white = _white(seed, field, _lattice_shape(lo, hi, step))
    radius = _radius(chain, step) + max(_radius(post, step) for post in posts)
    impulse = np.zeros((2 * _radius(chain, step) + 1,) * 3, np.float32)
    impulse[(impulse.shape[0] // 2,) * 3] = 1.0
    gain = float(np.sqrt((_apply(chain, impulse, step) ** 2).sum()))
    shape = np.array(white.shape)
    start, stop = np.zeros(3, int), shape
    if region is not None:
        first = np.floor((np.asarray(region[0]) - lo) / step).astype(int)[::-1] - 1
        last = np.ceil((np.asarray(region[1]) - lo) / step).astype(int)[::-1] + 2
        start = np.clip(first, 0, shape - 1)
        stop = np.clip(last, start + 1, shape)
    block_start = np.maximum(start - radius, 0)
    block_stop = np.minimum(stop + radius, shape)
    block = white[tuple(slice(a, b) for a, b in zip(block_start, block_stop, strict=True))]
    base = _apply(chain, block, step) / np.float32(gain)
    inner = tuple(slice(a - c, b - c) for a, b, c in zip(start, stop, block_start, strict=True))
    origin = lo + step * start[::-1]
    return [Lattice(_apply(post, base, step)[inner], origin, step) for post in posts]


def noise_field(
    seed: tuple[int, ...],
    field: int,
    lo: Sequence[float],
    hi: Sequence[float],
    step: float,
    chain: Chain,
    region: tuple[np.ndarray, np.ndarray] | None = None,
    post: Chain = (),
) -> Lattice:
    """One filtered noise lattice (see :func:`noise_fields`)."""
    return noise_fields(seed, field, lo, hi, step, chain, region, (post,))[0]


def slice_profile(grid: Grid) -> Chain:
    """The slice profile (box of the slice thickness) as a Gaussian along z."""
    return (("low", (grid.spacing[2] / math.sqrt(12.0), 0.0, 0.0)),)


def grid_region(
    grid: Grid, lo: Sequence[float], hi: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The part of box ``lo``-``hi`` (mm) covered by the grid's voxel centres."""
    first = np.asarray(grid.origin)
    last = first + np.asarray(grid.spacing) * (np.asarray(grid.size) - 1)
    return np.maximum(lo, first), np.minimum(hi, last)
