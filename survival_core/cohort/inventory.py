"""Header-only inventory of an archive or PACS download: which patients, image series and
structure sets it holds.

A download is a folder tree of any nesting (patient/study/series folders, one flat folder, .zip
archives anywhere inside, zips inside them too). Every file is read up to its pixel data and
only for the attributes listed in :data:`HEADER_TAGS` (``stop_before_pixels`` and
``specific_tags``), over a pool of worker processes: RTSTRUCT contours (ROIContourSequence) and
pixels are never read, so a thousand patients' headers take seconds, not the minutes rasterising
them would.

Files are grouped into patients by who their headers say the patient is, as de-identification
names the patient (:func:`~survival_core.io.deid.patient_identity`: the PatientID, so the same
patient in two folders is one patient; else, for a PatientID that names no one such as
'ANONYMOUS', the study); files without a DICOM header (NIfTI and other volumes) and DICOM files
naming no patient at all are grouped by the top-level folder (or archive) they came from, but the
volume files of public datasets' layouts (``imagesTr/`` + ``labelsTr/``, ``<case>__CT.nii.gz``,
``<case>_label.nrrd``: :mod:`~survival_core.io.dataset_layout`), grouped by case. A structure
set filed under a PatientID that has no image series (exported from a planning system, or
de-identified apart from its images) joins the one patient whose series it references (by series,
else by frame of reference, UIDs no two scans share), with a note. Each
patient's DICOM files become a :class:`~survival_core.io.dicom_series.DicomInventory`, so series
choice and structure-set references work exactly as when one case is loaded.

Structure names are read twice: as the header has them (the planning system's, which a ROI map
names) and as the de-identified file will (the patient's identifiers cut out,
:func:`~survival_core.io.deid.structure_names`), which the case is read with.

The inventory holds original patient IDs and names in memory, to compute pseudonyms and to scrub
them from messages; nothing here writes them anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import pydicom
from pydicom import uid
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from survival_core.errors import ArchiveError, ArchiveTooLarge, InputError, RadSurvError
from survival_core.io.archive import DOCUMENT_SUFFIXES, extract_nested, looks_like_zip
from survival_core.io.dataset_layout import (
    ROLE_FOLDERS,
    DatasetFile,
    dataset_cases,
    short_case_names,
)
from survival_core.io.deid import IDENTITY_KEYWORDS, patient_identity, structure_names
from survival_core.io.dicom_series import (
    DicomInventory,
    References,
    RTStructEntry,
    SegEntry,
    SeriesEntry,
    copies_among,
    drawn_on,
    is_image_slice,
    is_rtstruct,
    is_seg,
    rtstruct_references,
    seg_references,
    segment_names,
)
from survival_core.io.dicom_stacks import header_values
from survival_core.io.filetype import files_below, is_bare_dicom, is_os_clutter
from survival_core.io.mr_sequence import sidecar_path
from survival_core.io.volume import is_volume_file
from survival_core.paths import data_subdir
from survival_core.workers import worker_pool

#: The attributes read from each file: identity, series, geometry summary and, for structure
#: sets, their references and ROI/segment names (never the contours); and all that
#: de-identification reads to name the patient and cut its identifiers out of structure names.
HEADER_TAGS = tuple(
    dict.fromkeys(
        (
            "SOPClassUID",
            "SOPInstanceUID",
            "Modality",
            "PatientID",
            "PatientName",
            "PatientIdentityRemoved",
            "StudyInstanceUID",
            "StudyDate",
            "SeriesInstanceUID",
            "FrameOfReferenceUID",
            "SeriesDescription",
            "SeriesNumber",
            "SliceThickness",
            "ConvolutionKernel",
            "ImageType",
            "CorrectedImage",
            "Rows",
            "Columns",
            "NumberOfFrames",
            "StructureSetROISequence",
            "ReferencedFrameOfReferenceSequence",
            "ReferencedSeriesSequence",
            "StudiesContainingOtherReferencedInstancesSequence",
            "SegmentSequence",
            *IDENTITY_KEYWORDS,
        )
    )
)
#: Image storage SOP classes -> their modality (what an RTSTRUCT's contour images are).
_IMAGE_CLASSES = {
    uid.CTImageStorage: "CT",
    uid.EnhancedCTImageStorage: "CT",
    uid.MRImageStorage: "MR",
    uid.EnhancedMRImageStorage: "MR",
    uid.PositronEmissionTomographyImageStorage: "PT",
    uid.EnhancedPETImageStorage: "PT",
}
#: Fewer files than this are read in this process: starting workers would cost more.
MIN_FILES_FOR_POOL = 200
#: File and folder names that are never patient data.
_SKIP_NAMES = frozenset({"DICOMDIR"})
#: Kinds of :class:`FileRecord`.
KINDS = ("image", "rtstruct", "seg", "other", "volume", "not_dicom", "damaged", "archive")


@dataclass(frozen=True)
class FileRecord:
    """One file as its header describes it, or why it could not be read."""

    path: str
    #: How to name the file in messages: its path below the download ('archive.zip:member').
    shown: str
    #: The top-level folder (or archive) of the download it came from; "" for a loose file.
    group: str
    kind: str
    patient_id: str = ""
    patient_name: str = ""
    #: Who the patient is (:func:`~survival_core.io.deid.patient_identity`): the PatientID, else
    #: a UID of the study; what DICOM files are grouped by, as their pseudonym derives from it.
    identity: str = ""
    identity_removed: bool = False
    modality: str = ""
    sop_class_uid: str = ""
    sop_uid: str = ""
    study_uid: str = ""
    #: StudyDate as written (YYYYMMDD): which of a patient's studies is the earlier. Never
    #: written anywhere: the de-identified case holds none.
    study_date: str = ""
    series_uid: str = ""
    frame_uid: str = ""
    description: str = ""
    #: SeriesNumber, SliceThickness and ConvolutionKernel as written: what names a series in
    #: messages once de-identification removed its description (the loader's words).
    series_number: tuple[str, ...] = ()
    thickness: tuple[str, ...] = ()
    kernel: tuple[str, ...] = ()
    rows: int = 0
    columns: int = 0
    frames: int = 1
    localizer: bool = False
    #: ImageType and CorrectedImage: which of a study's PETs is attenuation-corrected, a MIP.
    image_type: tuple[str, ...] = ()
    corrected_image: tuple[str, ...] = ()
    references: References = field(default_factory=References)
    #: A structure set's ROI or segment names as its de-identified copy has them (the case is
    #: read with these), and as its header has them (what a ROI map names; never written).
    roi_names: tuple[str, ...] = ()
    original_names: tuple[str, ...] = ()
    #: An RTSTRUCT's: the modalities of the images its contours name (by SOP class), which tell
    #: the series it was drawn on where a shared frame of reference links it to several.
    contour_modalities: tuple[str, ...] = ()
    error: str = ""
    #: SHA-256 of the file's bytes (only when the inventory was asked to hash).
    sha256: str = ""
    #: The name a volume file of a dataset layout takes in its case's folder ('CT.nii.gz',
    #: :mod:`~survival_core.io.dataset_layout`); "" keeps its own.
    case_name: str = ""


@dataclass
class PatientInventory:
    """The files of one patient: DICOM (as series and structure sets) and volume files."""

    #: Who the patient is (:attr:`FileRecord.identity`: the PatientID, else a UID of the study),
    #: or the top-level folder name for files naming no one (original: keep in memory).
    patient_id: str
    #: Whether the headers say the data are already de-identified (PatientIdentityRemoved=YES).
    identity_removed: bool
    #: Original names, IDs and folder names: what must never be written.
    identifiers: frozenset[str]
    records: list[FileRecord]
    dicom: DicomInventory | None
    volumes: list[FileRecord]
    #: What the grouping did that the user should know (a structure set joined from elsewhere).
    notes: list[str] = field(default_factory=list)

    @property
    def by_folder(self) -> bool:
        """Whether the patient was grouped by folder (no header names the patient)."""
        return not any(r.identity for r in self.records)


@dataclass
class TreeInventory:
    """What :func:`inventory_tree` found. Archives are extracted to temporary folders that live
    until :meth:`close` (or the end of a ``with`` block)."""

    root: Path
    patients: dict[str, PatientInventory]
    #: Files that are no patient's data: '<file>: why' (non-DICOM, damaged, loose at the top).
    skipped: list[str]
    n_files: int
    seconds: float
    #: The archives that could not be opened (kind ``archive``; also in ``skipped``): their
    #: patients' files were not read, which the import reports.
    unopened: list[FileRecord] = field(default_factory=list)
    workdirs: list[tempfile.TemporaryDirectory] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Remove the folders archives were extracted to."""
        for workdir in self.workdirs:
            workdir.cleanup()
        self.workdirs.clear()

    def __enter__(self) -> TreeInventory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _visible(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return not is_os_clutter(parts) and not _SKIP_NAMES & set(parts)


def _files(
    root: Path, workdirs: list[tempfile.TemporaryDirectory]
) -> tuple[list[tuple[str, str, str]], list[FileRecord]]:
    """(path, shown name, group) of every file below ``root``, archives extracted (zips inside
    them too: :func:`~survival_core.io.archive.extract_nested`) and their members listed
    instead; and a record (kind ``archive``) of each archive that could not be opened (damaged,
    refused), reported rather than stopping the whole import."""
    found: list[tuple[str, str, str]] = []
    unopened: list[FileRecord] = []
    for path in sorted(p for p in files_below(root) if p.is_file() and _visible(p, root)):
        relative = path.relative_to(root)
        shown = relative.as_posix()
        group = relative.parts[0] if len(relative.parts) > 1 else ""
        if not _archive(path) or path.suffix.lower() in DOCUMENT_SUFFIXES:
            found.append((str(path), shown, group))  # an Office document is a zip, no archive
            continue
        if len(relative.parts) == 1:
            group = path.stem
        workdir = tempfile.TemporaryDirectory(prefix="radsurv-import-", dir=data_subdir("tmp"))
        workdirs.append(workdir)
        extracted = Path(workdir.name).resolve()
        try:
            members, inner = extract_nested(path, extracted)
        except ArchiveError as err:
            why = _unopened(type(err)(str(err).replace(str(path), "it")))
            unopened.append(FileRecord(str(path), shown, group, "archive", error=why))
            continue
        for member in sorted(m for m in members if _visible(m, extracted)):
            inside = PurePosixPath(member.relative_to(extracted).as_posix())
            found.append((str(member), f"{shown}:{inside}", group))
        unopened += [
            FileRecord(str(path), f"{shown}:{name}", group, "archive", error=_unopened(err))
            for name, err in inner
        ]
    return found, unopened


def _archive(path: Path) -> bool:
    """Whether ``path`` is a zip; a file that cannot be read is not (its header read then says
    why, for its patient alone: one slice without read permission stopped the whole import)."""
    try:
        return looks_like_zip(path)
    except OSError:
        return False


def _unopened(error: ArchiveError) -> str:
    """What to say of an archive that could not be opened, as the extraction's ``error`` said
    it, and what to do: one refused for its size is not damaged, and downloading it again
    would not help."""
    why = str(error).rstrip(".")
    if isinstance(error, ArchiveTooLarge):
        return (
            f"an archive refused for its size, not opened ({why}): unpack it into the download "
            "folder, or download it in parts"
        )
    return (
        f"a damaged or refused archive, not opened ({why}): download it again, or unpack it "
        "into the download folder"
    )


def _text(ds: Dataset, keyword: str) -> str:
    return str(ds.get(keyword, "") or "").strip()


def _parse(source: io.BufferedIOBase) -> Dataset | None:
    """The header of an open file (with or without preamble), or ``None`` when it is not DICOM."""
    head = source.read(8)
    source.seek(0)
    try:
        return pydicom.dcmread(source, stop_before_pixels=True, specific_tags=list(HEADER_TAGS))
    except InvalidDicomError:
        if not is_bare_dicom(head):
            return None
    source.seek(0)
    ds = pydicom.dcmread(
        source, stop_before_pixels=True, specific_tags=list(HEADER_TAGS), force=True
    )
    return ds if "SOPClassUID" in ds else None


def read_record(task: tuple[str, str, str, bool]) -> FileRecord:
    """The :class:`FileRecord` of one file; ``task`` is (path, shown, group, hash the bytes).

    Without hashing only the header is read from disk; with it the file is read once, whole."""
    path, shown, group, hash_bytes = task
    base = {"path": path, "shown": shown, "group": group}
    digest = ""
    try:
        with open(path, "rb") as handle:
            if hash_bytes:
                content = handle.read()
                digest = hashlib.sha256(content).hexdigest()
                ds = _parse(io.BytesIO(content))
            else:
                ds = _parse(handle)
    except OSError as err:
        return FileRecord(**base, kind="damaged", error=f"cannot be read ({err.strerror})")
    except Exception as err:  # pydicom raises many types on damaged headers
        return FileRecord(**base, kind="damaged", error=f"damaged DICOM header ({err})")
    try:
        if ds is None:
            kind = "volume" if is_volume_file(path) else "not_dicom"
            return FileRecord(**base, kind=kind, sha256=digest)
        return _describe(ds, base, digest)
    except Exception as err:  # pydicom raises many types on damaged headers
        return FileRecord(**base, kind="damaged", error=f"damaged DICOM header ({err})")


def _describe(ds: Dataset, base: dict[str, str], digest: str) -> FileRecord:
    """A parsed header as a record: its kind, identity, series and references."""
    modality = _text(ds, "Modality").upper()
    common = {
        **base,
        "sha256": digest,
        "patient_id": _text(ds, "PatientID"),
        "patient_name": _text(ds, "PatientName"),
        "identity": patient_identity(ds),
        "identity_removed": _text(ds, "PatientIdentityRemoved").upper() == "YES",
        "modality": modality,
        "sop_class_uid": _text(ds, "SOPClassUID"),
        "sop_uid": _text(ds, "SOPInstanceUID"),
        "study_uid": _text(ds, "StudyInstanceUID"),
        "study_date": _text(ds, "StudyDate"),
        "series_uid": _text(ds, "SeriesInstanceUID"),
    }
    if is_rtstruct(ds):
        originals = tuple(_text(r, "ROIName") for r in ds.get("StructureSetROISequence", []))
        names = structure_names(ds)
        return FileRecord(
            **common,
            kind="rtstruct",
            references=rtstruct_references(ds),
            roi_names=tuple(names(name) for name in originals),
            original_names=originals,
            contour_modalities=_contour_modalities(ds),
        )
    if is_seg(ds):
        originals = tuple(segment_names(ds).values())
        _cut_segment_texts(ds, structure_names(ds))
        return FileRecord(
            **common,
            kind="seg",
            references=seg_references(ds),
            roi_names=tuple(segment_names(ds).values()),
            original_names=originals,
        )
    if not is_image_slice(ds, modality):
        return FileRecord(**common, kind="other")
    values = header_values(ds, "ImageType")
    return FileRecord(
        **common,
        kind="image",
        frame_uid=_text(ds, "FrameOfReferenceUID"),
        description=_text(ds, "SeriesDescription"),
        series_number=_as_written(ds, "SeriesNumber"),
        thickness=_as_written(ds, "SliceThickness"),
        kernel=_as_written(ds, "ConvolutionKernel"),
        rows=int(ds.Rows or 0),
        columns=int(ds.Columns or 0),
        frames=int(ds.get("NumberOfFrames") or 1),
        localizer="LOCALIZER" in values,
        image_type=values,
        corrected_image=header_values(ds, "CorrectedImage"),
    )


def _as_written(ds: Dataset, keyword: str) -> tuple[str, ...]:
    """An attribute that only names a series in messages, its values as written ('B30f'); none
    when absent or malformed, which never fails the file."""
    try:
        value = ds.get(keyword)
        listed = value if isinstance(value, MultiValue) else [value]
        return tuple(str(v).strip() for v in listed if v is not None and str(v).strip())
    except (ValueError, TypeError, OverflowError):
        return ()


def _cut_segment_texts(ds: Dataset, names: Callable[[str], str]) -> None:
    """Cut the patient's identifiers out of a SEG header's segment labels and descriptions, in
    place (the header is never written), as de-identification does: a segment's name falls back
    from its label to its description to its number, so both are cut before it is chosen."""
    for item in ds.get("SegmentSequence", []):
        for keyword in ("SegmentLabel", "SegmentDescription"):
            if item.get(keyword):
                setattr(item, keyword, names(str(item.get(keyword))))


def _contour_modalities(ds: Dataset) -> tuple[str, ...]:
    """The modalities of the images an RTSTRUCT's referenced series list (their SOP classes;
    the contours themselves are not read), sorted."""
    classes = {
        str(image.get("ReferencedSOPClassUID", ""))
        for frame in ds.get("ReferencedFrameOfReferenceSequence", [])
        for study in frame.get("RTReferencedStudySequence", [])
        for series in study.get("RTReferencedSeriesSequence", [])
        for image in series.get("ContourImageSequence", [])
    }
    return tuple(sorted({_IMAGE_CLASSES[c] for c in classes if c in _IMAGE_CLASSES}))


def _stub_header(record: FileRecord) -> Dataset:
    """The few attributes :class:`SeriesEntry` and its users read from a slice header (its
    number, thickness and kernel too: an import named two phases of one size alike; its SOP
    class, the kind of image a structure set's slices name:
    :func:`~survival_core.io.dicom_series.drawn_on_kind`)."""
    ds = Dataset()
    ds.SOPInstanceUID = record.sop_uid
    if record.sop_class_uid:
        ds.SOPClassUID = record.sop_class_uid
    for keyword, values in (
        ("SeriesNumber", record.series_number),
        ("SliceThickness", record.thickness),
        ("ConvolutionKernel", record.kernel),
    ):
        with contextlib.suppress(ValueError):  # malformed: the series is named without it
            if values:
                setattr(ds, keyword, values[0] if len(values) == 1 else list(values))
    ds.Rows, ds.Columns, ds.NumberOfFrames = record.rows, record.columns, record.frames
    ds.ImageType = list(record.image_type) or ["ORIGINAL"]
    if record.corrected_image:
        ds.CorrectedImage = list(record.corrected_image)
    return ds


def dicom_inventory(records: list[FileRecord], source: Path) -> DicomInventory:
    """The DICOM records of one patient as a :class:`DicomInventory` (headers as stubs)."""
    inventory = DicomInventory(source=source, root=source)
    by_series: dict[str, SeriesEntry] = {}
    for record in records:
        path = Path(record.path)
        if record.kind == "rtstruct":
            inventory.rtstructs.append(
                RTStructEntry(path, record.sop_uid, record.references, record.roi_names)
            )
        elif record.kind == "seg":
            inventory.segs.append(
                SegEntry(path, record.sop_uid, record.references, record.roi_names)
            )
        elif record.kind == "image":
            entry = by_series.get(record.series_uid)
            if entry is None:
                entry = by_series[record.series_uid] = SeriesEntry(
                    series_uid=record.series_uid,
                    modality=record.modality,
                    description=record.description,
                    study_uid=record.study_uid,
                    frame_of_reference_uid=record.frame_uid,
                )
            entry.files.append(path)
            entry.headers.append(_stub_header(record))
        else:
            inventory.skipped.append(f"{record.shown}: DICOM {record.modality or 'object'}")
    inventory.series = list(by_series.values())
    return inventory


def _read_all(tasks: list[tuple[str, str, str, bool]], workers: int) -> list[FileRecord]:
    """Records of every file, over ``workers`` processes for large trees (in input order)."""
    if workers <= 1 or len(tasks) < MIN_FILES_FOR_POOL:
        return [read_record(t) for t in tasks]
    chunk = max(1, min(256, len(tasks) // (workers * 8)))
    with worker_pool(workers) as pool:
        return list(pool.map(read_record, tasks, chunksize=chunk))


def _identifiers(records: list[FileRecord]) -> frozenset[str]:
    """Patient IDs, names (and their parts) and folder names of a patient's files."""
    values = {r.group for r in records} | {r.patient_id for r in records}
    # a dataset case's top-level folder too (its group is the case): it may name the patient
    values |= {_top(r.shown) for r in records if r.case_name}
    for record in records:
        name = record.patient_name
        values |= {name, name.replace("^", " ").strip(), *name.split("^")}
    # as stored file names spell them ('DOE JOHN 010203' -> 'DOE_JOHN_010203')
    values |= {_stored(v) for v in values}
    return frozenset(v.strip() for v in values if len(v.strip()) >= 3)


def _stored(text: str) -> str:
    """``text`` as a stored file name spells it (:func:`~survival_core.io.uploads.safe_name`)."""
    from survival_core.io.uploads import safe_name

    try:
        return safe_name(text.strip())
    except InputError:  # nothing usable: nothing to scrub
        return ""


def _top(shown: str) -> str:
    """The top-level folder (or archive) of a file shown as 'folder/...' ('' for a role folder
    or a loose file)."""
    parts = PurePosixPath(shown.split(":")[0]).parts
    return parts[0] if len(parts) > 1 and parts[0].lower() not in ROLE_FOLDERS else ""


def group_patients(
    records: list[FileRecord], root: Path
) -> tuple[dict[str, PatientInventory], list[str]]:
    """Patients (key: :attr:`FileRecord.identity`, the PatientID or else a UID of the study;
    else 'folder:<top-level folder>', or 'folder:<case>' for the volume files of a dataset
    layout, :func:`dataset_volumes`) and the skipped-file notes."""
    groups: dict[str, list[FileRecord]] = defaultdict(list)
    skipped: list[str] = []
    records, outside = dataset_volumes(records)
    skipped += [
        f"{r.shown}: a volume file of no case (no image and mask named alike)" for r in outside
    ]
    # dcm2niix's JSON beside each volume: read with it (the MR weighting), so not said skipped
    sidecars = {sidecar_path(Path(r.path)) for r in records if r.kind == "volume"}
    for record in records:
        dicom = record.kind in ("image", "rtstruct", "seg", "other")
        if dicom and record.identity:
            groups[record.identity].append(record)
        elif (dicom or record.kind == "volume") and record.group:
            groups[f"folder:{record.group}"].append(record)
        elif record.kind == "damaged":
            skipped.append(f"{record.shown}: {record.error}")
        elif record.kind == "volume":
            skipped.append(f"{record.shown}: a volume file outside any patient folder")
        elif dicom:
            skipped.append(
                f"{record.shown}: DICOM file without PatientID or study UID outside any folder"
            )
        elif Path(record.path) not in sidecars:
            skipped.append(f"{record.shown}: not a DICOM or volume file")
    for key, members in groups.items():
        groups[key], copies = _distinct(members)
        skipped += copies
    skipped += _volumes_beside_dicom(groups)
    notes = _join_structure_sets(groups)
    patients = {}
    for key, members in sorted(groups.items()):
        dicom_records = [r for r in members if r.kind != "volume"]
        dicom = dicom_inventory(dicom_records, root) if dicom_records else None
        patients[key] = PatientInventory(
            patient_id=key.removeprefix("folder:"),
            # every file marked: one file's mark (a structure set from a research tool) says
            # nothing of the image series', whose PatientID is then the hospital's
            identity_removed=dicom is not None
            and all(r.identity_removed for r in _case_files(dicom_records, dicom)),
            identifiers=_identifiers(members),
            records=members,
            dicom=dicom,
            volumes=[r for r in members if r.kind == "volume"],
            notes=notes.get(key, []),
        )
    return patients, skipped


def _case_files(records: list[FileRecord], dicom: DicomInventory) -> list[FileRecord]:
    """The DICOM files of a patient that its case can be made of, whose marks decide whether
    its PatientID is kept as the case id: its structure sets and the studies of the series they
    were drawn on; all its files when they were drawn on none. A study no structure set was
    drawn on is never imported: an unmarked follow-up from the PACS beside a marked research
    export turned the patient's kept study code into a pseudonym, a second case of its images."""
    drawn = {s.study_uid for a in dicom.annotations for s in drawn_on(a, dicom.series)}
    if not drawn:
        return records
    sets = {str(a.path) for a in dicom.annotations}
    return [r for r in records if r.path in sets or r.study_uid in drawn]


def _distinct(members: list[FileRecord]) -> tuple[list[FileRecord], list[str]]:
    """A patient's files with copies read once, and the notes naming the copies left out:
    byte-identical files (the same export downloaded twice: its slices doubled the series and
    its two structure sets were blamed), then slices of one SOPInstanceUID and data set written
    otherwise (:func:`~survival_core.io.dicom_series.copies_among`: an export in its own
    transfer syntax; staged under their one UID, one was left out without a word)."""
    first: dict[str, FileRecord] = {}
    kept, copies = [], []
    for record in members:
        original = first.setdefault(record.sha256, record) if record.sha256 else record
        if original is record:
            kept.append(record)
        else:
            copies.append(f"{record.shown}: the same file as {original.shown} (read once)")
    encoded = copies_among([(r.sop_uid if r.kind == "image" else "", Path(r.path)) for r in kept])
    copies += [
        f"{kept[copy].shown}: a copy of {kept[original].shown} (the same SOPInstanceUID and "
        "data set, pixels included, written otherwise; read once)"
        for copy, original in encoded.items()
    ]
    return [r for i, r in enumerate(kept) if i not in encoded], copies


def _volumes_beside_dicom(groups: dict[str, list[FileRecord]]) -> list[str]:
    """Remove the groups of volume files lying in a folder that holds one patient's DICOM (a
    dcm2niix conversion kept beside the series, which
    :func:`~survival_core.io.case_loader.load_case` does not read either); the notes saying so.
    A folder of several patients' DICOM keeps its volumes: they may be other patients."""
    patients: dict[str, set[str]] = defaultdict(set)
    for key, members in groups.items():
        for r in members:
            if r.kind != "volume" and r.group:
                patients[r.group].add(key)
    notes = []
    for key in [k for k, m in groups.items() if all(r.kind == "volume" for r in m)]:
        if len(patients.get(key.removeprefix("folder:"), ())) == 1:
            notes += [
                f"{r.shown}: a volume file beside DICOM images, not read (the DICOM is the case)"
                for r in groups.pop(key)
            ]
    return notes


def dataset_volumes(records: list[FileRecord]) -> tuple[list[FileRecord], list[FileRecord]]:
    """``records`` with the volume files of dataset layouts (Decathlon, nnU-Net, HECKTOR, a
    flat folder of ``<case>_image``/``<case>_label`` pairs: :func:`~survival_core.io.
    dataset_layout.dataset_cases`) grouped by case instead of by top-level folder, and the
    volume files such a layout's folder holds outside every case (test images without labels).
    Loose files and role folders at the top (``imagesTr/``, ``labelsTr/``) form one layout; any
    other top-level folder is a dataset when it holds two cases or more, else one patient's."""
    volumes: dict[str, list[FileRecord]] = defaultdict(list)
    for record in records:
        if record.kind == "volume":
            top = "" if record.group.lower() in ROLE_FOLDERS else record.group
            volumes[top].append(record)
    found: dict[str, DatasetFile] = {}
    outside: list[FileRecord] = []
    for top, members in volumes.items():
        cases = dataset_cases([r.shown for r in members], min_cases=1 if not top else 2)
        found |= cases
        outside += [r for r in members if cases and r.shown not in cases and (top or r.group)]
    names = short_case_names(f.case for f in found.values())  # unique over all folders
    placed = {
        r.shown: replace(r, group=names[found[r.shown].case], case_name=found[r.shown].name)
        for r in records
        if r.shown in found
    }
    gone = {r.shown for r in outside}
    kept = [placed.get(r.shown, r) for r in records if r.shown not in gone]
    return kept, outside


def _join_structure_sets(groups: dict[str, list[FileRecord]]) -> dict[str, list[str]]:
    """Move the files of each group without images whose structure sets all reference one other
    group's image series (series UID, else frame of reference UID) into that group. Returns the
    notes per receiving group (naming the files, never the other PatientID)."""
    series = {key: [r for r in members if r.kind == "image"] for key, members in groups.items()}
    notes: dict[str, list[str]] = defaultdict(list)
    for key in [k for k, m in groups.items() if not any(r.kind in ("image", "volume") for r in m)]:
        sets = [r for r in groups[key] if r.kind in ("rtstruct", "seg")]
        owners = {_owner(record, series) for record in sets}
        if not sets or len(owners) != 1 or None in owners:
            continue
        owner = str(owners.pop())
        groups[owner] += groups.pop(key)
        notes[owner].append(
            f"{', '.join(r.shown for r in sets)}: filed under another PatientID but drawn on "
            "this patient's image series, so taken as this patient's."
        )
    return notes


def _owner(record: FileRecord, series: dict[str, list[FileRecord]]) -> str | None:
    """The one group whose image series the structure set ``record`` references (by series
    UID, else by frame of reference UID), or None."""
    refs = record.references
    for linked in (
        lambda image: image.series_uid in refs.series_uids,
        lambda image: bool(image.frame_uid) and image.frame_uid in refs.frame_of_reference_uids,
    ):
        owners = {k for k, images in series.items() if any(linked(i) for i in images)}
        if owners:
            return owners.pop() if len(owners) == 1 else None
    return None


def inventory_tree(
    root: Path | str, *, workers: int | None = None, hash_files: bool = False
) -> TreeInventory:
    """Inventory every file below ``root`` from its header only, grouped by patient.

    ``workers`` processes read the headers (default: every CPU); ``hash_files`` also takes the
    SHA-256 of every file's bytes (what an import compares to find changed patients). Raises
    :class:`InputError` when ``root`` is not a folder; unreadable files are listed in
    ``skipped``, never fatal.
    """
    started = time.perf_counter()
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"{root} is not a folder: give the folder the images were downloaded to.")
    workdirs: list[tempfile.TemporaryDirectory] = []
    try:
        files, unopened = _files(root, workdirs)
        tasks = [(path, shown, group, hash_files) for path, shown, group in files]
        records = _read_all(tasks, workers or os.cpu_count() or 1)
        patients, skipped = group_patients(records, root)
        skipped += [f"{r.shown}: {r.error}" for r in unopened]
    except (RadSurvError, OSError):
        for workdir in workdirs:
            workdir.cleanup()
        raise
    return TreeInventory(
        root=root,
        patients=patients,
        skipped=skipped,
        n_files=len(files),
        seconds=time.perf_counter() - started,
        workdirs=workdirs,
        unopened=unopened,
    )
