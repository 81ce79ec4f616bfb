"""Import an archive or PACS download (one folder per patient, any nesting) as a cohort folder.

Per patient (:mod:`survival_core.cohort.inventory` groups the files): the image series is the one
its RTSTRUCT/SEG references (CT before MR when several are; scouts never), the structure set the
one drawn on it (among several, the only one whose names give a GTV); the GTV must be found by
name (``roi_map`` names it where names do not), the organ is optional. The chosen files are
de-identified exactly as a Case-page upload is (:func:`~survival_core.io.uploads.deidentify_upload`:
same pseudonym, UIDs and date shift), loaded once with :func:`~survival_core.io.case_loader.
load_case` to prove the case works (every slice decodes, the GTV rasterises), and only then moved
into ``cases/<pseudonym>/``. Volume inputs (NIfTI...) are cleaned the same way and written as
``image.nii.gz`` + ``gtv.nii.gz`` (+ the organ's mask) like a synthetic cohort's.

Nothing is half-written: a case is built in ``.staging/`` and renamed into place, carrying its own
record (``.import.json``: content hash, manifest row, keyed ID, the cache keys of the case's
earlier versions); ``manifest.csv`` and
``id_map.csv`` are rebuilt from those records at the end. A run killed at any point leaves whole
cases or none, and the next run finishes the job: the result equals an uninterrupted import. A
rerun re-imports only patients whose files (SHA-256 of every byte) or import settings changed,
and rewrites no case or table that did not change.

The original patient ID appears in no file written: case ids are keyed pseudonyms, messages are
scrubbed of IDs, names and folder names, and ``id_map.csv`` maps a keyed hash of the original ID
(:func:`id_key`) to the case id, so a clinical table keyed by the hospital's ID can be joined
(:func:`case_ids_for`) by whoever holds the server's key, and by no one else. A table-only
import made first keyed each row by the pseudonym of its ID; a patient whose PatientID, marked
de-identified, is kept as the case id has its row re-keyed to it, so that the row joins the
images. Study dates and descriptions are never said: two studies of a patient are told apart
by the days between them.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import SimpleITK as sitk
import yaml

from survival_core.cohort.inventory import (
    FileRecord,
    PatientInventory,
    TreeInventory,
    inventory_tree,
)
from survival_core.cohort.withdrawn import (
    WITHDRAWN_FILE,
    withdrawn_cases,
    withdrawn_name_keys,
    withdrawn_note,
)
from survival_core.errors import ConfigError, InputError, RadSurvError
from survival_core.io.atomic import temp_sibling, write_text
from survival_core.io.case_loader import ROLES_FILE, is_image_volume, load_case
from survival_core.io.clinical_schema import DRAFTED_SCHEMA, SCHEMA_FILE
from survival_core.io.dataset_layout import role_file_name, split_name
from survival_core.io.deid import (
    Deidentifier,
    case_id_of,
    load_key,
    text_values,
)
from survival_core.io.dicom_series import (
    DEFAULT_MODALITY_PREFERENCE,
    SAY_WHICH_SERIES,
    SERIES_OPTION,
    AnnotationEntry,
    SeriesEntry,
    companion_series,
    drawn_modalities,
    drawn_on,
    drawn_on_kind,
    in_frame,
    series_naming,
    unclear_kind,
)
from survival_core.io.hashing import file_sha256
from survival_core.io.label_maps import label_reference
from survival_core.io.locks import folder_lock, is_temp_sibling, remove_leftovers
from survival_core.io.manifest import MANIFEST_COLUMNS, PATH_COLUMNS, CaseRead, cases_read_as
from survival_core.io.mr_sequence import sidecar_sequence, write_sidecar
from survival_core.io.outcome_source import OUTCOME_FILE
from survival_core.io.structures import (
    MASK_WORDS,
    STRUCTURE_WORDS,
    VOLUME_MODALITIES,
    WHERE_TO_SAY,
    match_structure,
    normalise_roles,
    role_candidates,
    why_not_the_gtv,
)
from survival_core.io.uploads import deidentify_upload, safe_name
from survival_core.io.volume import volume_stem

#: The cohort's clinical table and what joining it said (written by
#: :mod:`survival_core.cohort.clinical_join`, re-keyed here when images join a table-only cohort).
CLINICAL_FILE = "clinical.csv"
JOIN_REPORT = "clinical_report.csv"

#: Changes when the import would write different cases from the same files.
IMPORT_VERSION = "1"
#: Where an import says which structures fill a role (the loader's words name the Case page and
#: a case folder's roles.json).
_WHERE_TO_SAY_HERE = (
    "in the ROI map (--roi-map FILE, or the Cohort page's ROI map), under 'default:' or the "
    "patient's case id"
)
#: How to choose among a patient's image series in an import, which has no option to name one.
_SAY_WHICH_SERIES_HERE = (
    "keep only the one to analyse in the download (move the other's files out of it) and "
    "import again"
)
STATUSES = ("imported", "failed", "unchanged", "absent", "withdrawn")
REPORT_COLUMNS = ("patient", "status", "reason")
ID_MAP_COLUMNS = ("id_key", "case_id")
#: Manifest columns after :data:`MANIFEST_COLUMNS`: the structure names that fill each role when
#: ``roi_map`` named them (JSON), which a later load of the case must be given.
EXTRA_COLUMNS = ("roles",)
RECORD = ".import.json"
#: The record's keys of the caches' entries computed from the case's earlier versions (by kind:
#: ``features``, ``volumes``): a re-imported case is new files, so new keys, and a withdrawal
#: found only the entries of its files as they are now.
CACHE_KEYS = "earlier_cache_keys"
STAGING = ".staging"
#: The lock an import holds on its cohort folder (:func:`~survival_core.io.locks.folder_lock`).
IMPORT_LOCK = ".import.lock"
ROLE_KEYS = ("gtv", "organ")
#: What an import folder may hold besides its cases (a clinical table joined later included).
_OWN_NAMES = frozenset(
    {
        "cases",
        STAGING,
        IMPORT_LOCK,
        "manifest.csv",
        "import_report.csv",
        "id_map.csv",
        CLINICAL_FILE,
        OUTCOME_FILE,
        SCHEMA_FILE,
        DRAFTED_SCHEMA,
        JOIN_REPORT,
        WITHDRAWN_FILE,
    }
)
#: Files that together mark a folder of a cohort folder as a run's output: ``cv --out``'s, a
#: saved model's (:data:`~survival_core.models.base.MODEL_FILE` and its card).
_RUN_OUTPUTS = (("folds.csv", "oof.csv", "summary.json"), ("model.json", "card.json"))
#: DICOM files de-identified per call (bounds the memory a large series takes).
_DEID_BATCH = 32


@dataclass(frozen=True)
class PatientOutcome:
    """What the import did with one patient (``patient`` is the pseudonym, never the ID)."""

    patient: str
    status: str
    reason: str = ""


@dataclass
class ImportResult:
    """Outcome of :func:`import_images`: one row per patient found, and the totals."""

    out_dir: Path
    outcomes: list[PatientOutcome]
    seconds: float
    n_files: int
    skipped: list[str] = field(default_factory=list)
    #: The cohort's cases per modality (all of them, earlier imports' too).
    modalities: dict[str, int] = field(default_factory=dict)
    #: Rows of the cohort's clinical table re-keyed to their case ids (None: no table).
    rekeyed: int | None = None
    #: The ROI map's patient entries that name no patient (PatientIDs: never written).
    unmatched_roi_entries: list[str] = field(default_factory=list)
    #: Cases of earlier imports replaced by images none of which they held (:data:`_REPLACED`).
    replaced: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Number of patients per status."""
        return {s: sum(o.status == s for o in self.outcomes) for s in STATUSES}

    def summary(self) -> dict[str, Any]:
        """Totals for a report or a JSON line."""
        return {
            "out": str(self.out_dir),
            "patients": len(self.outcomes),
            **self.counts(),
            "files": self.n_files,
            "skipped_files": len(self.skipped),
            "modalities": self.modalities,
            "seconds": round(self.seconds, 2),
            **({"clinical_rows_rekeyed": self.rekeyed} if self.rekeyed is not None else {}),
            **(
                {"roi_map_entries_without_patient": len(self.unmatched_roi_entries)}
                if self.unmatched_roi_entries
                else {}
            ),
            **({"replaced_with_other_images": len(self.replaced)} if self.replaced else {}),
        }

    def mixed_modalities(self) -> str | None:
        """A note when the cohort's cases are of several modalities (PET/CT patients contoured
        on the CT for some, on the PET for others), which one model's features cannot mix."""
        if len(self.modalities) < 2:
            return None
        counts = ", ".join(f"{n} {m}" for m, n in self.modalities.items())
        return (
            f"The cohort's cases are of several modalities ({counts}): its features are "
            "extracted for one, the others refused. Import again with --modality to take one "
            "modality's series of every patient."
        )


@dataclass(frozen=True)
class PatientTask:
    """What a worker needs to import one patient (picklable; holds no original ID)."""

    case_id: str
    id_key: str
    content_hash: str
    out_dir: str
    fmt: str
    files: tuple[str, ...]
    structure_file: str = ""
    #: The image's modality: its DICOM series', the one said of volume files, '' for what the
    #: image's name gives (:func:`~survival_core.io.case_loader.volume_modality`, else CT).
    modality: str = ""
    site: str | None = None
    roles: Mapping[str, list[str]] | None = None
    #: The names ``files`` take in the case folder (volume files; default: their own).
    names: tuple[str, ...] = ()
    #: How the download names ``files`` (:attr:`FileRecord.shown`), which a failure names in
    #: place of their staged copies (gone once it failed).
    shown: tuple[str, ...] = ()
    #: Which of those volumes is the image, by name without extension ("": their names say).
    image: str = ""
    #: DICOM: the patient's other image series beside the image (modality, files), kept in
    #: the case folder for models on several modalities' radiomics (a PET/CT study's PET).
    companions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Original IDs, names and folder names to scrub from messages (never written).
    secrets: tuple[str, ...] = ()
    #: What the inventory noted about this patient's files, reported with the outcome.
    notes: tuple[str, ...] = ()
    #: What tells the patient's images (:func:`image_hashes`), kept in its record so that a
    #: later import tells the same images under another ID.
    images: tuple[str, ...] = ()
    #: Whether the structure set is filed under another PatientID than the images (adopted by
    #: the inventory, drawn on them): it is stored as theirs (:func:`_filed_as`).
    adopted: bool = False
    #: Whether every DICOM file of the patient is marked de-identified, so that their
    #: PatientID (a study code) is kept as the case id; else every file is pseudonymised.
    keep_marked: bool = False
    #: The case an earlier import made of the patient, as the manifest reads it (None: none), and
    #: the cache keys of its versions before (:data:`CACHE_KEYS`), all kept in the new record.
    replaces: CaseRead | None = None
    cached_before: Mapping[str, list[str]] = field(default_factory=dict)
    #: A folder-named patient's folder name keyed (:func:`folder_name_key`; "" for others).
    name_key: str = ""


