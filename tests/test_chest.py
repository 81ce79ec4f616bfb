"""Tests of the chest phantom: lungs, organs at risk, lung tumours, latent texture and MR."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from survival_core.synthetic.chest import LEFT, RIGHT, make_chest_anatomy, render_chest
from survival_core.synthetic.scanners import MR_SCANNERS, SCANNERS

#: Coarse spacing (mm) that keeps a whole chest small enough for fast tests.
COARSE = (1.6, 1.6, 5.0)


def _anatomy(index: int = 0, damage: float = 0.4, hetero: float = 0.6, diameters=(50.0, 22.0)):
    return make_chest_anatomy((77, index), damage, hetero, diameters, "SIM-CT2")


@pytest.fixture(scope="module")
def case():
    anatomy = replace(_anatomy(), spacing=COARSE)
    return anatomy, render_chest(anatomy)


def test_same_seed_same_anatomy_and_spacing_in_range() -> None:
    assert _anatomy(3) == _anatomy(3) and _anatomy(3) != _anatomy(4)
    sx, sy, sz = _anatomy(5).spacing
    assert sx == sy and 0.7 <= sx <= 1.4 and 2.5 <= sz <= 5.0


def test_masks_are_binary_and_gtv_lies_in_the_lungs(case) -> None:
    anatomy, rendered = case
    for mask in (rendered.lung_right, rendered.lung_left, rendered.heart, rendered.cord):
        assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    assert not (rendered.lung_right & rendered.lung_left).any()
    assert not (rendered.gtv & (1 - rendered.lungs)).any()
    for index, side in enumerate(anatomy.tumor_sides):
        lesion = rendered.lesions == index + 1
        lung = (rendered.lung_right, rendered.lung_left)[side]
        assert lesion.any() and lung[lesion].all()
    assert not (rendered.heart & rendered.lungs).any()
    assert len(anatomy.tumors) == 2 and ndimage.label(rendered.gtv)[1] == 2


def test_anatomy_is_where_it_belongs(case) -> None:
    anatomy, rendered = case
    xs, ys, zs = rendered.grid.axes()
    right_x = xs[np.nonzero(rendered.lung_right)[2]].mean()
    left_x = xs[np.nonzero(rendered.lung_left)[2]].mean()
    assert right_x < -40 and left_x > 40  # patient right is -x in LPS
    volume_ml = rendered.lungs.sum() * np.prod(rendered.grid.spacing) / 1000
    assert 2500 <= volume_ml <= 7000
    heart_x = xs[np.nonzero(rendered.heart)[2]].mean()
    heart_y = ys[np.nonzero(rendered.heart)[1]].mean()
    assert heart_x > 0 and heart_y < anatomy.spine[1] - 40  # left, anterior to the spine
    cord_y = ys[np.nonzero(rendered.cord)[1]].mean()
    assert cord_y > anatomy.spine[1] + anatomy.spine[2]  # behind the vertebral body
    assert rendered.cord.any(axis=(1, 2)).all()  # runs through every slice


def test_tissue_hu(case) -> None:
    anatomy, rendered = case
    image = rendered.image.astype(float)
    lung = image[(rendered.lungs > 0) & (rendered.gtv == 0)]
    assert -880 <= np.median(lung) <= -780
    assert ((lung > -900) & (lung < -700)).mean() > 0.7
    assert 100 <= image[ndimage.binary_erosion(rendered.heart, iterations=2)].mean() <= 170
    core = ndimage.binary_erosion(rendered.lesions == 1, iterations=2)
    assert -80 < image[core].mean() < 120  # solid tumour
    assert image[:, :, :2].mean() < -980  # air beside the body
    assert image[rendered.cord > 0].mean() < 100  # the cord is soft tissue, not bone


def test_a_cropped_render_has_the_same_masks(case) -> None:
    anatomy, rendered = case
    center = np.asarray(anatomy.tumors[0].shape.center)
    box = rendered.grid.index_box(center - 40, center + 40)
    cropped = render_chest(anatomy, rendered.grid.crop(center - 40, center + 40))
    assert np.array_equal(cropped.lesions, rendered.lesions[box])
    assert np.array_equal(cropped.lung_right, rendered.lung_right[box])
    assert np.array_equal(cropped.lung_left, rendered.lung_left[box])


def test_mr_lungs_are_dark_and_masks_unchanged(case) -> None:
    anatomy, rendered = case
    mr = render_chest(replace(anatomy, scanner=MR_SCANNERS["SIM-MR2"], noise_sd=0.02))
    assert mr.image.dtype == np.uint16 and mr.image.min() >= 0
    assert np.array_equal(mr.lungs, rendered.lungs) and np.array_equal(mr.gtv, rendered.gtv)
    image = mr.image.astype(float)
    lung = np.median(image[(mr.lungs > 0) & (mr.gtv == 0)])
    assert lung < 0.25 * image[ndimage.binary_erosion(mr.heart, iterations=2)].mean()


def test_large_tumours_fit_in_a_lung() -> None:
    for index in range(8):
        anatomy = _anatomy(index, diameters=(90.0, 40.0, 30.0))
        for tumor, side in zip(anatomy.tumors, anatomy.tumor_sides, strict=True):
            assert side in (RIGHT, LEFT) and 10.0 <= tumor.diameter_mm <= 90.0
        assert anatomy.tumors[0].diameter_mm > 60.0


def _lung_point(anatomy) -> np.ndarray:
    """A point in the right lung, away from the tumours, the hilum and the diaphragm."""
    lung = anatomy.lungs[RIGHT]
    return np.asarray(lung.center) + np.asarray(lung.radii) * np.array([-0.3, 0.0, 0.35])


def test_latents_drive_lung_and_tumour_texture() -> None:
    """Across phantoms on all scanners, emphysema (lung below -950 HU) tracks the organ damage
    and the spread of HU inside the tumour (a voxel from its edge in 3D, past the partial volume
    with air) tracks its heterogeneity (r > 0.8)."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(20):
        damage, hetero = rng.uniform(0, 1, 2)
        diameter = float(np.clip(np.exp(np.log(38) + rng.normal(0, 0.3)), 20, 70))
        anatomy = make_chest_anatomy(
            (4343, i), damage, hetero, (diameter,), list(SCANNERS)[i % len(SCANNERS)]
        )
        point = _lung_point(anatomy)
        lung = render_chest(anatomy, anatomy.grid.crop(point - 20, point + 20))
        parenchyma = (lung.lungs > 0) & (lung.gtv == 0)
        assert parenchyma.mean() > 0.5
        emphysema = (lung.image[parenchyma] < -950).mean()
        grid = anatomy.grid.crop(*anatomy.tumors[0].shape.bounds(3.0))
        tumor = render_chest(anatomy, grid)
        inside = ndimage.binary_erosion(tumor.gtv, np.ones((3, 3, 3)))
        rows.append((damage, hetero, emphysema, tumor.image[inside].std()))
    damage, hetero, emphysema, texture = np.array(rows).T
    assert np.corrcoef(damage, emphysema)[0, 1] > 0.8
    assert np.corrcoef(hetero, texture)[0, 1] > 0.8
