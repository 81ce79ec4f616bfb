"""DICOM series: slice order by position, geometry, rescale, real files, and clear refusals."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML, ExplicitVRBigEndian

from survival_core.errors import DicomError
from survival_core.io import dicom_series
from survival_core.io.dicom_series import (
    decode_pixels,
    read_dicom,
    read_series,
    scan_dicom,
    series_summary,
)
from tests.dicom_fixtures import ct_slices, hu_volume, rtstruct, write, write_scrambled

SQ = np.sqrt(0.5)
ORIENTATIONS = {
    "axial": ((1, 0, 0), (0, 1, 0)),
    "axial flipped": ((-1, 0, 0), (0, -1, 0)),
    "coronal": ((1, 0, 0), (0, 0, -1)),
    "oblique": ((SQ, SQ, 0), (0, 0, -1)),
}


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_scrambled_slices_load_in_position_order(tmp_path: Path, orientation: str) -> None:
    row, col = ORIENTATIONS[orientation]
    volume = hu_volume()
    datasets = ct_slices(
        volume, spacing=(0.7, 0.9, 2.5), origin=(-50.0, 20.0, 100.0), row=row, col=col
    )
    write_scrambled(datasets, tmp_path / "ct", seed=len(orientation))

    image, info = read_series(tmp_path / "ct")

    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), volume)
    assert image.GetPixelID() == sitk.sitkFloat32
    assert image.GetSize() == (16, 12, 5)
    np.testing.assert_allclose(image.GetSpacing(), (0.7, 0.9, 2.5))
    normal = np.cross(row, col)
    np.testing.assert_allclose(
        image.GetDirection(), np.column_stack([row, col, normal]).ravel(), atol=1e-6
    )
    np.testing.assert_allclose(image.GetOrigin(), (-50.0, 20.0, 100.0), atol=1e-6)
    # voxel (i, j, k) sits at IPP_k + i * dx * row + j * dy * col
    point = (
        np.array([-50.0, 20.0, 100.0])
        + 3 * 2.5 * normal
        + 5 * 0.7 * np.array(row)
        + 2 * 0.9 * np.array(col)
    )
    np.testing.assert_allclose(image.TransformIndexToPhysicalPoint((5, 2, 3)), point, atol=1e-6)
    assert info.sop_instance_uids == tuple(d.SOPInstanceUID for d in datasets)
    np.testing.assert_allclose(np.diff(info.slice_positions), 2.5)
    assert info.modality == "CT" and info.warnings == []


def test_rescale_slope_and_intercept_applied(tmp_path: Path) -> None:
    stored = np.random.default_rng(3).integers(0, 1500, (3, 6, 7))
    hu = 2.0 * stored - 1024.0
    write_scrambled(ct_slices(hu, slope=2.0, intercept=-1024.0), tmp_path, seed=5)
    image, _ = read_series(tmp_path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), hu)


def test_a_rescale_slope_of_zero_is_refused_naming_it(tmp_path: Path) -> None:
    """A slope of 0 (which DICOM forbids) read every voxel as the intercept: a CT of -1024 HU
    with a generic warning, an MR of zeros with none."""
    datasets = ct_slices(hu_volume((3, 6, 7)), modality="MR")
    datasets[1].RescaleSlope = 0
    write_scrambled(datasets, tmp_path, seed=1)
    with pytest.raises(DicomError, match="RescaleSlope 0; the pixel values cannot be read"):
        read_series(tmp_path)


def test_a_bad_slice_is_named_by_its_instance_number(tmp_path: Path) -> None:
    """An upload's files are stored under their SOP UIDs: 'IMG0011.dcm: no ImagePositionPatient'
    came out as '.../2.25.5051....dcm: ...', which names nothing the user can find; the slice's
    InstanceNumber, as a viewer shows it, now comes with it."""
    datasets = ct_slices(hu_volume((4, 6, 7)))
    del datasets[2].ImagePositionPatient
    write_scrambled(datasets, tmp_path, seed=2)  # InstanceNumbers shuffled too
    number = datasets[2].InstanceNumber
    with pytest.raises(DicomError, match=rf"\(instance {number}\): no ImagePositionPatient"):
        read_series(tmp_path)


def test_files_without_preamble_and_zip_source(tmp_path: Path) -> None:
    volume = hu_volume((3, 8, 9))
    datasets = ct_slices(volume)
    write(datasets[0], tmp_path / "ct" / "s0")
    write(datasets[1], tmp_path / "ct" / "s1", preamble=False)
    write(datasets[2], tmp_path / "ct" / "s2", bare=True)
    # the bare file starts with the data set itself: group 0008, no preamble, no file meta
    assert (tmp_path / "ct" / "s2").read_bytes()[:2] == b"\x08\x00"
    (tmp_path / "ct" / "README.txt").write_text("exported by hand")
    with zipfile.ZipFile(tmp_path / "case.zip", "w") as archive:
        for path in sorted((tmp_path / "ct").iterdir()):
            archive.write(path, f"export/{path.name}")

    for source in (tmp_path / "ct", tmp_path / "case.zip"):
        inventory = scan_dicom(source)
        assert [s.n_slices for s in inventory.series] == [3]
        assert any("README.txt" in note for note in inventory.skipped)
        image, info = read_series(inventory)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(image), volume)
    assert info.files[0].startswith(f"{tmp_path / 'case.zip'}:export/")


def test_ct_small_loads_with_header_geometry() -> None:
    path = get_testdata_file("CT_small.dcm")
    raw = pydicom.dcmread(path)
    image, info = read_series(path)
    assert image.GetSize() == (raw.Columns, raw.Rows, 1)
    np.testing.assert_allclose(
        image.GetSpacing(), (*map(float, raw.PixelSpacing[::-1]), float(raw.SliceThickness))
    )
    np.testing.assert_allclose(image.GetOrigin(), [float(v) for v in raw.ImagePositionPatient])
    hu = sitk.GetArrayFromImage(image)
    expected = raw.pixel_array * float(raw.RescaleSlope) + float(raw.RescaleIntercept)
    np.testing.assert_array_equal(hu[0], expected)
    assert (hu.min(), hu.max()) == (expected.min(), expected.max())
    assert (
        info.series_uid == raw.SeriesInstanceUID
        and info.frame_of_reference_uid == raw.FrameOfReferenceUID
    )


def test_ibsi_multiframe_phantom_loads(shared_data: Path) -> None:
    folder = shared_data / "ibsi1/digital_phantom/dicom/image"
    nifti = shared_data / "ibsi1/digital_phantom/nifti/image/phantom.nii.gz"
    if not folder.is_dir() or not nifti.is_file():
        pytest.skip("IBSI digital phantom not in ../shared/data")
    image, info = read_series(folder)
    assert image.GetSize() == (5, 4, 4)
    np.testing.assert_allclose(image.GetDirection(), (1, 0, 0, 0, 0, 1, 0, -1, 0))
    assert info.slice_positions == (0.0, 1.0, 2.0, 3.0)
    # Frames are stored from y = 3 down to y = 0 and must come back sorted along the normal (+y);
    # the NIfTI copy stores the same voxels with its y and z axes swapped.
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(nifti)))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), reference.transpose(1, 0, 2))


def test_picks_ct_among_series_and_honours_series_uid(tmp_path: Path) -> None:
    ct = ct_slices(hu_volume((3, 4, 4)))
    mr = ct_slices(hu_volume((3, 4, 4)), modality="MR")
    for i, ds in enumerate(ct + mr):
        write(ds, tmp_path / f"{i}.dcm")
    image, info = read_series(tmp_path)
    assert info.modality == "CT" and image.GetSize()[2] == 3
    _, info = read_series(tmp_path, series_uid=mr[0].SeriesInstanceUID)
    assert info.modality == "MR"
    with pytest.raises(DicomError, match="not in") as err:
        read_series(tmp_path, series_uid="1.2.3")
    assert ct[0].SeriesInstanceUID in str(err.value)


def test_two_ct_series_ask_which(tmp_path: Path) -> None:
    first, second = ct_slices(hu_volume((3, 4, 4))), ct_slices(hu_volume((3, 4, 4)))
    for i, ds in enumerate(first + second):
        write(ds, tmp_path / f"{i}.dcm")
    with pytest.raises(DicomError, match="2 CT series") as err:
        read_series(tmp_path)
    assert first[0].SeriesInstanceUID in str(err.value) and second[0].SeriesInstanceUID in str(
        err.value
    )


def test_a_pet_with_its_nac_series_reads_the_attenuation_corrected_one(tmp_path: Path) -> None:
    """A PET-only export with its AC and NAC series: the AC one is read, as beside a CT, and the
    warnings name the NAC one left aside (no command can name a series)."""
    from tests.test_pet_suv import activity, pet_slices

    for name, suv, corrected in (("AC", 8.0, ["DECY", "ATTN"]), ("NAC", 3.0, ["DECY"])):
        datasets = pet_slices(
            [activity(suv, 60)] * 4, CorrectedImage=corrected, SeriesDescription=f"PET {name}"
        )
        for k, ds in enumerate(datasets):
            write(ds, tmp_path / name / f"{k}.dcm")
    image, info = read_series(tmp_path)
    assert info.description == "PET AC"
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), 8.0, rtol=5e-4)
    assert any("'PET NAC'" in w and "not attenuation-corrected" in w for w in info.warnings)
    assert [s.default for s in series_summary(scan_dicom(tmp_path))].count(True) == 1


def test_single_slice_without_thickness_uses_1mm(tmp_path: Path) -> None:
    (ds,) = ct_slices(hu_volume((1, 4, 4)))
    del ds.SliceThickness
    image, info = read_series(write(ds, tmp_path / "one.dcm"))
    assert image.GetSpacing()[2] == 1.0 and "1 mm assumed" in info.warnings[0]


@pytest.mark.parametrize(("jitter", "warned"), [(0.005, False), (0.03, True)])
def test_small_spacing_jitter_is_accepted(tmp_path: Path, jitter: float, warned: bool) -> None:
    datasets = ct_slices(hu_volume((4, 4, 4)), spacing=(1.0, 1.0, 2.0), origin=(0.0, 0.0, 0.0))
    datasets[2].ImagePositionPatient = [0.0, 0.0, 4.0 + jitter * 2.0]
    for i, ds in enumerate(datasets):
        write(ds, tmp_path / f"{i}.dcm")
    image, info = read_series(tmp_path)
    assert image.GetSpacing()[2] == pytest.approx(2.0)
    assert bool(info.warnings) == warned


def bad_series(tmp_path: Path, change) -> Path:
    datasets = ct_slices(hu_volume((7, 6, 6)), spacing=(1.0, 1.0, 2.5), origin=(0.0, 0.0, 0.0))
    datasets = change(datasets) or datasets
    for i, ds in enumerate(datasets):
        write(ds, tmp_path / f"slice{i}.dcm")
    return tmp_path


def _set(index: int, **attrs):
    def change(datasets):
        for key, value in attrs.items():
            setattr(datasets[index], key, value)

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d[:2] + d[3:],
            r"Missing slice.*slice 1 \(at 2\.50 mm.*slice 2 \(at 7\.50 mm.*gap 5\.00 mm, about 1 slice",
        ),
        (lambda d: d[:2] + d[4:], r"Missing slice.*slice 1 .*gap 7\.50 mm, about 2 slice"),
        (_set(2, ImagePositionPatient=[0.0, 0.0, 5.6]), r"not uniform.*5\.60 mm"),
        (
            _set(3, ImagePositionPatient=[0.0, 0.0, 5.0]),
            r"slice2\.dcm \(instance 3\) and .*slice3\.dcm \(instance 4\) are at the same",
        ),
        (
            _set(1, ImageOrientationPatient=[1, 0, 0, 0, 0.9998, 0.02]),
            "different orientations.*slice1.dcm",
        ),
        (
            _set(4, PixelSpacing=[1.0, 1.2]),
            r"different pixel spacings.*slice4\.dcm \(instance 5\) \[1\.0, 1\.2\]",
        ),
        (_set(1, ImagePositionPatient=[3.0, 0.0, 2.5]), "shifted sideways"),
        (_set(0, ImagePositionPatient=None), "no ImagePositionPatient"),
    ],
    ids=[
        "one missing",
        "two missing",
        "irregular",
        "duplicate",
        "orientation",
        "pixel spacing",
        "tilt",
        "no IPP",
    ],
)
def test_inconsistent_series_refused(tmp_path: Path, change, expected: str) -> None:
    with pytest.raises(DicomError, match=expected):
        read_series(bad_series(tmp_path, change))


def test_different_sizes_refused(tmp_path: Path) -> None:
    datasets = ct_slices(hu_volume((2, 6, 6)))
    datasets[1] = ct_slices(hu_volume((2, 6, 7)), series_uid=datasets[0].SeriesInstanceUID)[1]
    for i, ds in enumerate(datasets):
        write(ds, tmp_path / f"{i}.dcm")
    with pytest.raises(DicomError, match="different sizes.*6x6.*6x7"):
        read_series(tmp_path)


def test_non_dicom_inputs_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.dcm"
    text.write_text("this is not DICOM at all")
    with pytest.raises(DicomError, match="notes.dcm is not a DICOM file"):
        read_series(text)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.txt").write_text("hello")
    with pytest.raises(DicomError, match=r"No DICOM files found in .*folder.*a\.txt"):
        scan_dicom(tmp_path / "folder")
    with pytest.raises(DicomError, match="does not exist"):
        scan_dicom(tmp_path / "missing")


def test_dicom_without_pixels_refused(tmp_path: Path) -> None:
    with pytest.raises(DicomError, match="only RTSTRUCT structure set"):
        read_series(get_testdata_file("rtstruct.dcm"))
    (ds,) = ct_slices(hu_volume((1, 4, 4)))
    del ds.PixelData
    with pytest.raises(
        DicomError,
        match=r"nopix.dcm \(instance 1\) \(slice 1 of 1, at \(.*\) mm\) has no pixel data",
    ):
        read_series(write(ds, tmp_path / "nopix.dcm"))


def test_inventory_lists_rtstruct_with_its_series(tmp_path: Path) -> None:
    datasets = ct_slices(hu_volume((2, 4, 4)))
    for i, ds in enumerate(datasets):
        write(ds, tmp_path / "ct" / f"{i}.dcm")
    write(rtstruct(datasets, {"GTV": []}), tmp_path / "rs.dcm", preamble=False)
    inventory = scan_dicom(tmp_path)
    (entry,) = inventory.rtstructs
    assert entry.references.series_uids == (datasets[0].SeriesInstanceUID,)
    assert entry.roi_names == ("GTV",)
    assert [s.series_uid for s in inventory.series] == [datasets[0].SeriesInstanceUID]


def write_series(folder: Path, datasets: list) -> list:
    for ds in datasets:
        write(ds, folder / f"{ds.SOPInstanceUID}.dcm")
    return datasets


def scout(**kwargs) -> list:
    """A one-slice localizer."""
    (ds,) = ct_slices(hu_volume((1, 6, 5)), **kwargs)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.SeriesDescription = "scout"
    return [ds]


def test_series_summary_and_default_pick_follow_the_structure_set(tmp_path: Path) -> None:
    """CT + MR + scout in one folder: listed with their sizes; the RTSTRUCT drawn on the MR makes it
    the default, where the modality preference alone takes the CT."""
    ct = write_series(tmp_path, ct_slices(hu_volume((4, 6, 5))))
    mr = write_series(tmp_path, ct_slices(hu_volume((3, 8, 7)), modality="MR"))
    localizer = write_series(tmp_path, scout(frame_uid=ct[0].FrameOfReferenceUID))
    assert read_series(tmp_path)[1].series_uid == ct[0].SeriesInstanceUID
    write(rtstruct(mr, {"GTV": []}), tmp_path / "rs.dcm")

    inventory = scan_dicom(tmp_path)
    summaries = {s.series_uid: s for s in series_summary(inventory)}
    assert len(summaries) == 3
    ct_row, mr_row, scout_row = (summaries[s[0].SeriesInstanceUID] for s in (ct, mr, localizer))
    assert (ct_row.modality, ct_row.description, ct_row.size) == ("CT", "synthetic CT", "5 x 6 x 4")
    assert (mr_row.modality, mr_row.size, mr_row.slices) == ("MR", "7 x 8 x 3", 3)
    assert (scout_row.scout, scout_row.description, ct_row.scout, mr_row.scout) == (
        True,
        "scout",
        False,
        False,
    )
    assert mr_row.referenced_by == (str(tmp_path / "rs.dcm"),)
    assert ct_row.referenced_by == scout_row.referenced_by == ()
    assert [s.default for s in (ct_row, mr_row, scout_row)] == [False, True, False]
    _, info = read_series(inventory)
    assert info.series_uid == mr[0].SeriesInstanceUID
    _, info = read_series(inventory, series_uid=localizer[0].SeriesInstanceUID)
    assert info.series_uid == localizer[0].SeriesInstanceUID


def test_structure_set_naming_only_the_frame_of_reference(tmp_path: Path) -> None:
    """A structure set naming neither series nor slices of the upload is matched by its frame of
    reference, never to the scout that shares it."""
    ct = write_series(tmp_path, ct_slices(hu_volume((3, 4, 4))))
    mr = write_series(tmp_path, ct_slices(hu_volume((3, 4, 4)), modality="MR"))
    write_series(tmp_path, scout(frame_uid=mr[0].FrameOfReferenceUID))
    elsewhere = ct_slices(hu_volume((3, 4, 4)), frame_uid=mr[0].FrameOfReferenceUID)
    write(rtstruct(elsewhere, {"GTV": []}), tmp_path / "rs.dcm")
    inventory = scan_dicom(tmp_path)
    assert read_series(inventory)[1].series_uid == mr[0].SeriesInstanceUID
    assert [s.default for s in series_summary(inventory)].count(True) == 1
    assert ct[0].SeriesInstanceUID not in {
        s.series_uid for s in series_summary(inventory) if s.referenced_by
    }


def test_scouts_dose_and_plan_never_picked_by_default(tmp_path: Path) -> None:
    ct = write_series(tmp_path, ct_slices(hu_volume((5, 4, 4))))
    write_series(tmp_path, scout())
    write_series(tmp_path, ct_slices(hu_volume((2, 4, 4))))  # two slices: a scout too
    for name in ("rtdose.dcm", "rtplan.dcm"):
        shutil.copy(get_testdata_file(name), tmp_path / name)
    inventory = scan_dicom(tmp_path)
    assert len(inventory.series) == 3
    assert sorted(note.split(": ", 1)[1] for note in inventory.skipped) == [
        "DICOM RTDOSE object, not an image",
        "DICOM RTPLAN object, not an image",
    ]
    _, info = read_series(inventory)
    assert info.series_uid == ct[0].SeriesInstanceUID
    assert [s.scout for s in series_summary(inventory)].count(True) == 2


def test_only_scouts_ask_which(tmp_path: Path) -> None:
    first = write_series(tmp_path, scout())
    write_series(tmp_path, ct_slices(hu_volume((2, 4, 4))))
    with pytest.raises(DicomError, match="only scout") as err:
        read_series(tmp_path)
    assert first[0].SeriesInstanceUID in str(err.value)
    assert not any(s.default for s in series_summary(scan_dicom(tmp_path)))


def test_single_series_is_read_even_when_thin(tmp_path: Path) -> None:
    """A lone series is what the user gave, even of one or two slices."""
    (ds,) = scout()
    image, info = read_series(write(ds, tmp_path / "only.dcm"))
    assert image.GetSize() == (5, 6, 1) and info.series_uid == ds.SeriesInstanceUID


def test_file_meta_without_transfer_syntax_loads(tmp_path: Path) -> None:
    """A file with preamble and file meta but no TransferSyntaxUID is decoded with the encoding
    pydicom found (before: refused, 'file_meta has no Transfer Syntax UID')."""
    (ds,) = ct_slices(hu_volume((1, 4, 4)))
    del ds.file_meta.TransferSyntaxUID
    ds.preamble = b"\0" * 128
    pydicom.dcmwrite(tmp_path / "a.dcm", ds, implicit_vr=False, little_endian=True)
    image, _ = read_series(tmp_path / "a.dcm")
    assert image.GetSize() == (4, 4, 1)


def test_big_endian_file_without_preamble_is_read() -> None:
    """Explicit VR big endian without preamble or file meta (retired, still found in archives)."""
    ds = read_dicom(get_testdata_file("ExplVR_BigEndNoMeta.dcm"), stop_before_pixels=True)
    assert ds.Modality == "RTPLAN" and ds.file_meta.TransferSyntaxUID == ExplicitVRBigEndian


@pytest.mark.parametrize(
    ("name", "note"),
    [
        ("dicomdirtests/DICOMDIR", "a DICOMDIR index of other files, not an image"),
        (
            "dicomdirtests/TINY_ALPHA/PT000000/ST000000/SE000000/IM000000",
            "DICOM CT image without pixel rows and columns: damaged or cut short",
        ),  # fmt: skip
        ("nested_priv_SQ.dcm", "DICOM data set without Modality or SOP Class UID, not an image"),
    ],
)
def test_skipped_objects_say_what_they_are(name: str, note: str) -> None:
    inventory = scan_dicom(Path(get_testdata_file("CT_small.dcm")).parent / name)
    assert [s.split(": ", 1)[1] for s in inventory.skipped] == [note]


def test_a_colour_palette_is_named_by_its_sop_class() -> None:
    palette = Path(pydicom.data.__file__).parent / "palettes" / "hotiron.dcm"
    with pytest.raises(DicomError, match="DICOM Color Palette Storage object"):
        read_series(palette)


def test_undecodable_compressed_pixels_name_the_syntax_and_the_decoders_tried() -> None:
    """pydicom's valid 12-bit JPEG Extended file, which the installed decoders refuse, was called
    'probably damaged'."""
    with pytest.raises(DicomError) as err:
        decode_pixels(read_dicom(get_testdata_file("JPEG-lossy.dcm")), "JPEG-lossy.dcm")
    message = str(err.value)
    assert message.startswith("JPEG-lossy.dcm: its JPEG Extended (Process 2 and 4) (1.2.840.")
    assert "of a kind the installed decoders" in message and "12-bit precision" in message
    assert "damaged" not in message and "Export the series uncompressed" in message


def test_a_series_compressed_with_loss_is_cautioned(shared_data, tmp_path) -> None:
    """The real sarcoma CT marked as a PACS marks a lossy JPEG 2000 export (LossyImageCompression
    01, ratio 20; such an export lowered the GTV's HU standard deviation from 23.7 to 21.1)
    loaded without a word; unmarked, nothing is said."""
    from survival_core.io.case_loader import load_case

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not in ../shared/data")
    case = shutil.copytree(source, tmp_path / "case")
    assert not any("compressed with loss" in w for w in load_case(case).warnings)
    slices = sorted((case / "image").glob("*.dcm"))
    for path in slices[:40]:
        ds = pydicom.dcmread(path)
        ds.LossyImageCompression, ds.LossyImageCompressionRatio = "01", 20
        ds.save_as(path)
    (said,) = [w for w in load_case(case).warnings if "compressed with loss" in w]
    assert said.startswith(f"40 of its {len(slices)} images were compressed with loss (ratio 20)")
    ds = pydicom.dcmread(slices[0])  # an empty second value ('10\\'): read, not a traceback
    ds.LossyImageCompressionRatio = ["10", ""]
    ds.save_as(slices[0])
    (said,) = [w for w in load_case(case).warnings if "compressed with loss" in w]
    assert "(ratio 10, 20)" in said


@pytest.mark.parametrize(
    ("syntax", "options", "said"),
    [
        # pydicom's JPEG 2000 (.91) at ratio 20, as exported, unmarked: HU up to 163 off
        ("JPEG2000", {"j2k_cr": [20]}, "3 of its 59 images were compressed with loss:"),
        ("JPEGLSNearLossless", {"jls_error": 3}, "3 of its 59 images were compressed with loss:"),
        # a lossless JPEG 2000 filed under .91, unmarked: the stream cannot tell
        ("JPEG2000Lossless", {}, "3 of its 59 images are JPEG 2000 Image Compression "),
        ("JPEGLSNearLossless", {"jls_error": 0}, None),  # NEAR 0: lossless
    ],
)
def test_a_syntax_allowing_loss_is_read_from_its_codestream(
    shared_data, tmp_path, syntax: str, options: dict, said: str | None
) -> None:
    """The real sarcoma CT with three slices as JPEG 2000 (.91) or JPEG-LS near-lossless (.81)
    without LossyImageCompression, which either syntax allows: their loss went without a word
    (only baseline and extended JPEG were cautioned). The codestream's wavelet (9/7
    irreversible) or NEAR says it; where it cannot, the caution says they may have lost."""
    from pydicom import uid

    from survival_core.io.case_loader import load_case

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    case = shutil.copytree(source, tmp_path / "case")
    for path in sorted((case / "image").glob("*.dcm"))[20:23]:
        ds = pydicom.dcmread(path)
        ds.compress(getattr(uid, syntax), **options)
        ds.file_meta.TransferSyntaxUID = (
            uid.JPEG2000 if syntax == "JPEG2000Lossless" else ds.file_meta.TransferSyntaxUID
        )
        for keyword in ("LossyImageCompression", "LossyImageCompressionRatio"):
            ds.pop(keyword, None)
        ds.save_as(path)
    cautions = [w for w in load_case(case).warnings if "with loss" in w]
    if said is None:
        assert cautions == []
    else:
        (caution,) = cautions
        assert caution.startswith(said) and "export the series uncompressed" in caution
        if syntax == "JPEG2000Lossless":
            assert "(1.2.840.10008.1.2.4.91), which allows loss, and say neither way" in caution


def test_a_compressed_slice_cut_short_is_refused_naming_it(shared_data, tmp_path) -> None:
    """The real sarcoma CT as JPEG 2000 or RLE with one file cut short in a transfer: pydicom
    read it as an empty data set, so an upload left the slice out as 'an object no case is read
    from', a cohort import stored 58 of 59 slices without a word, and a folder said the slice
    'has no pixel data'."""
    from pydicom.uid import RLELossless

    from survival_core.cohort.importer import import_images
    from survival_core.io.case_loader import load_case
    from survival_core.io.uploads import store_upload

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not in ../shared/data")
    case = tmp_path / "download" / "P1"
    case.mkdir(parents=True)
    shutil.copy(source / "mask" / "RS.dcm", case / "RS.dcm")
    for path in sorted((source / "image").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)
        ds.save_as(case / path.name, enforce_file_format=True)
    cut = sorted(case.glob("0*.dcm"))[-1]
    cut.write_bytes(cut.read_bytes()[:-5000])
    with pytest.raises(DicomError, match=rf"{cut.name}: the file is cut short"):
        load_case(case)
    with pytest.raises(DicomError, match=rf"{cut.name}: the file is cut short"):
        store_upload([(p.name, p.read_bytes()) for p in sorted(case.iterdir())])
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "failed" and "the file is cut short" in outcome.reason


def _sarcoma_by_position(shared_data: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """A copy of the real sarcoma CT case (image and structure set) and its slice files in order
    along the patient's axis."""
    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not in ../shared/data")
    case = shutil.copytree(source, tmp_path / "STS_001")
    slices = sorted(
        (case / "image").glob("*.dcm"),
        key=lambda p: float(pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2]),
    )
    return case, slices


