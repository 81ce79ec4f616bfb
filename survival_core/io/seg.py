"""DICOM SEG segmentations: read the segments, place their frames on an image grid as masks.

A SEG stores its segments as 2D frames: BINARY (one bit per pixel), FRACTIONAL (0 to
MaximumFractionalValue; a pixel belongs to the segment from ``FRACTION_THRESHOLD`` of the maximum)
or LABELMAP (each pixel holds a segment number; the one equal to PixelPaddingValue is background,
not a segment). Frames are placed by their own position, never by their order in the file: pixel
(row r, column c) lies at the frame's ImagePositionPatient + c x column spacing x row direction
+ r x row spacing x column direction (PixelSpacing and ImageOrientationPatient of the SEG, per frame
or shared). In the image's voxel indices a frame must lie within ``SLICE_TOLERANCE`` (0.1) of a
slice and its pixels within ``IN_PLANE_TOLERANCE`` (0.1) of voxel centres (the same pixel spacing,
rows and columns along image axes, possibly flipped or swapped); otherwise it was drawn on another
grid and is refused, as is a segment reaching outside the image. A frame without a position goes on
the image slice its source image reference (DerivationImageSequence) names, which needs the image's
rows and columns.

Linking to the image: a SEG on another frame of reference is refused; otherwise
:func:`~survival_core.io.rtstruct.link_to_series` decides, as for an RTSTRUCT.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset
from pydicom.pixels import iter_pixels
from pydicom.pixels.utils import get_expected_length

from survival_core.errors import DicomError, RTStructError, SegError
from survival_core.io.dicom_series import (
    References,
    SeriesInfo,
    damaged_header,
    frame_value,
    header_numbers,
    is_seg,
    never_drawn_segments,
    object_kind,
    pixel_data_problem,
    read_dicom,
    seg_references,
    segment_names,
)
from survival_core.io.rtstruct import SLICE_TOLERANCE, link_to_series

log = logging.getLogger(__name__)

#: A FRACTIONAL pixel belongs to the segment from this fraction of MaximumFractionalValue on.
FRACTION_THRESHOLD = 0.5
#: Largest in-plane distance (in pixels) between a SEG pixel and the image voxel centre it goes to.
IN_PLANE_TOLERANCE = 0.1
SEGMENTATION_TYPES = ("BINARY", "FRACTIONAL", "LABELMAP")


@dataclass(frozen=True)
class SegFrame:
    """One frame of a SEG: its segment and where it lies (a position with the plane's orientation
    and pixel spacing, or only the image it was derived from)."""

    index: int
    #: ReferencedSegmentNumber; None in a LABELMAP, whose frames hold every segment.
    segment: int | None
    #: ImagePositionPatient of the first pixel (mm).
    position: np.ndarray | None
    #: Row and column direction cosines (ImageOrientationPatient).
    orientation: np.ndarray | None
    #: (row spacing, column spacing) in mm, as DICOM PixelSpacing.
    pixel_spacing: tuple[float, float] | None
    source_sop_uids: tuple[str, ...]


@dataclass
class Segmentation:
    """A parsed SEG: segment name -> number in the file's order, frames, and the data set whose
    pixel data is decoded only when masks are made."""

    path: str
    segments: dict[str, int]
    references: References
    segmentation_type: str
    frames: list[SegFrame] = field(repr=False)
    dataset: Dataset = field(repr=False)
    warnings: list[str] = field(default_factory=list)

    @property
    def roi_names(self) -> list[str]:
        return list(self.segments)

    def never_drawn(self, name: str) -> bool:
        """Whether segment ``name`` has no frame, as the inventory tells it from the header
        (:func:`~survival_core.io.dicom_series.never_drawn_segments`)."""
        return name in never_drawn_segments(self.dataset)


def _frame(ds: Dataset, item: Dataset, index: int, name: str, labelmap: bool) -> SegFrame:
    """The segment and geometry of frame ``index`` (``name`` for messages)."""
    segment = frame_value(ds, item, "SegmentIdentificationSequence", "ReferencedSegmentNumber")
    if segment is None and not labelmap:
        raise SegError(
            f"{name} names no segment (SegmentIdentificationSequence); the file is damaged."
        )

    def numbers(value: object, count: int, keyword: str) -> np.ndarray | None:
        return header_numbers(value, count, name, keyword) if value else None

    # Positions are read per frame only: one shared by all frames would stack them on one slice.
    plane = item.get("PlanePositionSequence")
    position = numbers(
        plane[0].get("ImagePositionPatient") if plane else None, 3, "ImagePositionPatient"
    )
    orientation = numbers(
        frame_value(ds, item, "PlaneOrientationSequence", "ImageOrientationPatient"),
        6,
        "ImageOrientationPatient",
    )
    spacing = numbers(
        frame_value(ds, item, "PixelMeasuresSequence", "PixelSpacing"), 2, "PixelSpacing"
    )
    if orientation is not None:
        norms = np.linalg.norm(orientation[:3]), np.linalg.norm(orientation[3:])
        if min(norms) < 0.5:
            raise SegError(f"{name}: invalid ImageOrientationPatient {orientation.tolist()}.")
        orientation = np.concatenate([orientation[:3] / norms[0], orientation[3:] / norms[1]])
    if spacing is not None and min(spacing) <= 0:
        raise SegError(f"{name}: invalid PixelSpacing {spacing.tolist()}.")
    sources = [
        str(source.get("ReferencedSOPInstanceUID", ""))
        for derivation in item.get("DerivationImageSequence", [])
        for source in derivation.get("SourceImageSequence", [])
    ]
    return SegFrame(
        index=index,
        segment=None if labelmap else int(segment),
        position=position,
        orientation=orientation,
        pixel_spacing=None if spacing is None else (float(spacing[0]), float(spacing[1])),
        source_sop_uids=tuple(s for s in sources if s),
    )


def _check_pixel_data(ds: Dataset, path: str, n_frames: int) -> None:
    """Refuse missing or (for uncompressed data) truncated pixel data before any decoding."""
    if "PixelData" not in ds:
        raise SegError(f"{path} has no pixel data; the segmentation is missing.")
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is not None and not syntax.is_encapsulated:
        expected = get_expected_length(ds, unit="bytes")
        if len(ds.PixelData) < expected:
            raise SegError(
                f"{path}: pixel data holds {len(ds.PixelData)} bytes where {n_frames} frame(s) of "
                f"{ds.Rows} x {ds.Columns} need {expected}; the file is truncated or damaged."
            )


def _parse(ds: Dataset, path: str) -> Segmentation:
    """The segments and frames of a SEG data set; :class:`SegError` for what cannot be used."""
    if not is_seg(ds):
        raise SegError(f"{path} is not a DICOM SEG ({object_kind(ds)}); expected a Segmentation.")
    kind = str(ds.get("SegmentationType", "")).upper()
    if kind not in SEGMENTATION_TYPES:
        raise SegError(
            f"{path}: segmentation type {kind or '(missing)'} is not supported; expected "
            f"{', '.join(SEGMENTATION_TYPES)}."
        )
    if kind == "FRACTIONAL" and int(ds.get("MaximumFractionalValue") or 0) <= 0:
        raise SegError(f"{path}: FRACTIONAL segmentation without a MaximumFractionalValue.")
    names = segment_names(ds)
    if kind == "LABELMAP" and "PixelPaddingValue" in ds:
        names.pop(int(ds.PixelPaddingValue), None)  # the background, not a structure
    if not names:
        raise SegError(f"{path} describes no segment (empty SegmentSequence).")
    n_frames = int(ds.get("NumberOfFrames") or 1)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is None or len(per_frame) != n_frames:
        raise SegError(
            f"{path}: {n_frames} frame(s) but {len(per_frame or [])} per-frame descriptions "
            "(PerFrameFunctionalGroupsSequence); the file is damaged."
        )
    _check_pixel_data(ds, path, n_frames)
    frames = [
        _frame(ds, item, i, f"{path} frame {i + 1}", kind == "LABELMAP")
        for i, item in enumerate(per_frame)
    ]
    warnings = [
        f"Several segments are named alike; segment {number} is called {name!r}."
        for number, name in names.items()
        if name.endswith(f" [{number}]")
    ]
    if kind != "LABELMAP":
        unnamed = [f for f in frames if f.segment not in names]
        if unnamed:
            numbers = sorted({str(f.segment) for f in unnamed})
            warnings.append(
                f"{len(unnamed)} frame(s) of segment number(s) {', '.join(numbers)}, which the "
                "segment list does not describe, are ignored."
            )
            frames = [f for f in frames if f.segment in names]
        used = {f.segment for f in frames}
        warnings.extend(
            f"Segment {name!r} has no frame (never drawn): left out."
            for number, name in names.items()
            if number not in used
        )
    return Segmentation(
        path=path,
        segments={name: number for number, name in names.items()},
        references=seg_references(ds),
        segmentation_type=kind,
        frames=frames,
        dataset=ds,
        warnings=warnings,
    )


def read_seg(path: Path | str) -> Segmentation:
    """Parse a DICOM SEG file; :class:`SegError` if it is not DICOM, not a SEG, or damaged."""
    try:
        ds = read_dicom(path)
        with damaged_header(str(path), SegError):
            seg = _parse(ds, str(path))
    except DicomError as err:  # not DICOM, or a malformed number named by header_numbers
        raise SegError(str(err)) from err
    for message in seg.warnings:
        log.warning("%s: %s", path, message)
    return seg


@dataclass(frozen=True)
class _Grid:
    """The image's voxel grid: patient mm -> continuous (x, y, z) index, and which slices each
    image SOP instance holds."""

    origin: np.ndarray
    to_index: np.ndarray
    #: (z, y, x) voxels.
    shape: tuple[int, int, int]
    #: (row spacing, column spacing) in mm, as DICOM PixelSpacing.
    pixel_spacing: tuple[float, float]
    slices_of_sop: dict[str, list[int]]

    @classmethod
    def of(cls, image: sitk.Image, info: SeriesInfo) -> _Grid:
        spacing = image.GetSpacing()
        slices_of_sop: dict[str, list[int]] = {}
        for k, uid in enumerate(info.sop_instance_uids):
            slices_of_sop.setdefault(uid, []).append(k)
        return cls(
            origin=np.asarray(image.GetOrigin()),
            to_index=np.linalg.inv(
                np.asarray(image.GetDirection()).reshape(3, 3) @ np.diag(spacing)
            ),
            shape=image.GetSize()[::-1],
            pixel_spacing=(spacing[1], spacing[0]),
            slices_of_sop=slices_of_sop,
        )


@dataclass(frozen=True)
class _Placement:
    """Frame pixel (row r, column c) goes to voxel (x, y) = offset + c * column_step + r * row_step
    of slice ``slice_index``; ``where`` says where the frame lies, for messages."""

    slice_index: int
    offset: np.ndarray
    column_step: np.ndarray
    row_step: np.ndarray
    where: str


def _place_by_position(
    frame: SegFrame, shape: tuple[int, int], grid: _Grid, name: str
) -> _Placement:
    """Map a frame with a position onto the grid; :class:`SegError` when it is off the grid."""
    row_spacing, column_spacing = frame.pixel_spacing
    start = grid.to_index @ (frame.position - grid.origin)
    per_column = grid.to_index @ frame.orientation[:3] * column_spacing
    per_row = grid.to_index @ frame.orientation[3:] * row_spacing
    corners = [(r, c) for r in (0, shape[0] - 1) for c in (0, shape[1] - 1)]
    index = np.array([start + c * per_column + r * per_row for r, c in corners])
    where = f"at {np.round(frame.position, 2).tolist()} mm"
    k = int(round(float(index[:, 2].mean())))
    if np.max(np.abs(index[:, 2] - k)) > SLICE_TOLERANCE:
        low, high = index[:, 2].min(), index[:, 2].max()
        at = f"{low:.2f}" if high - low < 0.005 else f"{low:.2f} to {high:.2f}, tilted"
        raise SegError(
            f"{name} {where} lies between slices of the image (slice index {at}); the SEG was "
            "drawn on another grid."
        )
    offset, column_step, row_step = (
        np.rint(v[:2]).astype(int) for v in (start, per_column, per_row)
    )
    snapped = np.array([offset + c * column_step + r * row_step for r, c in corners])
    axes_swapped_or_flipped = np.array_equal(np.abs(column_step) + np.abs(row_step), [1, 1])
    deviation = index[:, :2] - snapped  # voxels, at each corner
    if axes_swapped_or_flipped and np.max(np.abs(deviation)) <= IN_PLANE_TOLERANCE:
        return _Placement(k, offset, column_step, row_step, where)
    if axes_swapped_or_flipped and np.ptp(deviation, axis=0).max() <= IN_PLANE_TOLERANCE:
        off = np.abs(deviation[0])  # one shift at every corner: the image's grid, moved
        mm = off * np.asarray(grid.pixel_spacing[::-1])  # x along columns, y along rows
        raise SegError(
            f"{name} {where}: its pixels, of the image's spacing ({row_spacing:g} x "
            f"{column_spacing:g} mm), lie {off[0]:.2f} x {off[1]:.2f} voxels ({mm[0]:.3g} x "
            f"{mm[1]:.3g} mm, along the image's x and y) off the image's voxels; the SEG was "
            "drawn on a shifted grid. Resample it onto the image."
        )
    raise SegError(
        f"{name} {where}: its pixels (spacing {row_spacing:g} x {column_spacing:g} mm, "
        f"orientation {np.round(frame.orientation, 4).tolist()}) do not fall on the image's "
        f"voxels (spacing {grid.pixel_spacing[0]:g} x {grid.pixel_spacing[1]:g} mm); the SEG "
        "was drawn on another grid. Resample it onto the image."
    )


def _place_by_source(frame: SegFrame, shape: tuple[int, int], grid: _Grid, name: str) -> _Placement:
    """Put a frame without position on the image slice it was derived from."""
    if not frame.source_sop_uids:
        raise SegError(
            f"{name} has no position (PlanePositionSequence, ImageOrientationPatient, PixelSpacing) "
            "and names no source image; it cannot be placed."
        )
    slices = sorted({k for uid in frame.source_sop_uids for k in grid.slices_of_sop.get(uid, [])})
    if len(slices) != 1:
        found = "is not a slice of the image" if not slices else f"is {len(slices)} slices"
        raise SegError(
            f"{name} has no position and its source image {', '.join(frame.source_sop_uids)} "
            f"{found}; it cannot be placed."
        )
    if shape != grid.shape[1:]:
        raise SegError(
            f"{name} has no position and is {shape[0]} x {shape[1]} pixels where the image slices "
            f"are {grid.shape[1]} x {grid.shape[2]}; it cannot be placed."
        )
    return _Placement(
        slices[0], np.zeros(2, int), np.array([1, 0]), np.array([0, 1]), f"on slice {slices[0]}"
    )


def _place(frame: SegFrame, shape: tuple[int, int], grid: _Grid, name: str) -> _Placement:
    if (
        frame.position is not None
        and frame.orientation is not None
        and frame.pixel_spacing is not None
    ):
        return _place_by_position(frame, shape, grid, name)
    return _place_by_source(frame, shape, grid, name)


def _paste(mask: np.ndarray, inside: np.ndarray, placement: _Placement, message: str) -> None:
    """Set the voxels of ``mask`` (z, y, x) where the frame is ``inside``; refuse any outside."""
    rows, columns = np.nonzero(inside)
    if rows.size == 0:
        return
    x, y = (
        placement.offset[axis]
        + columns * placement.column_step[axis]
        + rows * placement.row_step[axis]
        for axis in (0, 1)
    )
    nz, ny, nx = mask.shape
    k = placement.slice_index
    if not (0 <= k < nz and x.min() >= 0 and x.max() < nx and y.min() >= 0 and y.max() < ny):
        raise SegError(
            f"{message} {placement.where} reaches outside the image (slice index {k}, columns "
            f"{x.min()}..{x.max()}, rows {y.min()}..{y.max()}; the image has {nz} slices of "
            f"{ny} x {nx})."
        )
    mask[k, y, x] = 1


def _decoded(seg: Segmentation, indices: list[int]) -> Iterator[np.ndarray]:
    """The frames ``indices`` (ascending) as 2D arrays; :class:`SegError` naming the file if the
    pixel data cannot be decoded."""
    ds = seg.dataset
    try:
        for pixels in iter_pixels(ds, indices=indices):
            if pixels.shape != (ds.Rows, ds.Columns):
                raise ValueError(
                    f"a frame of shape {pixels.shape} where Rows x Columns is {ds.Rows} x {ds.Columns}"
                )
            yield pixels
    except Exception as err:  # decoders raise many types
        raise SegError(f"{seg.path}: {pixel_data_problem(ds, err)}") from err


def _inside(pixels: np.ndarray, seg: Segmentation, number: int) -> np.ndarray:
    """Where a decoded frame belongs to segment ``number``."""
    if seg.segmentation_type == "LABELMAP":
        return pixels == number
    if seg.segmentation_type == "FRACTIONAL":
        maximum = int(seg.dataset.MaximumFractionalValue)
        return pixels >= FRACTION_THRESHOLD * maximum
    return pixels != 0


def _check_frame_of_reference(seg: Segmentation, info: SeriesInfo) -> None:
    frames = seg.references.frame_of_reference_uids
    if frames and info.frame_of_reference_uid and info.frame_of_reference_uid not in frames:
        raise SegError(
            f"{seg.path} is a SEG on another frame of reference ({', '.join(frames)}) than the "
            f"image series {info.series_uid} ({info.frame_of_reference_uid}): its positions do not "
            "apply to this image. Give the SEG made on this image."
        )


def seg_to_masks(
    seg: Segmentation, image: sitk.Image, series_info: SeriesInfo, roi_names: list[str]
) -> dict[str, sitk.Image]:
    """Place the named segments on ``image``'s grid as uint8 0/1 masks, keyed by segment name.

    Refuses (:class:`SegError`) a SEG on another frame of reference, on a series corrected for
    gantry tilt (:mod:`~survival_core.io.gantry_tilt`) or otherwise not linked to the series (:func:`link_to_series`, whose warnings the caller reports), a name not in the SEG, a
    frame off the image's slices or voxel grid, a segment reaching outside the image, an empty
    segment, and pixel data that cannot be decoded.
    """
    _check_frame_of_reference(seg, series_info)
    if series_info.tilt_shifts:
        raise SegError(
            f"{seg.path}: the image series was acquired with a tilted gantry and its slices were "
            "shifted onto a regular grid, where a DICOM SEG's frames no longer fit. Give the "
            "structures as an RTSTRUCT, or as a mask on the corrected grid (e.g. a NIfTI from "
            "dcm2niix with the image)."
        )
    try:
        link_to_series(seg.references, series_info, seg.path)
    except RTStructError as err:
        raise SegError(str(err)) from err
    unknown = [n for n in roi_names if n not in seg.segments]
    if unknown:
        raise SegError(
            f"{seg.path} has no segment named {', '.join(map(repr, unknown))}; it has "
            f"{', '.join(map(repr, seg.roi_names))}."
        )
    numbers = {name: seg.segments[name] for name in roi_names}
    frames = [f for f in seg.frames if f.segment is None or f.segment in numbers.values()]
    grid = _Grid.of(image, series_info)
    shape = (int(seg.dataset.Rows), int(seg.dataset.Columns))
    placements = [_place(f, shape, grid, f"{seg.path} frame {f.index + 1}") for f in frames]
    arrays = {name: np.zeros(grid.shape, dtype=np.uint8) for name in roi_names}
    decoded = _decoded(seg, [f.index for f in frames]) if frames else iter(())
    for frame, placement, pixels in zip(frames, placements, decoded, strict=True):
        for name, number in numbers.items():
            if frame.segment in (None, number):
                message = f"Segment {name!r}: {seg.path} frame {frame.index + 1}"
                _paste(arrays[name], _inside(pixels, seg, number), placement, message)
    masks: dict[str, sitk.Image] = {}
    for name, array in arrays.items():
        if not array.any():
            raise SegError(
                f"Segment {name!r} of {seg.path} is empty: it marks no voxel of the image."
            )
        mask = sitk.GetImageFromArray(array)
        mask.CopyInformation(image)
        masks[name] = mask
    return masks