# --- keys and pseudonyms ------------------------------------------------------------------------


def id_key(original_id: str, key: bytes | None = None) -> str:
    """A keyed hash (HMAC-SHA-256, hex) of an original patient ID: the join key of ``id_map.csv``.

    Only the holder of the server's de-identification key can compute it from an ID."""
    secret = key if key is not None else load_key()
    return hmac.new(secret, b"id-map\0" + original_id.strip().encode(), hashlib.sha256).hexdigest()


def case_id_lookup(cohort: Path | str) -> Callable[[str], str | None]:
    """Original patient ID -> case id of an imported cohort (None where not imported), the ID
    map read once: how a clinical table keyed by the hospital's IDs joins the images."""
    path = Path(cohort) / "id_map.csv"
    if not path.is_file():
        raise InputError(f"{path} not found: {cohort} is not an imported cohort folder.")
    with open(path, encoding="utf-8", newline="") as handle:
        by_key = {row["id_key"]: row["case_id"] for row in csv.DictReader(handle)}
    key = load_key()
    return lambda original: by_key.get(id_key(original, key))


def case_ids_for(cohort: Path | str, original_ids: list[str]) -> dict[str, str | None]:
    """:func:`case_id_lookup` of each of ``original_ids``."""
    lookup = case_id_lookup(cohort)
    return {i: lookup(i) for i in original_ids}


def folder_name_key(patient: PatientInventory, key: bytes) -> str:
    """The keyed hash (:func:`id_key`) of a folder-named patient's own folder's name where the
    import names the patient by the folders above it too (two centres' 'P001':
    'centreA/P001', 'centreB/P001'), kept in its record so that a clinical row keyed 'P001' is
    said to match several patients, not none; "" for other patients."""
    if not patient.by_folder or "/" not in patient.patient_id:
        return ""
    return id_key(patient.patient_id.rsplit("/", 1)[1], key)


def cases_by_folder_name(cohort: Path | str, original_ids: list[str]) -> dict[str, list[str]]:
    """Each of ``original_ids`` that is the folder name of imported patients named by the
    folders above them too (:func:`folder_name_key`), with their case ids, those withdrawn
    since included (their row may be the one): what the ID of a clinical row cannot tell
    apart."""
    in_place = {c: r.get("name_key", "") for c, r in records_in_place(Path(cohort)).items()}
    named: dict[str, list[str]] = {}
    for case_id, name_key in (in_place | withdrawn_name_keys(cohort)).items():
        if name_key:
            named.setdefault(name_key, []).append(case_id)
    if not named:
        return {}
    key = load_key()
    return {i: sorted(named[k]) for i in original_ids if (k := id_key(i, key)) in named}


def patient_case_id(patient: PatientInventory, deid: Deidentifier) -> str:
    """The case id a Case-page upload of the patient's files gets, which their stored copies
    name as their PatientID (:func:`~survival_core.io.deid.case_id_of`: the PatientID of files
    all marked de-identified, else the keyed pseudonym of who the patient is); for volume
    folders the pseudonym of the folder name."""
    marked = patient.identity_removed and not patient.by_folder
    return case_id_of(patient.patient_id, marked, deid)


def scrub(text: str, secrets: tuple[str, ...] | frozenset[str], replacement: str) -> str:
    """``text`` with every original identifier (the longest where several start alike) replaced
    by ``replacement`` where it stands as a token of its own (:func:`_as_tokens`): a file or
    folder name, a word, the whole of a number; never the inside of one, which only garbled the
    text (a name part 'Gan' made 'Gantry' '<id>try'; an MRN inside a UID cut the UID). One pass,
    so a replacement holding a shorter identifier is not replaced again. A name part that is a
    structure's word glued to another ('Ring' of 'GTV_Ring' for a patient RING^ANNA) is the
    structure's name, kept (:func:`_structures_word`)."""
    if not secrets:
        return text
    return _as_tokens(secrets).sub(
        lambda found: found.group() if _structures_word(found) else replacement, text
    )


#: A word glued by '_' or '-' before or after a match: a structure name's other part.
_GLUED_BEFORE, _GLUED_AFTER = re.compile(r"([A-Za-z]+)[_-]$"), re.compile(r"[_-]([A-Za-z]+)")


def _structures_word(found: re.Match[str]) -> bool:
    """Whether a matched name part is a word structure names are read by, glued by '_' or '-' to
    another such word: 'Ring' in 'GTV_Ring' names the structure, not the patient RING^ANNA
    ('Lee_Ann_CT', 'Ring_Anna' hold no structure word beside the name and are removed)."""
    if found.group().lower() not in STRUCTURE_WORDS:
        return False
    before = _GLUED_BEFORE.search(found.string, 0, found.start())
    after = _GLUED_AFTER.match(found.string, found.end())
    return any(g is not None and g.group(1).lower() in _NAMING_WORDS for g in (before, after))


#: Words of a structure's own name (not a file's: 'Ring_label.nrrd', 'Ring_mask' name no
#: structure, and kept a surname).
_NAMING_WORDS = STRUCTURE_WORDS - MASK_WORDS
#: Characters beside a name in a file or folder name ('cases/Lee_Ann_CT/', 'LEE-ANN.dcm'), and
#: after it its possessive ("Ring's").
_PATH_MARK, _PATH_MARK_AFTER = r"[_/\\.\-]", r"[_/\\.\-']"


def _as_tokens(secrets: tuple[str, ...] | frozenset[str]) -> re.Pattern[str]:
    """Any of ``secrets`` where it stands as the patient's and not as the inside of another word
    or number (an ID with digits in any case; a name as written, so that a name that is also a
    word, 'Slice', leaves 'each slice' whole):
    - a number (an MRN) not joined to other digits, nor to a number's or UID's digits by a dot
      ('1.2.840.12345.6' holds no '12345' of its own), a float's '.0' with it ('4711.0', as a
      spreadsheet wrote it); letters may touch it ('CT4711_seg.nrrd', 'MR4711.dcm');
    - an ID of letters and digits ('STS_001', 'PAT00123') not joined to other digits
      ('STS_001MR', 'PAT00123.3.12.dcm');
    - a name not inside a word, or at a change from a small to a capital letter ('HansMueller'):
      a name part 'Gan' left 'Gantry' whole, where replacing it anywhere garbled the text; as
      written, and in capitals or capitalised where a file or folder name holds it (DICOM's
      'LEE^ANN' in a folder 'Lee_Ann'; never in small letters, where it would be a word:
      'slice', nor capitalised in a sentence: a name part 'SAY' left 'Say which' whole)."""
    ordered = sorted(secrets, key=len, reverse=True)
    spelled = {v for s in ordered for v in (s.upper(), s.title())} - set(ordered)

    def alternatives(kept: Iterable[str]) -> str:
        return "|".join(map(re.escape, sorted(kept, key=len, reverse=True))) or "(?!)"

    def name_parts(kept: Iterable[str]) -> str:
        return alternatives(s for s in kept if not any(map(str.isdigit, s)))

    numbers = alternatives([s for s in ordered if s.isdigit()])
    coded = alternatives([s for s in ordered if not s.isdigit() and any(map(str.isdigit, s))])
    names, respelled = name_parts(ordered), name_parts(spelled)
    start, end = r"(?:(?<![^\W\d_])|(?<=[a-z])(?=[A-Z]))", r"(?:(?![^\W\d_])|(?<=[a-z])(?=[A-Z]))"
    return re.compile(
        rf"(?<!\d)(?<!\d\.)(?i:{numbers})(?:\.0+)?(?!\.?\d)"
        rf"|(?<!\d)(?i:{coded})(?!\d)"
        rf"|{start}(?:{names}){end}"
        rf"|(?<={_PATH_MARK})(?:{respelled}){end}|{start}(?:{respelled})(?={_PATH_MARK_AFTER})"
    )


# --- the ROI map --------------------------------------------------------------------------------


def _role_names(value: Any, where: str) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"ROI map: {where} must map gtv/organ to structure names.")
    unknown = [k for k in value if k not in ROLE_KEYS]
    if unknown:
        raise ConfigError(
            f"ROI map: {where} names unknown role(s) {', '.join(map(str, unknown))}; "
            f"the roles are {', '.join(ROLE_KEYS)}."
        )
    for role, names in value.items():
        listed = [names] if isinstance(names, str) else names
        if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
            raise ConfigError(f"ROI map: {where}.{role} must be a name or a list of names.")
    return normalise_roles(value)


def check_roi_map(roi_map: Mapping[str, Any] | None) -> dict[str, Any]:
    """``roi_map`` validated: ``{"default": {role: names}, "patients": {PatientID: {role:
    names}}}`` with names as lists; :class:`ConfigError` naming what is wrong."""
    if not roi_map:
        return {"default": {}, "patients": {}}
    if not isinstance(roi_map, Mapping):
        raise ConfigError("ROI map must be a mapping with 'default' and/or 'patients'.")
    unknown = [k for k in roi_map if k not in ("default", "patients")]
    if unknown:
        raise ConfigError(
            f"ROI map: unknown key(s) {', '.join(map(str, unknown))}; use 'default' and 'patients'."
        )
    patients = roi_map.get("patients") or {}
    if not isinstance(patients, Mapping):
        raise ConfigError("ROI map: 'patients' must map patient IDs to roles.")
    return {
        "default": _role_names(roi_map.get("default") or {}, "default"),
        "patients": {
            str(pid): _role_names(roles or {}, f"patients.{pid}") for pid, roles in patients.items()
        },
    }