@pytest.mark.parametrize("kept", [500, 800])
def test_a_slice_cut_short_inside_its_header_is_named_beside_the_gap(
    shared_data, tmp_path, kept: int
) -> None:
    """A slice of the real sarcoma CT cut inside its header (its SOP class kept, its rows and
    columns not) was filed as 'an object without pixel data' at info level, and the series
    refused for a missing slice between its neighbours, the damaged file never named."""
    from survival_core.io.case_loader import load_case

    case, slices = _sarcoma_by_position(shared_data, tmp_path)
    cut = slices[30]
    cut.write_bytes(cut.read_bytes()[:kept])
    with pytest.raises(DicomError) as err:
        load_case(case)
    message = str(err.value)
    assert "Missing slice(s)" in message
    assert "1 image file(s) that may be slices of this series are damaged or cut short" in message
    assert f"({cut}): copy or export them again." in message


def test_an_end_slice_cut_short_is_a_warning_naming_it(shared_data, tmp_path) -> None:
    """The series' last slice cut inside its header leaves no gap: the case was read a slice
    short without a word."""
    from survival_core.io.case_loader import load_case

    case, slices = _sarcoma_by_position(shared_data, tmp_path)
    slices[-1].write_bytes(slices[-1].read_bytes()[:500])
    loaded = load_case(case)
    assert loaded.image.GetSize()[2] == len(slices) - 1
    (said,) = [w for w in loaded.warnings if "damaged or cut short" in w]
    assert f"({slices[-1]}): copy or export them again" in said


