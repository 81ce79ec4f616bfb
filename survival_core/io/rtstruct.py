"""RTSTRUCT structure sets: read the contours, map structure names to roles, rasterise to masks.

Contours are polygons in patient coordinates (mm). Each CLOSED_PLANAR polygon (and
CLOSED_PLANAR_XOR, the type DICOM added for contours meant to combine by XOR) is converted to
continuous voxel indices of the image and filled on its slice with the pixel-centre rule
(:func:`skimage.draw.polygon`); polygons on the same slice combine by XOR (even-odd rule), so an
inner contour cuts a hole. A polygon must lie within ``SLICE_TOLERANCE`` (0.1) of a slice index;
otherwise it was drawn on another grid and the ROI is refused. Every contour on a slice counts,
whatever rounding its z was written with. A structure reaching outside the image in-plane (an image
cropped after contouring) is refused: more than 1 % of its area outside, clipped with a note below
that. POINT and OPEN contours have no inside and are ignored with a warning.

Linking to the image: by the referenced series UID when it is the image's; otherwise (an image
re-exported after contouring, as real archives hold) by the frame of reference UID plus geometry:
every contour must lie on an image slice and inside the image, and the structure set is accepted with
a warning naming both series. Which structure plays which role is
:mod:`survival_core.io.structures`' business.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset
from skimage.draw import polygon as fill_polygon

from survival_core.errors import DicomError, MaskError, RTStructError
from survival_core.io.dicom_series import (
    References,
    SeriesInfo,
    damaged_header,
    is_rtstruct,
    object_kind,
    read_dicom,
    rtstruct_references,
)

log = logging.getLogger(__name__)

#: Largest distance (in slices) between a contour's plane and the nearest slice centre.
SLICE_TOLERANCE = 0.1
#: Contours whose planes lie closer than this (in slices) are on one plane (rounded z).
PLANE_TOLERANCE = 0.01
#: Share of a structure's area that may lie outside the image in-plane (a contour drawn over the
#: image's edge) before the structure is refused: the image does not hold it.
OUTSIDE_TOLERANCE = 0.01
#: Contour types with an inside: filled, combined with the plane's others by XOR.
CLOSED_TYPES = frozenset({"CLOSED_PLANAR", "CLOSED_PLANAR_XOR"})


@dataclass
class ROI:
    """One structure: its number, name and contours ((N, 3) arrays in patient mm) with their types."""

    number: int
    name: str
    contours: list[np.ndarray] = field(default_factory=list)
    geometric_types: list[str] = field(default_factory=list)


@dataclass
class RTStruct:
    """A parsed structure set. ROIs keep the file's order; ``rois`` is keyed by ROI name."""

    path: str
    rois: dict[str, ROI]
    references: References
    warnings: list[str] = field(default_factory=list)

    @property
    def roi_names(self) -> list[str]:
        return list(self.rois)

    @property
    def roi_numbers(self) -> dict[str, int]:
        return {name: roi.number for name, roi in self.rois.items()}

    @property
    def contours(self) -> dict[str, list[np.ndarray]]:
        return {name: roi.contours for name, roi in self.rois.items()}


def _read_rois(ds: Dataset, path: Path | str) -> tuple[dict[int, ROI], list[str]]:
    """The structures of an RTSTRUCT data set by ROI number, and warnings about what was ignored."""
    rois: dict[int, ROI] = {}
    warnings: list[str] = []
    names_seen: set[str] = set()
    for item in ds.get("StructureSetROISequence", []):
        if item.get("ROINumber") is None:
            raise RTStructError(f"{path}: a structure without ROI number; the file is damaged.")
        number = int(item.ROINumber)
        name = str(item.get("ROIName", "")).strip() or f"ROI {number}"
        if name in names_seen:
            warnings.append(
                f"Two structures are named {name!r}; ROI number {number} is called '{name} [{number}]'."
            )
            name = f"{name} [{number}]"
        names_seen.add(name)
        rois[number] = ROI(number, name)
    for item in ds.get("ROIContourSequence", []):
        roi = rois.get(int(item.get("ReferencedROINumber") or -1))
        if roi is None:
            warnings.append(
                f"Contours for ROI number {item.get('ReferencedROINumber')}, which the structure list does "
                "not name, are ignored."
            )
            continue
        for contour in item.get("ContourSequence", []):
            points = np.asarray(contour.get("ContourData") or [], dtype=float)
            if points.size == 0 or points.size % 3:
                raise RTStructError(
                    f"{path}: ROI {roi.name!r} has a contour with {points.size} coordinates (not x,y,z triples)."
                )
            if not np.all(np.isfinite(points)):
                raise RTStructError(
                    f"{path}: ROI {roi.name!r} has a contour with non-finite coordinates (NaN or "
                    "infinite); the file is damaged."
                )
            roi.contours.append(points.reshape(-1, 3))
            roi.geometric_types.append(
                str(contour.get("ContourGeometricType", "CLOSED_PLANAR")).upper()
            )
    for roi in rois.values():
        ignored = sorted({t for t in roi.geometric_types if t not in CLOSED_TYPES})
        if ignored:
            n = sum(t not in CLOSED_TYPES for t in roi.geometric_types)
            warnings.append(
                f"ROI {roi.name!r}: {n} {'/'.join(ignored)} contour(s) have no inside and are ignored."
            )
    return rois, warnings


