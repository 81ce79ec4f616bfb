"""The Case container: volumes in mL, lesion counts, summary."""

import pytest
import SimpleITK as sitk

from tests.case_builders import make_case


def test_mask_volume_uses_voxel_spacing():
    case = make_case(spacing=(0.8, 0.8, 3.0))
    voxels = int(sitk.GetArrayFromImage(case.masks["gtv"]).sum())
    assert case.mask_volume_ml("gtv") == pytest.approx(voxels * 0.8 * 0.8 * 3.0 / 1000)


def test_lesion_count_counts_components():
    case = make_case()
    assert case.lesion_count("gtv") == 1
    gtv = sitk.GetArrayFromImage(case.masks["gtv"])
    gtv[0, 0, 0] = 1  # a second, separate lesion in a corner
    image = sitk.GetImageFromArray(gtv)
    image.CopyInformation(case.masks["gtv"])
    case.masks["gtv"] = image
    assert case.lesion_count("gtv") == 2


def test_summary_reports_grid_spacing_and_volumes():
    case = make_case(size=(48, 40, 20), spacing=(1.0, 1.0, 2.5))
    info = case.summary()
    assert info["matrix"] == "48x40x20"
    assert info["spacing_mm"] == "1.00x1.00x2.50"
    assert info["organ_volume_ml"] > info["gtv_volume_ml"] > 0
    assert info["lesions"] == 1