@pytest.mark.parametrize("kept", [200, 300])
def test_a_file_cut_inside_its_file_meta_is_said_to_end_in_its_header(
    shared_data, tmp_path, kept: int
) -> None:
    """A slice cut 300 bytes in (inside its file meta) was said to end inside its pixel data."""
    case, slices = _sarcoma_by_position(shared_data, tmp_path)
    slices[0].write_bytes(slices[0].read_bytes()[:kept])
    with pytest.raises(DicomError, match="it ends inside its header, before its pixel data"):
        scan_dicom(case)


class _NothingInstalled:
    """A pydicom decoder whose plugins all lack their packages."""

    is_available = False
    available_plugins = ()
    missing_dependencies = [
        "gdcm - requires gdcm>=3.0.10",
        "pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-libjpeg>=2.1",
    ]


def test_compressed_pixels_without_a_decoder_say_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr(dicom_series, "get_decoder", lambda uid: _NothingInstalled())
    ds = read_dicom(get_testdata_file("JPGExtended.dcm"))
    ds.pixel_array_options(decoding_plugin="gdcm")  # a real failure: gdcm is not installed
    with pytest.raises(DicomError) as err:
        decode_pixels(ds, "JPGExtended.dcm")
    assert str(err.value) == (
        "JPGExtended.dcm: its pixel data is compressed as JPEG Extended (Process 2 and 4) "
        "(1.2.840.10008.1.2.4.51), and no decoder for it is installed: install gdcm>=3.0.10 or "
        "pylibjpeg>=2.0 and pylibjpeg-libjpeg>=2.1, or export the series uncompressed."
    )


