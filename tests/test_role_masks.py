"""Roles from rasterised structures: GTVs united, an organ taken only when it surrounds the GTV."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import RTStructError
from survival_core.io.role_masks import assign_roles
from survival_core.io.structures import WHERE_TO_SAY

SHAPE = (20, 30, 30)  # z, y, x


def _box(z: tuple[int, int], y: tuple[int, int], x: tuple[int, int]) -> sitk.Image:
    voxels = np.zeros(SHAPE, np.uint8)
    voxels[z[0] : z[1], y[0] : y[1], x[0] : x[1]] = 1
    return sitk.GetImageFromArray(voxels)


NECK_GTV = _box((2, 5), (12, 16), (12, 16))
BRAIN = _box((12, 20), (5, 25), (5, 25))


def test_an_organ_at_risk_away_from_the_tumour_is_not_the_organ() -> None:
    """A head-and-neck plan's brain contour: named like an organ, but the GTV is in the neck."""
    out = assign_roles({"GTVp": NECK_GTV, "Brain": BRAIN}, {}, ("gtv",))
    assert set(out.masks) == {"gtv"} and out.site is None
    assert any(
        "'Brain' looks like the brain but does not surround the GTV" in w for w in out.warnings
    )


def test_the_surrounding_organ_is_taken_and_names_the_site() -> None:
    liver = _box((0, 10), (5, 25), (5, 25))
    kidneys = [_box((12, 18), (2, 8), (2, 8)), _box((12, 18), (22, 28), (22, 28))]
    structures = {"GTV": NECK_GTV, "Liver": liver, "Kidney_L": kidneys[0], "Kidney_R": kidneys[1]}
    out = assign_roles(structures, {}, ("gtv",))
    assert out.site == "liver" and out.names["organ"] == ["Liver"]
    assert any("Kidney_L" in w and "not taken" in w for w in out.warnings)


def test_an_organ_of_another_site_than_the_one_given_is_said() -> None:
    """A liver case read as a lung one (--site lung) dropped its liver contour without a word."""
    liver = _box((0, 10), (5, 25), (5, 25))
    out = assign_roles({"GTV": NECK_GTV, "Liver": liver}, {}, ("gtv",), site="lung")
    assert set(out.masks) == {"gtv"}
    assert out.warnings == [
        "'Liver' looks like the liver and surrounds the GTV, but the case's site was given as "
        "lung: it is not taken as the organ hosting the tumour. If this is a liver case, say so "
        "(the Case page's cancer site, --site liver)."
    ]
    away = assign_roles({"GTV": NECK_GTV, "Brain": BRAIN}, {}, ("gtv",), site="lung")
    assert away.warnings == []  # an organ away from the tumour says nothing of the site
    # a lung contour away from the tumour beside it: the liver was dropped without a word
    lung = _box((12, 20), (0, 30), (0, 14))
    both = assign_roles({"GTV": NECK_GTV, "Liver": liver, "Lung_L": lung}, {}, ("gtv",), "lung")
    assert any(w.startswith("'Liver' looks like the liver and surrounds") for w in both.warnings)


def test_left_and_right_lungs_unite_and_gtvs_unite() -> None:
    left, right = _box((0, 20), (0, 30), (0, 14)), _box((0, 20), (0, 30), (16, 30))
    gtv1, gtv2 = _box((5, 8), (5, 8), (5, 8)), _box((10, 12), (20, 23), (20, 23))
    structures = {"GTV-1": gtv1, "GTV-2": gtv2, "Lung-Left": left, "Lung-Right": right}
    out = assign_roles(structures, {}, ("gtv", "organ"))
    assert out.site == "lung" and out.names == {
        "gtv": ["GTV-1", "GTV-2"],
        "organ": ["Lung-Left", "Lung-Right"],
    }
    gtv = sitk.GetArrayViewFromImage(out.masks["gtv"])
    assert gtv.sum() == 27 + 18


