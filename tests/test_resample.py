"""Resampling keeps the physical box, mask volumes and linear intensity ramps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import ConfigError, GeometryError, MaskError
from survival_core.preprocess.resample import (
    AIR_HU,
    Grid,
    check_same_grid,
    grid_for_shape,
    grid_for_spacing,
    resample_image,
    resample_mask,
    resample_to_reference,
)

# A 30 degree rotation about z, so that the origin shift must go through the direction matrix.
_C, _S = np.cos(np.pi / 6), np.sin(np.pi / 6)
ROTATED = (_C, -_S, 0.0, _S, _C, 0.0, 0.0, 0.0, 1.0)
IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def _volume(
    array_zyx: np.ndarray, spacing, origin=(-40.0, 12.5, 100.0), direction=IDENTITY
) -> sitk.Image:
    image = sitk.GetImageFromArray(array_zyx)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(direction)
    return image


def _physical_centres(image: sitk.Image) -> np.ndarray:
    """(z, y, x, 3) physical coordinates (mm) of every voxel centre."""
    size = image.GetSize()
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in size[::-1]], indexing="ij")[::-1], axis=-1)
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    return np.asarray(image.GetOrigin()) + (idx * np.asarray(image.GetSpacing())) @ direction.T


def _box_corners(image: sitk.Image) -> np.ndarray:
    """The 8 corners (mm) of the voxel-edge-to-voxel-edge box, in a fixed order."""
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    spacing, size = np.asarray(image.GetSpacing()), np.asarray(image.GetSize())
    corners = [np.asarray(c) for c in itertools.product(*[(-0.5, n - 0.5) for n in size])]
    return np.array([np.asarray(image.GetOrigin()) + direction @ (c * spacing) for c in corners])


def _ellipsoid(
    spacing=(0.8, 0.8, 4.0), size=(100, 100, 20), semi_axes=(28.0, 22.0, 25.0)
) -> sitk.Image:
    """An ellipsoid mask centred in an 80 mm box, rasterised at voxel centres."""
    image = _volume(np.zeros(size[::-1], np.uint8), spacing, origin=(0.4, 0.4, 2.0))
    centre = np.asarray(size) * np.asarray(spacing) / 2.0
    r = (((_physical_centres(image) - centre) / np.asarray(semi_axes)) ** 2).sum(axis=-1)
    mask = sitk.GetImageFromArray((r <= 1.0).astype(np.uint8))
    mask.CopyInformation(image)
    return mask


def _volume_mm3(mask: sitk.Image) -> float:
    return float(sitk.GetArrayViewFromImage(mask).sum() * np.prod(mask.GetSpacing()))


@pytest.mark.parametrize("direction", [IDENTITY, ROTATED])
@pytest.mark.parametrize(
    ("spacing", "size", "new_spacing"),
    [
        ((0.8, 0.8, 4.0), (50, 40, 10), (1.0, 1.0, 1.0)),
        ((0.7, 0.7, 2.5), (20, 30, 8), (1.4, 1.4, 5.0)),
        ((1.0, 1.0, 1.0), (12, 12, 12), (0.5, 2.0, 3.0)),
    ],
)
def test_resampling_keeps_the_physical_box(direction, spacing, size, new_spacing):
    image = _volume(np.zeros(size[::-1], np.int16), spacing, direction=direction)
    out = resample_image(image, new_spacing)
    assert out.GetSize() == tuple(
        round(n * s / t) for n, s, t in zip(size, spacing, new_spacing, strict=True)
    )
    assert out.GetSpacing() == pytest.approx(new_spacing)
    assert out.GetDirection() == pytest.approx(direction)
    np.testing.assert_allclose(_box_corners(out), _box_corners(image), atol=1e-6)


def test_box_far_edge_moves_less_than_half_a_new_voxel_when_extent_is_not_whole():
    image = _volume(np.zeros((7, 9, 11), np.float32), (0.7, 0.9, 3.0))  # 7.7 x 8.1 x 21 mm
    out = resample_image(image, (1.0, 1.0, 1.0))
    corners_in, corners_out = _box_corners(image), _box_corners(out)
    np.testing.assert_allclose(corners_out[0], corners_in[0], atol=1e-9)  # first edges coincide
    assert np.all(np.abs(corners_out - corners_in) <= 0.5 + 1e-9)


MIRRORED = (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # a feet-first series' axes


def test_box_grid_points_do_not_depend_on_the_storage_order():
    """The same voxels stored mirrored along x and z (a NIfTI of another converter, a feet-first
    DICOM series) resample onto the same physical points with the same values."""
    rng = np.random.default_rng(0)
    image = _volume(rng.normal(size=(7, 9, 11)).astype(np.float32), (0.7, 0.9, 3.0))
    mirrored = sitk.Flip(image, [True, False, True])
    assert mirrored.GetDirection() == pytest.approx(MIRRORED)
    out, out_mirrored = (
        resample_image(image, (1.0, 1.0, 1.0)),
        resample_image(mirrored, (1.0, 1.0, 1.0)),
    )
    points = _physical_centres(out).reshape(-1, 3)
    points_mirrored = _physical_centres(out_mirrored)[::-1, :, ::-1].reshape(-1, 3)
    np.testing.assert_allclose(points_mirrored, points, atol=1e-9)
    np.testing.assert_allclose(
        sitk.GetArrayFromImage(out_mirrored)[::-1, :, ::-1], sitk.GetArrayFromImage(out), atol=1e-5
    )


def test_grid_for_shape_covers_the_box_exactly():
    image = _volume(np.zeros((7, 9, 11), np.float32), (0.7, 0.9, 3.0), direction=ROTATED)
    grid = grid_for_shape(image, (4, 5, 6))
    assert grid.size == (4, 5, 6)
    assert grid.spacing == pytest.approx((11 * 0.7 / 4, 9 * 0.9 / 5, 7 * 3.0 / 6))
    grid_image = sitk.Image(list(grid.size), sitk.sitkUInt8)
    grid_image.SetSpacing(grid.spacing)
    grid_image.SetOrigin(grid.origin)
    grid_image.SetDirection(grid.direction)
    np.testing.assert_allclose(_box_corners(grid_image), _box_corners(image), atol=1e-9)


@pytest.mark.parametrize("method", ["nearest", "linear"])
def test_mask_volume_preserved_within_two_percent(method):
    mask = _ellipsoid()
    out = resample_mask(mask, (1.0, 1.0, 1.0), method)
    assert out.GetPixelID() == sitk.sitkUInt8
    assert set(np.unique(sitk.GetArrayViewFromImage(out))) == {0, 1}
    exact = 4.0 / 3.0 * np.pi * 28.0 * 22.0 * 25.0
    assert _volume_mm3(mask) == pytest.approx(exact, rel=0.02)
    assert _volume_mm3(out) == pytest.approx(_volume_mm3(mask), rel=0.02)


def test_linear_mask_resampling_thresholds_at_half():
    # A 1-D step along z: slices 0..4 inside. Upsampling 4 mm -> 1 mm keeps exactly 20 mm inside.
    array = np.zeros((10, 3, 3), np.uint8)
    array[:5] = 1
    mask = _volume(array, (1.0, 1.0, 4.0))
    out = sitk.GetArrayFromImage(resample_mask(mask, (1.0, 1.0, 1.0), "linear"))
    assert out[:, 1, 1].tolist() == [1] * 20 + [0] * 20


@pytest.mark.parametrize("direction", [IDENTITY, ROTATED])
def test_linear_resampling_reproduces_a_linear_ramp_in_the_interior(direction):
    source = _volume(np.zeros((12, 20, 25), np.float32), (0.8, 0.8, 4.0), direction=direction)
    coefficients = np.array([1.5, -0.75, 2.0])
    ramp = sitk.GetImageFromArray(
        (_physical_centres(source) @ coefficients + 10.0).astype(np.float32)
    )
    ramp.CopyInformation(source)
    out = resample_image(ramp, (1.0, 1.0, 1.0), "linear")
    assert out.GetPixelID() == sitk.sitkFloat32
    expected = _physical_centres(out) @ coefficients + 10.0
    # Interior: voxel centres whose continuous source index lies between the first and last centres.
    direction_m = np.asarray(direction).reshape(3, 3)
    index = ((_physical_centres(out) - np.asarray(source.GetOrigin())) @ direction_m) / np.asarray(
        source.GetSpacing()
    )
    inside = np.all((index >= 0) & (index <= np.asarray(source.GetSize()) - 1), axis=-1)
    assert inside.mean() > 0.7
    np.testing.assert_allclose(sitk.GetArrayViewFromImage(out)[inside], expected[inside], atol=2e-3)


def test_bspline_output_is_float32_and_close_on_smooth_data():
    source = _volume(np.zeros((10, 16, 16), np.float32), (1.0, 1.0, 2.0))
    values = np.sin(_physical_centres(source)[..., 0] / 8.0).astype(np.float32)
    smooth = sitk.GetImageFromArray(values)
    smooth.CopyInformation(source)
    out = resample_image(smooth, (1.0, 1.0, 1.0), "bspline")
    assert out.GetPixelID() == sitk.sitkFloat32
    truth = np.sin(_physical_centres(out)[..., 0] / 8.0)
    assert (
        np.abs(sitk.GetArrayViewFromImage(out)[2:-2, 2:-2, 2:-2] - truth[2:-2, 2:-2, 2:-2]).max()
        < 0.01
    )


def test_resample_to_reference_pads_with_air_or_the_image_minimum():
    image = _volume(np.full((4, 4, 4), 50, np.int16), (1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0))
    reference = _volume(np.zeros((4, 4, 12), np.uint8), (1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0))
    out = sitk.GetArrayFromImage(resample_to_reference(image, reference))
    assert out.shape == (4, 4, 12)
    assert out[:, :, :4].tolist() == np.full((4, 4, 4), 50.0).tolist()
    assert np.all(out[:, :, 6:] == AIR_HU)
    padded_with_min = sitk.GetArrayFromImage(
        resample_to_reference(image, reference, default_value=None)
    )
    assert np.all(padded_with_min[:, :, 6:] == 50.0)


def test_nearest_image_resampling_keeps_values():
    array = np.arange(4 * 4 * 4, dtype=np.int16).reshape(4, 4, 4)
    out = resample_image(_volume(array, (2.0, 2.0, 2.0)), (1.0, 1.0, 1.0), "nearest")
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(out), array.repeat(2, 0).repeat(2, 1).repeat(2, 2)
    )


@pytest.mark.parametrize(
    "spacing", [(1.0, 1.0), (1.0, 0.0, 1.0), (1.0, -2.0, 1.0), (1.0, np.nan, 1.0), "abc"]
)
def test_bad_spacing_is_a_config_error(spacing):
    with pytest.raises(ConfigError, match="spacing"):
        resample_image(_volume(np.zeros((3, 3, 3), np.float32), (1.0, 1.0, 1.0)), spacing)


def test_absurd_grid_is_a_config_error_not_a_memory_error():
    image = _volume(np.zeros((10, 64, 64), np.int16), (0.7, 0.7, 2.5))
    with pytest.raises(ConfigError, match="check the spacing"):
        resample_image(image, (0.005, 0.005, 0.005))


def test_bad_interpolator_and_method_are_config_errors():
    image = _volume(np.zeros((3, 3, 3), np.uint8), (1.0, 1.0, 1.0))
    with pytest.raises(ConfigError, match="cubic"):
        resample_image(image, interpolator="cubic")
    with pytest.raises(ConfigError, match="bspline"):
        resample_mask(image, method="bspline")


def test_non_binary_mask_is_a_mask_error_naming_it():
    labels = _volume(np.array([[[0, 1, 2]]], np.uint8), (1.0, 1.0, 1.0))
    with pytest.raises(MaskError, match="gtv"):
        resample_mask(labels, name="gtv")


def test_check_same_grid_names_the_offending_volume():
    image = _volume(np.zeros((3, 3, 3), np.uint8), (1.0, 1.0, 1.0))
    check_same_grid(
        image, _volume(np.zeros((3, 3, 3), np.uint8), (1.0, 1.0, 1.0)), "The liver mask"
    )
    shifted = _volume(np.zeros((3, 3, 3), np.uint8), (1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0))
    with pytest.raises(GeometryError, match="The liver mask"):
        check_same_grid(image, shifted, "The liver mask")
    assert Grid.of(image) == grid_for_spacing(image, (1.0, 1.0, 1.0))


@pytest.mark.parametrize("direction", [IDENTITY, ROTATED])
def test_centre_alignment_is_ibsi_grid_alignment(direction) -> None:
    """The IBSI CT phantom's grid, 204 x 201 x 60 voxels of 0.977 x 0.977 x 3 mm, to 2 mm: 100 x 99 x
    90 voxels (ceil), whose centre is the old grid's centre."""
    image = _volume(np.zeros((60, 201, 204), np.int16), (0.977, 0.977, 3.0), direction=direction)
    grid = grid_for_spacing(image, (2.0, 2.0, 2.0), align="centre")
    assert grid.size == (100, 99, 90)
    out = resample_image(image, (2.0, 2.0, 2.0), align="centre")
    assert Grid.of(out) == grid
    old_centre = _physical_centres(image).reshape(-1, 3).mean(axis=0)
    new_centre = _physical_centres(out).reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(new_centre, old_centre, atol=1e-6)
    # the box-preserving default rounds instead and keeps the first voxel edge
    assert grid_for_spacing(image, (2.0, 2.0, 2.0)).size == (100, 98, 90)


