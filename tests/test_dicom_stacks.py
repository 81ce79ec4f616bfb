"""Several volumes in one DICOM series (echoes, time points, a localizer): listed as stacks, the
contoured one read by default, any one by its key, repeats nothing explains still refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from pydicom.uid import generate_uid

from survival_core.errors import DicomError
from survival_core.io.case_loader import load_case
from survival_core.io.dicom_series import read_series, scan_dicom, series_summary
from survival_core.io.dicom_stacks import stack_labels
from tests.dicom_fixtures import ct_slices, hu_volume, rtstruct, square, write, write_scrambled

UIDS = {"series_uid": "1.2.826.0.1.3680043.8.498.1", "frame_uid": "1.2.3.4", "study_uid": "1.2.3"}


def echoes(n: int = 2, modality: str = "MR") -> list[list]:
    """``n`` echoes of a 5-slice series, one list of data sets each; echo e holds values + 100 e."""
    series = []
    for echo in range(1, n + 1):
        datasets = ct_slices(hu_volume(seed=echo) + 100 * echo, modality=modality, **UIDS)
        for ds in datasets:
            ds.EchoNumbers = echo
        series.append(datasets)
    return series


def test_echoes_listed_as_stacks_and_the_contoured_one_read(tmp_path: Path) -> None:
    first, second = echoes()
    write_scrambled(first + second, tmp_path / "mr")
    write(rtstruct(second, {"GTV": [square((-95, -115), 4.0, 45.0)]}), tmp_path / "rs.dcm")

    inventory = scan_dicom(tmp_path)
    assert [(s.stack, s.n_slices) for s in inventory.series] == [("echo 1", 5), ("echo 2", 5)]
    listed = series_summary(inventory)
    assert [(s.series_uid, s.default) for s in listed] == [
        (f"{UIDS['series_uid']}#echo 1", False),
        (f"{UIDS['series_uid']}#echo 2", True),  # the structure set's slices are echo 2's
    ]
    image, info = read_series(inventory)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), hu_volume(seed=2) + 200)
    assert info.series_uid == UIDS["series_uid"] and info.stack == "echo 2"
    assert f"Series {UIDS['series_uid']} holds 2 stacks (echo 1, echo 2); echo 2 was read." in (
        info.warnings
    )
    image, info = read_series(inventory, f"{UIDS['series_uid']}#echo 1")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), hu_volume(seed=1) + 100)
    _, info = read_series(inventory, UIDS["series_uid"])  # the bare UID: the default stack
    assert info.stack == "echo 2"

    case = load_case(tmp_path, roles={"gtv": "GTV"})  # the upload's way
    assert case.mask_array("gtv").sum() > 0
    np.testing.assert_array_equal(case.array(), hu_volume(seed=2) + 200)


def test_stacks_without_a_structure_set_are_a_choice(tmp_path: Path) -> None:
    first, second = echoes()
    write_scrambled(first + second, tmp_path / "mr")
    with pytest.raises(DicomError, match=r"say which one to use: .*#echo 1 \(MR.*echo 1, 5 slices"):
        read_series(tmp_path)
    assert not any(s.default for s in series_summary(scan_dicom(tmp_path)))


def test_time_points_in_natural_order() -> None:
    headers = []
    for t in range(1, 13):
        for ds in ct_slices(hu_volume((2, 4, 4)), modality="MR", **UIDS):
            ds.TemporalPositionIdentifier = t
            headers.append(ds)
    labels = stack_labels(headers)
    assert labels is not None and len(set(labels)) == 12
    assert labels[:2] == ["time point 1", "time point 1"] and labels[-1] == "time point 12"


def test_localizer_in_a_ct_series_is_a_scout_stack(tmp_path: Path) -> None:
    axial = ct_slices(hu_volume(), **UIDS)
    for k, ds in enumerate(axial):  # step-and-shoot CT: an acquisition number per rotation
        ds.AcquisitionNumber = k // 2 + 1
    (scout,) = ct_slices(hu_volume((1, 12, 16)), row=(1, 0, 0), col=(0, 0, -1), **UIDS)
    scout.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    scout.SOPInstanceUID = generate_uid()
    write_scrambled([*axial, scout], tmp_path / "ct")

    inventory = scan_dicom(tmp_path)
    assert sorted((s.stack, s.n_slices, s.is_scout) for s in inventory.series) == [
        ("images", 5, False),
        ("localizer", 1, True),
    ]
    image, info = read_series(inventory)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), hu_volume())
    assert info.stack == "images"


def test_a_series_holding_its_localizer_is_no_scout_as_a_whole() -> None:
    """A cohort import's inventory takes a series whole: one LOCALIZER slice filed in the
    contoured portal series made all of it a scout, and the arterial phase was imported."""
    from survival_core.io.dicom_series import SeriesEntry

    axial = ct_slices(hu_volume(), **UIDS)
    (scout,) = ct_slices(hu_volume((1, 12, 16)), row=(1, 0, 0), col=(0, 0, -1), **UIDS)
    scout.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    entry = SeriesEntry("1.2", "CT", "", "1", "1", headers=[*axial, scout])
    assert not entry.is_scout
    lone = SeriesEntry("1.3", "CT", "", "1", "1", headers=[scout] * 3)
    assert lone.is_scout


def test_repeats_nothing_explains_still_refused(tmp_path: Path) -> None:
    first, second = echoes()
    for ds in first + second:
        del ds.EchoNumbers
    write_scrambled(first + second, tmp_path / "mr")
    assert stack_labels([*first, *second]) is None
    with pytest.raises(DicomError, match="same position"):
        read_series(tmp_path)


def test_one_volume_is_not_split() -> None:
    datasets = ct_slices(hu_volume(), **UIDS)
    for k, ds in enumerate(datasets):
        ds.AcquisitionNumber, ds.EchoNumbers = k + 1, 1
    assert stack_labels(datasets) is None


def test_two_reconstruction_kernels_are_two_stacks() -> None:
    soft, lung = ct_slices(hu_volume(), **UIDS), ct_slices(hu_volume(seed=3), **UIDS)
    for kernel, datasets in (("B30f", soft), ("B70f", lung)):
        for ds in datasets:
            ds.ConvolutionKernel = kernel
    labels = stack_labels([*soft, *lung])
    assert labels == ["kernel B30f"] * 5 + ["kernel B70f"] * 5


def _kernels_by_slice(kernels: list[str]) -> list:
    """A 10-slice CT series whose slice k was reconstructed with ``kernels[k]``."""
    datasets = ct_slices(np.zeros((10, 8, 8)), spacing=(0.8, 0.9, 1.25), **UIDS)
    for ds, kernel in zip(datasets, kernels, strict=True):
        ds.ConvolutionKernel = kernel
    return datasets


def test_two_kernels_at_alternating_positions_are_two_stacks(tmp_path: Path) -> None:
    """A STANDARD and a BONE reconstruction filed under one series at offset positions (every
    position once) were stacked into one volume, every other slice the other kernel."""
    datasets = _kernels_by_slice(["STANDARD", "BONE"] * 5)
    assert stack_labels(datasets) == ["kernel STANDARD", "kernel BONE"] * 5
    write_scrambled(datasets, tmp_path / "ct")
    with pytest.raises(DicomError, match=r"say which one to use: .*kernel BONE, 5 slices"):
        read_series(tmp_path)


def test_kernels_one_after_the_other_along_the_axis_stay_one_volume() -> None:
    """A chest part and an abdomen part reconstructed with other kernels: one volume's parts."""
    assert stack_labels(_kernels_by_slice(["B30f"] * 6 + ["B40f"] * 4)) is None


