"""Tests of the DICOM CT and MR series and RTSTRUCT writer, read back with pydicom."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    RTStructureSetStorage,
)
from skimage.draw import polygon2mask

from survival_core.errors import GeometryError, InputError, MaskError
from survival_core.io.dicom_write import write_ct_series, write_mr_series, write_rtstruct

SPACING = (0.8, 0.9, 3.0)  # x, y, z: distinct so that a swapped PixelSpacing is caught
ORIGIN = (-30.5, 12.25, -100.0)
SHAPE = (6, 48, 64)  # z, y, x


def _image(array: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    return image


def _masks() -> dict[str, np.ndarray]:
    z, y, x = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    radius2 = (x - 30) ** 2 + (y - 24) ** 2
    liver = ((radius2 <= 20**2) & (radius2 > 7**2) & (z >= 1) & (z <= 4)).astype(np.uint8)
    gtv = np.zeros(SHAPE, np.uint8)
    gtv[2:4, 18:30, 40:52] = 1
    gtv[3, 5:9, 5:9] = 1  # a second outline on one slice
    return {"Liver": liver, "GTV": gtv}


@pytest.fixture(scope="module")
def hu() -> np.ndarray:
    return np.random.default_rng(1).integers(-1024, 2500, SHAPE).astype(np.int16)


@pytest.fixture(scope="module")
def written(tmp_path_factory, hu):
    folder = tmp_path_factory.mktemp("export")
    info = write_ct_series(
        _image(hu),
        folder / "ct",
        patient_id="SYN-0007",
        patient_name="SYNTHETIC^0007",
        uid_seed="case-7",
    )
    masks = {name: _image(m) for name, m in _masks().items()}
    write_rtstruct(masks, info, folder / "rtstruct.dcm", uid_seed="case-7")
    return folder, info


def test_series_files_tags_and_pixels(written, hu) -> None:
    folder, info = written
    files = sorted((folder / "ct").iterdir())
    assert len(files) == SHAPE[0]
    assert all(re.fullmatch(r"[0-9a-f-]{36}\.dcm", f.name) for f in files)
    by_slice = {}
    for path in files:
        assert path.read_bytes()[128:132] == b"DICM"
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.SOPClassUID == CTImageStorage == ds.file_meta.MediaStorageSOPClassUID
        assert ds.Modality == "CT"
        assert ds.PatientID == "SYN-0007" and str(ds.PatientName) == "SYNTHETIC^0007"
        assert ds.SeriesInstanceUID == info["series_uid"]
        assert ds.StudyInstanceUID == info["study_uid"]
        assert ds.FrameOfReferenceUID == info["frame_of_reference_uid"]
        k = int(ds.InstanceNumber) - 1
        by_slice[k] = ds
        assert ds.SOPInstanceUID == info["sop_instance_uids"][k]
        assert info["files"][k] == path
        assert [float(v) for v in ds.ImagePositionPatient] == pytest.approx(
            [ORIGIN[0], ORIGIN[1], ORIGIN[2] + k * SPACING[2]]
        )
        assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        assert [float(v) for v in ds.PixelSpacing] == pytest.approx([SPACING[1], SPACING[0]])
        assert float(ds.SliceThickness) == float(ds.SpacingBetweenSlices) == SPACING[2]
        assert (ds.Rows, ds.Columns) == SHAPE[1:]
        assert float(ds.RescaleIntercept) == -1024 and float(ds.RescaleSlope) == 1
        assert ds.PixelRepresentation == 0
        values = ds.pixel_array.astype(int) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
        assert np.array_equal(values, hu[k])
    assert sorted(by_slice) == list(range(SHAPE[0]))


def test_signed_pixels_when_below_air(tmp_path: Path) -> None:
    array = np.full((2, 4, 5), -3000, np.int16)
    array[1] = 3000
    info = write_ct_series(_image(array), tmp_path, patient_id="P")
    for k, path in enumerate(info["files"]):
        ds = pydicom.dcmread(path)
        assert ds.PixelRepresentation == 1
        assert (ds.pixel_array.astype(int) - 1024 == array[k]).all()


def test_values_that_do_not_fit_are_refused(tmp_path) -> None:
    with pytest.raises(InputError, match="HU"):
        write_ct_series(_image(np.full((1, 2, 2), 70000.0, np.float32)), tmp_path, patient_id="P")


def test_uid_seed_makes_output_reproducible(tmp_path, hu) -> None:
    a = write_ct_series(_image(hu), tmp_path / "a", patient_id="P", uid_seed="s")
    b = write_ct_series(_image(hu), tmp_path / "b", patient_id="P", uid_seed="s")
    c = write_ct_series(_image(hu), tmp_path / "c", patient_id="P")
    assert [p.name for p in a["files"]] == [p.name for p in b["files"]]
    pairs = zip(a["files"], b["files"], strict=True)
    assert all(p.read_bytes() == q.read_bytes() for p, q in pairs)
    assert c["series_uid"] != a["series_uid"]
    names = [p.name for p in a["files"]]
    assert names != sorted(names)  # file names do not follow the slice order


def _contours(ds) -> dict[str, list]:
    names = {roi.ROINumber: roi.ROIName for roi in ds.StructureSetROISequence}
    return {
        names[item.ReferencedROINumber]: list(item.ContourSequence)
        for item in ds.ROIContourSequence
    }


def test_rtstruct_references_and_rois(written) -> None:
    folder, info = written
    ds = pydicom.dcmread(folder / "rtstruct.dcm")
    assert ds.SOPClassUID == RTStructureSetStorage and ds.Modality == "RTSTRUCT"
    assert ds.StudyInstanceUID == info["study_uid"] and ds.PatientID == "SYN-0007"
    frame = ds.ReferencedFrameOfReferenceSequence[0]
    assert frame.FrameOfReferenceUID == info["frame_of_reference_uid"]
    series = frame.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == info["series_uid"]
    assert [i.ReferencedSOPInstanceUID for i in series.ContourImageSequence] == info[
        "sop_instance_uids"
    ]
    assert [r.ROIName for r in ds.StructureSetROISequence] == ["Liver", "GTV"]
    assert all(
        r.ReferencedFrameOfReferenceUID == info["frame_of_reference_uid"]
        for r in ds.StructureSetROISequence
    )
    assert [o.RTROIInterpretedType for o in ds.RTROIObservationsSequence] == ["ORGAN", "GTV"]
    assert all(len(item.ROIDisplayColor) == 3 for item in ds.ROIContourSequence)
    contours = _contours(ds)
    assert len(contours["Liver"]) == 8  # 4 slices x (outer + hole)
    assert len(contours["GTV"]) == 3


def test_contours_lie_on_their_slices_and_recover_the_masks(written) -> None:
    folder, info = written
    ds = pydicom.dcmread(folder / "rtstruct.dcm")
    slice_of = {uid: k for k, uid in enumerate(info["sop_instance_uids"])}
    for name, items in _contours(ds).items():
        mask = _masks()[name]
        rebuilt = np.zeros(SHAPE, bool)
        area = np.zeros(SHAPE[0])
        for item in items:
            assert item.ContourGeometricType == "CLOSED_PLANAR"
            points = np.asarray(item.ContourData, float).reshape(-1, 3)
            assert len(points) == item.NumberOfContourPoints >= 3
            k = slice_of[item.ContourImageSequence[0].ReferencedSOPInstanceUID]
            assert np.allclose(points[:, 2], ORIGIN[2] + k * SPACING[2])
            col = (points[:, 0] - ORIGIN[0]) / SPACING[0]
            row = (points[:, 1] - ORIGIN[1]) / SPACING[1]
            rebuilt[k] ^= polygon2mask(SHAPE[1:], np.column_stack([row, col]))  # even-odd
            x, y = points[:, 0], points[:, 1]
            area[k] += 0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        pixel = SPACING[0] * SPACING[1]
        for k in range(SHAPE[0]):
            expected = mask[k].sum() * pixel
            assert abs(area[k]) == pytest.approx(expected, rel=0.03, abs=pixel)
        overlap = (rebuilt & (mask > 0)).sum()
        assert 2 * overlap / (rebuilt.sum() + mask.sum()) > 0.97


def test_contour_data_is_written_as_valid_decimal_strings(written) -> None:
    folder, _ = written
    ds = pydicom.dcmread(folder / "rtstruct.dcm")
    values = []
    for items in _contours(ds).values():
        for item in items:
            raw = item.get_item(0x30060050).value  # as stored in the file
            assert len(raw) % 2 == 0
            values += raw.decode("ascii").rstrip(" ").split("\\")
            assert len(values) % 3 == 0
    # DS: at most 16 characters, at most 0.001 mm, no negative zero
    assert all(re.fullmatch(r"-?\d+(\.\d{1,3})?", v) and len(v) <= 16 for v in values), values
    assert "-0" not in values and any(v.startswith("-") for v in values)


def test_mask_on_another_grid_is_refused(written, tmp_path) -> None:
    _, info = written
    mask = _image(_masks()["GTV"])
    mask.SetSpacing((1.0, 1.0, 3.0))
    with pytest.raises(GeometryError, match="not on the image grid"):
        write_rtstruct({"GTV": mask}, info, tmp_path / "rs.dcm")


def test_empty_mask_is_refused(written, tmp_path) -> None:
    _, info = written
    with pytest.raises(MaskError, match="empty"):
        write_rtstruct({"GTV": _image(np.zeros(SHAPE, np.uint8))}, info, tmp_path / "rs.dcm")


def test_mr_series_and_its_rtstruct(tmp_path) -> None:
    values = np.random.default_rng(2).integers(0, 4000, SHAPE).astype(np.uint16)
    info = write_mr_series(
        _image(values), tmp_path / "mr", patient_id="P", uid_seed="m", field_strength_t=3.0
    )
    assert info["sop_class_uid"] == MRImageStorage
    for k, path in enumerate(info["files"]):
        ds = pydicom.dcmread(path)
        assert ds.SOPClassUID == MRImageStorage == ds.file_meta.MediaStorageSOPClassUID
        assert ds.Modality == "MR" and float(ds.MagneticFieldStrength) == 3.0
        assert float(ds.ImagingFrequency) == pytest.approx(127.73, abs=0.01)
        assert ds.ScanningSequence == "GR" and ds.MRAcquisitionType == "3D"
        assert "RescaleIntercept" not in ds and "RescaleType" not in ds and "KVP" not in ds
        assert (ds.PixelRepresentation, ds.BitsStored) == (0, 12)
        assert int(ds.InstanceNumber) == k + 1 and np.array_equal(ds.pixel_array, values[k])
        assert 0 < float(ds.WindowCenter) < 4000 and float(ds.WindowWidth) > 1000
    ct = write_ct_series(
        _image(values.astype(np.int16)), tmp_path / "ct", patient_id="P", uid_seed="m"
    )
    assert ct["series_uid"] != info["series_uid"]  # the same seed names another series
    masks = {name: _image(m) for name, m in _masks().items()}
    write_rtstruct(masks, info, tmp_path / "rs.dcm", uid_seed="m")
    series = (
        pydicom.dcmread(tmp_path / "rs.dcm")
        .ReferencedFrameOfReferenceSequence[0]
        .RTReferencedStudySequence[0]
        .RTReferencedSeriesSequence[0]
    )
    assert series.SeriesInstanceUID == info["series_uid"]
    assert {i.ReferencedSOPClassUID for i in series.ContourImageSequence} == {MRImageStorage}


def test_mr_values_must_be_unsigned(tmp_path) -> None:
    with pytest.raises(InputError, match="MR image values"):
        write_mr_series(_image(np.full((1, 2, 2), -5.0, np.float32)), tmp_path, patient_id="P")