class _TextKeyLoader(yaml.SafeLoader):
    """YAML's safe loader reading every mapping key as the text written: a ROI map's PatientIDs
    ``001`` and ``0010`` unquoted are IDs, not the numbers 1 and 8 (YAML 1.1 reads 0010 as
    octal), which would name another patient or none."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                key.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep)


def load_roi_map_yaml(text: str) -> Any:
    """The YAML document of a ROI map (unchecked), every mapping key read as the text written
    (:class:`_TextKeyLoader`); :class:`yaml.YAMLError` when it is not YAML."""
    return yaml.load(text, Loader=_TextKeyLoader)


def read_roi_map(path: Path | str) -> dict[str, Any]:
    """The ROI map of a YAML file (see :func:`check_roi_map`), its keys read as written."""
    path = Path(path)
    try:
        document = load_roi_map_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"ROI map {path} cannot be read as YAML ({err}).") from err
    return check_roi_map(document)


def _find(
    listed: list[str], names: tuple[str, ...], originals: tuple[str, ...] | None = None
) -> list[str]:
    """The structures among ``names`` that ``listed`` names (:func:`_named`), matched on
    ``originals`` where given: ``names`` as the headers have them, position for position, which
    the planning system shows; a label of a volume file among them too ('label.nii.gz:1',
    'seg.nii.gz:4', a layer's 'seg.nrrd:1.2' as :func:`label_reference` reads it; checked when
    the case loads: the file's labels are not read here).
    :class:`InputError` when a structure named shares its stored name with another."""
    stored = dict(zip(names if originals is None else originals, names, strict=True))
    alike = Counter(stored.values())
    found: list[str] = []
    for wanted in listed:
        matches, suffix = _named(wanted, tuple(stored)), ""
        if not matches and (reference := label_reference(wanted)) is not None:
            file = reference[0]
            matches, suffix = _named(file, tuple(stored)), wanted[len(file) :]
        for match in matches:
            if alike[stored[match]] > 1:  # the stored file would give the role the other's
                raise InputError(
                    f"the ROI map's {wanted!r} is stored as {stored[match]!r}, the patient's "
                    "identifiers cut out of it, the name of another structure too: rename one of "
                    "them in the structure set"
                )
        found += [stored[match] + suffix for match in matches]
    return list(dict.fromkeys(found))


def _named(wanted: str, names: tuple[str, ...]) -> list[str]:
    """``names`` equal to ``wanted``, else equal ignoring case, else volume files whose role
    words after a case key are ``wanted`` ('seg.nii.gz' names 'BraTS20_Training_001_seg.nii.gz':
    one ROI map entry for every patient of a dataset)."""
    exact = [n for n in names if n == wanted]
    folded = [n for n in names if n.strip().lower() == wanted.strip().lower()]
    return exact or folded or [n for n in names if role_file_name(n) == wanted.strip().lower()]


#: The description nnU-Net and the Medical Segmentation Decathlon keep beside ``imagesTr/`` and
#: ``labelsTr/``: its "labels" name each label value of the label maps.
DATASET_DESCRIPTION = "dataset.json"


def dataset_roles(images_dir: Path, site: str | None) -> tuple[dict[str, list[str]], str] | None:
    """ROI map defaults read from the download's :data:`DATASET_DESCRIPTION` (at its top or one
    folder down), and the note saying so: the label its names call the tumour is the GTV, those
    naming the site's organ with it the organ (the Decathlon's liver label leaves its cancer
    out). None where there is none, or where a label is neither (a glioma's oedema: which one
    is the GTV is the user's choice) or several read as the tumour. nnU-Net v2 writes
    ``{"tumor": 2}`` (a region's values as a list), the Decathlon and nnU-Net v1 ``{"2":
    "tumor"}``; the label maps hold them as ``label<file_ending>:<value>``. Without it an import
    of such a dataset asked for a ROI map naming 'label.nii.gz:2' whatever its labels said."""
    path = next(
        (p for p in (images_dir / DATASET_DESCRIPTION, *images_dir.glob(f"*/{DATASET_DESCRIPTION}"))
         if p.is_file()),
        None,
    )  # fmt: skip
    try:
        document = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    labels = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(labels, dict):
        return None
    named: dict[str, list[int]] = {}
    for key, value in labels.items():
        name, values = (value, [key]) if str(key).isdigit() else (key, value)
        values = values if isinstance(values, list) else [values]
        if not isinstance(name, str) or not all(str(v).isdigit() for v in values):
            return None
        if any(int(v) for v in values):  # background (0) names no structure
            named[name] = [int(v) for v in values]
    matches = {name: match_structure(name, site) for name in named}
    tumour = [name for name, match in matches.items() if match and match.role == "gtv"]
    organs = [name for name, match in matches.items() if match and match.role == "organ"]
    if len(tumour) != 1 or len(tumour) + len(organs) != len(named):
        return None
    ending = document.get("file_ending") or _label_ending(path.parent)

    def structures(*names: str) -> list[str]:
        return [f"label{ending}:{value}" for name in names for value in named[name]]

    roles = {"gtv": structures(tumour[0])}
    if organs:
        roles["organ"] = structures(*organs, *tumour)
    listed = "; ".join(f"{role}: {', '.join(names)}" for role, names in roles.items())
    return roles, (
        f"The roles are read from {path.name}'s labels ({', '.join(map(repr, named))}): "
        f"{listed}. A ROI map (--roi-map) naming the GTV sets them otherwise."
    )


def _label_ending(dataset: Path) -> str:
    """The file ending of a dataset's label maps (``labelsTr/``), where its description gives
    none (the Decathlon's): '.nii' for a set stored uncompressed, else '.nii.gz'."""
    for label in sorted((dataset / "labelsTr").glob("*")):
        if not label.name.startswith("."):
            return label.name[len(volume_stem(label)) :]
    return ".nii.gz"


def own_entry(roi_map: Mapping[str, Any], patient_id: str, case_id: str) -> dict[str, list[str]]:
    """The ROI map's entry for one patient, keyed by its PatientID or by its case id (the
    pseudonym ``import_report.csv`` lists, so a failed patient can be fixed from the report)."""
    patients = roi_map["patients"]
    return patients.get(patient_id) or patients.get(case_id) or {}


def explicit_roles(
    roi_map: Mapping[str, Any],
    own: Mapping[str, list[str]],
    names: tuple[str, ...],
    originals: tuple[str, ...] | None = None,
) -> dict[str, list[str]]:
    """Role -> structure names the ROI map gives a patient whose own entry is ``own`` (see
    :func:`own_entry`). That entry must match (:class:`InputError` otherwise); default names
    absent from the structure set leave the role to name matching. An empty list means the
    patient has no such structure. ``originals``: ``names`` as the headers have them, where
    de-identification changes them (the patient's identifiers cut out of a structure set's
    names, :func:`~survival_core.io.deid.structure_names`): the ROI map names the originals,
    the roles get ``names``, those of the stored file."""
    roles: dict[str, list[str]] = {}
    for role in ROLE_KEYS:
        if role in own:
            found = _find(own[role], names, originals)
            if own[role] and not found:
                raise InputError(
                    f"the ROI map names {', '.join(map(repr, own[role]))} for the {role}, but the "
                    f"structure set has {', '.join(map(repr, names)) or 'no structure'}"
                )
            roles[role] = found
        elif role in roi_map["default"]:
            found = _find(roi_map["default"][role], names, originals)
            if found or not roi_map["default"][role]:
                roles[role] = found
    if roles.get("gtv") == []:
        raise InputError("the ROI map says the patient has no GTV; a case needs one")
    return roles


def unmapped_defaults(
    roi_map: Mapping[str, Any],
    own: Mapping[str, list[str]],
    names: tuple[str, ...],
    originals: tuple[str, ...] | None = None,
) -> list[str]:
    """A note for each role whose ROI map default names none of the patient's structures (and
    the patient's own entry does not name it): that role is found by name, maybe not as the map
    says (a map of 'GTVp' on a patient with a nodal 'GTVn' alone: the node taken as the GTV,
    with no word in the import report)."""
    return [
        f"the ROI map's {role} ({', '.join(map(repr, wanted))}) is not among the structures "
        f"({', '.join(map(repr, names)) or 'none'}): the {role} is found by name; check it, or "
        "name it in the ROI map's entry of this patient."
        for role, wanted in roi_map["default"].items()
        if role not in own and wanted and not _find(wanted, names, originals)
    ]


# --- choosing what to import --------------------------------------------------------------------


def _series_text(series: SeriesEntry) -> str:
    """A series as a message names it: modality and number, then its size, slice thickness and
    kernel in brackets, 'CT series 2 (198 x 202 x 59 voxels, 3.27 mm slices, kernel SOFT)'
    (phases or reconstructions of one study were listed alike: 'CT 198 x 202 x 59' twice)."""
    header = series.headers[0]
    number, thickness = series_naming(series.number, series.thickness)
    size = f"{header.Columns} x {header.Rows} x {series.n_slices} voxels"
    kernel = f"kernel {series.kernel}" if series.kernel else ""
    details = ", ".join(filter(None, [size, thickness, kernel]))
    return f"{' '.join(filter(None, [series.modality, number]))} ({details})"


def _study_days(patient: PatientInventory) -> dict[str, str]:
    """Study UID -> how a message names each of the patient's studies: by its day counted from
    the earliest ('study of day 0', 'study of day 152'), since the dates identify the patient
    (the de-identified case holds none) and the interval is what tells a baseline from a
    follow-up; 'study of unknown date' without a readable StudyDate."""
    dates: dict[str, date | None] = {}
    for record in patient.records:
        if record.kind == "image" and record.study_uid not in dates:  # one date per study
            dates[record.study_uid] = _study_date(record.study_date)
    first = min((d for d in dates.values() if d is not None), default=None)
    return {
        study: f"study of day {(found - first).days}"
        if found and first
        else "study of unknown date"
        for study, found in dates.items()
    }


def _study_date(text: str) -> date | None:
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _gives_gtv(annotation: AnnotationEntry, roles: dict[str, list[str]], site: str | None) -> bool:
    return bool(roles.get("gtv")) or bool(role_candidates(annotation.roi_names, site).gtv)


def _maps_gtv(
    patient: PatientInventory,
    annotation: AnnotationEntry,
    roi_map: Mapping[str, Any],
    own: Mapping[str, list[str]],
) -> bool:
    """Whether the ROI map names the GTV among ``annotation``'s structures: its series is the
    image (the MR's GTV named beside the CT's set: the MR, as the Case page reads it)."""
    originals = _record(patient, annotation).original_names
    try:
        return bool(explicit_roles(roi_map, own, annotation.roi_names, originals).get("gtv"))
    except InputError:  # the patient's entry names structures of another set
        return False


def _choose_dicom(
    patient: PatientInventory,
    roi_map: Mapping[str, Any],
    own: Mapping[str, list[str]],
    site: str | None,
    modality: str | None = None,
) -> tuple[SeriesEntry, AnnotationEntry, dict[str, list[str]]]:
    """The image series, its structure set and the explicit roles; :class:`InputError` saying
    why the patient cannot be imported. The series is one the structure sets whose GTV the ROI
    map names were drawn on (:func:`drawn_on_kind`: of a CT and an MR sharing a frame of
    reference, the MR its set's slices name), else one any set was drawn on (:func:`drawn_on`:
    unasked, the CT and MR sets of one frame are refused naming both); with ``modality``, the
    series of that modality: the one drawn on, else the one in the frame of reference of the
    series drawn on (a PET/CT study's PET, its contours drawn on the CT). Without it, a set
    naming neither the slices nor the kind of image of a CT and an MR of its frame, another set
    being the CT's, is refused naming both (:func:`unclear_kind`, as the Case page's loading):
    the CT was read under the MR's contours."""
    inventory = patient.dicom
    series = [s for s in inventory.series if not s.is_scout] if inventory else []
    listing = "; ".join(_series_text(s) for s in (inventory.series if inventory else [])) or "none"
    if not inventory or not inventory.annotations:
        raise InputError(
            f"no RTSTRUCT or SEG file, so no GTV (image series found: {listing}); "
            "add the structure set to the download"
        )
    pairs = [(a, s) for a in inventory.annotations for s in drawn_on(a, series)]
    if not pairs:
        raise InputError(
            f"the RTSTRUCT/SEG file(s) reference none of the patient's image series (found: "
            f"{listing}); download the series the contours were drawn on"
        )
    mapped = [
        (a, s)
        for a in inventory.annotations
        if _maps_gtv(patient, a, roi_map, own)
        for s in drawn_on_kind(a, series)
    ]
    considered = list({id(s): s for _, s in mapped or pairs}.values())
    candidates = considered
    if len(candidates) > 1:
        for preferred in (modality, *DEFAULT_MODALITY_PREFERENCE):
            matching = [s for s in candidates if s.modality == preferred]
            if matching:
                candidates = matching
                break
    if len(candidates) > 1:
        studies = {s.study_uid for s in candidates}
        if len(studies) == 1:
            listing = "; ".join(_series_text(s) for s in candidates)
            raise InputError(
                f"{len(candidates)} image series have a structure set ({listing}); keep only "
                "the one to analyse in the download"
            )
        days = _study_days(patient)
        listing = "; ".join(f"{_series_text(s)}, {days[s.study_uid]}" for s in candidates)
        raise InputError(
            f"{len(candidates)} image series have a structure set ({listing}), in "
            f"{len(studies)} studies under one PatientID: if they are different patients (an "
            "anonymiser's shared PatientID), give each its own PatientID; if one patient's (a "
            "baseline and a follow-up), keep only the study to analyse in the download (move "
            "the other study's folder out)"
        )
    drawn = candidates[0]
    sets = list({id(a): a for a, _ in mapped}.values()) or inventory.annotations  # as load_case
    if modality is None and (unclear := unclear_kind(inventory, sets, considered, drawn)):
        listing = "; ".join(_series_text(s) for s in considered)
        raise InputError(
            f"{unclear} ({listing}); {_SAY_WHICH_SERIES_HERE}, or import with --modality (the "
            "Cohort page's 'Modality of the images') naming the modality of the one to analyse, "
            "which then is read for every patient"
        )
    annotations = _drawn_on_image(pairs, drawn, series, not mapped and modality is None)
    chosen = drawn if modality in (None, drawn.modality) else _in_frame(series, drawn, modality)
    found, refused = [], []
    for annotation in annotations:  # a patient's ROI map entry picks among structure sets
        originals = _record(patient, annotation).original_names
        try:
            found.append(
                (annotation, explicit_roles(roi_map, own, annotation.roi_names, originals))
            )
        except InputError as err:
            refused.append(err)
    if not found:
        raise refused[0]
    if len(found) > 1:
        found = [(a, roles) for a, roles in found if _gives_gtv(a, roles, site)] or found
    if len(found) > 1:  # the one whose GTV the ROI map names (the CT's of a CT and MR study)
        found = [(a, roles) for a, roles in found if roles.get("gtv")] or found
    if len(found) > 1:
        names = "; ".join(f"{a.path.name}: {', '.join(a.roi_names)}" for a, _ in found)
        alike = len({tuple(sorted(a.roi_names)) for a, _ in found}) == 1
        raise InputError(
            f"{len(found)} structure sets were drawn on {_series_text(chosen)} and "
            f"each names a GTV ({names}); "
            + (
                "they name the same structures (an approved and a draft version?): keep only "
                "the one to use in the download"
                if alike
                else "keep only the one to use in the download, or name its GTV in the ROI map"
            )
        )
    annotation, roles = found[0]
    if not _gives_gtv(annotation, roles, site):
        names = ", ".join(map(repr, annotation.roi_names)) or "none"
        aside = [f"{n!r}: {why}" for n in annotation.roi_names if (why := why_not_the_gtv(n))]
        raise InputError(
            f"no structure is recognised as the GTV (structures: {names}"
            + (f"; set aside: {'; '.join(aside)}" if aside else "")
            + "); name it in the ROI map (--roi-map)"
        )
    return chosen, annotation, roles


def _drawn_on_image(
    pairs: list[tuple[AnnotationEntry, SeriesEntry]],
    drawn: SeriesEntry,
    series: list[SeriesEntry],
    unasked: bool,
) -> list[AnnotationEntry]:
    """The structure sets of ``pairs`` (set, series it is linked to) drawn on the series
    ``drawn``, of the patient's ``series``: by the kind of image its slices are where that tells
    (:func:`drawn_on_kind`: the real sarcoma CT's set, not the MR's sharing its frame of
    reference), else all linked to it. ``unasked`` (neither --modality nor a ROI map's GTV
    chose), sets of one frame of reference drawn on different images are refused naming each
    and its image's modality."""
    linked = [a for a, s in pairs if s is drawn]
    own = [a for a in linked if any(s is drawn for s in drawn_on_kind(a, series))]
    if unasked and own and len(own) < len(linked):
        names = "; ".join(
            f"{a.path.name}: {', '.join(a.roi_names)} on the "
            + " or ".join(drawn_modalities(a, series))
            for a in linked
        )
        raise InputError(
            f"the structure sets were drawn on different images of one frame of reference "
            f"({names}); import with --modality (the Cohort page's 'Modality of the images') "
            "naming the modality of the one to analyse, which then is read for every patient, "
            "or name its GTV in the ROI map"
        )
    return own or linked


def _companions(
    patient: PatientInventory, image: SeriesEntry, annotation: AnnotationEntry
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The image's companion series (:func:`~survival_core.io.dicom_series.companion_series`)
    to keep beside it, when the structure set names the image alone among them: in a case
    folder of the PET and the CT its contours were drawn on, or of two series it is linked to by
    frame of reference only, the other could be read as the image."""
    found, _ = companion_series(patient.dicom.series, image.modality, image.frame_of_reference_uid)
    if drawn_on(annotation, [image, *found.values()]) != [image]:
        return ()
    return tuple((m, tuple(str(p) for p in e.files)) for m, e in sorted(found.items()))


def _record(patient: PatientInventory, annotation: AnnotationEntry) -> FileRecord:
    """The inventory's record of one of the patient's structure sets."""
    return next(r for r in patient.records if r.path == str(annotation.path))


def _one_file_per_instance(patient: PatientInventory, files: Iterable[str]) -> None:
    """Refuse two of the ``files`` to import that are one DICOM instance (the same
    SOPInstanceUID) holding different data, as a folder read refuses them: staged under their
    one UID, one replaced the other without a word. Copies were left out already
    (:func:`~survival_core.cohort.inventory.group_patients`)."""
    records = {r.path: r for r in patient.records}
    first: dict[str, FileRecord] = {}
    for path in files:
        record = records[path]
        other = first.setdefault(record.sop_uid, record) if record.sop_uid else record
        if other is not record:
            raise InputError(
                f"{other.shown} and {record.shown} are one DICOM instance (the same "
                "SOPInstanceUID) holding different data: remove the wrong one from the download"
            )


def _drawn_elsewhere(
    patient: PatientInventory, image: SeriesEntry, annotation: AnnotationEntry
) -> list[str]:
    """The note that the structure set's contours were drawn on images of another modality than
    the series they are read on (the MR's GTV rasterised on the CT, linked by their shared frame
    of reference): the tumour outlined on one scan is measured on another. [] otherwise."""
    drawn = _record(patient, annotation).contour_modalities
    if not drawn or image.modality in drawn:
        return []
    return [
        f"The contours were drawn on the {' and '.join(drawn)} series and are read on the "
        f"{image.modality} series, which shares their frame of reference: check that they fit it."
    ]


def _unused_series(
    patient: PatientInventory, image: SeriesEntry, companion_files: set[str]
) -> list[str]:
    """The notes naming the patient's image series the case leaves out (its companions, files
    ``companion_files``, aside): of the imported study (a non-contrast phase, a thicker
    reconstruction, a scout), and of other studies (a follow-up beside the contoured baseline);
    [] without any. The study's own were left out without a word."""
    unused = [
        s for s in patient.dicom.series if s is not image and str(s.files[0]) not in companion_files
    ]
    aside = [s for s in unused if s.study_uid == image.study_uid]
    others = [s for s in unused if s.study_uid != image.study_uid and not s.is_scout]
    days = _study_days(patient)
    said = []
    if aside:
        listing = "; ".join(_series_text(s) + (" (a scout)" if s.is_scout else "") for s in aside)
        said.append(f"Other series of the study were not used ({listing}).")
    if others:
        listing = "; ".join(f"{_series_text(s)}, {days[s.study_uid]}" for s in others)
        said.append(
            f"Another study of the patient was in the download and not used ({listing}); the "
            f"case is the contoured {_series_text(image)}, {days[image.study_uid]}."
        )
    return said


def _in_frame(series: list[SeriesEntry], drawn: SeriesEntry, modality: str) -> SeriesEntry:
    """The one ``modality`` series in the frame of reference of ``drawn``, the series the
    structure set was drawn on (:func:`~survival_core.io.dicom_series.in_frame`: of PETs the
    attenuation-corrected one, never a MIP); :class:`InputError` naming what there is
    otherwise."""
    found = in_frame(series, modality, drawn.frame_of_reference_uid)
    if len(found) != 1:
        listing = "; ".join(_series_text(s) for s in series)
        raise InputError(
            f"the contours were drawn on {_series_text(drawn)}, and "
            f"{'no' if not found else len(found)} {modality} series share its frame of reference "
            f"(image series found: {listing}); "
            + ("keep only the one to analyse" if found else f"import without --modality {modality}")
        )
    return found[0]


def content_hash(patient: PatientInventory, settings: Mapping[str, Any]) -> str:
    """SHA-256 over the patient's files (names below the download and bytes) and the import
    settings that change what is written."""
    digest = hashlib.sha256(json.dumps([IMPORT_VERSION, settings], sort_keys=True).encode())
    for record in sorted(patient.records, key=lambda r: r.shown):
        digest.update(f"{record.shown}\0{record.sha256}\0".encode())
    return digest.hexdigest()


def _plan(
    patient: PatientInventory,
    case_id: str,
    key: bytes,
    out_dir: Path,
    site: str | None,
    roi_map: Mapping[str, Any],
    modality: str | None = None,
    image: str = "",
) -> PatientTask:
    """The import task of one patient (``modality``: that of its volume files, which carry none:
    unless said, what the image's name gives, else CT, as ``score`` reads a patient folder
    (:func:`~survival_core.io.case_loader.volume_modality`); and of the DICOM series to import
    where said; ``image`` the volume that is the image where names do not say);
    :class:`InputError` when it cannot be imported."""
    secrets = tuple(patient.identifiers)
    own = own_entry(roi_map, patient.patient_id, case_id)
    settings = {"site": site, "roles": own, "default": roi_map["default"]}
    if patient.volumes:  # the defaults leave earlier imports' hashes as they were
        settings |= {"modality": modality} if modality not in (None, "CT") else {}
        settings |= {"image": image} if image else {}
    elif modality is not None:
        settings |= {"modality": modality}
    common = {
        "case_id": case_id,
        "id_key": id_key(patient.patient_id, key),
        "name_key": folder_name_key(patient, key),
        "content_hash": content_hash(patient, settings),
        "out_dir": str(out_dir),
        "site": site,
        "secrets": secrets,
        "notes": tuple(scrub(n, patient.identifiers, case_id) for n in patient.notes),
        "keep_marked": patient.identity_removed,
        "images": tuple(image_hashes(patient, key)),
    }
    if patient.dicom is not None and (patient.dicom.series or patient.dicom.annotations):
        series, annotation, roles = _choose_dicom(patient, roi_map, own, site, modality)
        companions = _companions(patient, series, annotation)
        files = tuple(str(p) for p in series.files)
        _one_file_per_instance(patient, [*files, *(f for _, more in companions for f in more)])
        structure = _record(patient, annotation)
        image = next(r for r in patient.records if r.path == str(series.files[0]))
        originals = structure.original_names
        said = (
            *_drawn_elsewhere(patient, series, annotation),
            *_unused_series(patient, series, {f for _, files in companions for f in files}),
            *unmapped_defaults(roi_map, own, annotation.roi_names, originals),
        )
        return PatientTask(
            **{**common, "notes": (*common["notes"], *said)},
            fmt="dicom",
            files=files,
            structure_file=str(annotation.path),
            adopted=structure.identity != image.identity,
            modality=series.modality,
            roles=roles or None,
            companions=companions,
        )
    if not patient.volumes:
        other = sum(r.kind in ("other", "damaged") for r in patient.records)
        raise InputError(
            "no image series and no volume file"
            + (
                f" ({other} DICOM file(s) hold no readable image: damaged or truncated in the "
                "download, or objects that are no images, such as reports)"
                if other
                else ""
            )
        )
    # the names the files are staged under (safe_name: 'DOE JOHN_gtv.nii.gz' is staged as
    # 'DOE_JOHN_gtv.nii.gz'), which a ROI map's labels are resolved against
    names = tuple(safe_name(r.case_name or Path(r.path).name) for r in patient.volumes)
    return PatientTask(
        **{**common, "notes": (*common["notes"], *unmapped_defaults(roi_map, own, names))},
        fmt="nifti",
        files=tuple(r.path for r in patient.volumes),
        names=names,
        shown=tuple(r.shown for r in patient.volumes),
        image=image,
        modality=modality or "",
        roles=explicit_roles(roi_map, own, names) or None,
    )


# --- writing one case ---------------------------------------------------------------------------


def _stage_series(files: tuple[str, ...], folder: Path, keep_marked: bool) -> None:
    """One series' files de-identified into ``folder``, a batch at a time."""
    folder.mkdir()
    for start in range(0, len(files), _DEID_BATCH):
        batch = [(Path(p).name, Path(p).read_bytes()) for p in files[start : start + _DEID_BATCH]]
        for name, content in deidentify_upload(batch, keep_marked=keep_marked):
            (folder / name).write_bytes(content)


def _stage_dicom(task: PatientTask, staging: Path) -> dict[str, str]:
    """The de-identified series and structure set in ``staging``; the manifest's file columns."""
    base = f"cases/{task.case_id}"
    _stage_series(task.files, staging / task.modality.lower(), task.keep_marked)
    for modality, files in task.companions:  # the PET beside the CT: pt/
        _stage_series(files, staging / modality.lower(), task.keep_marked)
    structure = Path(task.structure_file)
    content = structure.read_bytes()
    if task.adopted:
        content = _filed_as(content, task.files[0])
    [(_, content)] = deidentify_upload([(structure.name, content)], keep_marked=task.keep_marked)
    (staging / "rtstruct.dcm").write_bytes(content)
    if task.roles:  # the case folder says its own roles, for every later load_case
        (staging / ROLES_FILE).write_text(json.dumps(dict(task.roles), sort_keys=True))
    return {"image": f"{base}/{task.modality.lower()}", "rtstruct": f"{base}/rtstruct.dcm"}


def _filed_as(structure: bytes, image_file: str) -> bytes:
    """The structure set's bytes filed under the patient of its image series: one adopted by
    its frame of reference from another PatientID (a planning system that wrote it in another
    character set, or retyped the ID) kept its own pseudonym and date shift in the case folder,
    years apart from its images'. Its own name and ID go to OtherPatientNames and
    OtherPatientIDs, which de-identification cuts from its texts, then removes."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(structure))
    image = pydicom.dcmread(image_file, stop_before_pixels=True)
    ds.decode()  # every text as read in its own character set, before the set's is changed
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword, own in (("OtherPatientIDs", "PatientID"), ("OtherPatientNames", "PatientName")):
        setattr(ds, keyword, [*text_values(ds, keyword), *text_values(ds, own)])
    for keyword in ("PatientID", "PatientName", "PatientIdentityRemoved"):
        if keyword in image:
            setattr(ds, keyword, str(image.get(keyword)))
        elif keyword in ds:
            delattr(ds, keyword)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


#: The folder of a staged case its volume files are read from, before the case's own are written.
_SOURCE = "source"


def _stage_volumes(task: PatientTask, staging: Path) -> tuple[dict[str, str], Any]:
    """The cleaned volumes checked by loading them, written as image, GTV and organ NIfTI files
    and, but for a PET case, each companion image as ``<name>.nii.gz`` (a PET/CT model's PET,
    BraTS's FLAIR); the manifest's file columns and the loaded case."""
    source = staging / _SOURCE
    source.mkdir()
    names = task.names or tuple(Path(p).name for p in task.files)
    cleaned = deidentify_upload(
        [(n, Path(p).read_bytes()) for n, p in zip(names, task.files, strict=True)]
    )
    if len({name for name, _ in cleaned}) != len(cleaned):
        raise InputError("two volume files of the patient have the same name")
    for name, content in cleaned:
        (source / name).write_bytes(content)
    for name, path in zip(names, task.files, strict=True):  # a dcm2niix sidecar's weighting,
        sequence = sidecar_sequence(Path(path))  # which the file's name may not give (one not
        if sequence is not None:  # read is no reason to fail the patient)
            write_sidecar(source / safe_name(name), sequence)
    case = load_case(
        source,
        case_id=task.case_id,
        roles=task.roles,
        site=task.site,
        modality=task.modality or None,  # unsaid: the image's name gives it, as for `score`
        image_name=_image_file(task.image, [name for name, _ in cleaned]),
    )
    base = f"cases/{task.case_id}"
    written = {"image": ("image", case.image), "gtv_mask": ("gtv", case.masks["gtv"])}
    if "organ" in case.masks:
        written["organ_mask"] = (case.site or "organ", case.masks["organ"])
    columns = {}
    for column, (stem, image) in written.items():
        sitk.WriteImage(image, str(staging / f"{stem}.nii.gz"), True)
        columns[column] = f"{base}/{stem}.nii.gz"
    if case.sequence is not None:  # 'image.nii.gz' no longer names it ('BraTS_001_t1ce')
        write_sidecar(staging / "image.nii.gz", case.sequence)
    # the PET beside the CT: PT.nii.gz. A PET case keeps none (as a DICOM one): its contours are
    # its CT's (HECKTOR), whose radiomics the CT import gives without moving them twice
    if case.modality != "PT":
        for name, image in case.companions.items():
            sitk.WriteImage(image, str(staging / f"{name}.nii.gz"), True)
    shutil.rmtree(source)
    return columns, case


def _image_file(image: str, names: list[str]) -> str | None:
    """The file among a case's ``names`` whose name without extension, or its role words after
    a case key ('t1ce' of 'BraTS20_Training_001_t1ce'), is ``image`` (any case); None for no
    ``image``."""
    if not image:
        return None
    found = [
        n
        for n in names
        if image.lower() in (volume_stem(n).lower(), split_name(volume_stem(n))[1].lower())
    ]
    if len(found) != 1:
        raise InputError(
            f"{'no' if not found else 'more than one'} volume is named {image!r} (the case has "
            f"{', '.join(names)}); --image names the image volume of every case"
        )
    return found[0]


def _move_into_place(staging: Path, case_folder: Path) -> None:
    """Rename the staged case to its place; an earlier import of it is set aside, then removed."""
    case_folder.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if case_folder.exists():
        old = temp_sibling(staging, "old")
        os.replace(case_folder, old)
    os.replace(staging, case_folder)
    if old is not None:
        shutil.rmtree(old)


def import_patient(task: PatientTask) -> PatientOutcome:
    """De-identify, check by loading, and move one patient's case into the cohort folder."""
    out_dir = Path(task.out_dir)
    staging = temp_sibling(out_dir / STAGING / task.case_id)
    staging.mkdir(parents=True)
    try:
        if task.fmt == "dicom":
            columns = _stage_dicom(task, staging)
            case = load_case(staging, case_id=task.case_id, site=task.site)
        else:
            columns, case = _stage_volumes(task, staging)
        row = {
            "case_id": task.case_id,
            "format": task.fmt,
            "site": case.site or task.site or "",
            "modality": case.modality,
            **columns,
            "roles": scrub(json.dumps(dict(task.roles), sort_keys=True), task.secrets, task.case_id)
            if task.roles
            else "",
        }
        record = {
            "content_hash": task.content_hash,
            "id_key": task.id_key,
            "images": list(task.images),
            "manifest": row,
            "files": _case_files(staging),
            **_kept_if_any(kept_cache_keys(task.replaces, task.cached_before), task.name_key),
        }
        _write_record(staging, record)
        _move_into_place(staging, out_dir / "cases" / task.case_id)
        said = " ".join([*task.notes, *case.warnings])  # what a reader of the report must know
        said = said.replace(WHERE_TO_SAY, _WHERE_TO_SAY_HERE)  # a lone mask taken as the GTV
        return PatientOutcome(task.case_id, "imported", _clean_reason(said, task, staging))
    except RadSurvError as err:
        return PatientOutcome(
            task.case_id, "failed", _clean_reason(_in_import(err, staging), task, staging)
        )
    except Exception as err:  # one patient's unexpected failure must not stop the others
        reason = f"{type(err).__name__}: {err}"
        return PatientOutcome(task.case_id, "failed", _clean_reason(reason, task, staging))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _in_import(err: RadSurvError, staging: Path) -> str:
    """``err``'s message as an import must say it: how to choose a structure or series there (the
    loader's 'say which one to use' named no way to, its '(--series)' an option the import has
    not), and the patient's download, not the staged case folder, as what holds several series
    (no case folder is written for a failure)."""
    return (
        str(err)
        .replace(WHERE_TO_SAY, _WHERE_TO_SAY_HERE)
        .replace(f"{staging} holds", "The patient's files in the download hold")
        .replace(f" {SERIES_OPTION}", "")
        .replace(SAY_WHICH_SERIES, _SAY_WHICH_SERIES_HERE)
    )


def _clean_reason(reason: str, task: PatientTask, staging: Path) -> str:
    """A failure message naming a volume file as the download has it (its staged copy, which
    it named, is gone), other files below the case folder, free of original identifiers."""
    staged = sorted(zip(task.names, task.shown, strict=True), key=lambda pair: -len(pair[0]))
    for name, shown in staged:  # 'gtv.nii.gz' before 'gtv.nii'
        reason = reason.replace(str(staging / _SOURCE / name), f"the download's {shown}")
    reason = reason.replace(str(staging), f"cases/{task.case_id}")
    return scrub(reason, task.secrets, task.case_id)


# --- the cohort folder --------------------------------------------------------------------------


def _check_output(out_dir: Path) -> None:
    """Refuse an ``out_dir`` that is neither new nor an earlier import's folder (nothing is
    written into it)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"Output {out_dir} exists and is not a folder.")
    foreign = sorted(
        p.name
        for p in (out_dir.iterdir() if out_dir.is_dir() else ())
        if p.name not in _OWN_NAMES and not is_temp_sibling(p.name) and not radsurv_output(p)
    )
    if foreign:
        raise ConfigError(
            f"Output folder {out_dir} holds {', '.join(foreign[:3])}, which neither an import "
            "nor RadSurv's feature tables and run outputs are: choose a new folder or the "
            "folder of an earlier import."
        )


def _prepare(out_dir: Path) -> None:
    """Remove what a killed import left in ``out_dir``: its staging folder, a file it was
    writing (the import's lock held: no other import is writing)."""
    remove_leftovers(out_dir)
    shutil.rmtree(out_dir / STAGING, ignore_errors=True)


def radsurv_output(path: Path) -> bool:
    """Whether ``path`` in a cohort folder is what RadSurv writes there besides an import, which a
    rerun must not refuse: a feature table (Parquet carrying its settings, or a table with its
    ``.failures.csv``), its failures or warnings table, a cross-validation's or a model's output
    folder."""
    from survival_core.features.cohort import SIDECAR_SUFFIXES, failures_path

    if path.is_dir():
        return any(all((path / n).is_file() for n in names) for names in _RUN_OUTPUTS)
    if path.name.endswith(SIDECAR_SUFFIXES):
        return True
    if path.suffix in (".parquet", ".csv") and failures_path(path).is_file():
        return True
    return path.suffix == ".parquet" and _radsurv_parquet(path)


def _radsurv_parquet(path: Path) -> bool:
    """Whether a Parquet file carries the RadSurv version every table it writes does."""
    from survival_core.features.table import VERSION_KEY
    from survival_core.io.tables import parquet_metadata

    try:
        return VERSION_KEY in parquet_metadata(path)
    except (OSError, ValueError):
        return False


def _case_files(folder: Path) -> dict[str, list[int | str]]:
    """Size and SHA-256 of every file of a case folder but its record, by path below it: what a
    rerun checks the case still holds."""
    return {
        p.relative_to(folder).as_posix(): [p.stat().st_size, file_sha256(p)]
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != RECORD
    }


def cache_keys(read: CaseRead, shared: bool = False) -> dict[str, list[str]]:
    """The keys the caches know the case ``read`` by, its files as they are now: its cached
    features' name prefix (:func:`~survival_core.features.cohort.case_content`; ``shared``: its
    folder holds other cases' files too) and its cached volume's name (:meth:`CaseRead.key`)."""
    from survival_core.features.cohort import case_content

    content = case_content(read.folder, read.volume_files, shared)
    return {"features": [content], "volumes": [read.key()]}


def kept_cache_keys(read: CaseRead | None, before: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The cache keys ``before`` (a record's :data:`CACHE_KEYS`) and those of the case ``read``
    now (:func:`cache_keys`; none where its folder is gone), each once: what the record of the
    case replacing it keeps ({} for a case never imported before)."""
    now = cache_keys(read) if read is not None and read.folder.is_dir() else {}
    kept = {
        kind: sorted({*before.get(kind, ()), *now.get(kind, ())})
        for kind in ("features", "volumes")
    }
    return kept if any(kept.values()) else {}


#: What a record holds only where the case has any (records of before them are as they were).
_KEPT_IF_ANY = (CACHE_KEYS, "name_key")


def _kept_if_any(earlier_keys: Mapping[str, list[str]], name_key: str) -> dict[str, Any]:
    """A record's :data:`_KEPT_IF_ANY` entries: the cache keys of the case's earlier versions
    (:func:`kept_cache_keys`) and its folder name's key (:func:`folder_name_key`), where any."""
    return {k: v for k, v in zip(_KEPT_IF_ANY, (earlier_keys, name_key), strict=True) if v}


def _write_record(folder: Path, record: Mapping[str, Any]) -> None:
    """The case folder's import record (:data:`RECORD`), written after the files it lists."""
    write_text(folder / RECORD, json.dumps(record, indent=1, sort_keys=True))


def _intact(out_dir: Path, case_id: str, record: Mapping[str, Any]) -> bool:
    """Whether an earlier import's case still holds the files it wrote, unchanged (a record of
    an import before they were listed: the files its manifest row names exist). A case whose
    file was deleted or changed is imported again rather than reported unchanged and left broken."""
    written = record.get("files")
    if written is None:
        row = record.get("manifest", {})
        return all((out_dir / row[c]).exists() for c in PATH_COLUMNS if row.get(c))
    folder = out_dir / "cases" / case_id
    recorded = (folder / RECORD).stat().st_mtime_ns  # written after the files it lists
    for name, (size, digest) in written.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            return False
        # a file not touched since is not read again (a cohort's images are large)
        if path.stat().st_mtime_ns > recorded and file_sha256(path) != digest:
            return False
    return True


def case_reads(cohort: Path) -> dict[str, CaseRead]:
    """How the manifest reads each case (its folder, its cache keys: :func:`cache_keys`), read
    before the cases change; {} for a cohort without a manifest."""
    if not (cohort / "manifest.csv").is_file():
        return {}
    return {read.case_id: read for read in cases_read_as(cohort)}


def records_in_place(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Case id -> record of every case in place (a folder without a readable record is not).
    :class:`InputError` for a case folder renamed by hand: its record (and every path of its
    manifest row) names the old case id, and the manifest came out with one case twice."""
    records = {}
    cases = out_dir / "cases"
    for record in sorted(cases.glob(f"*/{RECORD}")) if cases.is_dir() else []:
        try:
            read = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        named = str(read.get("manifest", {}).get("case_id", record.parent.name))
        if named != record.parent.name:
            raise InputError(
                f"{out_dir}: the case folder cases/{record.parent.name} holds the case {named} "
                f"(renamed by hand?): a case's folder is named by its case id, which every file "
                f"of the cohort uses. Rename it back to cases/{named}; a patient's corrected ID "
                "is a new import of that patient (remove the old case with cohort withdraw)."
            )
        records[record.parent.name] = read
    return records


def _csv(columns: tuple[str, ...], rows: list[Mapping[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically unless the file already holds it (its time stays as it was)."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    write_text(path, text)


def _write_tables(
    out_dir: Path, outcomes: list[PatientOutcome], records: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Write the manifest, ID map and report of the cases' ``records`` (:func:`records_in_place`);
    the cohort's cases per modality."""
    report = [o.__dict__ for o in sorted(outcomes, key=lambda o: o.patient)]
    write_text(out_dir / "import_report.csv", _csv(REPORT_COLUMNS, report))
    return write_case_tables(out_dir, records)


def write_case_tables(out_dir: Path, records: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Write the manifest and ID map of the cases' ``records`` (:func:`records_in_place`); the
    cohort's cases per modality."""
    rows = [records[c]["manifest"] for c in sorted(records)]
    _write_if_changed(out_dir / "manifest.csv", _csv((*MANIFEST_COLUMNS, *EXTRA_COLUMNS), rows))
    keys = [{"id_key": r["id_key"], "case_id": c} for c, r in sorted(records.items())]
    _write_if_changed(out_dir / "id_map.csv", _csv(ID_MAP_COLUMNS, keys))
    return dict(sorted(Counter(str(r.get("modality") or "") for r in rows).items()))


def _run_tasks(
    tasks: list[PatientTask], workers: int | None, done: Callable[[PatientOutcome], None]
) -> None:
    """Import the patients over worker processes, reporting each outcome as it comes."""
    from survival_core.engine import make_mapper

    for task, outcome in make_mapper(workers, len(tasks)).map_unordered(import_patient, tasks):
        if isinstance(outcome, BaseException):
            reason = scrub(f"the import worker failed ({outcome})", task.secrets, task.case_id)
            outcome = PatientOutcome(task.case_id, "failed", reason)
        done(outcome)


_SHARED_CASE_ID = (
    "another patient of the download gets the same case id (a volume folder named as a DICOM "
    "patient's PatientID, or the same de-identified PatientID twice): rename one, so that each "
    "patient has a case of its own"
)


_KEPT = (
    "The case an earlier import made of this patient stays in the cohort as it was (its files "
    "of then), and training runs still use it: fix the download, or take the case out with "
    "cohort withdraw."
)
_ABSENT = (
    "not in this download: kept from an earlier import (a rerun never deletes a case; to take the "
    "patient out, e.g. when consent is withdrawn: cohort withdraw {})"
)


_MARKS_CHANGED = (
    "It keeps the case id an earlier import gave it: its files are marked de-identified "
    "(PatientIdentityRemoved=YES) otherwise than those that case was made of, or this version "
    "reads the marks of other files (those the case is made of), which would have given the "
    "patient another case id, a second case of one patient."
)


def _earlier_case_ids(
    patients: Mapping[str, PatientInventory],
    case_ids: Mapping[str, str],
    existing: Mapping[str, Mapping[str, Any]],
    key: bytes,
) -> dict[str, str]:
    """Patient -> the case id an earlier import gave it (its record's keyed ID), of each patient
    that would now get another (its files marked de-identified then and not now, or the reverse,
    or a cohort made by a version that read the marks of every file: a marked PatientID is the
    case id, an unmarked one its pseudonym), which it keeps. Imported under the other, it
    became a second case of the same images, the earlier one called absent and its ID-map row
    doubled, so that the clinical row joined one case of the two; refused, an unchanged
    download imported before the marks were read from the case's own files failed."""
    earlier = {str(r.get("id_key")): case_id for case_id, r in existing.items()}
    found = {}
    for name, patient in patients.items():
        case_id = earlier.get(id_key(patient.patient_id, key))
        if case_id is not None and case_id != case_ids[name]:
            found[name] = case_id
    return found


def image_hashes(patient: PatientInventory, key: bytes) -> list[str]:
    """What tells the patient's images from others' (not masks: two patients' empty or atlas
    masks may match), sorted: the SHA-256 of each image file and, of each DICOM image, a keyed
    hash of its SOPInstanceUID, which names the slice whatever its header says of the patient
    (the same slices under a retyped or corrected PatientID differ in their bytes, and were two
    patients without a word). Keyed, as :func:`id_key`: the cohort keeps no original UID."""
    # a dataset's volume as its case folder names it ('image.nii.gz' of MONAI Label's loose
    # 'lung_7.nii.gz' beside 'labels/final/lung_7.nii.gz'), which the layout tells
    in_case = {r.shown: Path(r.case_name or r.path) for r in patient.volumes}
    images = [
        record
        for record in patient.records
        if record.kind == "image"
        or (
            record.kind == "volume"
            and is_image_volume(
                in_case[record.shown], in_case[record.shown].parent.parent, in_case.values()
            )
        )
    ]
    instances = [
        hmac.new(key, b"instance\0" + r.sop_uid.encode(), hashlib.sha256).hexdigest()
        for r in images
        if r.kind == "image" and r.sop_uid
    ]
    return sorted({*(r.sha256 for r in images if r.sha256), *instances})


def _holds_none_of(earlier: Mapping[str, Any], images: Collection[str]) -> bool:
    """Whether a patient's ``images`` (:func:`image_hashes`) are none of its ``earlier`` case's
    record: only where both are known (a fresh import's patient, of no earlier case, and one
    whose images went untold, were each said to replace an earlier case)."""
    told = earlier.get("images") or ()
    return bool(told) and bool(images) and set(told).isdisjoint(images)


def _same_images(
    patients: Mapping[str, PatientInventory],
    case_ids: Mapping[str, str],
    existing: Mapping[str, Mapping[str, Any]],
    key: bytes,
) -> dict[str, str]:
    """Case id -> a warning naming the other cases holding an image of it (:func:`image_hashes`:
    a DICOM slice of the same SOPInstanceUID, a file of identical content), in the download or
    among the cohort's ``existing`` cases (their records' image hashes): one patient's images
    under two IDs (a folder copied; a mistyped ID corrected in the download, beside the case of
    the old ID) would count twice in a model. Reported, not refused: the user knows which ID is
    right."""
    holders: dict[str, set[str]] = {}
    for name, patient in patients.items():
        for sha256 in image_hashes(patient, key):
            holders.setdefault(sha256, set()).add(case_ids[name])
    earlier: set[str] = set()
    for case_id, record in existing.items():
        for sha256 in record.get("images", ()):
            if sha256 in holders:
                holders[sha256].add(case_id)
                earlier.add(case_id)
    others: dict[str, set[str]] = {}
    for cases in holders.values():
        for case_id in cases if len(cases) > 1 else ():
            others.setdefault(case_id, set()).update(cases - {case_id})
    return {
        case_id: (
            "Its images are identical (the same DICOM slices or file content) to those of "
            + ", ".join(
                f"{c} (a case of an earlier import)" if c in earlier - set(case_ids.values()) else c
                for c in sorted(found)
            )
            + ": the same patient under several IDs counts twice in a model; keep one (cohort "
            "withdraw takes a case out)."
        )
        for case_id, found in others.items()
    }


#: A patient ID imported before whose image files are now all others: another scan, or another
#: centre's patient under the same ID (a second download imported into this folder).
_OTHER_IMAGES = (
    "Replaces this patient ID's earlier case, none of whose image files it holds: another scan of "
    "the patient, or another centre's patient with the same ID? A cohort folder holds one "
    "download; import another centre's into a folder of its own."
)
_REPLACED = (
    "{} case(s) of earlier imports were replaced by images none of which they held "
    "(import_report.csv names them): check that this download is the one this cohort was "
    "imported from; another centre's, whose patient IDs repeat these, belongs in a folder of its "
    "own."
)

_UNMATCHED_ENTRIES = (
    "{} patient entr(ies) of the ROI map name no patient of the download (by PatientID or by "
    "the case id of import_report.csv): their structure names were given to no one; check "
    "their spelling"
)
_REKEYED = (
    "Its row of clinical.csv, keyed by a table-only import by the pseudonym of its PatientID, "
    "now has its case id (a PatientID marked de-identified is kept as the case id)."
)


def _joined(*texts: str) -> str:
    """``texts`` as one reason, each but the last ending its sentence: a refusal's last clause,
    '(move the other study's folder out)', ran into the next sentence."""
    said = [t.strip() for t in texts if t.strip()]
    ended = [t if t.endswith((".", "?", "!")) else f"{t}." for t in said[:-1]]
    return " ".join([*ended, *said[-1:]])


def _unopened_archives(inventory: TreeInventory, deid: Deidentifier) -> dict[str, str]:
    """Case id -> what to say of the download's archives that could not be opened: keyed as the
    patient of the archive's folder (of the archive itself, at the top) would be, and scrubbed
    of every patient's identifiers and of that folder's name (it may name the patient)."""
    secrets = frozenset().union(*(p.identifiers for p in inventory.patients.values()))
    said: dict[str, str] = {}
    for record in inventory.unopened:
        case_id = deid.pseudonym(record.group)
        text = f"{record.error}; the files in it were not imported (the console names the archive)."
        # its path is never said: a file or folder name may be the patient's
        parts = {part for part in re.split(r"[/:]", record.shown) if len(part) >= 3}
        names = secrets | parts | ({record.group} if len(record.group) >= 3 else set())
        said[case_id] = _joined(said.get(case_id, ""), scrub(text, names, case_id))
    return said


def _unmatched_entries(
    roi_map: Mapping[str, Any],
    patients: Mapping[str, PatientInventory],
    case_ids: Mapping[str, str],
) -> list[str]:
    """The ROI map's patient entries naming no patient of the download by PatientID or case id
    (:func:`own_entry`): a misspelt ID, whose structure names would silently go unused."""
    known = {p.patient_id for p in patients.values()} | set(case_ids.values())
    return [entry for entry in roi_map["patients"] if entry not in known]


def _table_only_keys(
    patients: Mapping[str, PatientInventory], case_ids: Mapping[str, str], deid: Deidentifier
) -> dict[str, str]:
    """Pseudonym of the PatientID -> case id, of each patient whose case id is not that
    pseudonym (a PatientID marked de-identified, kept): the key a table-only import
    (:func:`~survival_core.cohort.clinical_join.import_table`) gave the patient's row, and the
    key the row must have to join the images."""
    keys = {deid.pseudonym(p.patient_id): case_ids[name] for name, p in patients.items()}
    return {old: new for old, new in keys.items() if old != new}


def _rekey_table_rows(
    out_dir: Path, table_keys: Mapping[str, str], cases: Collection[str]
) -> list[str] | None:
    """Re-key the rows of the cohort's clinical table a table-only import keyed by pseudonym
    (:func:`_table_only_keys`) to the case ids of the ``cases`` now in place, unless that
    pseudonym is itself a case (then the row is its); the case ids re-keyed, None without a
    table."""
    if not (out_dir / CLINICAL_FILE).is_file():
        return None
    moves = {old: new for old, new in table_keys.items() if new in cases and old not in cases}
    return rekey_rows(out_dir, moves)


def rekey_rows(cohort: Path | str, new_keys: Mapping[str, str]) -> list[str]:
    """Give the rows of the cohort's ``clinical.csv`` keyed by a key of ``new_keys`` its value
    (a table-only import's pseudonym -> the case id an image import kept for the same patient),
    each cell else as written; a row whose new key another row already has stays as it is, so
    that no patient gets two rows. ``clinical_report.csv`` names the new keys for the old and
    counts the rows. Returns the new keys given."""
    path = Path(cohort) / CLINICAL_FILE
    with open(path, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    keys = {row[0] for row in rows}
    moved: dict[str, str] = {}
    for row in rows:
        old, new = row[0], new_keys.get(row[0])
        if new is not None and new not in keys:
            row[0] = moved[old] = new
            keys.add(new)
    if not moved:
        return []
    write_text(path, csv_text([header, *rows]))
    report = Path(cohort) / JOIN_REPORT
    said = _renamed(report.read_text(encoding="utf-8"), moved) if report.is_file() else ""
    lines = list(csv.reader(io.StringIO(said))) or [["column", "action", "count"]]
    lines.append(["(rows)", "re-keyed to the case id an image import kept", str(len(moved))])
    write_text(report, csv_text(lines))
    return list(moved.values())


def _renamed(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each of ``names`` (pseudonyms: no word contains one) replaced."""
    for old, new in names.items():
        text = text.replace(old, new)
    return text


def first_column(path: Path) -> set[str]:
    """The keys (first column) of a CSV table's rows, as written; empty without the file."""
    if not path.is_file():
        return set()
    with open(path, encoding="utf-8", newline="") as handle:
        return {row[0] for row in list(csv.reader(handle))[1:] if row}


def csv_text(rows: list[list[str]]) -> str:
    """Rows as CSV text, each cell as it is."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _empty_folders(root: Path) -> list[str]:
    """'<folder>/: why' of each outermost folder below ``root`` holding no file at any depth (a
    patient whose download came out empty), which no patient's outcome would mention."""
    holds: dict[str, bool] = {}
    for folder, folders, files in os.walk(root, topdown=False):
        holds[folder] = bool(files) or any(
            holds.get(os.path.join(folder, f), True) for f in folders
        )
    return [
        f"{Path(folder).relative_to(root).as_posix()}/: an empty folder, no file to import"
        for folder, held in sorted(holds.items())
        if not held
        and holds.get(os.path.dirname(folder), True)
        and Path(folder) != root
        and not any(part.startswith(".") for part in Path(folder).relative_to(root).parts)
    ]


def import_images(
    images_dir: Path | str,
    out_dir: Path | str,
    *,
    site: str | None = None,
    roi_map: Mapping[str, Any] | None = None,
    modality: str | None = None,
    image: str = "",
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import every patient below ``images_dir`` into the cohort folder ``out_dir``.

    ``site`` is the cohort's site (only its organ names count); ``roi_map`` names the GTV/organ
    structures where names alone do not (see :func:`check_roi_map`); ``modality`` is that of
    the volume files (NIfTI, NRRD: they carry none; unless said, what the name of a case's
    image gives, 't1ce': MR, else CT, as ``score`` reads a patient folder), and picks the image
    of a case holding several (HECKTOR's ``__CT`` and ``__PT``; of a DICOM PET/CT study whose
    contours were drawn on the CT, the PET with ``PT``); ``image`` names it where
    names do not say (BraTS's ``t1ce`` among ``t1``, ``t2``, ``flair``); ``workers`` processes read
    headers and import patients (default: every CPU); ``progress`` gets one line per patient.
    A patient that cannot be imported is reported with its reason and the others go on; a case
    of an earlier import whose patient this download lacks stays, reported as ``absent``.
    Another import into ``out_dir`` running meanwhile is a :class:`ConfigError` (each deleted
    the other's half-built cases); a killed one's leftovers are removed.
    """
    started = time.perf_counter()
    roi_map = check_roi_map(roi_map)
    if "gtv" not in roi_map["default"] and (found := dataset_roles(Path(images_dir), site)):
        roles, said = found
        roi_map = {**roi_map, "default": {**roles, **roi_map["default"]}}
        if progress:
            progress(f"note: {said}")
    modality = modality.upper() if modality else None
    if modality is not None and modality not in VOLUME_MODALITIES:
        raise ConfigError(
            f"Modality of volume files must be one of {', '.join(VOLUME_MODALITIES)}, "
            f"not {modality!r}."
        )
    if workers is not None and workers < 1:
        raise ConfigError(f"Number of workers must be at least 1 (got {workers}).")
    out_dir = Path(out_dir).expanduser().resolve()
    _check_output(out_dir)
    with folder_lock(out_dir, IMPORT_LOCK, "cohort import"):
        return _import_into(
            Path(images_dir), out_dir, site, roi_map, modality, image, workers, progress, started
        )


def _import_into(
    images_dir: Path,
    out_dir: Path,
    site: str | None,
    roi_map: Mapping[str, Any],
    modality: str | None,
    image: str,
    workers: int | None,
    progress: Callable[[str], None] | None,
    started: float,
) -> ImportResult:
    """:func:`import_images`' work, the folder locked."""
    _prepare(out_dir)
    key, deid = load_key(), Deidentifier()
    outcomes: list[PatientOutcome] = []
    replaced: list[str] = []

    def done(outcome: PatientOutcome) -> None:
        if outcome.patient in said:
            outcome = replace(outcome, reason=_joined(outcome.reason, said[outcome.patient]))
        if outcome.status == "failed" and outcome.patient in existing:
            outcome = replace(outcome, reason=_joined(outcome.reason, _KEPT))
        if outcome.status == "imported" and outcome.patient in other_images:
            outcome = replace(outcome, reason=_joined(outcome.reason, _OTHER_IMAGES))
            replaced.append(outcome.patient)
        outcomes.append(outcome)
        if progress:
            detail = f": {outcome.reason}" if outcome.reason else ""
            progress(f"{len(outcomes)}/{total} {outcome.patient} {outcome.status}{detail}")

    with inventory_tree(images_dir, workers=workers, hash_files=True) as inventory:
        existing = records_in_place(out_dir)
        try:
            reads = case_reads(out_dir)
        except InputError:  # a manifest damaged by hand: written anew, its cases' keys unknown
            reads = {}
        withdrawn = withdrawn_cases(out_dir)
        tasks = []
        case_ids = {name: patient_case_id(p, deid) for name, p in inventory.patients.items()}
        renamed = _earlier_case_ids(inventory.patients, case_ids, existing, key)
        case_ids |= renamed  # reported under the case it has, never as a second one
        shared = {c for c, n in Counter(case_ids.values()).items() if n > 1}
        said = _same_images(inventory.patients, case_ids, existing, key)
        for name in renamed:  # a case id is never changed under a patient: said, not refused
            said[case_ids[name]] = _joined(said.get(case_ids[name], ""), _MARKS_CHANGED)
        other_images: set[str] = set()  # cases whose images are none of the earlier import's
        archives = _unopened_archives(inventory, deid)
        for case_id in set(archives) & set(case_ids.values()):  # an archive in a patient's folder
            said[case_id] = _joined(said.get(case_id, ""), archives.pop(case_id))
        total = len(inventory.patients) + len(archives)
        for case_id, reason in sorted(archives.items()):
            done(PatientOutcome(case_id, "failed", reason))
        unmatched = _unmatched_entries(roi_map, inventory.patients, case_ids)
        table_keys = _table_only_keys(inventory.patients, case_ids, deid)
        for name, patient in inventory.patients.items():
            case_id = case_ids[name]
            if case_id in withdrawn:  # deleted alone, the case came back without a word
                done(PatientOutcome(case_id, "withdrawn", withdrawn_note(withdrawn[case_id])))
                continue
            if case_id in shared:  # a DICOM PatientID and a volume folder named alike
                done(PatientOutcome(case_id, "failed", _SHARED_CASE_ID))
                continue
            try:
                task = _plan(patient, case_id, key, out_dir, site, roi_map, modality, image)
            except InputError as err:
                done(
                    PatientOutcome(case_id, "failed", scrub(str(err), patient.identifiers, case_id))
                )
                continue
            earlier = existing.get(case_id, {})
            if earlier.get("content_hash") == task.content_hash and _intact(
                out_dir, case_id, earlier
            ):
                # kept since: SOP UIDs too, a folder name shared with another centre's patient
                said_then = (earlier.get("images"), earlier.get("name_key", ""))
                if said_then != (list(task.images), task.name_key):
                    keys = kept_cache_keys(reads.get(case_id), earlier.get(CACHE_KEYS, {}))
                    updated = {k: v for k, v in earlier.items() if k not in _KEPT_IF_ANY}
                    updated |= {"images": task.images, **_kept_if_any(keys, task.name_key)}
                    _write_record(out_dir / "cases" / case_id, updated)
                done(PatientOutcome(case_id, "unchanged"))
            else:
                if _holds_none_of(earlier, task.images):
                    other_images.add(case_id)
                before = earlier.get(CACHE_KEYS, {})
                tasks.append(replace(task, replaces=reads.get(case_id), cached_before=before))
        _run_tasks(tasks, workers, done)
        n_files, skipped = inventory.n_files, [*inventory.skipped, *_empty_folders(inventory.root)]
    if replaced and progress:
        progress(f"warning: {_REPLACED.format(len(replaced))}")
    absent = sorted(set(existing) - set(case_ids.values()) - set(archives))
    outcomes += [PatientOutcome(case_id, "absent", _ABSENT.format(case_id)) for case_id in absent]
    if absent and progress:
        progress(
            f"{len(absent)} patient(s) of earlier imports are not in this download and stay in "
            "the cohort (import_report.csv lists them as absent)."
        )
    if unmatched and progress:  # the entries are PatientIDs: counted, never named here
        progress(f"note: {_UNMATCHED_ENTRIES.format(len(unmatched))}")
    records = records_in_place(out_dir)  # read once: nothing below changes a case
    rekeyed = _rekey_table_rows(out_dir, table_keys, set(records))
    outcomes = [
        replace(o, reason=_joined(o.reason, _REKEYED)) if o.patient in (rekeyed or ()) else o
        for o in outcomes
    ]
    if rekeyed and progress:
        progress(
            f"{len(rekeyed)} row(s) of clinical.csv, keyed by a table-only import by pseudonym, "
            "re-keyed to their patients' case ids (import_report.csv names them)."
        )
    shutil.rmtree(out_dir / STAGING, ignore_errors=True)
    modalities = _write_tables(out_dir, outcomes, records)
    seconds = time.perf_counter() - started
    return ImportResult(
        out_dir,
        outcomes,
        seconds,
        n_files,
        skipped,
        modalities,
        rekeyed=None if rekeyed is None else len(rekeyed),
        unmatched_roi_entries=unmatched,
        replaced=sorted(replaced),
    )
