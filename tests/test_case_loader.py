"""Whole cases: DICOM + RTSTRUCT or volume folders, as folders or zips, with clinical.json."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import (
    ClinicalValueError,
    GeometryError,
    InputError,
    MaskError,
    PlacementConflict,
    RTStructError,
)
from survival_core.io.case_loader import list_structures, load_case, load_case_files
from survival_core.io.deid import Deidentifier, case_pseudonym
from survival_core.io.structures import WHERE_TO_SAY
from tests.case_builders import lung1_around_tumour, write_suv_volume_case
from tests.dicom_fixtures import (
    ct_slices,
    hu_volume,
    rtstruct,
    square,
    with_roi_copy,
    write,
    write_scrambled,
)

#: The values of write_dicom_case's patient, keyed by its images' PatientID.
CLINICAL = {
    "case_id": "SYNTHETIC",
    "age": 63,
    "sex": "M",
    "albumin": 38,
    "bilirubin": 15,
    "cirrhosis": "yes",
}
SPACING = (1.5, 1.5, 2.5)
ORIGIN = (-18.0, -18.0, 0.0)
Z = [k * SPACING[2] for k in range(8)]
LIVER = [square((0.75, 0.75), 24.0, z) for z in Z[1:7]]  # edges midway between voxel centres
GTV = [square((2.0, 1.0), 9.0, z) for z in Z[3:5]]


def write_dicom_case(
    folder: Path, rois: dict | None = None, clinical: dict | None = CLINICAL, **refs
) -> list:
    slices = ct_slices(hu_volume((8, 24, 24)), spacing=SPACING, origin=ORIGIN)
    write_scrambled(slices, folder / "ct", seed=11)
    write(rtstruct(slices, rois or {"Liver": LIVER, "GTV": GTV}, **refs), folder / "rtstruct.dcm")
    if clinical is not None:
        (folder / "clinical.json").write_text(json.dumps(clinical))
    return slices


def masks_of(shape: tuple[int, int, int] = (8, 24, 24)) -> tuple[np.ndarray, np.ndarray]:
    liver = np.zeros(shape, np.uint8)
    liver[1:7, 4:20, 4:20] = 1
    gtv = np.zeros(shape, np.uint8)
    gtv[3:5, 9:13, 10:14] = 1
    return liver, gtv


def to_image(array: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    return image


def write_volume_case(
    folder: Path, names: tuple[str, str, str] = ("image.nii.gz", "liver.nii.gz", "gtv.nii.gz")
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    liver, gtv = masks_of()
    for array, name in zip(
        (hu_volume((8, 24, 24)).astype(np.int16), liver, gtv), names, strict=True
    ):
        sitk.WriteImage(to_image(array), str(folder / name))


def check_dicom_masks(case) -> None:
    liver, gtv = case.mask_array("organ"), case.mask_array("gtv")
    voxel = np.prod(SPACING)
    assert liver.sum() * voxel == pytest.approx(24 * 24 * 2.5 * 6, rel=0.01)
    assert gtv.sum() * voxel == pytest.approx(9 * 9 * 2.5 * 2, rel=0.01)
    assert not (gtv & ~liver).any()
    assert case.masks["gtv"].GetSize() == case.image.GetSize() == (24, 24, 8)


def test_dicom_case_folder(tmp_path: Path) -> None:
    write_dicom_case(tmp_path / "case")
    (tmp_path / "case" / "notes.txt").write_text("not imaging")
    case = load_case(tmp_path / "case")
    assert (  # named by its images' pseudonym, never by clinical.json's PatientID
        case.case_id == Deidentifier().pseudonym("SYNTHETIC")
        and case.modality == "CT"
        and case.source == str(tmp_path / "case")
    )
    np.testing.assert_array_equal(case.array(), hu_volume((8, 24, 24)))
    check_dicom_masks(case)
    assert case.clinical["age"] == 63.0 and case.clinical["cirrhosis"] is True
    assert case.clinical["albi_grade"] == 2 and case.clinical["ecog"] is None


def test_dicom_case_zip_with_wrapping_folder(tmp_path: Path) -> None:
    write_dicom_case(tmp_path / "src" / "case_042", clinical=None)
    archive = shutil.make_archive(str(tmp_path / "upload"), "zip", tmp_path / "src")
    case = load_case(archive)
    # no clinical.json naming the case and not marked de-identified: the keyed pseudonym
    assert case.case_id == Deidentifier().pseudonym("SYNTHETIC") and case.clinical == {}
    check_dicom_masks(case)
    assert list_structures(archive) == ["Liver", "GTV"]


def test_error_inside_zip_names_the_archive_member(tmp_path: Path) -> None:
    write_dicom_case(tmp_path / "src", rois={"Liver": LIVER, "GTV1": GTV, "GTV2": GTV})
    shutil.copy(tmp_path / "src" / "rtstruct.dcm", tmp_path / "src" / "copy.dcm")
    archive = shutil.make_archive(str(tmp_path / "upload"), "zip", tmp_path / "src")
    with pytest.raises(RTStructError, match=f"{archive}:(copy|rtstruct).dcm") as err:
        load_case(archive)
    assert "radsurv-case-" not in str(err.value)


def test_ambiguous_structures_resolved_by_roles(tmp_path: Path) -> None:
    write_dicom_case(
        tmp_path, rois={"Liver": LIVER, "GTV1": GTV, "GTV2": [square((-6.75, -6.75), 3.0, Z[2])]}
    )
    # Several GTV structures are one tumour by default (united, with a warning naming them).
    united = load_case(tmp_path)
    assert united.mask_array("gtv").sum() > 4 and united.site == "liver"
    assert any("union of 'GTV1', 'GTV2'" in w for w in united.warnings)
    assert set(united.structures) == {"Liver", "GTV1", "GTV2"}
    assert list_structures(tmp_path) == ["Liver", "GTV1", "GTV2"]
    case = load_case(tmp_path, roles={"gtv": "GTV2"})
    assert case.mask_array("gtv")[2].sum() == 4 and case.mask_array("gtv").sum() == 4
    assert case.mask_array("organ").sum() > 1000


def test_required_roles(tmp_path: Path) -> None:
    write_dicom_case(tmp_path, rois={"Tumour": GTV, "Body": LIVER})
    with pytest.raises(
        RTStructError, match="No structure is recognised as the organ.*'Tumour', 'Body'"
    ):
        load_case(tmp_path, require=("gtv", "organ"))
    # The GTV alone is required by default; the organ is optional.
    case = load_case(tmp_path)
    assert list(case.masks) == ["gtv"] and case.site is None
    case = load_case(tmp_path, roles={"organ": "Body"})
    assert set(case.masks) == {"organ", "gtv"}
    # Earlier versions' role name still works.
    assert set(load_case(tmp_path, roles={"liver": "Body"}).masks) == {"organ", "gtv"}
    with pytest.raises(InputError, match="Unknown role"):
        load_case(tmp_path, roles={"spleen": "Body"})


def test_rtstruct_of_another_series_linked_by_frame_of_reference(tmp_path: Path) -> None:
    slices = write_dicom_case(tmp_path, series_uid="1.2.3.999")
    case = load_case(tmp_path)
    (warning,) = [w for w in case.warnings if "1.2.3.999" in w]
    assert slices[0].SeriesInstanceUID in warning and "frame of reference" in warning
    assert case.mask_array("gtv").any()


def test_rtstruct_of_another_frame_of_reference_refused(tmp_path: Path) -> None:
    write_dicom_case(tmp_path / "a", series_uid="1.2.3.999", frame_uid="1.2.3.4")
    with pytest.raises(RTStructError, match=r"frame of reference 1\.2\.3\.4, but the image"):
        load_case(tmp_path / "a")


def _sarcoma_ct_and_its_set(shared_data: Path, tmp_path: Path):
    """The real STS_001 CT's slices copied into ``tmp_path / 'case'`` and its RTSTRUCT read, for
    a test to edit and save beside them (skipped without the sarcoma CT)."""
    import pydicom

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    folder = tmp_path / "case"
    shutil.copytree(source / "image", folder)
    return folder, pydicom.dcmread(source / "mask" / "RS.dcm")


def _sarcoma_with_a_gtv_in_another_frame(shared_data: Path, tmp_path: Path) -> Path:
    """The real STS_001 CT and RTSTRUCT, the RTSTRUCT holding a second GTV ('GTV_2', the GTV
    moved 45 mm to the right at 40 % size) in another frame of reference (an MR's, registered
    elsewhere), declared in the set as a multi-frame structure set declares it."""
    import copy

    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    folder, rs = _sarcoma_ct_and_its_set(shared_data, tmp_path)
    other = generate_uid()
    roi = copy.deepcopy(rs.StructureSetROISequence[0])
    roi.ROINumber, roi.ROIName, roi.ReferencedFrameOfReferenceUID = 99, "GTV_2", other
    rs.StructureSetROISequence[0].ROIName = "GTV_1"
    rs.StructureSetROISequence.append(roi)
    contours = copy.deepcopy(rs.ROIContourSequence[0])
    contours.ReferencedROINumber = 99
    for contour in contours.ContourSequence:
        points = np.asarray(contour.ContourData, float).reshape(-1, 3)
        centre = points[:, :2].mean(axis=0)
        points[:, :2] = centre + (points[:, :2] - centre) * 0.4 + [-45.0, 0.0]
        contour.ContourData = [f"{v:.4f}" for v in points.ravel()]
    rs.ROIContourSequence.append(contours)
    frame = Dataset()
    frame.FrameOfReferenceUID = other
    rs.ReferencedFrameOfReferenceSequence.append(frame)
    rs.save_as(folder / "RS.dcm")
    return folder


def test_a_structure_in_another_frame_of_reference_is_left_out(
    shared_data: Path, tmp_path: Path
) -> None:
    """An ROI whose own frame of reference is not the image's (StructureSetROISequence) was
    rasterised in the image's coordinates and united with the GTV (411 mL instead of 365 mL, its
    centre 5 mm off) without a word. It is left out, with a warning naming its frame; named
    as the GTV, it is refused."""
    folder = _sarcoma_with_a_gtv_in_another_frame(shared_data, tmp_path)
    case = load_case(folder)
    assert list(case.structures) == ["GTV_1"]
    gtv = case.mask_array("gtv")
    assert np.array_equal(gtv, sitk.GetArrayFromImage(case.structures["GTV_1"]).astype(bool))
    assert abs(gtv.sum() * np.prod(case.image.GetSpacing()) / 1000 - 365.3) < 0.5
    left_out = [w for w in case.warnings if w.startswith("Structure 'GTV_2' of RS.dcm lies in")]
    assert len(left_out) == 1 and "frame of reference" in left_out[0], case.warnings
    assert left_out[0].endswith("left out.")
    with pytest.raises(RTStructError, match="'GTV_2' of RS.dcm lies in frame of reference"):
        load_case(folder, roles={"gtv": ["GTV_2"]})


@pytest.mark.parametrize(
    ("clinical", "expected"),
    [
        ({"age": 300}, r"Age \(age\): 300 years is outside"),
        ({"albumin": 38, "bilirubin": 15, "albi_score": -1.0}, "contradicts"),
    ],
)
def test_invalid_clinical_json(tmp_path: Path, clinical: dict, expected: str) -> None:
    write_dicom_case(tmp_path, clinical=clinical)
    with pytest.raises(ClinicalValueError, match=expected):
        load_case(tmp_path)
    (tmp_path / "clinical.json").write_text("{not json")
    with pytest.raises(ClinicalValueError, match="clinical.json is not valid JSON"):
        load_case(tmp_path)


def test_volume_case_folder(tmp_path: Path) -> None:
    write_volume_case(tmp_path / "case_9")
    case = load_case(tmp_path / "case_9")
    liver, gtv = masks_of()
    assert case.case_id == "case_9"
    np.testing.assert_array_equal(case.mask_array("organ"), liver.astype(bool))
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    assert case.image.GetPixelID() == sitk.sitkFloat32 and case.spacing == SPACING
    assert list_structures(tmp_path / "case_9") == ["gtv.nii.gz", "liver.nii.gz"]
    archive = shutil.make_archive(str(tmp_path / "case_9"), "zip", tmp_path / "case_9")
    assert load_case(archive, case_id="given").case_id == "given"


@pytest.mark.parametrize(
    ("working", "given"),
    [
        ("case_9", "."),
        ("case_9", "./"),
        ("case_9/ct", ".."),
        ("case_9/ct", "../"),
        (".", "case_9/."),
        (".", "case_9/"),
        ("elsewhere", "../case_9/ct/.."),
    ],
)
def test_a_case_folder_given_as_a_relative_path_is_named_after_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, working: str, given: str
) -> None:
    """A volume case without a case_id in its clinical.json takes its folder's name: given as
    '.' ('score --case .' inside it) or '..', the name was Path('.').name, empty, and the score,
    explanation and PDF report were of a patient without an id."""
    write_volume_case(tmp_path / "case_9")
    (tmp_path / "case_9" / "ct").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / working)
    assert load_case(given).case_id == "case_9"


def test_a_case_folder_given_by_a_symbolic_link_is_named_after_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also '.' after a shell's 'cd' into the link, whose working folder the kernel names by
    the target ('0f3a9c'): the shell's $PWD names the link."""
    write_volume_case(tmp_path / "store" / "0f3a9c")
    (tmp_path / "case_9").symlink_to(tmp_path / "store" / "0f3a9c")
    assert load_case(tmp_path / "case_9" / ".").case_id == "case_9"
    monkeypatch.chdir(tmp_path / "case_9")
    monkeypatch.setenv("PWD", str(tmp_path / "case_9"))
    assert load_case(".").case_id == "case_9"
    monkeypatch.setenv("PWD", str(tmp_path))  # stale: another folder's
    assert load_case(".").case_id == "0f3a9c"
    monkeypatch.setenv("PWD", str(tmp_path / "gone"))  # moved or deleted since: no crash
    assert load_case(".").case_id == "0f3a9c"


