"""IBSI re-segmentation of a ROI by intensity range and outliers."""

from __future__ import annotations

import numpy as np
import pytest

from survival_core.errors import MaskError
from survival_core.preprocess.resegment import resegment


@pytest.fixture()
def roi() -> tuple[np.ndarray, np.ndarray]:
    """Values -1000..1000 in a 1D 'image' whose ROI leaves out the first and last voxels."""
    values = np.linspace(-1000.0, 1000.0, 201)
    mask = np.ones(values.shape, dtype=bool)
    mask[[0, -1]] = False
    return values, mask


def test_range_keeps_roi_voxels_within_both_bounds(roi) -> None:
    values, mask = roi
    kept = resegment(values, mask, -500.0, 400.0)
    assert values[kept].min() == -500.0 and values[kept].max() == 400.0
    assert not (kept & ~mask).any()
    assert resegment(values, mask, low=0.0).sum() == 100  # 0..990 inside the ROI; open above


def test_outliers_beyond_n_sd_are_dropped() -> None:
    values = np.array([0.0] * 50 + [1.0] * 50 + [100.0])
    kept = resegment(values, np.ones(values.shape, bool), outlier_sd=3.0)
    assert kept.sum() == 100 and not kept[-1]


def test_range_goes_first_and_outlier_statistics_use_what_it_keeps() -> None:
    values = np.array([-1000.0] * 20 + [0.0] * 40 + [10.0] * 40 + [40.0])
    mask = np.ones(values.shape, bool)
    # without the air, the mean is ~5.3 and the SD ~6.2: 40 HU is an outlier
    kept = resegment(values, mask, low=-500.0, outlier_sd=3.0)
    assert kept.sum() == 80
    # on all voxels the SD is ~400: nothing but the air range goes
    assert resegment(values, mask, outlier_sd=3.0).sum() == 101


def test_nothing_left_is_a_mask_error(roi) -> None:
    values, mask = roi
    with pytest.raises(MaskError, match="re-segmentation"):
        resegment(values, mask, 2000.0, 3000.0)
