"""DICOM image series: find them in a folder or .zip, then stack one into a SimpleITK volume.

Slices are ordered by their position along the slice normal (row cosine x column cosine, dotted with
ImagePositionPatient), never by file name or InstanceNumber, which exporters get wrong. Voxel values
are converted with RescaleSlope/RescaleIntercept to float32 (HU for CT); pixel padding (stored
values from PixelPaddingValue to PixelPaddingRangeLimit, joined to the slice's edge: the area
outside a scanner's reconstructed field of view; below air or above 3071 HU on CT, below 0
elsewhere, and not of an image compressed with loss) holds no value and reads as NaN, as a volume
file's 'no data' does (:func:`~survival_core.io.intensity_scale.fill_missing_values`). The volume
gets spacing (x = column spacing, y = row spacing, z = slice spacing; DICOM PixelSpacing is
[row, column]), origin (ImagePositionPatient of the first slice) and direction (row, column,
normal cosines) in patient LPS millimetres, so masks drawn in patient coordinates land on the
right voxels.

Slice-spacing tolerance: the slices must lie on a regular grid (first position + index x mean
spacing). A slice off that grid by at most ``SPACING_QUIET_RTOL`` (1 %) of the spacing is rounding
noise and passes silently; up to ``SPACING_RTOL`` (5 %) of it, or the 0.1 mm to which exporters
round positions where that is more (``POSITION_PRECISION_MM``: 10 % of a 1 mm spacing; at most
a quarter of a spacing, so a missing slice of a thin-slice series is still found), the series
is accepted with the mean spacing and a warning in :attr:`SeriesInfo.warnings`; beyond that the
series is refused, naming the missing
slices (gap positions in mm and slice indices) or the irregular steps. A missing slice is never
filled in by interpolation: an invented slice through a tumour would change its features, so the
user is asked for the complete series instead.

A stack whose slices drift sideways by one constant angle (gantry tilt) is resampled onto a regular
grid by :mod:`survival_core.io.gantry_tilt`, with a warning; other sideways shifts are refused.

PET (Modality PT) voxels are converted to body-weight SUV (:mod:`survival_core.io.pet_suv`), so a
PT volume is always in SUVbw.

Enhanced (multi-frame) images with per-frame plane positions, such as the IBSI digital phantom, are
read frame by frame in the same way.

Pixel data are decoded by pydicom: compressed transfer syntaxes (JPEG, JPEG-LS, JPEG 2000, RLE) only
through decoder packages (pyjpegls and pylibjpeg with its libjpeg, openjpeg and rle plugins, pinned
in requirements.txt). Data that cannot be decoded are refused by :func:`decode_pixels`, naming the
file, the transfer syntax and the packages that would decode it.

Which series: :func:`scan_dicom` lists the image series, the RTSTRUCT structure sets and the DICOM SEG
segmentations of an upload; RT Dose, RT Plan and other non-image objects are skipped with a note.
:func:`series_summary` describes the series for a user to pick one. Without a choice,
:func:`read_series` takes the series the RTSTRUCT/SEG files reference (by series UID or slice UIDs,
else by frame of reference), else the only one of the preferred modality; a scout (ImageType
LOCALIZER, or at most ``MAX_SCOUT_SLICES`` slices) is never taken by default unless it is the only
series. A series holding several volumes (echoes, time points, b-values, a localizer) is listed as
one entry per stack (:mod:`survival_core.io.dicom_stacks`), the stack an RTSTRUCT/SEG's slices lie in
taken by default.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import re
import struct
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.charset import decode_bytes
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import get_decoder
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
)
from scipy import ndimage

from survival_core.errors import DicomError, RTStructError
from survival_core.io.archive import extract_zip, is_zip
from survival_core.io.dicom_stacks import header_values, stack_labels
from survival_core.io.filetype import files_below, is_bare_dicom, is_os_clutter
from survival_core.io.gantry_tilt import POSITION_PRECISION_MM, measure_tilt, untilt
from survival_core.io.lossy_compression import Loss, image_loss, needs_pixels
from survival_core.io.mr_sequence import header_sequence
from survival_core.io.pet_suv import suv_factors
from survival_core.io.structures import VOLUME_MODALITIES
from survival_core.paths import data_subdir

log = logging.getLogger(__name__)

RTSTRUCT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
#: Segmentation Storage and Label Map Segmentation Storage.
SEG_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.66.7"})
#: Modalities whose objects may carry Rows/Columns but are not images to analyse (a dose grid is
#: not an image of the patient).
NON_IMAGE_MODALITIES = frozenset(
    {"RTSTRUCT", "SEG", "RTDOSE", "RTPLAN", "RTRECORD", "SR", "PR", "KO", "REG"}
)


def is_image_slice(ds: Dataset, modality: str) -> bool:
    """Whether a data set of ``modality`` (upper case) is an image slice to read: pixel rows and
    columns, and no non-image modality (:data:`NON_IMAGE_MODALITIES`). The one rule of the
    series reader, the upload's store and the cohort inventory, so that they keep the same
    files."""
    return "Rows" in ds and "Columns" in ds and modality not in NON_IMAGE_MODALITIES


def is_cut_image(ds: Dataset) -> bool:
    """Whether a data set of an image storage class (its own SOP class, else its file meta's)
    lacks pixel rows and columns: an image slice cut short inside its header (an incomplete
    copy) or whose header a wrong length swallowed, not an object without pixels."""
    uid = sop_class(ds)
    return (
        bool(uid) and uid.name.endswith("Image Storage") and not ("Rows" in ds and "Columns" in ds)
    )


#: The elements that hold an image's pixels.
PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
#: A series of at most this many slices is a scout (localizer), never picked by default.
MAX_SCOUT_SLICES = 2
#: Modalities :func:`read_series` prefers, in order, among several series.
DEFAULT_MODALITY_PREFERENCE = ("CT", "MR", "PT")

#: Off-grid slice position (fraction of the slice spacing) accepted silently.
SPACING_QUIET_RTOL = 0.01
#: Off-grid slice position (fraction of the slice spacing) accepted with a warning; beyond: error.
SPACING_RTOL = 0.05
#: The most of a spacing the 0.1 mm precision of positions may excuse: a missing slice is half a
#: spacing off the grid, which a 0.2 mm series' precision (50 %) let through.
POSITION_PRECISION_RTOL_CAP = 0.25
#: Two slices closer than this along the normal (mm) are duplicates.
DUPLICATE_ATOL_MM = 0.01
#: Largest difference between slices' direction cosines.
ORIENTATION_ATOL = 1e-4
#: Largest relative difference between slices' pixel spacings.
PIXEL_SPACING_RTOL = 1e-4
#: Most voxels a series may hold (2 GiB as float32; a 512 x 512 CT of 2048 slices): reading and
#: scoring take about 9.5 bytes a voxel at their peak (a 512 x 512 x 1500 CT: 3.7 GB), so one case
#: stays within 5 GB of a case-pool worker's memory.
MAX_VOXELS = 512 * 512 * 2048

_SKIP_NAMES = {"DICOMDIR"}


@dataclass(frozen=True)
class References:
    """What a structure set says it was drawn on."""

    series_uids: tuple[str, ...] = ()
    frame_of_reference_uids: tuple[str, ...] = ()
    sop_instance_uids: tuple[str, ...] = ()
    #: The SOP classes of the images it names (MR Image Storage): what kind of image it was
    #: drawn on, still true when the image was re-exported under new UIDs.
    sop_class_uids: tuple[str, ...] = ()


@dataclass
class SeriesEntry:
    """One image series found by :func:`scan_dicom` (headers only, no pixels read yet)."""

    series_uid: str
    modality: str
    description: str
    study_uid: str
    frame_of_reference_uid: str
    files: list[Path] = field(default_factory=list)
    headers: list[Dataset] = field(default_factory=list, repr=False)
    #: Which stack of a series holding several (echoes, time points...; :mod:`.dicom_stacks`).
    stack: str = ""

    @property
    def key(self) -> str:
        """What names this volume when choosing: the series UID, with ``#stack`` for one stack
        of several (UIDs hold only digits and dots)."""
        return f"{self.series_uid}#{self.stack}" if self.stack else self.series_uid

    @property
    def n_slices(self) -> int:
        """Number of 2D slices (frames of multi-frame files count one each)."""
        return sum(int(h.get("NumberOfFrames") or 1) for h in self.headers)

    @property
    def is_scout(self) -> bool:
        """A localizer (ImageType LOCALIZER in most of its slices) or a stack too thin to
        analyse: never a default pick. A series read whole (a cohort import's inventory) whose
        scout slice was filed in it is no scout: it was passed over for another phase."""
        if self.n_slices <= MAX_SCOUT_SLICES:
            return True
        scouts = sum("LOCALIZER" in header_values(h, "ImageType") for h in self.headers)
        return 2 * scouts > len(self.headers)

    @property
    def number(self) -> str:
        """The series' SeriesNumber ("" when absent): kept by de-identification, it tells a
        study's phases apart once their descriptions are removed."""
        try:
            value = self.headers[0].get("SeriesNumber") if self.headers else None
        except _VALUE_ERRORS:  # a malformed header value (read on access): no number to name
            return ""
        return "" if value in (None, "") else str(value)

    @property
    def kernel(self) -> str:
        """The reconstruction kernel (ConvolutionKernel, several values joined by '/'; "" when
        absent): kept by de-identification, it tells a study's reconstructions apart (a lung
        B70f and a soft-tissue B30f of one scan) once their descriptions are removed."""
        try:
            value = self.headers[0].get("ConvolutionKernel") if self.headers else None
        except _VALUE_ERRORS:  # a malformed header value (read on access): no kernel to name
            return ""
        listed = value if isinstance(value, MultiValue | list | tuple) else [value or ""]
        return "/".join(str(v).strip() for v in listed if str(v).strip())  # as written: 'B30f'

    @property
    def thickness(self) -> float | None:
        """The slice thickness (mm) its first header records (an Enhanced multi-frame image's in
        its first frame's or shared functional groups), None when it records none."""
        header = self.headers[0]
        frames = header.get("PerFrameFunctionalGroupsSequence")
        try:
            first = frames[0] if frames else None
            value = float(frame_value(header, first, "PixelMeasuresSequence", "SliceThickness"))
        except _VALUE_ERRORS:  # none, or malformed (an unknown VR: pydicom's NotImplementedError)
            return None
        return value if math.isfinite(value) and value > 0 else None

    @property
    def patient_id(self) -> str:
        """The series' PatientID ("" when absent)."""
        return str(self.headers[0].get("PatientID", "")) if self.headers else ""

    def describe(self) -> str:
        """One line naming the series for messages."""
        number = f" series {self.number}" if self.number else ""
        desc = f", '{self.description}'" if self.description else ""
        stack = f", {self.stack}" if self.stack else ""
        thick = f" of {self.thickness:g} mm" if self.thickness else ""
        kernel = f", kernel {self.kernel}" if self.kernel else ""
        return (
            f"{self.key or '(no SeriesInstanceUID)'} ({self.modality}{number}{desc}{stack}, "
            f"{self.n_slices} slices{thick}{kernel})"
        )


@dataclass
class AnnotationEntry:
    """One file of structures drawn on an image, found by :func:`scan_dicom`."""

    path: Path
    sop_instance_uid: str
    references: References
    #: Its structures' names as read, which roles name (:func:`rtstruct_roi_names`,
    #: :func:`segment_names`): not the raw ROIName values ('', a name given twice).
    roi_names: tuple[str, ...]
    patient_id: str = ""
    #: Its label and date as the file gives them (StructureSetLabel and StructureSetDate; a
    #: SEG's SeriesDescription and SeriesDate): what a user knows it by, with its names.
    label: str = ""
    date: str = ""
    #: Its structures never drawn (an RTSTRUCT's without a closed contour, a SEG's segments
    #: without a frame): a load leaves them out unless a role names them, so none is offered.
    never_drawn: tuple[str, ...] = ()

    @property
    def drawn_names(self) -> tuple[str, ...]:
        """Its :attr:`roi_names` but those never drawn: what a user picks roles among."""
        return tuple(n for n in self.roi_names if n not in self.never_drawn)

    def shown(self) -> str:
        """The structure set as a user knows it: its kind, label, date and structure names
        ("RTSTRUCT 'Research' of 2023-01-02 with 'Tumor'"), never a file name (an upload's
        files are stored renamed); the names are those a role names (:func:`rtstruct_roi_names`:
        'Tumor [2]', 'ROI 3')."""
        kind = "SEG" if isinstance(self, SegEntry) else "RTSTRUCT"
        given = self.label.strip()
        label = f" {given!r}" if given not in ("", DUMMY_TEXT) else ""
        date = self.date.strip()
        dated = (
            f" of {date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 and date.isdigit() else ""
        )
        shown = self.drawn_names  # those never drawn are offered nowhere
        names = ", ".join(map(repr, shown[:_NAMES_SHOWN]))
        more = f" and {len(shown) - _NAMES_SHOWN} more" if len(shown) > _NAMES_SHOWN else ""
        return f"{kind}{label}{dated} with {names or 'no structure'}{more}"


#: How many structure names :meth:`AnnotationEntry.shown` lists.
_NAMES_SHOWN = 6
#: What de-identification writes for a text it must keep but blank (PS3.15's dummy value): a
#: structure set's label so replaced says nothing, and is not shown.
DUMMY_TEXT = "ANONYMIZED"


class RTStructEntry(AnnotationEntry):
    """An RTSTRUCT structure set (contours)."""


class SegEntry(AnnotationEntry):
    """A DICOM SEG segmentation (voxel masks); ``roi_names`` are its segment names."""


@dataclass
class DicomInventory:
    """What :func:`scan_dicom` found in a folder, a .zip or a single file.

    For a .zip the files lie in a temporary folder that lives as long as this object.
    """

    source: Path
    root: Path
    series: list[SeriesEntry] = field(default_factory=list)
    rtstructs: list[RTStructEntry] = field(default_factory=list)
    segs: list[SegEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: Image files cut short (:func:`is_cut_image`), with their headers as far as they were read.
    damaged: list[tuple[Path, Dataset]] = field(default_factory=list, repr=False)
    #: Image files left out as copies of another (:func:`_drop_copies`): copy -> the one read.
    copies: dict[Path, Path] = field(default_factory=dict, repr=False)
    workdir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def annotations(self) -> list[AnnotationEntry]:
        """The RTSTRUCT and SEG entries."""
        return [*self.rtstructs, *self.segs]

    def other_patients(self, patient_id: str) -> tuple[list[SeriesEntry], list[AnnotationEntry]]:
        """The image series and structure sets whose PatientID is neither ``patient_id`` nor
        absent: another patient's files in what should be one patient's upload."""
        series = [s for s in self.series if s.patient_id not in ("", patient_id)]
        return series, [a for a in self.annotations if a.patient_id not in ("", patient_id)]

    def display(self, path: Path) -> str:
        """How to name ``path`` to the user: the file, or 'archive.zip:member' inside a zip."""
        if self.workdir is None:
            return str(path)
        return f"{self.source}:{path.relative_to(self.root).as_posix()}"

    def damaged_note(self, entry: SeriesEntry) -> str:
        """What says the image files cut short that may be slices of ``entry`` (of its series
        and modality, or of one their header was cut before): '' when there is none."""
        files = [
            self.display(path)
            for path, ds in self.damaged
            if str(ds.get("SeriesInstanceUID", entry.series_uid)) == entry.series_uid
            and str(ds.get("Modality", entry.modality)).upper() == entry.modality
        ]
        if not files:
            return ""
        return (
            f"{len(files)} image file(s) that may be slices of this series are damaged or cut "
            f"short, their header ending before the image's rows and columns, and were left "
            f"out ({', '.join(files)}): copy or export them again."
        )

    def copies_note(self, entry: SeriesEntry) -> str:
        """What says the files left out of ``entry`` as copies of its slices (:attr:`copies`):
        '' when there is none."""
        read = set(entry.files)
        pairs = [
            f"{self.display(copy)} (a copy of {self.display(original)})"
            for copy, original in self.copies.items()
            if original in read
        ]
        if not pairs:
            return ""
        more = f" and {len(pairs) - _COPIES_SHOWN} more" if len(pairs) > _COPIES_SHOWN else ""
        return (
            f"{len(pairs)} file(s) repeat a slice of this series (the same SOPInstanceUID and "
            "data, pixels included: a copy, as a PACS export or a DICOMDIR beside its files may "
            f"hold) and were read once: {', '.join(pairs[:_COPIES_SHOWN])}{more}."
        )


#: How many copies :meth:`DicomInventory.copies_note` names.
_COPIES_SHOWN = 3


@dataclass(frozen=True)
class SeriesSummary:
    """One image series as offered to a user choosing which to analyse."""

    series_uid: str
    modality: str
    description: str
    columns: int
    rows: int
    slices: int
    scout: bool
    #: The RTSTRUCT/SEG files (as :meth:`DicomInventory.display` names them) referencing it.
    referenced_by: tuple[str, ...]
    #: Whether :func:`read_series` picks this series when none is named.
    default: bool
    #: Which stack of a series holding several ('echo 2'), else ''; ``series_uid`` then ends in it.
    stack: str = ""
    #: The series' PatientID (an upload's pseudonym), '' when absent.
    patient: str = ""
    #: Its SeriesNumber and slice thickness (mm), which tell phases and reconstructions apart
    #: once de-identification has removed their descriptions ('' and None when not recorded).
    number: str = ""
    thickness: float | None = None
    #: Its reconstruction kernel ('B30f'), which tells reconstructions of one scan apart.
    kernel: str = ""

    @property
    def size(self) -> str:
        """'columns x rows x slices'."""
        return f"{self.columns} x {self.rows} x {self.slices}"

    @property
    def refusal(self) -> str:
        """Why reading it is refused for its size (:func:`over_voxel_limit`), '' when it is not."""
        number = f" {self.number}" if self.number else ""
        what = f"The {self.modality} series{number} ({self.size} voxels)"
        return over_voxel_limit(what, self.slices, self.rows, self.columns)


def over_voxel_limit(what: str, slices: int, rows: int, columns: int) -> str:
    """Why ``what``, ``slices`` of ``rows`` x ``columns`` pixels, is refused for its size and what
    to do; '' when it holds at most :data:`MAX_VOXELS`. Told from the headers alone, before any
    pixel is read (an upload's was refused only when loaded, after it was all stored)."""
    count = slices * rows * columns
    if count <= MAX_VOXELS:
        return ""
    return (
        f"{what} would hold {count:,} voxels ({slices} slices of {rows}x{columns}), "
        f"{count * 4 / 1024**3:.1f} GiB as float32; at most {MAX_VOXELS:,} (512 x 512 x 2048) "
        "are accepted, so that a case fits a worker's memory. Export a cropped field of view or "
        "thicker slices (or resample it to a coarser grid) and load that."
    )


def series_naming(number: str, thickness: float | None) -> tuple[str, str]:
    """A series named by what de-identification keeps, which tells a study's phases apart once
    their descriptions are removed: ('series 4', '2.5 mm slices'), '' for what is not recorded."""
    return (
        f"series {number}" if number else "",
        f"{thickness:.3g} mm slices" if thickness else "",
    )


def series_shown(modality: str, number: str, description: str) -> str:
    """A series as its user knows it, by what de-identification keeps (never its UID, which it
    remaps): "series 3 'T1' (MR)", or "CT series" where it records no SeriesNumber (no article:
    messages put it after "the image" as they put "series 3")."""
    said = f" {description!r}" if description else ""
    return f"series {number}{said} ({modality})" if number else f"{modality} series{said}"


@dataclass
class SeriesInfo:
    """Provenance of a volume built by :func:`read_series`; per-slice lists are in slice order."""

    series_uid: str
    study_uid: str
    frame_of_reference_uid: str
    modality: str
    description: str
    sop_instance_uids: tuple[str, ...]
    slice_positions: tuple[float, ...]
    files: tuple[str, ...]
    warnings: list[str] = field(default_factory=list)
    #: Per slice, the (x, y) voxels it was shifted by to correct a gantry tilt; empty when straight.
    tilt_shifts: tuple[tuple[float, float], ...] = ()
    #: Which stack of a series holding several was read ('echo 2'), else ''.
    stack: str = ""
    #: An MR series' weighting (:func:`~survival_core.io.mr_sequence.header_sequence`), else None.
    sequence: str | None = None
    #: Its SeriesNumber and slice thickness (mm), '' and None when not recorded.
    number: str = ""
    thickness: float | None = None
    #: The rescaled values (lowest, highest) of the pixel padding its headers declare where its
    #: images, compressed with loss (or maybe so), keep it as image values (:func:`_kept_padding`);
    #: None otherwise.
    kept_padding: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """The series as a report names it: 'series 4, 2.5 mm slices' (:func:`series_naming`);
        '' when neither is recorded."""
        return ", ".join(p for p in series_naming(self.number, self.thickness) if p)


@dataclass(frozen=True)
class _Slice:
    """One 2D frame: where it is and how to read it."""

    path: Path
    frame: int | None
    sop_uid: str
    position: np.ndarray
    orientation: np.ndarray
    pixel_spacing: tuple[float, float]
    shape: tuple[int, int]
    slope: float
    intercept: float
    thickness: float | None
    #: Whether the header gave RescaleIntercept (CT requires it; absent, 0 is assumed).
    stated_intercept: bool = True
    #: InstanceNumber: what a viewer shows, where an upload's stored file name (its SOP UID) says
    #: nothing to the user.
    instance: str = ""
    #: The stored values that are pixel padding (PixelPaddingValue to PixelPaddingRangeLimit,
    #: lowest first), None when the header names none.
    padding: tuple[float, float] | None = None
    #: The rescaled values of the padding the header declares that are kept as image values
    #: (:func:`_kept_padding`), None when none is.
    kept_padding: tuple[float, float] | None = None


#: Exceptions pydicom and numpy raise when a header value is malformed (read lazily, on access).
_VALUE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    NotImplementedError,
    EOFError,
    OSError,  # a deferred read of a damaged file
    struct.error,
)


@contextmanager
def damaged_header(
    name: str, error: type[DicomError | RTStructError] = DicomError
) -> Iterator[None]:
    """Re-raise a malformed header value met inside the block (pydicom converts values lazily, on
    access) as ``error`` naming the file."""
    try:
        yield
    except _VALUE_ERRORS as err:
        raise error(f"{name}: damaged or invalid DICOM header ({err}).") from err


def header_numbers(value: Any, count: int, name: str, keyword: str) -> np.ndarray:
    """A numeric DICOM value as ``count`` finite floats; :class:`DicomError` naming it otherwise."""
    try:
        array = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    except _VALUE_ERRORS:
        array = np.empty(0)
    if array.shape != (count,) or not np.all(np.isfinite(array)):
        raise DicomError(f"{name}: invalid {keyword} {value!r}; expected {count} finite number(s).")
    return array


def _looks_like_bare_dataset(path: Path) -> bool:
    """Whether a file without the 'DICM' preamble starts like a DICOM data set (group 0002/0008)."""
    with open(path, "rb") as fh:
        return is_bare_dicom(fh.read(8))


def set_transfer_syntax(ds: Dataset) -> None:
    """Record the encoding pydicom guessed for a file whose file meta information does not name
    its transfer syntax (or is missing)."""
    if getattr(ds, "file_meta", Dataset()).get("TransferSyntaxUID"):
        return
    implicit, little = ds.original_encoding
    syntax = (
        ImplicitVRLittleEndian
        if implicit
        else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    )
    ds.ensure_file_meta()
    ds.file_meta.TransferSyntaxUID = syntax


#: The Pixel Data tag (7FE0,0010) as little- and big-endian files write it.
_PIXEL_DATA_TAGS = (b"\xe0\x7f\x10\x00", b"\x7f\xe0\x00\x10")


def dcmread_whole(source: Any, **options: Any) -> Dataset:
    """:func:`pydicom.dcmread` of a file that must be whole: one cut short inside an element of
    undefined length (compressed pixel data cut in a transfer) or inside its header, which
    pydicom reads as an empty data set beside its file meta (filed as an object no case reads,
    the slice silently left out), is a :class:`DicomError` saying so and where it ends."""
    ds = pydicom.dcmread(source, **options)
    meta = getattr(ds, "file_meta", Dataset())
    if len(ds) == 0 and meta.get("MediaStorageSOPClassUID"):
        raise DicomError(
            f"the file is cut short: it ends {_where_cut(source)} (an incomplete copy or "
            "download); copy or export it again."
        )
    return ds


def _where_cut(source: Any) -> str:
    """Where the file ``source`` (a path or a binary file object) that pydicom read as an empty
    data set ends: inside its pixel data when it holds the Pixel Data tag, else inside its
    header (a file cut 300 bytes in was said to end inside its pixel data)."""
    if hasattr(source, "seek"):
        source.seek(0)
        data = source.read()
    else:
        data = Path(source).read_bytes()
    if any(tag in data for tag in _PIXEL_DATA_TAGS):
        return "inside its pixel data"
    return "inside its header, before its pixel data"


def _try_read(path: Path, stop_before_pixels: bool) -> Dataset | None:
    """Read a file as DICOM; ``None`` when it is not DICOM at all, :class:`DicomError` if damaged."""
    try:
        try:
            ds = dcmread_whole(path, stop_before_pixels=stop_before_pixels)
        except InvalidDicomError:
            if not _looks_like_bare_dataset(path):
                return None
            ds = dcmread_whole(path, stop_before_pixels=stop_before_pixels, force=True)
            if "SOPClassUID" not in ds:
                return None
    except DicomError as err:
        raise DicomError(f"{path}: {err}") from err
    except Exception as err:  # pydicom raises many types on damaged files
        raise DicomError(f"{path} looks like DICOM but cannot be read ({err}).") from err
    set_transfer_syntax(ds)
    return ds


def read_dicom(path: Path | str, *, stop_before_pixels: bool = False) -> Dataset:
    """Read one DICOM file, with or without the 128-byte preamble; :class:`DicomError` if not DICOM."""
    path = Path(path)
    if not path.is_file():
        raise DicomError(f"{path} does not exist or is not a file.")
    ds = _try_read(path, stop_before_pixels)
    if ds is None:
        raise DicomError(f"{path} is not a DICOM file (no DICOM header found).")
    return ds


def _unique(values: list[Any]) -> tuple[str, ...]:
    """Non-empty values as strings, first occurrence kept."""
    return tuple(dict.fromkeys(str(v) for v in values if v))


def rtstruct_references(ds: Dataset) -> References:
    """Series, frame of reference and image UIDs (and the images' SOP classes) an RTSTRUCT data
    set says it was drawn on."""
    series: list[str] = []
    frames: list[str] = []
    images: list[Dataset] = []
    for ref_frame in ds.get("ReferencedFrameOfReferenceSequence", []):
        frames.append(ref_frame.get("FrameOfReferenceUID"))
        for study in ref_frame.get("RTReferencedStudySequence", []):
            for ref_series in study.get("RTReferencedSeriesSequence", []):
                series.append(ref_series.get("SeriesInstanceUID"))
                images.extend(ref_series.get("ContourImageSequence", []))
    series.extend(s.get("SeriesInstanceUID") for s in ds.get("ReferencedSeriesSequence", []))
    frames.extend(
        r.get("ReferencedFrameOfReferenceUID") for r in ds.get("StructureSetROISequence", [])
    )
    for roi in ds.get("ROIContourSequence", []):
        for contour in roi.get("ContourSequence", []):
            images.extend(contour.get("ContourImageSequence", []))
    return References(
        _unique(series),
        _unique(frames),
        _unique([i.get("ReferencedSOPInstanceUID") for i in images]),
        _unique([i.get("ReferencedSOPClassUID") for i in images]),
    )


def seg_references(ds: Dataset) -> References:
    """Series, frame of reference and image UIDs a SEG data set says it was derived from: the
    referenced series (also those of other studies), its own frame of reference, and the source
    image of each frame (and their SOP classes)."""
    series_items = list(ds.get("ReferencedSeriesSequence", []))
    for study in ds.get("StudiesContainingOtherReferencedInstancesSequence", []):
        series_items.extend(study.get("ReferencedSeriesSequence", []))
    images = [i for s in series_items for i in s.get("ReferencedInstanceSequence", [])]
    for frame in ds.get("PerFrameFunctionalGroupsSequence", []):
        for derivation in frame.get("DerivationImageSequence", []):
            images.extend(derivation.get("SourceImageSequence", []))
    return References(
        _unique([s.get("SeriesInstanceUID") for s in series_items]),
        _unique([ds.get("FrameOfReferenceUID")]),
        _unique([i.get("ReferencedSOPInstanceUID") for i in images]),
        _unique([i.get("ReferencedSOPClassUID") for i in images]),
    )


def is_rtstruct(ds: Dataset) -> bool:
    """Whether a data set is an RT Structure Set (by SOP class or modality)."""
    return (
        str(ds.get("SOPClassUID", "")) == RTSTRUCT_SOP_CLASS
        or str(ds.get("Modality", "")).upper() == "RTSTRUCT"
    )


def is_seg(ds: Dataset) -> bool:
    """Whether a data set is a DICOM Segmentation (by SOP class or modality)."""
    return (
        str(ds.get("SOPClassUID", "")) in SEG_SOP_CLASSES
        or str(ds.get("Modality", "")).upper() == "SEG"
    )


#: RTSTRUCT contour types with an inside: filled, combined with the plane's others by nesting.
CLOSED_TYPES = frozenset({"CLOSED_PLANAR", "CLOSED_PLANAR_XOR"})


def never_drawn_segments(ds: Dataset) -> tuple[str, ...]:
    """The :func:`segment_names` of a SEG's segments no frame holds (a LABELMAP's frames hold
    every segment: none said)."""
    if str(ds.get("SegmentationType", "")).upper() == "LABELMAP":
        return ()
    framed = {
        frame_value(ds, item, "SegmentIdentificationSequence", "ReferencedSegmentNumber")
        for item in ds.get("PerFrameFunctionalGroupsSequence", [])
    }
    if None in framed:  # a frame not saying its segment: the reading refuses the file
        return ()
    framed = {int(n) for n in framed}
    return tuple(name for number, name in segment_names(ds).items() if number not in framed)


def never_drawn_rois(ds: Dataset) -> tuple[str, ...]:
    """The :func:`rtstruct_roi_names` of an RTSTRUCT's structures without a closed contour
    (none, or only points: a planning template's empty 'GTVn')."""
    closed = {
        item.get("ReferencedROINumber")
        for item in ds.get("ROIContourSequence", [])
        if any(
            c.get("ContourGeometricType") in CLOSED_TYPES for c in item.get("ContourSequence", [])
        )
    }
    numbers = [item.get("ROINumber") for item in ds.get("StructureSetROISequence", [])]
    return tuple(
        name
        for number, (name, _) in zip(numbers, rtstruct_roi_names(ds), strict=True)
        if number not in closed
    )


def segment_names(ds: Dataset) -> dict[int, str]:
    """Segment number -> name (SegmentLabel, else SegmentDescription, else 'Segment n') of a SEG,
    in file order; a repeated name becomes 'name [n]' so that every name is unique."""
    names: dict[int, str] = {}
    for item in ds.get("SegmentSequence", []):
        number = int(item.SegmentNumber)
        label = str(item.get("SegmentLabel") or item.get("SegmentDescription") or "").strip()
        name = label or f"Segment {number}"
        names[number] = f"{name} [{number}]" if name in names.values() else name
    return names


def structure_text(ds: Dataset, keyword: str) -> tuple[str, bool]:
    """The text of ``keyword`` (an ROI's name) in ``ds`` and whether its character set was
    guessed: bytes the declared character set (or, none declared, the default) cannot decode,
    pydicom's 'Tum\ufffdr' for the Latin-1 'Tum\xf6r' of a file declaring UTF-8 or nothing,
    are read as Windows-1252 (Latin-1 and its superset, what such exporters write), so that the
    name is recognised and a role can name it. Read from the raw bytes, never decoded in
    place: every reader of the data set gets the same answer."""
    elem = ds.get_item(keyword)
    raw = None if elem is None else elem.value
    if not isinstance(raw, bytes):  # absent, or decoded already (a data set made in memory)
        return str(ds.get(keyword, "") or ""), False
    encodings = ds._character_set  # the item's own, else its parents' (pydicom's rule)
    with warnings.catch_warnings():  # pydicom's 'using replacement characters': said below
        warnings.simplefilter("ignore", UserWarning)
        text = decode_bytes(raw, [encodings] if isinstance(encodings, str) else encodings, set())
    if "\ufffd" not in text or b"\xef\xbf\xbd" in raw:  # decoded, or a U+FFFD written so
        return text, False
    try:
        return raw.decode("cp1252"), True
    except UnicodeDecodeError:  # a byte Windows-1252 leaves undefined
        return raw.decode("latin-1"), True


def rtstruct_roi_names(ds: Dataset) -> list[tuple[str, str]]:
    """(name, name given) of each structure of an RTSTRUCT, in file order: the name given is its
    ROIName stripped, else 'ROI n' (n its ROINumber); a name given twice becomes 'name [n]'
    ('name [n.2]' where that is taken too), so that each names one structure. The one naming
    rule of an RTSTRUCT's structures, whether its contours are read or only its header listed."""
    names: list[tuple[str, str]] = []
    taken: set[str] = set()
    for item in ds.get("StructureSetROISequence", []):
        number = item.get("ROINumber")
        number = "?" if number is None else int(number)  # none: the reader refuses the file
        name = given = structure_text(item, "ROIName")[0].strip() or f"ROI {number}"
        if name in taken:
            name, n = f"{given} [{number}]", 1
            while name in taken:  # another structure may already be called that
                n += 1
                name = f"{given} [{number}.{n}]"
        taken.add(name)
        names.append((name, given))
    return names


def sop_class(ds: Dataset) -> UID | None:
    """The data set's SOP Class UID (the file meta's when the data set lacks it), None if absent."""
    uid = ds.get("SOPClassUID") or getattr(ds, "file_meta", Dataset()).get(
        "MediaStorageSOPClassUID"
    )
    return UID(str(uid)) if uid else None


def object_kind(ds: Dataset) -> str:
    """'modality CT, SOP class CT Image Storage': what a data set is, for messages refusing it."""
    uid = sop_class(ds)
    return f"modality {ds.get('Modality') or 'unknown'}, SOP class {uid.name if uid else 'unknown'}"


def _not_an_image(ds: Dataset) -> str:
    """Why a DICOM data set that is neither RTSTRUCT nor SEG is not an image series slice."""
    uid = sop_class(ds)
    if uid == MediaStorageDirectoryStorage:
        return "a DICOMDIR index of other files, not an image"
    modality = str(ds.get("Modality", "")).upper()
    kind = modality or (uid.name if uid else "")
    if not kind:
        return "DICOM data set without Modality or SOP Class UID, not an image"
    if is_cut_image(ds):
        return f"DICOM {kind} image without pixel rows and columns: damaged or cut short"
    if modality not in NON_IMAGE_MODALITIES and not ("Rows" in ds and "Columns" in ds):
        return f"DICOM {kind} object without pixel data (no Rows/Columns), not an image"
    return f"DICOM {kind} object, not an image"


def _walk(root: Path) -> list[Path]:
    return sorted(
        p
        for p in files_below(root)
        if p.is_file()
        and not is_os_clutter(p.relative_to(root).parts)
        and not _SKIP_NAMES & set(p.relative_to(root).parts)
    )


def _add_to_inventory(
    inventory: DicomInventory, by_series: dict[str, SeriesEntry], path: Path, ds: Dataset
) -> None:
    """File one DICOM data set as an RTSTRUCT, a SEG, a slice of its series, or a skipped object."""
    modality = str(ds.get("Modality", "")).upper()
    sop_uid = str(ds.get("SOPInstanceUID", ""))
    patient = str(ds.get("PatientID", ""))
    if is_rtstruct(ds):
        names = tuple(name for name, _ in rtstruct_roi_names(ds))
        label, date = ds.get("StructureSetLabel", ""), ds.get("StructureSetDate", "")
        inventory.rtstructs.append(
            RTStructEntry(
                path,
                sop_uid,
                rtstruct_references(ds),
                names,
                patient,
                str(label),
                str(date),
                never_drawn_rois(ds),
            )  # fmt: skip
        )
    elif is_seg(ds):
        names = tuple(segment_names(ds).values())
        label, date = ds.get("SeriesDescription", ""), ds.get("SeriesDate", "")
        inventory.segs.append(
            SegEntry(
                path,
                sop_uid,
                seg_references(ds),
                names,
                patient,
                str(label),
                str(date),
                never_drawn_segments(ds),
            )  # fmt: skip
        )
    elif is_image_slice(ds, modality):
        uid = str(ds.get("SeriesInstanceUID", ""))
        entry = by_series.get(uid)
        if entry is None:
            entry = by_series[uid] = SeriesEntry(
                series_uid=uid,
                modality=modality,
                description=str(ds.get("SeriesDescription", "")),
                study_uid=str(ds.get("StudyInstanceUID", "")),
                frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")),
            )
        entry.files.append(path)
        entry.headers.append(ds)
    else:
        inventory.skipped.append(f"{inventory.display(path)}: {_not_an_image(ds)}")
        if is_cut_image(ds):
            inventory.damaged.append((path, ds))


def scan_dicom(source: Path | str) -> DicomInventory:
    """List the image series, RTSTRUCTs and SEGs in a folder (recursive), a .zip or a DICOM file.

    Headers only are read. Files that are not DICOM are skipped and noted in ``skipped``; a source
    without any DICOM file, or a single file that is not DICOM, raises :class:`DicomError`.
    """
    source = Path(source)
    if not source.exists():
        raise DicomError(f"{source} does not exist.")
    inventory = DicomInventory(source=source, root=source)
    if source.is_dir():
        paths = _walk(source)
    elif is_zip(source):
        inventory.workdir = tempfile.TemporaryDirectory(
            prefix="radsurv-dicom-", dir=data_subdir("tmp")
        )
        inventory.root = Path(inventory.workdir.name)
        extract_zip(source, inventory.root)
        paths = _walk(inventory.root)
    else:
        read_dicom(source, stop_before_pixels=True)
        inventory.root = source.parent
        paths = [source]

    by_series: dict[str, SeriesEntry] = {}
    n_dicom = 0
    for path in paths:
        ds = _try_read(path, stop_before_pixels=True)
        if ds is None:
            inventory.skipped.append(f"{inventory.display(path)}: not a DICOM file")
            continue
        n_dicom += 1
        with damaged_header(inventory.display(path)):
            _add_to_inventory(inventory, by_series, path, ds)
    if n_dicom == 0:
        examples = "; ".join(inventory.skipped[:3])
        raise DicomError(
            f"No DICOM files found in {source} ({len(paths)} other file(s) skipped"
            + (f", e.g. {examples}" if examples else "")
            + ")."
        )
    for note in inventory.skipped:
        log.info("skipped %s", note)
    for entry in by_series.values():
        _drop_copies(inventory, entry)
    inventory.series = [
        stack
        for entry in by_series.values()
        for part in _by_patient(entry)
        for stack in _stacks(part)
    ]
    return inventory


def _drop_copies(inventory: DicomInventory, entry: SeriesEntry) -> None:
    """Leave out of ``entry`` the files repeating one of its slices (:func:`copies_among`): they
    were refused as two slices at one position, the series counted a slice too many. Each is
    recorded in :attr:`DicomInventory.copies`; files of one UID that differ stay, and are
    refused so."""
    uids = [str(ds.get("SOPInstanceUID", "")) for ds in entry.headers]
    copies = copies_among(list(zip(uids, entry.files, strict=True)))
    for copy, original in copies.items():
        inventory.copies[entry.files[copy]] = entry.files[original]
    kept = [i for i in range(len(entry.files)) if i not in copies]
    entry.files, entry.headers = [entry.files[i] for i in kept], [entry.headers[i] for i in kept]


def copies_among(files: Sequence[tuple[str, Path | bytes]]) -> dict[int, int]:
    """Which of ``files`` (each its SOPInstanceUID, and its path or its bytes: an upload's)
    repeat a file before them: the same UID and data set, pixel data included (the file meta
    aside: an export may write its own), as a PACS export or a DICOMDIR's files beside the
    loose ones hold; index of each copy -> index of the file kept. A file is compared with
    every kept file of its UID (A, B differing from it, then a copy of B: the copy was compared
    with A alone, and refused), by pixel data digest first: each is read whole once, a full
    comparison only where digests match (a series whose anonymiser gave every slice one UID
    read two whole files per slice). A file that cannot be read whole is no copy."""
    by_uid: dict[str, list[int]] = defaultdict(list)
    for index, (uid, _) in enumerate(files):
        if uid:
            by_uid[uid].append(index)
    copies: dict[int, int] = {}
    for indices in (found for found in by_uid.values() if len(found) > 1):
        kept: list[tuple[int, bytes]] = []  # index, digest of its pixel data
        for index in indices:
            ds = _whole(files[index][1])
            if ds is None:
                continue
            digest = hashlib.sha256(ds.get("PixelData") or b"").digest()
            original = next(
                (k for k, seen in kept if seen == digest and _same_data(ds, files[k][1])), None
            )
            if original is None:
                kept.append((index, digest))
            else:
                copies[index] = original
    return copies


def _whole(source: Path | bytes) -> Dataset | None:
    """A file read whole, pixel data included, from its path or its bytes; None where it is
    not DICOM or cannot be read."""
    try:
        if isinstance(source, Path):
            return _try_read(source, stop_before_pixels=False)
        return dcmread_whole(io.BytesIO(source), force=is_bare_dicom(source[:8]))
    except (DicomError, InvalidDicomError, *_VALUE_ERRORS):
        return None


def _same_data(ds: Dataset, other: Path | bytes) -> bool:
    """Whether ``other`` holds the data set ``ds``, pixel data included (file meta aside)."""
    try:
        return ds == _whole(other)
    except _VALUE_ERRORS:  # a malformed value, converted when compared
        return False


def _by_patient(entry: SeriesEntry) -> list[SeriesEntry]:
    """``entry``, or one entry per PatientID when several patients' slices share its series UID
    (an anonymiser or a hand-edited header reusing a UID): stacked together, one patient's slices
    would fill the other's volume or be refused as duplicates."""
    patients = [str(h.get("PatientID", "")) for h in entry.headers]
    if len(set(patients)) < 2:
        return [entry]
    parts: dict[str, SeriesEntry] = {}
    for patient, path, header in zip(patients, entry.files, entry.headers, strict=True):
        label = f"patient {patient}" if patient else "no PatientID"
        part = parts.setdefault(patient, replace(entry, files=[], headers=[], stack=label))
        part.files.append(path)
        part.headers.append(header)
    return [parts[patient] for patient in sorted(parts)]


def _stacks(entry: SeriesEntry) -> list[SeriesEntry]:
    """``entry``, or its stacks when it holds several volumes (:func:`.dicom_stacks.stack_labels`),
    in natural order of their labels."""
    try:
        labels = stack_labels(entry.headers)
    except _VALUE_ERRORS:  # a malformed header: the series stays whole and the reader names it
        labels = None
    if labels is None:
        return [entry]
    by_label: dict[str, SeriesEntry] = {}
    for label, path, header in zip(labels, entry.files, entry.headers, strict=True):
        stack = f"{entry.stack}, {label}" if entry.stack else label
        part = by_label.setdefault(label, replace(entry, files=[], headers=[], stack=stack))
        part.files.append(path)
        part.headers.append(header)
    return [by_label[label] for label in sorted(by_label, key=_natural)]


def _natural(label: str) -> list[tuple[int, float | str]]:
    """Sort key putting 'echo 2' before 'echo 10'."""
    parts = re.split(r"(-?\d+(?:\.\d+)?)", label)
    return [(0, float(p)) if i % 2 else (1, p) for i, p in enumerate(parts)]


#: How a refusal of several series that could be the image asks for a choice; an import, which has
#: no way to choose, says its own (:func:`survival_core.cohort.importer.import_patient`).
SAY_WHICH_SERIES = "say which one to use"
#: The option naming the series in a case folder's reading (score, extract); an upload names the
#: Case page's box instead (:func:`survival_core.io.upload_case.load_upload`).
SERIES_OPTION = "(--series)"


def drawn_on(annotation: AnnotationEntry, series: list[SeriesEntry]) -> list[SeriesEntry]:
    """The series among ``series`` an RTSTRUCT/SEG was drawn on: those holding slices it names
    (which picks the stack of a series holding several), else those it names by series UID, else
    the non-scout series sharing its frame of reference."""
    refs = annotation.references
    by_slices, by_uid = _named_series(annotation, series)
    return (
        by_slices
        or by_uid
        or [
            s
            for s in series
            if not s.is_scout
            and s.frame_of_reference_uid
            and s.frame_of_reference_uid in refs.frame_of_reference_uids
        ]
    )


def drawn_on_kind(annotation: AnnotationEntry, series: list[SeriesEntry]) -> list[SeriesEntry]:
    """:func:`drawn_on`, narrowed where it finds several to those of the image kinds (SOP
    classes) whose slices the structure set names: of a CT and a T1 MR sharing a frame of
    reference, the MR its contours were drawn on (ContourImageSequence naming MR Image Storage),
    though its series and slice UIDs are those before a re-export, no longer the MR's."""
    found = drawn_on(annotation, series)
    classes = set(annotation.references.sop_class_uids)
    of_kind = [s for s in found if s.headers and str(sop_class(s.headers[0])) in classes]
    return of_kind if len(found) > 1 and of_kind else found


def drawn_modalities(annotation: AnnotationEntry, series: list[SeriesEntry]) -> list[str]:
    """The modalities of the ``series`` a structure set was drawn on (:func:`drawn_on_kind`):
    the real sarcoma MR's set, sharing the CT's frame of reference, ['MR']."""
    return sorted({s.modality for s in drawn_on_kind(annotation, series)})


def reconstructions(series: list[SeriesEntry]) -> list[SeriesEntry]:
    """The series among one modality's that are volumes to analyse: no projections (MIP), and
    of PETs the attenuation-corrected ones where there are (a study's NAC PET rides along)."""
    volumes = [e for e in series if not _is_projection(e)]
    corrected = [e for e in volumes if "ATTN" in _first(e, "CorrectedImage")]
    return corrected or volumes


def _is_projection(entry: SeriesEntry) -> bool:
    """A projection (ImageType MIP or PROJECTION IMAGE), not a volume."""
    return bool({"MIP", "PROJECTION IMAGE"} & _first(entry, "ImageType"))


def _left_aside(inventory: DicomInventory, chosen: SeriesEntry) -> list[str]:
    """The note naming the series of the chosen one's modality that are no
    :func:`reconstructions` to analyse (a PET's NAC series, a MIP) and were not read; []
    when there are none, or the chosen one is one of them."""
    same = [s for s in inventory.series if s.modality == chosen.modality and not s.is_scout]
    kept = reconstructions(same)
    aside = [s for s in same if s not in kept] if chosen in kept else []
    if not aside:
        return []
    listed = "; ".join(
        f"{s.describe()}, {'a projection' if _is_projection(s) else 'not attenuation-corrected'}"
        for s in aside
    )
    return [
        f"Series {chosen.describe()} was read, the {chosen.modality} reconstruction to analyse; "
        f"not {listed}. Leave those out of the case if one of them was meant."
    ]


def _first(entry: SeriesEntry, keyword: str) -> set[str]:
    """:func:`~.dicom_stacks.header_values` of the series' first header."""
    return set(header_values(entry.headers[0], keyword)) if entry.headers else set()


def in_frame(
    series: list[SeriesEntry], modality: str, frame_of_reference_uid: str
) -> list[SeriesEntry]:
    """The :func:`reconstructions` among the ``modality`` series (not scouts) in a frame of
    reference: the candidates for a PET/CT study's PET beside its CT."""
    return reconstructions(
        [
            e
            for e in series
            if e.modality == modality
            and frame_of_reference_uid
            and e.frame_of_reference_uid == frame_of_reference_uid
            and not e.is_scout
        ]
    )


def companion_series(
    series: list[SeriesEntry], modality: str, frame_of_reference_uid: str
) -> tuple[dict[str, SeriesEntry], list[str]]:
    """The patient's other image of each other modality, beside an image of ``modality`` in
    ``frame_of_reference_uid``: the one series of that modality :func:`in_frame` (a PET/CT
    scan's attenuation-corrected PET, never a MIP); several leave the modality out, and so do
    series of it in other frames of reference only (:func:`_other_frames`), said in the notes
    returned."""
    chosen, notes = {}, []
    for other in (m for m in VOLUME_MODALITIES if m != modality):
        found = in_frame(series, other, frame_of_reference_uid)
        if len(found) == 1:
            chosen[other] = found[0]
        elif found:
            notes.append(
                f"{len(found)} {other} series share the {modality}'s frame of reference "
                f"({'; '.join(e.describe() for e in found)}): none is read as its {other}. Keep "
                "only the one to use beside it."
            )
        else:
            notes += _other_frames(series, other, modality, frame_of_reference_uid)
    return chosen, notes


def _other_frames(
    series: list[SeriesEntry], other: str, modality: str, frame_of_reference_uid: str
) -> list[str]:
    """The note naming the ``other`` series (:func:`reconstructions`, not scouts) left out beside
    an image of ``modality`` because their frame of reference is not its
    ``frame_of_reference_uid``: the image's contours cannot be placed on them; [] without any."""
    apart = reconstructions(
        [
            e
            for e in series
            if e.modality == other
            and not e.is_scout
            and not (frame_of_reference_uid and e.frame_of_reference_uid == frame_of_reference_uid)
        ]
    )
    if not apart:
        return []
    listed = "; ".join(
        f"{e.describe()}, frame of reference {e.frame_of_reference_uid or '(none stated)'}"
        for e in apart
    )
    return [
        f"{other} series left out beside the {modality}: {listed}. Its frame of reference is not "
        f"the {modality}'s ({frame_of_reference_uid or 'none stated'}), so the {modality}'s "
        "contours cannot be placed on it (a PET/CT scan's PET shares its CT's frame of "
        f"reference); a scan acquired apart must be registered to the {modality} first."
    ]


def _default_candidates(
    series: list[SeriesEntry], annotations: list[AnnotationEntry]
) -> list[SeriesEntry]:
    """The non-scout ``series`` the ``annotations`` were drawn on (:func:`drawn_on_kind`), else
    all non-scout ones."""
    images = [s for s in series if not s.is_scout]
    referenced = {s.key: s for a in annotations for s in drawn_on_kind(a, images)}
    return list(referenced.values()) or images


def unclear_kind(
    inventory: DicomInventory,
    annotations: list[AnnotationEntry],
    candidates: list[SeriesEntry],
    preferred: SeriesEntry,
) -> str:
    """Why a structure set of ``annotations`` cannot say which of ``candidates`` it was drawn on:
    it names the slices or kind of image of none of several modalities sharing its frame of
    reference, and the series the modality preference takes (``preferred``) is another set's
    too (the MR set chosen beside the CT's: the CT would be read under the MR's contours). ''
    when it can, or no other set is drawn on ``preferred`` (a PET/CT's only set: its CT). The
    loader's choice of series and a cohort import's
    (:func:`survival_core.cohort.importer.import_images`) refuse it, each saying how to choose."""
    if len({c.modality for c in candidates}) < 2:
        return ""
    for annotation in annotations:
        if annotation.references.sop_class_uids or any(_names(annotation, s) for s in candidates):
            continue
        others = [
            a
            for a in inventory.annotations
            if a is not annotation and any(s is preferred for s in drawn_on_kind(a, candidates))
        ]
        if others:
            return (
                f"the structure set {annotation.shown()} shares a frame of "
                f"reference with {len(candidates)} image series of different modalities and "
                "names the slices or the kind of image (SOP class) of none of them, while "
                f"{'; '.join(a.shown() for a in others)} was drawn on the {preferred.modality} "
                "read by default, so which one its contours were drawn on is unknown"
            )
    return ""


def _named_series(
    annotation: AnnotationEntry, series: list[SeriesEntry]
) -> tuple[list[SeriesEntry], list[SeriesEntry]]:
    """The ``series`` a structure set names by their slices, and those it names by series UID."""
    uids = annotation.references.series_uids
    return [s for s in series if _names_slices(annotation, s)], [
        s for s in series if s.series_uid in uids
    ]


def _names_slices(annotation: AnnotationEntry, series: SeriesEntry) -> bool:
    """Whether a structure set names slices of ``series`` (its ContourImageSequence)."""
    sops = set(annotation.references.sop_instance_uids)
    return any(str(h.get("SOPInstanceUID", "")) in sops for h in series.headers)


def _names(annotation: AnnotationEntry, series: SeriesEntry) -> bool:
    """Whether a structure set names ``series`` by its slices or UID, not only its frame."""
    return series.series_uid in annotation.references.series_uids or _names_slices(
        annotation, series
    )


def _references_disagree(
    inventory: DicomInventory, annotations: list[AnnotationEntry], series: list[SeriesEntry]
) -> str:
    """Why a structure set cannot say which of ``series`` it was drawn on: its series reference
    names one, its slice references another (a native CT's UID, the contrast phase's slices),
    both here; reading either, a warning said it was drawn on the other. '' when none does."""
    for annotation in annotations:
        by_slices, by_uid = _named_series(annotation, series)
        if by_slices and by_uid and not {s.key for s in by_slices} & {s.key for s in by_uid}:
            return (
                f"{inventory.display(annotation.path)}: the structure set's references disagree: "
                f"its series reference names {'; '.join(s.describe() for s in by_uid)}, its "
                f"slice references (ContourImageSequence) the slices of "
                f"{'; '.join(s.describe() for s in by_slices)}, so which one its contours were "
                f"drawn on is unknown; {SAY_WHICH_SERIES} {SERIES_OPTION}."
            )
    return ""


def _passed_over(inventory: DicomInventory, chosen: SeriesEntry) -> list[str]:
    """The note that series the structure sets were drawn on too (a registered MR beside the CT)
    were not read, when the modality preference chose among them; [] otherwise."""

    def named(series: SeriesEntry) -> bool:
        return any(_names(a, series) for a in inventory.annotations)

    images = [s for s in inventory.series if not s.is_scout and s.key != chosen.key]
    others = [s for s in images if named(s)]
    if not others or not named(chosen):
        return []
    listed = "; ".join(s.describe() for s in others)
    return [
        f"The structures were drawn on other series too ({listed}); the {chosen.modality} "
        f"series {chosen.describe()} was read. Choose another series to read it instead."
    ]


def _choose_series(
    inventory: DicomInventory,
    series_uid: str | None,
    modality_preference: tuple[str, ...],
    annotations: list[AnnotationEntry] | None = None,
) -> SeriesEntry:
    """:func:`read_series`' choice of series (``annotations``: the structure sets the roles
    chose, else all)."""
    series = inventory.series
    listing = "; ".join(s.describe() for s in series)
    if not series:
        if inventory.annotations:
            names = ", ".join(inventory.display(a.path) for a in inventory.annotations)
            raise DicomError(
                f"{inventory.source} holds no image, only RTSTRUCT structure set(s) or SEG "
                f"segmentation(s), which are drawn on an image: {names}. Give the image series "
                "they were drawn on as well."
            )
        raise DicomError(
            f"{inventory.source} holds no DICOM image series ({'; '.join(inventory.skipped[:3])})."
        )
    if series_uid is not None:
        named = [e for e in series if series_uid in (e.key, e.series_uid)]
        if not named:
            raise DicomError(f"Series {series_uid} is not in {inventory.source}; found: {listing}.")
        exact = [e for e in named if e.key == series_uid]
        series = exact or named  # a series of several stacks: the default among them
        listing = "; ".join(s.describe() for s in series)
    if len(series) == 1:
        return series[0]
    sets = annotations or inventory.annotations
    if disagree := _references_disagree(inventory, sets, [s for s in series if not s.is_scout]):
        raise DicomError(disagree)
    candidates = _default_candidates(series, sets)
    thin = [s for s in series if s.n_slices == 1]
    if not candidates and len(thin) > MAX_SCOUT_SLICES and len(thin) == len(series):
        frames = {s.frame_of_reference_uid for s in thin}
        raise DicomError(
            f"{inventory.source} holds {len(thin)} series of one slice each"
            + (f", all in frame of reference {frames.pop()}" if len(frames) == 1 else "")
            + ": every slice has its own SeriesInstanceUID, as a de-identification that "
            "replaces UIDs slice by slice writes them. Export the series again keeping one "
            "SeriesInstanceUID for all its slices."
        )
    if not candidates:
        raise DicomError(
            f"{inventory.source} holds only scout series (localizers, or of at most "
            f"{MAX_SCOUT_SLICES} slices), which are not analysed unless chosen; {SAY_WHICH_SERIES}: "
            f"{listing}."
        )
    if len(candidates) == 1:
        return candidates[0]
    preferred = _preferred(inventory, candidates, modality_preference)
    if unclear := unclear_kind(inventory, sets, candidates, preferred):
        listing = "; ".join(c.describe() for c in candidates)
        raise DicomError(
            f"{inventory.source}: {unclear}; {SAY_WHICH_SERIES} {SERIES_OPTION}: {listing}."
        )
    return preferred


def _preferred(
    inventory: DicomInventory, candidates: list[SeriesEntry], modality_preference: tuple[str, ...]
) -> SeriesEntry:
    """The only one of ``candidates`` of the first modality in ``modality_preference`` that has
    any (of its :func:`reconstructions`); :class:`DicomError` listing them otherwise."""
    for modality in modality_preference:
        matching = [s for s in candidates if s.modality == modality.upper()]
        volumes = reconstructions(matching) or matching  # a PET's AC series over its NAC
        if len(volumes) == 1:
            return volumes[0]  # the others: :func:`_passed_over`, :func:`_left_aside`
        if matching:
            raise DicomError(
                f"{inventory.source} holds {len(matching)} {modality} series; {SAY_WHICH_SERIES}: "
                + "; ".join(c.describe() for c in matching)
                + "."
                + _patients_note(matching)
            )
    raise DicomError(
        f"{inventory.source} holds several image series; {SAY_WHICH_SERIES}: "
        + "; ".join(c.describe() for c in candidates)
        + "."
        + _patients_note(candidates)
    )


def _patients_note(series: list[SeriesEntry]) -> str:
    """' They are of 2 patients (A, B): ...' when ``series`` span several PatientIDs, else ''."""
    patients = sorted({s.patient_id for s in series} - {""})
    if len(patients) < 2:
        return ""
    return (
        f" They are of {len(patients)} patients ({', '.join(patients)}): give one patient's "
        "files per case."
    )


def series_summary(
    inventory: DicomInventory, modality_preference: tuple[str, ...] = DEFAULT_MODALITY_PREFERENCE
) -> list[SeriesSummary]:
    """The image series of an inventory for a user to choose one: modality, description, size,
    whether it is a scout, which RTSTRUCT/SEG files were drawn on it, and which one
    :func:`read_series` takes when none is named (none when it would ask)."""
    try:
        default = _choose_series(inventory, None, modality_preference).key
    except DicomError:
        default = None
    summaries = []
    for entry in inventory.series:
        with damaged_header(inventory.display(entry.files[0])):
            header = entry.headers[0]
            summaries.append(
                SeriesSummary(
                    series_uid=entry.key,
                    modality=entry.modality,
                    description=entry.description,
                    columns=int(header.get("Columns") or 0),
                    rows=int(header.get("Rows") or 0),
                    slices=entry.n_slices,
                    scout=entry.is_scout,
                    referenced_by=tuple(
                        inventory.display(a.path)
                        for a in inventory.annotations
                        if any(s is entry for s in drawn_on(a, inventory.series))
                    ),
                    default=entry.key == default,
                    stack=entry.stack,
                    patient=entry.patient_id,
                    number=entry.number,
                    thickness=entry.thickness,
                    kernel=entry.kernel,
                )
            )
    return summaries


def frame_value(ds: Dataset, frame_item: Dataset | None, sequence: str, keyword: str) -> Any:
    """An attribute from the per-frame, then shared functional groups, then the top level."""
    shared = ds.get("SharedFunctionalGroupsSequence")
    for holder in (frame_item, shared[0] if shared else None):
        if holder is not None and holder.get(sequence):
            item = holder.get(sequence)[0]
            if keyword in item:
                return item.get(keyword)
    return ds.get(keyword)


def _instance_number(ds: Dataset) -> str:
    """The file's InstanceNumber as written ('' when absent or unreadable: 'inf' in an IS)."""
    try:
        number = ds.get("InstanceNumber")
        return "" if number is None or str(number) == "" else str(number)
    except (ValueError, OverflowError, TypeError):
        return ""


def _instance_text(instance: str) -> str:
    """' (instance 12)' after a single-frame file's name, as a viewer numbers the slice; '' without
    one."""
    return f" (instance {instance})" if instance else ""


def _slices_of(ds: Dataset, path: Path, name: str, instance: str = "") -> list[_Slice]:
    """The 2D frames of one file (its InstanceNumber ``instance``) with their geometry;
    :class:`DicomError` if any is missing."""
    if int(ds.get("SamplesPerPixel") or 1) != 1:
        raise DicomError(
            f"{name}: colour image ({ds.SamplesPerPixel} samples per pixel); expected grey levels."
        )
    if "ModalityLUTSequence" in ds:
        raise DicomError(
            f"{name}: uses a Modality LUT instead of RescaleSlope/Intercept; not supported."
        )
    n_frames = int(ds.get("NumberOfFrames") or 1)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and len(per_frame) != n_frames:
        raise DicomError(f"{name}: {n_frames} frames but {len(per_frame)} per-frame descriptions.")
    if n_frames > 1 and per_frame is None:
        raise DicomError(
            f"{name}: multi-frame image of {n_frames} frames without per-frame positions."
        )
    items = list(per_frame) if per_frame is not None else [None]
    slices = []
    for index, item in enumerate(items):
        values = {
            key: frame_value(ds, item, seq, key)
            for seq, key in (
                ("PlanePositionSequence", "ImagePositionPatient"),
                ("PlaneOrientationSequence", "ImageOrientationPatient"),
                ("PixelMeasuresSequence", "PixelSpacing"),
                ("PixelMeasuresSequence", "SliceThickness"),
                ("PixelValueTransformationSequence", "RescaleSlope"),
                ("PixelValueTransformationSequence", "RescaleIntercept"),
            )
        }
        absent = [
            k
            for k in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")
            if not values[k]
        ]
        if absent:
            raise DicomError(
                f"{name}: no {', '.join(absent)}; the slice cannot be placed in space."
            )
        orientation = header_numbers(
            values["ImageOrientationPatient"], 6, name, "ImageOrientationPatient"
        )
        if min(np.linalg.norm(orientation[:3]), np.linalg.norm(orientation[3:])) < 0.5:
            raise DicomError(f"{name}: invalid ImageOrientationPatient {list(orientation)}.")
        row, col = (
            orientation[:3] / np.linalg.norm(orientation[:3]),
            orientation[3:] / np.linalg.norm(orientation[3:]),
        )
        if abs(row @ col) > 1e-3:
            raise DicomError(
                f"{name}: row and column directions are not perpendicular ({list(orientation)})."
            )
        spacing = header_numbers(values["PixelSpacing"], 2, name, "PixelSpacing")
        if min(spacing) <= 0:
            raise DicomError(f"{name}: invalid PixelSpacing {spacing.tolist()}.")
        thickness = values["SliceThickness"]
        rescale = [
            header_numbers(values[key], 1, name, key)[0] if values[key] is not None else default
            for key, default in (("RescaleSlope", 1.0), ("RescaleIntercept", 0.0))
        ]
        if rescale[0] == 0:  # every voxel would read as the intercept (DICOM forbids it)
            raise DicomError(f"{name}: RescaleSlope 0; the pixel values cannot be read.")
        shape = header_numbers([ds.Rows, ds.Columns], 2, name, "Rows/Columns").astype(int)
        slices.append(
            _Slice(
                path=path,
                frame=index if per_frame is not None else None,
                sop_uid=str(ds.get("SOPInstanceUID", "")),
                position=header_numbers(
                    values["ImagePositionPatient"], 3, name, "ImagePositionPatient"
                ),
                orientation=np.concatenate([row, col]),
                pixel_spacing=(float(spacing[0]), float(spacing[1])),
                shape=(int(shape[0]), int(shape[1])),
                slope=float(rescale[0]),
                intercept=float(rescale[1]),
                thickness=float(header_numbers(thickness, 1, name, "SliceThickness")[0])
                if thickness
                else None,
                stated_intercept=values["RescaleIntercept"] is not None,
                instance=instance,
                padding=_padding_values(ds, name, rescale[0], rescale[1]),
                kept_padding=_kept_padding(ds, name, rescale[0], rescale[1]),
            )
        )
    return slices


#: Below these values (rescaled) pixel padding is told from the image: air's -1024 HU on CT,
#: 0 on other modalities. A scanner padding at air itself (0 stored, intercept -1024) pads with
#: what the air around the body, joined to the slice's edge as padding is, also holds.
_PADDING_BELOW = {"CT": -1024.0}
#: Above these values (rescaled) pixel padding is told from the image too: the top of the 12-bit
#: CT scale (3071 HU), which no tissue at a slice's edge exceeds. Unsigned padding of 63536
#: (-2000's bit pattern) with intercept -1024 reads 62512 HU: taken for an image value, it
#: entered a GTV reaching it (its mean 28.5 HU read as 1767).
_PADDING_ABOVE = {"CT": 3071.0}


def _padding_values(
    ds: Dataset, name: str, slope: float, intercept: float
) -> tuple[float, float] | None:
    """The stored values ``ds`` declares pixel padding: PixelPaddingValue alone, or the range from
    it to PixelPaddingRangeLimit (both stored values, before the rescale, as DICOM defines them,
    :func:`_as_stored`); None when the header names none, or when they rescale into the image's
    values (from :data:`_PADDING_BELOW` to :data:`_PADDING_ABOVE`): read as no value, the air
    around a patient was, and a skin tumour's contour reaching it was refused."""
    declared = _declared_padding(ds, name)
    if declared is None or not _exact_pixels(ds):
        return None
    lowest, highest = _rescaled(declared, slope, intercept)
    modality = str(ds.get("Modality", "")).upper()
    floor, ceiling = _PADDING_BELOW.get(modality, 0.0), _PADDING_ABOVE.get(modality, math.inf)
    if highest >= floor and lowest <= ceiling:
        return None
    return declared


def _kept_padding(
    ds: Dataset, name: str, slope: float, intercept: float
) -> tuple[float, float] | None:
    """The rescaled values of the pixel padding ``ds`` declares where its pixels may not hold them
    exactly (:func:`_exact_pixels`), so the padding is kept as image values; None otherwise.
    Told apart, its values beyond tissue's are named as padding, not as a wrong rescale
    (pydicom's 693_J2KI: 23 % near -3040 HU were blamed on an intercept applied twice)."""
    declared = _declared_padding(ds, name)
    return None if declared is None or _exact_pixels(ds) else _rescaled(declared, slope, intercept)


def _declared_padding(ds: Dataset, name: str) -> tuple[float, float] | None:
    """PixelPaddingValue, or the range from it to PixelPaddingRangeLimit, as stored values
    (:func:`_as_stored`), lowest first; None when the header names none."""
    if ds.get("PixelPaddingValue") is None:
        return None
    value = header_numbers(ds.PixelPaddingValue, 1, name, "PixelPaddingValue")[0]
    limit = ds.get("PixelPaddingRangeLimit")
    end = value if limit is None else header_numbers(limit, 1, name, "PixelPaddingRangeLimit")[0]
    value, end = _as_stored(ds, value), _as_stored(ds, end)
    return float(min(value, end)), float(max(value, end))


def _rescaled(values: tuple[float, float], slope: float, intercept: float) -> tuple[float, float]:
    """Stored values rescaled, lowest first (a negative slope swaps them)."""
    low, high = sorted(v * slope + intercept for v in values)
    return low, high


def _as_stored(ds: Dataset, value: float) -> float:
    """A padding value as the pixels hold it: one they cannot hold was written with the other
    signedness (US 63536 beside signed pixels, PixelRepresentation 1: the bit pattern of -2000),
    read as its bit pattern; one they can hold as it is."""
    span = 1 << int(ds.get("BitsStored") or 16)
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    lowest = -(span >> 1) if signed else 0
    if lowest <= value < lowest + span:
        return value
    pattern = int(value) % span
    return float(pattern - span if signed and pattern >= span >> 1 else pattern)


def _exact_pixels(ds: Dataset) -> bool:
    """Whether ``ds``'s stored values are as written (not compressed with loss, nor said to be,
    nor of a syntax allowing loss without the header saying which, :func:`needs_pixels`):
    lossy coding moves the padding's values (pydicom's 693_J2KI: corners at -2016 around a
    padding of -2000), and only scattered pixels of it would match, read as no value."""
    return not needs_pixels(ds) and image_loss(ds) is Loss.NONE  # told from the header


def _padding_region(frame: np.ndarray, padding: tuple[float, float]) -> np.ndarray:
    """The pixels of ``frame`` (stored values) that are padding: values in ``padding`` joined to the
    frame's edge through padding, as the area outside a reconstruction circle is. The same values
    enclosed by image data are kept: a scanner may pad with its lowest value, which air inside the
    body (a bowel's gas, a bronchus) also reaches."""
    candidate = (frame >= padding[0]) & (frame <= padding[1])
    if not candidate.any():
        return candidate
    labels, _ = ndimage.label(candidate)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0])


