"""Abdominal phantoms with liver, vessels and HCC tumours, defined in millimetres.

Every structure is an analytic shape in patient coordinates (LPS, mm): the body is an elliptic
cylinder with subcutaneous fat and muscle, the vertebral body, aorta and inferior vena cava are
cylinders, the liver is the soft union of two deformed ellipsoids (right and left lobe) with
low-frequency shape noise, portal and hepatic veins are tapered tubes, tumours are irregular
ellipsoids. Random texture fields live on fixed lattices in mm, so a phantom rendered on any
voxel grid shows the same anatomy; only sampling, partial volume, blur and noise change.

Tissue is painted with partial volume (:mod:`survival_core.synthetic.shapes`) as
late-arterial-phase CT attenuation (HU; the phase of Wei 2021's scans): the aorta at 250-320 HU,
the portal vein already enhanced (165-195), the hepatic veins not yet (45-65), the liver mildly
(82 HU less 12 per unit of damage), viable HCC brighter than it (arterial hyperenhancement,
108-128) with a brighter rim. The case's scanner, CT or MR, then makes the stored image
(:mod:`survival_core.synthetic.scanners`).

Two latents drive texture: ``liver_damage`` (fibrosis/cirrhosis: regenerative nodules, fibrotic
septa, lower enhancement, nodular surface, smaller liver) and ``tumor_heterogeneity`` (coarser,
stronger and patchier tumour texture, larger necrotic core, more irregular boundary).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from survival_core.synthetic.body import FAT_HU, paint_column, paint_spine, wall
from survival_core.synthetic.random_fields import (
    Lattice,
    band_pass,
    grid_region,
    iso,
    noise_field,
    noise_fields,
    slice_profile,
)
from survival_core.synthetic.scanners import MRScanner, Scanner, draw_spacing, scanner_named
from survival_core.synthetic.shapes import (
    Ellipsoid,
    Grid,
    Vessel,
    box_axes,
    ellipse2d,
    occupancy,
    paint,
    slabs,
    smooth_union,
)
from survival_core.synthetic.tumors import Tumor, render_tumors

BOWEL_HU = 35.0
BILE_HU = 8.0
KIDNEY_HU = 150.0

#: Lattice steps (mm) of the random fields: coarse shape/background, liver texture.
COARSE_STEP_MM = 4.0
LIVER_STEP_MM = 2.0
#: Scale (mm) of regenerative nodules in the damaged liver.
NODULE_MM = 2.5

#: Targeted field of view: craniocaudal margin around the liver and least height (AP), in mm.
Z_MARGIN_MM = 8.0
FOV_HEIGHT_MM = 130.0

# Field identifiers: each random field has its own stream derived from the anatomy seed (the
# scanner's streams and the tumours' are in their modules).
_FIELD_SHAPE, _FIELD_BOWEL, _FIELD_NODULES = 1, 2, 3


@dataclass(frozen=True)
class Anatomy:
    """Everything needed to render one phantom; all lengths in mm, tissue intensities in HU,
    ``noise_sd`` in the scanner's units."""

    seed: tuple[int, ...]
    liver_damage: float
    tumor_heterogeneity: float
    scanner: Scanner | MRScanner
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
    noise_sd: float

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
    """A rendered phantom: the scanner's image (CT: int16 HU; MR: uint16 a.u.) and uint8 0/1
    masks, all (z, y, x) on ``grid``."""

    grid: Grid
    image: np.ndarray
    liver: np.ndarray
    gtv: np.ndarray


# --------------------------------------------------------------------------- anatomy


def _liver_level_parts(
    anatomy: Anatomy, x: np.ndarray, y: np.ndarray, z: np.ndarray, shape_noise: np.ndarray
) -> np.ndarray:
    """Liver signed distance (mm) before nodularity and exclusions: lobes + shape noise,
    clipped 2 mm inside the abdominal cavity."""
    right, left = anatomy.lobes
    level = smooth_union(right.level(x, y, z), left.level(x, y, z), 10.0)
    level = level + anatomy.shape_noise_mm * shape_noise
    a, b = anatomy.body_radii
    inset = anatomy.fat_mm + anatomy.muscle_mm + 2.0
    return np.maximum(level, ellipse2d(x, y, a - inset, b - inset))