def test_volume_case_other_names(tmp_path: Path) -> None:
    write_volume_case(tmp_path, ("scan.nrrd", "segA.nii.gz", "Tumor.nii.gz"))
    case = load_case(tmp_path)
    assert "organ" not in case.masks and set(case.structures) == {"segA.nii.gz", "Tumor.nii.gz"}
    with pytest.raises(RTStructError, match="No structure is recognised as the organ"):
        load_case(tmp_path, require=("gtv", "organ"))
    case = load_case(tmp_path, roles={"organ": "segA.nii.gz"})
    np.testing.assert_array_equal(case.mask_array("gtv"), masks_of()[1].astype(bool))
    write_volume_case(tmp_path / "two", ("a.nii.gz", "liver.nii.gz", "b.nii.gz"))
    with pytest.raises(
        InputError, match="Cannot tell which volume .* is the image .*a.nii.gz, b.nii.gz"
    ) as refused:
        load_case(tmp_path / "two", require=())
    assert "name it image.nii.gz. A cohort import names it by `--image`" in str(refused.value)


def test_the_advice_to_name_the_image_keeps_the_modality_its_name_gave(
    shared_data: Path, tmp_path: Path
) -> None:
    """pyradiomics' real brain MR as four sequences of a BraTS case (t1, t1ce, flair, t2 beside
    seg): refused as several images, advised to 'name it image.nii.gz', which read the MR as
    CT with a 'not Hounsfield units' warning. The advice says `--modality MR`, which its
    names gave; followed, the case is MR with its other sequences beside it."""
    brain = shared_data / "pyradiomics"
    for name in ("t1", "t1ce", "flair", "t2"):
        shutil.copy(brain / "brain1_image.nrrd", tmp_path / f"{name}.nrrd")
    shutil.copy(brain / "brain1_label.nrrd", tmp_path / "seg.nrrd")
    with pytest.raises(InputError) as refused:
        load_case(tmp_path)
    assert str(refused.value).endswith(
        "(candidates: flair.nrrd, t1.nrrd, t1ce.nrrd, t2.nrrd); name it image.nii.gz and say "
        "`--modality MR`, as their names do: the name 'image' gives none, and the case would "
        "be read as CT. A cohort import names it by `--image`, its name without extension."
    )
    (tmp_path / "t1ce.nrrd").rename(tmp_path / "image.nrrd")
    case = load_case(tmp_path, modality="MR")
    assert (case.modality, sorted(case.companions)) == ("MR", ["FLAIR", "T1", "T2"])
    assert not any("Hounsfield" in w for w in case.warnings)


def test_volume_mask_on_another_grid(tmp_path: Path) -> None:
    write_volume_case(tmp_path)
    liver = to_image(masks_of()[0])
    liver.SetSpacing((1.0, 1.0, 2.5))
    sitk.WriteImage(liver, str(tmp_path / "liver.nii.gz"))
    with pytest.raises(
        GeometryError, match=r"mask liver.nii.gz \(liver.nii.gz\).*different spacing"
    ):
        load_case(tmp_path)


def test_another_image_beside_the_image_is_its_companion_or_left_out(tmp_path: Path) -> None:
    """A PET volume (SUV, on its own coarser grid) beside the CT, its GTV and the liver is kept
    as the case's PT image (for PET/CT models), not as a structure; an image no name places is
    left out with a warning; named by a role, either is refused as before."""
    write_volume_case(tmp_path)
    pet = sitk.GetImageFromArray(
        np.random.default_rng(0).gamma(2.0, 1.5, (4, 12, 12)).astype(np.float32)
    )
    pet.SetSpacing((3.0, 3.0, 5.0))
    sitk.WriteImage(pet, str(tmp_path / "pet.nii.gz"))
    case = load_case(tmp_path)
    assert case.warnings == [] and list(case.companions) == ["PT"]
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(case.companions["PT"]), sitk.GetArrayFromImage(pet)
    )
    assert case.companions["PT"].GetSpacing() == (3.0, 3.0, 5.0)
    np.testing.assert_array_equal(case.mask_array("gtv"), masks_of()[1].astype(bool))
    assert "pet.nii.gz" not in case.structures
    sitk.WriteImage(pet, str(tmp_path / "scan2.nii.gz"))
    case = load_case(tmp_path)
    assert case.warnings == ["scan2.nii.gz holds an image, not a mask or label map: not read."]
    with pytest.raises(GeometryError, match="pet.nii.gz"):
        load_case(tmp_path, roles={"gtv": "pet.nii.gz"})
    (tmp_path / "scan2.nii.gz").rename(tmp_path / "suv.nii.gz")  # two PETs: neither is taken
    case = load_case(tmp_path)
    assert case.companions == {} and len(case.warnings) == 2
    empty = to_image(np.zeros((8, 24, 24), np.uint8))
    sitk.WriteImage(empty, str(tmp_path / "lesion.nii.gz"))  # an empty mask is not an image
    case = load_case(tmp_path)
    assert any(w.startswith("lesion.nii.gz marks no voxel") for w in case.warnings)
    with pytest.raises(MaskError, match="lesion.nii.gz.*is empty"):
        load_case(tmp_path, roles={"gtv": "lesion.nii.gz"})