def test_two_surrounding_organs_of_different_sites_are_asked() -> None:
    big = _box((0, 20), (0, 30), (0, 30))
    with pytest.raises(RTStructError, match="Several organs could host the tumour"):
        assign_roles({"GTV": NECK_GTV, "Liver": big, "Lungs": big}, {}, ("gtv",))
    # the user's choice settles it, and "no organ" is a choice too
    chosen = assign_roles({"GTV": NECK_GTV, "Liver": big, "Lungs": big}, {"organ": ["Lungs"]}, ())
    assert chosen.site == "lung"
    none = assign_roles({"GTV": NECK_GTV, "Liver": big, "Lungs": big}, {"organ": []}, ())
    assert "organ" not in none.masks


def test_missing_required_role_lists_the_structures() -> None:
    with pytest.raises(RTStructError, match="No structure is recognised as the GTV.*'Brain'"):
        assign_roles({"Brain": BRAIN}, {}, ("gtv",))
    with pytest.raises(RTStructError, match="No structure named 'Tumour' for the gtv"):
        assign_roles({"Brain": BRAIN}, {"gtv": ["Tumour"]}, ("gtv",))


def test_label_one_of_a_binary_mask_file_is_the_file() -> None:
    """A ROI map's 'label.nii.gz:1' (the README's form, for datasets whose label maps hold one
    label or several) failed on a binary 0/1 mask: 'the case has label.nii.gz'."""
    structures = {"label.nii.gz": NECK_GTV, "image.nii.gz": BRAIN}
    out = assign_roles(structures, {"gtv": ["label.nii.gz:1"]}, ("gtv",))
    assert out.names["gtv"] == ["label.nii.gz"]
    np.testing.assert_array_equal(sitk.GetArrayFromImage(out.masks["gtv"]), NECK_GTV_ARRAY)
    with pytest.raises(RTStructError, match="No structure named 'label.nii.gz:2'"):
        assign_roles(structures, {"gtv": ["label.nii.gz:2"]}, ("gtv",))


NECK_GTV_ARRAY = sitk.GetArrayFromImage(NECK_GTV)


