"""Trunk structures shared by the abdominal and chest phantoms: body wall, vertebral column and
vertical tubes (aorta, vena cava, oesophagus, spinal canal), in patient mm and HU.

The trunk is an elliptic cylinder along z centred on the z axis: subcutaneous fat, then muscle,
then the body cavity that each phantom fills with its own contents.
"""

from __future__ import annotations

import numpy as np

from survival_core.synthetic.shapes import Grid, box_axes, ellipse2d, occupancy, paint

AIR_HU = -1000.0
FAT_HU = -100.0
MUSCLE_HU = 50.0
CANCELLOUS_HU = 380.0
CORTICAL_HU = 700.0
DISC_HU = 90.0
#: Craniocaudal period (mm) of vertebrae and half the height of an intervertebral disc.
VERTEBRA_MM = 30.0
DISC_HALF_MM = 4.0


def wall(
    grid: Grid, body_radii: tuple[float, float], fat_mm: float, muscle_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """The body wall in HU (air outside, subcutaneous fat, muscle; 0 inside the cavity) and the
    cavity's occupancy, both (1, y, x) arrays on ``grid``'s plane."""
    xs, ys, _ = grid.axes()
    x, y = xs[None, None, :], ys[None, :, None]
    a, b = body_radii
    outer = occupancy(ellipse2d(x, y, a, b), grid)
    inner_fat = occupancy(ellipse2d(x, y, a - fat_mm, b - fat_mm), grid)
    inset = fat_mm + muscle_mm
    cavity = occupancy(ellipse2d(x, y, a - inset, b - inset), grid)
    hu = (AIR_HU + outer * (FAT_HU - AIR_HU) + inner_fat * (MUSCLE_HU - FAT_HU)) * (1.0 - cavity)
    return hu, cavity


def paint_spine(
    image: np.ndarray, grid: Grid, spine: tuple[float, float, float], disc_phase_mm: float
) -> None:
    """Paint the vertebral bodies, a cylinder at (x, y, radius) mm with a cortical shell, broken
    every :data:`VERTEBRA_MM` by an intervertebral disc."""
    sx, sy, sr = spine
    box, empty, x, y, z = box_axes(
        grid, (sx - sr - 3, sy - sr - 3, -1e9), (sx + sr + 3, sy + sr + 3, 1e9)
    )
    if empty:
        return
    radial = np.sqrt((x - sx) ** 2 + (y - sy) ** 2)
    bone = occupancy(radial - sr, grid)
    cortex = 1.0 - occupancy(radial - sr + 1.8, grid)
    period = VERTEBRA_MM
    disc_level = np.abs(np.mod(z - disc_phase_mm, period) - period / 2) - DISC_HALF_MM
    disc = occupancy(np.broadcast_to(disc_level, (z.shape[0], 1, 1)).astype(np.float32), grid)
    bone_hu = CANCELLOUS_HU + cortex * (CORTICAL_HU - CANCELLOUS_HU)
    value = (1.0 - disc) * bone_hu + disc * DISC_HU
    paint(image[box], bone, value)


def column_level(column: tuple[float, float, float], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed distance (mm) to a vertical cylinder at (x, y, radius) mm."""
    cx, cy, r = column
    return np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r


def paint_column(
    image: np.ndarray, grid: Grid, column: tuple[float, float, float], hu: float
) -> None:
    """Paint a vertical cylinder at (x, y, radius) mm with ``hu``."""
    cx, cy, r = column
    box, empty, x, y, _ = box_axes(
        grid, (cx - r - 3, cy - r - 3, -1e9), (cx + r + 3, cy + r + 3, 1e9)
    )
    if not empty:
        paint(image[box], occupancy(column_level(column, x, y), grid), hu)