def test_two_echoes_in_one_multi_frame_file_say_how_to_export_them(tmp_path: Path) -> None:
    """An enhanced MR holding both echoes was refused with 'remove the duplicates or choose one
    acquisition', which a multi-frame file allows neither of."""
    import copy

    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    def item(**values) -> Sequence:
        ds = Dataset()
        for keyword, value in values.items():
            setattr(ds, keyword, value)
        return Sequence([ds])

    singles = ct_slices(hu_volume(), modality="MR", **UIDS)
    enhanced = copy.deepcopy(singles[0])
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
        delattr(enhanced, keyword)
    enhanced.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"  # Enhanced MR Image Storage
    enhanced.file_meta.MediaStorageSOPClassUID = enhanced.SOPClassUID
    shared = Dataset()
    shared.PixelMeasuresSequence = item(
        PixelSpacing=list(singles[0].PixelSpacing), SliceThickness=singles[0].SliceThickness
    )
    shared.PlaneOrientationSequence = item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    enhanced.SharedFunctionalGroupsSequence = Sequence([shared])
    frames, pixels = [], []
    for ds in singles:
        for echo in (1, 2):
            frame = Dataset()
            frame.PlanePositionSequence = item(ImagePositionPatient=list(ds.ImagePositionPatient))
            frame.MREchoSequence = item(EffectiveEchoTime=10 * echo)
            frames.append(frame)
            pixels.append(ds.pixel_array // echo)
    enhanced.PerFrameFunctionalGroupsSequence = Sequence(frames)
    enhanced.NumberOfFrames = len(frames)
    enhanced.PixelData = np.stack(pixels).astype(singles[0].pixel_array.dtype).tobytes()
    write(enhanced, tmp_path / "mr" / "enhanced.dcm")
    with pytest.raises(
        DicomError,
        match=r"frame 1 and .* frame 2 are at the same position .* One "
        r"multi-frame file holds several volumes .* export the one to analyse",
    ):
        read_series(tmp_path / "mr")


def test_one_series_uid_over_two_patients_is_never_one_volume(tmp_path: Path) -> None:
    """An anonymiser reusing a series UID: patient B's slices continuing patient A's stacked into
    one 10-slice volume, half of it another patient's."""
    first = ct_slices(hu_volume(seed=1), **UIDS)
    second = ct_slices(hu_volume(seed=2), origin=(-100.0, -120.0, 52.5), **UIDS)
    for patient, datasets in (("A", first), ("B", second)):
        for ds in datasets:
            ds.PatientID = patient
    write_scrambled(first + second, tmp_path / "ct")

    inventory = scan_dicom(tmp_path)
    assert [(s.stack, s.patient_id, s.n_slices) for s in inventory.series] == [
        ("patient A", "A", 5),
        ("patient B", "B", 5),
    ]
    with pytest.raises(DicomError, match=r"They are of 2 patients \(A, B\)"):
        read_series(inventory)
    image, info = read_series(inventory, f"{UIDS['series_uid']}#patient B")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), hu_volume(seed=2))


def test_an_axial_localizer_below_the_series_is_no_slice_of_it(shared_data: Path, tmp_path) -> None:
    """The real sarcoma CT with a copy of its first slice marked LOCALIZER one spacing below it,
    as some scanners file an axial scout: each position once, it was read as a 60th image slice
    without a word. It is parted off as the series' localizer, with the note of a sagittal one."""
    import shutil

    import pydicom

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    case = shutil.copytree(source, tmp_path / "case")
    slices = sorted((case / "image").glob("*.dcm"))
    before = load_case(case)
    z = sorted(float(pydicom.dcmread(p).ImagePositionPatient[2]) for p in slices)
    scout = pydicom.dcmread(slices[0])
    scout.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    scout.ImagePositionPatient[2] = z[0] - (z[1] - z[0])  # one spacing below the series
    scout.SOPInstanceUID, scout.InstanceNumber = generate_uid(), 999
    scout.save_as(case / "image" / "scout.dcm")

    after = load_case(case)
    assert after.image.GetSize() == before.image.GetSize()
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(after.image), sitk.GetArrayFromImage(before.image)
    )
    assert any("holds 2 stacks (images, localizer); images was read" in w for w in after.warnings)