@pytest.mark.parametrize("name", ["PT.nii.gz", "STS_001__PT.nii.gz"])
def test_a_lone_image_named_for_its_modality_is_read_as_it(sarcoma_ct, tmp_path, name) -> None:
    """A case folder holding only the real sarcoma's PET ('PT.nii.gz', in SUV) and its GTV was
    read as CT, warned 'not Hounsfield units' and scored by a CT network, while the Case page
    suggested PT for the same files. The only image's name gives its modality unless one is
    said; beside a CT it stays the CT's companion."""
    folder = write_suv_volume_case(sarcoma_ct, tmp_path / "case", name)
    case = load_case(folder)
    assert (case.modality, case.warnings, case.companions) == ("PT", [], {})
    assert case.mask_array("gtv").sum() == sarcoma_ct.mask_array("gtv").sum()
    uploaded = load_case_files(folder / name, {"gtv": folder / "gtv.nii.gz"}, None, "STS")
    assert uploaded.modality == "PT"
    said = load_case(folder, modality="CT")  # a modality said is the case's
    assert said.modality == "CT" and "not Hounsfield units" in said.warnings[0]
    sitk.WriteImage(sarcoma_ct.image, str(folder / "CT.nii.gz"))
    both = load_case(folder)
    assert (both.modality, list(both.companions), both.warnings) == ("CT", ["PT"], [])


def test_an_imported_ct_case_read_as_pt_reads_its_pet(sarcoma_ct, tmp_path) -> None:
    """An imported PET/CT case ('image.nii.gz' the CT, 'PT.nii.gz' beside it) under a PET model
    was refused with the advice '--modality PT', which then read its CT as the PET: SUVmax 157
    (Hounsfield units), a risk of -27.8 and a low risk group. The file named for the modality
    asked is the image; without it, the case's image."""
    folder = write_suv_volume_case(sarcoma_ct, tmp_path / "case")
    pet = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "PT.nii.gz")))
    sitk.WriteImage(sarcoma_ct.image, str(folder / "image.nii.gz"))
    as_pt = load_case(folder, modality="PT")
    assert as_pt.modality == "PT" and np.array_equal(as_pt.array(), pet)
    as_ct = load_case(folder)
    assert (as_ct.modality, list(as_ct.companions)) == ("CT", ["PT"])
    assert np.array_equal(as_ct.array(), sarcoma_ct.array())