def read_rtstruct(path: Path | str) -> RTStruct:
    """Parse an RTSTRUCT file; :class:`RTStructError` if it is not DICOM or not a structure set."""
    try:
        ds = read_dicom(path)
    except DicomError as err:
        raise RTStructError(str(err)) from err
    with damaged_header(str(path), RTStructError):
        if not is_rtstruct(ds):
            raise RTStructError(
                f"{path} is not an RTSTRUCT ({object_kind(ds)}); expected an RT Structure Set."
            )
        rois, warnings = _read_rois(ds, path)
        references = rtstruct_references(ds)
    for message in warnings:
        log.warning("%s: %s", path, message)
    return RTStruct(str(path), {roi.name: roi for roi in rois.values()}, references, warnings)


def link_to_series(references: References, info: SeriesInfo, path: str) -> list[str]:
    """Check that contours or segments referencing ``references`` belong to the image series
    ``info``: warnings when linked by frame of reference only; :class:`RTStructError` when not
    linked at all. Geometry (contours on the slices, inside the image) is checked when masks are made.
    """
    refs = references
    same_frame = bool(
        refs.frame_of_reference_uids
        and info.frame_of_reference_uid
        and info.frame_of_reference_uid in refs.frame_of_reference_uids
    )
    if refs.frame_of_reference_uids and info.frame_of_reference_uid and not same_frame:
        raise RTStructError(
            f"{path} uses frame of reference {', '.join(refs.frame_of_reference_uids)}, but the "
            f"image uses {info.frame_of_reference_uid}: its coordinates do not apply to this image."
        )
    by_series = not refs.series_uids or info.series_uid in refs.series_uids
    by_slices = not refs.sop_instance_uids or bool(
        set(refs.sop_instance_uids) & set(info.sop_instance_uids)
    )
    if not refs.series_uids and not refs.frame_of_reference_uids and not refs.sop_instance_uids:
        raise RTStructError(
            f"{path} does not say which image it was drawn on; it cannot be checked."
        )
    if by_series and by_slices:
        return []
    if same_frame:
        drawn_on = ", ".join(refs.series_uids) or "slices not in this series"
        return [
            f"{Path(path).name} was drawn on series {drawn_on}, not on the image series "
            f"{info.series_uid}; both share frame of reference {info.frame_of_reference_uid}, so "
            "it is linked by frame of reference and geometry (its contours in patient coordinates)."
        ]
    if not by_series:
        raise RTStructError(
            f"{path} was drawn on series {', '.join(refs.series_uids)}, not on the image series "
            f"{info.series_uid}, and names no shared frame of reference. Give the RTSTRUCT that "
            "belongs to this image."
        )
    raise RTStructError(
        f"{path} references none of the {len(info.sop_instance_uids)} slices of image series "
        f"{info.series_uid}. Give the RTSTRUCT that belongs to this image."
    )


def _planes(roi: ROI, closed: list[np.ndarray], image: sitk.Image) -> dict[float, list[np.ndarray]]:
    """The closed contours in continuous voxel index, grouped by their plane (index z; planes
    within :data:`PLANE_TOLERANCE` are one); :class:`RTStructError` for a contour not parallel to the image's slices or
    outside them."""
    size = image.GetSize()
    to_index = np.linalg.inv(
        np.asarray(image.GetDirection()).reshape(3, 3) @ np.diag(image.GetSpacing())
    )
    origin = np.asarray(image.GetOrigin())
    planes: dict[float, list[np.ndarray]] = {}
    for points in closed:
        index = (points - origin) @ to_index.T
        k = float(np.mean(index[:, 2]))
        where = f"a contour at {np.round(points[0], 2).tolist()} mm"
        if np.max(np.abs(index[:, 2] - k)) > SLICE_TOLERANCE:
            raise RTStructError(
                f"Structure {roi.name!r}: {where} is not parallel to the image's slices (it spans "
                f"slice index {index[:, 2].min():.2f} to {index[:, 2].max():.2f}); it was drawn on "
                "a differently oriented image."
            )
        if not -0.5 - SLICE_TOLERANCE <= k <= size[2] - 0.5 + SLICE_TOLERANCE:
            raise RTStructError(
                f"Structure {roi.name!r}: {where} lies outside the image (slice index "
                f"{round(k)}, the image has {size[2]} slices)."
            )
        planes.setdefault(k, []).append(index)
    return _merged(planes)


def _merged(planes: dict[float, list[np.ndarray]]) -> dict[float, list[np.ndarray]]:
    """Contours on one plane together, however their z was rounded: exporters write a slice's
    contours at -743.98 and -743.976 mm. Planes within :data:`PLANE_TOLERANCE` of the one before
    join it (at their mean position)."""
    groups: list[list[float]] = []
    for k in sorted(planes):
        if groups and k - groups[-1][-1] <= PLANE_TOLERANCE:
            groups[-1].append(k)
        else:
            groups.append([k])
    return {float(np.mean(group)): [c for k in group for c in planes[k]] for group in groups}