def test_centre_alignment_keeps_an_unchanged_axis_in_place() -> None:
    image = _volume(np.zeros((60, 5, 5), np.int16), (0.977, 0.977, 3.0))
    grid = grid_for_spacing(image, (2.0, 2.0, 3.0), align="centre")
    assert grid.size[2] == 60 and grid.origin[2] == pytest.approx(image.GetOrigin()[2])
    with pytest.raises(ConfigError, match="alignment"):
        grid_for_spacing(image, (2.0, 2.0, 3.0), align="corner")


@pytest.mark.parametrize("align", ["box", "centre"])
@pytest.mark.parametrize("flip", [False, True])
def test_the_grid_around_a_roi_holds_the_whole_grids_values_there(align: str, flip: bool):
    """Resampling a whole 600 x 600 x 900 CT to 1 mm before cropping to the ROI took over 4 GB.
    The part of the grid around the ROI (with a margin) gets the values the whole grid has there
    (within a float32 ulp: its points are placed to the last bit otherwise; bit for bit on the
    real scans checked), for both alignments and a mirrored scan."""
    from survival_core.preprocess.resample import (
        grid_around,
        resample_image_onto,
        resample_mask_onto,
    )

    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray(rng.normal(0, 100, (30, 40, 50)).astype(np.float32))
    image.SetSpacing((0.7, 0.9, 2.5))
    angle = np.deg2rad(10)
    turn = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    image.SetDirection(tuple((turn @ np.diag([-1 if flip else 1, 1, 1])).ravel()))
    image.SetOrigin((12.0, -30.0, 7.5))
    roi = np.zeros((30, 40, 50), dtype=np.uint8)
    roi[12:15, 18:24, 20:27] = 1
    mask = sitk.GetImageFromArray(roi)
    mask.CopyInformation(image)
    whole = grid_for_spacing(image, (1.0, 1.0, 1.0), align)
    part = grid_around(whole, image, [roi], margin_mm=4.0)
    assert np.prod(part.size) < np.prod(whole.size) / 8
    start = np.rint(
        np.linalg.solve(np.reshape(whole.direction, (3, 3)), np.subtract(part.origin, whole.origin))
    ).astype(int)
    inside = tuple(slice(a, a + n) for a, n in zip(start[::-1], part.size[::-1], strict=True))
    for resample in (
        lambda grid: resample_image_onto(image, grid),
        lambda grid: resample_mask_onto(mask, grid, "linear"),
    ):
        expected = sitk.GetArrayFromImage(resample(whole))[inside]
        # the same points to the last bit of their origin: float32 values within an ulp or two
        got = sitk.GetArrayFromImage(resample(part))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)
    moved = sitk.GetArrayFromImage(resample_mask_onto(mask, whole, "linear"))
    kept = np.zeros_like(moved)
    kept[inside] = 1
    assert not (moved & ~kept.astype(bool)).any()  # the ROI and its margin lie inside the part


def test_a_grid_too_large_to_build_is_refused_when_resampled_onto(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The size limit is checked on the grid built, so a typo in the spacing still cannot fill
    the memory, while describing a whole scan's grid (to crop it to a ROI) costs nothing."""
    from survival_core.preprocess import resample

    image = sitk.GetImageFromArray(np.zeros((10, 20, 30), np.float32))
    monkeypatch.setattr(resample, "MAX_VOXELS", 30 * 20 * 10)
    assert grid_for_spacing(image, (0.5, 0.5, 0.5)).size == (60, 40, 20)  # described, not built
    with pytest.raises(ConfigError, match=r"60 x 40 x 20 voxels .* 48,000 voxels .*spacing"):
        resample_image(image, (0.5, 0.5, 0.5))