def _check_consistent(slices: list[_Slice], name_of: Callable[[_Slice], str]) -> None:
    ref = slices[0]
    for s in slices[1:]:
        if not np.allclose(s.orientation, ref.orientation, atol=ORIENTATION_ATOL):
            raise DicomError(
                f"Slices have different orientations: {name_of(ref)} {np.round(ref.orientation, 5).tolist()} "
                f"vs {name_of(s)} {np.round(s.orientation, 5).tolist()}."
            )
        if not np.allclose(s.pixel_spacing, ref.pixel_spacing, rtol=PIXEL_SPACING_RTOL, atol=0):
            raise DicomError(
                f"Slices have different pixel spacings: {name_of(ref)} {list(ref.pixel_spacing)} mm "
                f"vs {name_of(s)} {list(s.pixel_spacing)} mm."
            )
        if s.shape != ref.shape:
            raise DicomError(
                f"Slices have different sizes (rows x columns): {name_of(ref)} {ref.shape[0]}x{ref.shape[1]} "
                f"vs {name_of(s)} {s.shape[0]}x{s.shape[1]}."
            )


def _slice_spacing(
    slices: list[_Slice],
    positions: np.ndarray,
    name_of: Callable[[_Slice], str],
    warnings: list[str],
) -> float:
    """Slice spacing (mm) of slices sorted by ``positions``; :class:`DicomError` for gaps."""
    n = len(positions)
    if n == 1:
        if slices[0].thickness:
            return slices[0].thickness
        warnings.append(
            f"Single slice without SliceThickness in {name_of(slices[0])}: 1 mm assumed along z."
        )
        return 1.0
    steps = np.diff(positions)
    duplicate = np.flatnonzero(steps < DUPLICATE_ATOL_MM)
    if duplicate.size:
        i = int(duplicate[0])
        one_file = slices[i].frame is not None and slices[i].path == slices[i + 1].path
        fix = (
            "One multi-frame file holds several volumes (echoes, time points, b-values), which "
            "RadSurv does not split: export the one to analyse as a series of its own (or as "
            "single-frame files, whose stacks RadSurv offers to choose from)."
            if one_file
            else "Remove the duplicates or choose one acquisition."
        )
        raise DicomError(
            f"Slices {name_of(slices[i])} and {name_of(slices[i + 1])} are at the same position "
            f"({positions[i]:.2f} mm along the slice normal); the series holds duplicates or two "
            f"acquisitions. {fix}"
        )
    mean = (positions[-1] - positions[0]) / (n - 1)
    off_grid = np.abs(positions - (positions[0] + np.arange(n) * mean)) / mean
    if off_grid.max() <= SPACING_QUIET_RTOL:
        return float(mean)
    if off_grid.max() <= max(
        SPACING_RTOL, min(POSITION_PRECISION_RTOL_CAP, POSITION_PRECISION_MM / mean)
    ):
        warnings.append(
            f"Slice spacing varies slightly (steps {steps.min():.3f}-{steps.max():.3f} mm, slices up to "
            f"{100 * off_grid.max():.1f} % of a spacing off a regular grid); the mean spacing "
            f"{mean:.3f} mm is used."
        )
        return float(mean)
    median = float(np.median(steps))
    gaps = np.flatnonzero(steps > 1.5 * median)
    if gaps.size:
        details = "; ".join(
            f"between slice {i} (at {positions[i]:.2f} mm, {name_of(slices[i])}) and slice {i + 1} "
            f"(at {positions[i + 1]:.2f} mm, {name_of(slices[i + 1])}): gap {steps[i]:.2f} mm, about "
            f"{max(round(steps[i] / median) - 1, 1)} slice(s) missing"
            for i in gaps[:3]
        )
        more = f" (and {gaps.size - 3} more gaps)" if gaps.size > 3 else ""
        raise DicomError(
            f"Missing slice(s) in the series (spacing {median:.2f} mm; positions along the slice "
            f"normal): {details}{more}. "
            "Export the complete series."
        )
    i = int(np.argmax(np.abs(steps - median)))
    raise DicomError(
        f"Slice spacing is not uniform: steps range from {steps.min():.2f} to {steps.max():.2f} mm "
        f"(e.g. {steps[i]:.2f} mm between slice {i} at {positions[i]:.2f} mm and slice {i + 1} at "
        f"{positions[i + 1]:.2f} mm, where {median:.2f} mm is typical). Resample the series to a "
        "regular spacing before loading it."
    )


