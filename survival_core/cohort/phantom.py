"""Abdominal CT phantoms (HU) with liver, vessels and HCC tumours, defined in millimetres.

Every structure is an analytic shape in patient coordinates (LPS, mm): the body is an elliptic
cylinder with subcutaneous fat and muscle, the vertebral body, aorta and inferior vena cava are
cylinders, the liver is the soft union of two deformed ellipsoids (right and left lobe) with
low-frequency shape noise, portal and hepatic veins are tapered tubes, tumours are irregular
ellipsoids. Random texture fields live on fixed lattices in mm, so a phantom rendered on any
voxel grid shows the same anatomy; only sampling, partial volume, blur and noise change.

Rendering models the scanner: each voxel's occupancy of a shape is the probability that a point
spread by the slice profile (box of the slice thickness) and the pixel lies inside it, the image is
blurred in-plane by the scanner's point-spread function, and correlated Gaussian noise is added.

Two latents drive texture: ``liver_damage`` (fibrosis/cirrhosis: regenerative nodules, fibrotic
septa, lower enhancement, nodular surface, smaller liver) and ``tumor_heterogeneity`` (coarser,
stronger and patchier tumour texture, larger necrotic core, more irregular boundary).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import SimpleITK as sitk
from scipy import ndimage, special

from survival_core.errors import GeometryError

AIR_HU = -1000.0
FAT_HU = -100.0
MUSCLE_HU = 50.0
BOWEL_HU = 35.0
CANCELLOUS_HU = 380.0
CORTICAL_HU = 700.0
DISC_HU = 90.0
BILE_HU = 8.0
KIDNEY_HU = 150.0

#: Lattice steps (mm) of the random fields: coarse shape/background, liver texture, tumour texture.
COARSE_STEP_MM = 4.0
LIVER_STEP_MM = 2.0
TUMOR_STEP_MM = 1.0
#: Slices the liver is rendered in at a time (bounds memory).
SLAB_SLICES = 12
#: Scale (mm) of regenerative nodules in the damaged liver.
NODULE_MM = 2.5

IN_PLANE_SPACING_MM = (0.7, 1.4)
SLICE_SPACING_MM = (2.5, 5.0)
#: Targeted field of view: craniocaudal margin around the liver and least height (AP), in mm.
Z_MARGIN_MM = 8.0
FOV_HEIGHT_MM = 130.0

# Field identifiers: each random field has its own stream derived from the anatomy seed.
_FIELD_SHAPE, _FIELD_BOWEL, _FIELD_NODULES, _FIELD_NOISE = 1, 2, 3, 4
_FIELD_TUMOR = 10  # + 3 * tumour index + (0 texture, 1 boundary, 2 necrosis patches)


@dataclass(frozen=True)
class Scanner:
    """Nuisance physics of one scanner: noise sd (HU), in-plane PSF sigma and noise grain (mm)."""

    name: str
    noise_sd_hu: float
    psf_sigma_mm: float
    noise_grain_mm: float
    hu_offset: float


SCANNERS: dict[str, Scanner] = {
    s.name: s
    for s in (
        Scanner("SIM-CT1", 9.0, 0.55, 0.6, 2.0),
        Scanner("SIM-CT2", 13.0, 0.8, 0.8, -3.0),
        Scanner("SIM-CT3", 18.0, 1.15, 0.7, 0.0),
        Scanner("SIM-CT4", 11.0, 0.7, 0.9, 4.0),
    )
}


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
    """A tapered tube from ``start`` to ``end`` (mm) with radii (mm) and enhancement (HU)."""

    start: tuple[float, float, float]
    end: tuple[float, float, float]
    radius_start: float
    radius_end: float
    hu: float


@dataclass(frozen=True)
class Tumor:
    """One HCC nodule: irregular ellipsoid with enhancing rim, textured viable tissue and a
    necrotic core reaching ``core_fraction`` of the normalised radius."""

    shape: Ellipsoid
    diameter_mm: float
    rim_hu: float
    viable_hu: float
    core_hu: float
    rim_mm: float
    core_fraction: float
    irregularity: float
    texture_hu: float
    texture_mm: float


@dataclass(frozen=True)
class Anatomy:
    """Everything needed to render one phantom; all lengths in mm, intensities in HU."""

    seed: tuple[int, ...]
    liver_damage: float
    tumor_heterogeneity: float
    scanner: Scanner
    spacing: tuple[float, float, float]
    fov_lo: tuple[float, float, float]
    fov_hi: tuple[float, float, float]
    body_radii: tuple[float, float]
    fat_mm: float
    muscle_mm: float
    spine: tuple[float, float, float]
    disc_phase_mm: float
    aorta: tuple[float, float, float, float]
    ivc: tuple[float, float, float, float]
    kidney: Ellipsoid
    lobes: tuple[Ellipsoid, Ellipsoid]
    liver_hu: float
    shape_noise_mm: float
    nodularity_mm: float
    nodule_hu: float
    septa_hu: float
    gallbladder: Ellipsoid
    vessels: tuple[Vessel, ...]
    tumors: tuple[Tumor, ...]
    noise_sd_hu: float

    @property
    def grid(self) -> Grid:
        """The targeted reconstruction grid: field of view at the case's spacing."""
        return Grid.covering(self.fov_lo, self.fov_hi, self.spacing)

    def field_box(self) -> tuple[np.ndarray, np.ndarray]:
        """Box (mm) that the liver's random fields cover: both lobes plus 30 mm."""
        lows, highs = zip(*(lobe.bounds(30.0) for lobe in self.lobes), strict=True)
        return np.min(lows, axis=0), np.max(highs, axis=0)


