"""Builders of small synthetic DICOM test data: CT slices with a chosen geometry, RTSTRUCTs with chosen
polygons, and writers that scramble file names and InstanceNumbers like careless exporters do."""

from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path

import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"


def _file_meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def ct_slices(
    volume_hu: np.ndarray,
    *,
    spacing: tuple[float, float, float] = (0.8, 0.9, 2.5),
    origin: tuple[float, float, float] = (-100.0, -120.0, 40.0),
    row: tuple[float, float, float] = (1.0, 0.0, 0.0),
    col: tuple[float, float, float] = (0.0, 1.0, 0.0),
    slope: float = 1.0,
    intercept: float = -1024.0,
    modality: str = "CT",
    series_uid: str | None = None,
    frame_uid: str | None = None,
    study_uid: str | None = None,
) -> list[Dataset]:
    """One dataset per slice of ``volume_hu`` (z, y, x), slice k at origin + k * spacing[2] * normal.

    ``spacing`` is (x = column, y = row, z) in mm; stored values are (HU - intercept) / slope.
    """
    row_v, col_v = np.asarray(row, float), np.asarray(col, float)
    normal = np.cross(row_v, col_v)
    series_uid = series_uid or generate_uid()
    frame_uid = frame_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    sop_class = CT_IMAGE_STORAGE if modality == "CT" else MR_IMAGE_STORAGE
    stored = np.round((np.asarray(volume_hu, float) - intercept) / slope).astype(np.int16)
    datasets = []
    for k, plane in enumerate(stored):
        sop_uid = generate_uid()
        ds = Dataset()
        ds.file_meta = _file_meta(sop_class, sop_uid)
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
        ds.Modality = modality
        ds.PatientID = "SYNTHETIC"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = (
            study_uid,
            series_uid,
            frame_uid,
        )
        ds.SeriesDescription = f"synthetic {modality}"
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [float(v) for v in (*row_v, *col_v)]
        ds.ImagePositionPatient = [float(v) for v in np.asarray(origin) + k * spacing[2] * normal]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.SliceThickness = spacing[2]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = plane.tobytes()
        datasets.append(ds)
    return datasets


def square(center_xy: tuple[float, float], side_mm: float, z_mm: float) -> np.ndarray:
    """Corners (4, 3) of an axis-aligned square in the plane z = ``z_mm`` (patient mm)."""
    cx, cy = center_xy
    h = side_mm / 2
    return np.array(
        [
            [cx - h, cy - h, z_mm],
            [cx + h, cy - h, z_mm],
            [cx + h, cy + h, z_mm],
            [cx - h, cy + h, z_mm],
        ]
    )


def rtstruct(
    image_slices: list[Dataset],
    rois: dict[str, list[np.ndarray]],
    *,
    geometric_types: dict[str, str] | None = None,
    series_uid: str | None = None,
    frame_uid: str | None = None,
) -> Dataset:
    """An RTSTRUCT over ``image_slices`` with one ROI per entry of ``rois`` (contours in patient mm).

    ``series_uid``/``frame_uid`` override the references (to forge a structure set of another series).
    """
    first = image_slices[0]
    series_uid = series_uid or first.SeriesInstanceUID
    frame_uid = frame_uid or first.FrameOfReferenceUID
    sop_uid = generate_uid()
    ds = Dataset()
    ds.file_meta = _file_meta(RTSTRUCT_STORAGE, sop_uid)
    ds.SOPClassUID, ds.SOPInstanceUID = RTSTRUCT_STORAGE, sop_uid
    ds.Modality = "RTSTRUCT"
    ds.PatientID = "SYNTHETIC"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = first.StudyInstanceUID, generate_uid()
    ds.StructureSetLabel = "synthetic"

    image_refs = []
    for s in image_slices:
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = s.SOPClassUID, s.SOPInstanceUID
        image_refs.append(ref)
    ref_series = Dataset()
    ref_series.SeriesInstanceUID = series_uid
    ref_series.ContourImageSequence = Sequence(image_refs)
    ref_study = Dataset()
    ref_study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref_study.ReferencedSOPInstanceUID = first.StudyInstanceUID
    ref_study.RTReferencedSeriesSequence = Sequence([ref_series])
    ref_frame = Dataset()
    ref_frame.FrameOfReferenceUID = frame_uid
    ref_frame.RTReferencedStudySequence = Sequence([ref_study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([ref_frame])

    roi_items, contour_items = [], []
    for number, (name, contours) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ReferencedFrameOfReferenceUID, roi.ROIName = number, frame_uid, name
        roi.ROIGenerationAlgorithm = "MANUAL"
        roi_items.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ROIDisplayColor = [255, 0, 0]
        sequence = []
        for points in contours:
            contour = Dataset()
            contour.ContourGeometricType = (geometric_types or {}).get(name, "CLOSED_PLANAR")
            contour.NumberOfContourPoints = len(points)
            contour.ContourData = [round(float(v), 4) for v in np.asarray(points).ravel()]
            sequence.append(contour)
        if sequence:
            item.ContourSequence = Sequence(sequence)
        contour_items.append(item)
    ds.StructureSetROISequence = Sequence(roi_items)
    ds.ROIContourSequence = Sequence(contour_items)
    return ds


def write(ds: Dataset, path: Path, *, preamble: bool = True, bare: bool = False) -> Path:
    """Write ``ds`` as a DICOM file.

    Without ``preamble`` the 128 bytes + 'DICM' are left out; ``bare`` writes the data set alone in
    implicit VR little endian, with neither preamble nor file meta information (old exporters).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if bare:
        plain = Dataset(ds)
        dcmwrite(path, plain, implicit_vr=True, little_endian=True)
        return path
    ds.save_as(path, enforce_file_format=True)
    if not preamble:
        path.write_bytes(path.read_bytes()[132:])
    return path


def write_scrambled(datasets: list[Dataset], folder: Path, seed: int = 0) -> list[Path]:
    """Write slices in shuffled order under random names, with shuffled InstanceNumbers."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(datasets))
    numbers = rng.permutation(len(datasets)) + 1
    paths = []
    for i, number in zip(order, numbers, strict=True):
        datasets[i].InstanceNumber = int(number)
        name = "".join(rng.choice(list("abcdef0123456789"), 12)) + rng.choice(["", ".dcm", ".IMA"])
        paths.append(write(datasets[i], folder / name))
    return paths


def hu_volume(shape: tuple[int, int, int] = (5, 12, 16), seed: int = 0) -> np.ndarray:
    """A (z, y, x) HU volume whose every slice, row and column differs, so any mix-up shows."""
    z, y, x = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    noise = np.random.default_rng(seed).integers(0, 5, shape)
    return (-200 + 100 * z + 7 * y + 3 * x + noise).astype(float)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive (bytes) holding ``members`` (name -> content), as a user uploads one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_roi_copy(structure: Dataset, name: str, number: int) -> None:
    """A copy of an RTSTRUCT's first ROI (its contours too) added under another name and
    number, in place."""
    roi = copy.deepcopy(structure.StructureSetROISequence[0])
    roi.ROINumber, roi.ROIName = number, name
    structure.StructureSetROISequence.append(roi)
    contour = copy.deepcopy(structure.ROIContourSequence[0])
    contour.ReferencedROINumber = number
    structure.ROIContourSequence.append(contour)