def pixel_data_problem(ds: Dataset, err: Exception) -> str:
    """Why the pixel data of ``ds`` cannot be decoded, naming its transfer syntax and, when it is
    compressed, the decoders that read it (pydicom decodes compressed data only with plugins)."""
    uid = UID(str(ds.file_meta.get("TransferSyntaxUID", "")))
    syntax = f"{uid.name} ({uid})" if uid.name != uid else f"transfer syntax {uid or 'unknown'}"
    reason = " ".join(str(err).split()).rstrip(".")
    if not uid.is_transfer_syntax or not uid.is_encapsulated:
        return (
            f"its pixel data ({syntax}) cannot be read: {reason}. The file is damaged or truncated."
        )
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return (
            f"its pixel data is compressed as {syntax}, for which no decoder exists (pydicom has "
            "none). Export the series uncompressed, or as JPEG, JPEG-LS, JPEG 2000 or RLE."
        )
    others = " or ".join(d.split(" requires ", 1)[-1] for d in decoder.missing_dependencies)
    if not decoder.is_available:
        return (
            f"its pixel data is compressed as {syntax}, and no decoder for it is installed: "
            f"install {others}, or export the series uncompressed."
        )
    tried = ", ".join(decoder.available_plugins)
    if "does not support" in reason:  # a variant they refuse (12-bit JPEG Extended), not damage
        return (
            f"its {syntax} pixel data is of a kind the installed decoders ({tried}) do not "
            f"read: {reason}. Export the series uncompressed"
            + (f", or install another decoder of {uid.name}: {others}." if others else ".")
        )
    return (
        f"its {syntax} pixel data cannot be decoded by the installed decoders ({tried}): "
        f"{reason}. The file is probably damaged"
        + (f"; other decoders that read {uid.name}: {others}." if others else ".")
    )


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _lossy_note(entry: SeriesEntry) -> str | None:
    """A caution when a series' images were compressed with loss, or may have been (a syntax
    allowing loss, JPEG 2000 .91, that neither the image nor its codestream settles:
    :func:`~survival_core.io.lossy_compression.image_loss`): its texture is not the scanner's (a
    JPEG 2000 at ratio 20 lowered a GTV's HU standard deviation from 23.7 to 21.1, and one not
    marked lossy went without a word), which radiomics read."""
    losses = [_loss(h, path) for h, path in zip(entry.headers, entry.files, strict=True)]
    lossy = [h for h, loss in zip(entry.headers, losses, strict=True) if loss is Loss.LOSSY]
    unsaid = [h for h, loss in zip(entry.headers, losses, strict=True) if loss is Loss.UNSAID]
    if not lossy and not unsaid:
        return None
    ratios = {
        f"{float(r):g}"
        for h in lossy
        for r in header_values(h, "LossyImageCompressionRatio")
        if _NUMBER.fullmatch(r)
    }
    said = f" (ratio {', '.join(sorted(ratios))})" if ratios else ""
    total = len(entry.headers)
    parts = [f"{len(lossy)} of its {total} images were compressed with loss{said}"] if lossy else []
    if unsaid:
        syntaxes = sorted(
            {
                f"{h.file_meta.TransferSyntaxUID.name} ({h.file_meta.TransferSyntaxUID})"
                for h in unsaid
            }
        )
        parts.append(
            f"{len(unsaid)} of its {total} images are {', '.join(syntaxes)}, which allows loss, "
            "and say neither way (no LossyImageCompression): they may have been compressed with "
            "loss"
        )
    return (
        f"{'; '.join(parts)}: texture radiomics differ from those of the scanner's images; export "
        "the series uncompressed or losslessly compressed for radiomics."
    )


