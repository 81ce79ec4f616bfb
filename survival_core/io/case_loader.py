"""Build a :class:`~survival_core.case.Case` from a case folder, a .zip of one, or explicit uploads.

A case folder (or .zip; a single wrapping folder inside is entered) holds either
- DICOM: image series (the one the structure set references by default, else CT preferred) and an
  RTSTRUCT or SEG anywhere below; every structure is rasterised onto the image grid
  (``Case.structures``) and the roles are filled from them by name
  (:mod:`survival_core.io.structures`) unless ``roles`` names them (role -> structure name(s)), or
- volumes: ``image.nii.gz`` (or image.nrrd, ct.*, or the only volume that is not a mask) beside mask
  files named after what they hold (``gtv.nii.gz``, ``liver.nii.gz``, ``lung.nii.gz``...; or
  ``roles``: role -> file name(s)).
Volume files carry no modality: such cases are CT unless ``modality`` says otherwise or the
case's only image is named for its modality (``PT.nii.gz``: PT, as the Case page suggests).
A ``clinical.json`` beside them is validated with :func:`~survival_core.io.clinical_schema.validate_clinical`.

Roles: every GTV-like structure is united into ``gtv``; the ``organ`` is the organ structure(s) of one
site that surround the GTV (an organ contour elsewhere, e.g. the brain as an organ at risk of a
head-and-neck plan, is not taken). ``site`` fixes the site; otherwise the organ's name gives it.
``require`` lists the roles that must be found (by default the GTV alone).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from warnings import catch_warnings, simplefilter

import numpy as np
import SimpleITK as sitk

from survival_core.case import LEGACY_ROLES, ROLES, Case
from survival_core.errors import (
    ClinicalValueError,
    EmptyMaskError,
    GeometryError,
    InputError,
    MaskError,
    PlacementConflict,
    RTStructError,
)
from survival_core.io.archive import extract_zip, is_zip, looks_like_zip
from survival_core.io.clinical import unique_pairs
from survival_core.io.clinical_schema import (
    CohortSchema,
    cached_hcc_schema,
    model_schema,
    refuse_near_misses,
    validate_clinical,
)
from survival_core.io.dataset_layout import (
    IMAGE_WORDS,
    MODALITY_WORDS,
    VolumeName,
    modality_word,
    named_modality,
    named_sequence,
    names_image,
    nnunet_channels,
    several_cases,
)
from survival_core.io.deid import case_pseudonym, patient_identity, uids_remapped
from survival_core.io.dicom_series import (
    DEFAULT_MODALITY_PREFERENCE,
    AnnotationEntry,
    DicomInventory,
    SeriesInfo,
    SeriesSummary,
    companion_series,
    drawn_modalities,
    drawn_on_kind,
    read_dicom,
    read_series,
    scan_dicom,
    series_shown,
    series_summary,
)
from survival_core.io.filetype import files_below, is_os_clutter, sniff_file
from survival_core.io.intensity_scale import fill_missing_values, scale_warnings
from survival_core.io.label_maps import (
    SegmentsUnited,
    label_file,
    label_layers,
    label_reference,
    label_structures,
    labels_beyond_limit,
    present_labels,
    structure_file,
    structure_names,
)
from survival_core.io.manifest import CaseRead, cohort_row
from survival_core.io.modality_view import companion_modality
from survival_core.io.mr_sequence import file_sequence, sidecar_sequence
from survival_core.io.orientation import case_in_lps
from survival_core.io.role_masks import RoleAssignment, assign_roles
from survival_core.io.rtstruct import (
    CLOSED_TYPES,
    RTStruct,
    in_another_frame,
    link_to_series,
    read_rtstruct,
    rtstruct_to_masks,
)
from survival_core.io.structures import (
    IMAGE_FOLDERS,
    MASK_WORDS,
    WHERE_TO_SAY,
    lone_structure,
    map_roles,
    match_role,
    match_structure,
    normalise_roles,
    role_candidates,
    structure_key,
    words,
)
from survival_core.io.volume import (
    MAX_LABELS,
    NAMING_A_LABEL,
    MaskResampled,
    MaskShifted,
    is_volume_file,
    nifti_placement_warning,
    nonzero_box,
    on_mask_slice,
    placement_refusal,
    read_volume,
    volume_stem,
)
from survival_core.paths import data_subdir

CLINICAL_FILE = "clinical.json"
#: Role -> structure names of a case folder, written where names alone do not say (an imported
#: case whose roles came from an ROI map); read when ``roles`` is not given.
ROLES_FILE = "roles.json"


def _visible(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not is_os_clutter([p.name])]


@contextmanager
def _case_root(path: Path) -> Iterator[tuple[Path, str, Callable[[str], str]]]:
    """The folder holding the case (a .zip extracted to a temporary folder), its default name,
    and how a message names its files: 'archive.zip:member' rather than the temporary path,
    which is gone once read (errors raised inside are renamed so too)."""
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if path.is_dir():
        yield _enter_wrapper(path), _folder_name(path), str
        return
    if not is_zip(path):
        if looks_like_zip(path):  # a zip's first bytes, no central directory
            raise InputError(
                f"{path} is a damaged or incomplete .zip archive (a download or copy cut "
                "short?): it cannot be read. Download or copy it again."
            )
        raise InputError(f"{path} is neither a case folder nor a .zip archive of one.")
    with tempfile.TemporaryDirectory(prefix="radsurv-case-", dir=data_subdir("tmp")) as tmp:

        def shown(message: str) -> str:
            return message.replace(f"{tmp}/", f"{path}:").replace(tmp, str(path))

        extract_zip(path, Path(tmp))
        root = _enter_wrapper(Path(tmp))
        try:
            yield root, (root.name if root != Path(tmp) else path.stem), shown
        except InputError as err:
            raise type(err)(shown(str(err))) from err


def _folder_name(folder: Path) -> str:
    """The name of ``folder`` as given or relative ('.', '..', 'case/.'), made absolute without
    following symbolic links (a linked case keeps its link's name): '.' has no name of its own,
    and a case named after it got an empty case id. The working folder is the shell's ``$PWD``
    where that names it (``cd`` into a linked case: the kernel's own path names the target)."""
    here = os.environ.get("PWD", "")
    try:
        shell = bool(here) and not folder.is_absolute() and os.path.samefile(here, os.getcwd())
    except OSError:  # $PWD moved or deleted since the shell set it
        shell = False
    if not shell:
        return Path(os.path.abspath(folder)).name
    return Path(os.path.normpath(os.path.join(here, folder))).name


def _enter_wrapper(folder: Path) -> Path:
    """Step into single wrapping folders (an archive of 'case_001/...')."""
    entries = _visible(folder)
    while len(entries) == 1 and entries[0].is_dir():
        folder = entries[0]
        entries = _visible(folder)
    return folder


def read_json_object(file: Path, error: type[InputError], holds: str) -> dict[str, Any] | None:
    """The JSON object in ``file`` (None when there is no such file); ``error`` names a file that
    is not JSON or holds something other than ``holds``."""
    if not file.is_file():
        return None
    return _json_object(file.read_bytes(), str(file), error, holds)


def _json_object(data: bytes, source: str, error: type[InputError], holds: str) -> dict[str, Any]:
    """The JSON object of ``data`` read from ``source``; ``error`` names data that is not JSON or
    holds something other than ``holds``."""
    try:  # Notepad writes a BOM; a key given twice is refused (JSON keeps the last)
        raw = json.loads(data.decode("utf-8-sig"), object_pairs_hook=unique_pairs)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(f"{source} is not valid JSON ({err}).") from err
    except ClinicalValueError as err:
        raise error(f"{source}: {err}") from None
    if not isinstance(raw, dict):
        raise error(f"{source} must hold one object of {holds}, not a {type(raw).__name__}.")
    return raw


def _check_holds_more_than_values(root: Path) -> None:
    """Refuse a case folder holding its clinical values and nothing else, saying how such a
    patient is scored (it read 'No DICOM files found ... clinical.json: not a DICOM file')."""
    visible = _visible(root)
    if any(p.name == CLINICAL_FILE for p in visible) and all(
        p.is_file() and p.name in (CLINICAL_FILE, ROLES_FILE) for p in visible
    ):
        raise InputError(
            f"The case in {root} holds no image, only {CLINICAL_FILE}: a case needs its CT, MR "
            "or PET (a DICOM series or a volume file). A patient known by clinical values alone "
            "is scored and explained under a model that reads no image with `score --values "
            "FILE` and `explain --values FILE`."
        )


def read_clinical_values(file: Path) -> tuple[dict[str, Any], str]:
    """A patient's clinical values alone (a JSON object, as a case's clinical.json) and the case
    id naming them: their ``case_id``, else the file's name. ``-`` reads standard input; a pipe
    (``/dev/stdin``, a shell's ``<(...)``) is read as a file is (they were 'No such file')."""
    if str(file) == "-":
        data, source = sys.stdin.buffer.read(), "standard input"
    elif file.is_dir():
        raise ClinicalValueError(
            f"{file} is a folder: give the JSON file of the clinical values (a case folder is "
            "scored with --case)."
        )
    else:
        try:
            data, source = file.read_bytes(), str(file)
        except FileNotFoundError:
            raise ClinicalValueError(f"No such file: {file}.") from None
    values = _json_object(data, source, ClinicalValueError, "clinical values")
    named = file.stem if file.is_file() else source
    return values, str(values.get("case_id") or named)


def _read_roles(root: Path) -> dict[str, Any] | None:
    """The case folder's own role mapping (:data:`ROLES_FILE`), or None."""
    return read_json_object(root / ROLES_FILE, InputError, "role: structure names")


def clinical_values(
    raw: Mapping[str, Any] | None,
    schema: CohortSchema | None,
    warnings: list[str],
    source: str = CLINICAL_FILE,
    refused: dict[str, str] | None = None,
    near_misses: bool = False,
) -> dict[str, Any]:
    """The clinical values of ``source`` (clinical.json, or a cohort's row) checked by ``schema``
    (a model's own cohort's), else the HCC one. Keys that are none of its variables are named in
    ``warnings``: a misspelt variable would otherwise be imputed unnoticed; with
    ``near_misses`` (an upload's values), one nearly naming a missing variable is refused
    (:func:`~survival_core.io.clinical_schema.refuse_near_misses`). A value the schema refuses
    raises, or with ``refused`` given is left out and named there (by variable, with
    ``source``) for the reader to correct."""
    if raw is None:
        return {}
    said: dict[str, str] | None = None if refused is None else {}
    gives = f"{source} gives"  # a unit's refusal: 'The clinical CSV gives bilirubin in mg/dL'
    checked = (
        validate_clinical(raw, refused=said, source=gives)
        if schema is None
        else schema.validate(raw, refused=said, source=gives)
    )
    if near_misses:
        refuse_near_misses(schema or cached_hcc_schema(), checked, source, raw)
    if said:
        refused.update({name: f"{source}: {why}" for name, why in said.items()})
    if checked.unknown:  # case_id, time and event are never unknown
        names = list(checked.values) if schema is None else schema.names
        warnings.append(  # the schema's: an image network's says what its cohort recorded
            f"{source}: not variables of the model's training cohort, ignored: "
            f"{', '.join(checked.unknown)} (that cohort's variables: {', '.join(names)})."
        )
    return dict(checked.values)


def _cohort_clinical(
    row: Mapping[str, Any], schema: CohortSchema | None, warnings: list[str]
) -> dict[str, Any]:
    """:func:`clinical_values` of a cohort's row, a value its schema refuses said and the row left
    unread: reading the case's images (its radiomics, a network's input) needs no clinical
    value, and a value edited out of the drafted range failed the case's extraction."""
    try:
        return clinical_values(row, schema, warnings, "the cohort's clinical.csv")
    except ClinicalValueError as err:
        warnings.append(f"The cohort's clinical values of this case were not read: {err}")
        return {}


def _read_clinical_json(root: Path) -> dict[str, Any] | None:
    return read_json_object(root / CLINICAL_FILE, ClinicalValueError, "clinical values")


def _check_roles(
    roles: Mapping[str, str | list[str]] | None, require: tuple[str, ...]
) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """Explicit role -> names and required roles, legacy role names (``liver``) read as today's."""
    explicit = normalise_roles(roles)
    required = tuple(dict.fromkeys(LEGACY_ROLES.get(r, r) for r in require))
    unknown = [r for r in (*explicit, *required) if r not in ROLES]
    if unknown:
        raise InputError(
            f"Unknown role(s) {', '.join(map(repr, unknown))}; the roles are {', '.join(ROLES)}."
        )
    return explicit, required


#: Content kinds a file of a DICOM folder may sniff as (DICOM without its preamble may not tell).
_MAYBE_DICOM = frozenset({"dicom", "unknown"})


def _volumes(root: Path) -> list[Path]:
    """Volume files of a case folder: at its top, else, where no file there may be DICOM, one or
    two folders down (``image/`` and ``mask/`` folders, as archives and the IBSI phantom lay them
    out; a Decathlon case's ``imagesTr/`` and ``labelsTr/`` beside its ``dataset.json``)."""
    top = sorted(p for p in _visible(root) if p.is_file() and is_volume_file(p))
    if top or any(p.is_file() and sniff_file(p).kind in _MAYBE_DICOM for p in _visible(root)):
        return top
    return sorted(  # hidden and OS files below the case folder, not above it (~/.radsurv)
        p
        for pattern in ("*/*", "*/*/*")
        for p in root.glob(pattern)
        if p.is_file() and is_volume_file(p) and not is_os_clutter(p.relative_to(root).parts)
    )


def load_case_read(read: CaseRead) -> Case:
    """A cohort's case as its manifest row reads it (:class:`~.manifest.CaseRead`), its other
    images unread: the networks read one."""
    return load_case(read.folder, companions=False, **read.load_options())


def _volumes_below(root: Path, read: list[Path]) -> list[tuple[str, str]]:
    """A note of the volume files in sub-folders of a case folder whose top holds the case
    (TotalSegmentator's 'segmentations/liver.nii.gz' beside the image and the GTV): they are
    not read, and the organ was missing without a word. Each note comes with its wording
    without the folder's name (:attr:`Case.unnamed_warnings`)."""
    below = Counter(
        p.relative_to(root).parts[0]
        for p in root.glob("*/*")
        if p not in read
        and p.is_file()
        and is_volume_file(p)
        and not is_os_clutter(p.relative_to(root).parts)
    )
    advice = (
        "not read: a case's masks are the volume files beside its image; put the ones it needs "
        "there (e.g. a TotalSegmentator organ's mask)."
    )
    return [
        (
            f"{folder}/ holds {count} volume file(s), {advice}",
            f"A sub-folder of the case holds {count} volume file(s), {advice}",
        )
        for folder, count in sorted(below.items())
    ]


def _named_case(
    root: Path, explicit: dict[str, list[str]], image_name: str | None
) -> list[Path] | None:
    """The volume files that are the case where ``image_name`` and ``roles`` name the image and
    every role (a cohort manifest's row, paths relative to ``root``): the image first, then the
    masks. Other volumes of the folder (another patient's, in a folder of every patient's
    files) are then no structure of the case. None where names leave roles to match;
    :class:`InputError` naming the files that do not exist."""
    if image_name is None or set(explicit) != set(ROLES):
        return None
    names = [image_name, *(n for listed in explicit.values() for n in listed)]
    if not all(is_volume_file(label_file(n)) for n in names):
        return None  # a label map's segment ('GTV' of Segmentation.seg.nrrd): matched by name
    files = [structure_file(root / n) for n in names]
    missing = [str(f) for f in dict.fromkeys(files) if not f.is_file()]
    if missing:
        raise InputError(f"The case's file(s) {', '.join(missing)} do not exist.")
    return list(dict.fromkeys(files))


def _beside_dicom(root: Path, volumes: list[Path]) -> list[tuple[str, str]]:
    """When the case also holds DICOM files, the note that its volumes (a dcm2niix conversion of
    the series) are not read: the DICOM with its structure set is the case; [] without DICOM.
    The note comes with its wording without the files' names (:attr:`Case.unnamed_warnings`).
    Volumes holding masks beside DICOM are refused: which is the case cannot be told."""
    skip = set(volumes)
    dicom = next(
        (
            p
            for p in sorted(files_below(root))
            if p.is_file()
            and p not in skip
            and not is_os_clutter(p.relative_to(root).parts)
            and sniff_file(p).kind == "dicom"
        ),
        None,
    )
    if dicom is None:
        return []
    names = ", ".join(v.relative_to(root).as_posix() for v in volumes)
    if any(is_mask_like(v, root) for v in volumes):
        raise InputError(
            f"{root.name} holds DICOM files ({dicom.relative_to(root).as_posix()}, ...) and "
            f"NIfTI/NRRD volumes with masks ({names}): keep one format per case."
        )
    count = (
        "1 volume file beside the DICOM files is"
        if len(volumes) == 1
        else f"{len(volumes)} volume files beside the DICOM files are"
    )
    return [
        (
            f"The volumes {names} beside the DICOM files are not read (the DICOM series is the "
            "image).",
            f"{count} not read (the DICOM series is the image).",
        )
    ]


def _is_image_like(path: Path, root: Path, modality: str = "CT") -> bool:
    """In an image folder ('imagesTr/liver_7.nii.gz'), or named like the image of ``modality``
    ('image.nii.gz', 'ct.nrrd', HECKTOR's 'CHUM-001__CT.nii.gz':
    :func:`~.dataset_layout.names_image`) and not as a mask ('Patient 7 CT_mask.nii.gz',
    'scan-label.nrrd': :func:`names_mask`; 'CT_liver.nrrd' may be the liver's CT)."""
    folder = path.parent.name.lower() if path.parent != root else ""
    if folder in IMAGE_FOLDERS:
        return True
    image_named = names_image(volume_stem(path), modality) and folder not in MASK_WORDS
    return image_named and not names_mask(path.name)


def names_mask(volume: str) -> bool:
    """Whether a volume's name says it is a mask: a mask word ('mask.nii.gz', 'scan-label.nrrd',
    'lung1_label.nrrd'), or a GTV's name not ending in an image's or a modality's word
    ('gtv.nii.gz', 'p7_CT_gtv.nii.gz'; not 'HCC_001__CT.nii.gz', nor 'Tumor_CT.nii.gz', an
    upload's neutral name of 'Tumor_042_CT.nii.gz'). An organ's name alone does not
    ('CT_liver.nrrd' may be the liver's CT), where :func:`is_mask_like` says mask (of the volumes
    beside an image already told)."""
    stem = volume_stem(volume)
    found = match_structure(stem)
    last = (re.findall(r"[a-z]+", stem.lower()) or [""])[-1]
    gtv_named = found is not None and found.role == "gtv"
    imaged = last in IMAGE_WORDS or last in MODALITY_WORDS
    return bool(set(words(stem)) & MASK_WORDS) or (gtv_named and not imaged)


def is_mask_like(path: Path, root: Path) -> bool:
    """Whether volume ``path`` (below ``root``) is named as a mask: a mask word, in a masks
    folder, or a structure's name that does not end in an image's word ('lung1_image.nrrd',
    'liver7_ct.nii.gz': a case named after its organ, whose image is no lung or liver mask)."""
    folder = path.parent.name.lower() if path.parent != root else ""
    stem = volume_stem(path)
    words = re.findall(r"[a-z]+", stem.lower())
    if set(words) & MASK_WORDS or folder in MASK_WORDS:
        return True
    return match_structure(stem) is not None and not _ends_as_image(stem, words)


def is_image_volume(path: Path, root: Path, volumes: Collection[Path]) -> bool:
    """Whether volume ``path`` (below ``root``, one of a case's ``volumes``) is an image, as its
    place says before its name: in an image folder or named as the image
    (:func:`_is_image_like`), or an nnU-Net channel beside its label map ('lung_001_0000' beside
    'lung_001'), whose organ word names the dataset (MSD's lung, liver), not a mask; else not
    named as a mask (:func:`is_mask_like`)."""
    return (
        _is_image_like(path, root)
        or path in nnunet_channels(volumes)
        or not is_mask_like(path, root)
    )


def _ends_as_image(stem: str, words: list[str]) -> bool:
    """Whether a volume's name ends in an image word ('_image', '_scan'), or in a modality
    after a case ID ('lung1_ct'; not the GTV drawn on the CT, 'gtv_ct')."""
    last = words[-1] if words else ""
    return last in IMAGE_WORDS or (last in MODALITY_WORDS and named_modality(stem) is not None)


def _pick_structure_set(
    inventory: DicomInventory,
    info: SeriesInfo,
    chosen: Path | None,
    named: set[str],
    unnamed: dict[str, str],
    asked: bool,
) -> tuple[Any, list[str]]:
    """The structure set (RTSTRUCT or SEG entry) to read and what a reader should know of the
    others: the one ``chosen`` names (a manifest's ``rtstruct``), else the one holding every
    structure the roles name (``named``: the user chose from it), else the one drawn on this
    series, else on this image by its frame of reference (:func:`_drawn_on_image`: not the MR's
    set sharing the CT's frame of reference). Sets left aside that are drawn on this image are
    named in a warning (a research set beside the planning one was passed over without a word);
    several alike are refused naming each by its label, date and structures. Where no image
    was ``asked`` for (a series or a modality), sets drawn on other images of this frame of
    reference (the real sarcoma CT's and MR's) are refused asking which. A file ``chosen``
    names that is none of several is refused."""
    entries = inventory.annotations
    if not entries:
        raise RTStructError(
            f"No RTSTRUCT or SEG found in {inventory.source}; the masks cannot be made."
        )
    listed = [e for e in entries if chosen is not None and e.path.resolve() == chosen.resolve()]
    if listed:
        return listed[0], []
    if chosen is not None and len(entries) > 1:
        found = ", ".join(inventory.display(e.path) for e in entries)
        raise RTStructError(
            f"{chosen} is not one of the structure sets in {inventory.source} ({found}): "
            "name one of them, or its case folder holds another patient's files."
        )
    holding = [e for e in entries if named <= set(e.roi_names)]
    if named and not holding and len(entries) > 1:
        raise RTStructError(
            f"No one structure set holds all of {', '.join(map(repr, sorted(named)))}: "
            f"{_sets_shown(entries, inventory)}. Choose the structures of one set."
        )
    pool = holding if named and holding else entries
    drawn_here = [e for e in pool if _drawn_on(e, info) == "series"]
    on_image = [(e, _drawn_on_image(e, inventory, info)) for e in pool]  # once per entry
    own = drawn_here or [e for e, on in on_image if on]
    elsewhere = [e for e, on in on_image if not on and _drawn_on(e, info)]
    if own and elsewhere and not asked:
        raise RTStructError(_drawn_on_other_images([*own, *elsewhere], inventory))
    if len(own) > 1:
        raise RTStructError(
            "The case holds several structure sets drawn on this image: "
            f"{_sets_shown(own, inventory)}. Choose the structures of one set (the Case page's "
            "GTV), or keep only that one."
        )
    if not own and len(pool) > 1:
        raise RTStructError(
            f"The case holds several structure sets, none drawn on this image: "
            f"{_sets_shown(pool, inventory)}. Keep only the one to use."
        )
    entry = (own or pool)[0]
    aside = [e for e in entries if e is not entry and _drawn_on_image(e, inventory, info)]
    if not aside:
        return entry, []

    def said(files: bool) -> str:
        return (
            f"The case holds {len(aside) + 1} structure sets drawn on this image: used "
            f"{entry.shown()}; left aside {_sets_shown(aside, inventory, files)}. To use another, "
            "choose its structures (roles naming them)."
        )

    return entry, _unnamed([(said(True), said(False))], unnamed)


def _drawn_on_other_images(entries: list[AnnotationEntry], inventory: DicomInventory) -> str:
    """The refusal of structure sets of one frame of reference each drawn on its own image (the
    real sarcoma CT's and T1 MR's, told apart by the kind of image their slices are), none
    chosen: each named with the modality it was drawn on, and how to choose."""
    drawn = [drawn_modalities(e, inventory.series) for e in entries]
    kinds = sorted({m for modalities in drawn for m in modalities})
    shown = "; ".join(
        f"{e.shown()} on the {' or '.join(modalities)}"
        for e, modalities in zip(entries, drawn, strict=True)
    )
    by_modality = f"its modality (--modality {' or '.join(kinds)}), " if len(kinds) > 1 else ""
    return (
        f"The case holds structure sets drawn on different images of one frame of reference: "
        f"{shown}. Say which image to analyse: {by_modality}its series (--series; the Case "
        "page's 'Image series' box), or the structures of one set (roles naming them)."
    )


def _sets_chosen(
    inventory: DicomInventory, chosen: Path | None, named: set[str]
) -> list[AnnotationEntry] | None:
    """The structure sets whose image is to be read: the one ``chosen`` names, else those
    holding every structure the roles name (the MR's GTV: the MR, not the CT beside it); None
    (any) where neither picks one."""
    entries = inventory.annotations
    if chosen is not None:
        picked = [e for e in entries if e.path.resolve() == chosen.resolve()]
    else:
        picked = [e for e in entries if named and named <= set(e.roi_names)]
    return picked or None


def _drawn_on(entry: Any, info: SeriesInfo) -> str | None:
    """How a structure set references the image: 'series' (its series UID), 'frame' (its frame
    of reference only), or None."""
    if info.series_uid in entry.references.series_uids:
        return "series"
    frame = info.frame_of_reference_uid
    return "frame" if frame and frame in entry.references.frame_of_reference_uids else None


def _drawn_on_image(entry: AnnotationEntry, inventory: DicomInventory, info: SeriesInfo) -> bool:
    """Whether a structure set was drawn on the image read, as the series choice tells
    (:func:`~.dicom_series.drawn_on_kind`: by its slices, series, or frame of reference and kind
    of image): the real sarcoma T1 MR's set, sharing the CT's frame of reference, is not the
    CT's."""
    image = (info.series_uid, info.stack)
    return any((s.series_uid, s.stack) == image for s in drawn_on_kind(entry, inventory.series))


def _sets_shown(entries: list[Any], inventory: DicomInventory, files: bool = True) -> str:
    """Structure sets as a user knows them (:meth:`~.dicom_series.AnnotationEntry.shown`), each
    with its file where two read alike (an approved and a draft copy of one set) and ``files``
    (not in a report: a file's name may carry the patient's)."""
    shown = [e.shown() for e in entries]
    return "; ".join(
        f"{text} ({inventory.display(e.path)})" if files and shown.count(text) > 1 else text
        for text, e in zip(shown, entries, strict=True)
    )


def _read_structure_set(path: Path) -> Any:
    """An RTSTRUCT (:class:`RTStruct`) or a SEG file, parsed (which one, by its header)."""
    if str(read_dicom(path, stop_before_pixels=True).get("Modality", "")).upper() == "SEG":
        from survival_core.io.seg import read_seg

        return read_seg(path)
    return read_rtstruct(path)


def _rasterise_all(
    structure_set: Any,
    image: sitk.Image,
    info: SeriesInfo,
    needed: set[str],
    explicit: dict[str, list[str]],
    unnamed: dict[str, str],
) -> tuple[dict[str, sitk.Image], list[str]]:
    """Every structure on the image grid (of a set :func:`link_to_series` linked to it). A
    structure that cannot be made is an error when ``needed`` names it, else left out with a
    warning (it would only have been shown; its reason, which may name its file, is not in
    ``unnamed``'s wording); one never drawn (no closed contour: a planning template's empty
    'GTVn') is left out unless ``explicit`` roles name it."""
    warnings: list[str] = []
    named = {n for listed in explicit.values() for n in listed}
    masks: dict[str, sitk.Image] = {}
    for name in structure_set.roi_names:
        if name not in named and _never_drawn(structure_set, name):
            if isinstance(structure_set, RTStruct):  # a SEG's reading said it
                warnings.append(
                    f"Structure {name!r} has no closed contour (never drawn): left out."
                )
            continue
        if name not in named and (why := _in_another_frame(structure_set, name, info)):
            warnings.append(f"{why}: left out.")  # also a GTV-like one: never united
            continue
        try:
            masks.update(_structure_masks(structure_set, image, info, [name], warnings))
        except (RTStructError, MaskError) as err:
            if name in needed:
                raise
            warnings += _unnamed(
                [
                    (
                        f"Structure {name!r} is not shown: {err}",
                        f"Structure {name!r} is not shown: it could not be drawn on this image.",
                    )
                ],
                unnamed,
            )
    return masks, warnings


def _in_another_frame(structure_set: Any, name: str, info: SeriesInfo) -> str | None:
    """Why an RTSTRUCT's ROI lies in another frame of reference than the image, if it does."""
    return (
        in_another_frame(structure_set, name, info) if isinstance(structure_set, RTStruct) else None
    )


def _never_drawn(structure_set: Any, name: str) -> bool:
    """Whether an RTSTRUCT's ROI holds no closed contour (none, or only points), or a SEG's
    segment no frame (a template's 'GTV_2' beside the GTV drawn: united with it, it failed the
    case)."""
    if not isinstance(structure_set, RTStruct):
        return structure_set.never_drawn(name)
    return not any(t in CLOSED_TYPES for t in structure_set.rois[name].geometric_types)


def _structure_masks(
    structure_set: Any, image: sitk.Image, info: SeriesInfo, names: list[str], notes: list[str]
) -> dict[str, sitk.Image]:
    """The named structures' masks; how they were placed, when it needs saying, goes to ``notes``."""
    if isinstance(structure_set, RTStruct):
        return rtstruct_to_masks(structure_set, image, info, names, notes)
    from survival_core.io.seg import seg_to_masks

    return seg_to_masks(structure_set, image, info, names)


def _needed_names(names: list[str], explicit: dict[str, list[str]], site: str | None) -> set[str]:
    """Structures that may fill a role (the GTV-like ones unless roles name the GTV): failing to
    make them must not pass silently."""
    found = role_candidates(names, site) if "gtv" not in explicit else None
    return {*(found.gtv if found else ()), *(n for listed in explicit.values() for n in listed)}


def _load_dicom(
    root: Path,
    explicit: dict[str, list[str]],
    require: tuple[str, ...],
    site: str | None,
    series_uid: str | None,
    companions: bool,
    chosen: Path | None,
    unnamed: dict[str, str],
    modality: str | None,
) -> tuple[sitk.Image, SeriesInfo, dict[str, sitk.Image], dict[str, sitk.Image], list[str], Any]:
    """Image, series info, structures (of the structure set file ``chosen`` names, where the
    folder holds several), companion images, warnings and the image's first header (whose
    patient names the case: :func:`case_pseudonym`) of a DICOM case. ``modality`` is read first
    among the series the structure sets were drawn on (the MR of a CT and an MR, each with its
    own set), and with it the set drawn on that series.
    The wordings of the warnings naming a file or a UID without them go to ``unnamed``
    (:attr:`Case.unnamed_warnings`)."""
    inventory = scan_dicom(root)
    named = {n for listed in explicit.values() for n in listed}
    first = (modality.upper(),) if modality else ()
    image, info = (
        read_series(inventory, series_uid)
        if series_uid
        else read_series(
            inventory,
            modality_preference=(*first, *DEFAULT_MODALITY_PREFERENCE),
            annotations=_sets_chosen(inventory, chosen, named),
        )
    )
    header = next(s for s in inventory.series if s.series_uid == info.series_uid).headers[0]
    others, read = _dicom_companions(inventory, info) if companions else ({}, [])
    if not explicit and not require and not inventory.annotations:
        notes = [*info.warnings, *read, *_unnamed(_patient_notes(inventory, header), unnamed)]
        return image, info, {}, others, notes, header
    asked = bool(series_uid) or (modality or "").upper() == info.modality
    entry, warnings = _pick_structure_set(inventory, info, chosen, named, unnamed, asked)
    structure_set = _read_structure_set(entry.path)
    linked = link_to_series(
        structure_set.references, info, structure_set.path, _series_names(inventory, header)
    )
    warnings += _unnamed(linked, unnamed)
    needed = _needed_names(structure_set.roi_names, explicit, site)
    structures, rasterised = _rasterise_all(structure_set, image, info, needed, explicit, unnamed)
    warnings += rasterised + _unnamed(_patient_notes(inventory, header, entry), unnamed)
    notes = [*info.warnings, *read, *structure_set.warnings, *warnings]
    return image, info, structures, others, notes, header


def _series_names(inventory: DicomInventory, header: Any) -> dict[str, str] | None:
    """Series UID -> the series as its user knows it ("series 3 'T1' (MR)") where the image's
    ``header`` says de-identification remapped its UIDs (an upload's, a cohort import's): a
    message naming them would name nothing the user can find. None where they are as sent."""
    if not uids_remapped(header):
        return None
    return {
        s.series_uid: series_shown(s.modality, s.number, s.description) for s in inventory.series
    }


def _dicom_companions(
    inventory: DicomInventory, info: SeriesInfo
) -> tuple[dict[str, sitk.Image], list[str]]:
    """The patient's other images by modality (:func:`~.dicom_series.companion_series`: a
    PET/CT scan's PET, in SUV) and what choosing and reading them noted; one that cannot be read
    is left out with a warning, the case still loads."""
    found, notes = companion_series(inventory.series, info.modality, info.frame_of_reference_uid)
    companions = {}
    for modality, entry in found.items():
        beside = f"The {modality} beside the {info.modality}"
        try:
            companions[modality], read = read_series(inventory, entry.key)
        except InputError as err:  # DICOM, SUV or size problems of the other series
            notes.append(f"{beside} is not read: {err}")
            continue
        notes += [f"{beside}: {w}" for w in read.warnings]
    return companions, notes


def _patient_notes(
    inventory: DicomInventory, header: Any, structure_set: AnnotationEntry | None = None
) -> list[tuple[str, str]]:
    """Warnings when one case's upload holds another patient's files (by PatientID, which
    de-identification replaces consistently): the structure set used naming another patient than
    the image (kept: it shares the image's frame of reference), and files not read. Each comes
    with its wording without file names (the structure set's may be the patient's)."""
    patient = str(header.get("PatientID", ""))
    if not patient:
        return []
    series, annotations = inventory.other_patients(patient)
    notes = []
    if structure_set in annotations:
        annotations.remove(structure_set)
        other = (
            "names another patient than the image series (a different PatientID); it was linked "
            "by its frame of reference and geometry: check that both are this patient's."
        )
        notes.append(
            (f"{inventory.display(structure_set.path)} {other}", f"The structure set {other}")
        )
    if series or annotations:
        others = (
            f"The upload also holds another patient's files (a different PatientID): "
            f"{len(series)} image series and {len(annotations)} structure set(s), not read. "
            "Upload one patient per case."
        )
        notes.append((others, others))
    return notes


#: What a case says of a mask file marking no voxel that no role names (TotalSegmentator writes
#: one for each organ outside the scan; a planning template's 'GTV_2' never drawn): left out, as an
#: RTSTRUCT's structure never drawn is, where it failed the whole case.
_EMPTY_LEFT_OUT = (
    "{} marks no voxel (an empty mask: a structure never drawn, or an organ outside the scan): "
    "left out."
)


def _load_volumes(
    root: Path,
    volumes: list[Path],
    explicit: dict[str, list[str]],
    image_name: str | None,
    modality: str,
    companions: bool = True,
    only_named: bool = False,
) -> tuple[sitk.Image, dict[str, sitk.Image], dict[str, sitk.Image], list[str], Path]:
    """The image volume, every other volume as structures on the image grid (named by its path
    in the case folder, a label map's labels as ``path:label`` or by the segment names its header
    gives, :mod:`.label_maps`), the companion images by name (:func:`_volume_companions`: a PET
    beside the CT, a FLAIR beside the T1c), warnings and the image's file: another image volume, which neither a
    role nor a name places, is not read. ``only_named``: the masks ``explicit`` names are the
    only structures (the case's named files, :func:`_named_case`). A mask marking no voxel is
    left out with a warning unless a role names it (:data:`_EMPTY_LEFT_OUT`) or its name makes it
    the case's only GTV ('gtv.nii.gz' empty: refused as empty, not as a case without a GTV)."""
    by_name = {v.relative_to(root).as_posix(): v for v in volumes}
    named_masks = {_mask_file(n, by_name) for listed in explicit.values() for n in listed}
    if image_name is not None and image_name not in by_name:
        raise InputError(f"The image {image_name!r} is not in {root}.")
    rest = [v for name, v in by_name.items() if name not in named_masks]
    named = [v for v in rest if _is_image_like(v, root, modality)]
    plain = [v for v in named if volume_stem(v).lower() == "image"]  # an imported case's
    # beside an imported case's image, the file named for the modality asked ('PT.nii.gz' of a
    # CT case scored with --modality PT: its CT was read as the PET, SUVmax 157)
    asked = [v for v in named if v not in plain and volume_modality(v) == modality] if plain else []
    unmasked = [v for v in rest if not is_mask_like(v, root)]
    # the one the user names is the image, whatever its name reads as ('lung.nrrd')
    if image_name is not None:
        images = [by_name[image_name]]
    else:
        images = asked if plain and len(asked) == 1 else plain or named or unmasked
    if len(images) != 1 and image_name is None:
        images = nnunet_first_channel(rest) or images
    if len(images) != 1:
        refusal = several_cases(list(by_name), f"in {root}")
        if refusal is not None:
            raise refusal
        listing = ", ".join(v.relative_to(root).as_posix() for v in images or rest) or "none"
        raise InputError(
            f"Cannot tell which volume in {root} is the image (candidates: {listing}); "
            f"{_naming_the_image(images or rest)}"
        )
    image, sliced_by = on_mask_slice(
        read_volume(images[0]), images[0], [v for v in volumes if v != images[0]]
    )
    warnings = [w for w in map(nifti_placement_warning, volumes) if w is not None]
    warnings += _single_slice(images[0], image, sliced_by)
    beside = _volume_companions(
        [v for n, v in by_name.items() if v != images[0] and n not in named_masks], root, modality
    )
    structures: dict[str, sitk.Image] = {}
    empty: list[tuple[str, EmptyMaskError]] = []
    listed = [n for names in explicit.values() for n in names]  # a map's labels roles name
    for name, v in by_name.items():
        if v == images[0] or v in beside.values() or (only_named and name not in named_masks):
            continue
        try:
            found = _structures_on(
                image, v, name, modality == "PT", warnings, listed, image_file=images[0]
            )
        except EmptyMaskError as err:
            if name in named_masks:  # a role's structure: refused, never left out
                raise
            empty.append((name, err))
            warnings.append(_EMPTY_LEFT_OUT.format(name))
            continue
        except (GeometryError, MaskError) as err:
            if name in named_masks or is_mask_like(v, root):
                raise _with_placement(err, [images[0], v]) from None
            layers = label_layers(v)  # read once: a label map's error stands, an image is noted
            if present_labels(layers) is not None:
                raise
            labels = labels_beyond_limit(layers)
            warnings.append(
                f"{name} holds an image, not a mask or label map: not read."
                if labels is None
                else f"{name} holds {labels} labels, more than the {MAX_LABELS} a label map is "
                "read with whole: not read (a one-file output of every organ, as "
                f"TotalSegmentator's --ml, which writes each organ's own file without it): "
                f"{NAMING_A_LABEL}."
            )
            continue
        structures.update(found)
        if list(found) != [name] and len(found) == 1:
            # a one-segment Slicer file is named by its segment, a file of one label other than
            # 1 or 255 by it ('label.nii.gz:2'): the roles may name the file, or its own name
            # the GTV ('gtv.nii.gz' in a loose folder)
            if name in named_masks:
                warnings += _renamed_in_roles(explicit, name, next(iter(found)))
            elif not explicit.get("gtv") and match_role(name) == "gtv":
                warnings += _lone_label_as_gtv(name, next(iter(found)))
    if not explicit.get("gtv") and not any(match_role(n) == "gtv" for n in structures):
        # the case's only GTV is empty (a role naming another leaves it out)
        for name, err in empty:
            if match_role(name) == "gtv":
                raise err
    read = {m: read_volume(v) for m, v in beside.items()} if companions else {}
    return image, structures, read, warnings, images[0]  # roles naming none: assign_roles refuses


def _single_slice(file: Path, image: sitk.Image, sliced_by: Path | None) -> list[str]:
    """The warning of a single-slice image (read from ``file``): its slice thickness is the
    file's, or that of ``sliced_by``, the one-slice mask whose slice a 2-D image took
    (:func:`on_mask_slice`), not a scan's."""
    if image.GetSize()[2] != 1:
        return []
    thickness = f"{image.GetSpacing()[2]:g} mm"
    if sliced_by is None:
        whose = f": its slice thickness ({thickness}) comes from the file, not a scan"
    else:
        whose = (
            f" without a thickness or position of its own: it takes those of {sliced_by.name}, "
            f"the one-slice mask drawn on it ({thickness} at z = {image.GetOrigin()[2]:g} mm)"
        )
    return [
        f"{file.name} is a single slice (2D){whose}, so volume and 3D shape features describe "
        "a slab of that thickness."
    ]


def _naming_the_image(candidates: list[Path]) -> str:
    """How to say which of ``candidates`` is a case's image: named 'image.nii.gz', with the
    modality their names give where it is not CT ('t1ce', 'flair': MR), which the name 'image'
    loses (read as CT); a cohort import names it by ``--image``."""
    named = {volume_modality(v) for v in candidates}
    modality = named.pop() if len(named) == 1 else None
    if modality == "CT":
        said = ""
    elif modality is None:
        said = " and say its modality (`--modality CT|MR|PT`): the name 'image' gives none"
    else:
        said = (
            f" and say `--modality {modality}`, as their names do: the name 'image' gives "
            "none, and the case would be read as CT"
        )
    return (
        f"name it image.nii.gz{said}. A cohort import names it by `--image`, its name without "
        "extension."
    )


def nnunet_first_channel(volumes: list[VolumeName]) -> list[VolumeName]:
    """nnU-Net's naming in one patient's folder: 'P003_0000.nii.gz', the image's first channel,
    beside 'P003.nii.gz', its label map; [] unless exactly one such pair is there."""
    found = [v for v, (_, channel) in nnunet_channels(volumes).items() if channel == "0000"]
    return found if len(found) == 1 else []


def _own_companions(
    volumes: list[Path], named: list[Path], root: Path, modality: str | None
) -> list[Path]:
    """The volumes beside a manifest row's named files that are the patient's other images (a PT
    beside the CT): none when an image there is neither named nor a companion, as in a folder of
    every patient's files, where another patient's PET would be taken for this one's."""
    others = [v for v in volumes if v not in named]
    images = [v for v in others if not is_mask_like(v, root)]
    case_modality = (modality or volume_modality(named[0])).upper()
    own = set(_volume_companions(images, root, case_modality).values())
    return [v for v in images if v in own] if set(images) <= own else []


def _volume_companions(volumes: list[Path], root: Path, modality: str) -> dict[str, Path]:
    """The patient's other images: by modality the one volume named for a modality other than
    the case's ('PT.nii.gz', 'CHUM-001__PT.nii.gz' beside the CT), and beside an MR image by
    sequence each other MR sequence ('BraTS20_001_flair.nii.gz' as 'FLAIR'); never one like a
    mask, nor a name two volumes share."""
    by_key: dict[str, list[Path]] = {}
    for v in volumes:
        stem = volume_stem(v)
        other = named_modality(stem)
        key = other if other != modality else named_sequence(stem) if other == "MR" else None
        if key is not None and not is_mask_like(v, root):
            by_key.setdefault(key, []).append(v)
    return {k: found[0] for k, found in by_key.items() if len(found) == 1}


def _with_placement(err: Exception, files: list[Path]) -> Exception:
    """``err`` refusing a mask off its image's grid, with what the ``files``' NIfTI headers say
    of their placement (none, or two that disagree): often why (a mask written without one was
    refused showing origin (0, 0, 0), not why)."""
    if not isinstance(err, GeometryError) or isinstance(err, PlacementConflict):
        return err  # a conflict names the placements itself
    notes = [w for w in map(nifti_placement_warning, files) if w is not None]
    return GeometryError(f"{err}\n{' '.join(notes)}") if notes else err


def _structures_on(
    image: sitk.Image,
    path: Path,
    name: str,
    pet: bool,
    warnings: list[str],
    roles: list[str] | None = None,
    *,
    image_file: Path | None = None,
) -> dict[str, sitk.Image]:
    """The structures of mask volume ``path`` (``name`` in the case) on ``image``'s grid (of a
    map of very many labels, those the ``roles``' structure names name); on a ``pet`` image also
    from another grid (its CT's), resampled. ``warnings`` notes that, a mask placed whole voxels
    off, and segments named alike united; a mask placed mirrored or turned (a crop too), or of
    the image's size whole voxels off, is refused where the other placement of a NIfTI header
    of it or of ``image_file`` (the image's volume file) lines it up
    (:func:`placement_refusal`)."""
    with catch_warnings(record=True) as caught:
        simplefilter("always", MaskResampled)
        simplefilter("always", MaskShifted)
        simplefilter("always", SegmentsUnited)
        structures = label_structures(path, name, image, resample=pet, roles=roles or ())
    refusal = placement_refusal(image_file, path) if image_file else None
    if refusal is not None:
        raise refusal
    noted = (MaskResampled, MaskShifted, SegmentsUnited)
    warnings += [str(w.message) for w in caught if w.category in noted]
    return structures


#: The labels of a label map's structures (an 8-bit map's, 255 its white): a file holding one
#: label above them alone ('0/1000', 16-bit white 65535) is a binary mask written another way.
_MAX_MAP_LABEL = 254


def _renamed_in_roles(explicit: dict[str, list[str]], file: str, structure: str) -> list[str]:
    """Name the lone ``structure`` of mask ``file`` in the ``explicit`` roles that name the file;
    the warning where they name it the GTV (:func:`_lone_label_as_gtv`)."""
    named_whole = file in explicit.get("gtv", [])
    for listed in explicit.values():
        listed[:] = [structure if n == file else n for n in listed]
    return _lone_label_as_gtv(file, structure) if named_whole else []


def _lone_label_as_gtv(file: str, structure: str) -> list[str]:
    """The warning where mask ``file``, named as the GTV whole (by a role or a manifest, or by
    its own name: 'gtv.nii.gz'), holds one ``structure``, a label other than 1 or 255
    ('CHUM-001.nii.gz:2', not 1000 or 65535: :data:`_MAX_MAP_LABEL`): a label map's one
    structure, which may be another than the tumour (HECKTOR's 2: the nodes of a patient without
    a primary), as a loose folder's lone mask says (:func:`_taken_as_gtv`)."""
    reference = label_reference(structure)
    if reference is None or reference[0] != file:
        return []
    label = reference[1][1]
    if label > _MAX_MAP_LABEL:  # 0/1000, 0/65535 (16-bit white): a binary mask's foreground
        return []
    why = f"is the only label of {file}, named as the GTV, and not label 1"
    hecktor = " (in HECKTOR's label maps 2 is the lymph nodes)" if label == 2 else ""
    return [_taken_as_gtv(structure, why + hecktor)]


def _taken_as_gtv(structure: str, why: str) -> str:
    """The warning that ``structure`` is taken as the GTV for ``why`` alone (neither its name
    nor its label says it is the tumour), and where to say which structure is."""
    return (
        f"{structure} {why}: it is taken as the GTV (tumour). If it is not the tumour, say which "
        f"structure is ({WHERE_TO_SAY})."
    )


def _mask_file(name: str, by_name: Mapping[str, Path]) -> str:
    """The volume file of the case a structure name comes from (:func:`.label_maps.label_file`)."""
    file = label_file(name)
    return file if file in by_name else name


def _roles(
    structures: dict[str, sitk.Image],
    explicit: dict[str, list[str]],
    required: tuple[str, ...],
    site: str | None,
    warnings: list[str],
) -> Any:
    """:func:`assign_roles`; its refusal also says what reading the structures noted (a structure
    left out, a file read as an image), which is often why a role has none."""
    try:
        return assign_roles(structures, explicit, required, site)
    except RTStructError as err:
        if not warnings:
            raise
        raise RTStructError(f"{err} While reading the case: {' '.join(warnings)}") from None


def _lone_mask_as_gtv(
    structures: Mapping[str, sitk.Image],
    explicit: dict[str, list[str]],
    site: str | None,
    warnings: list[str],
) -> dict[str, list[str]]:
    """``explicit`` with the GTV of a volume case whose only structure is named as a mask and
    for no role (:func:`~survival_core.io.structures.lone_structure`, an upload's rule:
    pyradiomics' '<case>_label.nrrd', imported as 'label.nrrd'), said in ``warnings``; as it
    was where a role names the GTV or a name says what the mask is ('liver_mask.nii.gz')."""
    names = list(structures)
    found = role_candidates([structure_key(n) for n in names], site)
    lone = lone_structure(names, found)
    if "gtv" in explicit or not lone or found.organs or not names_mask(lone[0]):
        return explicit
    warnings.append(_taken_as_gtv(lone[0], "is the case's only mask, named as no structure"))
    return {**explicit, "gtv": lone}


def volume_modality(image: Path | str | None) -> str:
    """The modality of image volume ``image`` where none is given: the one its name gives
    ('PT.nii.gz', 'CHUM-001__PT.nii.gz': PT; 't1.nii.gz': MR), as the Case page suggests for
    its upload, else CT (volume files record none; None: the image is not known by name)."""
    return (named_modality(volume_stem(image)) if image is not None else None) or "CT"


def _modality_word(image: Path | None, modality: str | None) -> str:
    """The word of image volume ``image``'s name its case's modality is read from where
    ``modality`` says none ('t1ce': MR, :func:`volume_modality`), which a refusal of that
    modality names; '' where said, or where the name gives none (CT by default)."""
    return "" if modality or image is None else modality_word(volume_stem(image)) or ""


def _named_or_only_image(
    root: Path, volumes: list[Path], explicit: dict[str, list[str]], image_name: str | None
) -> Path | None:
    """The image volume of a case folder as its names alone tell it: the one ``image_name``
    names, else the only volume neither a role nor its name makes a mask; None where several
    may be (an image beside its PET companion: the case is CT unless said)."""
    by_name = {v.relative_to(root).as_posix(): v for v in volumes}
    if image_name is not None:
        return by_name.get(image_name)
    masks = {_mask_file(n, by_name) for listed in explicit.values() for n in listed}
    images = [v for n, v in by_name.items() if n not in masks and not is_mask_like(v, root)]
    return images[0] if len(images) == 1 else None


def _volume_sequence(image_file: Path) -> str | None:
    """An MR volume file's weighting: its JSON sidecar's, else its name's."""
    return sidecar_sequence(image_file) or file_sequence(volume_stem(image_file))


#: Share of the image's voxels from which a role's mask fills the image: no tumour, but a
#: probability map thresholded at 0 or a label map whose background took a label (all of lung1's
#: grid was a 20,463 mL GTV); no organ, but a blank mask of ones or a crop whose mask is its box.
#: A tumour or an organ in an image cropped around it reaches its faces, filling far less.
WHOLE_IMAGE_SHARE = 0.99

#: For each role, in the order checked: what marks a part of the image, and what usually makes
#: its mask fill the image and how to mend it.
_WHOLE_IMAGE_CAUSES = {
    "gtv": (
        "a tumour",
        "A probability map thresholded at 0, or a label map whose background was given a label, "
        "is the usual cause: save the GTV with its tumour's voxels alone (0 elsewhere) and load "
        "the case again.",
    ),
    "organ": (
        "an organ",
        "A blank mask of ones, or an image cropped to the organ's box saved with that box as its "
        "mask, is the usual cause: its features, and those of the organ minus the GTV, would be "
        "the scan's. Save the organ's contour (1 inside it, 0 elsewhere), or leave the organ "
        "mask out, and load the case again.",
    ),
}


def _refuse_whole_image(assigned: RoleAssignment) -> None:
    """:class:`MaskError` naming a role's structures (its files) when its mask marks
    :data:`WHOLE_IMAGE_SHARE` of the image's voxels or more: its features would be the scan's
    (an all-ones liver mask made 'liver minus tumour' the whole scan but the tumour, silently)."""
    for role, (part, cause) in _WHOLE_IMAGE_CAUSES.items():
        mask = assigned.masks.get(role)
        if mask is None:
            continue
        inside = sitk.GetArrayViewFromImage(mask)
        count = np.count_nonzero(inside)
        if count < WHOLE_IMAGE_SHARE * inside.size:
            continue
        shown = "GTV" if role == "gtv" else assigned.site or "organ"
        raise MaskError(
            f"The {shown} ({', '.join(assigned.names[role])}) fills the whole image: it marks "
            f"{count:,} of its {inside.size:,} voxels ({count / inside.size:.1%}, "
            f"{count * np.prod(mask.GetSpacing()) / 1000:,.0f} mL), where {part} marks a part. "
            + cause
        )


_AXES = ("x", "y", "z")


def _cut_by_edge(gtv: sitk.Image | None) -> list[str]:
    """A warning when the GTV reaches a face of the image (an axis of one voxel aside: a 2-D
    image's slice): the tumour may go on beyond the scan, and its volume, diameters and shape
    are then of the part scanned (a lung tumour cut by the field of view kept 488 of its 837
    voxels without a word); its intensity and texture features change too, as resampling gives
    the half voxel past the edge the edge's values (lung1 cut just past its tumour: the same
    voxels, yet 90 of 107 features changed, its first-order mean by 29 HU)."""
    inside = None if gtv is None else sitk.GetArrayViewFromImage(gtv)
    if inside is None or not inside.any():
        return []
    faces = []
    for held, size, name in zip(nonzero_box(inside)[::-1], inside.shape[::-1], _AXES, strict=True):
        ends = [("first", held.start == 0), ("last", held.stop == size)]
        faces += [f"{end} {name} plane" for end, touching in ends if touching and size > 1]
    if not faces:
        return []
    return [
        f"The GTV reaches the edge of the image ({', '.join(faces)}): the tumour may go on "
        "beyond the scan, so its volume, diameters and shape features are of the part scanned, "
        "and its intensity and texture features differ from those of a scan going on (on the "
        "features' grid, the half voxel past the edge takes the edge's values, not the tissue "
        "beyond). Check that the scan covers the whole tumour."
    ]


def load_case(
    path: Path | str,
    *,
    case_id: str | None = None,
    roles: Mapping[str, str | list[str]] | None = None,
    require: tuple[str, ...] = ("gtv",),
    site: str | None = None,
    series_uid: str | None = None,
    modality: str | None = None,
    image_name: str | None = None,
    companions: bool = True,
    schema: CohortSchema | None = None,
    structure_set: Path | str | None = None,
    correctable: bool = False,
) -> Case:
    """Load a case folder or .zip (DICOM + RTSTRUCT/SEG, or image and mask volumes, + clinical.json).

    ``roles`` maps role -> structure name(s) (DICOM) or file name(s) (volumes) where automatic
    matching fails; ``require`` lists the roles that must be present; ``site`` names the organ's
    site when known; ``series_uid`` picks one image series of several; ``modality`` marks volume
    files (which carry none; by default what the name of the case's only image says, else CT:
    :func:`volume_modality`) and ``image_name`` which volume file is the image.
    ``companions=False`` leaves the patient's other images unread (:attr:`Case.companions` empty)
    where only the case's own image is used: a cohort's extraction, an image model's volumes.
    ``schema`` checks clinical.json's values: the scoring model's own (its cohort's variables),
    else the demo's HCC variables. ``structure_set`` names the RTSTRUCT or SEG file of a DICOM
    case to read where its folder holds several (a manifest's ``rtstruct``). ``correctable``: a
    clinical.json value the schema refuses is left out and named in
    :attr:`Case.clinical_refused` instead of failing the read (the app's reader corrects it in
    its form; reading the images needs no clinical value).
    A case folder of a cohort (``<cohort>/cases/<case id>``, its manifest listing it) without
    clinical.json takes its values from the cohort's clinical.csv (checked by the cohort's
    schema unless ``schema`` is given; a row it refuses is said in the warnings and left
    unread, never failing the case) and, without ``site``, the manifest's site.
    ``case_id`` defaults, for DICOM, to the case pseudonym
    (:func:`~survival_core.io.deid.case_pseudonym`: never clinical.json's case_id, the folder
    name or PatientID, which may identify the patient; a clinical.json naming another patient
    is refused, :func:`_check_clinical_patient`), else to clinical.json's case_id, else the
    folder (or archive) name.
    """
    path = Path(path)
    with _case_root(path) as (root, default_id, shown):
        explicit, required = _check_roles(
            roles if roles is not None else _read_roles(root), require
        )
        raw = _read_clinical_json(root)
        read_cohort = raw is None or site is None or modality is None
        cohort = cohort_row(path) if path.is_dir() and read_cohort else None
        row = None  # an imported cohort's case: its values, site and modality are the cohort's
        if cohort is not None:
            site, modality = site or cohort.site, modality or cohort.modality
            if raw is None:
                row, schema = cohort.clinical, schema or model_schema(cohort.cohort)
        named = _named_case(root, explicit, image_name)
        volumes = _volumes(root)
        if named is not None:  # the case is its named files, and the patient's other images
            volumes = [*named, *_own_companions(volumes, named, root, modality)]
        beside_dicom = _beside_dicom(root, volumes) if volumes and named is None else []
        unnamed: dict[str, str] = {}  # warnings naming files -> their wording without the names
        if volumes and not beside_dicom:
            named_image = _named_or_only_image(root, volumes, explicit, image_name)
            case_modality = (modality or volume_modality(named_image)).upper()
            named_by = _modality_word(named_image, modality)
            image, structures, others, warnings, image_file = _load_volumes(
                root, volumes, explicit, image_name, case_modality, companions, named is not None
            )
            sequence = _volume_sequence(image_file) if case_modality == "MR" else None
            series, kept_padding = "", None
            default_id = _clinical_case_id(raw) or default_id  # volumes carry no PatientID
            if named is None:
                warnings += _unnamed(_volumes_below(root, volumes), unnamed)
            explicit = _lone_mask_as_gtv(structures, explicit, site, warnings)
            if not structures and required:
                noted = f" While reading the case: {' '.join(warnings)}" if warnings else ""
                raise MaskError(
                    f"The case in {root} holds an image but no mask: give the "
                    f"{' and '.join(required)} as mask files beside it (e.g. gtv.nii.gz), or a "
                    f"label map and which of its labels is which.{noted}"
                )
        else:
            _check_holds_more_than_values(root)
            image, info, structures, others, warnings, header = _load_dicom(
                root,
                explicit,
                required,
                site,
                series_uid,
                companions,
                None if structure_set is None else Path(structure_set),
                unnamed,
                modality,
            )
            warnings += _unnamed(beside_dicom, unnamed)
            case_modality, sequence, series = info.modality, info.sequence, info.label
            named_by, kept_padding = "", info.kept_padding
            default_id = case_pseudonym(header)
            _check_clinical_patient(raw, header, default_id)
        assigned = _roles(structures, explicit, required, site, warnings)
        _refuse_whole_image(assigned)
        refused: dict[str, str] | None = {} if correctable else None
        clinical = (
            clinical_values(raw, schema, warnings, refused=refused)
            if row is None
            else _cohort_clinical(row, schema, warnings)
        )
    if case_id is None:
        case_id = default_id
    image, masks, filled = fill_missing_values(image, assigned.masks)
    for name, other in others.items():  # its structures lie on the case's image: none checked
        others[name], _, notes = fill_missing_values(other, {}, f"{name} image")
        filled += notes
    case = Case(
        case_id=case_id,
        image=image,
        masks=masks,
        clinical=clinical,
        modality=case_modality,
        source=str(path),
        warnings=[
            shown(w)
            for w in [
                *warnings,
                *filled,
                *scale_warnings(image, case_modality, kept_padding),
                *_cut_by_edge(masks.get("gtv")),
                *(w for m, v in others.items() for w in scale_warnings(v, companion_modality(m))),
                *assigned.warnings,
            ]
        ],
        site=assigned.site,
        structures=structures,
        companions=others,
        sequence=sequence,
        series=series,
        modality_word=named_by,
        unnamed_warnings={shown(w): without for w, without in unnamed.items()},
        clinical_refused=refused or {},
    )
    return case_in_lps(case)


def _clinical_case_id(raw: Mapping[str, Any] | None) -> str | None:
    """The case id clinical.json gives, None where it gives none."""
    return str(raw["case_id"]) if raw and raw.get("case_id") else None


def _check_clinical_patient(raw: Mapping[str, Any] | None, header: Any, case_id: str) -> None:
    """Refuse a DICOM case's clinical.json whose case_id names another patient than its images:
    neither their PatientID (matched as an upload matches its clinical files: exactly, but for
    spaces around it) nor the case id they give (``case_id``, their pseudonym: an upload's
    clinical.json is stored under it). Its values were scored on these images, the report
    headed with its ID, and only a warning said so. Neither ID is said: both may be a
    hospital's."""
    named = _clinical_case_id(raw)
    if named is None or named == case_id or named.strip() == patient_identity(header):
        return
    raise ClinicalValueError(
        f"The {CLINICAL_FILE} of case {case_id} names another patient than its DICOM images (its "
        "case_id is neither their PatientID nor their case pseudonym): its values would be "
        f"scored as this patient's. Put this patient's {CLINICAL_FILE} beside the images, or "
        "remove its case_id if its values are this patient's."
    )


def _unnamed(notes: list[tuple[str, str]], unnamed: dict[str, str]) -> list[str]:
    """The warnings of ``notes`` (each with its wording without file names), that wording kept
    in ``unnamed``."""
    unnamed.update(notes)
    return [warning for warning, _ in notes]


def describe_structures(path: Path | str) -> tuple[list[str], list[SeriesSummary], list[str]]:
    """What a case offers for role mapping, from one read of its headers: the structure names
    (RTSTRUCT ROI / SEG segment names, or mask file names) and, for DICOM, its image series and
    its structure sets as a user knows them (label, date, names: a load reads one set)."""
    path = Path(path)
    with _case_root(path) as (root, _, _):
        volumes = _volumes(root)
        if volumes and not _beside_dicom(root, volumes):
            names = [
                name
                for v in volumes
                if not _is_image_like(v, root)
                for name in structure_names(v, v.relative_to(root).as_posix())
            ]
            return names, [], []
        inventory = scan_dicom(root)  # its entries name their structures as a load reads them
        names = [n for entry in inventory.annotations for n in entry.drawn_names]
        sets = [entry.shown() for entry in inventory.annotations]
        return list(dict.fromkeys(names)), series_summary(inventory), sets


def list_structures(path: Path | str) -> list[str]:
    """Structure names a case offers for role mapping: RTSTRUCT ROI / SEG segment names, or mask
    file names."""
    return describe_structures(path)[0]


def _role_structures(
    file: Path,
    volume: sitk.Image,
    role: str,
    site: str | None,
    warnings: list[str],
    pet: bool,
    image_file: Path | None,
) -> dict[str, sitk.Image]:
    """The structures of mask volume ``file`` that make ``role``: its only one (a mask), else
    those its segment names give the role (a 3D Slicer segmentation holding the GTV and the
    liver); an unnamed label map is refused listing its labels. On a ``pet`` image, a mask
    drawn on another grid (its CT's) is resampled, noted in ``warnings``; ``image_file``: the
    image's volume file, whose header :func:`_structures_on` checks."""
    named = _structures_on(volume, file, file.name, pet, warnings, image_file=image_file)
    if len(named) == 1:
        return named
    try:
        picked = map_roles(list(named), required=(role,), site=site)[role]
    except RTStructError as err:
        raise MaskError(f"{role} mask {file.name}: {err}") from err
    return {name: named[name] for name in picked}


def load_case_files(
    image: Path | str,
    masks: Mapping[str, Path | str | list[Path | str]],
    clinical: Mapping[str, Any] | None,
    case_id: str,
    *,
    site: str | None = None,
    modality: str | None = None,
) -> Case:
    """Build a case from explicit uploads.

    ``image`` is a volume file, or a DICOM folder, .zip or file. ``masks`` maps role -> one or more
    mask volumes on the image grid (united), or RTSTRUCT/SEG files (DICOM image only) or
    segmentations naming their segments (3D Slicer's, layered ones too) whose structures for that
    role are found by name.
    """
    explicit, _ = _check_roles(
        {r: [str(f) for f in ([v] if isinstance(v, str | Path) else v)] for r, v in masks.items()},
        (),
    )
    image_path = Path(image)
    info: SeriesInfo | None = None
    series = named_by = ""
    image_file = image_path if image_path.is_file() and is_volume_file(image_path) else None
    if image_file is not None:
        files = [Path(f) for listed in explicit.values() for f in listed if is_volume_file(f)]
        volume, sliced_by = on_mask_slice(read_volume(image_file), image_file, files)
        case_modality = (modality or volume_modality(image_path)).upper()
        named_by = _modality_word(image_path, modality)
        sequence = _volume_sequence(image_path) if case_modality == "MR" else None
    else:
        volume, info = read_series(image_path)
        case_modality, sequence, series = info.modality, info.sequence, info.label
    structures: dict[str, sitk.Image] = {}
    chosen: dict[str, list[str]] = {}
    warnings: list[str] = [] if info is None else list(info.warnings)
    if image_file is not None:
        warnings += _single_slice(image_file, volume, sliced_by)
    unnamed: dict[str, str] = {}  # warnings naming files -> their wording without the names
    parsed: dict[Path, Any] = {}
    for role, files in explicit.items():
        for file in map(Path, files):
            if is_volume_file(file):
                pet = case_modality == "PT"
                found = _role_structures(file, volume, role, site, warnings, pet, image_file)
                structures.update(found)
                chosen.setdefault(role, []).extend(found)
                continue
            if info is None:
                raise RTStructError(
                    f"{file}: an RTSTRUCT or SEG can only be used with the DICOM series it was drawn on."
                )
            if file not in parsed:
                parsed[file] = _read_structure_set(file)
                linked = link_to_series(parsed[file].references, info, parsed[file].path)
                warnings += _unnamed(linked, unnamed)
            structure_set = parsed[file]
            found = map_roles(structure_set.roi_names, required=(role,), site=site)[role]
            structures.update(_structure_masks(structure_set, volume, info, found, warnings))
            chosen.setdefault(role, []).extend(found)
    for role, names in chosen.items():  # a label map's labels, united as a folder's load says
        if len(names) > 1:
            warnings.append(f"The {role} is the union of {', '.join(map(repr, names))}.")
    assigned = assign_roles(structures, chosen, ("gtv",) if "gtv" in chosen else (), site)
    _refuse_whole_image(assigned)
    volume, masks, filled = fill_missing_values(volume, assigned.masks)
    case = Case(
        case_id=case_id,
        image=volume,
        masks=masks,
        clinical=clinical_values(clinical, None, warnings),
        modality=case_modality,
        source=str(image_path),
        warnings=[
            *warnings,
            *filled,
            *scale_warnings(volume, case_modality, None if info is None else info.kept_padding),
            *_cut_by_edge(masks.get("gtv")),
            *assigned.warnings,
        ],
        site=assigned.site,
        structures=structures,
        sequence=sequence,
        series=series,
        modality_word=named_by,
        unnamed_warnings=unnamed,
    )
    return case_in_lps(case)