def test_a_syntax_no_decoder_exists_for_is_refused(tmp_path: Path) -> None:
    (ds,) = ct_slices(hu_volume((1, 4, 4)))
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    ds.PixelData = encapsulate([b"\0" * 16])
    with pytest.raises(DicomError, match=r"MPEG2 Main Profile / Main Level .* no decoder exists"):
        decode_pixels(ds, "video.dcm")


def test_truncated_pixel_data_is_refused_as_damaged() -> None:
    with pytest.raises(DicomError, match=r"Explicit VR Little Endian .*damaged or truncated"):
        read_series(get_testdata_file("MR_truncated.dcm"))


def test_a_study_contoured_on_ct_and_mr_reads_the_ct_and_says_the_mr_was_not(tmp_path) -> None:
    """A CT and a registered MR, each with its structure set: the CT was read by preference
    without a word that the MR, contoured as well, was left aside."""
    from tests.dicom_fixtures import square

    shared = {"frame_uid": "1.2.3.9", "study_uid": "1.2.3"}
    ct = ct_slices(hu_volume(), series_uid="1.2.3.1", **shared)
    mr = ct_slices(hu_volume(seed=2), modality="MR", series_uid="1.2.3.2", **shared)
    for name, slices in (("ct", ct), ("mr", mr)):
        for k, ds in enumerate(slices):
            write(ds, tmp_path / name / f"{k}.dcm")
        write(rtstruct(slices, {"GTV": [square((0, 0), 8, 45.0)]}), tmp_path / f"rs_{name}.dcm")
    image, info = read_series(tmp_path)
    assert info.modality == "CT"
    (note,) = [w for w in info.warnings if "drawn on other series too" in w]
    assert "MR" in note and "1.2.3.2" in note and "the CT series" in note
    _, mr_info = read_series(tmp_path, "1.2.3.2")  # chosen: no note
    assert not [w for w in mr_info.warnings if "drawn on other series too" in w]


