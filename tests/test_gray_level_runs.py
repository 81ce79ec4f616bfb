"""The GLRLM's gray-level features from runs per level equal pyradiomics' full run length matrix,
bit for bit: on real ROIs (pyradiomics' lung and brain samples), on ROI shapes where pyradiomics
drops directions (one slice in a thicker array, slices with a gap, lone voxels), in-plane (2.5D),
with absent gray levels and with a whole-ROI level count (IBSI 2D); other features still take
pyradiomics' own matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import glrlm

from survival_core.features.gray_level_runs import GRAY_LEVEL_FEATURES, runs_per_gray_level
from survival_core.features.radiomics import GLRLM, _GivenLevels, compute_class
from tests.roi_samples import quantised_sample

FEATURES = tuple(sorted(GRAY_LEVEL_FEATURES))


class StockGLRLM(_GivenLevels, glrlm.RadiomicsGLRLM):
    """pyradiomics' own GLRLM (C run lengths) on the same given levels."""


def _image(array: np.ndarray) -> sitk.Image:
    return sitk.GetImageFromArray(array)


def _both(levels: np.ndarray, mask: np.ndarray, features=FEATURES, **kwargs):
    image, roi = _image(levels.astype(np.int32)), _image(mask.astype(np.uint8))
    ours = compute_class(GLRLM, image, roi, features, **kwargs)
    theirs = compute_class(StockGLRLM, image, roi, features, **kwargs)
    return ours, theirs


def _assert_identical(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] == theirs[name] or (np.isnan(ours[name]) and np.isnan(theirs[name])), name


def _shapes() -> dict[str, np.ndarray]:
    """ROI shapes (z, y, x) that exercise pyradiomics' direction rules."""
    rng = np.random.default_rng(7)
    blob = np.zeros((9, 12, 11), dtype=bool)
    blob[1:8, 2:11, 1:10] = rng.random((7, 9, 9)) < 0.8
    one_slice = np.zeros((3, 10, 10), dtype=bool)
    one_slice[1, 2:8, 3:9] = True
    gapped = np.zeros((5, 8, 8), dtype=bool)
    gapped[[1, 3], 2:6, 2:6] = True  # z lines cross twice without neighbours
    lone = np.zeros((5, 5, 5), dtype=bool)
    lone[::2, ::2, ::2] = True  # no two ROI voxels adjacent in any direction
    single = np.zeros((4, 4, 4), dtype=bool)
    single[2, 1, 3] = True
    return {"blob": blob, "one_slice": one_slice, "gapped": gapped, "lone": lone, "single": single}


@pytest.mark.parametrize("shape", list(_shapes()))
def test_shapes_match_pyradiomics_exactly(shape: str) -> None:
    mask = _shapes()[shape]
    rng = np.random.default_rng(len(shape))
    levels = np.where(mask, rng.integers(2, 9, mask.shape), 0)  # level 1 absent
    _assert_identical(*_both(levels, mask))


def test_in_plane_and_whole_roi_level_count_match_pyradiomics() -> None:
    mask = _shapes()["blob"]
    levels = np.where(mask, np.random.default_rng(1).integers(1, 6, mask.shape), 0)
    _assert_identical(*_both(levels, mask, force2D=True, force2Ddimension=0))
    _assert_identical(*_both(levels, mask, levelCount=12))


def test_counts_are_the_run_starts_of_each_level() -> None:
    """A hand-counted line: levels 1 1 2 _ 2 along x give runs {1: 1, 2: 2} in x."""
    levels = np.array([[[1, 1, 2, 0, 2]]])
    inside = levels > 0
    counts = runs_per_gray_level(levels, inside, np.array([[0, 0, 1]]), 2)
    assert counts[:, 0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(("sample", "levels"), [("lung1", 32), ("lung2", 64), ("brain1", 16)])
def test_real_rois_match_pyradiomics_exactly(shared_data: Path, sample: str, levels: int) -> None:
    gray, inside = quantised_sample(shared_data, sample, levels)
    _assert_identical(*_both(gray, inside))


def test_other_features_take_pyradiomics_matrix() -> None:
    """A run-length feature among the enabled ones: the full C matrix, the same values."""
    mask = _shapes()["blob"]
    levels = np.where(mask, np.random.default_rng(2).integers(1, 6, mask.shape), 0)
    features = ("GrayLevelNonUniformity", "ShortRunEmphasis")
    ours, theirs = _both(levels, mask, features)
    _assert_identical(ours, theirs)
    calculator = GLRLM(_image(levels.astype(np.int32)), _image(mask.astype(np.uint8)))
    for feature in features:
        calculator.enableFeatureByName(feature)
    calculator.execute()
    assert calculator.P_glrlm.shape[2] > 1  # run lengths kept
