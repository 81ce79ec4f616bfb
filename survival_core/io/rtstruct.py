"""RTSTRUCT structure sets: read the contours, map structure names to roles, rasterise to masks.

Contours are polygons in patient coordinates (mm). Each CLOSED_PLANAR polygon is converted to
continuous voxel indices of the image and filled on its slice with the pixel-centre rule
(:func:`skimage.draw.polygon`); polygons on the same slice combine by XOR (even-odd rule), so an
inner contour cuts a hole. A polygon must lie within ``SLICE_TOLERANCE`` (0.1) of a slice index;
otherwise it was drawn on another grid and the ROI is refused. POINT and OPEN contours have no inside
and are ignored with a warning.

Role mapping (:func:`match_role`): names are matched case-insensitively on their words. "gtv" takes
GTV, GTV1, GTVp, GTV_total, tumor/tumour, lesion, HCC, mass, neoplasm; "liver" takes liver,
liver_total, whole liver. A name combining two structures with a minus ("Liver-GTV",
"liver minus tumour") is a subtraction and matches no role, nor do margins and helpers (PTV, CTV,
ITV, PRV, "+5mm", ring, opt) or parts of the liver (segments, lobes, vessels).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset
from skimage.draw import polygon as fill_polygon

from survival_core.case import ROLES
from survival_core.errors import DicomError, MaskError, RTStructError
from survival_core.io.dicom_series import (
    References,
    SeriesInfo,
    damaged_header,
    is_rtstruct,
    read_dicom,
    rtstruct_references,
)

log = logging.getLogger(__name__)

#: Largest distance (in slices) between a contour's plane and the nearest slice centre.
SLICE_TOLERANCE = 0.1

_ROLE_WORDS = {
    "gtv": {
        "gtv",
        "gtvp",
        "gtvt",
        "tumor",
        "tumour",
        "tumors",
        "tumours",
        "lesion",
        "lesions",
        "hcc",
        "mass",
        "neoplasm",
    },
    "liver": {"liver", "wholeliver", "hepar"},
}
_STRUCTURE_WORDS = set().union(*_ROLE_WORDS.values()) | {"ptv", "ctv", "itv", "vessel", "vessels"}
_EXCLUDED_WORDS = {
    "ptv",
    "ctv",
    "itv",
    "prv",
    "gtvn",
    "ring",
    "opt",
    "avoid",
    "margin",
    "expand",
    "exp",
    "mm",
    "cm",
    "dose",
    "external",
    "body",
    "segment",
    "seg",
    "lobe",
    "vessel",
    "vessels",
    "vein",
    "veins",
    "artery",
    "portal",
    "duct",
    "ducts",
    "cyst",
    "cysts",
    "node",
    "nodes",
}
_MINUS_WORDS = {"minus", "sub", "not", "without", "excl", "excluding", "exc", "wo"}


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
        ignored = sorted({t for t in roi.geometric_types if t != "CLOSED_PLANAR"})
        if ignored:
            n = sum(t != "CLOSED_PLANAR" for t in roi.geometric_types)
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
                f"{path} is not an RTSTRUCT (modality {ds.get('Modality', 'unknown')}, SOP class "
                f"{ds.get('SOPClassUID', 'unknown')}); expected an RT Structure Set."
            )
        rois, warnings = _read_rois(ds, path)
        references = rtstruct_references(ds)
    for message in warnings:
        log.warning("%s: %s", path, message)
    return RTStruct(str(path), {roi.name: roi for roi in rois.values()}, references, warnings)


def _words(name: str) -> list[str]:
    return re.findall(r"[a-z]+|\d+", name.lower())


def _is_subtraction(name: str) -> bool:
    """'Liver-GTV', 'liver minus tumour': two structures joined by a minus."""
    lowered = name.lower()
    for match in re.finditer(r"-|(?<![a-z])(?:" + "|".join(_MINUS_WORDS) + r")(?![a-z])", lowered):
        left, right = set(_words(lowered[: match.start()])), set(_words(lowered[match.end() :]))
        if left & _STRUCTURE_WORDS and right & _STRUCTURE_WORDS:
            return True
    return False


def match_role(roi_name: str) -> str | None:
    """The role (one of :data:`~survival_core.case.ROLES`) a structure name stands for, or None."""
    words = set(_words(roi_name))
    if not words or words & _EXCLUDED_WORDS or _is_subtraction(roi_name):
        return None
    if words & _ROLE_WORDS["gtv"]:
        return "gtv"
    if words & _ROLE_WORDS["liver"]:
        return "liver"
    return None


def map_roles(
    roi_names: list[str] | tuple[str, ...],
    roles: tuple[str, ...] = ROLES,
    *,
    required: tuple[str, ...] = ROLES,
) -> dict[str, str]:
    """Map each of ``roles`` to the one structure name that matches it.

    A role matched by several structures is ambiguous and a ``required`` role matched by none is
    missing: both raise :class:`RTStructError` listing the candidates or the names found, so the
    user can choose. Roles that are neither required nor found are left out.
    """
    mapping: dict[str, str] = {}
    problems: list[str] = []
    for role in roles:
        candidates = [n for n in roi_names if match_role(n) == role]
        if len(candidates) == 1:
            mapping[role] = candidates[0]
        elif candidates:
            problems.append(
                f"several structures could be the {role}: {', '.join(map(repr, candidates))}"
            )
        elif role in required:
            problems.append(f"no structure is recognised as the {role}")
    if problems:
        found = ", ".join(map(repr, roi_names)) or "none"
        raise RTStructError(
            f"{'; '.join(problems)} (structures found: {found}). Say which structure is which."
        )
    return mapping


def _check_references(rtstruct: RTStruct, info: SeriesInfo) -> None:
    refs = rtstruct.references
    if refs.series_uids and info.series_uid not in refs.series_uids:
        raise RTStructError(
            f"{rtstruct.path} was drawn on series {', '.join(refs.series_uids)}, not on the image "
            f"series {info.series_uid}. Give the RTSTRUCT that belongs to this image."
        )
    if (
        refs.frame_of_reference_uids
        and info.frame_of_reference_uid
        and (info.frame_of_reference_uid not in refs.frame_of_reference_uids)
    ):
        raise RTStructError(
            f"{rtstruct.path} uses frame of reference {', '.join(refs.frame_of_reference_uids)}, but the "
            f"image uses {info.frame_of_reference_uid}: its coordinates do not apply to this image."
        )
    if refs.sop_instance_uids and not set(refs.sop_instance_uids) & set(info.sop_instance_uids):
        raise RTStructError(
            f"{rtstruct.path} references none of the {len(info.sop_instance_uids)} slices of image series "
            f"{info.series_uid}. Give the RTSTRUCT that belongs to this image."
        )
    if not refs.series_uids and not refs.frame_of_reference_uids and not refs.sop_instance_uids:
        raise RTStructError(
            f"{rtstruct.path} does not say which image it was drawn on; it cannot be checked."
        )


def _rasterise(roi: ROI, image: sitk.Image) -> np.ndarray:
    """The ROI's closed contours filled on the image grid, (z, y, x) uint8, even-odd rule."""
    size = image.GetSize()
    mask = np.zeros(size[::-1], dtype=np.uint8)
    to_index = np.linalg.inv(
        np.asarray(image.GetDirection()).reshape(3, 3) @ np.diag(image.GetSpacing())
    )
    origin = np.asarray(image.GetOrigin())
    closed = [
        c for c, t in zip(roi.contours, roi.geometric_types, strict=True) if t == "CLOSED_PLANAR"
    ]
    if not closed:
        raise MaskError(
            f"Structure {roi.name!r} has no closed contour; it cannot be made into a mask."
        )
    for points in closed:
        index = (points - origin) @ to_index.T
        k = int(round(float(np.mean(index[:, 2]))))
        if np.max(np.abs(index[:, 2] - k)) > SLICE_TOLERANCE:
            raise RTStructError(
                f"Structure {roi.name!r}: a contour at {np.round(points[0], 2).tolist()} mm lies between "
                f"slices (slice index {np.mean(index[:, 2]):.2f}); it was drawn on another grid."
            )
        if not 0 <= k < size[2]:
            raise RTStructError(
                f"Structure {roi.name!r}: a contour at {np.round(points[0], 2).tolist()} mm lies outside the "
                f"image (slice index {k}, the image has {size[2]} slices)."
            )
        rows, cols = fill_polygon(index[:, 1], index[:, 0], shape=mask.shape[1:])
        mask[k, rows, cols] ^= 1
    return mask


def rtstruct_to_masks(
    rtstruct: RTStruct, image: sitk.Image, series_info: SeriesInfo, roi_names: list[str]
) -> dict[str, sitk.Image]:
    """Rasterise the named ROIs onto ``image``'s grid as uint8 0/1 masks, keyed by ROI name.

    Refuses (:class:`RTStructError`) a structure set drawn on another series or frame of reference,
    a name not in the set, or a contour off the slices; an ROI with no closed contour or that covers
    no voxel centre raises :class:`MaskError`.
    """
    _check_references(rtstruct, series_info)
    masks: dict[str, sitk.Image] = {}
    for name in roi_names:
        roi = rtstruct.rois.get(name)
        if roi is None:
            raise RTStructError(
                f"{rtstruct.path} has no structure named {name!r}; it has "
                f"{', '.join(map(repr, rtstruct.roi_names)) or 'none'}."
            )
        array = _rasterise(roi, image)
        if not array.any():
            raise MaskError(
                f"Structure {name!r} covers no voxel of the image; it is too small or outside it."
            )
        mask = sitk.GetImageFromArray(array)
        mask.CopyInformation(image)
        masks[name] = mask
    return masks