def _loss(header: Dataset, path: Path) -> Loss:
    """How the image of ``header`` (read without pixels) at ``path`` was compressed, its
    codestream read where the header does not say."""
    if not needs_pixels(header):
        return image_loss(header)
    ds = _try_read(path, stop_before_pixels=False)
    return image_loss(header) if ds is None else image_loss(ds)


def decode_pixels(ds: Dataset, name: str) -> np.ndarray:
    """The stored pixel values of a data set read with its pixels (frames first when
    multi-frame); :class:`DicomError` naming ``name``, its transfer syntax and what would decode it."""
    if not any(k in ds for k in PIXEL_DATA_KEYWORDS):
        raise DicomError(f"{name} has no pixel data; it is not an image slice.")
    try:
        return ds.pixel_array
    except Exception as err:  # decoders raise many types
        raise DicomError(f"{name}: {pixel_data_problem(ds, err)}") from err


def _where(s: _Slice) -> str:
    """A slice's position as a viewer shows it (patient mm)."""
    return "(" + ", ".join(f"{v:.1f}" for v in s.position) + ") mm"


def _pixels(slices: list[_Slice], name_of: Callable[[_Slice], str]) -> np.ndarray:
    """Voxel values (float32, rescaled) as a (z, y, x) array, each file decoded once; pixel
    padding (:func:`_padding_region`) is NaN: no value."""
    volume = np.empty((len(slices), *slices[0].shape), dtype=np.float32)
    by_file: dict[Path, list[int]] = defaultdict(list)
    for k, s in enumerate(slices):
        by_file[s.path].append(k)
    for path, indices in by_file.items():
        first = slices[indices[0]]
        # where the slice lies: a stored upload's files are renamed, its position is not
        name = f"{name_of(first)} (slice {indices[0] + 1} of {len(slices)}, at {_where(first)})"
        ds = _try_read(path, stop_before_pixels=False)
        if ds is None:
            raise DicomError(f"{name} can no longer be read as DICOM.")
        array = decode_pixels(ds, name)
        for k in indices:
            s = slices[k]
            if s.frame is not None and (array.ndim != 3 or s.frame >= len(array)):
                raise DicomError(
                    f"{name}: pixel data of shape {array.shape} lacks frame {s.frame + 1}."
                )
            frame = array[s.frame] if array.ndim == 3 else array
            if frame.shape != s.shape:
                raise DicomError(
                    f"{name}: pixel data of shape {frame.shape} where Rows x Columns is {s.shape}."
                )
            volume[k] = frame.astype(np.float64) * s.slope + s.intercept
            if s.padding is not None:
                volume[k][_padding_region(frame, s.padding)] = np.nan
    return volume


