"""Chest phantoms with aerated lungs, mediastinum, heart, spine and lung tumours, in millimetres.

Every structure is an analytic shape in patient coordinates (LPS, mm), as in the abdominal phantom
(:mod:`survival_core.synthetic.phantom`): the trunk is an elliptic cylinder with subcutaneous fat,
chest-wall muscle and ribs; the lungs are deformed ellipsoids cut by the chest wall, the
mediastinum, the heart, the spine, the descending aorta and the two diaphragm domes; the airways
(trachea, main and lobar bronchi) and the hilar pulmonary arteries are tapered tubes; the spinal
cord runs in its canal behind the vertebral bodies; below the diaphragm lie soft tissues (no organ
is modelled there).

Lung parenchyma is aerated (about -850 HU, denser in the dependent, posterior part) with a fine
texture, a network of small vessels (where two independent smooth fields both cross zero, thicker
near the hila) and emphysema (clusters of destroyed lung near -975 HU). Two latents drive texture:
``organ_damage`` (the simulation's ``liver_damage``, rendered here as emphysema with vascular
pruning and lower lung density) and ``tumor_heterogeneity`` (as in the liver:
:mod:`survival_core.synthetic.tumors`); tumours are solid, spiculated nodules or masses placed in
the lungs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from survival_core.synthetic.body import (
    AIR_HU,
    CANCELLOUS_HU,
    column_level,
    paint_column,
    paint_spine,
    wall,
)
from survival_core.synthetic.random_fields import (
    Lattice,
    band_pass,
    grid_region,
    iso,
    noise_field,
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
)
from survival_core.synthetic.tumors import Tumor, render_tumors

LUNG_HU = -850.0
EMPHYSEMA_HU = -975.0
#: Small intrapulmonary vessels (blood, partial volume with the surrounding air).
SMALL_VESSEL_HU = 60.0
MEDIASTINAL_FAT_HU = -90.0
SOFT_TISSUE_HU = 45.0
RIB_HU = 500.0
CSF_HU = 8.0
CORD_HU = 35.0

#: Lattice steps (mm) of the random fields: coarse shape, lung texture.
COARSE_STEP_MM = 4.0
LUNG_STEP_MM = 2.0
#: Scales (mm): parenchymal texture grain, emphysema clusters, small-vessel network.
TEXTURE_MM = 2.5
EMPHYSEMA_MM = 3.5
VESSEL_MM = 5.0
#: Craniocaudal margin (mm) of the field of view around the lungs.
Z_MARGIN_MM = 8.0
#: Ribs: craniocaudal period and height, radial thickness (mm), anterior slope (mm per mm).
RIB_PERIOD_MM = 30.0
RIB_HEIGHT_MM = 11.0
RIB_THICKNESS_MM = 8.0
RIB_SLOPE = 0.3
#: Airway wall thickness (mm).
AIRWAY_WALL_MM = 1.5
#: Lungs: right, then left (patient left is +x in LPS).
RIGHT, LEFT = 0, 1

# Field identifiers (per anatomy seed; 4-6 are the scanner's, 10 on the tumours').
_FIELD_SHAPE, _FIELD_TEXTURE, _FIELD_EMPHYSEMA, _FIELD_VESSEL_A, _FIELD_VESSEL_B = 1, 2, 3, 7, 8


@dataclass(frozen=True)
class ChestAnatomy:
    """Everything needed to render one chest phantom; lengths in mm, tissue intensities in HU,
    ``noise_sd`` in the scanner's units. Columns are (x, y, radius) mm; the mediastinum is an
    axial ellipse (x, y, semi-axis x, semi-axis y); domes are (x, y, top z, reach x, reach y,
    depth) of each lung's diaphragm, a paraboloid."""

    seed: tuple[int, ...]
    organ_damage: float
    tumor_heterogeneity: float
    scanner: Scanner | MRScanner
    spacing: tuple[float, float, float]
    fov_lo: tuple[float, float, float]
    fov_hi: tuple[float, float, float]
    body_radii: tuple[float, float]
    fat_mm: float
    muscle_mm: float
    rib_phase_mm: float
    sternum: Ellipsoid
    spine: tuple[float, float, float]
    disc_phase_mm: float
    arch: tuple[float, float, float]
    canal: tuple[float, float, float]
    cord: tuple[float, float, float]
    aorta: tuple[float, float, float]
    aorta_hu: float
    esophagus: tuple[float, float, float]
    mediastinum: tuple[float, float, float, float]
    heart: Ellipsoid
    heart_hu: float
    lungs: tuple[Ellipsoid, Ellipsoid]
    domes: tuple[tuple[float, ...], tuple[float, ...]]
    hila: tuple[tuple[float, float, float], tuple[float, float, float]]
    lung_hu: float
    gravity_hu_per_mm: float
    texture_hu: float
    shape_noise_mm: float
    emphysema_fraction: float
    vessel_width: float
    airways: tuple[Vessel, ...]
    arteries: tuple[Vessel, ...]
    tumors: tuple[Tumor, ...]
    tumor_sides: tuple[int, ...]
    noise_sd: float

    @property
    def grid(self) -> Grid:
        """The reconstruction grid: field of view at the case's spacing."""
        return Grid.covering(self.fov_lo, self.fov_hi, self.spacing)

    @property
    def cavity(self) -> tuple[float, float]:
        """Semi-axes (mm) of the thoracic cavity, inside the ribs."""
        a, b = self.body_radii
        inset = self.fat_mm + self.muscle_mm
        return a - inset, b - inset

    def field_box(self) -> tuple[np.ndarray, np.ndarray]:
        """Box (mm) that the lungs' random fields cover: both lungs plus 10 mm."""
        lows, highs = zip(*(lung.bounds(10.0) for lung in self.lungs), strict=True)
        return np.min(lows, axis=0), np.max(highs, axis=0)