@dataclass
class Rendered:
    """A rendered phantom: HU image (int16) and uint8 0/1 masks, all (z, y, x) on ``grid``."""

    grid: Grid
    image: np.ndarray
    liver: np.ndarray
    gtv: np.ndarray


# --------------------------------------------------------------------------- random fields


class _Lattice:
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
_Chain = tuple[tuple[str, tuple[float, float, float]], ...]


def _apply(chain: _Chain, array: np.ndarray, step: float) -> np.ndarray:
    for kind, sigma in chain:
        smooth = ndimage.gaussian_filter(array, [s / step for s in sigma], truncate=3.0)
        array = smooth if kind == "low" else array - smooth
    return array


def _radius(chain: _Chain, step: float) -> int:
    return sum(int(math.ceil(3.0 * max(sigma) / step)) + 1 for _, sigma in chain)


def _iso(sigma: float) -> tuple[float, float, float]:
    return (sigma, sigma, sigma)


def _noise_fields(
    seed: tuple[int, ...],
    field: int,
    lo: Sequence[float],
    hi: Sequence[float],
    step: float,
    chain: _Chain,
    region: tuple[np.ndarray, np.ndarray] | None = None,
    posts: tuple[_Chain, ...] = ((),),
) -> list[_Lattice]:
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
    return [_Lattice(_apply(post, base, step)[inner], origin, step) for post in posts]


def _noise_field(
    seed: tuple[int, ...],
    field: int,
    lo: Sequence[float],
    hi: Sequence[float],
    step: float,
    chain: _Chain,
    region: tuple[np.ndarray, np.ndarray] | None = None,
    post: _Chain = (),
) -> _Lattice:
    """One filtered noise lattice (see :func:`_noise_fields`)."""
    return _noise_fields(seed, field, lo, hi, step, chain, region, (post,))[0]


def _slice_profile(grid: Grid) -> _Chain:
    """The slice profile (box of the slice thickness) as a Gaussian along z."""
    return (("low", (grid.spacing[2] / math.sqrt(12.0), 0.0, 0.0)),)


