"""Write a CT or MR volume as a DICOM series and binary masks as an RT Structure Set.

Used to export cases and to build the synthetic cohort. A series is written in explicit VR little
endian, one file per slice with random (uuid-like) names written in shuffled order. CT is CT Image
Storage with HU stored with RescaleIntercept -1024 and RescaleSlope 1; MR is MR Image Storage with
its values (arbitrary units, no absolute scale) stored as they are. The RTSTRUCT holds one ROI per
mask with one CLOSED_PLANAR contour per connected outline per slice, in patient millimetres (LPS);
holes are separate contours, so an even-odd rasteriser recovers them. Given ``uid_seed``, UIDs and
file names are derived from it and the output is reproducible byte for byte.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np
import SimpleITK as sitk
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    RTStructureSetStorage,
    generate_uid,
)
from skimage import measure

from survival_core import __version__
from survival_core.errors import GeometryError, InputError, MaskError

RESCALE_INTERCEPT = -1024
#: Retired Detached Study Management SOP Class, what RTSTRUCTs conventionally reference a study by.
STUDY_COMPONENT_SOP_CLASS = "1.2.840.10008.3.1.2.3.1"
#: (3006,0050) Contour Data: each contour's points as decimal strings x\y\z... (mm).
CONTOUR_DATA = Tag(0x3006, 0x0050)
DEFAULT_COLORS = ((255, 128, 0), (255, 0, 0), (0, 160, 255), (0, 200, 0), (200, 0, 200))
#: Larmor frequency of hydrogen (MHz per tesla), for MR ImagingFrequency.
PROTON_MHZ_PER_T = 42.577478


def _uid(uid_seed: str | None, role: str) -> str:
    return generate_uid(entropy_srcs=[uid_seed, role]) if uid_seed is not None else generate_uid()


def _geometry(image: sitk.Image) -> dict[str, Any]:
    """Origin, spacing, size and direction (3x3, columns = index axes) of a 3D image."""
    if image.GetDimension() != 3:
        raise GeometryError(f"Expected a 3D image, got {image.GetDimension()}D.")
    direction = np.asarray(image.GetDirection(), float).reshape(3, 3)
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
        raise GeometryError(f"Image direction {image.GetDirection()} is not orthonormal.")
    return {
        "origin": tuple(float(v) for v in image.GetOrigin()),
        "spacing": tuple(float(v) for v in image.GetSpacing()),
        "size": tuple(int(v) for v in image.GetSize()),
        "direction": tuple(float(v) for v in direction.ravel()),
    }


def _ds_numbers(values: Sequence[float], decimals: int = 6) -> list[float]:
    """Decimal-string values short enough for DS (16 characters)."""
    return [round(float(v), decimals) + 0.0 for v in values]


def _file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"RADSURV_{__version__}"[:16]
    return meta


def _patient_study(ds: Dataset, info: Mapping[str, Any]) -> None:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = info["patient_name"]
    ds.PatientID = info["patient_id"]
    ds.PatientBirthDate = ""
    ds.PatientSex = info.get("patient_sex", "")
    ds.StudyInstanceUID = info["study_uid"]
    ds.StudyDate = info["study_date"]
    ds.StudyTime = info["study_time"]
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Manufacturer = info.get("manufacturer", "RadSurv")
    ds.PatientIdentityRemoved = "YES"  # RadSurv writes case ids (pseudonyms), never identities
    ds.DeidentificationMethod = "RadSurv export: case id only"


def _stored_pixels(image: sitk.Image) -> tuple[np.ndarray, int, int]:
    """HU voxels as stored values (HU + 1024): array, PixelRepresentation, BitsStored."""
    hu = np.rint(sitk.GetArrayFromImage(image).astype(np.float64))
    stored = hu - RESCALE_INTERCEPT
    low, high = float(stored.min()), float(stored.max())
    if low >= 0 and high <= 65535:
        return stored.astype("<u2"), 0, 12 if high < 4096 else 16
    if low >= -32768 and high <= 32767:
        return stored.astype("<i2"), 1, 16
    raise InputError(
        f"Image values {hu.min():g}..{hu.max():g} HU do not fit 16-bit DICOM with intercept "
        f"{RESCALE_INTERCEPT}; expected CT in Hounsfield units."
    )


def _stored_mr_pixels(image: sitk.Image) -> tuple[np.ndarray, int, int]:
    """MR values as stored (unsigned, no rescale): array, PixelRepresentation, BitsStored."""
    values = np.rint(sitk.GetArrayFromImage(image).astype(np.float64))
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 65535:
        raise InputError(
            f"MR image values {low:g}..{high:g} do not fit unsigned 16-bit DICOM; expected "
            "magnitude values 0..65535."
        )
    return values.astype("<u2"), 0, 12 if high < 4096 else 16


class StudyFields(TypedDict, total=False):
    """Patient, study and device fields shared by the CT and MR writers (defaults in
    :func:`_write_series`)."""

    patient_name: str | None
    patient_sex: str
    study_uid: str | None
    uid_seed: str | None
    study_date: str
    study_time: str
    manufacturer: str
    model_name: str


def _write_series(
    image: sitk.Image,
    folder: Path,
    stored: tuple[np.ndarray, int, int],
    modality: str,
    tags: Mapping[str, Any],
    *,
    patient_id: str,
    series_description: str,
    patient_name: str | None = None,
    patient_sex: str = "",
    study_uid: str | None = None,
    uid_seed: str | None = None,
    study_date: str = "20200101",
    study_time: str = "120000",
    manufacturer: str = "RadSurv",
    model_name: str = "",
) -> dict[str, Any]:
    """Write one file per slice of ``image`` with ``stored`` pixels (array, PixelRepresentation,
    BitsStored) and the modality's own ``tags``; see :func:`write_ct_series` for what it returns."""
    sop_class = {"CT": CTImageStorage, "MR": MRImageStorage}[modality]
    prefix = modality.lower()
    geometry = _geometry(image)
    pixels, representation, bits_stored = stored
    direction = np.asarray(geometry["direction"]).reshape(3, 3)
    spacing = geometry["spacing"]
    nz = geometry["size"][2]
    info: dict[str, Any] = {
        "patient_id": patient_id,
        "patient_name": patient_name or patient_id,
        "patient_sex": patient_sex,
        "study_uid": study_uid or _uid(uid_seed, "study"),
        "series_uid": _uid(uid_seed, f"{prefix}-series"),
        "frame_of_reference_uid": _uid(uid_seed, "frame-of-reference"),
        "sop_instance_uids": [_uid(uid_seed, f"{prefix}-slice-{k}") for k in range(nz)],
        "sop_class_uid": sop_class,
        "study_date": study_date,
        "study_time": study_time,
        "manufacturer": manufacturer,
        **geometry,
    }
    rng = random.Random(uid_seed) if uid_seed is not None else random.SystemRandom()
    names = [f"{uuid.UUID(int=rng.getrandbits(128), version=4)}.dcm" for _ in range(nz)]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    info["files"] = [folder / name for name in names]
    order = list(range(nz))
    rng.shuffle(order)
    orientation = _ds_numbers(list(direction[:, 0]) + list(direction[:, 1]))
    for k in order:
        ds = Dataset()
        ds.file_meta = _file_meta(sop_class, info["sop_instance_uids"][k])
        _patient_study(ds, info)
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = info["sop_instance_uids"][k]
        ds.Modality = modality
        ds.ManufacturerModelName = model_name
        ds.SeriesInstanceUID = info["series_uid"]
        ds.SeriesNumber = 1
        ds.SeriesDescription = series_description
        ds.SeriesDate = study_date
        ds.SeriesTime = study_time
        ds.ContentDate = study_date
        ds.ContentTime = study_time
        ds.InstanceNumber = k + 1
        ds.FrameOfReferenceUID = info["frame_of_reference_uid"]
        ds.PositionReferenceIndicator = ""
        position = image.TransformIndexToPhysicalPoint((0, 0, k))
        ds.ImagePositionPatient = _ds_numbers(position)
        ds.ImageOrientationPatient = orientation
        ds.SliceLocation = round(float(np.dot(position, direction[:, 2])), 6) + 0.0
        ds.PixelSpacing = _ds_numbers([spacing[1], spacing[0]])
        ds.SliceThickness = round(spacing[2], 6)
        ds.SpacingBetweenSlices = round(spacing[2], 6)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = pixels.shape[1], pixels.shape[2]
        ds.BitsAllocated = 16
        ds.BitsStored = bits_stored
        ds.HighBit = bits_stored - 1
        ds.PixelRepresentation = representation
        for keyword, value in tags.items():
            setattr(ds, keyword, value)
        ds.PixelData = pixels[k].tobytes()
        ds.save_as(info["files"][k], enforce_file_format=True)
    return info