@dataclass
class ChestRendered:
    """A rendered chest phantom: the scanner's image (CT: int16 HU; MR: uint16 a.u.), uint8 0/1
    masks of each lung (tumours included), the heart and the spinal cord, and the lesion labels
    (0 background, i + 1 for tumour i), all (z, y, x) on ``grid``."""

    grid: Grid
    image: np.ndarray
    lung_right: np.ndarray
    lung_left: np.ndarray
    heart: np.ndarray
    cord: np.ndarray
    lesions: np.ndarray

    @property
    def lungs(self) -> np.ndarray:
        """Both lungs as one uint8 mask."""
        return self.lung_right | self.lung_left

    @property
    def gtv(self) -> np.ndarray:
        """All tumours as one uint8 mask."""
        return (self.lesions > 0).view(np.uint8)


# --------------------------------------------------------------------------- anatomy


def _dome(dome: Sequence[float], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height (z, mm) of a diaphragm dome: a paraboloid falling from its top."""
    dx, dy, top, rx, ry, depth = dome
    return top - depth * (((x - dx) / rx) ** 2 + ((y - dy) / ry) ** 2)


def _lung_level(
    anatomy: ChestAnatomy,
    side: int,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    shift: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Signed distance (mm, approximate) to one lung: its envelope and diaphragm dome deformed by
    ``shift`` (mm, the shape noise), cut 1 mm inside the ribs and clear of the midline, mediastinum,
    heart, spine and aorta."""
    ca, cb = anatomy.cavity
    mx, my, wm, bm = anatomy.mediastinum
    sx, sy, sr = anatomy.spine
    midline = (x - mx + 1.0) if side == RIGHT else (mx + 1.0 - x)
    level = (
        np.maximum(anatomy.lungs[side].level(x, y, z), _dome(anatomy.domes[side], x, y) - z) + shift
    )
    for part in (
        ellipse2d(x, y, ca - 1.0, cb - 1.0),
        midline,
        -ellipse2d(x - mx, y - my, wm, bm),
        2.0 - anatomy.heart.level(x, y, z),
        5.0 - column_level((sx, sy, sr), x, y),
        2.0 - column_level(anatomy.aorta, x, y),
    ):
        level = np.maximum(level, part)
    return level


def _shape_field(anatomy: ChestAnatomy) -> Lattice:
    """Low-frequency noise that deforms the lung surfaces."""
    lo, hi = anatomy.field_box()
    return noise_field(anatomy.seed, _FIELD_SHAPE, lo, hi, COARSE_STEP_MM, (("low", iso(14.0)),))


def _lung_z_range(anatomy: ChestAnatomy) -> tuple[float, float]:
    """Craniocaudal extent (mm) of the lungs, shape noise included, on a coarse lattice."""
    noise = _shape_field(anatomy)
    lo, hi = anatomy.field_box()
    xs, ys, zs = (np.arange(lo[i], hi[i], COARSE_STEP_MM, dtype=np.float32) for i in range(3))
    x, y, z = xs[None, None, :], ys[None, :, None], zs[:, None, None]
    shift = anatomy.shape_noise_mm * noise.sample(xs, ys, zs)
    inside = np.zeros(len(zs), bool)
    for side in (RIGHT, LEFT):
        level = _lung_level(anatomy, side, x, y, z, shift)
        inside |= (level < COARSE_STEP_MM).any(axis=(1, 2))
    rows = np.flatnonzero(inside)
    return float(zs[rows[0]]) - COARSE_STEP_MM, float(zs[rows[-1]]) + COARSE_STEP_MM


def _bronchial_tree(
    rng: np.random.Generator,
    trachea: tuple[float, float, float],
    carina_z: float,
    top_z: float,
    hila: Sequence[Sequence[float]],
) -> tuple[Vessel, ...]:
    """Trachea, main bronchi to the hila and three lobar bronchi from each hilum (lumens)."""
    tx, ty, tr = trachea
    carina = np.array([tx, ty, carina_z])
    tubes = [(carina + (0, 0, top_z - carina_z), carina, tr, tr)]
    for side, hilum in enumerate(hila):
        hilum = np.asarray(hilum)
        tubes.append((carina, hilum, 0.75 * tr if side == RIGHT else 0.68 * tr, 0.55 * tr))
        lateral = -1.0 if side == RIGHT else 1.0
        for up in (0.8, 0.0, -0.9):
            direction = np.array([lateral, rng.normal(0, 0.3), up]) + rng.normal(0, 0.15, 3)
            length = float(rng.uniform(35, 55))
            end = hilum + length * direction / np.linalg.norm(direction)
            tubes.append((hilum, end, 0.4 * tr, 0.2 * tr))
    return tuple(
        Vessel(tuple(map(float, a)), tuple(map(float, b)), float(r0), float(r1), AIR_HU)
        for a, b, r0, r1 in tubes
    )


def _pulmonary_arteries(
    rng: np.random.Generator, trunk: np.ndarray, hila: Sequence[Sequence[float]], hu: float
) -> tuple[Vessel, ...]:
    """Pulmonary trunk to each hilum and four branches from each hilum into its lung."""
    tubes = []
    for side, hilum in enumerate(hila):
        root = np.asarray(hilum) + (0.0, -8.0, -6.0)
        tubes.append((trunk, root, 11.0, 8.0))
        lateral = -1.0 if side == RIGHT else 1.0
        for up in (1.0, 0.3, -0.4, -1.0):
            direction = np.array([lateral, rng.normal(0, 0.4), up]) + rng.normal(0, 0.2, 3)
            length = float(rng.uniform(45, 75))
            end = root + length * direction / np.linalg.norm(direction)
            tubes.append((root, end, 5.5, 2.0))
    return tuple(
        Vessel(tuple(map(float, a)), tuple(map(float, b)), r0, r1, hu) for a, b, r0, r1 in tubes
    )


def _place_tumors(
    rng: np.random.Generator,
    anatomy: ChestAnatomy,
    diameters_mm: Sequence[float],
    heterogeneity: float,
) -> tuple[tuple[Tumor, ...], tuple[int, ...]]:
    """Solid, spiculated tumours in the lungs, and the lung (side) of each: each at the first of
    64 random sites (the right lung a little more often) with room for it (clear of the lung's
    boundary and 8 mm from the other tumours), else at the roomiest site, shrunk to fit."""
    placed: list[Tumor] = []
    sides: list[int] = []
    for diameter in diameters_mm:
        a = float(diameter) / 2.0
        ratios = (1.0, rng.uniform(0.8, 0.95), rng.uniform(0.75, 1.0))
        best = (-np.inf, None, RIGHT)
        for _ in range(64):
            side = RIGHT if rng.random() < 0.55 else LEFT
            lung = anatomy.lungs[side]
            direction = rng.normal(0, 1, 3)
            rho = 0.9 * rng.uniform(0, 1) ** (1 / 3)
            site = np.asarray(lung.center) + np.asarray(
                lung.radii
            ) * rho * direction / np.linalg.norm(direction)
            allowed = -float(_lung_level(anatomy, side, *site)) / 1.05
            for other in placed:
                clearance = float(other.shape.level(*site)) - 0.2 * max(other.shape.radii) - 8.0
                allowed = min(allowed, clearance / 1.15)
            if allowed >= a:
                best = (a, site, side)
                break
            best = max(best, (allowed, site, side), key=lambda b: b[0])
        a, center, side = max(min(best[0], a), 5.0), best[1], best[2]
        diameter = 2.0 * a
        size = min(1.0, max(0.0, (diameter - 20.0) / 60.0))
        viable = float(rng.uniform(35, 55))
        placed.append(
            Tumor(
                shape=Ellipsoid(
                    tuple(map(float, center)),
                    tuple(float(a * r) for r in ratios),
                    float(rng.uniform(0, math.pi)),
                ),
                diameter_mm=round(diameter, 1),
                rim_hu=viable + float(rng.uniform(5, 20)),
                viable_hu=viable,
                core_hu=float(rng.uniform(5, 20)),
                rim_mm=float(rng.uniform(2.0, 3.5)),
                core_fraction=float(np.clip(0.15 + 0.45 * heterogeneity + 0.3 * size, 0.0, 0.85)),
                irregularity=0.06 + 0.08 * heterogeneity,
                texture_hu=4.0 + 45.0 * heterogeneity,
                texture_mm=1.0 + 1.6 * heterogeneity,
            )
        )
        sides.append(side)
    return tuple(placed), tuple(sides)


def make_chest_anatomy(
    seed: Sequence[int],
    organ_damage: float,
    tumor_heterogeneity: float,
    tumor_diameters_mm: Sequence[float],
    scanner: str,
) -> ChestAnatomy:
    """Draw one patient's chest (deterministic by ``seed``) for the given latents (0..1), tumour
    longest axial diameters (mm, largest first) and scanner name (CT or MR, see
    :mod:`survival_core.synthetic.scanners`)."""
    seed = tuple(int(s) for s in seed)
    physics = scanner_named(scanner)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    damage = float(np.clip(organ_damage, 0.0, 1.0))
    hetero = float(np.clip(tumor_heterogeneity, 0.0, 1.0))
    spacing = draw_spacing(rng)
    a_body, b_body = float(rng.uniform(150, 172)), float(rng.uniform(104, 122))
    fat, muscle = float(rng.uniform(8, 20)), float(rng.uniform(16, 22))
    ca, cb = a_body - fat - muscle, b_body - fat - muscle
    height = float(rng.uniform(195, 245))
    sr = float(rng.uniform(14, 18))
    sx, sy = float(rng.uniform(-3, 3)), cb - sr + float(rng.uniform(-2, 2))
    canal_y = sy + sr + 8.0
    mediastinum = (float(rng.uniform(0, 8)), -0.1 * cb, float(rng.uniform(26, 34)), 0.95 * cb)
    mx, my, wm, _ = mediastinum
    top_right = -height / 2 + float(rng.uniform(50, 65))
    top_left = top_right - float(rng.uniform(10, 20))
    domes = tuple(
        (side * 0.4 * ca, -0.1 * cb, top, 0.75 * ca, 1.2 * cb, top + height / 2 - 5.0)
        for side, top in ((-1.0, top_right), (1.0, top_left))
    )
    heart_scale = float(rng.uniform(0.9, 1.1))
    heart = Ellipsoid(
        (mx + float(rng.uniform(22, 32)), -0.3 * cb, top_left + 40.0),
        (60.0 * heart_scale, 0.55 * cb * heart_scale, 50.0 * heart_scale),
        float(rng.uniform(-0.7, -0.4)),
    )
    lungs = (
        Ellipsoid((-0.5 * ca, 0.05 * cb, 0.0), (0.56 * ca, 1.25 * cb, height / 2)),
        Ellipsoid((0.5 * ca, 0.05 * cb, -5.0), (0.54 * ca, 1.25 * cb, height / 2 - 5.0)),
    )
    trachea = (sx + float(rng.uniform(-2, 2)), sy - sr - 27.0, float(rng.uniform(8, 10)))
    carina_z = height / 2 - float(rng.uniform(70, 90))
    hila = (
        (mx - wm - 8.0, trachea[1] + 10.0, carina_z - 20.0),
        (mx + wm + 10.0, trachea[1] + 15.0, carina_z - 35.0),
    )
    artery_hu = float(rng.uniform(140, 180))
    anatomy = ChestAnatomy(
        seed=seed,
        organ_damage=damage,
        tumor_heterogeneity=hetero,
        scanner=physics,
        spacing=spacing,
        fov_lo=(-a_body - 4.0, -b_body - 4.0, 0.0),
        fov_hi=(a_body + 4.0, b_body + 4.0, 0.0),
        body_radii=(a_body, b_body),
        fat_mm=fat,
        muscle_mm=muscle,
        rib_phase_mm=float(rng.uniform(0, RIB_PERIOD_MM)),
        sternum=Ellipsoid((0.0, -cb - 0.5 * muscle, 0.0), (16.0, 6.0, 1e9)),
        spine=(sx, sy, sr),
        disc_phase_mm=float(rng.uniform(0, 30)),
        arch=(sx, canal_y, 11.0),
        canal=(sx, canal_y, 7.0),
        cord=(sx, canal_y, float(rng.uniform(4.0, 5.0))),
        aorta=(sx + float(rng.uniform(22, 28)), sy - float(rng.uniform(12, 18)), 12.0),
        aorta_hu=float(rng.uniform(150, 190)),
        esophagus=(sx - 4.0, sy - sr - 8.0, 7.0),
        mediastinum=mediastinum,
        heart=heart,
        heart_hu=float(rng.uniform(120, 150)),
        lungs=lungs,
        domes=domes,
        hila=hila,
        lung_hu=float(LUNG_HU - 15.0 * damage + rng.normal(0, 10)),
        gravity_hu_per_mm=float(rng.uniform(0.15, 0.3)),
        texture_hu=float(rng.uniform(10, 16)),
        shape_noise_mm=float(rng.uniform(2.0, 3.5)),
        emphysema_fraction=0.02 + 0.2 * damage**1.5,
        vessel_width=0.22 * (1.0 - 0.35 * damage),
        airways=_bronchial_tree(rng, trachea, carina_z, height / 2 + 60.0, hila),
        arteries=_pulmonary_arteries(
            rng, np.array([mx + 5.0, -0.25 * cb, carina_z - 45.0]), hila, artery_hu
        ),
        tumors=(),
        tumor_sides=(),
        noise_sd=physics.noise_sd * float(rng.uniform(0.9, 1.1)),
    )
    tumors, sides = _place_tumors(rng, anatomy, tumor_diameters_mm, hetero)
    z_lo, z_hi = _lung_z_range(anatomy)
    return replace(
        anatomy,
        tumors=tumors,
        tumor_sides=sides,
        fov_lo=anatomy.fov_lo[:2] + (round(z_lo - Z_MARGIN_MM, 2),),
        fov_hi=anatomy.fov_hi[:2] + (round(z_hi + Z_MARGIN_MM, 2),),
    )


# --------------------------------------------------------------------------- rendering


def _render_trunk(anatomy: ChestAnatomy, grid: Grid, image: np.ndarray) -> None:
    """Chest wall with ribs and sternum, mediastinal fat, soft tissue below the diaphragm, spine
    with its posterior arch and canal, oesophagus, descending aorta and heart."""
    xs, ys, zs = grid.axes()
    x, y = xs[None, None, :], ys[None, :, None]
    hu, cavity = wall(grid, anatomy.body_radii, anatomy.fat_mm, anatomy.muscle_mm)
    a, b = anatomy.body_radii
    inset = anatomy.fat_mm + anatomy.muscle_mm - RIB_THICKNESS_MM / 2
    ring = np.abs(ellipse2d(x, y, a - inset, b - inset)) - RIB_THICKNESS_MM / 2
    ring = np.maximum(ring, 30.0 - np.abs(x - anatomy.spine[0]))
    diaphragm = np.maximum(*(_dome(dome, x, y) for dome in anatomy.domes))
    for start, stop, lo_pad, hi_pad in slabs(0, len(zs)):
        z = zs[lo_pad:hi_pad, None, None]
        inner = slice(start - lo_pad, stop - lo_pad)
        abdomen = occupancy(z - diaphragm, grid)[inner]
        image[start:stop] = hu + cavity * (
            MEDIASTINAL_FAT_HU + abdomen * (SOFT_TISSUE_HU - MEDIASTINAL_FAT_HU)
        )
        period = RIB_PERIOD_MM
        along = np.mod(z - RIB_SLOPE * y - anatomy.rib_phase_mm, period) - period / 2
        rib = np.maximum(ring, np.abs(along) - RIB_HEIGHT_MM / 2)
        paint(image[start:stop], occupancy(rib, grid)[inner], RIB_HU)
    box, empty, x, y, z = box_axes(grid, *anatomy.sternum.bounds(3.0))
    if not empty:
        paint(image[box], occupancy(anatomy.sternum.level(x, y, np.float32(0.0)), grid), RIB_HU)
    paint_spine(image, grid, anatomy.spine, anatomy.disc_phase_mm)
    for column, value in (
        (anatomy.arch, CANCELLOUS_HU),
        (anatomy.canal, CSF_HU),
        (anatomy.cord, CORD_HU),
        (anatomy.esophagus, SOFT_TISSUE_HU),
        (anatomy.aorta, anatomy.aorta_hu),
    ):
        paint_column(image, grid, column, value)
    box, empty, x, y, z = box_axes(grid, *anatomy.heart.bounds(3.0))
    if not empty:
        paint(image[box], occupancy(anatomy.heart.level(x, y, z), grid), anatomy.heart_hu)


def _lung_fields(
    anatomy: ChestAnatomy, grid: Grid, region: tuple[np.ndarray, np.ndarray]
) -> tuple[Lattice, Lattice, Lattice, Lattice]:
    """Parenchymal texture (slice-averaged), emphysema clusters and the two small-vessel fields."""
    lo, hi = anatomy.field_box()
    seed = anatomy.seed
    texture = noise_field(
        seed,
        _FIELD_TEXTURE,
        lo,
        hi,
        LUNG_STEP_MM,
        band_pass(TEXTURE_MM),
        region,
        slice_profile(grid),
    )
    emphysema = noise_field(
        seed, _FIELD_EMPHYSEMA, lo, hi, LUNG_STEP_MM, band_pass(EMPHYSEMA_MM), region
    )
    vessels = (
        noise_field(seed, field, lo, hi, LUNG_STEP_MM, (("low", iso(VESSEL_MM)),), region)
        for field in (_FIELD_VESSEL_A, _FIELD_VESSEL_B)
    )
    return (texture, emphysema, *vessels)


def _render_lungs(
    anatomy: ChestAnatomy, grid: Grid, image: np.ndarray, lungs: tuple[np.ndarray, np.ndarray]
) -> None:
    """Paint the lung parenchyma (density gradient, texture, emphysema, small vessels) and set
    each lung's mask. Works through slabs to bound memory."""
    lo, hi = anatomy.field_box()
    lo, hi = np.maximum(lo, anatomy.fov_lo), np.minimum(hi, anatomy.fov_hi)
    box, empty, x, y, z = box_axes(grid, lo, hi)
    if empty:
        return
    xs, ys = x.ravel(), y.ravel()
    shape = _shape_field(anatomy)
    texture, emphysema, vessel_a, vessel_b = _lung_fields(anatomy, grid, grid_region(grid, lo, hi))
    threshold = float(special.ndtri(1.0 - anatomy.emphysema_fraction))
    y_mid = anatomy.lungs[RIGHT].center[1]
    for start, stop, lo_pad, hi_pad in slabs(box[0].start, box[0].stop):
        zs = z.ravel()[lo_pad - box[0].start : hi_pad - box[0].start]
        zc = zs[:, None, None]
        shift = anatomy.shape_noise_mm * shape.sample(xs, ys, zs)
        levels = [_lung_level(anatomy, side, x, y, zc, shift) for side in (RIGHT, LEFT)]
        base = (
            anatomy.lung_hu
            + anatomy.gravity_hu_per_mm * (y - y_mid)
            + anatomy.texture_hu * texture.sample(xs, ys, zs)
        )
        destroyed = special.ndtr((emphysema.sample(xs, ys, zs) - threshold) / 0.15)
        value = base + destroyed * (EMPHYSEMA_HU - base)
        near = np.minimum(
            *(
                np.sqrt((x - hx) ** 2 + (y - hy) ** 2 + (zc - hz) ** 2)
                for hx, hy, hz in anatomy.hila
            )
        )
        width = anatomy.vessel_width * (1.0 + 1.5 * np.exp(-near / 50.0))
        radial = vessel_a.sample(xs, ys, zs) ** 2 + vessel_b.sample(xs, ys, zs) ** 2
        value += np.exp(-radial / (2.0 * width**2)) * (SMALL_VESSEL_HU - value)
        inner = slice(start - lo_pad, stop - lo_pad)
        target = (slice(start, stop), box[1], box[2])
        for mask, level in zip(lungs, levels, strict=True):
            mask[target] = level[inner] < 0
        paint(image[target], occupancy(np.minimum(*levels), grid)[inner], value[inner])


def _render_tubes(
    anatomy: ChestAnatomy, grid: Grid, image: np.ndarray, lungs: tuple[np.ndarray, np.ndarray]
) -> None:
    """Paint the pulmonary arteries and the airways (wall, then air in the lumen), and take them
    out of the lung masks."""
    for tubes, wall_mm in ((anatomy.arteries, 0.0), (anatomy.airways, AIRWAY_WALL_MM)):
        for tube in tubes:
            box, empty, x, y, z = box_axes(grid, *tube.bounds(wall_mm + 3.0))
            if empty:
                continue
            level = tube.level(x, y, z)
            if wall_mm:
                paint(image[box], occupancy(level - wall_mm, grid), SOFT_TISSUE_HU)
            paint(image[box], occupancy(level, grid), tube.hu)
            for mask in lungs:
                mask[box] &= level >= wall_mm


def render_chest(anatomy: ChestAnatomy, grid: Grid | None = None) -> ChestRendered:
    """Render the chest phantom on ``grid`` (default: its own grid) as its scanner sees it (CT:
    int16 HU -1024..3071; MR: uint16 a.u.), with the masks of :class:`ChestRendered`."""
    grid = grid or anatomy.grid
    shape = grid.size[::-1]
    image = np.empty(shape, np.float32)
    lungs = (np.zeros(shape, bool), np.zeros(shape, bool))
    labels = np.zeros(shape, np.uint8)
    _render_trunk(anatomy, grid, image)
    _render_lungs(anatomy, grid, image, lungs)
    _render_tubes(anatomy, grid, image, lungs)
    ca, cb = anatomy.cavity
    render_tumors(
        anatomy.tumors,
        anatomy.tumor_heterogeneity,
        anatomy.seed,
        (ca - 1.0, cb - 1.0),
        grid,
        image,
        labels,
    )
    for index, side in enumerate(anatomy.tumor_sides):
        lesion = labels == index + 1
        lungs[side][lesion] = True
        lungs[1 - side][lesion] = False
    xs, ys, zs = grid.axes()
    cord = np.broadcast_to(
        column_level(anatomy.cord, xs[None, None, :], ys[None, :, None]) < 0, shape
    )
    heart = np.zeros(shape, bool)
    box, empty, x, y, z = box_axes(grid, *anatomy.heart.bounds(3.0))
    if not empty:
        heart[box] = anatomy.heart.level(x, y, z) < 0
    pixels = anatomy.scanner.acquire(image, grid, anatomy.seed, anatomy.noise_sd)
    return ChestRendered(
        grid,
        pixels,
        lungs[RIGHT].view(np.uint8),
        lungs[LEFT].view(np.uint8),
        heart.view(np.uint8),
        np.ascontiguousarray(cord).view(np.uint8),
        labels,
    )
