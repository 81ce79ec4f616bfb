"""Z-scores and Nyul-Udupa histogram standardisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from survival_core.errors import ConfigError, GeometryError, InputError, MaskError
from survival_core.preprocess.intensity import DEFAULT_PERCENTILES, NyulStandardizer, zscore


def _mr_like(seed: int, shape=(8, 32, 32)) -> tuple[np.ndarray, np.ndarray]:
    """A skewed 'tissue' intensity distribution with a mask covering its central part."""
    rng = np.random.default_rng(seed)
    image = rng.gamma(shape=3.0 + seed % 3, scale=40.0, size=shape)
    mask = np.zeros(shape, bool)
    mask[:, 4:28, 4:28] = True
    return image, mask


def test_zscore_uses_mask_statistics():
    array = np.array([[1.0, 2.0, 3.0, 100.0]])
    mask = np.array([[True, True, True, False]])
    out = zscore(array, mask)
    assert out.dtype == np.float32
    sd = np.std([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out, (array - 2.0) / sd, rtol=1e-6)
    assert out[mask].mean() == pytest.approx(0.0, abs=1e-6)
    assert out[mask].std() == pytest.approx(1.0, rel=1e-6)


def test_zscore_without_mask_uses_all_voxels():
    array = np.random.default_rng(0).normal(50, 7, size=(4, 5, 6))
    out = zscore(array)
    assert out.mean() == pytest.approx(0.0, abs=1e-5)
    assert out.std() == pytest.approx(1.0, rel=1e-5)


def test_zscore_constant_region_gives_zeros():
    out = zscore(np.array([[5.0, 5.0, 9.0]]), np.array([[True, True, False]]))
    assert out.tolist() == [[0.0, 0.0, 0.0]]
    assert np.all(np.isfinite(out))


def test_zscore_empty_mask_and_shape_mismatch():
    with pytest.raises(MaskError, match="empty"):
        zscore(np.ones((2, 2)), np.zeros((2, 2), bool))
    with pytest.raises(GeometryError, match="shape"):
        zscore(np.ones((2, 2)), np.ones((2, 3), bool))


@pytest.fixture
def fitted() -> NyulStandardizer:
    return NyulStandardizer().fit([_mr_like(seed) for seed in range(4)])


def test_standard_landmarks_are_monotone_and_span_the_standard_range(fitted):
    landmarks = fitted.landmarks_
    assert landmarks.shape == (len(DEFAULT_PERCENTILES),)
    assert np.all(np.diff(landmarks) > 0)
    assert landmarks[0] == pytest.approx(0.0)
    assert landmarks[-1] == pytest.approx(100.0)


@pytest.mark.parametrize(("scale", "offset"), [(1.0, 0.0), (2.5, -300.0), (0.1, 1000.0)])
def test_affine_intensity_changes_map_to_the_same_standard_scale(fitted, scale, offset):
    image, mask = _mr_like(7)
    reference = fitted.transform(image, mask)
    changed = fitted.transform(scale * image + offset, mask)
    np.testing.assert_allclose(changed, reference, atol=1e-3)
    measured = np.percentile(reference[mask], DEFAULT_PERCENTILES)
    np.testing.assert_allclose(measured, fitted.landmarks_, atol=1e-3)


def test_transform_is_monotone_and_extrapolates_linearly(fitted):
    image, mask = _mr_like(5)
    image = image.copy()
    image[0, 0, :3] = [-500.0, -1000.0, 5000.0]  # outside the mask, beyond the landmarks
    out = fitted.transform(image, mask)
    order = np.argsort(image, axis=None)
    assert np.all(np.diff(out.ravel()[order]) >= -1e-4)
    source = np.percentile(image[mask], DEFAULT_PERCENTILES)
    target = fitted.landmarks_
    slope = (target[1] - target[0]) / (source[1] - source[0])
    assert out[0, 0, 0] == pytest.approx(target[0] + (-500.0 - source[0]) * slope, rel=1e-4)


def test_tied_landmarks_are_merged_not_a_crash(fitted):
    image = np.concatenate([np.zeros(600), np.linspace(1, 100, 400)])  # >50 % of voxels at 0
    out = fitted.transform(image)
    assert np.all(np.isfinite(out))
    assert np.all(np.diff(out) >= -1e-4)


def test_round_trip_through_json(fitted):
    saved = json.loads(json.dumps(fitted.to_dict()))
    loaded = NyulStandardizer.from_dict(saved)
    image, mask = _mr_like(9)
    np.testing.assert_array_equal(loaded.transform(image, mask), fitted.transform(image, mask))


def test_bad_saved_dict_is_a_config_error(fitted):
    saved = fitted.to_dict()
    with pytest.raises(ConfigError):
        NyulStandardizer.from_dict({k: v for k, v in saved.items() if k != "landmarks"})
    with pytest.raises(ConfigError, match="non-decreasing"):
        NyulStandardizer.from_dict({**saved, "landmarks": saved["landmarks"][::-1]})


@pytest.mark.parametrize(
    ("percentiles", "standard_range"),
    [((50,), (0, 100)), ((10, 5, 90), (0, 100)), ((1, 99, 101), (0, 100)), ((1, 99), (100, 0))],
)
def test_bad_settings_are_config_errors(percentiles, standard_range):
    with pytest.raises(ConfigError):
        NyulStandardizer(percentiles, standard_range)


def test_unfitted_constant_and_empty_inputs():
    with pytest.raises(ConfigError, match="fitted"):
        NyulStandardizer().transform(np.arange(10.0))
    with pytest.raises(InputError, match="constant"):
        NyulStandardizer().fit([(np.full((4, 4), 3.0), None)])
    with pytest.raises(InputError, match="at least one"):
        NyulStandardizer().fit([])


def _shaded(size: tuple[int, int, int] = (32, 32, 8)):
    """A uniform block whose intensity doubles from one side to the other (coil shading), in air."""
    import SimpleITK as sitk

    z, y, x = np.indices(size[::-1])
    values = np.where((x > 3) & (x < size[0] - 4), 100.0 * (1.0 + x / size[0]), 0.0)
    image = sitk.GetImageFromArray(values.astype(np.float32))
    return image, sitk.GetImageFromArray(((values > 0) * 255).astype(np.uint8))


def test_bias_correction_treats_any_nonzero_mask_voxel_as_inside():
    """A 0/255 mask (as many tools save one) left N4 with no voxel of label 1: nothing corrected."""
    import SimpleITK as sitk

    from survival_core.preprocess.intensity import n4_bias_correct

    image, mask = _shaded()
    inside = sitk.GetArrayViewFromImage(mask) > 0
    spread = [
        np.std(values[inside]) / np.mean(values[inside])
        for values in (
            sitk.GetArrayFromImage(image),
            sitk.GetArrayFromImage(n4_bias_correct(image, mask)),
            sitk.GetArrayFromImage(n4_bias_correct(image, mask > 0)),
        )
    ]
    assert spread[1] < 0.6 * spread[0]
    assert spread[1] == pytest.approx(spread[2], rel=1e-6)


def test_bias_correction_refuses_a_mask_off_the_image_grid():
    import SimpleITK as sitk

    from survival_core.preprocess.intensity import n4_bias_correct

    image, mask = _shaded()
    mask.SetSpacing((2.0, 2.0, 2.0))
    with pytest.raises(GeometryError, match="bias-field correction mask is not on the image grid"):
        n4_bias_correct(image, mask)
    with pytest.raises(GeometryError, match="not on the image grid"):
        n4_bias_correct(image, sitk.Shrink(mask, (2, 2, 2)))