def write_ct_series(
    image: sitk.Image,
    folder: Path,
    *,
    patient_id: str,
    kvp: float = 120.0,
    series_description: str = "Synthetic CT",
    **study: Unpack[StudyFields],
) -> dict[str, Any]:
    """Write ``image`` (HU) as a CT series, one file per slice, into ``folder`` (created);
    ``study`` holds the patient and study fields (:class:`StudyFields`).

    Returns the series description the RTSTRUCT writer needs: ``study_uid``, ``series_uid``,
    ``frame_of_reference_uid``, ``sop_instance_uids`` (by slice index), ``sop_class_uid``,
    ``files`` (by slice index), patient and study fields and the image geometry.
    """
    tags = {
        "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
        "KVP": kvp,
        "RescaleIntercept": RESCALE_INTERCEPT,
        "RescaleSlope": 1,
        "RescaleType": "HU",
        "WindowCenter": 50,
        "WindowWidth": 400,
    }
    return _write_series(
        image,
        folder,
        _stored_pixels(image),
        "CT",
        tags,
        patient_id=patient_id,
        series_description=series_description,
        **study,
    )


def write_mr_series(
    image: sitk.Image,
    folder: Path,
    *,
    patient_id: str,
    series_description: str = "Synthetic T1 MR",
    field_strength_t: float = 1.5,
    repetition_time_ms: float = 4.5,
    echo_time_ms: float = 2.1,
    flip_angle_deg: float = 12.0,
    **study: Unpack[StudyFields],
) -> dict[str, Any]:
    """Write ``image`` (MR magnitude, non-negative arbitrary units) as an MR series of a T1-weighted
    3D spoiled gradient echo, one file per slice, into ``folder`` (created); returns what
    :func:`write_ct_series` returns. The display window spans the 0.5-99.5th percentiles."""
    stored = _stored_mr_pixels(image)
    low, high = np.percentile(stored[0], [0.5, 99.5])
    tags = {
        "ImageType": ["ORIGINAL", "PRIMARY", "M", "ND"],
        "ScanningSequence": "GR",
        "SequenceVariant": "SP",
        "ScanOptions": "",
        "MRAcquisitionType": "3D",
        "RepetitionTime": repetition_time_ms,
        "EchoTime": echo_time_ms,
        "EchoTrainLength": 1,
        "FlipAngle": flip_angle_deg,
        "MagneticFieldStrength": field_strength_t,
        "ImagingFrequency": round(PROTON_MHZ_PER_T * field_strength_t, 6),
        "ImagedNucleus": "1H",
        "WindowCenter": int(round((low + high) / 2)),
        "WindowWidth": max(int(round(high - low)), 1),
    }
    return _write_series(
        image,
        folder,
        stored,
        "MR",
        tags,
        patient_id=patient_id,
        series_description=series_description,
        **study,
    )