def _coarse_fields(anatomy: Anatomy) -> tuple[Lattice, Lattice]:
    """Liver shape noise and abdominal fat pockets, over the liver's field box and the body."""
    lo, hi = anatomy.field_box()
    a, b = anatomy.body_radii
    lo = np.minimum(lo, (-a - 10.0, -b - 10.0, lo[2]))
    hi = np.maximum(hi, (hi[0], b + 10.0, hi[2]))
    shape_noise = noise_field(
        anatomy.seed, _FIELD_SHAPE, lo, hi, COARSE_STEP_MM, (("low", iso(14.0)),)
    )
    bowel = noise_field(anatomy.seed, _FIELD_BOWEL, lo, hi, COARSE_STEP_MM, (("low", iso(6.0)),))
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

    # late arterial phase: the portal vein already enhanced, the hepatic veins not yet
    portal_hu = float(rng.uniform(165, 195))
    hepatic_hu = float(rng.uniform(45, 65))
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
                rim_hu=float(rng.uniform(130, 165)),
                viable_hu=float(rng.uniform(108, 128)),
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
    tumour longest axial diameters (mm, largest first) and scanner name (CT or MR, see
    :mod:`survival_core.synthetic.scanners`)."""
    seed = tuple(int(s) for s in seed)
    physics = scanner_named(scanner)
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
        float(rng.uniform(70, 100)),  # contrast-laden renal return mixing with unenhanced blood
    )
    spine_y = 0.45 * b_body + float(rng.uniform(-3, 3))
    anatomy = Anatomy(
        seed=seed,
        liver_damage=damage,
        tumor_heterogeneity=hetero,
        scanner=physics,
        spacing=draw_spacing(rng),
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
            float(rng.uniform(250, 320)),
        ),
        ivc=ivc,
        kidney=Ellipsoid(
            (float(right_center[0] - 5), float(spine_y + 5), float(-0.6 * right_radii[2])),
            (28.0, 22.0, 48.0),
            0.4,
        ),
        lobes=lobes,
        liver_hu=float(82.0 - 12.0 * damage + rng.normal(0, 3)),
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
        noise_sd=physics.noise_sd * float(rng.uniform(0.9, 1.1)),
    )
    fov_lo, fov_hi = _body_fov(anatomy)
    return replace(anatomy, fov_lo=fov_lo, fov_hi=fov_hi)


# --------------------------------------------------------------------------- rendering


def _render_body(anatomy: Anatomy, grid: Grid, image: np.ndarray, bowel: Lattice) -> None:
    """Body wall (air, subcutaneous fat, muscle), abdominal contents, spine, aorta, IVC, kidney."""
    xs, ys, zs = grid.axes()
    hu, cavity = wall(grid, anatomy.body_radii, anatomy.fat_mm, anatomy.muscle_mm)
    for first, last, _, _ in slabs(0, len(zs)):
        fat_pockets = special.ndtr((bowel.sample(xs, ys, zs[first:last]) - 0.6) / 0.25)
        image[first:last] = hu + cavity * (BOWEL_HU + fat_pockets * (FAT_HU - BOWEL_HU))
    paint_spine(image, grid, anatomy.spine, anatomy.disc_phase_mm)
    for cx, cy, r, vessel_hu in (anatomy.aorta, anatomy.ivc):
        paint_column(image, grid, (cx, cy, r), vessel_hu)
    box, empty, x, y, z = box_axes(grid, *anatomy.kidney.bounds(3.0))
    if not empty:
        paint(image[box], occupancy(anatomy.kidney.level(x, y, z), grid), KIDNEY_HU)


def _liver_box(anatomy: Anatomy) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(anatomy.field_box()[0] + 12.0, anatomy.fov_lo)
    hi = np.minimum(anatomy.field_box()[1] - 12.0, anatomy.fov_hi)
    return lo, hi


def _nodule_fields(
    anatomy: Anatomy, grid: Grid, region: tuple[np.ndarray, np.ndarray]
) -> tuple[Lattice, Lattice]:
    """Regenerative-nodule field (band-pass noise): as geometry (surface nodularity) and
    averaged over the slice profile (intensity)."""
    lo, hi = anatomy.field_box()
    geometry, texture = noise_fields(
        anatomy.seed,
        _FIELD_NODULES,
        lo,
        hi,
        LIVER_STEP_MM,
        band_pass(NODULE_MM),
        region,
        ((), slice_profile(grid)),
    )
    return geometry, texture


def _render_liver(
    anatomy: Anatomy, grid: Grid, image: np.ndarray, liver_mask: np.ndarray, shape_noise: Lattice
) -> None:
    """Paint the liver (parenchyma texture and vessels) and the gallbladder; set the liver mask.

    Works through slabs (see :func:`_slabs`) to bound memory.
    """
    liver_lo, liver_hi = _liver_box(anatomy)
    box, empty, x, y, z = box_axes(grid, liver_lo, liver_hi)
    if empty:
        return
    xs, ys = x.ravel(), y.ravel()
    geometry, texture = _nodule_fields(anatomy, grid, grid_region(grid, liver_lo, liver_hi))
    cx, cy, r, _ = anatomy.ivc
    outside_ivc = r + 1.0 - np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    for start, stop, lo_pad, hi_pad in slabs(box[0].start, box[0].stop):
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
            lo, hi = vessel.bounds(4.0)
            lo, hi = np.maximum(lo, slab_lo), np.minimum(hi, slab_hi)
            vbox, vempty, vx, vy, vz = box_axes(grid, lo, hi)
            if vempty:
                continue
            local = tuple(
                slice(v.start - b.start, v.stop - b.start) for v, b in zip(vbox, slab, strict=True)
            )
            paint(value[local], occupancy(vessel.level(vx, vy, vz), grid), vessel.hu)
        inner = slice(start - lo_pad, stop - lo_pad)
        target = (slice(start, stop), box[1], box[2])
        liver_mask[target] = level[inner] < 0
        paint(image[target], occupancy(level, grid)[inner], value[inner])
    gb_box, gb_empty, gx, gy, gz = box_axes(grid, *anatomy.gallbladder.bounds(3.0))
    if not gb_empty:
        paint(image[gb_box], occupancy(anatomy.gallbladder.level(gx, gy, gz), grid), BILE_HU)


def render(anatomy: Anatomy, grid: Grid | None = None) -> Rendered:
    """Render the phantom on ``grid`` (default: its own targeted grid) as its scanner sees it
    (CT: int16 HU -1024..3071; MR: uint16 a.u.), with the liver mask (tumours included) and the
    GTV mask."""
    grid = grid or anatomy.grid
    shape = grid.size[::-1]
    image = np.empty(shape, np.float32)
    liver = np.zeros(shape, bool)
    labels = np.zeros(shape, np.uint8)
    shape_noise, bowel = _coarse_fields(anatomy)
    _render_body(anatomy, grid, image, bowel)
    _render_liver(anatomy, grid, image, liver, shape_noise)
    a, b = anatomy.body_radii
    inset = anatomy.fat_mm + anatomy.muscle_mm + 1.0
    cavity = (a - inset, b - inset)
    render_tumors(
        anatomy.tumors, anatomy.tumor_heterogeneity, anatomy.seed, cavity, grid, image, labels
    )
    pixels = anatomy.scanner.acquire(image, grid, anatomy.seed, anatomy.noise_sd)
    gtv = labels > 0
    liver |= gtv
    return Rendered(grid, pixels, liver.view(np.uint8), gtv.view(np.uint8))
