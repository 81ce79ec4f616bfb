"""Several lesions: united by default, the largest alone, or each apart and aggregated per patient."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import ConfigError
from survival_core.features.lesions import lesion_masks
from survival_core.features.radiomics import extract_case
from survival_core.features.settings import (
    Discretisation,
    ExtractionSettings,
    FeatureClass,
    Scale,
)
from tests.case_builders import make_case


def _two_lesion_case():
    """The test liver with two tumours: a big one at 120 HU and a small one at 200 HU."""
    case = make_case(size=(64, 48, 16), spacing=(1.0, 1.0, 2.0))
    pixels = sitk.GetArrayFromImage(case.image)
    gtv = np.zeros(pixels.shape, np.uint8)
    z, y, x = np.indices(pixels.shape)
    big = (x - 22) ** 2 + (y - 24) ** 2 + ((z - 8) * 2) ** 2 <= 8**2
    small = (x - 44) ** 2 + (y - 24) ** 2 + ((z - 8) * 2) ** 2 <= 4**2
    pixels[big], pixels[small] = 120.0, 200.0
    gtv[big | small] = 1
    image = sitk.GetImageFromArray(pixels)
    image.CopyInformation(case.image)
    mask = sitk.GetImageFromArray(gtv)
    mask.CopyInformation(case.image)
    return dataclasses.replace(case, image=image, masks={**case.masks, "gtv": mask}), big, small


SETTINGS = ExtractionSettings(
    preset="test",
    rois=("gtv", "organ_minus_gtv"),
    classes=(FeatureClass("shape", ("VoxelVolume",)), FeatureClass("firstorder", ("Mean",))),
    scales=(Scale(),),
    discretisations=(Discretisation("uniform", levels=8),),
)
VOLUME, MEAN = "gtv__original__shape__VoxelVolume", "gtv__original__firstorder__Mean"


def test_lesions_are_connected_parts_largest_first() -> None:
    case, big, small = _two_lesion_case()
    parts = lesion_masks(case.masks["gtv"])
    assert [sitk.GetArrayViewFromImage(p).sum() for p in parts] == [big.sum(), small.sum()]


def test_union_largest_each() -> None:
    case, big, small = _two_lesion_case()
    voxel = 2.0
    union = extract_case(case, SETTINGS)
    assert union[VOLUME] == pytest.approx((big.sum() + small.sum()) * voxel)
    largest = extract_case(case, dataclasses.replace(SETTINGS, lesions="largest"))
    assert largest[VOLUME] == pytest.approx(big.sum() * voxel)
    assert largest[MEAN] == pytest.approx(120.0)
    # The organ ROI is the organ without all tumour, whatever the lesion mode.
    name = "liver_minus_gtv__original__firstorder__Mean"
    assert largest[name] == pytest.approx(union[name])
    each = {
        how: extract_case(case, dataclasses.replace(SETTINGS, lesions="each", lesion_aggregate=how))
        for how in ("largest", "weighted_mean", "max")
    }
    assert each["largest"][MEAN] == pytest.approx(120.0)
    assert each["max"][MEAN] == pytest.approx(200.0)
    weighted = (120.0 * big.sum() + 200.0 * small.sum()) / (big.sum() + small.sum())
    assert each["weighted_mean"][MEAN] == pytest.approx(weighted)
    assert set(each["max"]) == set(union)


def test_lesion_settings_keep_old_hashes_and_check_values() -> None:
    assert "lesions" not in SETTINGS.to_json()
    each = dataclasses.replace(SETTINGS, lesions="each")
    assert each.hash() != SETTINGS.hash()
    assert ExtractionSettings.from_json(each.to_json()) == each
    with pytest.raises(ConfigError, match="lesions must be one of"):
        dataclasses.replace(SETTINGS, lesions="all")