def _check_grid(name: str, mask: sitk.Image, info: Mapping[str, Any]) -> np.ndarray:
    geometry = _geometry(mask)
    if geometry["size"] != tuple(info["size"]) or not (
        np.allclose(geometry["origin"], info["origin"], atol=1e-3)
        and np.allclose(geometry["spacing"], info["spacing"], atol=1e-4)
        and np.allclose(geometry["direction"], info["direction"], atol=1e-4)
    ):
        raise GeometryError(
            f"Mask '{name}' (size {geometry['size']}, spacing {geometry['spacing']}, origin "
            f"{geometry['origin']}) is not on the image grid (size {tuple(info['size'])}, spacing "
            f"{tuple(info['spacing'])}, origin {tuple(info['origin'])})."
        )
    array = sitk.GetArrayFromImage(mask)
    if not array.any():
        raise MaskError(f"Mask '{name}' is empty: there is nothing to export.")
    return array > 0


def _drop_collinear(points: np.ndarray) -> np.ndarray:
    """A closed polygon without its points that lie on a straight line between their neighbours
    (the outline of a voxel mask has long straight runs; the enclosed area is unchanged)."""
    before = points - np.roll(points, 1, axis=0)
    after = np.roll(points, -1, axis=0) - points
    turn = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
    return points[np.abs(turn) > 1e-9]


def _contour_data(points: np.ndarray) -> RawDataElement:
    """Contour Data of ``points`` (mm) to 0.001 mm, encoded here: one pydicom DS object per
    coordinate (~10^5 on a large organ) took most of an RTSTRUCT's writing time. Negative zeros
    are written as 0."""
    rounded = np.round(np.asarray(points, dtype=float).ravel(), 3) + 0.0
    text = "\\".join(f"{v:.3f}".rstrip("0").rstrip(".") for v in rounded.tolist())
    raw = text.encode("ascii")
    raw += b" " * (len(raw) % 2)  # DICOM values have an even length
    return RawDataElement(CONTOUR_DATA, "DS", len(raw), raw, 0, False, True)


def mask_contours(mask: np.ndarray, info: Mapping[str, Any]) -> list[tuple[int, np.ndarray]]:
    """Closed contours of a (z, y, x) boolean mask: (slice index, (N, 3) points in patient mm).

    Outlines pass half-way between inside and outside voxel centres (level 0.5), holes give their
    own contours, and contours with fewer than 3 points are dropped.
    """
    origin = np.asarray(info["origin"])
    spacing = np.asarray(info["spacing"])
    direction = np.asarray(info["direction"]).reshape(3, 3)
    contours = []
    for k in np.flatnonzero(mask.any(axis=(1, 2))):
        padded = np.pad(mask[k], 1).astype(np.float32)
        for outline in measure.find_contours(padded, 0.5):
            outline = _drop_collinear(outline[:-1]) - 1.0
            if len(outline) < 3:
                continue
            index = np.column_stack([outline[:, 1], outline[:, 0], np.full(len(outline), k)])
            contours.append((int(k), origin + (index * spacing) @ direction.T))
    return contours