def test_a_single_structure_is_its_role_without_a_copy() -> None:
    """Each role of one structure was a copy of it, so a loaded 512 x 512 x 900 CT held its
    masks twice (472 MB) for as long as a session kept the case; telling whether the GTV lies in
    the organ copied both whole."""
    import tracemalloc

    from survival_core.io.role_masks import surrounds, unite

    organ = np.zeros((64, 256, 256), np.uint8)
    organ[10:50, 40:200, 40:200] = 1
    gtv = np.zeros_like(organ)
    gtv[28:32, 100:110, 100:110] = 1
    images = [sitk.GetImageFromArray(a) for a in (organ, gtv)]
    tracemalloc.start()
    try:
        same = unite([images[0]])
        inside = surrounds(*images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert same is images[0] and inside
    assert peak < 1e6  # a copy of the organ mask alone: 4 MB
    union = sitk.GetArrayFromImage(unite(images))
    np.testing.assert_array_equal(union, organ | gtv)


def _crescent_liver_with_gtv(gap: int) -> tuple[sitk.Image, sitk.Image]:
    """A crescent-shaped liver and a GTV in its concavity (inside the liver's bounding box),
    ``gap`` voxels from the liver all round (0: touching it, sharing no voxel)."""
    z, y, x = np.indices(SHAPE)
    whole = (y - 15) ** 2 + (x - 15) ** 2 <= 13**2
    bite = (y - 15) ** 2 + (x - 25) ** 2 <= (7 + gap) ** 2
    gtv = ((y - 15) ** 2 + (x - 25) ** 2 <= 4**2) & (z >= 5) & (z < 15)
    liver = whole & ~bite & (z < 20)
    if gap == 0:
        liver = whole & ~gtv
    return sitk.GetImageFromArray(liver.astype(np.uint8)), sitk.GetImageFromArray(
        gtv.astype(np.uint8)
    )


def test_a_gtv_apart_from_the_liver_inside_its_box_is_not_its_tumour() -> None:
    """A tumour in a crescent liver's concavity, two voxels away all round (a kidney's, an
    adrenal's): taken as the liver's, with no word, and the liver minus the tumour was the whole
    liver; a refusal of the organ then said no why. A tumour touching the liver stays its own
    (a segmentation storing them without overlap)."""
    liver, gtv = _crescent_liver_with_gtv(gap=2)
    out = assign_roles({"GTV": gtv, "Liver": liver}, {}, ("gtv",))
    assert set(out.masks) == {"gtv"}
    assert any("'Liver' looks like the liver but does not surround" in w for w in out.warnings)
    with pytest.raises(RTStructError, match="organ hosting.*'Liver' looks like the liver but"):
        assign_roles({"GTV": gtv, "Liver": liver}, {}, ("gtv", "organ"))

    liver, gtv = _crescent_liver_with_gtv(gap=0)
    out = assign_roles({"GTV": gtv, "Liver": liver}, {}, ("gtv", "organ"))
    assert out.names["organ"] == ["Liver"] and out.site == "liver"


def test_the_extraction_refusal_says_why_the_liver_was_set_aside(tmp_path) -> None:
    """wei2021's liver-minus-GTV refused 'the organ mask, which this case lacks' beside a file
    named liver.nii.gz, without the reason the loader had given."""
    from survival_core.errors import MaskError
    from survival_core.features.presets import wei2021
    from survival_core.features.radiomics import extract_case
    from survival_core.io.case_loader import load_case

    liver, gtv = _crescent_liver_with_gtv(gap=2)
    image = sitk.GetImageFromArray(np.random.default_rng(0).normal(60, 15, SHAPE).astype(np.int16))
    for name, volume in (("image", image), ("liver", liver), ("gtv", gtv)):
        sitk.WriteImage(volume, str(tmp_path / f"{name}.nii.gz"))
    with pytest.raises(MaskError, match="lacks.*'liver.nii.gz' looks like the liver but"):
        extract_case(load_case(tmp_path), wei2021())


def test_a_gtv_touching_the_organ_by_a_corner_is_its_own() -> None:
    """Thick slices meet diagonally: a GTV whose only contact with the liver is along edges and
    corners was refused as not touching it (a face-connected shell alone)."""
    from survival_core.io.role_masks import surrounds

    liver, gtv = np.zeros(SHAPE, np.uint8), np.zeros(SHAPE, np.uint8)
    liver[2:10, 2:28, 2:28] = 1
    liver[4:8, 12:18, 12:18] = 0  # the GTV's place and a one-voxel gap by faces...
    gtv[5:7, 13:17, 13:17] = 1
    liver[4, 12, 12] = liver[7, 17, 17] = 1  # ...but corners of liver meet it diagonally
    organ = sitk.GetImageFromArray(liver)
    assert surrounds(organ, sitk.GetImageFromArray(gtv))
    liver[4, 12, 12] = liver[7, 17, 17] = 0
    assert not surrounds(sitk.GetImageFromArray(liver), sitk.GetImageFromArray(gtv))


def test_a_missing_organ_is_refused_without_naming_another_preset() -> None:
    """``--preset full --roi organ_minus_gtv`` without an organ was refused citing 'the wei2021
    preset's organ_minus_gtv': the refusal now names the ROI, whichever settings asked for it."""
    with pytest.raises(RTStructError) as refused:
        assign_roles({"GTVp": NECK_GTV}, {}, ("gtv", "organ"), "lung")
    message = str(refused.value)
    assert "organ_minus_gtv ROI: wei2021's, or --roi" in message and "preset's" not in message


def test_gtvs_inside_or_around_one_another_are_one_tumour_not_lesions() -> None:
    """GTV-like structures found by name were united whatever their geometry: a second drawing
    inside the first, or a ring around it, made a tumour larger than any drawn. Lesions that
    touch are still united."""
    inner, outer = _box((4, 10), (10, 16), (10, 16)), _box((4, 10), (8, 18), (8, 18))
    with pytest.raises(RTStructError, match="'GTV_1' and 'Tumor_2' overlap") as refused:
        assign_roles({"GTV_1": inner, "Tumor_2": outer}, {}, ("gtv",))
    # where to say which one, and that structures named there are taken as given (never
    # 'several only for lesions drawn apart': these were found by name, not chosen)
    message = str(refused.value)
    said = f"Say which structure is the GTV ({WHERE_TO_SAY}): structures named there are taken"
    assert said in message and "several only" not in message
    ring = sitk.GetImageFromArray((_voxels_of(outer) & ~_voxels_of(inner)).astype(np.uint8))
    with pytest.raises(RTStructError, match="'Tumor_2' is drawn around 'GTV_1' \\(a ring"):
        assign_roles({"GTV_1": inner, "Tumor_2": ring}, {}, ("gtv",))
    beside = _box((4, 10), (10, 16), (16, 20))  # touching one face of the first
    out = assign_roles({"GTV_1": inner, "GTV_2": beside}, {}, ("gtv",))
    assert _voxels_of(out.masks["gtv"]).sum() == 6 * 6 * 10
    assert "The GTV is the union of 'GTV_1', 'GTV_2'." in out.warnings
    chosen = assign_roles({"GTV_1": inner, "Tumor_2": outer}, {"gtv": ["GTV_1"]}, ("gtv",))
    assert _voxels_of(chosen.masks["gtv"]).sum() == 6 * 6 * 6


def test_a_name_starting_with_gtv_left_out_of_the_gtv_is_said() -> None:
    """A 'GTVxyz' no rule reads was left out of the GTV united from 'GTVp' and 'GTVn2' with
    nothing said; a 'GTV_old' or 'GTV_PTV', set aside for a reason, is not named."""
    node = _box((2, 5), (2, 6), (2, 6))
    structures = {"GTVp": NECK_GTV, "GTVn2": node, "GTVxyz": BRAIN, "GTV_old": NECK_GTV}
    out = assign_roles({**structures, "GTV_PTV": BRAIN}, {}, ("gtv",))
    assert out.names["gtv"] == ["GTVp", "GTVn2"]
    left_out = [w for w in out.warnings if "looks like a GTV" in w]
    assert left_out == [
        "'GTVxyz' looks like a GTV but is not part of it (the GTV is 'GTVp', 'GTVn2'): if it "
        f"is part of the tumour, name it with them as the GTV ({WHERE_TO_SAY})."
    ]


def test_a_total_beside_its_parts_is_their_union_not_a_second_drawing() -> None:
    """A primary, its node and their total ('GTV_P', 'GTV_N', 'GTV_Total') were refused as one
    tumour drawn twice (the total holds each part): their union is the total's tumour. A total
    beside parts that overlap one another (two drawings of the primary) is still refused."""
    primary, node = _box((2, 6), (10, 16), (10, 16)), _box((12, 15), (20, 24), (20, 24))
    total = sitk.GetImageFromArray((_voxels_of(primary) | _voxels_of(node)).astype(np.uint8))
    out = assign_roles({"GTV_P": primary, "GTV_N": node, "GTV_Total": total}, {}, ("gtv",))
    assert np.array_equal(_voxels_of(out.masks["gtv"]), _voxels_of(total))
    edited = _box((2, 6), (10, 15), (10, 16))
    with pytest.raises(RTStructError, match="overlap"):
        assign_roles({"GTV_P": primary, "GTV_Pedit": edited, "GTV_Total": total}, {}, ("gtv",))


def _voxels_of(mask: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(mask).astype(bool)
