"""Tests of the abdominal phantom: geometry, HU per tissue, masks, scanner nuisance, latent texture
and its MR appearance."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from survival_core.synthetic.phantom import Grid, make_anatomy, render
from survival_core.synthetic.scanners import MR_SCANNERS, SCANNERS
from survival_core.synthetic.tumors import longest_axial_diameter


def _anatomy(
    index: int = 0,
    damage: float = 0.5,
    hetero: float = 0.5,
    diameters: tuple[float, ...] = (50.0, 25.0),
    scanner: str = "SIM-CT2",
):
    return make_anatomy((99, index), damage, hetero, diameters, scanner)


@pytest.fixture(scope="module")
def case():
    anatomy = _anatomy(0, 0.6, 0.8, (60.0, 25.0))
    return anatomy, render(anatomy)


def _voxel(grid: Grid, point) -> tuple[int, int, int]:
    """(z, y, x) index of the voxel nearest to a point (mm)."""
    idx = np.rint((np.asarray(point) - grid.origin) / grid.spacing).astype(int)
    return int(idx[2]), int(idx[1]), int(idx[0])


def test_spacing_within_ranges_and_square_pixels() -> None:
    for i in range(40):
        sx, sy, sz = _anatomy(i).spacing
        assert sx == sy
        assert 0.7 <= sx <= 1.4
        assert 2.5 <= sz <= 5.0


def test_same_seed_same_image_and_other_seed_differs(case) -> None:
    anatomy, rendered = case
    again = render(_anatomy(0, 0.6, 0.8, (60.0, 25.0)))
    assert np.array_equal(rendered.image, again.image)
    assert np.array_equal(rendered.liver, again.liver)
    other = _anatomy(1, 0.6, 0.8, (60.0, 25.0))
    assert other.fov_lo != anatomy.fov_lo or other.spacing != anatomy.spacing


def test_masks_binary_nonempty_and_gtv_inside_liver(case) -> None:
    anatomy, rendered = case
    for mask in (rendered.liver, rendered.gtv):
        assert mask.dtype == np.uint8
        assert set(np.unique(mask)) == {0, 1}
    assert not (rendered.gtv & (1 - rendered.liver)).any()
    _, count = ndimage.label(rendered.gtv)
    assert count == len(anatomy.tumors) == 2


def test_liver_is_right_anterior_and_sized_realistically(case) -> None:
    anatomy, rendered = case
    grid = rendered.grid
    z, y, x = np.nonzero(rendered.liver)
    xs, ys, zs = grid.axes()
    assert xs[x].mean() < -20  # patient right is -x in LPS
    assert ys[y].mean() < anatomy.spine[1] - 30  # anterior to the spine
    extent_lr = xs[x].max() - xs[x].min() + grid.spacing[0]
    assert 115 <= extent_lr <= 175
    volume_ml = rendered.liver.sum() * np.prod(grid.spacing) / 1000
    assert 500 <= volume_ml <= 2000


def test_tissue_hu(case) -> None:
    anatomy, rendered = case
    image = rendered.image.astype(float)
    grid = rendered.grid
    parenchyma = (rendered.liver > 0) & (rendered.gtv == 0)
    liver_mean = image[parenchyma].mean()
    assert 60 <= liver_mean <= 95  # late arterial phase: mildly enhanced (unenhanced 55-65)
    gtv = rendered.gtv > 0
    shell = gtv & ~ndimage.binary_erosion(gtv, np.ones((1, 5, 5)))
    assert image[shell].mean() > liver_mean + 20  # arterial-phase rim enhancement
    assert image[parenchyma].max() > 140  # enhanced vessels
    center = _voxel(grid, anatomy.tumors[0].shape.center)
    assert (
        image[center[0], center[1] - 2 : center[1] + 3, center[2] - 2 : center[2] + 3].mean() < 60
    )
    a, _ = anatomy.body_radii
    air = image[:, :, :2]
    assert abs(air.mean() - (-1000 + anatomy.scanner.hu_offset)) < 5
    z_mid = grid.size[2] // 2
    fat = _voxel(grid, (-a + anatomy.fat_mm / 2, 0.0, 0.0))
    muscle = _voxel(grid, (-a + anatomy.fat_mm + anatomy.muscle_mm / 2, 0.0, 0.0))
    assert -130 < image[:, fat[1] - 2 : fat[1] + 3, fat[2]].mean() < -60
    assert 20 < image[z_mid, muscle[1] - 2 : muscle[1] + 3, muscle[2]].mean() < 80
    spine = image[:, -3:, :].max()
    assert spine > 400  # the vertebral body reaches into the field of view


@pytest.mark.parametrize("scanner", list(SCANNERS))
def test_scanner_noise_level(scanner: str) -> None:
    anatomy = _anatomy(3, scanner=scanner)
    a = anatomy.body_radii[0]
    grid = Grid.covering((-a - 80.0, -40.0, 0.0), (-a - 10.0, 40.0, 20.0), anatomy.spacing)
    air = render(anatomy, grid).image.astype(float)  # a grid beside the body: only air
    assert air.std() == pytest.approx(anatomy.noise_sd, rel=0.12)
    assert 8 <= anatomy.noise_sd <= 20


def test_changing_spacing_keeps_the_anatomy() -> None:
    anatomy = _anatomy(5, 0.3, 0.6, (45.0,))
    fine = render(replace(anatomy, spacing=(0.7, 0.7, 2.5)))
    coarse = render(replace(anatomy, spacing=(1.4, 1.4, 5.0)))

    def volume(mask, grid):
        return mask.sum() * np.prod(grid.spacing)

    liver_ml = volume(fine.liver, fine.grid)
    assert volume(coarse.liver, coarse.grid) == pytest.approx(liver_ml, rel=0.03)
    assert volume(coarse.gtv, coarse.grid) == pytest.approx(volume(fine.gtv, fine.grid), rel=0.08)
    parenchyma = [(r.liver > 0) & (r.gtv == 0) for r in (fine, coarse)]
    means = [r.image[p].mean() for r, p in zip((fine, coarse), parenchyma, strict=True)]
    assert means[0] == pytest.approx(means[1], abs=3)


def test_a_cropped_render_has_the_same_masks(case) -> None:
    anatomy, rendered = case
    center = np.asarray(anatomy.tumors[0].shape.center)
    box = rendered.grid.index_box(center - 35, center + 35)
    cropped = render(anatomy, rendered.grid.crop(center - 35, center + 35))
    assert np.array_equal(cropped.liver, rendered.liver[box])
    assert np.array_equal(cropped.gtv, rendered.gtv[box])


def test_measured_diameter_matches_design(case) -> None:
    anatomy, rendered = case
    measured = longest_axial_diameter(rendered.gtv, rendered.grid.spacing)
    assert measured == pytest.approx(anatomy.tumors[0].diameter_mm, rel=0.15)


def test_longest_axial_diameter_of_a_disc() -> None:
    z, y, x = np.mgrid[0:3, 0:120, 0:120]
    disc = ((x - 60) ** 2 + (y - 60) ** 2 <= 40**2).astype(np.uint8)  # 80 px = 40 mm at 0.5 mm
    disc[:, :5, :5] = 1  # a small second component is ignored
    assert longest_axial_diameter(disc, (0.5, 0.5, 3.0)) == pytest.approx(40.5, abs=0.6)
    assert longest_axial_diameter(np.zeros((2, 4, 4), np.uint8), (1, 1, 1)) == 0.0


def _iso_1mm(grid: Grid, array: np.ndarray, interpolator) -> np.ndarray:
    image = grid.image(array)
    size = [int(round(n * s)) for n, s in zip(image.GetSize(), image.GetSpacing(), strict=True)]
    resampled = sitk.Resample(
        image,
        size,
        sitk.Transform(),
        interpolator,
        image.GetOrigin(),
        (1.0, 1.0, 1.0),
        image.GetDirection(),
        0,
        image.GetPixelID(),
    )
    return sitk.GetArrayFromImage(resampled)


def _band_pass_spread(grid: Grid, image: np.ndarray, roi: np.ndarray) -> float:
    """Robust sd (IQR / 1.349) of the 1.5-4 mm band-pass image in the eroded ROI, at 1 mm."""
    iso = _iso_1mm(grid, image.astype(np.float32), sitk.sitkLinear)
    mask = ndimage.binary_erosion(
        _iso_1mm(grid, roi.astype(np.uint8), sitk.sitkNearestNeighbor), iterations=2
    )
    band = ndimage.gaussian_filter(iso, 1.5) - ndimage.gaussian_filter(iso, 4.0)
    q25, q75 = np.percentile(band[mask], [25, 75])
    return (q75 - q25) / 1.349


def _parenchyma_point(anatomy) -> np.ndarray:
    """A point in the right lobe far from the tumours."""
    lobe = anatomy.lobes[0]
    candidates = [
        np.asarray(lobe.center) + np.asarray(lobe.radii) * np.asarray(u)
        for u in [
            (0, 0, 0),
            (-0.4, 0, 0),
            (0, -0.4, 0),
            (0, 0.4, 0),
            (0, 0, 0.4),
            (0, 0, -0.4),
            (-0.4, 0.3, 0.2),
            (-0.3, -0.3, -0.3),
        ]
    ]

    def clearance(point):
        return min(
            np.linalg.norm(point - t.shape.center) - max(t.shape.radii) for t in anatomy.tumors
        )

    return max(candidates, key=clearance)


def test_latents_dominate_texture() -> None:
    """Across 100 phantoms on all scanners and spacings, a simple texture statistic on the
    liver (minus GTV) and on the GTV tracks liver_damage and tumor_heterogeneity (|r| > 0.8)."""
    rng = np.random.default_rng(2024)
    rows = []
    for i in range(100):
        damage, hetero = rng.uniform(0, 1, 2)
        diameter = float(np.clip(np.exp(np.log(38) + rng.normal(0, 0.42)), 12, 95))
        anatomy = make_anatomy((4242, i), damage, hetero, (diameter,), list(SCANNERS)[i % 4])
        point = _parenchyma_point(anatomy)
        grid = anatomy.grid.crop(point - 20, point + 20)
        liver = render(anatomy, grid)
        liver_stat = _band_pass_spread(grid, liver.image, liver.liver & (1 - liver.gtv))
        grid = anatomy.grid.crop(*anatomy.tumors[0].shape.bounds(3.0))
        tumor = render(anatomy, grid)
        tumor_stat = _band_pass_spread(grid, tumor.image, tumor.gtv)
        rows.append((damage, hetero, liver_stat, tumor_stat, anatomy.noise_sd))
    damage, hetero, liver_stat, tumor_stat, noise = np.array(rows).T
    assert np.corrcoef(damage, liver_stat)[0, 1] > 0.8
    assert np.corrcoef(hetero, tumor_stat)[0, 1] > 0.8
    assert abs(np.corrcoef(noise, liver_stat)[0, 1]) < 0.4
    assert abs(np.corrcoef(noise, tumor_stat)[0, 1]) < 0.4


def test_mr_render_has_the_same_anatomy_and_t1_contrast(case) -> None:
    """The same patient on an MR scanner: identical masks, T1-like contrast in arbitrary units."""
    anatomy, rendered = case
    mr = render(replace(anatomy, scanner=MR_SCANNERS["SIM-MR1"], noise_sd=0.02))
    assert mr.image.dtype == np.uint16
    assert np.array_equal(mr.liver, rendered.liver) and np.array_equal(mr.gtv, rendered.gtv)
    image = mr.image.astype(float)
    parenchyma = (mr.liver > 0) & (mr.gtv == 0)
    liver = np.median(image[parenchyma])
    a, _ = anatomy.body_radii
    grid = mr.grid
    fat = _voxel(grid, (-a + anatomy.fat_mm / 2, 0.0, 0.0))
    muscle = _voxel(grid, (-a + anatomy.fat_mm + anatomy.muscle_mm / 2, 0.0, 0.0))
    z_mid = grid.size[2] // 2
    fat_signal = image[z_mid, fat[1] - 2 : fat[1] + 3, fat[2]].mean()
    assert fat_signal > 1.3 * image[z_mid, muscle[1] - 2 : muscle[1] + 3, muscle[2]].mean()
    bile = _voxel(grid, anatomy.gallbladder.center)
    assert image[bile[0], bile[1] - 2 : bile[1] + 3, bile[2] - 2 : bile[2] + 3].mean() < 0.5 * liver
    assert image[:, :, :2].mean() < 0.15 * liver  # air: only the noise floor
