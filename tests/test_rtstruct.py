"""RTSTRUCT: parsing (pydicom's sample and synthetic sets), role names, and rasterisation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file

from survival_core.errors import DicomError, MaskError, RTStructError
from survival_core.io.dicom_series import References, SeriesInfo, read_series, series_shown
from survival_core.io.rtstruct import link_to_series, read_rtstruct, rtstruct_to_masks
from tests.dicom_fixtures import ct_slices, rtstruct, square, write

SPACING = (0.8, 0.8, 2.5)


def setup_case(
    tmp_path: Path,
    rois: dict,
    *,
    row=(1, 0, 0),
    col=(0, 1, 0),
    origin=(-16.0, -16.0, 0.0),
    **kwargs,
):
    """Write a 9-slice CT of 40 x 40 voxels and an RTSTRUCT over it; return image, info, structure set."""
    slices = ct_slices(np.zeros((9, 40, 40)), spacing=SPACING, origin=origin, row=row, col=col)
    for i, ds in enumerate(slices):
        write(ds, tmp_path / "ct" / f"{i}.dcm")
    write(rtstruct(slices, rois, **kwargs), tmp_path / "rs.dcm")
    image, info = read_series(tmp_path / "ct")
    return image, info, read_rtstruct(tmp_path / "rs.dcm")


def voxel_volume(mask: sitk.Image) -> float:
    return float(sitk.GetArrayFromImage(mask).sum() * np.prod(mask.GetSpacing()))


def test_pydicom_sample_parses_like_raw_read() -> None:
    path = get_testdata_file("rtstruct.dcm")
    raw = pydicom.dcmread(path, force=True)
    rt = read_rtstruct(path)
    assert rt.roi_names == ["patient", "Isocenter 1", "Isocenter 2"]
    assert rt.roi_numbers == {"patient": 1, "Isocenter 1": 2, "Isocenter 2": 3}
    patient = rt.contours["patient"]
    assert [c.shape for c in patient] == [(5, 3), (6, 3), (6, 3)]
    for contour, item in zip(patient, raw.ROIContourSequence[0].ContourSequence, strict=True):
        np.testing.assert_allclose(contour.ravel(), [float(v) for v in item.ContourData])
    np.testing.assert_allclose(patient[0][1], (-200.0, -150.0, -200.0))
    assert rt.rois["Isocenter 1"].geometric_types == ["POINT"]
    assert rt.references.series_uids == ("1.2.826.0.1.3680043.8.498.2010020400001.2.1.1",)
    assert rt.references.frame_of_reference_uids == ("1.2.826.0.1.3680043.8.498.2010020400001.2",)
    assert any("POINT" in w and "Isocenter 1" in w for w in rt.warnings)


def test_refuses_rasterising_onto_another_series() -> None:
    rt = read_rtstruct(get_testdata_file("rtstruct.dcm"))
    image, info = read_series(get_testdata_file("CT_small.dcm"))
    with pytest.raises(RTStructError, match="its coordinates do not apply to this image") as err:
        rtstruct_to_masks(rt, image, info, ["patient"])
    assert rt.references.frame_of_reference_uids[0] in str(err.value)
    assert info.frame_of_reference_uid in str(err.value)


def test_refuses_other_frame_of_reference(tmp_path: Path) -> None:
    image, info, rt = setup_case(tmp_path, {"GTV": [square((0, 0), 10, 5.0)]}, frame_uid="1.2.3.4")
    with pytest.raises(RTStructError, match="frame of reference 1.2.3.4") as err:
        rtstruct_to_masks(rt, image, info, ["GTV"])
    assert info.frame_of_reference_uid in str(err.value)


@pytest.mark.parametrize("kind", ["image", "text"])
def test_not_an_rtstruct(tmp_path: Path, kind: str) -> None:
    path = Path(get_testdata_file("CT_small.dcm"))
    if kind == "text":
        path = tmp_path / "rs.dcm"
        path.write_text("not dicom")
    with pytest.raises(
        RTStructError,
        match=r"not an RTSTRUCT \(modality CT, SOP class CT Image Storage\)"
        if kind == "image"
        else "not a DICOM file",
    ):
        read_rtstruct(path)


def test_square_gives_its_volume(tmp_path: Path) -> None:
    contours = [square((0.3, -0.2), 20.0, z) for z in (5.0, 7.5, 10.0, 12.5, 15.0)]
    image, info, rt = setup_case(tmp_path, {"GTV": contours})
    mask = rtstruct_to_masks(rt, image, info, ["GTV"])["GTV"]
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert voxel_volume(mask) == pytest.approx(20 * 20 * 2.5 * 5, rel=0.03)
    per_slice = sitk.GetArrayFromImage(mask).sum(axis=(1, 2))
    assert per_slice.nonzero()[0].tolist() == [2, 3, 4, 5, 6]
    assert (mask.GetSize(), mask.GetSpacing(), mask.GetOrigin()) == (
        image.GetSize(),
        image.GetSpacing(),
        image.GetOrigin(),
    )


def test_inner_contour_makes_a_hole(tmp_path: Path) -> None:
    contours = [
        square((0.3, -0.2), 20.0, 10.0),
        square((0.3, -0.2), 10.0, 10.0),
        square((-12.0, -12.0), 4.0, 10.0),
    ]
    image, info, rt = setup_case(tmp_path, {"Ring": contours})
    array = sitk.GetArrayFromImage(rtstruct_to_masks(rt, image, info, ["Ring"])["Ring"])
    area = array[4].sum() * SPACING[0] * SPACING[1]
    assert area == pytest.approx(20 * 20 - 10 * 10 + 4 * 4, rel=0.05)
    centre = image.TransformPhysicalPointToIndex((0.3, -0.2, 10.0))
    assert array[centre[2], centre[1], centre[0]] == 0  # the hole
    assert array.sum() == array[4].sum()


def test_closed_planar_xor_contours_are_filled_with_their_holes(tmp_path: Path) -> None:
    """CLOSED_PLANAR_XOR (DICOM's type for contours combined by XOR) is a closed contour: the
    ring and the separate square are filled, the hole left out, nothing ignored."""
    contours = [
        square((0.3, -0.2), 20.0, 10.0),
        square((0.3, -0.2), 10.0, 10.0),
        square((-12.0, -12.0), 4.0, 10.0),
    ]
    image, info, rt = setup_case(
        tmp_path, {"Ring": contours}, geometric_types={"Ring": "CLOSED_PLANAR_XOR"}
    )
    assert not rt.warnings
    array = sitk.GetArrayFromImage(rtstruct_to_masks(rt, image, info, ["Ring"])["Ring"])
    assert array[4].sum() * SPACING[0] * SPACING[1] == pytest.approx(
        20 * 20 - 10 * 10 + 4 * 4, rel=0.05
    )
    centre = image.TransformPhysicalPointToIndex((0.3, -0.2, 10.0))
    assert array[centre[2], centre[1], centre[0]] == 0  # the hole


def test_overlapping_xor_contours_cancel_where_they_overlap(tmp_path: Path) -> None:
    """Two CLOSED_PLANAR_XOR squares overlapping by half were united (600 mm2, not the 400 of
    their exclusive or); CLOSED_PLANAR ones are still united, with a note."""
    squares = [square((-4.0, 0.0), 16.0, 10.0), square((4.0, 0.0), 16.0, 10.0)]
    areas = {}
    for kind in ("CLOSED_PLANAR_XOR", "CLOSED_PLANAR"):
        image, info, rt = setup_case(
            tmp_path / kind, {"GTV": squares}, geometric_types={"GTV": kind}
        )
        notes: list[str] = []
        array = sitk.GetArrayFromImage(rtstruct_to_masks(rt, image, info, ["GTV"], notes)["GTV"])
        areas[kind] = array.sum() * SPACING[0] * SPACING[1]
        assert any("overlapping contours united" in n for n in notes) == (kind == "CLOSED_PLANAR")
    assert areas["CLOSED_PLANAR_XOR"] == pytest.approx(2 * 16 * 8, rel=0.1)  # pixel edges
    assert areas["CLOSED_PLANAR"] == pytest.approx(16 * 24, rel=0.1)


def plane_rectangle(
    center: np.ndarray, width: float, height: float, u: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """Corners of a width (along u) x height (along v) rectangle, mm."""
    return np.array(
        [
            center + a * width / 2 * u + b * height / 2 * v
            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))
        ]
    )


@pytest.mark.parametrize(
    ("row", "col", "origin"),
    [
        ((1, 0, 0), (0, 1, 0), (-16, -16, 0)),
        ((-1, 0, 0), (0, -1, 0), (16, 16, 0)),
        ((1, 0, 0), (0, 0, -1), (-16, 0, 16)),
    ],
    ids=["axial", "axial flipped", "coronal"],
)
def test_mask_lands_on_the_right_voxels(tmp_path: Path, row, col, origin) -> None:
    """Rectangles with edges midway between voxel centres: the mask equals the analytic inside test."""
    u, v = np.array(row, float), np.array(col, float)
    normal = np.cross(u, v)
    corner = np.array(origin, float)
    # 8 columns (i = 8..15, 6.4 mm) by 4 rows (j = 6..9, 3.2 mm), on slices 3 and 4; the centre
    # of the rectangle is at continuous index (11.5, 7.5, k)
    centres = [
        corner + 11.5 * SPACING[0] * u + 7.5 * SPACING[1] * v + k * SPACING[2] * normal
        for k in (3, 4)
    ]
    contours = [plane_rectangle(c, 6.4, 3.2, u, v) for c in centres]
    image, info, rt = setup_case(tmp_path, {"GTV": contours}, row=row, col=col, origin=origin)
    array = sitk.GetArrayFromImage(rtstruct_to_masks(rt, image, info, ["GTV"])["GTV"])
    expected = np.zeros_like(array)
    expected[3:5, 6:10, 8:16] = 1
    np.testing.assert_array_equal(array, expected)


@pytest.mark.parametrize(
    ("contours", "error", "expected"),
    [
        (
            [np.array([[-5, -5, 4.0], [5, -5, 6.0], [5, 5, 6.0], [-5, 5, 4.0]])],
            RTStructError,
            r"'GTV'.*not parallel to the image's slices \(it spans slice index 1\.60 to 2\.40\)",
        ),
        ([square((0, 0), 10, 40.0)], RTStructError, "'GTV'.*outside the image"),
        ([], MaskError, "'GTV' has no closed contour"),
        ([square((0.4, 0.4), 0.2, 5.0)], MaskError, "'GTV' covers no voxel"),
    ],
    ids=["tilted", "outside", "no contours", "too small"],
)
def test_unusable_contours(tmp_path: Path, contours, error, expected) -> None:
    image, info, rt = setup_case(tmp_path, {"GTV": contours})
    with pytest.raises(error, match=expected):
        rtstruct_to_masks(rt, image, info, ["GTV"])


@pytest.mark.parametrize(
    ("planes_mm", "slices", "apart"),
    [
        (np.arange(0.3, 9.4, 1.0), [0, 1, 2, 3], "on planes 1.00 mm apart"),  # thin slices
        ([2.0, 7.0], [0, 1, 2, 3], "on planes 5.00 mm apart"),  # a thick-slice series
        ([6.0], [2], "on one plane"),
    ],
    ids=["1 mm planes", "5 mm planes", "one plane"],
)
def test_contours_between_slices_fill_the_nearest_slices(
    tmp_path: Path, planes_mm, slices: list[int], apart: str
) -> None:
    """Contours drawn on another series of the frame of reference (other positions, other
    spacing; the image's slices are 2.5 mm apart): each slice takes the nearest contoured plane."""
    image, info, rt = setup_case(tmp_path, {"GTV": [square((0.4, 0.4), 8, z) for z in planes_mm]})
    notes: list[str] = []
    array = sitk.GetArrayFromImage(rtstruct_to_masks(rt, image, info, ["GTV"], notes)["GTV"])
    assert np.flatnonzero(array.any(axis=(1, 2))).tolist() == slices
    assert all(array[k].sum() == 100 for k in slices)  # 8 mm = 10 voxels square
    assert len(notes) == 1 and f"'GTV' was contoured {apart}, between the image's" in notes[0]


def test_open_contours_ignored_with_warning(tmp_path: Path) -> None:
    rois = {"GTV": [square((0, 0), 10, 5.0)], "Line": [square((0, 0), 10, 5.0)]}
    image, info, rt = setup_case(tmp_path, rois, geometric_types={"Line": "OPEN_PLANAR"})
    assert any("'Line'" in w and "OPEN_PLANAR" in w for w in rt.warnings)
    with pytest.raises(MaskError, match="'Line' has no closed contour"):
        rtstruct_to_masks(rt, image, info, ["Line"])
    assert voxel_volume(rtstruct_to_masks(rt, image, info, ["GTV"])["GTV"]) == pytest.approx(
        250, rel=0.1
    )


def test_a_structure_set_cut_short_is_said_to_be_damaged(tmp_path: Path) -> None:
    """A copy cut inside its last structure's contours read as that structure never drawn ('no
    closed contour'), and a GTV that was drawn was 'not recognised'."""
    image, info, rt = setup_case(tmp_path, {"GTV": [square((0, 0), 8, z) for z in (5.0, 7.5)]})
    raw = (tmp_path / "rs.dcm").read_bytes()
    cut = raw.rindex(b"\x06\x30\x84\x00")  # the last item's ReferencedROINumber, after its contours
    (tmp_path / "cut.dcm").write_bytes(raw[:cut])
    with pytest.raises(RTStructError, match="damaged or incomplete .a copy or download cut short"):
        read_rtstruct(tmp_path / "cut.dcm")


def test_unknown_roi_name_lists_the_names(tmp_path: Path) -> None:
    image, info, rt = setup_case(
        tmp_path, {"Liver": [square((0, 0), 10, 5.0)], "GTV": [square((0, 0), 4, 5.0)]}
    )
    with pytest.raises(RTStructError, match="no structure named 'Tumour'.*'Liver', 'GTV'"):
        rtstruct_to_masks(rt, image, info, ["Tumour"])


def filled_slices(mask: sitk.Image) -> list[int]:
    return np.flatnonzero(sitk.GetArrayFromImage(mask).any(axis=(1, 2))).tolist()


@pytest.mark.parametrize(
    ("drawn_on", "slices"), [("this", [2, 4, 6]), ("other", [2, 3, 4, 5, 6, 7])]
)
def test_planes_thicker_than_the_image_slices_fill_their_slabs_when_drawn_on_another_series(
    tmp_path: Path, drawn_on: str, slices: list[int]
) -> None:
    """Contours every 5 mm on a 2.5 mm image: drawn on another series of the frame of reference
    (a 5 mm plan under a thin-slice reconstruction), each plane stands for its 5 mm slab and the
    slices between are filled (every other slice was filled, half the volume); drawn on this
    image, each contour fills its own slice, as every tool does, and the slices it skips are
    named."""
    other = {"series_uid": "1.2.3.4.5"} if drawn_on == "other" else {}
    rois = {"GTV": [square((0, 0), 8, z) for z in (5.0, 10.0, 15.0)]}
    image, info, rt = setup_case(tmp_path, rois, **other)
    notes: list[str] = []
    mask = rtstruct_to_masks(rt, image, info, ["GTV"], notes)["GTV"]
    assert filled_slices(mask) == slices  # a slice on a slab's limit goes to the lower plane
    assert len(notes) == 1
    if drawn_on == "other":
        assert "'GTV' was contoured on planes 5.00 mm apart (the image's" in notes[0]
    else:
        assert "'GTV' leaves 2 slice(s) empty between its first and last (3, 5)" in notes[0]


def test_each_structure_fills_the_slabs_of_its_own_plane_spacing(tmp_path: Path) -> None:
    """A GTV on planes 5 mm apart and a marker from a 1 mm series in one set, drawn on another
    series than the 2.5 mm image: the marker's 1 mm gap set every structure's slab, so the GTV
    filled every other slice (half its volume) with no note about it."""
    rois = {
        "GTV": [square((0, 0), 8, z) for z in (5.0, 10.0, 15.0)],
        "BB": [square((6, 6), 2, z) for z in (10.0, 11.0)],
    }
    image, info, rt = setup_case(tmp_path, rois, series_uid="1.2.3.4.5")
    notes: list[str] = []
    masks = rtstruct_to_masks(rt, image, info, ["GTV", "BB"], notes)
    assert filled_slices(masks["GTV"]) == [2, 3, 4, 5, 6, 7]  # as without the marker
    assert filled_slices(masks["BB"]) == [4]
    assert any("'GTV' was contoured on planes 5.00 mm apart" in note for note in notes)
    assert any("'BB' was contoured on planes 1.00 mm apart" in note for note in notes)


def test_separate_lesions_off_the_slices_fill_only_their_own_slabs(tmp_path: Path) -> None:
    """Two nodes 0.5 mm off the slices, one on two planes and one on a single plane 12.5 mm
    away: each plane fills one slice (the median gap, 7.5 mm, used to smear each over three)."""
    rois = {"GTVn": [square((0, 0), 8, z) for z in (0.5, 3.0)] + [square((5, 5), 6, 15.5)]}
    image, info, rt = setup_case(tmp_path, rois)
    mask = rtstruct_to_masks(rt, image, info, ["GTVn"])["GTVn"]
    assert filled_slices(mask) == [0, 1, 6]


def test_planes_halfway_between_slices_fill_contiguous_slices(tmp_path: Path) -> None:
    """Planes halfway between the slices, their z written with rounding noise (as exporters
    write it): each slice on a slab's limit goes to the plane below, none is left out."""
    noise = [2e-7, -3e-7, 1e-7, -2e-7, 3e-7]
    rois = {"GTV": [square((0, 0), 8, 2.5 * k + 1.25 + noise[k - 1]) for k in range(1, 6)]}
    image, info, rt = setup_case(tmp_path, rois)
    assert filled_slices(rtstruct_to_masks(rt, image, info, ["GTV"])["GTV"]) == [2, 3, 4, 5, 6]


def test_repeated_and_overlapping_contours_on_a_slice_are_united_with_a_note(
    tmp_path: Path,
) -> None:
    """The even-odd rule would erase a contour written twice and cut the overlap of two
    overlapping ones out; they are counted once and united (nested ones still make holes)."""
    rois = {
        "Once": [square((0, 0), 8, 10.0)],
        "Twice": [square((0, 0), 8, 10.0), square((0, 0), 8, 10.0)],
        "Overlap": [square((-3, 0), 10, 10.0), square((3, 0), 10, 10.0)],
    }
    image, info, rt = setup_case(tmp_path, rois)
    notes: list[str] = []
    masks = rtstruct_to_masks(rt, image, info, ["Once", "Twice", "Overlap"], notes)
    arrays = {name: sitk.GetArrayFromImage(mask) for name, mask in masks.items()}
    np.testing.assert_array_equal(arrays["Twice"], arrays["Once"])
    area = {name: array[4].sum() * 0.8 * 0.8 for name, array in arrays.items()}
    assert area["Overlap"] == pytest.approx(16 * 10, rel=0.1)  # the union, not 2 x 4 x 10
    assert notes == [
        "Structure 'Twice': 1 repeated contour(s) counted once on slice(s) 4.",
        "Structure 'Overlap': overlapping contours united on slice(s) 4.",
    ]


def test_a_renamed_duplicate_never_replaces_another_structure(tmp_path: Path) -> None:
    """'GTV', 'GTV [3]', 'GTV' (ROI 3): the second 'GTV' cannot take the name 'GTV [3]'."""
    image, info, rt = setup_case(
        tmp_path,
        {
            "GTV": [square((-8, 0), 4, 10.0)],
            "GTV [3]": [square((0, 0), 4, 10.0)],
            "GTV ": [square((8, 0), 4, 10.0)],
        },
    )
    assert len(rt.roi_names) == 3 and rt.roi_names[:2] == ["GTV", "GTV [3]"]
    assert any("is called 'GTV [3.2]'" in w for w in rt.warnings)


def test_a_set_naming_this_series_but_other_slices_says_so() -> None:
    """Drawn on this series UID's other stack: the warning read 'drawn on series X, not on the
    image series X', the same UID twice. Its wording for a report names neither file nor UID."""
    info = SeriesInfo(
        "1.2.3", "1.2", "9.9", "CT", "", ("1.2.3.1", "1.2.3.2"), (0.0, 2.5), ("a", "b")
    )
    refs = References(("1.2.3",), ("9.9",), ("1.2.3.7",))
    ((warning, unnamed),) = link_to_series(refs, info, "rs.dcm")
    assert "rs.dcm was drawn on slices that are not among the 2 of image series 1.2.3" in warning
    assert "not on the image series" not in warning
    assert unnamed.startswith(
        "The structure set was drawn on slices that are not among the 2 of the image series "
        "(another reconstruction or stack under the same series UID); both share a frame of "
        "reference, so it is linked"
    )


def test_a_set_drawn_on_another_series_of_an_upload_names_both_as_the_user_knows_them() -> None:
    """An upload's set drawn on its MR, read on its CT: the warning named both by their UIDs,
    remapped by de-identification (nothing the user has). Named by SeriesNumber, description and
    modality, and the frame of reference by no UID; a read as sent keeps the UIDs."""
    info = SeriesInfo("2.25.1", "2.25.9", "2.25.7", "CT", "", ("2.25.1.1",), (0.0,), ("a",))
    refs = References(("2.25.2",), ("2.25.7",), ("2.25.2.1",))
    names = {"2.25.1": "series 2 (CT)", "2.25.2": "series 3 'T1' (MR)"}
    ((warning, _),) = link_to_series(refs, info, "rs.dcm", names)
    assert warning.startswith(
        "rs.dcm was drawn on series 3 'T1' (MR), not on the image series 2 (CT); both share a "
        "frame of reference, so it is linked"
    )
    ((as_sent, _),) = link_to_series(refs, info, "rs.dcm")
    assert "drawn on series 2.25.2, not on the image series 2.25.1; both share frame of " in as_sent
    unnumbered = {"2.25.1": series_shown("CT", "", ""), "2.25.2": series_shown("MR", "", "T1")}
    ((warning, _),) = link_to_series(refs, info, "rs.dcm", unnumbered)
    assert "drawn on MR series 'T1', not on the image CT series; both share a frame" in warning


@pytest.mark.parametrize(
    ("planes_z", "slices"),
    [((2.5, 10.0, 17.5), list(range(9))), ((2.5, 17.5), [1, 2, 7, 8])],
)
def test_evenly_spaced_planes_farther_apart_than_5_mm_fill_their_slabs(
    tmp_path: Path, planes_z: tuple[float, ...], slices: list[int]
) -> None:
    """A structure drawn on a 7.5 mm series of the frame of reference (a thick MR under a thin
    CT) took 5 mm slabs: every third slice stayed empty and the note said 'planes 5.00 mm apart'.
    Two lone planes far apart (single-slice lesions) still take 5 mm, not all between them."""
    rois = {"GTV": [square((0, 0), 8, z) for z in planes_z]}
    image, info, rt = setup_case(tmp_path, rois, series_uid="1.2.3.4.5")
    notes: list[str] = []
    mask = rtstruct_to_masks(rt, image, info, ["GTV"], notes)["GTV"]
    assert filled_slices(mask) == slices
    gap = planes_z[1] - planes_z[0]
    assert f"on planes {gap:.2f} mm apart" in notes[0]
    assert any("leaves 4 slice(s) empty" in n for n in notes) == (len(planes_z) == 2)


def test_a_hole_written_a_little_off_its_outline_stays_a_hole(tmp_path: Path) -> None:
    """Contours between the image's slices (another series), a ring's inner contour 0.06 mm
    off its outline: the slice took the nearer of the two planes alone (a filled disc, or only
    the hole's disc), not the ring."""
    z = 5.0 + 0.3 * SPACING[2]
    rings = [[square((0, 0), 16, z), square((0, 0), 8, z + d)] for d in (0.0, 0.06, -0.06)]
    areas = []
    for i, ring in enumerate(rings):
        image, info, rt = setup_case(tmp_path / str(i), {"GTV": ring}, series_uid="1.2.3.4.5")
        mask = sitk.GetArrayFromImage(rtstruct_to_masks(rt, image, info, ["GTV"], [])["GTV"])
        areas.append(int(mask.sum()))
    assert areas[1] == areas[2] == areas[0]
    assert areas[0] == pytest.approx((16**2 - 8**2) / 0.8**2, rel=0.1)


def test_structures_sharing_an_roi_number_are_refused_not_merged(tmp_path: Path) -> None:
    """Two structures given one ROI number (a damaged export): the second's contours were added
    to the first's (a GTV took the body's), or the GTV vanished; now each is refused by name."""
    slices = ct_slices(np.zeros((9, 40, 40)), spacing=SPACING, origin=(-16.0, -16.0, 0.0))
    for i, ds in enumerate(slices):
        write(ds, tmp_path / "ct" / f"{i}.dcm")
    rois = {
        "External": [square((0, 0), 20, z) for z in (5.0, 7.5, 10.0)],
        "GTV": [square((0, 0), 4, 7.5)],
        "Liver": [square((0, 0), 12, z) for z in (5.0, 7.5)],
    }
    ds = rtstruct(slices, rois)
    ds.StructureSetROISequence[1].ROINumber = 1
    ds.ROIContourSequence[1].ReferencedROINumber = 1
    write(ds, tmp_path / "rs.dcm")
    image, info = read_series(tmp_path / "ct")
    rt = read_rtstruct(tmp_path / "rs.dcm")
    assert any("'External' and 'GTV' share ROI number 1" in w for w in rt.warnings)
    for name in ("External", "GTV"):
        with pytest.raises(RTStructError, match="share ROI number 1.*cannot be told apart"):
            rtstruct_to_masks(rt, image, info, [name])
    assert voxel_volume(rtstruct_to_masks(rt, image, info, ["Liver"])["Liver"]) > 0


def test_a_real_mr_contour_fills_every_slice_of_a_series_at_half_its_spacing(
    shared_data: Path,
) -> None:
    """The sarcoma T1 MR's own contours (every 3.27 mm, one gap written 3.269 mm) on a
    reconstruction of the same frame of reference at half its spacing: the slab from the smallest
    gap was 1.9994 slices, the slices halfway between planes lay in no slab, and the GTV came out
    205 mL with 27 empty slices instead of the 365 mL it is on the MR it was drawn on."""
    root = shared_data / "sts_sarcoma" / "STS_001" / "MR_T1"
    image, info = read_series(root / "image")
    rt = read_rtstruct(root / "mask" / "RS.dcm")
    spacing, size = image.GetSpacing(), image.GetSize()
    half = sitk.Resample(
        image,
        [size[0], size[1], 2 * size[2] - 1],
        sitk.Transform(),
        sitk.sitkLinear,
        image.GetOrigin(),
        [spacing[0], spacing[1], spacing[2] / 2],
        image.GetDirection(),
    )
    thin = dataclasses.replace(info, series_uid="1.2.826.0.1.9", sop_instance_uids=("1.2.9",))
    volumes, notes = [], []
    for grid, series in ((image, info), (half, thin)):
        mask = rtstruct_to_masks(rt, grid, series, ["GTV_Mass_MR_T1"], notes)["GTV_Mass_MR_T1"]
        volumes.append(voxel_volume(mask) / 1000)
        filled = filled_slices(mask)
        assert filled == list(range(filled[0], filled[-1] + 1))  # no slice left empty
    assert volumes[0] == pytest.approx(365.3, abs=0.1)
    assert volumes[1] == pytest.approx(volumes[0], rel=0.01)
    assert notes == [
        "Structure 'GTV_Mass_MR_T1' was contoured on planes 3.27 mm apart (the image's slices "
        "are 1.63 mm apart): each slice takes the contours of the plane whose 3.27 mm slab "
        "holds it."
    ]


def test_the_series_gap_is_the_median_of_the_near_smallest_steps() -> None:
    """One gap written 3.269 mm among 3.270s is no thinner series: the smallest step made the
    slab 1.9994 slices of a 1.635 mm image, and the slices halfway between planes lay in none."""
    from survival_core.io.rtstruct import _series_gap

    assert _series_gap(np.array([3.27, 3.269, 3.27, 3.27, 6.54])) == pytest.approx(3.27)
    assert _series_gap(np.array([2.5])) == 2.5  # one step: itself
    # a hole 0.39 mm off its outline on two planes: no run of 0.39 mm steps, no 0.39 mm series
    assert _series_gap(np.array([3.27, 3.27, 3.27, 0.39, 2.88, 0.39, 2.88, 3.27])) == 3.27
    # a plane planned halfway between two 3 mm planes: a pair of 1.5 mm steps is no run
    assert _series_gap(np.array([3.0, 3.0, 3.0, 1.5, 1.5, 3.0, 3.0, 3.0])) == 3.0


def test_a_slice_centre_a_rounding_past_a_slab_limit_goes_to_the_lower_plane() -> None:
    """Planes 2 slices apart whose slab was read 1.9994 slices thick (z rounded): a centre
    0.0003 slices past the limit is within the slack, taken by the lower plane, not left out."""
    from survival_core.io.rtstruct import _slice_of_plane

    taken = _slice_of_plane([26.0, 28.0, 30.0], 40, 1.9994, slack=0.01 / 1.635)
    # two slices a plane, as a slab of 2: slice 25, on the first plane's lower limit, is below it
    assert taken == {26: 26.0, 27: 26.0, 28: 28.0, 29: 28.0, 30: 30.0, 31: 30.0}
    assert _slice_of_plane([26.0, 28.0], 40, 1.9994, slack=1e-6) == {26: 26.0, 28: 28.0}


def _sarcoma_ct_with(shared_data: Path, folder: Path, edit) -> Path:
    """A copy of the real sarcoma CT case in ``folder``, its RTSTRUCT changed by ``edit``."""
    import shutil

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    shutil.copytree(source, folder)
    rs = folder / "mask" / "RS.dcm"
    ds = pydicom.dcmread(rs)
    edit(ds)
    ds.save_as(rs)
    return folder


def test_a_real_set_naming_no_series_or_frame_says_so(shared_data: Path, tmp_path: Path) -> None:
    """The sarcoma CT's RTSTRUCT without its ReferencedFrameOfReferenceSequence (so naming no
    series, its slice UIDs not the re-exported image's) was said drawn on 'another
    reconstruction or stack under the same series UID'; without any frame of reference UID
    too, refused only with 'Give the RTSTRUCT that belongs to this image'."""
    from survival_core.io.case_loader import load_case

    def no_series(ds: pydicom.Dataset) -> None:
        del ds.ReferencedFrameOfReferenceSequence

    case = load_case(_sarcoma_ct_with(shared_data, tmp_path / "a", no_series))
    assert case.mask_volume_ml("gtv") == pytest.approx(365.3, abs=0.1)
    (linked,) = [w for w in case.warnings if "linked by frame of reference" in w]
    assert "of image series" in linked and "and names no series; both share frame" in linked
    assert "another reconstruction" not in linked

    def no_frame(ds: pydicom.Dataset) -> None:
        no_series(ds)
        for roi in ds.StructureSetROISequence:
            del roi.ReferencedFrameOfReferenceUID

    with pytest.raises(RTStructError) as refused:
        load_case(_sarcoma_ct_with(shared_data, tmp_path / "b", no_frame))
    said = str(refused.value)
    assert "references none of the 59 slices of image series" in said
    assert "it carries no frame of reference UID, so its contours cannot be placed" in said
    assert said.endswith("or export it again with its frame of reference.")


def test_a_real_set_whose_series_and_slice_references_disagree_is_refused(
    shared_data: Path, tmp_path: Path
) -> None:
    """The sarcoma CT beside a contrast phase of it (its own series and slice UIDs, +200 HU),
    the RTSTRUCT's series reference naming the native CT and its slice references
    (ContourImageSequence) the contrast phase's slices: the contrast phase was read, one warning
    saying the set was drawn on the native series, another that the structures were drawn on it
    too. Refused naming both and asking for the series."""
    from pydicom.uid import generate_uid

    from survival_core.io.case_loader import load_case

    folder = _sarcoma_ct_with(shared_data, tmp_path / "ct", lambda ds: None)
    (folder / "contrast").mkdir()
    phase, by_z = generate_uid(), {}
    for path in sorted((folder / "image").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        native = ds.SeriesInstanceUID
        ds.SeriesInstanceUID, ds.SeriesDescription = phase, "PV phase"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.PixelData = (ds.pixel_array + 200).astype(ds.pixel_array.dtype).tobytes()
        ds.save_as(folder / "contrast" / path.name)
        by_z[round(float(ds.ImagePositionPatient[2]), 1)] = ds.SOPInstanceUID
    rs = folder / "mask" / "RS.dcm"
    ds = pydicom.dcmread(rs)
    ref = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    ref.RTReferencedSeriesSequence[0].SeriesInstanceUID = native
    for contour in ds.ROIContourSequence[0].ContourSequence:
        z = round(float(contour.ContourData[2]), 1)
        contour.ContourImageSequence[0].ReferencedSOPInstanceUID = by_z[z]
    ds.save_as(rs)
    with pytest.raises(DicomError) as refused:
        load_case(folder)
    said = str(refused.value)
    assert "the structure set's references disagree: its series reference names " in said
    assert f"names {native} (CT series 2, 'IBSI_1_STS_001_CT_image', 59 slices" in said
    assert f"(ContourImageSequence) the slices of {phase} (CT series 2, 'PV phase'" in said
    assert said.endswith("say which one to use (--series).")
    case = load_case(folder, series_uid=native)
    assert case.mask_volume_ml("gtv") == pytest.approx(365.3, abs=0.1)


def test_every_latin1_structure_name_is_said_guessed(shared_data: Path, tmp_path: Path) -> None:
    """The real sarcoma CT's RTSTRUCT declaring no character set at its top, its GTV named
    'Tumör' and a copy of it 'Größe' in Latin-1 bytes: the guess was said of the first name
    only (listing the character sets decoded every name in place, so the second was seen as
    pydicom's 'Gr\\ufffd\\ufffde' and not guessed). Both are read as Latin-1, each said so."""
    import copy

    from survival_core.io.case_loader import load_case

    def latin1_names(ds: pydicom.Dataset) -> None:
        del ds.SpecificCharacterSet  # the exporter's ISO_IR 192 stays in its items
        for keyword in ("StructureSetROISequence", "ROIContourSequence"):
            ds[keyword].value.append(copy.deepcopy(ds[keyword].value[0]))
        ds.StructureSetROISequence[1].ROINumber = ds.ROIContourSequence[1].ReferencedROINumber = 2
        for item, name in zip(ds.StructureSetROISequence, ("Tumör", "Größe"), strict=True):
            item[0x30060026].value = name.encode("latin-1")

    case = load_case(_sarcoma_ct_with(shared_data, tmp_path / "ct", latin1_names))
    assert list(case.structures) == ["Tumör", "Größe"]
    assert [w for w in case.warnings if "a guess" in w] == [
        f"The name of ROI number {number} is not text of the character set the structure set "
        f"declares (ISO_IR 192); read as Latin-1 (Windows-1252), a guess, as {name!r}. Check "
        "the name, or export the structure set again declaring its character set "
        "(SpecificCharacterSet)."
        for number, name in ((1, "Tumör"), (2, "Größe"))
    ]


def _sarcoma_gtv_plus(
    shared_data: Path, extra=lambda planes: [], *, every: int = 1, by_series: bool = False
) -> tuple[float, list[str], sitk.Image]:
    """The real sarcoma CT's GTV (3.27 mm planes, on the image's slices), every ``every``-th of
    its planes, with the contours ``extra(planes)`` adds (``planes``: z -> that plane's GTV
    contours), linked to the image by frame of reference as the file is, or by the image's
    series UID (``by_series``: drawn on this image): its volume (mL), the notes and the mask."""
    root = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not root.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    image, info = read_series(root / "image")
    rt = read_rtstruct(root / "mask" / "RS.dcm")
    gtv = rt.rois["GTV_Mass_CT"]
    planes: dict[float, list[np.ndarray]] = {}
    for contour in gtv.contours:
        planes.setdefault(round(float(contour[0, 2]), 2), []).append(contour)
    planes = {z: planes[z] for z in sorted(planes)[::every]}
    contours = [c for on_plane in planes.values() for c in on_plane] + extra(planes)
    roi = dataclasses.replace(
        gtv, contours=contours, geometric_types=["CLOSED_PLANAR"] * len(contours)
    )
    references = rt.references
    if by_series:
        references = References((info.series_uid,), references.frame_of_reference_uids)
    rt = dataclasses.replace(rt, rois={**rt.rois, roi.name: roi}, references=references)
    notes: list[str] = []
    mask = rtstruct_to_masks(rt, image, info, [roi.name], notes)[roi.name]
    return voxel_volume(mask) / 1000, notes, mask


@pytest.mark.parametrize("off_mm", [0.0, 0.4])
def test_a_real_gtvs_hole_written_0_4_mm_off_its_outline_is_cut(
    shared_data: Path, off_mm: float
) -> None:
    """The sarcoma GTV with a hole (its outline shrunk to 0.4) on its three middle planes,
    written 0.4 mm (0.12 slice) off them: the smallest step between planes, 0.4 mm, was taken
    for the contouring series' spacing, the hole's 0.4 mm slab held no slice and the hole was
    filled (365.32 mL); an independent even-odd rasteriser, each contour on its nearest slice,
    gives 356.65 mL, as the hole on its outline's plane does."""

    def hole(planes: dict[float, list[np.ndarray]]) -> list[np.ndarray]:
        middle = sorted(planes)[len(planes) // 2 - 1 : len(planes) // 2 + 2]
        holes = [c.mean(0) + (c - c.mean(0)) * 0.4 for z in middle for c in planes[z]]
        return [h + [0, 0, off_mm] for h in holes]

    volume, notes, _ = _sarcoma_gtv_plus(shared_data, hole)
    assert volume == pytest.approx(356.65, abs=0.01)
    assert notes == (
        []
        if not off_mm
        else [
            "Structure 'GTV_Mass_CT' has 3 contoured plane(s) less than half its 3.27 mm plane "
            "spacing from another (a hole or a second lesion written at another z): each fills "
            "its nearest slice (26, 27, 28), united there with that slice's contours (one well "
            "inside them cuts a hole, a near copy of one counts once)."
        ]
    )


@pytest.mark.parametrize("off_slices", [0.0, 0.3])
def test_a_real_gtvs_second_lesion_off_its_planes_is_kept(
    shared_data: Path, off_slices: float
) -> None:
    """A 14 mm square lesion beside the sarcoma GTV on five of its planes, written 0.3 slice
    (0.98 mm) off them: its planes' slabs, as thin as that step, held no slice and the lesion
    vanished (365.32 mL, the GTV alone); it is kept on its nearest slices, as on its own
    planes."""

    def lesion(planes: dict[float, list[np.ndarray]]) -> list[np.ndarray]:
        middle = sorted(planes)[len(planes) // 2 - 2 : len(planes) // 2 + 3]
        return [square((150, -70), 14, z + off_slices * 3.27) for z in middle]

    volume, notes, mask = _sarcoma_gtv_plus(shared_data, lesion)
    assert volume == pytest.approx(368.37, abs=0.01)  # the GTV's 365.32 + 5 slices of 14 x 14
    x, y, _ = mask.TransformPhysicalPointToIndex((150.0, -70.0, 0.0))
    lesion_slices = np.flatnonzero(sitk.GetArrayFromImage(mask)[:, y, x]).tolist()
    assert lesion_slices == [25, 26, 27, 28, 29]
    assert bool(notes) == bool(off_slices)


def test_a_real_gtv_on_every_other_slice_drawn_here_says_its_volume_is_of_those_alone(
    shared_data: Path,
) -> None:
    """Every other plane of the sarcoma GTV: linked by frame of reference, each plane's 6.54 mm
    slab fills the slice between (364.7 mL); linked by the image's series UID, drawn on it, the
    contoured slices alone (182.3 mL, -50 %), which the note told only as 'its mask and shape
    features have those gaps'."""
    by_frame, _, _ = _sarcoma_gtv_plus(shared_data, every=2)
    by_series, notes, _ = _sarcoma_gtv_plus(shared_data, every=2, by_series=True)
    assert by_frame == pytest.approx(364.7, abs=0.1)
    assert by_series == pytest.approx(182.3, abs=0.1)
    assert notes == [
        "Structure 'GTV_Mass_CT' leaves 15 slice(s) empty between its first and last (13, 15, "
        "17, 19, 21 ...): its contours skip them (drawn on every other slice, or separate "
        "lesions), so its volume counts only the 16 contoured slices of the 31 from its first "
        "to its last (about half the tumour when every other slice is contoured), and its mask "
        "and shape features have those gaps. A structure set exported with its contours "
        "interpolated onto every slice gives the whole volume."
    ]


def _sphere_on_sarcoma_frame(
    shared_data: Path, slice_mm: float, planes_mm: list[float], extra: list[np.ndarray]
) -> tuple[float, list[str]]:
    """A 20 mm-radius sphere (33.51 mL) centred 75 mm above the real sarcoma CT's first slice,
    contoured on ``planes_mm`` (mm above that slice) with ``extra`` contours too, rasterised on
    that CT's frame resliced to ``slice_mm`` over 150 mm, linked by frame of reference: its
    volume (mL) and the notes."""
    root = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not root.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    ct, info = read_series(root / "image")
    rt = read_rtstruct(root / "mask" / "RS.dcm")
    image = sitk.Image([*ct.GetSize()[:2], int(150 / slice_mm)], sitk.sitkInt16)
    image.SetOrigin(ct.GetOrigin())
    image.SetDirection(ct.GetDirection())
    image.SetSpacing((*ct.GetSpacing()[:2], slice_mm))
    z0 = ct.GetOrigin()[2]
    info = dataclasses.replace(
        info, slice_positions=tuple(z0 + k * slice_mm for k in range(image.GetSize()[2]))
    )
    contours = [sphere_section(ct, z0 + z) for z in planes_mm if abs(z - 75) < 20] + extra
    roi = dataclasses.replace(
        rt.rois["GTV_Mass_CT"],
        contours=contours,
        geometric_types=["CLOSED_PLANAR"] * len(contours),
    )
    rt = dataclasses.replace(rt, rois={roi.name: roi})
    notes: list[str] = []
    mask = rtstruct_to_masks(rt, image, info, [roi.name], notes)[roi.name]
    return voxel_volume(mask) / 1000, notes


def sphere_section(ct: sitk.Image, z: float, scale: float = 1.0) -> np.ndarray:
    """The outline (64 points) of the 20 mm sphere of :func:`_sphere_on_sarcoma_frame` at
    patient z ``z`` (mm), its radius times ``scale``, centred in ``ct``'s field of view."""
    x, y = np.asarray(ct.GetOrigin()[:2]) + np.multiply(ct.GetSpacing()[:2], ct.GetSize()[:2]) / 2
    radius = scale * np.sqrt(20.0**2 - (z - ct.GetOrigin()[2] - 75) ** 2)
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    return np.c_[x + radius * np.cos(t), y + radius * np.sin(t), np.full(64, z)]


STRAY_NOTE = (
    "Structure 'GTV_Mass_CT' has {n} contoured plane(s) less than half its 3.00 mm plane "
    "spacing from another (a hole or a second lesion written at another z): each fills its "
    "nearest slice ({slices}), united there with that slice's contours (one well inside them "
    "cuts a hole, a near copy of one counts once)."
)


@pytest.mark.parametrize("scale", [0.95, 1.05])
def test_near_copies_of_outlines_half_a_mm_off_their_slices_count_once(
    shared_data: Path, scale: float
) -> None:
    """A sphere on every slice of a 3 mm image in the sarcoma CT's frame plus copies of three
    middle outlines 0.5 mm above them, 5 % smaller or larger (interpolated or duplicate
    outlines, as planning systems write them): combined with their slice's outline by the
    even-odd rule, each of those slices became a thin ring, 23.66 / 23.76 mL for 33.52."""
    ct = read_series(shared_data / "sts_sarcoma" / "STS_001" / "CT" / "image")[0]
    z0 = ct.GetOrigin()[2]
    copies = [sphere_section(ct, z0 + z + 0.5, scale) for z in (69.0, 72.0, 75.0)]
    volume, notes = _sphere_on_sarcoma_frame(shared_data, 3.0, list(np.arange(50) * 3.0), copies)
    assert volume == pytest.approx(33.52, abs=0.1)
    assert notes == [STRAY_NOTE.format(n=3, slices="23, 24, 25")]


@pytest.mark.parametrize("above", [0.3, 0.55])
def test_an_interpolated_plane_between_two_slices_adds_its_section_alone(
    shared_data: Path, above: float
) -> None:
    """One interpolated plane carrying the sphere's true section 0.3 (0.55) slice above a slice
    of the 3 mm image, every slice contoured: filled by the even-odd rule with its nearest
    slice's outline it cut a ring out of it, 30.67 (30.29) mL for 33.52."""
    ct = read_series(shared_data / "sts_sarcoma" / "STS_001" / "CT" / "image")[0]
    z = 84.0 + above * 3.0
    extra = [sphere_section(ct, ct.GetOrigin()[2] + z)]
    volume, notes = _sphere_on_sarcoma_frame(shared_data, 3.0, list(np.arange(50) * 3.0), extra)
    assert volume == pytest.approx(33.52, abs=0.3)
    assert notes == [STRAY_NOTE.format(n=1, slices=round(z / 3))]


def test_one_plane_halfway_between_3_mm_planes_leaves_their_spacing(shared_data: Path) -> None:
    """A sphere contoured every 3 mm over a 1 mm image of the sarcoma CT's frame, plus one
    plane a planning system interpolated halfway between two: its two 1.5 mm steps were taken
    for the series' spacing, and the 1.5 mm slabs filled 15 of the 37 slices (12.54 mL)."""
    planes = list(np.arange(50) * 3.0)
    ct = read_series(shared_data / "sts_sarcoma" / "STS_001" / "CT" / "image")[0]
    halfway = [sphere_section(ct, ct.GetOrigin()[2] + 88.5)]
    without, _ = _sphere_on_sarcoma_frame(shared_data, 1.0, planes, [])
    volume, _ = _sphere_on_sarcoma_frame(shared_data, 1.0, planes, halfway)
    assert without == pytest.approx(33.52, abs=0.01)
    assert volume == pytest.approx(without, rel=0.01)
