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
from survival_core.preprocess.roi import RING_MM
from survival_core.preprocess.transforms import DeriveROIs
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


@pytest.fixture
def lung1(shared_data):
    """pyradiomics' real lung CT and its tumour label (837 voxels, 0.7 x 0.7 x 5 mm)."""
    folder = shared_data / "pyradiomics"
    if not (folder / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics' lung1 not in ../shared/data")
    image = sitk.ReadImage(str(folder / "lung1_image.nrrd"))
    label = sitk.Cast(sitk.ReadImage(str(folder / "lung1_label.nrrd")) > 0, sitk.sitkUInt8)
    return image, label


RING_SETTINGS = dataclasses.replace(SETTINGS, rois=("gtv", "peritumoral_ring"))
RING_MEAN = "peritumoral_ring__original__firstorder__Mean"


def _lung1_case(image: sitk.Image, gtv: np.ndarray):
    mask = sitk.GetImageFromArray(gtv.astype(np.uint8))
    mask.CopyInformation(image)
    case = make_case(size=(8, 8, 4))
    return dataclasses.replace(case, case_id="lung1", image=image, masks={"gtv": mask}, site="lung")


def test_a_lesions_ring_leaves_its_neighbour_out(lung1) -> None:
    """Real lung1 with a copy of its tumour 1.4 mm beside it: each lesion's ring held 69-75 of
    the other's tumour voxels (its mean 14-17 HU off the lung's)."""
    from survival_core.features.radiomics import roi_masks
    from survival_core.preprocess.roi import ALL_LESIONS

    image, label = lung1
    pixels, tumour = sitk.GetArrayFromImage(image), sitk.GetArrayViewFromImage(label).astype(bool)
    xs = np.flatnonzero(tumour.any(axis=(0, 1)))
    shift = xs[-1] - xs[0] + 3  # two voxels of lung between them
    copy = np.roll(tumour, shift, axis=2)
    pixels[copy] = pixels[tumour]
    both = sitk.GetImageFromArray(pixels)
    both.CopyInformation(image)
    case = _lung1_case(both, tumour | copy)
    lesions = lesion_masks(case.masks["gtv"])
    assert len(lesions) == 2
    for lesion in lesions:
        masks = {"gtv": lesion, ALL_LESIONS: case.masks["gtv"]}
        ring = sitk.GetArrayFromImage(
            roi_masks(masks, ("peritumoral_ring",), both)["peritumoral_ring"]
        )
        assert ring.any() and not (ring.astype(bool) & (tumour | copy)).any()
    each = extract_case(case, dataclasses.replace(RING_SETTINGS, lesions="each"))
    alone = extract_case(_lung1_case(both, tumour), RING_SETTINGS)  # the neighbour as lung
    assert each[RING_MEAN] < alone[RING_MEAN]  # its ring lost the neighbour's tissue, not lung


def test_a_speck_beside_a_lesion_is_left_out_of_each_lesions_features(lung1) -> None:
    """A one-voxel contouring speck beside real lung1's tumour made `--lesions each` fail the case
    ('no voxels on the 1mm grid'); it is left out, so the features are the tumour's."""
    image, label = lung1
    tumour = sitk.GetArrayFromImage(label).astype(bool)
    speck = np.zeros_like(tumour)
    z, y, x = np.argwhere(tumour).min(axis=0)
    speck[z, y - 12, x - 12] = True
    settings = dataclasses.replace(SETTINGS, rois=("gtv",), scales=(Scale(spacing_mm=1.0),))
    each = extract_case(
        _lung1_case(image, tumour | speck), dataclasses.replace(settings, lesions="each")
    )
    assert each == pytest.approx(extract_case(_lung1_case(image, tumour), settings))


def test_the_ring_of_a_tumour_on_a_cropped_scan_keeps_the_lung(lung1) -> None:
    """lung1 cropped around its tumour, with no lung contour: the body outline found on a crop
    holds none of the tumour and the ring was refused as empty (on the IBSI phantom it kept
    only the chest wall's side). The ring is then not clipped to that outline."""
    from survival_core.features.radiomics import roi_masks

    image, label = lung1
    crop = (slice(150, 400), slice(300, 420), slice(22, 46))
    image, label = image[crop], label[crop]
    ring = roi_masks({"gtv": label}, ("peritumoral_ring",), image)["peritumoral_ring"]
    inside = sitk.GetArrayFromImage(ring).astype(bool)
    values = sitk.GetArrayViewFromImage(image)[inside]
    assert inside.sum() == 2771 and np.median(values) < -500  # the whole ring, aerated lung
    # The ring of the case transforms follows the same rule (it was clipped to that outline).
    derived = DeriveROIs(ring_mm=RING_MM)(_lung1_case(image, sitk.GetArrayFromImage(label)))
    np.testing.assert_array_equal(derived.mask_array("peritumoral_ring"), inside)


def test_a_contour_straying_past_the_skin_keeps_the_ring_in_the_body(lung1) -> None:
    """Real lung1, its GTV joined by a contour line crossing the skin two voxels into the air:
    the ring must still be clipped to the body (a cropped scan's outline is dropped, not a whole
    scan's), or it holds air around a superficial tumour."""
    from survival_core.features.radiomics import roi_masks
    from survival_core.preprocess.roi import body_mask

    image, label = lung1
    body = sitk.GetArrayFromImage(body_mask(image)).astype(bool)
    gtv = sitk.GetArrayFromImage(label).astype(bool)
    z = np.argwhere(gtv)[0][0]
    top = np.flatnonzero(body[z].any(axis=1))[0]
    x = np.flatnonzero(body[z, top + 3])[0] + 20
    gtv[z, top - 2 : top + 4, x] = True
    stray = sitk.GetImageFromArray(gtv.astype(np.uint8))
    stray.CopyInformation(label)
    ring = roi_masks({"gtv": stray}, ("peritumoral_ring",), image)["peritumoral_ring"]
    ring = sitk.GetArrayFromImage(ring).astype(bool)
    assert ring.any() and not (ring & ~body).any()
