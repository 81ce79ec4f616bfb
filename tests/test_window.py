"""CT window presets (every value checked) and their application; percentile windows for MR."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import ConfigError
from survival_core.preprocess.window import (
    PERCENTILE_SAMPLE,
    PERCENTILE_WINDOWS,
    WINDOW_PRESETS,
    Window,
    apply_window,
    get_window,
    has_hu,
    percentile_window,
    to_display_uint8,
)

# (name, level, width, low, high) in HU, written out by hand from the radiology standards and seeds.
PRESET_TABLE = [
    ("arterial", 70, 150, -5, 145),
    ("portal", 100, 200, 0, 200),
    ("lung", -600, 1500, -1350, 150),
    ("mediastinum", 50, 350, -125, 225),
    ("abdomen", 50, 400, -150, 250),
    ("soft tissue", 40, 400, -160, 240),
    ("liver", 30, 150, -45, 105),
    ("bone", 400, 1800, -500, 1300),
    ("brain", 40, 80, 0, 80),
]


@pytest.mark.parametrize(("name", "level", "width", "low", "high"), PRESET_TABLE)
def test_preset_values(name, level, width, low, high):
    window = WINDOW_PRESETS[name]
    assert (window.level, window.width) == (level, width)
    assert (window.low, window.high) == (low, high)
    assert get_window(name) is window


def test_preset_table_is_complete():
    assert sorted(WINDOW_PRESETS) == sorted(row[0] for row in PRESET_TABLE)


@pytest.mark.parametrize(
    ("level", "width"),
    [(40, 0), (40, -10), (40, float("nan")), (40, float("inf")), ("40", 80), (float("nan"), 80)],
)
def test_window_needs_a_finite_level_and_positive_width(level, width):
    with pytest.raises(ConfigError, match="positive width"):
        Window(level, width)


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ConfigError, match="abdomen"):
        get_window("spine")


@pytest.mark.parametrize(
    ("hu", "expected"),
    [
        (-1000.0, 0.0),
        (-150.0, 0.0),
        (-50.0, 0.25),
        (50.0, 0.5),
        (150.0, 0.75),
        (250.0, 1.0),
        (3000.0, 1.0),
    ],
)
def test_apply_window_clips_and_rescales(hu, expected):
    out = apply_window(np.array([hu]), "abdomen")
    assert out.dtype == np.float32
    assert out[0] == pytest.approx(expected)


def test_apply_window_custom_range_and_window():
    out = apply_window(np.array([-100.0, 0.0, 100.0]), Window(0, 200), out_range=(-1.0, 1.0))
    np.testing.assert_allclose(out, [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("out_range", [(1.0, 0.0), (0.0, 0.0), (0.0, float("nan"))])
def test_bad_output_range(out_range):
    with pytest.raises(ConfigError, match="output range"):
        apply_window(np.zeros(3), "liver", out_range)


def test_image_in_image_out_on_same_grid():
    image = sitk.GetImageFromArray(np.array([[[-45, 30, 105]]], dtype=np.int16))
    image.SetSpacing((0.7, 0.7, 2.5))
    image.SetOrigin((1.0, 2.0, 3.0))
    out = apply_window(image, "liver")
    assert isinstance(out, sitk.Image)
    assert out.GetPixelID() == sitk.sitkFloat32
    assert out.GetSpacing() == image.GetSpacing() and out.GetOrigin() == image.GetOrigin()
    np.testing.assert_allclose(sitk.GetArrayViewFromImage(out).ravel(), [0.0, 0.5, 1.0])


def test_display_uint8():
    out = to_display_uint8(np.array([-2000.0, -600.0, 150.0, 500.0]), "lung")
    assert out.dtype == np.uint8
    assert out.tolist() == [0, 128, 255, 255]
    image = to_display_uint8(sitk.GetImageFromArray(np.array([[[0.0, 40.0, 80.0]]])), "brain")
    assert sitk.GetArrayViewFromImage(image).ravel().tolist() == [0, 128, 255]


# --- images without HU (MR...): percentile windows, never an HU preset -------------------------


@pytest.mark.parametrize(("name", "low", "high"), [("1-99 %", 1, 99), ("0.5-99.5 %", 0.5, 99.5),
                                                   ("5-95 %", 5, 95)])  # fmt: skip
def test_percentile_windows_span_the_volume_percentiles(name, low, high):
    values = np.random.default_rng(3).gamma(2.0, 300.0, size=(6, 20, 30)).astype(np.float32)
    window = percentile_window(values, name)
    expected = np.percentile(values.astype(np.float64), [low, high])
    assert (window.low, window.high) == pytest.approx(tuple(expected))
    assert PERCENTILE_WINDOWS[name] == (low, high)


def test_percentile_window_over_a_mask_of_an_image():
    array = np.arange(2 * 10 * 10, dtype=np.float32).reshape(2, 10, 10)
    mask = np.zeros(array.shape, np.uint8)
    mask[1, 2:5, 2:5] = 1
    image, mask_image = sitk.GetImageFromArray(array), sitk.GetImageFromArray(mask)
    window = percentile_window(image, (0.0, 100.0), mask_image)
    assert (window.low, window.high) == (array[mask == 1].min(), array[mask == 1].max())
    with pytest.raises(ConfigError, match="No voxel"):
        percentile_window(array, (1, 99), np.zeros(array.shape, bool))
    with pytest.raises(ConfigError, match="shape"):
        percentile_window(array, (1, 99), np.ones((2, 10, 9), bool))


def test_percentile_window_of_a_flat_image_and_bad_percentiles():
    window = percentile_window(np.full((3, 3), 7.0), (1, 99))
    assert window.level == 7.0 and window.width == 1.0
    for bad in [(99, 1), (-1, 50), (50, 101), "2-98 %"]:
        with pytest.raises(ConfigError, match="percentile"):
            percentile_window(np.arange(10.0), bad)


@pytest.mark.parametrize("modality", ["MR", "mr", "PT"])
def test_hu_presets_are_refused_on_images_without_hu(modality):
    assert not has_hu(modality)
    with pytest.raises(ConfigError, match=r"CT preset in HU.*percentile"):
        get_window("liver", modality=modality)
    with pytest.raises(ConfigError, match="not HU"):
        apply_window(np.zeros(3), "brain", modality=modality)
    # an explicit window (e.g. a percentile window) is taken as given
    assert apply_window(np.array([0.0, 5.0, 10.0]), Window(5, 10), modality=modality)[1] == 0.5


@pytest.mark.parametrize("modality", ["CT", "ct", None])
def test_ct_and_unlabelled_volumes_keep_the_hu_presets(modality):
    assert has_hu(modality)
    assert get_window("liver", modality=modality) is WINDOW_PRESETS["liver"]


def test_percentile_window_of_a_large_volume_reads_a_regular_sample():
    values = np.random.default_rng(5).normal(100.0, 20.0, size=(40, 256, 256)).astype(np.float32)
    assert values.size > PERCENTILE_SAMPLE
    window = percentile_window(values, "1-99 %")
    exact = np.percentile(values, [1, 99])
    assert (window.low, window.high) == pytest.approx(tuple(exact), rel=0.01)


def test_the_full_range_window_reaches_the_voxels_a_sample_skips():
    """A few very bright voxels (metal, a vessel) off the sample's grid still bound the full range."""
    values = np.random.default_rng(5).normal(100.0, 20.0, size=(40, 256, 256)).astype(np.float32)
    values[7, 100, 101] = 1.0e6  # an odd flat index: off the sample, one voxel in two
    values[9, 3, 5] = np.nan
    window = percentile_window(values, "0-100 % (full range)")
    assert (window.low, window.high) == pytest.approx((float(np.nanmin(values)), 1.0e6))
