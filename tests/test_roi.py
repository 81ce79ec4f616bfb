"""Derived ROIs, bounding boxes, cropping and resizing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import ConfigError, GeometryError, MaskError
from survival_core.preprocess.roi import (
    bounding_box,
    crop_to_roi,
    organ_minus_gtv,
    peritumoral_ring,
    resize_to_shape,
)

SPACING = (1.0, 1.0, 2.5)  # mm, x y z
SIZE = (60, 60, 24)  # voxels, x y z
CENTRE = (30, 30, 12)  # voxel index of the tumour centre, x y z
GTV_RADIUS = 8.0  # mm


def _on_grid(array_zyx: np.ndarray, dtype=np.uint8) -> sitk.Image:
    image = sitk.GetImageFromArray(array_zyx.astype(dtype))
    image.SetSpacing(SPACING)
    image.SetOrigin((-20.0, 35.0, -300.0))
    return image


def _distance_from_centre_mm() -> np.ndarray:
    z, y, x = np.indices(SIZE[::-1])
    offsets = [
        (x - CENTRE[0]) * SPACING[0],
        (y - CENTRE[1]) * SPACING[1],
        (z - CENTRE[2]) * SPACING[2],
    ]
    return np.sqrt(sum(o**2 for o in offsets))


def _sphere(radius: float) -> sitk.Image:
    return _on_grid(_distance_from_centre_mm() <= radius)


def _box(x=(0, 60), y=(0, 60), z=(0, 24)) -> sitk.Image:
    array = np.zeros(SIZE[::-1], bool)
    array[z[0] : z[1], y[0] : y[1], x[0] : x[1]] = True
    return _on_grid(array)


def _voxels(mask: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(mask).astype(bool)


def test_organ_minus_gtv():
    liver, gtv = _sphere(20.0), _sphere(GTV_RADIUS)
    out = organ_minus_gtv(liver, gtv)
    assert out.GetPixelID() == sitk.sitkUInt8 and out.GetSpacing() == SPACING
    np.testing.assert_array_equal(_voxels(out), _voxels(liver) & ~_voxels(gtv))
    assert _voxels(out).sum() == _voxels(liver).sum() - _voxels(gtv).sum()


def test_liver_minus_gtv_errors():
    with pytest.raises(MaskError, match="covers the whole organ"):
        organ_minus_gtv(_sphere(GTV_RADIUS), _sphere(GTV_RADIUS))
    with pytest.raises(MaskError, match="GTV mask is empty"):
        organ_minus_gtv(_sphere(20.0), _box(x=(0, 0)))
    shifted = _sphere(GTV_RADIUS)
    shifted.SetOrigin((0.0, 0.0, 0.0))
    with pytest.raises(GeometryError, match="GTV"):
        organ_minus_gtv(_sphere(20.0), shifted)


@pytest.mark.parametrize("distance_mm", [3.0, 5.0, 10.0])
def test_ring_is_outside_the_gtv_and_has_the_right_thickness(distance_mm):
    gtv = _sphere(GTV_RADIUS)
    ring = _voxels(peritumoral_ring(gtv, distance_mm))
    assert not np.any(ring & _voxels(gtv))
    radius = _distance_from_centre_mm()
    assert radius[ring].max() == pytest.approx(GTV_RADIUS + distance_mm, abs=max(SPACING))
    assert radius[ring].min() > GTV_RADIUS
    # Along x (1 mm voxels) the ring is distance_mm voxels thick; along z (2.5 mm) floor(d / 2.5).
    cx, cy, cz = CENTRE
    assert ring[cz, cy, cx:].sum() == int(distance_mm)
    assert ring[cz:, cy, cx].sum() == int(distance_mm // SPACING[2])
    # Everything within distance_mm of the GTV and outside it is in the ring (nothing missed).
    gtv_points = np.argwhere(_voxels(gtv)) * np.asarray(SPACING[::-1])
    ring_like = np.argwhere(~_voxels(gtv) & (radius <= GTV_RADIUS + distance_mm + 3))
    near = [
        tuple(p)
        for p in ring_like
        if np.min(np.linalg.norm(gtv_points - p * np.asarray(SPACING[::-1]), axis=1)) <= distance_mm
    ]
    assert sorted(near) == sorted(map(tuple, np.argwhere(ring)))


def test_ring_is_clipped_to_the_liver():
    gtv = _sphere(GTV_RADIUS)
    liver = _box(x=(0, 36))  # cuts through the ring on the +x side
    free = _voxels(peritumoral_ring(gtv, 5.0))
    clipped = _voxels(peritumoral_ring(gtv, 5.0, clip_to=liver))
    assert np.any(free & ~_voxels(liver))
    assert not np.any(clipped & ~_voxels(liver))
    np.testing.assert_array_equal(clipped, free & _voxels(liver))


def test_ring_errors():
    gtv = _sphere(GTV_RADIUS)
    for bad in (0.0, -2.0, float("nan"), "5"):
        with pytest.raises(ConfigError, match="positive number of mm"):
            peritumoral_ring(gtv, bad)
    with pytest.raises(MaskError, match="ring is empty"):
        peritumoral_ring(gtv, 5.0, clip_to=gtv)
    with pytest.raises(MaskError, match="GTV"):
        peritumoral_ring(_box(x=(0, 0)), 5.0)


def test_ring_at_the_image_edge():
    corner = _box(x=(0, 2), y=(0, 2), z=(0, 1))
    ring = _voxels(peritumoral_ring(corner, 2.0))
    assert ring.sum() > 0 and not np.any(ring & _voxels(corner))
    assert (
        ring[0, 0, 2:].sum() == 2 and ring[1:, 0, 0].sum() == 0
    )  # 2.5 mm slices: none within 2 mm


@pytest.mark.parametrize(
    ("margin_mm", "start", "size"),
    [
        (0.0, (20, 25, 10), (11, 6, 3)),
        (3.0, (17, 22, 8), (17, 12, 7)),  # 3 mm = 3 voxels in-plane, ceil(3 / 2.5) = 2 slices
        (2.5, (17, 22, 9), (17, 12, 5)),  # 3 voxels in-plane, exactly one slice
        (100.0, (0, 0, 0), SIZE),  # clipped to the image
    ],
)
def test_bounding_box(margin_mm, start, size):
    mask = _box(x=(20, 31), y=(25, 31), z=(10, 13))
    assert bounding_box(mask, margin_mm) == (start, size)


def test_bounding_box_errors():
    with pytest.raises(MaskError, match="liver"):
        bounding_box(_box(x=(0, 0)), 0.0, name="liver")
    for bad in (-1.0, float("inf"), None):
        with pytest.raises(ConfigError, match="margin"):
            bounding_box(_box(), bad)


def test_crop_keeps_the_roi_and_the_margin_in_place():
    image = _on_grid(np.random.default_rng(0).normal(size=SIZE[::-1]), np.float32)
    liver, gtv = _sphere(20.0), _sphere(GTV_RADIUS)
    cropped, masks = crop_to_roi(image, {"organ": liver, "gtv": gtv}, "gtv", margin_mm=5.0)
    assert set(masks) == {"organ", "gtv"}
    assert all(m.GetSize() == cropped.GetSize() for m in masks.values())
    assert _voxels(masks["gtv"]).sum() == _voxels(gtv).sum()
    # The tumour spans +-8 voxels in x/y and +-3 slices; margin 5 mm adds 5 voxels and 2 slices.
    assert cropped.GetSize() == (2 * 8 + 1 + 10, 2 * 8 + 1 + 10, 2 * 3 + 1 + 4)
    gtv_in_crop = np.argwhere(_voxels(masks["gtv"]))
    assert gtv_in_crop.min(axis=0).tolist() == [2, 5, 5] and (
        np.asarray(cropped.GetSize()[::-1]) - 1 - gtv_in_crop.max(axis=0)
    ).tolist() == [2, 5, 5]
    # Same physical place: voxel (0,0,0) of the crop is the original voxel at the box start.
    start = bounding_box(gtv, 5.0)[0]
    assert cropped.GetOrigin() == pytest.approx(image.TransformIndexToPhysicalPoint(start))
    original = sitk.GetArrayViewFromImage(image)
    np.testing.assert_array_equal(
        sitk.GetArrayViewFromImage(cropped),
        original[start[2] : start[2] + 11, start[1] : start[1] + 27, start[0] : start[0] + 27],
    )


def test_crop_errors():
    image = _on_grid(np.zeros(SIZE[::-1]), np.float32)
    with pytest.raises(MaskError, match="'gtv'"):
        crop_to_roi(image, {"organ": _sphere(20.0)}, "gtv", 5.0)
    with pytest.raises(MaskError, match="gtv"):
        crop_to_roi(image, {"gtv": _box(x=(0, 0))}, "gtv", 5.0)


def _corners(image: sitk.Image) -> np.ndarray:
    return np.array(
        [
            image.TransformContinuousIndexToPhysicalPoint([float(c) for c in corner])
            for corner in itertools.product(*[(-0.5, n - 0.5) for n in image.GetSize()])
        ]
    )


@pytest.mark.parametrize(
    ("shape", "volume_rel"),
    [((32, 32, 16), 0.05), ((224, 224, 48), 0.02), ((17, 40, 5), None)],  # last: 30 mm slices
)
def test_resize_gives_the_exact_shape_over_the_same_box(shape, volume_rel):
    image = _on_grid(np.random.default_rng(1).normal(size=SIZE[::-1]), np.int16)
    resized, masks = resize_to_shape(
        image, shape, masks={"organ": _sphere(20.0), "gtv": _sphere(GTV_RADIUS)}
    )
    assert resized.GetSize() == shape and resized.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_allclose(_corners(resized), _corners(image), atol=1e-6)
    for mask in masks.values():
        assert mask.GetSize() == shape and mask.GetPixelID() == sitk.sitkUInt8
        assert set(np.unique(sitk.GetArrayViewFromImage(mask))) == {0, 1}
    if volume_rel is not None:
        liver_mm3 = _voxels(masks["organ"]).sum() * np.prod(masks["organ"].GetSpacing())
        assert liver_mm3 == pytest.approx(
            _voxels(_sphere(20.0)).sum() * np.prod(SPACING), rel=volume_rel
        )


def test_resize_without_masks():
    resized, masks = resize_to_shape(_on_grid(np.zeros(SIZE[::-1]), np.float32), (10, 10, 10))
    assert resized.GetSize() == (10, 10, 10) and masks == {}


def test_resize_names_a_vanishing_mask():
    image = _on_grid(np.zeros(SIZE[::-1]), np.float32)
    speck = _box(x=(31, 32), y=(31, 32), z=(12, 13))  # one voxel off every output centre
    with pytest.raises(MaskError, match="'gtv'.*disappears"):
        resize_to_shape(image, (6, 6, 4), masks={"gtv": speck})
    with pytest.raises(MaskError, match="organ"):
        resize_to_shape(image, (6, 6, 4), masks={"organ": _box(x=(0, 0))})
    with pytest.raises(ConfigError, match="shape"):
        resize_to_shape(image, (6, 6))