def _grid_region(
    grid: Grid, lo: Sequence[float], hi: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The part of box ``lo``-``hi`` (mm) covered by the grid's voxel centres."""
    first = np.asarray(grid.origin)
    last = first + np.asarray(grid.spacing) * (np.asarray(grid.size) - 1)
    return np.maximum(lo, first), np.minimum(hi, last)


# --------------------------------------------------------------------------- anatomy


def _smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    m = np.minimum(a, b)
    return m - k * np.log1p(np.exp(-np.abs(a - b) / k))


def _ellipse2d(x: np.ndarray, y: np.ndarray, a: float, b: float) -> np.ndarray:
    """Signed distance (mm) to the centred axial ellipse with semi-axes a (x) and b (y)."""
    return Ellipsoid((0.0, 0.0, 0.0), (a, b, 1e9)).level(x, y, np.float32(0.0))


def _liver_level_parts(
    anatomy: Anatomy, x: np.ndarray, y: np.ndarray, z: np.ndarray, shape_noise: np.ndarray
) -> np.ndarray:
    """Liver signed distance (mm) before nodularity and exclusions: lobes + shape noise,
    clipped 2 mm inside the abdominal cavity."""
    right, left = anatomy.lobes
    level = _smooth_union(right.level(x, y, z), left.level(x, y, z), 10.0)
    level = level + anatomy.shape_noise_mm * shape_noise
    a, b = anatomy.body_radii
    inset = anatomy.fat_mm + anatomy.muscle_mm + 2.0
    return np.maximum(level, _ellipse2d(x, y, a - inset, b - inset))


def _coarse_fields(anatomy: Anatomy) -> tuple[_Lattice, _Lattice]:
    """Liver shape noise and abdominal fat pockets, over the liver's field box and the body."""
    lo, hi = anatomy.field_box()
    a, b = anatomy.body_radii
    lo = np.minimum(lo, (-a - 10.0, -b - 10.0, lo[2]))
    hi = np.maximum(hi, (hi[0], b + 10.0, hi[2]))
    shape_noise = _noise_field(
        anatomy.seed, _FIELD_SHAPE, lo, hi, COARSE_STEP_MM, (("low", _iso(14.0)),)
    )
    bowel = _noise_field(anatomy.seed, _FIELD_BOWEL, lo, hi, COARSE_STEP_MM, (("low", _iso(6.0)),))
    return shape_noise, bowel


def _body_fov(anatomy: Anatomy) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Targeted field of view: from just outside the body's right side (air, fat, muscle) to the
    liver's left tip, from 8 mm anterior to the liver over at least 130 mm (reaching the spine),
    and the liver's craniocaudal extent plus :data:`Z_MARGIN_MM` each side."""
    shape_noise, _ = _coarse_fields(anatomy)
    lo, hi = anatomy.field_box()
    xs, ys, zs = (np.arange(lo[i], hi[i], COARSE_STEP_MM, dtype=np.float32) for i in range(3))
    level = _liver_level_parts(
        anatomy,
        xs[None, None, :],
        ys[None, :, None],
        zs[:, None, None],
        shape_noise.sample(xs, ys, zs),
    )
    inside = np.argwhere(level < COARSE_STEP_MM)
    (z0, y0, x0), (z1, y1, x1) = inside.min(axis=0), inside.max(axis=0)
    liver_lo = np.array([xs[x0], ys[y0], zs[z0]]) - COARSE_STEP_MM
    liver_hi = np.array([xs[x1], ys[y1], zs[z1]]) + COARSE_STEP_MM
    y_lo = liver_lo[1] - 8.0
    fov_lo = (-anatomy.body_radii[0] - 4.0, y_lo, liver_lo[2] - Z_MARGIN_MM)
    fov_hi = (
        liver_hi[0] + 3.0,
        max(y_lo + FOV_HEIGHT_MM, liver_hi[1] + 3.0),
        liver_hi[2] + Z_MARGIN_MM,
    )
    return tuple(round(float(v), 2) for v in fov_lo), tuple(round(float(v), 2) for v in fov_hi)


def _vessel_tree(
    rng: np.random.Generator,
    right: Ellipsoid,
    left: Ellipsoid,
    ivc: tuple[float, float, float, float],
) -> tuple[Vessel, ...]:
    """Portal vein branches from the hilum and three hepatic veins to the IVC confluence."""

    def at(lobe: Ellipsoid, u: Sequence[float]) -> np.ndarray:
        jitter = rng.normal(0, 0.06, 3)
        return np.asarray(lobe.center) + np.asarray(lobe.radii) * (np.asarray(u) + jitter)

    portal_hu = float(rng.uniform(165, 195))
    hepatic_hu = float(rng.uniform(145, 170))
    hilum = at(right, (0.55, 0.15, -0.3))
    entry = hilum + np.array([18.0, 8.0, -18.0])
    split = at(right, (0.05, 0.1, -0.1))
    left_split = at(left, (0.0, 0.3, -0.3))
    portal = [
        (entry, hilum, 7.0, 6.5),
        (hilum, split, 6.0, 5.0),
        (hilum, left_split, 5.0, 4.0),
        (split, at(right, (-0.65, -0.45, 0.05)), 4.0, 2.0),
        (split, at(right, (-0.6, 0.45, -0.35)), 4.0, 2.0),
        (split, at(right, (-0.35, 0.0, 0.6)), 3.5, 1.8),
        (left_split, at(left, (0.65, -0.25, 0.1)), 3.5, 1.8),
        (left_split, at(left, (-0.2, -0.6, 0.2)), 3.0, 1.5),
    ]
    confluence = np.array([ivc[0], ivc[1], right.center[2] + 0.6 * right.radii[2]])
    hepatic = [
        (confluence, at(right, (-0.75, 0.15, -0.15)), 5.0, 2.0),
        (confluence, at(right, (0.2, -0.65, -0.35)), 4.5, 2.0),
        (confluence, at(left, (0.3, 0.0, 0.1)), 4.0, 1.8),
    ]
    return tuple(
        Vessel(tuple(map(float, a)), tuple(map(float, b)), r0, r1, hu)
        for segments, hu in ((portal, portal_hu), (hepatic, hepatic_hu))
        for a, b, r0, r1 in segments
    )


def _place_tumors(
    rng: np.random.Generator,
    right: Ellipsoid,
    left: Ellipsoid,
    diameters_mm: Sequence[float],
    heterogeneity: float,
) -> tuple[Tumor, ...]:
    """Tumours inside the liver: the largest in the right lobe, kept inside it; each satellite at
    the first of 64 random sites in either lobe with room for it (8 mm from the other tumours,
    bulging out of the liver at most a little), else at the roomiest site, shrunk to fit."""
    placed: list[Tumor] = []
    for index, diameter in enumerate(diameters_mm):
        a = float(diameter) / 2.0
        ratios = (1.0, rng.uniform(0.78, 0.95), rng.uniform(0.75, 1.0))
        if index == 0:
            room = max(1.0 - 1.05 * a / min(right.radii) - 0.05, 0.0)
            direction = rng.normal(0, 1, 3)
            center = np.asarray(right.center) + np.asarray(
                right.radii
            ) * room * direction / np.linalg.norm(direction) * rng.uniform(0, 1) ** (1 / 3)
        else:
            best = (-np.inf, None)
            for _ in range(64):
                lobe = left if rng.random() < 0.35 else right
                direction = rng.normal(0, 1, 3)
                rho = 0.95 * rng.uniform(0, 1) ** (1 / 3)
                site = np.asarray(lobe.center) + np.asarray(
                    lobe.radii
                ) * rho * direction / np.linalg.norm(direction)
                allowed = (0.95 - rho) * min(lobe.radii) / 0.85
                for other in placed:
                    clearance = float(other.shape.level(*site)) - 0.2 * max(other.shape.radii) - 8.0
                    allowed = min(allowed, clearance / 1.15)
                if allowed >= a:
                    best = (a, site)
                    break
                best = max(best, (allowed, site), key=lambda b: b[0])
            a, center = max(min(best[0], a), 5.0), best[1]
        radii = tuple(a * r for r in ratios)
        diameter = 2.0 * a
        size = min(1.0, max(0.0, (diameter - 20.0) / 60.0))
        placed.append(
            Tumor(
                shape=Ellipsoid(
                    tuple(map(float, center)),
                    tuple(map(float, radii)),
                    float(rng.uniform(0, math.pi)),
                ),
                diameter_mm=round(diameter, 1),
                rim_hu=float(rng.uniform(105, 140)),
                viable_hu=float(rng.uniform(88, 108)),
                core_hu=float(rng.uniform(10, 30)),
                rim_mm=float(rng.uniform(2.0, 3.5)),
                core_fraction=float(np.clip(0.15 + 0.45 * heterogeneity + 0.3 * size, 0.0, 0.85)),
                irregularity=0.04 + 0.06 * heterogeneity,
                texture_hu=4.0 + 45.0 * heterogeneity,
                texture_mm=1.0 + 1.6 * heterogeneity,
            )
        )
    return tuple(placed)


def make_anatomy(
    seed: Sequence[int],
    liver_damage: float,
    tumor_heterogeneity: float,
    tumor_diameters_mm: Sequence[float],
    scanner: str,
) -> Anatomy:
    """Draw one patient's anatomy (deterministic by ``seed``) for the given latents (0..1),
    tumour longest axial diameters (mm, largest first) and scanner name (see :data:`SCANNERS`)."""
    seed = tuple(int(s) for s in seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    damage = float(np.clip(liver_damage, 0.0, 1.0))
    hetero = float(np.clip(tumor_heterogeneity, 0.0, 1.0))
    a_body, b_body = float(rng.uniform(138, 155)), float(rng.uniform(100, 115))
    fat, muscle = float(rng.uniform(6, 18)), float(rng.uniform(5, 10))
    cavity_a = a_body - fat - muscle
    scale = float(rng.uniform(0.86, 0.96) * (1.0 - 0.08 * damage))
    right_radii = np.array([58.0, 60.0, 54.0]) * scale * rng.uniform(0.95, 1.05, 3)
    right_center = np.array([-cavity_a + right_radii[0] - 3.0, -12.0 * scale, 0.0])
    left_radii = np.array([42.0, 26.0, 34.0]) * scale * rng.uniform(0.9, 1.1, 3)
    left_center = right_center + np.array([52.0, -26.0, 22.0]) * scale
    lobes = (
        Ellipsoid(
            tuple(map(float, right_center)),
            tuple(map(float, right_radii)),
            float(rng.normal(0, 0.08)),
        ),
        Ellipsoid(
            tuple(map(float, left_center)),
            tuple(map(float, left_radii)),
            float(rng.normal(-0.2, 0.08)),
        ),
    )
    ivc = (
        float(right_center[0] + 40 * scale),
        float(right_center[1] + 34 * scale),
        float(rng.uniform(9, 12)),
        float(rng.uniform(120, 140)),
    )
    spine_y = 0.45 * b_body + float(rng.uniform(-3, 3))
    anatomy = Anatomy(
        seed=seed,
        liver_damage=damage,
        tumor_heterogeneity=hetero,
        scanner=SCANNERS[scanner],
        spacing=(round(float(rng.uniform(*IN_PLANE_SPACING_MM)), 3),) * 2
        + (float(rng.choice(np.arange(2.5, 5.01, 0.25))),),
        fov_lo=(0.0, 0.0, 0.0),
        fov_hi=(0.0, 0.0, 0.0),
        body_radii=(a_body, b_body),
        fat_mm=fat,
        muscle_mm=muscle,
        spine=(float(rng.uniform(-3, 3)), spine_y, float(rng.uniform(15, 19))),
        disc_phase_mm=float(rng.uniform(0, 30)),
        aorta=(
            float(rng.uniform(14, 22)),
            spine_y - float(rng.uniform(18, 24)),
            float(rng.uniform(9, 12)),
            float(rng.uniform(170, 200)),
        ),
        ivc=ivc,
        kidney=Ellipsoid(
            (float(right_center[0] - 5), float(spine_y + 5), float(-0.6 * right_radii[2])),
            (28.0, 22.0, 48.0),
            0.4,
        ),
        lobes=lobes,
        liver_hu=float(63.0 - 10.0 * damage + rng.normal(0, 3)),
        shape_noise_mm=float(rng.uniform(3.5, 6.0)),
        nodularity_mm=1.8 * damage,
        nodule_hu=2.0 + 22.0 * damage,
        septa_hu=25.0 * damage**2,
        gallbladder=Ellipsoid(
            tuple(map(float, right_center + right_radii * np.array([0.6, -0.55, -0.55]))),
            tuple(map(float, np.array([14.0, 13.0, 26.0]) * rng.uniform(0.8, 1.1))),
            0.5,
        ),
        vessels=_vessel_tree(rng, lobes[0], lobes[1], ivc),
        tumors=_place_tumors(rng, lobes[0], lobes[1], tumor_diameters_mm, hetero),
        noise_sd_hu=SCANNERS[scanner].noise_sd_hu * float(rng.uniform(0.9, 1.1)),
    )
    fov_lo, fov_hi = _body_fov(anatomy)
    return replace(anatomy, fov_lo=fov_lo, fov_hi=fov_hi)


# --------------------------------------------------------------------------- rendering


def _gradient(level: np.ndarray, spacing: Sequence[float]) -> list[np.ndarray]:
    """Gradient (per mm) along z, y, x; zero along an axis with a single sample."""
    out = []
    for axis, step in zip(range(3), (spacing[2], spacing[1], spacing[0]), strict=True):
        if level.shape[axis] < 2:
            out.append(np.zeros((1, 1, 1), np.float32))
        else:
            out.append(np.gradient(level, step, axis=axis))
    return out


def _occupancy(level: np.ndarray, grid: Grid) -> np.ndarray:
    """Fraction of each voxel inside the shape ``level < 0``: the chance that a point spread by
    the pixel (in-plane) and the slice profile (z) lies inside, to first order in the level."""
    sx, sy, sz = grid.spacing
    sigma = (sz / math.sqrt(12.0), sy / math.sqrt(12.0), sx / math.sqrt(12.0))
    gz, gy, gx = _gradient(level, grid.spacing)
    spread = np.sqrt((sigma[0] * gz) ** 2 + (sigma[1] * gy) ** 2 + (sigma[2] * gx) ** 2)
    return special.ndtr(-level / np.maximum(spread, np.float32(0.05))).astype(np.float32)


def _paint(image: np.ndarray, weight: np.ndarray, value: np.ndarray | float) -> None:
    image *= 1.0 - weight
    image += weight * value


def _box_axes(grid: Grid, lo: np.ndarray, hi: np.ndarray):
    """Slices of ``grid`` inside the box and the coordinates along each axis (broadcastable)."""
    box = grid.index_box(lo, hi)
    xs, ys, zs = grid.axes()
    x, y, z = xs[box[2]], ys[box[1]], zs[box[0]]
    empty = any(s.stop <= s.start for s in box)
    return box, empty, x[None, None, :], y[None, :, None], z[:, None, None]


def _slabs(start: int, stop: int) -> Iterator[tuple[int, int, int, int]]:
    """Slabs of :data:`SLAB_SLICES` slices covering ``start``-``stop``: (start, stop, padded start,
    padded stop), padded by one slice each side within the range so that gradients computed per
    slab equal those of one pass over the whole range."""
    for first in range(start, stop, SLAB_SLICES):
        last = min(first + SLAB_SLICES, stop)
        yield first, last, max(first - 1, start), min(last + 1, stop)


def _render_body(anatomy: Anatomy, grid: Grid, image: np.ndarray, bowel: _Lattice) -> None:
    """Body wall (air, subcutaneous fat, muscle), abdominal contents, spine, aorta, IVC, kidney."""
    xs, ys, zs = grid.axes()
    x, y = xs[None, None, :], ys[None, :, None]
    a, b = anatomy.body_radii
    outer = _occupancy(_ellipse2d(x, y, a, b), grid)
    inner_fat = _occupancy(_ellipse2d(x, y, a - anatomy.fat_mm, b - anatomy.fat_mm), grid)
    inset = anatomy.fat_mm + anatomy.muscle_mm
    cavity = _occupancy(_ellipse2d(x, y, a - inset, b - inset), grid)
    wall = (AIR_HU + outer * (FAT_HU - AIR_HU) + inner_fat * (MUSCLE_HU - FAT_HU)) * (1.0 - cavity)
    for first, last, _, _ in _slabs(0, len(zs)):
        fat_pockets = special.ndtr((bowel.sample(xs, ys, zs[first:last]) - 0.6) / 0.25)
        image[first:last] = wall + cavity * (BOWEL_HU + fat_pockets * (FAT_HU - BOWEL_HU))

    sx, sy, sr = anatomy.spine
    box, empty, x, y, z = _box_axes(
        grid, (sx - sr - 3, sy - sr - 3, -1e9), (sx + sr + 3, sy + sr + 3, 1e9)
    )
    if not empty:
        radial = np.sqrt((x - sx) ** 2 + (y - sy) ** 2)
        bone = _occupancy(radial - sr, grid)
        cortex = 1.0 - _occupancy(radial - sr + 1.8, grid)
        period = 30.0
        disc_level = np.abs(np.mod(z - anatomy.disc_phase_mm, period) - period / 2) - 4.0
        disc = _occupancy(np.broadcast_to(disc_level, (z.shape[0], 1, 1)).astype(np.float32), grid)
        bone_hu = CANCELLOUS_HU + cortex * (CORTICAL_HU - CANCELLOUS_HU)
        value = (1.0 - disc) * bone_hu + disc * DISC_HU
        _paint(image[box], bone, value)
    for cx, cy, r, hu in (anatomy.aorta, anatomy.ivc):
        box, empty, x, y, z = _box_axes(
            grid, (cx - r - 3, cy - r - 3, -1e9), (cx + r + 3, cy + r + 3, 1e9)
        )
        if not empty:
            _paint(image[box], _occupancy(np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r, grid), hu)
    box, empty, x, y, z = _box_axes(grid, *anatomy.kidney.bounds(3.0))
    if not empty:
        _paint(image[box], _occupancy(anatomy.kidney.level(x, y, z), grid), KIDNEY_HU)


def _capsule_level(vessel: Vessel, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    p0, p1 = np.asarray(vessel.start, np.float32), np.asarray(vessel.end, np.float32)
    v = p1 - p0
    t = ((x - p0[0]) * v[0] + (y - p0[1]) * v[1] + (z - p0[2]) * v[2]) / float(v @ v)
    t = np.clip(t, 0.0, 1.0)
    dist = np.sqrt(
        (x - p0[0] - t * v[0]) ** 2 + (y - p0[1] - t * v[1]) ** 2 + (z - p0[2] - t * v[2]) ** 2
    )
    return dist - (vessel.radius_start + t * (vessel.radius_end - vessel.radius_start))


def _liver_box(anatomy: Anatomy) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(anatomy.field_box()[0] + 12.0, anatomy.fov_lo)
    hi = np.minimum(anatomy.field_box()[1] - 12.0, anatomy.fov_hi)
    return lo, hi


def _nodule_fields(
    anatomy: Anatomy, grid: Grid, region: tuple[np.ndarray, np.ndarray]
) -> tuple[_Lattice, _Lattice]:
    """Regenerative-nodule field (band-pass noise): as geometry (surface nodularity) and
    averaged over the slice profile (intensity)."""
    lo, hi = anatomy.field_box()
    chain = (("low", _iso(NODULE_MM)), ("high", _iso(math.sqrt(3.0) * NODULE_MM)))
    geometry, texture = _noise_fields(
        anatomy.seed,
        _FIELD_NODULES,
        lo,
        hi,
        LIVER_STEP_MM,
        chain,
        region,
        ((), _slice_profile(grid)),
    )
    return geometry, texture


def _render_liver(
    anatomy: Anatomy, grid: Grid, image: np.ndarray, liver_mask: np.ndarray, shape_noise: _Lattice
) -> None:
    """Paint the liver (parenchyma texture and vessels) and the gallbladder; set the liver mask.

    Works through slabs (see :func:`_slabs`) to bound memory.
    """
    liver_lo, liver_hi = _liver_box(anatomy)
    box, empty, x, y, z = _box_axes(grid, liver_lo, liver_hi)
    if empty:
        return
    xs, ys = x.ravel(), y.ravel()
    geometry, texture = _nodule_fields(anatomy, grid, _grid_region(grid, liver_lo, liver_hi))
    cx, cy, r, _ = anatomy.ivc
    outside_ivc = r + 1.0 - np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    for start, stop, lo_pad, hi_pad in _slabs(box[0].start, box[0].stop):
        zs = z.ravel()[lo_pad - box[0].start : hi_pad - box[0].start]
        zc = zs[:, None, None]
        level = _liver_level_parts(anatomy, x, y, zc, shape_noise.sample(xs, ys, zs))
        level += anatomy.nodularity_mm * geometry.sample(xs, ys, zs)
        level = np.maximum(level, outside_ivc)
        level = np.maximum(level, 1.5 - anatomy.gallbladder.level(x, y, zc))
        nodules = texture.sample(xs, ys, zs)
        value = (
            anatomy.liver_hu
            + anatomy.nodule_hu * nodules
            - anatomy.septa_hu * np.exp(-((nodules / 0.35) ** 2))
        )
        slab = (slice(lo_pad, hi_pad), box[1], box[2])
        half = grid.spacing[2] / 2.0
        slab_lo = (liver_lo[0], liver_lo[1], float(zs[0]) - half)
        slab_hi = (liver_hi[0], liver_hi[1], float(zs[-1]) + half)
        for vessel in anatomy.vessels:
            reach = max(vessel.radius_start, vessel.radius_end) + 4.0
            lo = np.maximum(np.minimum(vessel.start, vessel.end) - reach, slab_lo)
            hi = np.minimum(np.maximum(vessel.start, vessel.end) + reach, slab_hi)
            vbox, vempty, vx, vy, vz = _box_axes(grid, lo, hi)
            if vempty:
                continue
            local = tuple(
                slice(v.start - b.start, v.stop - b.start) for v, b in zip(vbox, slab, strict=True)
            )
            _paint(value[local], _occupancy(_capsule_level(vessel, vx, vy, vz), grid), vessel.hu)
        inner = slice(start - lo_pad, stop - lo_pad)
        target = (slice(start, stop), box[1], box[2])
        liver_mask[target] = level[inner] < 0
        _paint(image[target], _occupancy(level, grid)[inner], value[inner])
    gb_box, gb_empty, gx, gy, gz = _box_axes(grid, *anatomy.gallbladder.bounds(3.0))
    if not gb_empty:
        _paint(image[gb_box], _occupancy(anatomy.gallbladder.level(gx, gy, gz), grid), BILE_HU)


def _tumor_box(tumor: Tumor) -> tuple[np.ndarray, np.ndarray]:
    """Box (mm) holding the tumour whatever its boundary noise (4 sd of the perturbation)."""
    return tumor.shape.bounds(4.0 * tumor.irregularity * max(tumor.shape.radii) + 2.0)


def _tumor_fields(
    anatomy: Anatomy, index: int, tumor: Tumor, grid: Grid, region: tuple[np.ndarray, np.ndarray]
) -> tuple[_Lattice, _Lattice, _Lattice]:
    """Texture (band-pass, slice-averaged), boundary and necrosis-patch fields of one tumour."""
    lo, hi = _tumor_box(tumor)
    key = _FIELD_TUMOR + 3 * index
    mean_radius = float(np.mean(tumor.shape.radii))
    texture = _noise_field(
        anatomy.seed,
        key,
        lo,
        hi,
        TUMOR_STEP_MM,
        (("low", _iso(tumor.texture_mm)), ("high", _iso(math.sqrt(3.0) * tumor.texture_mm))),
        region,
        _slice_profile(grid),
    )
    fields = [texture]
    for offset, sigma in ((1, 0.3 * mean_radius), (2, 0.12 * mean_radius + 1.0)):
        step = max(TUMOR_STEP_MM, sigma / 2.5)
        fields.append(
            _noise_field(anatomy.seed, key + offset, lo, hi, step, (("low", _iso(sigma)),), region)
        )
    return tuple(fields)


def _render_tumors(anatomy: Anatomy, grid: Grid, image: np.ndarray, gtv: np.ndarray) -> None:
    """Paint each tumour (rim, textured viable tissue, necrotic core) and set the GTV mask."""
    a, b = anatomy.body_radii
    inset = anatomy.fat_mm + anatomy.muscle_mm + 1.0
    for index, tumor in enumerate(anatomy.tumors):
        mean_radius = float(np.mean(tumor.shape.radii))
        lo, hi = _tumor_box(tumor)
        box, empty, x, y, z = _box_axes(grid, lo, hi)
        if empty:
            continue
        xs, ys = x.ravel(), y.ravel()
        fields = _tumor_fields(anatomy, index, tumor, grid, _grid_region(grid, lo, hi))
        cavity = _ellipse2d(x, y, a - inset, b - inset)
        for start, stop, lo_pad, hi_pad in _slabs(box[0].start, box[0].stop):
            zs = z.ravel()[lo_pad - box[0].start : hi_pad - box[0].start]
            texture, boundary, patches = (f.sample(xs, ys, zs) for f in fields)
            level = (
                tumor.shape.level(x, y, zs[:, None, None])
                + tumor.irregularity * mean_radius * boundary
            )
            level = np.maximum(level, cavity)
            depth = -level
            rim = special.ndtr((tumor.rim_mm - depth) / 0.7)
            necrosis = special.ndtr(
                (
                    depth / mean_radius
                    - (1.0 - tumor.core_fraction)
                    + 0.3 * anatomy.tumor_heterogeneity * patches
                )
                * mean_radius
            )
            tissue = rim * (tumor.rim_hu + 0.3 * tumor.texture_hu * texture) + (1.0 - rim) * (
                tumor.viable_hu + tumor.texture_hu * texture
            )
            value = (1.0 - necrosis) * tissue + necrosis * (
                tumor.core_hu + 0.4 * tumor.texture_hu * texture
            )
            inner = slice(start - lo_pad, stop - lo_pad)
            target = (slice(start, stop), box[1], box[2])
            gtv[target] |= level[inner] < 0
            _paint(image[target], _occupancy(level, grid)[inner], value[inner])


def _finish(anatomy: Anatomy, grid: Grid, image: np.ndarray) -> np.ndarray:
    """Scanner stage, slab by slab: in-plane PSF blur, correlated Gaussian noise with the
    scanner's grain and the case's sd, HU offset; rounded and clipped to int16 -1024..3071."""
    sx, sy, _ = grid.spacing
    psf = (0.0, anatomy.scanner.psf_sigma_mm / sy, anatomy.scanner.psf_sigma_mm / sx)
    grain = (0.0, anatomy.scanner.noise_grain_mm / sy, anatomy.scanner.noise_grain_mm / sx)
    impulse = np.zeros((1, 25, 25), np.float32)
    impulse[0, 12, 12] = 1.0
    gain = float(np.sqrt((ndimage.gaussian_filter(impulse, grain, truncate=3.0) ** 2).sum()))
    scale = np.float32(anatomy.noise_sd_hu / gain)
    rng = np.random.default_rng(np.random.SeedSequence(anatomy.seed + (_FIELD_NOISE,)))
    hu = np.empty(image.shape, np.int16)
    for first, last, _, _ in _slabs(0, image.shape[0]):
        slab = ndimage.gaussian_filter(image[first:last], psf, truncate=3.0)
        white = rng.standard_normal(slab.shape, dtype=np.float32)
        slab += ndimage.gaussian_filter(white, grain, truncate=3.0) * scale
        slab += np.float32(anatomy.scanner.hu_offset)
        hu[first:last] = np.clip(np.rint(slab), -1024, 3071)
    return hu


def render(anatomy: Anatomy, grid: Grid | None = None) -> Rendered:
    """Render the phantom on ``grid`` (default: its own targeted grid): CT image in HU (int16,
    -1024..3071) with the scanner's blur and noise, liver mask (tumours included) and GTV mask."""
    grid = grid or anatomy.grid
    shape = grid.size[::-1]
    image = np.empty(shape, np.float32)
    liver = np.zeros(shape, bool)
    gtv = np.zeros(shape, bool)
    shape_noise, bowel = _coarse_fields(anatomy)
    _render_body(anatomy, grid, image, bowel)
    _render_liver(anatomy, grid, image, liver, shape_noise)
    _render_tumors(anatomy, grid, image, gtv)
    hu = _finish(anatomy, grid, image)
    liver |= gtv
    return Rendered(grid, hu, liver.view(np.uint8), gtv.view(np.uint8))


def longest_axial_diameter(mask: np.ndarray, spacing: Sequence[float]) -> float:
    """Longest in-plane diameter (mm) of the largest connected component of a (z, y, x) mask,
    edge to edge, as measured on an axial slice; 0 for an empty mask."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return 0.0
    sizes = np.bincount(labels.ravel())[1:]
    component = labels == int(np.argmax(sizes)) + 1
    angles = np.linspace(0.0, math.pi, 120, endpoint=False)
    directions = np.stack([np.cos(angles), np.sin(angles)])
    longest = 0.0
    for plane in component[component.any(axis=(1, 2))]:
        edge = plane & ~ndimage.binary_erosion(plane)
        rows, cols = np.nonzero(edge)
        points = np.stack([cols * spacing[0], rows * spacing[1]], axis=1)
        projected = points @ directions
        longest = max(longest, float((projected.max(axis=0) - projected.min(axis=0)).max()))
    return longest + float(spacing[0])
