"""Tumours of the phantoms, whatever the organ: irregular ellipsoids with a rim, textured viable
tissue and a necrotic core, and the measurement of their longest axial diameter.

``tumor_heterogeneity`` (0..1) drives what a radiologist reads as heterogeneity: coarser, stronger
and patchier texture, a larger necrotic core and a more irregular boundary. The organ's phantom
chooses the intensities (HU) and places the tumours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from survival_core.synthetic.random_fields import (
    Lattice,
    band_pass,
    grid_region,
    iso,
    noise_field,
    slice_profile,
)
from survival_core.synthetic.shapes import (
    Ellipsoid,
    Grid,
    box_axes,
    ellipse2d,
    occupancy,
    paint,
    slabs,
)

#: Lattice step (mm) of the tumour texture fields.
TUMOR_STEP_MM = 1.0
#: Field identifiers of tumour ``i``: this + 3 i + (0 texture, 1 boundary, 2 necrosis patches).
FIELD_TUMOR = 10


@dataclass(frozen=True)
class Tumor:
    """One tumour: irregular ellipsoid with a rim, textured viable tissue and a necrotic core
    reaching ``core_fraction`` of the normalised radius; intensities in HU, lengths in mm."""

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


def _tumor_box(tumor: Tumor) -> tuple[np.ndarray, np.ndarray]:
    """Box (mm) holding the tumour whatever its boundary noise (4 sd of the perturbation)."""
    return tumor.shape.bounds(4.0 * tumor.irregularity * max(tumor.shape.radii) + 2.0)


def _tumor_fields(
    seed: tuple[int, ...], index: int, tumor: Tumor, grid: Grid, region: tuple[np.ndarray, ...]
) -> tuple[Lattice, Lattice, Lattice]:
    """Texture (band-pass, slice-averaged), boundary and necrosis-patch fields of one tumour."""
    lo, hi = _tumor_box(tumor)
    key = FIELD_TUMOR + 3 * index
    mean_radius = float(np.mean(tumor.shape.radii))
    texture = noise_field(
        seed,
        key,
        lo,
        hi,
        TUMOR_STEP_MM,
        band_pass(tumor.texture_mm),
        region,
        slice_profile(grid),
    )
    fields = [texture]
    for offset, sigma in ((1, 0.3 * mean_radius), (2, 0.12 * mean_radius + 1.0)):
        step = max(TUMOR_STEP_MM, sigma / 2.5)
        fields.append(noise_field(seed, key + offset, lo, hi, step, (("low", iso(sigma)),), region))
    return tuple(fields)


def render_tumors(
    tumors: Sequence[Tumor],
    heterogeneity: float,
    seed: tuple[int, ...],
    cavity: tuple[float, float],
    grid: Grid,
    image: np.ndarray,
    labels: np.ndarray,
) -> None:
    """Paint each tumour (rim, textured viable tissue, necrotic core) into the HU ``image`` and
    label its voxels ``i + 1`` in ``labels`` (a voxel keeps the first tumour's label).

    Tumours are clipped to the body cavity, the centred axial ellipse of semi-axes ``cavity``
    (mm); ``seed`` is the anatomy's, whose streams give each tumour its own fields.
    """
    for index, tumor in enumerate(tumors):
        mean_radius = float(np.mean(tumor.shape.radii))
        lo, hi = _tumor_box(tumor)
        box, empty, x, y, z = box_axes(grid, lo, hi)
        if empty:
            continue
        xs, ys = x.ravel(), y.ravel()
        fields = _tumor_fields(seed, index, tumor, grid, grid_region(grid, lo, hi))
        clip = ellipse2d(x, y, *cavity)
        for start, stop, lo_pad, hi_pad in slabs(box[0].start, box[0].stop):
            zs = z.ravel()[lo_pad - box[0].start : hi_pad - box[0].start]
            texture, boundary, patches = (f.sample(xs, ys, zs) for f in fields)
            level = (
                tumor.shape.level(x, y, zs[:, None, None])
                + tumor.irregularity * mean_radius * boundary
            )
            level = np.maximum(level, clip)
            depth = -level
            rim = special.ndtr((tumor.rim_mm - depth) / 0.7)
            necrosis = special.ndtr(
                (depth / mean_radius - (1.0 - tumor.core_fraction) + 0.3 * heterogeneity * patches)
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
            region = labels[target]
            region[(level[inner] < 0) & (region == 0)] = index + 1
            paint(image[target], occupancy(level, grid)[inner], value[inner])


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