def read_series(
    source: DicomInventory | Path | str,
    series_uid: str | None = None,
    modality_preference: tuple[str, ...] = DEFAULT_MODALITY_PREFERENCE,
    annotations: list[AnnotationEntry] | None = None,
) -> tuple[sitk.Image, SeriesInfo]:
    """Build the float32 volume of one image series and its provenance.

    ``source`` is a folder, a .zip, a single DICOM file or an inventory from :func:`scan_dicom`. The
    series is ``series_uid`` when given (:attr:`SeriesEntry.key`: a series UID, or ``UID#stack`` for
    one stack of several; a bare UID of such a series picks among its stacks as below;
    :class:`DicomError` if absent), else the only series, else
    among the non-scout series the RTSTRUCT/SEG files were drawn on (``annotations``: those the
    roles chose, else all; by the slices, series, kind of image or else frame of reference they
    name: :func:`drawn_on_kind`; all non-scout series when they name none) the only one, or the
    only one of the first modality in ``modality_preference`` that has any (of its
    :func:`reconstructions`: a PET's attenuation-corrected series over its NAC one, as beside a
    CT: a same-frame PET/CT's set naming neither), unless a set leaving the modalities open
    was not drawn on it, another set being so (:func:`unclear_kind`: the MR's set beside the
    CT's); otherwise :class:`DicomError` lists the candidates. The series left
    aside are named in the warnings, and so are image files cut short that may be its slices
    (in its refusal too: a slice cut short inside its header was refused as a missing slice,
    the file never named).
    """
    inventory = source if isinstance(source, DicomInventory) else scan_dicom(source)
    entry = _choose_series(inventory, series_uid, modality_preference, annotations)
    damaged = inventory.damaged_note(entry)
    try:
        image, info = _read_chosen(inventory, entry, series_uid is None)
    except DicomError as err:
        if not damaged:
            raise
        raise DicomError(f"{err} {damaged}") from err
    if damaged:
        info.warnings.append(damaged)
    return image, info


