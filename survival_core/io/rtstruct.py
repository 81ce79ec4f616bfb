"""RTSTRUCT structure sets: read the contours, map structure names to roles, rasterise to masks.

Contours are polygons in patient coordinates (mm). Each CLOSED_PLANAR polygon (and
CLOSED_PLANAR_XOR, the type DICOM added for contours meant to combine by XOR) is converted to
continuous voxel indices of the image and filled on its slice with the pixel-centre rule
(:func:`skimage.draw.polygon`). Polygons on one slice combine by nesting: one inside another cuts
a hole (and one inside a hole is an island again), as the even-odd rule gives; polygons that only
overlap are united, and a polygon repeated on its slice counts once, each with a note (the
even-odd rule would cancel them). A structure of CLOSED_PLANAR_XOR contours alone combines them
by exclusive or, as DICOM defines that type: overlapping ones cancel where they overlap. Every
contour on a slice counts, whatever rounding its z was written with.

Which image slices a contour fills: on the image it was drawn on, the slice it lies on (within
``SLICE_TOLERANCE``). Drawn on another series of the frame of reference, or between the slices,
each contoured plane stands for a slab as thick as the planes' spacing (the contouring series'
slice spacing: the smallest gap between two planes of one structure, one that four or more
evenly spaced planes repeat where there are such, at most ``MAX_PLANE_SPACING_MM``), and every
image slice whose centre lies in a slab takes its contours: a thin-slice image under a 3 mm plan
is filled throughout, not on every third slice, and an image slice halfway between two planes
takes the lower one. A plane less than half that spacing from another (a hole or a second
lesion written a fraction of a slice off) fills its nearest slice, united there with that
slice's contours: one well inside one of them cuts a hole, a near copy of one (an interpolated
outline) counts once.
A structure reaching outside the image in-plane (an image cropped after contouring) is refused:
more than 1 % of its area outside, clipped with a note below that. POINT and OPEN contours have
no inside and are ignored with a warning.

Linking to the image: by the referenced series UID when it is the image's; otherwise (an image
re-exported after contouring, as real archives hold) by the frame of reference UID plus geometry:
every contour must lie on an image slice and inside the image, and the structure set is accepted with
a warning naming both series. Which structure plays which role is
:mod:`survival_core.io.structures`' business.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset
from skimage.draw import polygon as fill_polygon

from survival_core.errors import DicomError, MaskError, RTStructError
from survival_core.io.dicom_series import (
    CLOSED_TYPES,
    References,
    SeriesInfo,
    damaged_header,
    is_rtstruct,
    object_kind,
    read_dicom,
    rtstruct_references,
    rtstruct_roi_names,
    structure_text,
)

log = logging.getLogger(__name__)

#: Largest distance (in slices) between a contour's plane and the nearest slice centre.
SLICE_TOLERANCE = 0.1
#: Share of a structure's area that may lie outside the image in-plane (a contour drawn over the
#: image's edge) before the structure is refused: the image does not hold it.
OUTSIDE_TOLERANCE = 0.01
#: Largest slice spacing assumed for a contouring series (mm) when a structure's planes are far
#: apart but not evenly (single-slice lesions): CT and most MR used for contouring are no thicker.
MAX_PLANE_SPACING_MM = 5.0
#: Largest slice spacing of a contouring series (mm) shown by a structure's evenly spaced planes
#: (three or more, :data:`EVEN_RTOL`): a thick MR (6.5 mm) under a thin CT of the same frame of
#: reference, or a structure contoured on every other slice.
MAX_SERIES_SPACING_MM = 10.0
#: Gaps within this relative distance of a structure's smallest are the same spacing.
EVEN_RTOL = 0.1
#: Fewest consecutive equal steps between a structure's planes that show its series' spacing
#: (:func:`_in_runs`): one pair is also a plane planned halfway between two.
MIN_RUN = 3
#: Share of areas that tells a stray plane's contour (:func:`_strays`) on a slice from the
#: slice's own: a hole inside an own contour is smaller than this share of it, a near copy of
#: one has at least this share of the two together in common.
STRAY_SHARE = 0.6
#: Slack (mm) of the slab limits, so that a centre exactly on a limit is decided the same way
#: whatever the rounding of the contours' z: exporters write z to 0.01 mm or finer, and a slab
#: from planes written 3.269 mm apart left the 1.635 mm slices halfway between planes in no
#: slab (every other slice of a thin MR empty, its GTV 205 mL instead of 365).
SLAB_SLACK_MM = 0.01


@dataclass
class ROI:
    """One structure: its number, name and contours ((N, 3) arrays in patient mm) with their types."""

    number: int
    name: str
    contours: list[np.ndarray] = field(default_factory=list)
    geometric_types: list[str] = field(default_factory=list)
    #: Why its contours cannot be told from another structure's (a number given twice), if so.
    ambiguous: str | None = None
    #: The frame of reference its contours are in (its StructureSetROISequence item's), if given.
    frame_of_reference_uid: str | None = None


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


def _read_rois(ds: Dataset, path: Path | str) -> tuple[list[ROI], list[str]]:
    """The structures of an RTSTRUCT data set, and warnings about what was ignored. Structures
    sharing an ROI number (a damaged file) get none of its contours (which are whose?) and are
    :attr:`ROI.ambiguous`: one's contours were added to the other's, a GTV with the body's."""
    rois: dict[int, ROI] = {}
    listed: list[ROI] = []
    warnings: list[str] = []
    items = ds.get("StructureSetROISequence", [])
    declared = ""  # the character sets the data set declares, read once a name needs them
    for item, (name, given) in zip(items, rtstruct_roi_names(ds), strict=True):
        if item.get("ROINumber") is None:
            raise RTStructError(f"{path}: a structure without ROI number; the file is damaged.")
        number = int(item.ROINumber)
        if name != given:
            warnings.append(
                f"Two structures are named {given!r}; ROI number {number} is called {name!r}."
            )
        if structure_text(item, "ROIName")[1]:
            declared = declared or _declared(ds)
            warnings.append(
                f"The name of ROI number {number} is not text of the character set the "
                f"structure set declares ({declared}); read as Latin-1 (Windows-1252), a "
                f"guess, as {name!r}. Check the name, or export the structure set again "
                "declaring its character set (SpecificCharacterSet)."
            )
        roi = ROI(number, name, frame_of_reference_uid=item.get("ReferencedFrameOfReferenceUID"))
        listed.append(roi)
        if number in rois:
            first = rois[number]
            why = (
                f"{path}: structures {first.name!r} and {name!r} share ROI number {number}, so "
                "their contours cannot be told apart; the file is damaged. Export the structure "
                "set again."
            )
            first.ambiguous = roi.ambiguous = why
            warnings.append(why)
            continue
        rois[number] = roi
    for item in ds.get("ROIContourSequence", []):
        if item.get("ReferencedROINumber") is None:  # after its contours: an item cut short
            raise RTStructError(
                f"{path}: a structure's contours name no ROI number; the file is damaged or "
                "incomplete (a copy or download cut short?). Copy or export it again."
            )
        roi = rois.get(int(item.ReferencedROINumber))
        if roi is not None and roi.ambiguous:
            continue
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
    for roi in listed:
        ignored = sorted({t for t in roi.geometric_types if t not in CLOSED_TYPES})
        if ignored:
            n = sum(t not in CLOSED_TYPES for t in roi.geometric_types)
            warnings.append(
                f"ROI {roi.name!r}: {n} {'/'.join(ignored)} contour(s) have no inside and are ignored."
            )
    return listed, warnings