def test_two_patients_series_to_choose_from_are_named_as_such(tmp_path) -> None:
    """Two patients' CT series in one frame of reference: 'say which one to use' did not say
    they were two patients."""
    from tests.dicom_fixtures import square

    shared = {"frame_uid": "1.2.3.9", "study_uid": "1.2.3"}
    for k, (patient, uid) in enumerate((("PAT-A", "1.2.3.1"), ("PAT-B", "1.2.3.2"))):
        for n, ds in enumerate(ct_slices(hu_volume(seed=k), series_uid=uid, **shared)):
            ds.PatientID = patient
            write(ds, tmp_path / patient / f"{n}.dcm")
    ghost = ct_slices(hu_volume(), series_uid="9.9", **shared)  # drawn on a series not given
    write(rtstruct(ghost, {"GTV": [square((0, 0), 8, 45.0)]}), tmp_path / "rs.dcm")
    with pytest.raises(DicomError, match=r"They are of 2 patients \(PAT-A, PAT-B\): give one"):
        read_series(tmp_path)


def test_phases_are_told_apart_by_number_and_thickness_and_none_is_preselected(
    tmp_path: Path,
) -> None:
    """Three phases of one study under a structure set linked by frame of reference alone: each
    was offered as 'CT, 4 x 4 x 3 voxels, contoured' and the Case page pre-selected the first
    (a delayed phase); the import listed them alike."""
    from pages.case import _default_series, _series_label
    from survival_core.cohort.importer import _series_text

    first = ct_slices(hu_volume((3, 4, 4)))
    for number, thickness in ((7, 2.5), (8, 2.5), (9, 5.0)):
        datasets = ct_slices(hu_volume((3, 4, 4)), frame_uid=first[0].FrameOfReferenceUID)
        for ds in datasets:
            ds.SeriesNumber, ds.SliceThickness = number, thickness
        write_series(tmp_path, datasets)
    write(rtstruct(first, {"GTV": []}, series_uid="1.2.3.9"), tmp_path / "rs.dcm")
    inventory = scan_dicom(tmp_path)
    listed = sorted(series_summary(inventory), key=lambda s: s.number)
    assert [(s.number, s.thickness) for s in listed] == [("7", 2.5), ("8", 2.5), ("9", 5.0)]
    assert _default_series(listed) is None
    assert _series_label(listed[2]).startswith("CT, series 9, 'synthetic CT', 4 x 4 x 3 voxels")
    assert "5 mm slices" in _series_label(listed[2])
    entry = next(e for e in inventory.series if e.number == "9")
    assert _series_text(entry) == "CT series 9 (4 x 4 x 3 voxels, 5 mm slices)"
    # the refusal to choose lists them so, and `score`/`report`/`explain --series` choose
    from survival_core.cli.main import build_parser
    from survival_core.cli.model_args import case_options

    with pytest.raises(DicomError, match=r"say which one to use: .*\(CT series 9, .*of 5 mm\)"):
        read_series(inventory)
    args = build_parser().parse_args(["score", "--case", "x", "--series", entry.series_uid])
    assert case_options(args)["series_uid"] == entry.series_uid
    image, info = read_series(inventory, case_options(args)["series_uid"])
    assert info.series_uid == entry.series_uid