def _read_chosen(
    inventory: DicomInventory, entry: SeriesEntry, by_default: bool
) -> tuple[sitk.Image, SeriesInfo]:
    """:func:`read_series` of ``entry``, the series chosen (``by_default``: none was named)."""
    passed_over = (
        _passed_over(inventory, entry) + _left_aside(inventory, entry) if by_default else []
    )

    def name_of(s: _Slice) -> str:
        frame = f" frame {s.frame + 1}" if s.frame is not None else ""
        return inventory.display(s.path) + (frame or _instance_text(s.instance))

    slices = []
    for path, ds in zip(entry.files, entry.headers, strict=True):
        instance = _instance_number(ds)
        name = inventory.display(path) + _instance_text(instance)
        with damaged_header(name):
            slices.extend(_slices_of(ds, path, name, instance))
    _check_consistent(slices, name_of)
    refusal = over_voxel_limit(f"Series {entry.describe()}", len(slices), *slices[0].shape)
    if refusal:
        raise DicomError(refusal)
    row, col = slices[0].orientation[:3], slices[0].orientation[3:]
    normal = np.cross(row, col)
    normal /= np.linalg.norm(normal)
    order = np.argsort([s.position @ normal for s in slices], kind="stable")
    slices = [slices[i] for i in order]
    positions = np.array([s.position @ normal for s in slices])

    row_spacing, col_spacing = slices[0].pixel_spacing
    offsets = np.array([s.position - slices[0].position for s in slices])
    tilt = measure_tilt(offsets, row, col, (col_spacing, row_spacing), entry.describe())
    if tilt:
        what = f"Series {entry.describe()}, corrected for its gantry tilt,"
        refusal = over_voxel_limit(what, len(slices), *tilt.grown(slices[0].shape))
        if refusal:
            raise DicomError(refusal)
    copies = inventory.copies_note(entry)
    warnings: list[str] = [*passed_over, *([copies] if copies else [])]
    if entry.stack:
        stacks = [s.stack for s in inventory.series if s.series_uid == entry.series_uid]
        warnings.append(
            f"Series {entry.series_uid} holds {len(stacks)} stacks ({', '.join(stacks)}); "
            f"{entry.stack} was read."
        )
    try:
        dz = _slice_spacing(slices, positions, name_of, warnings)
    except DicomError as err:
        raise DicomError(f"Series {entry.describe()}: {err}") from None
    volume = _pixels(slices, name_of)
    unstated = sum(not s.stated_intercept for s in slices)
    if entry.modality == "CT" and unstated:
        warnings.append(
            f"{unstated} of its {len(slices)} CT slices state no RescaleIntercept (DICOM requires "
            "it for CT): their stored values were read with intercept 0, which is HU only if "
            "the exporter stored HU; check the values."
        )
    lossy = _lossy_note(entry)
    if lossy:
        warnings.append(lossy)
    kept = [s.kept_padding for s in slices if s.kept_padding is not None]
    if entry.modality == "PT":
        with damaged_header(inventory.display(entry.files[0])):
            factors, note = suv_factors(entry.headers, f"Series {entry.describe()}")
        of_file = dict(zip(entry.files, factors, strict=True))
        volume *= np.array([of_file[s.path] for s in slices], np.float32)[:, None, None]
        warnings.append(note)
    origin = slices[0].position
    if tilt:
        volume = untilt(volume, tilt)
        x0, y0 = tilt.corner
        origin = origin + x0 * col_spacing * row + y0 * row_spacing * col
        warnings.append(tilt.describe())

    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((col_spacing, row_spacing, dz))
    image.SetOrigin(tuple(float(v) for v in origin))
    image.SetDirection(tuple(np.column_stack([row, col, normal]).ravel().tolist()))
    for message in warnings:
        log.warning("%s: %s", entry.describe(), message)
    info = SeriesInfo(
        series_uid=entry.series_uid,
        study_uid=entry.study_uid,
        frame_of_reference_uid=entry.frame_of_reference_uid,
        modality=entry.modality,
        description=entry.description,
        sop_instance_uids=tuple(s.sop_uid for s in slices),
        slice_positions=tuple(float(p) for p in positions),
        files=tuple(name_of(s) for s in slices),
        warnings=warnings,
        tilt_shifts=tuple(map(tuple, tilt.shifts.tolist())) if tilt else (),
        stack=entry.stack,
        sequence=header_sequence(entry.headers[0]) if entry.modality == "MR" else None,
        number=entry.number,
        thickness=entry.thickness,
        kept_padding=(min(k[0] for k in kept), max(k[1] for k in kept)) if kept else None,
    )
    return image, info