def _slice_of_plane(planes: list[float], n_slices: int) -> dict[int, float]:
    """Image slice -> the contoured plane it takes when the planes are off the slices: the
    nearest plane within half the planes' spacing (one slice when a single plane is contoured)."""
    step = float(np.median(np.diff(planes))) if len(planes) > 1 else 1.0
    taken: dict[int, float] = {}
    for k in range(n_slices):
        nearest = min(planes, key=lambda p: abs(p - k))
        if -step / 2 < k - nearest <= step / 2:
            taken[k] = nearest
    return taken


def _rasterise(roi: ROI, image: sitk.Image, notes: list[str]) -> np.ndarray:
    """The ROI's closed contours filled on the image grid, (z, y, x) uint8, even-odd rule per
    plane. Contours on planes between the image's slices (drawn on another series of the same
    frame of reference, at other positions or spacing) fill each slice from the nearest contoured
    plane, with a note in ``notes``."""
    size = image.GetSize()
    mask = np.zeros(size[::-1], dtype=np.uint8)
    closed = [
        c for c, t in zip(roi.contours, roi.geometric_types, strict=True) if t in CLOSED_TYPES
    ]
    if not closed:
        raise MaskError(
            f"Structure {roi.name!r} has no closed contour; it cannot be made into a mask."
        )
    planes = _planes(roi, closed, image)
    if all(abs(p - round(p)) <= SLICE_TOLERANCE for p in planes):
        taken: dict[int, list[float]] = {}
        for p in planes:
            taken.setdefault(int(round(p)), []).append(p)
    else:
        positions = sorted(planes)
        taken = {k: [p] for k, p in _slice_of_plane(positions, size[2]).items()}
        off = max(positions, key=lambda p: abs(p - round(p)))
        spacing = (
            f"{float(np.median(np.diff(positions))) * image.GetSpacing()[2]:.2f} mm apart"
            if len(positions) > 1
            else "on one plane"
        )
        notes.append(
            f"Structure {roi.name!r} was contoured {spacing} on planes between the image's slices "
            f"(e.g. slice index {off:.2f}): each slice takes the contours of the nearest "
            "contoured plane."
        )
    outside = total = 0
    for k, on_slice in taken.items():
        if not 0 <= k < size[2]:
            continue
        for index in (c for p in on_slice for c in planes[p]):
            rows, cols = fill_polygon(index[:, 1], index[:, 0])
            inside = (rows >= 0) & (rows < size[1]) & (cols >= 0) & (cols < size[0])
            total += rows.size
            outside += rows.size - int(inside.sum())
            mask[k, rows[inside], cols[inside]] ^= 1
    _check_inside(roi, outside, total, notes)
    return mask


def _check_inside(roi: ROI, outside: int, total: int, notes: list[str]) -> None:
    """Refuse a structure the image holds only part of in-plane (an image cropped or of a smaller
    field of view than the one contoured): its radiomics would describe the part inside only. A
    sliver over the edge (under :data:`OUTSIDE_TOLERANCE`) is clipped, with a note."""
    if not outside:
        return
    share = outside / total
    said = f"{outside:,} of its {total:,} voxels ({share:.1%}) lie outside the image in-plane"
    if share > OUTSIDE_TOLERANCE:
        raise RTStructError(
            f"Structure {roi.name!r}: {said}: the image (cropped, or of a smaller field of "
            "view) does not hold the whole structure. Give the image it was contoured on."
        )
    notes.append(f"Structure {roi.name!r}: {said}; clipped at the image's edge.")


def rtstruct_to_masks(
    rtstruct: RTStruct,
    image: sitk.Image,
    series_info: SeriesInfo,
    roi_names: list[str],
    notes: list[str] | None = None,
) -> dict[str, sitk.Image]:
    """Rasterise the named ROIs onto ``image``'s grid as uint8 0/1 masks, keyed by ROI name.

    Refuses (:class:`RTStructError`) a structure set not linked to the series
    (:func:`link_to_series`, whose warnings the caller reports), a name not in the set, or a contour
    not parallel to the slices or outside the image; an ROI with no closed contour or that covers
    no voxel centre raises :class:`MaskError`. Contours between the slices are placed on the
    nearest slices, with a note added to ``notes``.
    """
    link_to_series(rtstruct.references, series_info, rtstruct.path)
    masks: dict[str, sitk.Image] = {}
    for name in roi_names:
        roi = rtstruct.rois.get(name)
        if roi is None:
            raise RTStructError(
                f"{rtstruct.path} has no structure named {name!r}; it has "
                f"{', '.join(map(repr, rtstruct.roi_names)) or 'none'}."
            )
        array = _rasterise(roi, image, notes if notes is not None else [])
        if not array.any():
            raise MaskError(
                f"Structure {name!r} covers no voxel of the image; it is too small or outside it."
            )
        mask = sitk.GetImageFromArray(array)
        mask.CopyInformation(image)
        masks[name] = mask
    return masks