def _declared(ds: Dataset) -> str:
    """The character set(s) an RTSTRUCT declares, its items' too ('none declared' if none)."""
    declared = {
        str(item.SpecificCharacterSet) or "ISO_IR 6"
        for item in _items(ds)
        if "SpecificCharacterSet" in item
    }
    return ", ".join(sorted(declared)) or "none declared"


def _items(ds: Dataset) -> Iterator[Dataset]:
    """``ds`` and the items of its sequences, at every depth, their other elements left as read:
    ``iterall`` decoded each one in place, the ROI names too, so that :func:`structure_text`
    found pydicom's 'Tum\ufffdr' of every name after the first one's note and guessed none."""
    yield ds
    for elem in ds.values():  # raw elements stay raw; sequences are parsed on reading
        if elem.VR == "SQ":
            for item in ds[elem.tag].value:
                yield from _items(item)


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
    return RTStruct(str(path), {roi.name: roi for roi in rois}, references, warnings)


def link_to_series(
    references: References,
    info: SeriesInfo,
    path: str,
    series_names: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Check that contours or segments referencing ``references`` belong to the image series
    ``info``: a warning when linked by frame of reference only, naming the file and the series
    (by their UIDs, or by ``series_names``), with its wording without them (a report's: the
    file's name may be the patient's, the UIDs are the hospital's); :class:`RTStructError` when
    not linked at all. Geometry (contours on the slices, inside the image) is checked when masks
    are made. ``series_names`` (series UID -> "series 3 'T1' (MR)") names the case's series where
    de-identification remapped their UIDs (an upload's): a series not among them is "a series not
    in the case", and the frame of reference is named without its UID.
    """
    refs = references

    def series(uid: str) -> str:
        if series_names is None:
            return f"series {uid}"
        return series_names.get(uid, "a series not in the case")

    image = series(info.series_uid)
    drawn_on_series = (  # as sent: "series 1.2.3, 1.2.4" as before names were given
        f"series {', '.join(refs.series_uids)}"
        if series_names is None
        else ", ".join(dict.fromkeys(map(series, refs.series_uids)))
    )
    same_frame = bool(
        refs.frame_of_reference_uids
        and info.frame_of_reference_uid
        and info.frame_of_reference_uid in refs.frame_of_reference_uids
    )
    if refs.frame_of_reference_uids and info.frame_of_reference_uid and not same_frame:
        raise RTStructError(
            f"{path} uses frame of reference {', '.join(refs.frame_of_reference_uids)}, but the "
            f"image uses {info.frame_of_reference_uid}: its coordinates do not apply to this image."
            if series_names is None
            else f"{path} uses another frame of reference than the image ({image}): its "
            "coordinates do not apply to this image."
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
        slices = len(info.sop_instance_uids)
        stack = "(another reconstruction or stack under the same series UID)"
        if not by_series:
            drawn_on, unnamed = (
                f"{drawn_on_series}, not on the image {image}",
                "another series than the image's",
            )
        elif not refs.series_uids:
            drawn_on, unnamed = (
                f"slices that are not among the {slices} of image {image} and names no series",
                f"slices that are not among the {slices} of the image series and names no series",
            )
        else:
            drawn_on, unnamed = (
                f"slices that are not among the {slices} of image {image} {stack}",
                f"slices that are not among the {slices} of the image series {stack}",
            )
        linked = (
            "so it is linked by frame of reference and geometry (its contours in patient "
            "coordinates)."
        )
        shared = (
            f"frame of reference {info.frame_of_reference_uid}"
            if series_names is None
            else "a frame of reference"
        )
        return [
            (
                f"{Path(path).name} was drawn on {drawn_on}; both share {shared}, {linked}",
                f"The structure set was drawn on {unnamed}; both share a frame of reference, "
                f"{linked}",
            )
        ]
    if not by_series:
        raise RTStructError(
            f"{path} was drawn on {drawn_on_series}, not on the image {image}, and names no "
            "shared frame of reference. Give the RTSTRUCT that belongs to this image."
        )
    unframed = (
        ": it carries no frame of reference UID, so its contours cannot be placed on this image "
        "by their coordinates (an image re-exported after contouring gets new slice UIDs)"
        if not refs.frame_of_reference_uids
        else ""
    )
    raise RTStructError(
        f"{path} references none of the {len(info.sop_instance_uids)} slices of image "
        f"{image}{unframed}. Give the RTSTRUCT that belongs to this image"
        + (", or export it again with its frame of reference." if unframed else ".")
    )


def _voxel_index(points: np.ndarray, image: sitk.Image) -> np.ndarray:
    """Patient-coordinate ``points`` (N, 3) in mm as continuous voxel indices (x, y, z) of
    ``image``."""
    to_index = np.linalg.inv(
        np.asarray(image.GetDirection()).reshape(3, 3) @ np.diag(image.GetSpacing())
    )
    return (points - np.asarray(image.GetOrigin())) @ to_index.T


def _planes(roi: ROI, closed: list[np.ndarray], image: sitk.Image) -> dict[float, list[np.ndarray]]:
    """The closed contours in continuous voxel index, grouped by their plane (index z; planes
    within :data:`SLICE_TOLERANCE` are one); :class:`RTStructError` for a contour not parallel to the image's slices or
    outside them."""
    size = image.GetSize()
    planes: dict[float, list[np.ndarray]] = {}
    for points in closed:
        index = _voxel_index(points, image)
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
    contours at -743.98 and -743.976 mm. Planes within :data:`SLICE_TOLERANCE` of a group's
    first join it (at their mean position), as :func:`_plane_spacings` counts them one: a ring's
    hole 0.06 mm off its outline, a slab holding both, took one of them alone."""
    groups: list[list[float]] = []
    for k in sorted(planes):
        if groups and k - groups[-1][0] <= SLICE_TOLERANCE:
            groups[-1].append(k)
        else:
            groups.append([k])
    return {float(np.mean(group)): [c for k in group for c in planes[k]] for group in groups}


def _plane_spacings(rtstruct: RTStruct, image: sitk.Image) -> dict[str, float]:
    """Each structure's slab, in the image's slices: the smallest gap (over
    :data:`SLICE_TOLERANCE`) between two of its own contoured planes, the slice spacing of the
    series it was drawn on (a set can hold structures of series of other spacings: a marker from
    a 1 mm MR beside a GTV on 3 mm CT slices). Above :data:`MAX_PLANE_SPACING_MM` only when the
    gap repeats (:func:`_series_gap`): a 6.5 mm MR's planes filled every other slice of a thin
    CT, while two single-slice lesions far apart would fill all between them. A structure on one
    plane takes the smallest of the others' (one slice when none has two planes)."""
    spacing = image.GetSpacing()[2]
    own: dict[str, float | None] = {}
    for name, roi in rtstruct.rois.items():
        planes = {
            float(np.mean(_voxel_index(c, image)[:, 2]))
            for c, t in zip(roi.contours, roi.geometric_types, strict=True)
            if t in CLOSED_TYPES
        }
        steps = np.diff(sorted(planes))
        steps = steps[steps > SLICE_TOLERANCE]  # not one plane's z rounded two ways
        own[name] = _series_gap(steps * spacing) / spacing if steps.size else None
    known = [gap for gap in own.values() if gap is not None]
    fallback = min(known, default=1.0)
    return {name: fallback if gap is None else gap for name, gap in own.items()}


def _series_gap(steps_mm: np.ndarray) -> float:
    """The slice spacing (mm) of the series a structure's planes ``steps_mm`` apart were drawn
    on: the median of the steps within :data:`EVEN_RTOL` of the smallest (one step rounded
    short, 3.269 among 3.270s, is not the spacing), when at most :data:`MAX_PLANE_SPACING_MM` or
    seen twice (evenly spaced planes, up to :data:`MAX_SERIES_SPACING_MM`); else that cap. Only
    steps in runs (:func:`_in_runs`) count where there are any: a hole written 0.39 mm off its
    outline's plane made the 3.27 mm CT's slab 0.39 mm, which held no slice for the hole."""
    runs = _in_runs(steps_mm)
    if runs.any():
        steps_mm = steps_mm[runs]
    smallest = float(steps_mm.min())
    even = steps_mm[steps_mm <= smallest * (1 + EVEN_RTOL)]
    gap = float(np.median(even))
    if gap <= MAX_PLANE_SPACING_MM or (even.size >= 2 and gap <= MAX_SERIES_SPACING_MM):
        return gap
    return MAX_PLANE_SPACING_MM


def _in_runs(steps: np.ndarray) -> np.ndarray:
    """Which steps between consecutive planes are in a run of :data:`MIN_RUN` or more equal ones
    (within :data:`EVEN_RTOL`): four or more evenly spaced planes, a series' slices. A plane
    written a fraction of a slice off the others' (a hole, a second lesion) makes two unequal
    steps instead, 0.39 then 2.88 mm, and one planned halfway between two 3 mm planes two equal
    ones, 1.5 and 1.5 mm: a pair was a run, the 1.5 mm slabs filled 15 of a 1 mm image's 37
    slices of a sphere (12.54 mL of 33.5)."""
    near = np.abs(np.diff(steps)) <= EVEN_RTOL * np.minimum(steps[1:], steps[:-1])
    runs = np.zeros(steps.size, dtype=bool)
    for start in range(near.size - MIN_RUN + 2):
        if near[start : start + MIN_RUN - 1].all():  # MIN_RUN steps, each equal to the next
            runs[start : start + MIN_RUN] = True
    return runs


def _strays(planes: list[float], thickness: float) -> set[float]:
    """The planes (index z) that are not the contouring series' own: of planes within half the
    spacing (``thickness`` slices) of the first of their group, only the one nearest a slice
    centre is, as two planes of one series lie a whole spacing apart. The others (a hole or a
    second lesion written 0.4 mm off) fill their nearest slice, where a slab took the nearer
    plane alone: the hole was filled, the lesion lost."""
    groups: list[list[float]] = []
    for p in sorted(planes):
        if groups and p - groups[-1][0] <= thickness / 2:
            groups[-1].append(p)
        else:
            groups.append([p])
    kept = [min(group, key=lambda p: (abs(p - round(p)), p)) for group in groups]
    return set(planes) - set(kept)


def _nearest_slice(plane: float, n_slices: int, slack: float) -> int:
    """The image slice nearest ``plane`` (index z), the lower one halfway (within ``slack``)."""
    return min(max(math.ceil(plane - 0.5 - slack), 0), n_slices - 1)


def _slice_of_plane(
    planes: list[float], n_slices: int, thickness: float, slack: float
) -> dict[int, float]:
    """Image slice -> the contoured plane whose slab (``thickness`` slices, centred on the plane)
    holds the slice's centre; a centre on the limit between two slabs (within ``slack`` slices)
    goes to the lower plane."""
    half = thickness / 2
    taken: dict[int, float] = {}
    for k in range(n_slices):
        within = [p for p in planes if -half + slack < k - p <= half + slack]
        if within:
            taken[k] = min(within, key=lambda p: (abs(k - p), p))
    return taken


def _fill_slice(
    contours: list[np.ndarray],
    shape: tuple[int, int],
    xor: bool = False,
    strays: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, int, int, list[str]]:
    """One slice's contours (voxel index) filled: nested ones cut holes (and islands in them),
    overlapping ones are united (``xor``: combined by exclusive or, as CLOSED_PLANAR_XOR
    contours are defined to be), repeats count once. ``strays``: the contours of planes off the
    series' spacing this slice is the nearest to (:func:`_strays`), filled among themselves and
    united with the slice's own, but for a hole well inside one of them (:func:`_cuts_hole`),
    which cuts it, and a near copy of one (:func:`_near_copy`), which counts once: combined with
    the own contours by nesting, an interpolated outline 0.5 mm off and 5 % smaller left a thin
    ring of its slice. Returns the (y, x) bool slice, the voxels filled outside the image
    in-plane and in all, and what was repeated or united."""
    strays = strays or []
    own, outside, total = _contour_voxels(contours, shape)
    extra, out, count = _contour_voxels(strays, shape)
    said = []
    if repeats := len(contours) + len(strays) - len(own) - len(extra):
        said.append(f"{repeats} repeated contour(s) counted once")
    holes, apart = [], []
    for v in extra:
        if _cuts_hole(v, own, shape[1]):
            holes.append(v)
        elif not _near_copy(v, own):
            apart.append(v)
    plane, overlap = _combined(own + holes, shape, xor)
    beside, _ = _combined(apart, shape, xor)
    if overlap:
        said.append("overlapping contours united")
    return plane | beside, outside + out, total + count, said


def _contour_voxels(
    contours: list[np.ndarray], shape: tuple[int, int]
) -> tuple[list[np.ndarray], int, int]:
    """The voxels (flat (y, x) index, sorted) inside the slice each contour fills, a contour
    repeated on its slice once (the even-odd rule would erase it), and the voxels filled outside
    the image in-plane and in all."""
    filled, outside, total = [], 0, 0
    for index in contours:
        rows, cols = fill_polygon(index[:, 1], index[:, 0])
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        voxels = np.unique(rows[inside] * shape[1] + cols[inside])
        if voxels.size and any(np.array_equal(voxels, seen) for seen in filled):
            continue
        filled.append(voxels)
        total += rows.size
        outside += rows.size - int(inside.sum())
    return filled, outside, total


def _combined(
    filled: list[np.ndarray], shape: tuple[int, int], xor: bool
) -> tuple[np.ndarray, bool]:
    """The (y, x) bool slice the contours' voxels ``filled`` make by nesting (or by exclusive
    or, ``xor``), and whether two of them overlap (united)."""
    plane = np.zeros(shape[0] * shape[1], dtype=bool)
    if xor:
        for voxels in filled:
            plane[voxels] ^= True
        return plane.reshape(shape), False
    depth = [0] * len(filled)
    overlap = False
    for i, a in enumerate(filled):
        for j, b in enumerate(filled):
            if i == j or not (a.size and b.size) or a[-1] < b[0] or b[-1] < a[0]:
                continue
            common = np.intersect1d(a, b, assume_unique=True).size
            if common == a.size and b.size > a.size:
                depth[i] += 1  # a lies inside b
            elif common and common < min(a.size, b.size):
                overlap = True
    for level, voxels in sorted(zip(depth, filled, strict=True), key=lambda pair: pair[0]):
        plane[voxels] = level % 2 == 0  # an outline, or a hole in one
    return plane.reshape(shape), overlap


def _cuts_hole(stray: np.ndarray, own: list[np.ndarray], width: int) -> bool:
    """Whether a stray plane's contour (its voxels) is a hole written off its outline's plane:
    wholly inside one of the slice's own contours, not touching it (its 4-neighbours inside
    too) and under :data:`STRAY_SHARE` of its area; a larger one is an outline of the same
    lesion at another z."""
    around = np.concatenate([stray, stray - 1, stray + 1, stray - width, stray + width])
    return any(
        stray.size < STRAY_SHARE * outline.size and np.isin(around, outline).all()
        for outline in own
    )


def _near_copy(stray: np.ndarray, own: list[np.ndarray]) -> bool:
    """Whether a stray plane's contour (its voxels) outlines what one of the slice's own
    contours does, at another z (an interpolated or duplicate outline): their common voxels at
    least :data:`STRAY_SHARE` of the two together. The slice's own plane, nearer its centre,
    says where the lesion is on it: the copy 5 % larger added a tenth to three slices."""
    return any(
        (common := np.intersect1d(stray, outline, assume_unique=True).size)
        >= STRAY_SHARE * (stray.size + outline.size - common)
        for outline in own
    )


def _slices_taking(
    name: str,
    planes: list[float],
    image: sitk.Image,
    notes: list[str],
    drawn_here: bool,
    thickness: float,
) -> tuple[dict[int, list[float]], set[float]]:
    """Image slice -> the contoured planes (index z) it takes: each plane its own slice when
    drawn on this image (or on one as thin) on its slices, else the plane whose slab holds the
    slice, with a note; a plane off the series' spacing (:func:`_strays`) its nearest slice.
    Returns those and the planes off the series' spacing."""
    spacing = image.GetSpacing()[2]
    n_slices = image.GetSize()[2]
    slack = SLAB_SLACK_MM / spacing
    strays = _strays(planes, thickness)
    series = [p for p in planes if p not in strays]
    on_slices = all(abs(p - round(p)) <= SLICE_TOLERANCE for p in series)
    taken: dict[int, list[float]] = {}
    if on_slices and (drawn_here or thickness <= 1 + SLICE_TOLERANCE):
        for p in series:
            taken.setdefault(int(round(p)), []).append(p)
    else:
        taken = {k: [p] for k, p in _slice_of_plane(series, n_slices, thickness, slack).items()}
        apart = np.diff(series).min(initial=np.inf) * spacing
        drawn = "on one plane" if len(series) == 1 else f"on planes {apart:.2f} mm apart"
        where = "" if on_slices else ", between the image's slices"
        unused = len(series) - len({p for (p,) in taken.values()})
        left = f"; {unused} of its {len(series)} planes hold no slice and fill none" * bool(unused)
        notes.append(
            f"Structure {name!r} was contoured {drawn}{where} (the image's slices are "
            f"{spacing:.2f} mm apart): each slice takes the contours of the plane whose "
            f"{thickness * spacing:.2f} mm slab holds it{left}."
        )
    nearest = {p: _nearest_slice(p, n_slices, slack) for p in strays}
    for p in sorted(strays):
        taken.setdefault(nearest[p], []).append(p)
    if off := sorted(nearest[p] for p in strays if abs(p - round(p)) > SLICE_TOLERANCE):
        notes.append(
            f"Structure {name!r} has {len(off)} contoured plane(s) less than half its "
            f"{thickness * spacing:.2f} mm plane spacing from another (a hole or a second lesion "
            f"written at another z): each fills its nearest slice ({_listed(off)}), united "
            "there with that slice's contours (one well inside them cuts a hole, a near copy "
            "of one counts once)."
        )
    return taken, strays


def _rasterise(
    roi: ROI, image: sitk.Image, notes: list[str], *, drawn_here: bool, thickness: float
) -> np.ndarray:
    """The ROI's closed contours filled on the image grid, (z, y, x) uint8. ``drawn_here``: the
    structure set was drawn on this image, so each contour fills the slice it lies on; otherwise
    (or when contours lie between the slices) each slice takes the contours of the plane whose
    slab (``thickness`` slices: :func:`_plane_spacings`) holds it, with a note in ``notes``."""
    size = image.GetSize()
    mask = np.zeros(size[::-1], dtype=np.uint8)
    pairs = [
        (c, t) for c, t in zip(roi.contours, roi.geometric_types, strict=True) if t in CLOSED_TYPES
    ]
    if not pairs:
        raise MaskError(
            f"Structure {roi.name!r} has no closed contour; it cannot be made into a mask."
        )
    closed = [c for c, _ in pairs]
    xor = all(t == "CLOSED_PLANAR_XOR" for _, t in pairs)
    planes = _planes(roi, closed, image)
    taken, strays = _slices_taking(roi.name, sorted(planes), image, notes, drawn_here, thickness)
    outside = total = 0
    said: dict[str, list[int]] = {}
    for k, on_slice in sorted(taken.items()):
        if not 0 <= k < size[2]:
            continue
        contours = [c for p in on_slice if p not in strays for c in planes[p]]
        off = [c for p in on_slice if p in strays for c in planes[p]]
        mask[k], out, count, what = _fill_slice(contours, (size[1], size[0]), xor, off)
        outside, total = outside + out, total + count
        for text in what:
            said.setdefault(text, []).append(k)
    for text, slices in said.items():
        notes.append(f"Structure {roi.name!r}: {text} on slice(s) {_listed(slices)}.")
    _check_inside(roi, outside, total, notes)
    filled = np.flatnonzero(mask.any(axis=(1, 2)))
    if filled.size and (skipped := sorted(set(range(filled[0], filled[-1])) - set(filled))):
        notes.append(
            f"Structure {roi.name!r} leaves {len(skipped)} slice(s) empty between its first "
            f"and last ({_listed(skipped)}): its contours skip them (drawn on every other "
            f"slice, or separate lesions), so its volume counts only the {filled.size} "
            f"contoured slices of the {filled[-1] - filled[0] + 1} from its first to its last "
            "(about half the tumour when every other slice is contoured), and its mask and "
            "shape features have those gaps. A structure set exported with its contours "
            "interpolated onto every slice gives the whole volume."
        )
    return mask


def _listed(slices: list[int]) -> str:
    """Slice numbers as a note shows them: the first five."""
    return ", ".join(map(str, slices[:5])) + (" ..." if len(slices) > 5 else "")


def _check_inside(roi: ROI, outside: int, total: int, notes: list[str]) -> None:
    """Refuse a structure the image holds only part of in-plane (an image cropped or of a smaller
    field of view than the one contoured): its radiomics would describe the part inside only. A
    sliver over the edge (under :data:`OUTSIDE_TOLERANCE`) is clipped, with a note."""
    if not outside:
        return
    share = outside / total  # two decimals: 1.046 % printed '1.0%' read as within 1 %
    said = f"{outside:,} of its {total:,} voxels ({share:.2%}) lie outside the image in-plane"
    if share > OUTSIDE_TOLERANCE:
        raise RTStructError(
            f"Structure {roi.name!r}: {said}, more than the {OUTSIDE_TOLERANCE:.0%} that may be "
            "clipped: the image (cropped, or of a smaller field of view) does not hold the whole "
            "structure. Give the image it was contoured on."
        )
    notes.append(f"Structure {roi.name!r}: {said}; clipped at the image's edge.")


def in_another_frame(rtstruct: RTStruct, name: str, info: SeriesInfo) -> str | None:
    """Why ROI ``name`` does not apply to the image of ``info``, if its own frame of reference
    is not the image's (a structure set holding an MR's contours beside the CT's): its
    coordinates are of another patient space, and rasterised on the CT it lands elsewhere."""
    roi = rtstruct.rois.get(name)
    frame = roi.frame_of_reference_uid if roi is not None else None
    image_frame = info.frame_of_reference_uid
    if not frame or not image_frame or frame == image_frame:
        return None
    return (
        f"Structure {name!r} of {Path(rtstruct.path).name} lies in frame of reference {frame}, "
        f"not the image's ({image_frame}): its coordinates do not apply to this image"
    )


def rtstruct_to_masks(
    rtstruct: RTStruct,
    image: sitk.Image,
    series_info: SeriesInfo,
    roi_names: list[str],
    notes: list[str] | None = None,
) -> dict[str, sitk.Image]:
    """Rasterise the named ROIs onto ``image``'s grid as uint8 0/1 masks, keyed by ROI name.

    Refuses (:class:`RTStructError`) a structure set not linked to the series
    (:func:`link_to_series`, whose warnings the caller reports), a name not in the set, an ROI in
    another frame of reference (:func:`in_another_frame`), or a contour not parallel to the slices
    or outside the image; an ROI with no closed contour or that covers
    no voxel centre raises :class:`MaskError`. Contours drawn on another series or between the
    slices fill the slices their planes' slabs hold, with a note added to ``notes``.
    """
    drawn_here = not link_to_series(rtstruct.references, series_info, rtstruct.path)
    thickness = _plane_spacings(rtstruct, image)
    masks: dict[str, sitk.Image] = {}
    for name in roi_names:
        roi = rtstruct.rois.get(name)
        if roi is None:
            raise RTStructError(
                f"{rtstruct.path} has no structure named {name!r}; it has "
                f"{', '.join(map(repr, rtstruct.roi_names)) or 'none'}."
            )
        if roi.ambiguous:
            raise RTStructError(roi.ambiguous)
        if why := in_another_frame(rtstruct, name, series_info):
            raise RTStructError(f"{why}. Give a structure drawn on this image.")
        array = _rasterise(
            roi,
            image,
            notes if notes is not None else [],
            drawn_here=drawn_here,
            thickness=thickness[name],
        )
        if not array.any():
            raise MaskError(
                f"Structure {name!r} covers no voxel of the image; it is too small or outside it."
            )
        mask = sitk.GetImageFromArray(array)
        mask.CopyInformation(image)
        masks[name] = mask
    return masks