def write_rtstruct(
    masks: Mapping[str, sitk.Image],
    series_info: Mapping[str, Any],
    path: Path,
    *,
    uid_seed: str | None = None,
    label: str = "RadSurv",
    colors: Mapping[str, Sequence[int]] | None = None,
    interpreted_types: Mapping[str, str] | None = None,
) -> str:
    """Write ``masks`` (ROI name -> uint8 mask on the image grid) as an RTSTRUCT referencing the
    series described by ``series_info`` (from :func:`write_ct_series` or :func:`write_mr_series`).
    Returns its SOP UID.

    ROI types default to 'GTV' for names starting with GTV and 'ORGAN' otherwise.
    """
    if not masks:
        raise MaskError("No masks given: an RT Structure Set needs at least one ROI.")
    sop_uid = _uid(uid_seed, "rtstruct-instance")
    ds = Dataset()
    ds.file_meta = _file_meta(RTStructureSetStorage, sop_uid)
    _patient_study(ds, series_info)
    ds.SOPClassUID = RTStructureSetStorage
    ds.SOPInstanceUID = sop_uid
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = _uid(uid_seed, "rtstruct-series")
    ds.SeriesNumber = 2
    ds.InstanceNumber = 1
    ds.StructureSetLabel = label[:16]
    ds.StructureSetName = label[:64]
    ds.StructureSetDate = series_info["study_date"]
    ds.StructureSetTime = series_info["study_time"]

    def image_ref(k: int) -> Dataset:
        item = Dataset()
        item.ReferencedSOPClassUID = series_info["sop_class_uid"]
        item.ReferencedSOPInstanceUID = series_info["sop_instance_uids"][k]
        return item

    series_ref = Dataset()
    series_ref.SeriesInstanceUID = series_info["series_uid"]
    series_ref.ContourImageSequence = DicomSequence(
        [image_ref(k) for k in range(len(series_info["sop_instance_uids"]))]
    )
    study_ref = Dataset()
    study_ref.ReferencedSOPClassUID = STUDY_COMPONENT_SOP_CLASS
    study_ref.ReferencedSOPInstanceUID = series_info["study_uid"]
    study_ref.RTReferencedSeriesSequence = DicomSequence([series_ref])
    frame_ref = Dataset()
    frame_ref.FrameOfReferenceUID = series_info["frame_of_reference_uid"]
    frame_ref.RTReferencedStudySequence = DicomSequence([study_ref])
    ds.ReferencedFrameOfReferenceSequence = DicomSequence([frame_ref])

    rois, contour_items, observations = [], [], []
    for number, (name, mask) in enumerate(masks.items(), start=1):
        array = _check_grid(name, mask, series_info)
        roi = Dataset()
        roi.ROINumber = number
        roi.ReferencedFrameOfReferenceUID = series_info["frame_of_reference_uid"]
        roi.ROIName = name
        roi.ROIGenerationAlgorithm = "AUTOMATIC"
        rois.append(roi)

        item = Dataset()
        color = (colors or {}).get(name, DEFAULT_COLORS[(number - 1) % len(DEFAULT_COLORS)])
        item.ROIDisplayColor = [int(c) for c in color]
        item.ReferencedROINumber = number
        contours = []
        for index, (k, points) in enumerate(mask_contours(array, series_info), start=1):
            contour = Dataset()
            # as if read in the file's encoding, so that writing keeps the raw Contour Data
            contour.set_original_encoding(False, True, "iso8859")
            contour.ContourImageSequence = DicomSequence([image_ref(k)])
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(points)
            contour.ContourNumber = index
            contour[CONTOUR_DATA] = _contour_data(points)
            contours.append(contour)
        item.ContourSequence = DicomSequence(contours)
        contour_items.append(item)

        observation = Dataset()
        observation.ObservationNumber = number
        observation.ReferencedROINumber = number
        default_type = "GTV" if name.upper().startswith("GTV") else "ORGAN"
        observation.RTROIInterpretedType = (interpreted_types or {}).get(name, default_type)
        observation.ROIInterpreter = ""
        observations.append(observation)
    ds.StructureSetROISequence = DicomSequence(rois)
    ds.ROIContourSequence = DicomSequence(contour_items)
    ds.RTROIObservationsSequence = DicomSequence(observations)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return sop_uid