def test_a_series_with_a_malformed_thickness_or_number_is_still_named() -> None:
    """A SliceThickness of an unknown VR ('ES', as the fuzzer wrote it) raised pydicom's
    NotImplementedError out of the message listing a study's series."""
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import Dataset

    from survival_core.io.dicom_series import SeriesEntry

    header = Dataset()
    header[0x00180050] = RawDataElement(0x00180050, "ES", 4, b"2.5 ", 0, False, True)
    header[0x00200011] = RawDataElement(0x00200011, "ES", 2, b"4 ", 0, False, True)
    entry = SeriesEntry("1.2.3", "CT", "", "1.2", "1.2.4", headers=[header])
    assert (entry.thickness, entry.number) == (None, "")
    assert entry.describe() == "1.2.3 (CT, 1 slices)"


def test_an_enhanced_mr_names_its_slice_thickness(shared_data: Path, tmp_path: Path) -> None:
    """TCIA STS_001's T1 written as one Enhanced (multi-frame) MR file, its thickness in the
    shared functional groups (PixelMeasuresSequence), as scanners write it: the series was
    labelled 'series 5436027' without its '3.27 mm slices' (only a top-level SliceThickness was
    read), which tell a study's reconstructions apart once de-identified."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    source = shared_data / "sts_sarcoma" / "STS_001" / "MR_T1" / "image"
    if not source.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    slices = sorted(
        (pydicom.dcmread(p) for p in source.glob("*.dcm")),
        key=lambda s: float(s.ImagePositionPatient[2]),
    )

    def item(**values) -> Sequence:
        ds = Dataset()
        for keyword, value in values.items():
            setattr(ds, keyword, value)
        return Sequence([ds])

    pixels = np.stack([s.pixel_array for s in slices])
    enhanced = slices[0]
    thickness = float(enhanced.SliceThickness)
    shared = Dataset()
    shared.PixelMeasuresSequence = item(
        PixelSpacing=list(enhanced.PixelSpacing), SliceThickness=enhanced.SliceThickness
    )
    shared.PlaneOrientationSequence = item(
        ImageOrientationPatient=list(enhanced.ImageOrientationPatient)
    )
    enhanced.SharedFunctionalGroupsSequence = Sequence([shared])
    enhanced.PerFrameFunctionalGroupsSequence = Sequence(
        [
            Dataset(PlanePositionSequence=item(ImagePositionPatient=list(s.ImagePositionPatient)))
            for s in slices
        ]
    )
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
        delattr(enhanced, keyword)
    del enhanced.SliceThickness
    enhanced.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"  # Enhanced MR Image Storage
    enhanced.file_meta.MediaStorageSOPClassUID = enhanced.SOPClassUID
    enhanced.NumberOfFrames = len(slices)
    enhanced.PixelData = pixels.tobytes()
    write(enhanced, tmp_path / "mr" / "enhanced.dcm")
    (summary,) = dicom_series.series_summary(scan_dicom(tmp_path / "mr"))
    assert summary.slices == len(slices) and summary.thickness == pytest.approx(thickness)
    assert dicom_series.series_naming(summary.number, summary.thickness)[1] == "3.27 mm slices"


@pytest.mark.parametrize("padding", [-3024, -1024])
def test_padding_is_the_padding_value_joined_to_the_slice_edge(tmp_path: Path, padding) -> None:
    """Stored values equal to PixelPaddingValue read as NaN (no value) where they reach the
    slice's edge through padding (outside a reconstruction circle); enclosed by image data they
    are image values. A padding at air's -1024 HU (0 stored) is air's value too, which the air
    around a patient, joined to the edge, holds: read as image values."""
    hu = hu_volume((3, 8, 9))
    hu[:, :, 0] = padding  # the edge column: padding
    hu[:, 4, 4] = padding  # enclosed
    datasets = ct_slices(hu, intercept=-3024.0)
    for ds in datasets:
        ds.PixelPaddingValue = padding + 3024
    write_scrambled(datasets, tmp_path)
    volume = sitk.GetArrayFromImage(read_series(tmp_path)[0])
    assert np.isnan(volume[:, :, 0]).all() == (padding < -1024)
    np.testing.assert_array_equal(volume[:, :, 1:], hu[:, :, 1:])


def test_padding_of_a_lossy_image_is_read_as_its_values(tmp_path: Path) -> None:
    """pydicom's real JPEG 2000 lossy CT (693_J2KI, PixelPaddingValue -2000): lossy coding moved
    the padding's values (its corners decode to -2016), so only 108 scattered pixels matched it
    and read as no value. A lossy image's padding is left as its values."""
    from pydicom.data import get_testdata_file

    shutil.copy(get_testdata_file("693_J2KI.dcm"), tmp_path)
    volume = sitk.GetArrayFromImage(read_series(tmp_path)[0])
    assert not np.isnan(volume).any()
    unsaid = pydicom.dcmread(tmp_path / "693_J2KI.dcm")  # its header not saying the loss
    for keyword in ("LossyImageCompression", "LossyImageCompressionRatio"):
        unsaid.pop(keyword, None)
    unsaid.save_as(tmp_path / "693_J2KI.dcm")
    assert not np.isnan(sitk.GetArrayFromImage(read_series(tmp_path)[0])).any()
