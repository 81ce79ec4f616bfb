"""The GLSZM from one connected-component pass equals pyradiomics' C zone growing, matrix and
features bit for bit: on real ROIs (pyradiomics' lung and brain samples), on shapes that test the
26-connectivity (diagonal touches, lone voxels, one slice, one voxel), with absent gray levels and
a whole-ROI level count; in-plane (2.5D) matrices stay pyradiomics' own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import cMatrices, glszm

from survival_core.features.gray_level_zones import zone_size_matrix
from survival_core.features.radiomics import GLSZM, _GivenLevels, class_features, compute_class
from survival_core.features.settings import FeatureClass
from tests.roi_samples import quantised_sample

FEATURES = class_features(FeatureClass("glszm"))


class StockGLSZM(_GivenLevels, glszm.RadiomicsGLSZM):
    """pyradiomics' own GLSZM (zones grown in C) on the same given levels."""


def _image(array: np.ndarray) -> sitk.Image:
    return sitk.GetImageFromArray(array)


def _both(levels: np.ndarray, mask: np.ndarray, **kwargs) -> tuple[dict, dict]:
    image, roi = _image(levels.astype(np.int32)), _image(mask.astype(np.uint8))
    ours = compute_class(GLSZM, image, roi, FEATURES, **kwargs)
    theirs = compute_class(StockGLSZM, image, roi, FEATURES, **kwargs)
    return ours, theirs


def _assert_identical(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys() and len(ours) == len(FEATURES)
    for name in ours:
        assert ours[name] == theirs[name] or (np.isnan(ours[name]) and np.isnan(theirs[name])), name


def _c_matrix(levels: np.ndarray, inside: np.ndarray, gray_levels: int) -> np.ndarray:
    return cMatrices.calculate_glszm(
        levels.astype(np.int32), inside.astype(bool), gray_levels, int(inside.sum()), False, 0
    )[0]


def _shapes() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    blob = np.zeros((9, 12, 11), dtype=bool)
    blob[1:8, 2:11, 1:10] = rng.random((7, 9, 9)) < 0.8
    diagonal = np.zeros((4, 4, 4), dtype=bool)
    diagonal[np.arange(4), np.arange(4), np.arange(4)] = True  # touching corner to corner only
    one_slice = np.zeros((3, 10, 10), dtype=bool)
    one_slice[1, 2:8, 3:9] = True
    lone = np.zeros((5, 5, 5), dtype=bool)
    lone[::2, ::2, ::2] = True
    single = np.zeros((4, 4, 4), dtype=bool)
    single[2, 1, 3] = True
    edge = np.ones((3, 4, 5), dtype=bool)  # the ROI fills the array: zones touch its borders
    return {
        "blob": blob,
        "diagonal": diagonal,
        "one_slice": one_slice,
        "lone": lone,
        "single": single,
        "edge": edge,
    }


@pytest.mark.parametrize("shape", list(_shapes()))
def test_shapes_match_pyradiomics_exactly(shape: str) -> None:
    mask = _shapes()[shape]
    rng = np.random.default_rng(len(shape))
    levels = np.where(mask, rng.integers(2, 5, mask.shape), 0)  # few levels: large zones; 1 absent
    np.testing.assert_array_equal(zone_size_matrix(levels, mask, 4), _c_matrix(levels, mask, 4))
    _assert_identical(*_both(levels, mask))


def test_diagonal_neighbours_form_one_zone() -> None:
    """Four voxels of one level touching only at corners: one zone of size 4 (26-connected)."""
    mask = _shapes()["diagonal"]
    matrix = zone_size_matrix(np.where(mask, 3, 0), mask, 3)
    assert matrix.shape == (3, 4) and matrix[2, 3] == 1 and matrix.sum() == 1


def test_whole_roi_level_count_matches_and_in_plane_is_pyradiomics() -> None:
    mask = _shapes()["blob"]
    levels = np.where(mask, np.random.default_rng(1).integers(1, 6, mask.shape), 0)
    _assert_identical(*_both(levels, mask, levelCount=12))
    _assert_identical(*_both(levels, mask, force2D=True, force2Ddimension=0))


@pytest.mark.parametrize(("sample", "levels"), [("lung1", 8), ("lung2", 64), ("brain1", 16)])
def test_real_rois_match_pyradiomics_exactly(shared_data: Path, sample: str, levels: int) -> None:
    gray, inside = quantised_sample(shared_data, sample, levels)
    np.testing.assert_array_equal(
        zone_size_matrix(gray, inside, levels), _c_matrix(gray, inside, levels)
    )
    _assert_identical(*_both(gray, inside))