def test_an_empty_mask_no_role_names_is_left_out(shared_data: Path, tmp_path: Path) -> None:
    """An all-zero mask file (TotalSegmentator writes one for each organ outside the scan; a
    planning template's 'GTV_2' never drawn) failed the whole case ('mask spleen.nii.gz ... is
    empty'). It is left out with a warning naming it, beside another GTV too; the only GTV
    empty, or a role naming it, is still refused, saying why."""
    lung = shared_data / "pyradiomics"
    if not (lung / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics' samples not in ../shared/data")
    image = sitk.ReadImage(str(lung / "lung1_image.nrrd"))
    gtv = sitk.Cast(sitk.ReadImage(str(lung / "lung1_label.nrrd")) > 0, sitk.sitkUInt8)
    empty = sitk.Image(image.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(image)
    sitk.WriteImage(image, str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(gtv, str(tmp_path / "lung_nodules.nii.gz"))
    for name in ("spleen", "kidney_left", "GTV_2"):
        sitk.WriteImage(empty, str(tmp_path / f"{name}.nii.gz"))
    for roles in (None, {"gtv": ["lung_nodules.nii.gz"]}):
        case = load_case(tmp_path, roles=roles)
        assert sitk.GetArrayViewFromImage(case.masks["gtv"]).sum() == 837
        assert sorted(case.structures) == ["lung_nodules.nii.gz"]
        said = [w.split()[0] for w in case.warnings if "marks no voxel" in w]
        assert said == ["GTV_2.nii.gz", "kidney_left.nii.gz", "spleen.nii.gz"]
    with pytest.raises(MaskError, match=r"spleen.nii.gz \(.*\) is empty"):
        load_case(tmp_path, roles={"organ": "spleen.nii.gz"})
    # a role naming the GTV elsewhere leaves an empty 'GTV_2' out, even where no other name
    # reads as a GTV (a template's empty gtv beside the user's 'mask.nrrd'): it was refused
    (tmp_path / "lung_nodules.nii.gz").rename(tmp_path / "mask.nii.gz")
    case = load_case(tmp_path, roles={"gtv": ["mask.nii.gz"]})
    assert sitk.GetArrayViewFromImage(case.masks["gtv"]).sum() == 837
    (tmp_path / "mask.nii.gz").unlink()  # the empty 'GTV_2' is the only GTV left:
    with pytest.raises(MaskError, match=r"GTV_2.nii.gz \(.*\) is empty"):  # refused as empty,
        load_case(tmp_path)  # not as a case without a GTV


def _refused_alike(
    error: type[Exception], folder: Path, image: Path, mask: Path, label: str
) -> str:
    """The message with which :func:`load_case` refuses ``folder``, after asserting that
    :func:`load_case_files` refuses its ``image`` and GTV ``mask`` (uploaded files, named by
    role; the case ``label``) with the same ``error`` and message."""
    with pytest.raises(error) as refused:
        load_case(folder)
    said = str(refused.value)
    with pytest.raises(error) as refused:  # uploaded files, named by role
        load_case_files(image, {"gtv": mask}, None, label)
    assert str(refused.value) == said
    return said


def test_load_case_files(tmp_path: Path) -> None:
    write_volume_case(tmp_path / "vol")
    case = load_case_files(
        tmp_path / "vol" / "image.nii.gz",
        {"gtv": tmp_path / "vol" / "gtv.nii.gz"},
        {"age": "71", "sex": "f"},
        "UP-1",
    )
    assert case.case_id == "UP-1" and list(case.masks) == ["gtv"] and case.clinical["sex"] == "F"
    write_dicom_case(tmp_path / "dcm")
    rs = tmp_path / "dcm" / "rtstruct.dcm"
    case = load_case_files(tmp_path / "dcm" / "ct", {"organ": rs, "gtv": rs}, None, "UP-2")
    check_dicom_masks(case)
    with pytest.raises(RTStructError, match="only be used with the DICOM series"):
        load_case_files(tmp_path / "vol" / "image.nii.gz", {"gtv": rs}, None, "UP-3")
    # a GTV file of two labels (primary and node) is united as a folder's load says, not silently
    gtv = sitk.ReadImage(str(tmp_path / "vol" / "gtv.nii.gz"))
    labels = sitk.GetArrayFromImage(gtv).astype(np.uint8)
    labels[0, :2, :2] = 2
    two = sitk.GetImageFromArray(labels)
    two.CopyInformation(gtv)
    sitk.WriteImage(two, str(tmp_path / "vol" / "gtv2.nii.gz"))
    case = load_case_files(
        tmp_path / "vol" / "image.nii.gz", {"gtv": tmp_path / "vol" / "gtv2.nii.gz"}, None, "UP-4"
    )
    assert any(w.startswith("The gtv is the union of ") for w in case.warnings), case.warnings
    # its node drawn in the image's corner: the tumour may go on beyond the scan, said as a
    # folder's load says it
    assert any("The GTV reaches the edge of the image (first x plane" in w for w in case.warnings)


def test_a_gtv_filling_the_whole_image_is_refused(shared_data: Path, tmp_path: Path) -> None:
    """A GTV marking every voxel of real lung1 (a probability map thresholded at 0) was accepted
    as a 20,463 mL tumour with only 'reaches the edge of the image (every face)': refused, naming
    the file; lung1's GTV in its CT cropped to the tumour's box touches every face, filling
    part of it, and loads with that warning."""
    image, gtv = lung1_around_tumour(shared_data)
    sitk.WriteImage(image, str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(gtv * 0 + 1, str(tmp_path / "gtv.nii.gz"))
    said = (
        "The GTV (gtv.nii.gz) fills the whole image: it marks 346,752 of its 346,752 voxels "
        "(100.0%, 564 mL), where a tumour marks a part. A probability map thresholded at 0, or a "
        "label map whose background was given a label, is the usual cause: save the GTV with its "
        "tumour's voxels alone (0 elsewhere) and load the case again."
    )
    image_file, gtv_file = tmp_path / "image.nii.gz", tmp_path / "gtv.nii.gz"
    assert _refused_alike(MaskError, tmp_path, image_file, gtv_file, "l") == said

    box = sitk.LabelShapeStatisticsImageFilter()
    box.Execute(gtv)
    x, y, z, sx, sy, sz = box.GetBoundingBox(1)
    sitk.WriteImage(image[x : x + sx, y : y + sy, z : z + sz], str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(gtv[x : x + sx, y : y + sy, z : z + sz], str(tmp_path / "gtv.nii.gz"))
    case = load_case(tmp_path)
    assert case.mask_array("gtv").sum() == 837
    assert any(
        "The GTV reaches the edge of the image (first x plane, last x" in w for w in case.warnings
    )


def test_an_organ_filling_the_whole_image_is_refused_as_a_gtv_is(
    shared_data: Path, sarcoma_ct, tmp_path: Path
) -> None:
    """A liver mask of all ones (a blank mask, or a crop whose mask is its box) beside lung1's GTV
    or the sarcoma CT's RTSTRUCT loaded without a word, its 'liver minus tumour' the whole scan
    but the tumour: refused as a GTV filling the image is, naming the file and its share."""
    image, gtv = lung1_around_tumour(shared_data)
    sitk.WriteImage(image, str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(gtv, str(tmp_path / "gtv.nii.gz"))
    sitk.WriteImage(gtv * 0 + 1, str(tmp_path / "liver.nii.gz"))
    cause = (
        "where an organ marks a part. A blank mask of ones, or an image cropped to the organ's "
        "box saved with that box as its mask, is the usual cause: its features, and those of the "
        "organ minus the GTV, would be the scan's. Save the organ's contour (1 inside it, 0 "
        "elsewhere), or leave the organ mask out, and load the case again."
    )
    with pytest.raises(MaskError) as refused:
        load_case(tmp_path)
    assert str(refused.value) == (
        "The liver (liver.nii.gz) fills the whole image: it marks 346,752 of its 346,752 voxels "
        f"(100.0%, 564 mL), {cause}"
    )

    ones = sitk.Image(sarcoma_ct.image.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(sarcoma_ct.image)
    sitk.WriteImage(ones, str(tmp_path / "organ.nii.gz"))
    ct = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    masks = {"gtv": ct / "mask" / "RS.dcm", "organ": tmp_path / "organ.nii.gz"}
    with pytest.raises(MaskError) as refused:
        load_case_files(ct / "image", masks, None, "STS")
    assert str(refused.value) == (
        "The organ (organ.nii.gz) fills the whole image: it marks 2,359,764 of its 2,359,764 "
        f"voxels (100.0%, 7,359 mL), {cause}"
    )
    # the organ less its first x plane (0.5 % of the scan) still fills 99 % of it and more
    rim = sitk.GetArrayFromImage(ones)
    rim[:, :, 0] = 0
    part = sitk.GetImageFromArray(rim)
    part.CopyInformation(ones)
    sitk.WriteImage(part, str(tmp_path / "organ.nii.gz"))
    with pytest.raises(MaskError, match=r"fills the whole image: it marks 2,347,846 .*\(99\.5%"):
        load_case_files(ct / "image", masks, None, "STS")


def test_missing_or_wrong_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_case(tmp_path / "nowhere")
    (tmp_path / "image.txt").write_text("x")
    with pytest.raises(InputError, match="neither a case folder nor a .zip"):
        load_case(tmp_path / "image.txt")
    # a download cut short: a zip's first bytes without its central directory
    import zipfile

    with zipfile.ZipFile(tmp_path / "case.zip", "w") as archive:
        archive.writestr("case/image.nii.gz", b"x" * 5000)
    data = (tmp_path / "case.zip").read_bytes()
    (tmp_path / "case.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="damaged or incomplete .zip archive"):
        load_case(tmp_path / "case.zip")


def test_generated_cohort_cases_load(request: pytest.FixtureRequest) -> None:
    """The synthetic generator's cases (both formats) load with both masks and their clinical values."""
    pytest.importorskip(
        "survival_core.synthetic.generate", reason="the cohort generator is not written yet"
    )
    small_cohort: Path = request.getfixturevalue("small_cohort")
    with open(small_cohort / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["format"] for r in rows} == {"dicom", "nifti"}
    for row in rows:
        case = load_case(small_cohort / "cases" / row["case_id"])
        assert case.case_id == row["case_id"]
        liver, gtv = case.mask_array("organ"), case.mask_array("gtv")
        assert gtv.any() and liver.sum() > gtv.sum()
        assert case.clinical["age"] is not None


def _identified_sarcoma(shared_data: Path, folder: Path) -> Path:
    """The real sarcoma CT and its RTSTRUCT as a hospital exports them: PatientID MRN12345, not
    marked de-identified (its case id is then a pseudonym)."""
    import pydicom

    shutil.copytree(shared_data / "sts_sarcoma" / "STS_001" / "CT", folder)
    for file in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(file)
        ds.PatientID, ds.PatientName = "MRN12345", "Doe^Jane"
        del ds.PatientIdentityRemoved
        ds.save_as(file)
    return folder


def test_clinical_json_of_the_images_patient_names_no_dicom_case(shared_data, tmp_path):
    """The sarcoma CT of PatientID MRN12345 with a clinical.json of case_id 'MRN12345': the CLI's
    report was headed 'Case MRN12345' (the hospital's ID) and warned that 'clinical.json names the
    case MRN12345, but its DICOM images are of patient RS-...'. Its values are used, silently,
    under the images' pseudonym; so are those keyed by the pseudonym (an upload stores them so)."""
    folder = _identified_sarcoma(shared_data, tmp_path / "case")
    (folder / "clinical.json").write_text('{"case_id": " MRN12345 ", "age": 61, "sex": "F"}')
    case = load_case(folder)
    assert case.case_id.startswith("RS-") and case.clinical["age"] == 61
    assert not any("MRN12345" in w or "clinical.json" in w for w in case.warnings)
    (folder / "clinical.json").write_text(f'{{"case_id": "{case.case_id}", "age": 62}}')
    assert load_case(folder).clinical["age"] == 62


@pytest.mark.parametrize("marked", [True, False])
def test_clinical_json_of_another_patient_beside_dicom_is_refused(shared_data, tmp_path, marked):
    """The real sarcoma CT (marked de-identified: case STS_001; or the hospital's MRN12345) with a
    clinical.json of another patient: the case took that patient's ID as its name, and that
    patient's age and sex were scored on these images, with a warning. It is refused, naming
    neither ID; the images' own ID keys it as before."""
    import pydicom

    folder = tmp_path / "case"
    if marked:
        shutil.copytree(shared_data / "sts_sarcoma" / "STS_001" / "CT", folder)
    else:
        _identified_sarcoma(shared_data, folder)
    (folder / "clinical.json").write_text('{"case_id": "MRN99999", "age": 61}')
    with pytest.raises(ClinicalValueError) as refused:
        load_case(folder)
    said = str(refused.value)
    image = pydicom.dcmread(next((folder / "image").glob("*.dcm")))
    case_id = case_pseudonym(image)  # STS_001 marked, else RS-...
    assert case_id == "STS_001" if marked else case_id.startswith("RS-")
    assert said == (
        f"The clinical.json of case {case_id} names another patient than its DICOM images (its "
        "case_id is neither their PatientID nor their case pseudonym): its values would be "
        "scored as this patient's. Put this patient's clinical.json beside the images, or remove "
        "its case_id if its values are this patient's."
    )
    assert "MRN" not in said
    if marked:
        (folder / "clinical.json").write_text('{"case_id": "STS_001", "age": 61}')
        assert load_case(folder).case_id == "STS_001"


def test_the_image_a_user_names_is_read_whatever_its_name_reads_as(shared_data, tmp_path):
    """pyradiomics' real lung CT uploaded as lung.nrrd beside gtv.nrrd: named the image, it was
    refused because 'lung' reads as a structure's name."""
    import shutil

    shutil.copy(shared_data / "pyradiomics" / "lung1_image.nrrd", tmp_path / "lung.nrrd")
    shutil.copy(shared_data / "pyradiomics" / "lung1_label.nrrd", tmp_path / "gtv.nrrd")
    case = load_case(tmp_path, image_name="lung.nrrd")
    assert case.image.GetSize() == sitk.ReadImage(str(tmp_path / "lung.nrrd")).GetSize()
    assert case.mask_array("gtv").any() and "organ" not in case.masks


def test_a_single_slice_image_is_loaded_with_a_warning(tmp_path: Path) -> None:
    """A 2D image (one slice): its thickness is the file's, not a scan's; it was read as 3D
    without a word, and volumes reported from it."""
    image = hu_volume((1, 24, 24)).astype(np.int16)
    gtv = np.zeros((1, 24, 24), np.uint8)
    gtv[0, 8:14, 8:14] = 1
    sitk.WriteImage(to_image(image), str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(to_image(gtv), str(tmp_path / "gtv.nii.gz"))
    case = load_case(tmp_path)
    assert case.mask_array("gtv").sum() == 36
    assert any("image.nii.gz is a single slice (2D)" in w for w in case.warnings)


def test_a_2d_image_takes_the_slice_of_its_one_slice_3d_mask(
    shared_data: Path, tmp_path: Path
) -> None:
    """Real lung1's largest tumour slice as a 2-D image beside its GTV saved as a 3-D file of
    that one slice (5 mm at z = -612.5 mm): refused as 'different spacing' against the 1 mm at
    z = 0 the reader makes up for a 2-D file, in-plane grids identical. The image now takes the
    mask's slice, and says so; a one-slice mask off its in-plane grid is still refused."""
    image, gtv = lung1_around_tumour(shared_data)
    tumour = sitk.GetArrayViewFromImage(gtv)
    k = int(np.argmax(tumour.sum(axis=(1, 2))))
    sitk.WriteImage(image[:, :, k], str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(gtv[:, :, k : k + 1], str(tmp_path / "gtv.nii.gz"))
    said = (
        "image.nii.gz is a single slice (2D) without a thickness or position of its own: it "
        "takes those of gtv.nii.gz, the one-slice mask drawn on it (5 mm at z = -612.5 mm), so "
        "volume and 3D shape features describe a slab of that thickness."
    )
    files = {"gtv": tmp_path / "gtv.nii.gz"}
    for case in (load_case(tmp_path), load_case_files(tmp_path / "image.nii.gz", files, None, "l")):
        assert case.image.GetSpacing() == pytest.approx((0.5703125, 0.5703125, 5.0))
        assert case.image.GetOrigin()[2] == pytest.approx(-612.5)
        inside = case.mask_array("gtv")
        assert inside.sum() == 347 and round(float(case.array()[inside].mean()), 2) == -51.52
        assert said in case.warnings
    off = gtv[:, :, k : k + 1]
    off.SetOrigin(off.TransformContinuousIndexToPhysicalPoint((0.5, 0.0, 0.0)))
    sitk.WriteImage(off, str(tmp_path / "gtv.nii.gz"))
    with pytest.raises(GeometryError, match=r"gtv.nii.gz .* not on the voxel grid of the image"):
        load_case(tmp_path)


def _moved(path: Path, at: int, mm: float) -> Path:
    """``path`` (an uncompressed NIfTI-1) with the float32 at byte ``at`` of its header moved by
    ``mm``: 268 the qform's x offset (qoffset_x), 292 the sform's (srow_x[3])."""
    import struct

    with open(path, "r+b") as header:
        header.seek(at)
        (x,) = struct.unpack("<f", header.read(4))
        header.seek(at)
        header.write(struct.pack("<f", x + mm))
    return path


def test_a_nifti_header_placing_its_volume_twice_is_a_warning(tmp_path: Path) -> None:
    """A mask whose qform was moved 3 voxels and its sform not (an edited header): read by the
    sform, on the image, but the header contradicts itself without a word. (Its sform moved
    instead, the mask lying on the image by its qform, is refused: the next test.)"""
    liver, gtv = masks_of()
    sitk.WriteImage(to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii"))
    sitk.WriteImage(to_image(gtv), str(tmp_path / "gtv.nii"))
    assert not any("places the volume twice" in w for w in load_case(tmp_path).warnings)
    _moved(tmp_path / "gtv.nii", 268, 3 * SPACING[0])
    case = load_case(tmp_path)
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    warned = [w for w in case.warnings if "places the volume twice" in w]
    assert warned == [
        "gtv.nii: its header places the volume twice, up to 4.50 mm apart (qform and sform "
        "disagree); the sform was used, as ITK and nibabel use it. Check the file: it was edited "
        "or written by a tool that updated one placement only."
    ]


@pytest.mark.parametrize(("edited", "shift"), [("image.nii", "10x0x0"), ("gtv.nii", "-10x0x0")])
def test_a_mask_lined_up_by_the_placement_not_read_is_refused(
    shared_data: Path, tmp_path: Path, edited: str, shift: str
) -> None:
    """Real lung1 as NIfTI, one file's sform moved 10 voxels (5.70 mm) in x and its qform not,
    by which image and GTV still line up (a tool that updated one placement only): read by the
    sform, the GTV was measured 10 voxels off (-462.1 HU of lung instead of -63.9) with two
    warnings. It is refused, naming the file and both placements; a GTV whose header places it
    10 voxels off without contradicting itself is still placed so, with its warning."""
    image, gtv = lung1_around_tumour(shared_data)
    sitk.WriteImage(image, str(tmp_path / "image.nii"))
    sitk.WriteImage(gtv, str(tmp_path / "gtv.nii"))
    hu, tumour = sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(gtv) > 0
    assert round(float(load_case(tmp_path).array()[tumour].mean()), 1) == -63.9
    _moved(tmp_path / edited, 292, 10 * image.GetSpacing()[0])
    said = (
        f"gtv.nii lies {shift} voxels off image.nii as read, but {edited}'s header places its "
        "volume twice, up to 5.70 mm apart: by its sform, which was read, and by its qform, by "
        "which gtv.nii lies exactly on the image's voxels. One placement was written wrongly "
        "(a tool that updated one only), and the mask would be measured on voxels beside the "
        f"structure: not scored. Save {edited} with the right placement alone (nibabel: "
        "img.set_sform(img.get_qform(), code=1) keeps the qform, "
        "img.set_qform(img.get_sform(), code=1) the sform), or set the wrong one's code "
        "(qform_code or sform_code) to 0, and load the case again."
    )
    image_file, gtv_file = tmp_path / "image.nii", tmp_path / "gtv.nii"
    refusal = _refused_alike(PlacementConflict, tmp_path, image_file, gtv_file, "lung1")
    assert refusal == said

    sitk.WriteImage(image, str(tmp_path / "image.nii"))
    off = sitk.Image(gtv)  # both placements 10 voxels off: no contradiction to settle
    off.SetOrigin(gtv.TransformIndexToPhysicalPoint((10, 0, 0)))
    sitk.WriteImage(off, str(tmp_path / "gtv.nii"))
    case = load_case(tmp_path)
    placed = np.zeros_like(tumour)
    placed[:, :, 10:] = tumour[:, :, :-10]
    np.testing.assert_array_equal(case.mask_array("gtv"), placed)
    assert round(float(hu[placed].mean()), 1) == -462.1
    assert any(
        "gtv.nii (gtv.nii) has the size of the image but lies 10x0x0" in w for w in case.warnings
    )


def _sform_mirrored_along_x(path: Path) -> Path:
    """``path`` (an uncompressed NIfTI-1) with its sform (srow_x, srow_y, srow_z at bytes 280,
    296, 312) mirrored along the voxels' x axis, about the volume's centre, and its qform not."""
    import struct

    with open(path, "r+b") as file:
        file.seek(42)
        (size,) = struct.unpack("<h", file.read(2))  # dim[1]: voxels along x
        last = size - 1
        for at in (280, 296, 312):
            file.seek(at)
            x, y, z, offset = struct.unpack("<4f", file.read(16))
            file.seek(at)
            file.write(struct.pack("<4f", -x, y, z, offset + x * last))
    return path


@pytest.mark.parametrize(
    ("edited", "cropped", "apart"),
    [
        ("image.nii", False, "47.34"),
        ("gtv.nii", False, "47.34"),
        ("image.nii", True, "47.34"),
        ("gtv.nii", True, "16.54"),
    ],
)
def test_a_mask_mirrored_by_the_placement_read_is_refused(
    shared_data: Path, tmp_path: Path, edited: str, cropped: bool, apart: str
) -> None:
    """Real lung1 as NIfTI, one file's sform mirrored in x and its qform not, by which image
    and GTV line up: read by the sform, the GTV (837 voxels) was measured mirrored (-598.7 HU
    instead of -63.9) with only the 'qform and sform disagree' warning, where the same fault as
    a shift is refused; the GTV cropped to its box (30 x 32 x 5 voxels) was measured mirrored at
    -239.8 HU without even that refusal. It is refused, saying the mask is mirrored along x by
    one placement and not by the other; a GTV stored mirrored with a header saying so still
    lands on the tumour."""
    image, gtv = lung1_around_tumour(shared_data)
    if cropped:
        gtv = gtv[27:57, 27:59, 31:36]  # the tumour's box and 3 voxels (a slice in z) around it
    sitk.WriteImage(image, str(tmp_path / "image.nii"))
    sitk.WriteImage(gtv, str(tmp_path / "gtv.nii"))
    assert round(float(load_case(tmp_path).array()[_tumour(image, gtv)].mean()), 1) == -63.9
    _sform_mirrored_along_x(tmp_path / edited)
    said = (
        f"gtv.nii is mirrored along x against image.nii as read, but {edited}'s header places its "
        f"volume twice, up to {apart} mm apart: by its sform, which was read, and by its qform, "
        "by which gtv.nii lies exactly on the image's voxels, not mirrored. One placement was "
        "written wrongly (a tool that updated one only), and the mask would be measured on "
        f"voxels mirrored from the structure: not scored. Save {edited} with the right "
        "placement alone"
    )
    image_file, gtv_file = tmp_path / "image.nii", tmp_path / "gtv.nii"
    refusal = _refused_alike(PlacementConflict, tmp_path, image_file, gtv_file, "lung1")
    assert refusal.startswith(said)

    sitk.WriteImage(image, str(tmp_path / "image.nii"))
    sitk.WriteImage(sitk.Flip(gtv, (True, False, False)), str(tmp_path / "gtv.nii"))
    case = load_case(tmp_path)  # stored mirrored, both placements saying so: no conflict
    tumour = case.mask_array("gtv")
    np.testing.assert_array_equal(tumour, _tumour(image, gtv))
    assert tumour.sum() == 837 and round(float(case.array()[tumour].mean()), 1) == -63.9


def _tumour(image: sitk.Image, gtv: sitk.Image) -> np.ndarray:
    """``gtv`` (the image's grid, or a crop of it) as a boolean array of ``image``'s grid."""
    return (
        sitk.GetArrayFromImage(
            sitk.Resample(gtv, image, sitk.Transform(), sitk.sitkNearestNeighbor)
        )
        > 0
    )


def test_an_image_whose_unread_sform_is_zeros_beside_a_shifted_mask_loads(
    shared_data: Path, tmp_path: Path
) -> None:
    """Real lung1 as NIfTI, the image's sform all zeros (read by its qform) and the GTV's header
    10 voxels off: looking for the other placement's fit raised numpy's 'Singular matrix', a
    traceback. The GTV is placed as read, with both files' warnings."""
    import struct

    image, gtv = lung1_around_tumour(shared_data)
    sitk.WriteImage(image, str(tmp_path / "image.nii"))
    with open(tmp_path / "image.nii", "r+b") as header:
        header.seek(280)  # srow_x, srow_y, srow_z
        header.write(struct.pack("<12f", *[0.0] * 12))
    off = sitk.Image(gtv)
    off.SetOrigin(gtv.TransformIndexToPhysicalPoint((10, 0, 0)))
    sitk.WriteImage(off, str(tmp_path / "gtv.nii"))
    case = load_case(tmp_path)
    placed = np.zeros_like(sitk.GetArrayFromImage(gtv))
    placed[:, :, 10:] = sitk.GetArrayFromImage(gtv)[:, :, :-10]
    np.testing.assert_array_equal(case.mask_array("gtv"), placed > 0)
    assert any(
        "gtv.nii (gtv.nii) has the size of the image but lies 10x0x0" in w for w in case.warnings
    )
    assert any(w.startswith("image.nii: its header places the volume twice") for w in case.warnings)


def test_a_full_size_mask_off_by_whole_voxels_is_placed_with_a_warning(tmp_path: Path) -> None:
    """A mask of the image's size whose origin is one slice off (a header written wrongly more
    often than a crop, which is smaller): placed as its header says, and now said."""
    liver, gtv = masks_of()
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii.gz")
    )
    shifted = to_image(gtv)
    shifted.SetOrigin((ORIGIN[0], ORIGIN[1], ORIGIN[2] + SPACING[2]))
    sitk.WriteImage(shifted, str(tmp_path / "gtv.nii.gz"))
    case = load_case(tmp_path)
    np.testing.assert_array_equal(case.mask_array("gtv")[1:], gtv[:-1].astype(bool))
    assert any("has the size of the image but lies 0x0x1 voxels off it" in w for w in case.warnings)


def test_a_volume_case_without_any_mask_says_so(tmp_path: Path) -> None:
    """An image alone: the refusal spoke of structures 'found: none', an RTSTRUCT's wording."""
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii.gz")
    )
    with pytest.raises(MaskError, match=r"holds an image but no mask: give the gtv as mask files"):
        load_case(tmp_path)
    assert load_case(tmp_path, require=()).masks == {}  # nothing required: the image alone


def test_voxels_without_a_value_inside_a_structure_are_refused(tmp_path: Path) -> None:
    """NaN in a NIfTI (a registration's 'no data') was read as 0 HU inside the GTV, changing its
    features without a word; in NRRD it broke pyradiomics with 'arange: cannot compute length'."""
    liver, gtv = masks_of()
    image = hu_volume((8, 24, 24)).astype(np.float32)
    image[0, 0, :3] = np.nan  # outside every structure: a note
    sitk.WriteImage(to_image(image), str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(to_image(gtv), str(tmp_path / "gtv.nii.gz"))
    case = load_case(tmp_path)
    assert (
        "3 voxels of the image hold no value (NaN or infinite, or a DICOM series' pixel "
        "padding; none inside a structure): set" in (" ".join(case.warnings))
    )  # as background: left NaN they spread into a tumour near them when resampled
    assert np.isfinite(case.array()).all() and case.array()[0, 0, 0] == np.nanmin(image)
    z, y, x = np.argwhere(gtv)[0]
    image[z, y, x] = np.nan
    sitk.WriteImage(to_image(image), str(tmp_path / "image.nii.gz"))
    with pytest.raises(
        MaskError,
        match=r"padding\) at 1 of the gtv's 32 voxels \(3\.12%\), more than the 1% that may be ",
    ):
        load_case(tmp_path)


def test_a_gtv_cut_by_the_edge_of_the_scan_is_warned_about(shared_data, tmp_path):
    """lung1 cropped through its tumour kept 488 of the GTV's 837 voxels, and its volume and
    diameter were given as the tumour's without a word. A GTV reaching a face of the image
    (not the one slice of a 2-D image) is said; the whole real lung1 case is not flagged. Cut
    just past its last slice, the GTV's voxels are all there but 90 of its 107 features changed
    (the half slice past the edge resampled as the edge): the warning named the volume and shape
    features alone."""
    image = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_image.nrrd"))
    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_label.nrrd"))
    whole = tmp_path / "whole"
    whole.mkdir()
    sitk.WriteImage(image, str(whole / "image.nrrd"))
    sitk.WriteImage(label, str(whole / "gtv.nrrd"))
    assert not [w for w in load_case(whole).warnings if "edge of the image" in w]
    z = np.flatnonzero(sitk.GetArrayViewFromImage(label).any(axis=(1, 2)))
    middle = int(z[len(z) // 2])
    cut = tmp_path / "cut"
    cut.mkdir()
    sitk.WriteImage(image[:, :, middle:], str(cut / "image.nrrd"))
    sitk.WriteImage(label[:, :, middle:], str(cut / "gtv.nrrd"))
    (warning,) = [w for w in load_case(cut).warnings if "edge of the image" in w]
    assert "(first z plane)" in warning
    past = tmp_path / "past"  # cut just past the tumour: all its voxels, but not its surround
    past.mkdir()
    sitk.WriteImage(image[:, :, : int(z[-1]) + 1], str(past / "image.nrrd"))
    sitk.WriteImage(label[:, :, : int(z[-1]) + 1], str(past / "gtv.nrrd"))
    (warning,) = [w for w in load_case(past).warnings if "edge of the image" in w]
    assert "(last z plane)" in warning and "intensity and texture features differ" in warning


@pytest.mark.parametrize(
    "names",
    [("HCC_001__CT", "HCC_001__PT", "HCC_001"), ("Tumor_042_CT", "Tumor_042_PT", "Tumor_042_GTV")],
)
def test_a_tumour_word_in_the_patients_id_leaves_the_ct_the_image(tmp_path, names) -> None:
    """HECKTOR's naming with a disease in the ID: 'HCC_001__CT' was taken for a GTV's name (a
    mask), so no image was found beside its PET (a regression found by the review)."""
    rng = np.random.default_rng(0)
    ct = rng.normal(0, 50, (20, 32, 32)).astype(np.int16)
    gtv = np.zeros((20, 32, 32), np.uint8)
    gtv[8:12, 10:20, 10:20] = 1
    for name, voxels in zip(names, (ct, ct.astype(np.float32) / 10 + 5, gtv), strict=True):
        sitk.WriteImage(sitk.GetImageFromArray(voxels), str(tmp_path / f"{name}.nii.gz"))
    case = load_case(tmp_path)
    assert case.modality == "CT" and list(case.masks) == ["gtv"] and list(case.companions) == ["PT"]


def _sarcoma_with_two_structure_sets(shared_data: Path, tmp_path: Path, by_series: bool) -> Path:
    """The real STS_001 CT with its own RTSTRUCT (GTV_Mass_CT, linked by frame of reference) and
    a research set ('Research': 'Tumor', the GTV grown 1.3 times in plane) referencing the image
    series itself (``by_series``) or, like the first, its frame of reference only."""
    import copy

    import pydicom
    from pydicom.uid import generate_uid

    folder, rs = _sarcoma_ct_and_its_set(shared_data, tmp_path)
    shutil.copy(
        shared_data / "sts_sarcoma" / "STS_001" / "CT" / "mask" / "RS.dcm", folder / "RS_A.dcm"
    )
    research = copy.deepcopy(rs)
    research.SOPInstanceUID, research.StructureSetLabel = generate_uid(), "Research"
    research.StructureSetROISequence[0].ROIName = "Tumor"
    for contour in research.ROIContourSequence[0].ContourSequence:
        points = np.asarray(contour.ContourData, float).reshape(-1, 3)
        centre = points[:, :2].mean(axis=0)
        points[:, :2] = centre + (points[:, :2] - centre) * 1.3
        contour.ContourData = [f"{v:.4f}" for v in points.ravel()]
    if by_series:
        series_uid = pydicom.dcmread(next(folder.glob("*.dcm"))).SeriesInstanceUID
        for frame in research.ReferencedFrameOfReferenceSequence:
            for study in frame.RTReferencedStudySequence:
                for series in study.RTReferencedSeriesSequence:
                    series.SeriesInstanceUID = series_uid
                    del series.ContourImageSequence
    research.save_as(folder / "RS_B.dcm")
    return folder


def _gtv_ml(case) -> float:
    return float(case.mask_array("gtv").sum() * np.prod(case.image.GetSpacing()) / 1000)


def test_two_structure_sets_say_which_is_used_and_load_the_one_chosen_from(
    shared_data: Path, tmp_path: Path
) -> None:
    """A research set referencing the series beside the planning set linked by frame of
    reference: the research set was used (617 mL) without a word of the other, and choosing the
    other's GTV was refused ("No structure named 'GTV_Mass_CT'"). The set used and the one left
    aside are named; the structures chosen load from the set holding them."""
    folder = _sarcoma_with_two_structure_sets(shared_data, tmp_path, by_series=True)
    case = load_case(folder)
    assert list(case.structures) == ["Tumor"]
    assert (
        "The case holds 2 structure sets drawn on this image: used RTSTRUCT 'Research' of "
        "2009-10-17 with 'Tumor'; left aside RTSTRUCT 'RTstruct' of 2009-10-17 with "
        "'GTV_Mass_CT'. To use another, choose its structures (roles naming them)."
    ) in case.warnings
    planned = load_case(folder, roles={"gtv": ["GTV_Mass_CT"]})
    assert list(planned.structures) == ["GTV_Mass_CT"] and abs(_gtv_ml(planned) - 365.3) < 0.5
    assert any("left aside RTSTRUCT 'Research'" in w for w in planned.warnings)
    with pytest.raises(RTStructError, match="No one structure set holds all of 'GTV_Mass_CT'"):
        load_case(folder, roles={"gtv": ["GTV_Mass_CT", "Tumor"]})


def test_two_structure_sets_alike_are_named_by_label_and_structures(
    shared_data: Path, tmp_path: Path
) -> None:
    """Two sets both linked by frame of reference were refused naming their files (an upload's,
    renamed to UIDs, the user never saw): each is named by its label, date and structures."""
    folder = _sarcoma_with_two_structure_sets(shared_data, tmp_path, by_series=False)
    with pytest.raises(RTStructError) as err:
        load_case(folder)
    assert (
        "several structure sets drawn on this image: RTSTRUCT 'RTstruct' of 2009-10-17 with "
        "'GTV_Mass_CT'; RTSTRUCT 'Research' of 2009-10-17 with 'Tumor'. Choose the structures "
        "of one set"
    ) in str(err.value)
    assert ".dcm" not in str(err.value)
    assert abs(_gtv_ml(load_case(folder, roles={"gtv": ["Tumor"]})) - 617.0) < 1.0


def test_the_sets_of_a_ct_and_an_mr_sharing_a_frame_are_not_said_drawn_on_one_image(
    shared_data: Path,
) -> None:
    """The real sarcoma CT and T1 MR, each with its RTSTRUCT, both linked by frame of reference
    only: the MR's GTV chosen read the MR, yet a warning said "The case holds 2 structure sets
    drawn on this image", leaving the CT's aside (the series choice knew it was the CT's, by its
    kind of image). Only a set drawn on the image read is named."""
    study = shared_data / "sts_sarcoma" / "STS_001"
    if not study.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    for gtv, modality in (("GTV_Mass_MR_T1", "MR"), ("GTV_Mass_CT", "CT")):
        case = load_case(study, roles={"gtv": [gtv]})
        assert (case.modality, list(case.structures)) == (modality, [gtv])
        assert not [w for w in case.warnings if "structure sets drawn on" in w], gtv


def test_a_ct_and_an_mr_each_with_its_set_load_by_the_modality_asked(shared_data: Path) -> None:
    """The real sarcoma CT and T1 MR in one folder, each with its RTSTRUCT, linked by frame of
    reference only: with or without a modality, the load was refused as "several structure sets
    drawn on this image", though their slices' kind of image tells each set's image. The
    modality asked reads its series with its own set; none asked is refused naming each set's
    image and how to choose."""
    study = shared_data / "sts_sarcoma" / "STS_001"
    if not study.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    with pytest.raises(RTStructError) as refused:
        load_case(study)
    assert str(refused.value) == (
        "The case holds structure sets drawn on different images of one frame of reference: "
        "RTSTRUCT 'RTstruct' of 2009-10-17 with 'GTV_Mass_CT' on the CT; RTSTRUCT 'RTstruct' of "
        "2009-10-18 with 'GTV_Mass_MR_T1' on the MR. Say which image to analyse: its modality "
        "(--modality CT or MR), its series (--series; the Case page's 'Image series' box), or "
        "the structures of one set (roles naming them)."
    )
    for modality, gtv, mean in (("CT", "GTV_Mass_CT", 28.5), ("MR", "GTV_Mass_MR_T1", 325.8)):
        case = load_case(study, modality=modality)
        assert (case.modality, list(case.structures)) == (modality, [gtv])
        assert case.array()[case.mask_array("gtv")].mean() == pytest.approx(mean, abs=0.1)


def test_each_structure_offered_of_several_sets_loads_from_its_set(
    shared_data: Path, tmp_path: Path
) -> None:
    """The research set holding 'Tumor' twice and an unnamed ROI, its label padded as exported:
    the names offered ('Tumor [2]', 'ROI 3', as the set is read) were refused as held by no set
    (the sets were checked by their raw ROIName values), whose description read "with 'Tumor',
    'Tumor', ''". Each name offered now loads, and the set is described by the same names."""

    import pydicom

    from survival_core.io.case_loader import describe_structures

    folder = _sarcoma_with_two_structure_sets(shared_data, tmp_path, by_series=True)
    research = pydicom.dcmread(folder / "RS_B.dcm")
    research.StructureSetLabel = " Research"
    for number, name in ((2, " Tumor"), (3, "")):
        with_roi_copy(research, name, number)
    research.save_as(folder / "RS_B.dcm")

    names, _, sets = describe_structures(folder)
    assert names == ["GTV_Mass_CT", "Tumor", "Tumor [2]", "ROI 3"]
    assert "RTSTRUCT 'Research' of 2009-10-17 with 'Tumor', 'Tumor [2]', 'ROI 3'" in sets
    for name in names[1:]:
        case = load_case(folder, roles={"gtv": [name]})
        assert abs(_gtv_ml(case) - 617.0) < 1.0


def test_a_case_whose_image_folder_is_a_symbolic_link_loads_and_hashes_its_files(
    shared_data: Path, tmp_path: Path
) -> None:
    """The real STS_001 CT kept in a store and linked into the case folder as 'ct' (a PACS or
    NAS mount linked beside the contours): the case held "no image, only RTSTRUCT", and its
    content hash, which keys the feature and volume caches, left the linked images out."""
    from survival_core.io.hashing import content_hash

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    store = tmp_path / "store"
    shutil.copytree(source / "image", store / "image")
    case = tmp_path / "case"
    case.mkdir()
    shutil.copy(source / "mask" / "RS.dcm", case / "RS.dcm")
    (case / "ct").symlink_to(store / "image", target_is_directory=True)
    (store / "image" / "loop").symlink_to(store, target_is_directory=True)  # a link back up
    copied = tmp_path / "copied"
    shutil.copytree(source / "image", copied / "ct")
    shutil.copy(source / "mask" / "RS.dcm", copied / "RS.dcm")
    linked, real = load_case(case), load_case(copied)
    assert linked.image.GetSize() == real.image.GetSize()
    assert linked.mask_volume_ml("gtv") == pytest.approx(real.mask_volume_ml("gtv"))
    before = content_hash(case)
    first = sorted((store / "image").iterdir())[0]
    first.write_bytes(first.read_bytes()[:-2] + b"\0\0")  # a pixel changed in the store
    assert content_hash(case) != before


#: The example a refusal finding no GTV gives where every structure is one it set aside.
NO_GTV_EXAMPLE = """in a roles.json beside its files: {"gtv": ["<the tumour's structure>"]})."""
HELPER = "a margin, motion envelope (ITV, IGTV) or planning helper"


def test_a_refusal_never_offers_a_ptv_or_copy_it_set_aside_as_the_gtv(
    shared_data: Path, tmp_path: Path
) -> None:
    """The real STS_001 RTSTRUCT, its GTV renamed 'PTV' beside a scratch copy 'z_GTV': the
    refusal set both aside, then ended with a roles.json example naming one of them, which
    loads a margin or a copy as the tumour. The example is a placeholder; the PTV named as the
    GTV is loaded as chosen (365 mL), with a warning that it reads as a margin."""

    folder, rs = _sarcoma_ct_and_its_set(shared_data, tmp_path)
    rs.StructureSetROISequence[0].ROIName = "PTV"
    with_roi_copy(rs, "z_GTV", 99)
    rs.save_as(folder / "RS.dcm")
    with pytest.raises(RTStructError) as refused:
        load_case(folder)
    message = str(refused.value)
    assert (
        f"Set aside: 'PTV' ({HELPER}); 'z_GTV' (a superseded version, copy or scratch structure)."
    ) in message
    assert NO_GTV_EXAMPLE in message, message
    case = load_case(folder, roles={"gtv": ["PTV"]})
    assert _gtv_ml(case) == pytest.approx(365.3, abs=0.5)
    assert (
        f"'PTV', given as the GTV, reads as {HELPER}, not a tumour: its features describe that "
        "structure, not the tumour. Name the tumour's own contour as the GTV if the case has one."
    ) in case.warnings


def test_nodes_named_gtvnodes_join_a_real_gtv_and_an_unread_gtv_name_is_said(
    shared_data: Path, tmp_path: Path
) -> None:
    """The real STS_001 GTV as a head-and-neck primary 'GTVp' beside two nodes drawn apart,
    'GTVnodes' and 'GTVn2' (its contours shrunk to 0.2 and moved): 'GTVnodes', one word and no
    GTV word, was left out of the union with nothing said, the GTV 'GTVp' and 'GTVn2' alone. A
    'GTVxyz' no rule reads stays out, said to look like a GTV."""

    folder, rs = _sarcoma_ct_and_its_set(shared_data, tmp_path)
    rs.StructureSetROISequence[0].ROIName = "GTVp"
    centre = np.vstack([np.reshape(c.ContourData, (-1, 3)) for c in rs.ROIContourSequence[0]
                        .ContourSequence]).mean(0)  # fmt: skip
    for number, (name, at) in enumerate(
        [("GTVnodes", (145, 85)), ("GTVn2", (0, -65)), ("GTVxyz", (145, -65))], start=97
    ):
        with_roi_copy(rs, name, number)
        for contour in rs.ROIContourSequence[-1].ContourSequence:
            points = np.reshape(contour.ContourData, (-1, 3)).astype(float)
            points[:, :2] = (points[:, :2] - centre[:2]) * 0.2 + at
            contour.ContourData = [f"{v:.3f}" for v in points.ravel()]
    rs.save_as(folder / "RS.dcm")
    case = load_case(folder, site="head_and_neck")
    parts = ("GTVp", "GTVnodes", "GTVn2")
    assert "The GTV is the union of 'GTVp', 'GTVnodes', 'GTVn2'." in case.warnings
    voxel_ml = np.prod(case.image.GetSpacing()) / 1000
    drawn = sum(sitk.GetArrayFromImage(case.structures[n]).sum() * voxel_ml for n in parts)
    assert _gtv_ml(case) == pytest.approx(drawn) == pytest.approx(394.54, abs=0.01)
    assert (
        "'GTVxyz' looks like a GTV but is not part of it (the GTV is 'GTVp', 'GTVnodes', "
        "'GTVn2'): if it is part of the tumour, name it with them as the GTV (on the Case page, "
        "by its role choice; for a case folder (score, extract), in a roles.json beside its "
        "files)."
    ) in case.warnings


def test_a_lung_ct_of_ctv_and_ptv_masks_is_refused_without_offering_the_ptv(
    shared_data: Path, tmp_path: Path
) -> None:
    """The real IBSI lung CT with its GTV-1 grown into 'CTV.nii.gz' and 'PTV.nii.gz' masks and no
    GTV: the refusal set both aside as margins and ended '{"gtv": ["PTV.nii.gz"]}'; following it
    loaded the PTV as the tumour with no word of it. A roles.json naming the PTV still loads it,
    warned; one naming a GTV mask warns of nothing."""
    phantom = shared_data / "ibsi1" / "ct_radiomics_phantom" / "nifti"
    if not phantom.is_dir():
        pytest.skip("the IBSI CT phantom is not in ../shared/data")
    folder = tmp_path / "lung"
    folder.mkdir()
    shutil.copy(phantom / "image" / "phantom.nii.gz", folder / "CT.nii.gz")
    gtv = sitk.ReadImage(str(phantom / "mask" / "mask.nii.gz"))
    ptv = sitk.BinaryDilate(gtv, [4, 4, 1])
    sitk.WriteImage(sitk.BinaryDilate(gtv, [2, 2, 1]), str(folder / "CTV.nii.gz"))
    sitk.WriteImage(ptv, str(folder / "PTV.nii.gz"))
    with pytest.raises(RTStructError) as refused:
        load_case(folder)
    message = str(refused.value)
    assert f"Set aside: 'CTV.nii.gz' ({HELPER}); 'PTV.nii.gz' ({HELPER})." in message
    assert NO_GTV_EXAMPLE in message, message
    (folder / "roles.json").write_text(json.dumps({"gtv": ["PTV.nii.gz"]}))
    case = load_case(folder)
    assert case.mask_array("gtv").sum() == sitk.GetArrayViewFromImage(ptv).sum()
    assert [w for w in case.warnings if "given as the GTV" in w] == [
        f"'PTV.nii.gz', given as the GTV, reads as {HELPER}, not a tumour: its features describe "
        "that structure, not the tumour. Name the tumour's own contour as the GTV if the case "
        "has one."
    ]
    sitk.WriteImage(gtv, str(folder / "GTV-1.nii.gz"))
    (folder / "roles.json").write_text(json.dumps({"gtv": ["GTV-1.nii.gz"]}))
    assert not [w for w in load_case(folder).warnings if "given as the GTV" in w]


def _phantom_gtv_as(shared_data: Path, folder: Path, name: str) -> int:
    """The real IBSI CT phantom in ``folder`` as 'CT.nii.gz', its GTV mask named ``name``;
    the mask's voxel count."""
    phantom = shared_data / "ibsi1" / "ct_radiomics_phantom" / "nifti"
    if not phantom.is_dir():
        pytest.skip("the IBSI CT phantom is not in ../shared/data")
    folder.mkdir()
    shutil.copy(phantom / "image" / "phantom.nii.gz", folder / "CT.nii.gz")
    shutil.copy(phantom / "mask" / "mask.nii.gz", folder / name)
    return int(sitk.GetArrayFromImage(sitk.ReadImage(str(folder / name))).sum())


def _loads_as_the_gtv(folder: Path, name: str, voxels: int) -> None:
    """Asserts that ``folder``'s mask ``name``, given as the GTV in a roles.json written there,
    loads as the GTV (its ``voxels``) with no warning that it reads as no tumour."""
    (folder / "roles.json").write_text(json.dumps({"gtv": [name]}))
    case = load_case(folder)
    assert case.mask_array("gtv").sum() == voxels
    assert not [w for w in case.warnings if "given as the GTV" in w]


@pytest.mark.parametrize(
    "name",
    ["LUNG1-001_GTV-1.nii.gz", "skin_tumor.nii.gz", "Skin lesion.nii.gz", "melanoma_skin.nii.gz"],
)
def test_a_gtv_named_for_its_patient_or_the_skin_is_the_gtv(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    """The real IBSI CT phantom's GTV named as NSCLC-Radiomics names it (patient ID, then
    'GTV-1') was set aside as 'another structure less the GTV' (the 'LUNG1' of the ID read as
    the lung), a skin tumour as 'a margin ... or planning helper' (the skin read as the outline),
    a melanoma as nothing (a kind of tumour, no GTV word); named in roles.json, each was loaded
    with a warning that it is no tumour. Each is the GTV."""
    folder = tmp_path / "case"
    voxels = _phantom_gtv_as(shared_data, folder, name)
    assert load_case(folder).mask_array("gtv").sum() == voxels
    _loads_as_the_gtv(folder, name, voxels)


def test_a_meningioma_is_offered_as_the_gtv_not_taken(shared_data: Path, tmp_path: Path) -> None:
    """'meningioma.nii.gz' (the real IBSI CT phantom's GTV): a meningioma, mostly benign, is no
    GTV by name, so the case is refused; the refusal's example names it, and chosen it loads
    with no warning."""
    folder = tmp_path / "case"
    voxels = _phantom_gtv_as(shared_data, folder, "meningioma.nii.gz")
    with pytest.raises(RTStructError) as refused:
        load_case(folder)
    message = str(refused.value)
    assert "Set aside" not in message
    assert 'in a roles.json beside its files: {"gtv": ["meningioma.nii.gz"]}).' in message
    _loads_as_the_gtv(folder, "meningioma.nii.gz", voxels)


@pytest.mark.parametrize("name", ["Sarcoma", "Liposarcoma", "GBM"])
def test_a_real_sarcomas_gtv_named_by_its_kind_is_the_gtv(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    """The real STS_001 CT's RTSTRUCT, its 'GTV_Mass_CT' renamed for the tumour's kind: the
    case was refused ("No structure is recognised as the GTV"). It loads the same GTV (365 mL),
    as its real name does."""
    folder, rs = _sarcoma_ct_and_its_set(shared_data, tmp_path)
    assert rs.StructureSetROISequence[0].ROIName == "GTV_Mass_CT"
    rs.StructureSetROISequence[0].ROIName = name
    rs.save_as(folder / "RS.dcm")
    assert _gtv_ml(load_case(folder)) == pytest.approx(365.3, abs=0.5)


def _nodes_alone(names: str) -> str:
    """The warning that the structures ``names`` (as listed), all nodal, are taken as the GTV."""
    return (
        f"{names} reads as a nodal GTV (lymph nodes), and no structure of the case reads as the "
        "primary tumour: the nodes are taken as the GTV, so the tumour features describe lymph "
        "nodes. If the case has a contour of the primary tumour, name it as the GTV "
        f"({WHERE_TO_SAY})."
    )


@pytest.mark.parametrize("name", ["gtvn.nii.gz", "GTVn.nrrd", "gtv_n.nii.gz", "GTV-N1.nii.gz"])
def test_a_nodal_gtv_file_alone_is_said_to_be_the_nodes(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    """pyradiomics' real lung1 with its GTV saved under a head-and-neck plan's nodal name: taken
    as the GTV (tumour) with no word that the features then describe lymph nodes. Named as the
    primary ('gtvp.nii.gz', 'GTVp.nrrd') it is taken with no such note."""
    image, gtv = lung1_around_tumour(shared_data)
    sitk.WriteImage(image, str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(gtv, str(tmp_path / name))
    case = load_case(tmp_path)
    assert sitk.GetArrayViewFromImage(case.masks["gtv"]).sum() == 837
    assert [w for w in case.warnings if "nodal" in w] == [_nodes_alone(repr(name))]
    (tmp_path / name).rename(tmp_path / ("gtvp.nii.gz" if name.endswith(".gz") else "GTVp.nrrd"))
    case = load_case(tmp_path)
    assert sitk.GetArrayViewFromImage(case.masks["gtv"]).sum() == 837
    assert not [w for w in case.warnings if "nodal" in w]


@pytest.mark.parametrize(
    ("name", "nodal"),
    [("GTV_N", True), ("GTV node", True), ("GTVnd", True), ("GTVp", False), ("GTV-P", False)],
)
def test_a_nodal_roi_alone_on_the_real_sarcoma_ct_is_said_to_be_the_nodes(
    shared_data: Path, tmp_path: Path, name: str, nodal: bool
) -> None:
    """The real STS_001 RTSTRUCT's GTV renamed as a nodal GTV ('GTV_N', 'GTV node', NPC plans'
    'GTVnd', which was no GTV at all): the node taken as the GTV with no word that no primary
    was found; renamed as the primary ('GTVp', 'GTV-P') there is no such note."""
    folder, rs = _sarcoma_ct_and_its_set(shared_data, tmp_path)
    rs.StructureSetROISequence[0].ROIName = name
    rs.save_as(folder / "RS.dcm")
    case = load_case(folder, site="head_and_neck")
    assert sitk.GetArrayViewFromImage(case.masks["gtv"]).sum() == 117_145
    expected = [_nodes_alone(repr(name))] if nodal else []
    assert [w for w in case.warnings if "nodal" in w] == expected
