"""Store uploaded files under the data folder, de-identified and keyed by their content.

Before a byte is written, every file is cleaned in memory (:mod:`survival_core.io.deid`): DICOM
files, loose or inside a zip (whose members are checked by :func:`~survival_core.io.archive.
extract_zip` first), are de-identified and renamed after their new SOP instance UID; a zip holding
DICOM is named after the case pseudonym and its folders after keyed hashes of their names;
NIfTI/NRRD/MetaImage free text is blanked; clinical CSV/JSON keep only ``case_id`` and the
schema's variables; a volume's JSON sidecar (dcm2niix's 'T1.json' beside 'T1.nii.gz') keeps only
the MR weighting it gives, stored as that volume's sidecar. File type is decided by content,
never by extension (except CSV/JSON text); a file whose content is not what its name says is
refused before anything is kept.

Only what a case is read from is stored: DICOM image slices, RTSTRUCTs and SEGs (an RT plan, a
dose grid or a report is never read, and its own text may name the patient, nor is a zip's text
report, PDF or picture), volumes and their detached voxel files, and of a clinical
file the rows of the upload's own patients, under the case id their images got (never the
hospital's ID it was keyed by), and a copy of a DICOM file once (the same SOP instance UID and
data set, as a folder read reads it; files of one UID whose data differ are refused, naming
both). What was left out is said by kind and count in the folder's :data:`NOTES_FILE` (never by
the uploaded file's name, which may be the patient's).

An upload then goes to ``<data>/cases/upload-<sha256 prefix>/``, the hash taken over the
de-identified content and stored names, a clinical CSV or JSON counted by a keyed digest of its
uploaded bytes (what it keeps depends on the variables models offer when it is stored): the same
upload always lands in the same folder, whichever models are registered meanwhile, so a re-upload
reuses earlier work, an open case keeps its name, and two different uploads can never be mixed
up. A variable offered later is added to the folder's clinical file (:func:`_refresh`).

File names are often the patient's ('Zyxwv_Qwerty_GTV.nii.gz'), so no uploaded file or folder name
is stored (:func:`neutral_names`): the uploaded names are read in memory only, and a volume is
stored under its structure label ('GTV.nii.gz': only the words that say what it holds, all that
matching structures to roles and telling the image from the masks need later). No mapping to the
uploaded names is kept. Folders stored before this, under the uploaded names, still load.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

import pandas as pd
from pydicom.dataset import Dataset
from pydicom.uid import MediaStorageDirectoryStorage

from survival_core.errors import ArchiveError, ClinicalValueError, DicomError, InputError
from survival_core.io.archive import extract_zip
from survival_core.io.clinical import OUTCOME_COLUMNS, SCHEMA, key_names, unique_pairs
from survival_core.io.clinical_schema import (
    YES_NO,
    SchemaVariable,
    cached_hcc_schema,
    each_read_as,
    names_the_patient,
    nearly_named,
    reads_as_one_of,
    says_no_value,
)
from survival_core.io.dataset_layout import nnunet_channels, several_cases
from survival_core.io.deid import (
    Deidentifier,
    blank_metaimage_bytes,
    blank_nifti_bytes,
    blank_nrrd_bytes,
    deidentify_dicom,
    read_dicom_bytes,
)
from survival_core.io.delimited import (
    check_row_widths,
    decode_text,
    file_marks,
    sniff_delimiter,
    table_records,
    table_text,
)
from survival_core.io.dicom_series import (
    copies_among,
    is_cut_image,
    is_image_slice,
    is_rtstruct,
    is_seg,
    sop_class,
)
from survival_core.io.filetype import (
    HEAD_BYTES,
    check_file_type,
    claimed_type,
    is_os_clutter,
    sniff,
)
from survival_core.io.headers import ID_NAMES, parse_header
from survival_core.io.mr_sequence import SIDECAR_KEYS, said_sequence, sidecar_text
from survival_core.io.structures import IMAGE_FOLDERS, MASK_WORDS, structure_label, unread_words
from survival_core.io.volume import is_volume_file, volume_stem
from survival_core.once import OncePerKey
from survival_core.paths import data_subdir
from survival_core.text import first_few

#: Largest single upload accepted, in bytes (Streamlit's own limit is in .streamlit/config.toml).
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
#: Clinical columns (CSV) or keys (JSON) kept from an upload; anything else may identify.
CLINICAL_KEEP = frozenset({"case_id", *(v.name for v in SCHEMA)})
#: The id a clinical CSV's one row is stored under where the upload's images carry no patient ID
#: to key it by (volumes): their case is named after the upload's folder, which is known only
#: once the row is stored (:func:`~survival_core.io.upload_case.load_upload` maps the two).
UPLOAD_ROW = "upload"
#: What the cleaning left out of an upload, by kind and count: a JSON list of lines, beside it.
NOTES_FILE = "upload-notes.json"
#: Why a clinical file was not stored, by whether the images carry patient IDs to match it by.
_UNMATCHED = {
    True: "clinical file(s) of none of the images' patients (IDs are matched as a cohort import "
    "matches them: exactly, but for spaces around them)",
    False: "clinical CSV file(s) of several rows, while the images carry no patient ID to pick "
    "theirs by (upload this patient's row alone)",
}

#: What a clinical CSV's token (:func:`_token`) is taken after: its stored copy writes its numbers
#: in normal form, read deciding none (``read_clinical_table(stored=True)``). A folder stored
#: before, its numbers as uploaded ('1,200' of a comma-delimited file: 1200), was reused and read
#: so, the AFP refused as ambiguous: the same upload now lands in a new folder once.
_NORMAL_FORM = b"numbers in normal form\0"
#: ``(uploaded name, kind)`` of each file an upload's cleaning left out.
LeftOut = list[tuple[str, str]]
#: A cleaned file: ``(uploaded name, own name or None, cleaned bytes, address token)``, the token
#: what it counts as in its upload's folder name (:func:`_token`).
Cleaned = tuple[str, str | None, bytes, bytes]
#: The kinds a zip's member is kept as by its extension (:func:`claimed_type`): what a case is
#: read from; other members (a text report, a PDF, a .tsv table, a picture) are left out.
READ_KINDS = frozenset({"dicom", "nifti", "nrrd", "metaimage", "zip"})
#: Files a MetaImage (.mhd) or NRRD (.nhdr) header keeps its voxels in: kept as they are.
DETACHED_DATA_SUFFIXES = (".raw", ".raw.gz", ".zraw", ".img", ".img.gz", ".dat")
#: Why a volume's JSON sidecar was left out.
_NO_WEIGHTING = "JSON sidecar(s) of a volume naming no MR weighting (a CT's, or no usable name)"
#: Why a clinical JSON's key or CSV's column was left out (its value may identify; a misspelt
#: variable's is then imputed, so the key is named on the Case page).
_NOT_A_VARIABLE = "clinical value(s) under a key or column naming no model's variable, not read"
#: Why a zip's member of another kind was left out.
_NOT_READ = (
    "file(s) no case is read from (a report, a document, a picture), whose text may name the "
    "patient"
)
#: Why a copy of another uploaded DICOM file was left out (:func:`_copies`).
_COPY = (
    "file(s) repeating another uploaded file (the same SOPInstanceUID and data, pixels included: "
    "a copy, as a PACS export or a DICOMDIR beside its files may hold), read once"
)

#: Characters a stored name keeps: letters and digits of any script ('山田太郎_腫瘍' stays apart
#: from '山田太郎_画像': as '___' both, two files under one name were refused), '.', '_', '-'.
_SAFE_NAME = re.compile(r"[^\w.-]+")
_ZIP_MAGIC = b"PK\x03\x04"
_SHORT_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")
#: Folder names of an archive kept as they are: they tell the loader the image from the masks.
_TELLING_FOLDERS = IMAGE_FOLDERS | MASK_WORDS


def safe_name(name: str) -> str:
    """A file name reduced to its base name, its letters and digits (of any script), '.', '_'
    and '-' (:data:`_SAFE_NAME`)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")
    if not cleaned:
        raise InputError(f"Uploaded file name {name!r} is not usable.")
    return cleaned


def _neutral_parts(name: str) -> tuple[str, str, bool]:
    """(stem, suffix, always numbered) of the neutral name of one uploaded non-DICOM file."""
    lowered = name.lower()
    if lowered.endswith(".json"):  # read as the case's clinical values, whatever its name
        return "clinical", ".json", False
    if is_volume_file(name):
        stem = volume_stem(name)
        label, suffix = structure_label(stem), lowered[len(stem) :]
        return (label, suffix, False) if label else ("volume", suffix, True)
    suffix = Path(lowered).suffix
    if suffix == ".csv":
        return "clinical", suffix, False
    if suffix == ".zip":
        return "upload", suffix, False
    return "file", suffix if _SHORT_SUFFIX.fullmatch(suffix) else "", True


def neutral_names(names: list[str], sidecars: Iterable[str] = ()) -> dict[str, str]:
    """Uploaded name -> stored name of the non-DICOM files of one folder, no stored name taken
    from a part of the uploaded one that could name the patient: a volume is named by its
    structure label (:func:`~survival_core.io.structures.structure_label`,
    'Zyxwv_Qwerty_GTV-1.nii.gz' -> 'GTV-1.nii.gz'), else 'volume-1.nii.gz'...; a CSV is
    'clinical.csv', a JSON 'clinical.json', a zip is 'upload.zip', anything else
    'file-1.txt'... Repeats get '-2', '-3' in the order of the uploaded names, so the same upload
    always gets the same names; two files under one uploaded name are refused. A JSON of
    ``sidecars`` (a volume's sidecar, by content) is named as the sidecar of the volume named
    like it ('T1_mprage.json' beside 'T1_mprage.nii.gz': dcm2niix's), else 'sidecar-1.json'...
    (read by nothing); never 'clinical.json', the clinical values' name."""
    sidecars = set(sidecars)
    stored = _neutral_names([n for n in names if n not in sidecars])
    volumes = {volume_stem(n).lower(): n for n in stored if is_volume_file(n)}
    orphans = itertools.count(1)
    for name in sorted(sidecars):
        volume = volumes.get(volume_stem(name).lower())
        stem = volume_stem(stored[volume]) if volume else f"sidecar-{next(orphans)}"
        stored[name] = stem + ".json"
    return stored


def _neutral_names(names: list[str]) -> dict[str, str]:
    """:func:`neutral_names` of files none of which is a sidecar. An nnU-Net image channel keeps
    its channel after its label map's stored stem ('P003_0000.nii.gz' beside 'P003.nii.gz' ->
    'volume-1_0000.nii.gz' beside 'volume-1.nii.gz'): the pair still tells image from mask."""
    _check_told_apart(names)
    stored: dict[str, str] = {}
    taken: set[str] = set()
    channels = nnunet_channels(names)
    for name in [*sorted(set(names) - set(channels)), *sorted(channels)]:
        if name in stored:
            raise InputError(f"Two uploaded files are both named {name}.")
        stem, suffix, numbered = _neutral_parts(name)
        if name in channels:
            label_map, channel = channels[name]
            stem, numbered = f"{volume_stem(stored[label_map])}_{channel}", False
        numbers = itertools.count(1) if numbered else itertools.chain([0], itertools.count(2))
        candidates = (f"{stem}-{n}{suffix}" if n else stem + suffix for n in numbers)
        stored[name] = next(c for c in candidates if c.lower() not in taken)
        taken.add(stored[name].lower())
    return stored


def _check_told_apart(names: list[str]) -> None:
    """Refuses volumes told apart only by words of another script: stored without them (they
    may name the patient), 'GTV_术前' and 'GTV_术后' (before and after surgery) became 'GTV_other'
    and 'GTV_other-2', two lesions of one GTV, united."""
    by_label: dict[str, list[str]] = {}
    for name in names:
        if is_volume_file(name) and (label := structure_label(volume_stem(name))):
            by_label.setdefault(label.lower(), []).append(name)
    for same in by_label.values():
        if len({unread_words(volume_stem(name)) for name in same}) > 1:
            listed = ", ".join(map(repr, sorted(same)))
            raise InputError(
                f"{listed} differ only in words of another script, which stored names leave out "
                "(they may name the patient): they would be read as one (two drawings of a "
                "structure united, two images as one). Rename them with Latin words saying how "
                "they differ: 'GTV_pre' and 'GTV_post', 'CT_pre' and 'CT_post'; 'GTV_1' and "
                "'GTV_2' for two lesions."
            )


def uploaded_volume_names(names: Iterable[str]) -> dict[str, str]:
    """Stored name -> uploaded name of the loose volume files of an upload, to show a volume
    under the name its user knows it by (in memory only: no mapping is stored). The stored names
    are :func:`neutral_names`' of the volumes alone: no other file takes a volume's stem."""
    uploaded = {safe_name(name): name for name in names if is_volume_file(name)}
    stored = neutral_names(list(uploaded))
    return {stored[safe]: name for safe, name in uploaded.items() if stored[safe] != name}


def uploaded_dicom_names(files: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """Stored name -> uploaded name of an upload's DICOM files, a zip's by their path in it
    ('2.25.4171….dcm' -> 'mask/RS.dcm'), to name a file in messages as its user knows it (in
    memory only: no mapping is stored). A DICOM file is stored under its SOP instance UID as
    de-identification remaps it (:meth:`~survival_core.io.deid.Deidentifier.uid`); the upload
    was checked and stored before (:func:`store_upload`), so its zips are read as they are."""
    deid = Deidentifier()
    names: dict[str, str] = {}
    for name, content in files:
        if content[:4] != _ZIP_MAGIC:
            members = [(name, content)]
        else:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                listed = [i for i in archive.infolist() if not i.is_dir()]
                members = [(i.filename, archive.read(i)) for i in listed]
        for member, data in members:
            try:
                ds = read_dicom_bytes(data)
            except DicomError:  # refused when stored: nothing to name
                continue
            if ds is not None and "SOPInstanceUID" in ds:
                names[f"{deid.uid(str(ds.SOPInstanceUID))}.dcm"] = member
    return names


def as_uploaded(text: str, names: Mapping[str, str]) -> str:
    """``text`` (a message, a structure's name) with each stored file name of ``names``
    (:func:`uploaded_volume_names`, :func:`uploaded_dicom_names`) followed by the name it was
    uploaded under."""
    if not names:
        return text
    pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.sub(  # a label map's structure keeps its label: 'volume-1.nii.gz:2 (uploaded as ...)'
        rf"(?<![\w.-])({pattern})(:\d+(?:\.\d+)?)?(?!\.?[\w-])",
        lambda match: f"{match[1]}{match[2] or ''} (uploaded as {names[match[1]]})",
        text,
    )


def _named(files: list[Cleaned], neutral: bool) -> list[tuple[str, str, bytes, bytes]]:
    """Cleaned files of one folder as ``(uploaded name, stored name, bytes, token)``: stored
    under the own name (a DICOM file's SOP instance UID), else the uploaded one or, with
    ``neutral``, a neutral one."""
    loose = [(name, data) for name, own, data, _ in files if own is None]
    sidecars = [
        name for name, data in loose if name.lower().endswith(".json") and _is_sidecar(data)
    ]
    renamed = neutral_names([name for name, _ in loose], sidecars) if neutral else {}
    return [(name, own or renamed.get(name, name), data, t) for name, own, data, t in files]


def _token(name: str, uploaded: bytes, cleaned: bytes, deid: Deidentifier) -> bytes:
    """What a cleaned file counts as in its upload's folder name (:func:`_store`): a CSV or JSON
    keeps the columns of the variables models offer when it is stored, so it counts as a keyed
    digest of the file as uploaded (a model registered meanwhile moved an open case to another
    folder, its corrections lost), a CSV's after :data:`_NORMAL_FORM`; any other file as the
    digest of its cleaned bytes."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return deid.content_token(_NORMAL_FORM + _as_valued(uploaded))
    if lowered.endswith(".json"):
        return deid.content_token(_as_valued(uploaded))
    return hashlib.sha256(cleaned).digest()


def _as_valued(content: bytes) -> bytes:
    """A clinical file's bytes as its values are, not as an editor saved them: a JSON object with
    its keys sorted, a CSV's text without a byte-order mark, with one kind of line ending and
    no blanks at line ends (the same values saved by Excel, CRLF, became another case)."""
    text = content.decode("utf-8-sig", errors="surrogateescape")
    try:
        return json.dumps(json.loads(text), sort_keys=True).encode()
    except ValueError:
        lines = [line.rstrip() for line in text.splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines).encode(errors="surrogateescape")


def _clinical_csv(
    name: str,
    content: bytes,
    keep: frozenset[str],
    offered: Sequence[SchemaVariable],
    left_out: LeftOut,
) -> bytes:
    """The kept columns of a clinical CSV as UTF-8 in its own delimiter (comma, semicolon, tab,
    pipe or the one Excel's 'sep=' line names; its numbers as the whole file reads them, in normal
    form: :func:`_as_read_whole`), a column kept as a model's schema reads its header
    (:func:`_kept_key`: 'Albumin (g/L)', 'Karnofsky_score'), the header as written (its unit is
    checked when read), the patient ID's under any
    name the cohort import reads it by (:func:`_id_name`: 'Patient ID', 'MRN') as ``case_id``;
    the others noted in ``left_out`` by header (a misspelt variable's values were imputed without
    a word), a near miss of a variable refused (:func:`_left_out_keys`). A row with a filled cell
    after the header's columns is refused (:func:`check_row_widths`): cut to them, its values
    were stored under the wrong columns or dropped."""
    text, _ = decode_text(content, name)
    text, delimiter, _ = table_text(text, name)
    try:
        rows, at = table_records(text, delimiter)  # the header after any blank line
    except csv.Error as err:
        raise InputError(f"{name} is not a readable CSV file ({err}).") from err
    if at == len(rows):
        return b""
    first, body = rows[at], rows[at + 1 :]
    check_row_widths(name, len(first), enumerate(body, start=at + 2))  # cut to the header below
    names = [parse_header(str(c).strip()).name for c in first]  # 'Albumin (g/L)': albumin
    id_name = _id_name(names)  # as case_id; a GDC UUID 'case_id' beside TCGA's barcode not kept
    header = ["case_id" if n == id_name else "" if n == "case_id" else n for n in names]
    kept = [
        i
        for i, column in enumerate(header)
        if column == "case_id" or (column and _kept_key(first[i], offered))
    ]
    if not kept:
        raise InputError(_nothing_to_read(name, first, keep))
    rows = _as_read_whole(name, body, header, delimiter)
    given = {  # outcomes are no misspelt variables: left out unsaid
        str(c).strip(): [row[i] for row in rows]
        for i, c in enumerate(first)
        if i not in kept and str(c).strip() and not key_names(c) & OUTCOME_COLUMNS
    }
    stored = [first[i] for i in kept if header[i] != "case_id"]
    left_out += _left_out_keys(name, given, stored, offered)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["case_id" if header[i] == "case_id" else first[i] for i in kept])
    for row in rows:
        writer.writerow([row[i] for i in kept])
    return out.getvalue().encode()


def _kept_key(key: str, offered: Sequence[SchemaVariable]) -> bool:
    """Whether a clinical CSV's column or JSON's key, as written, is stored: it reads as one of
    the ``offered`` variables (:func:`_kept_variables`) as a model's schema reads it
    (:func:`reads_as_one_of`: 'Cell type' and 'Karnofsky_score' under Karnofsky_score were left
    out, their values imputed; 'AFP ng/mL', its unit bare, too), never a key naming the patient.
    The patient ID's and an outcome's are not (:func:`_id_name` picks the ID's)."""
    return not key_names(key) & OUTCOME_COLUMNS and reads_as_one_of(str(key).strip(), offered)


def _left_out_keys(
    name: str,
    given: Mapping[str, list],
    stored: Iterable[str],
    offered: Sequence[SchemaVariable],
) -> LeftOut:
    """The keys of clinical file ``name`` left out (``given``: their values as written), each as
    the Case page names it, with the variable of ``offered`` (:func:`_kept_variables`) it nearly
    names ('karnofsky' beside Karnofsky_score: its value is not stored, whatever it holds). One
    nearly naming a variable that no ``stored`` key gives, with a value that variable could take,
    is refused: left out, the variable was imputed, the value given lost, with a note alone (one
    patient's scoring refuses it); not one whose values all say they are not known ('NA':
    :func:`says_no_value`), noted alone. Never a key naming the patient ('Patient name' nearly
    names patient_age): it is only left out."""
    given_variables = set().union(*(each_read_as(k, offered) for k in stored))
    missing = [v for v in offered if v not in given_variables]
    notes: LeftOut = []
    for key, values in given.items():
        filled = [v for v in values if not says_no_value(v)]  # 'NA' loses nothing
        near = nearly_named(key, missing, filled) if not names_the_patient(key) else None
        if near is not None:
            raise ClinicalValueError(
                f"{name}: {key!r} is none of the models' variables but nearly names "
                f"{near.name!r}, which the file gives under no other key: a key naming no "
                "variable is not stored (its value may identify the patient), so its value "
                f"would be lost and {near.name} imputed. Give it under that name, or remove it."
            )
        near = nearly_named(key, offered, filled or [None])
        hint = f" (nearly {near.name}: give it under that name)" if near else ""
        notes.append((name, f"{_NOT_A_VARIABLE}: {key!r}{hint}"))
    return notes


def _kept_variables(
    keep: frozenset[str], variables: frozenset[SchemaVariable]
) -> tuple[SchemaVariable, ...]:
    """The variables of ``keep`` by name, as ``variables`` (the offered models' schemas') or the
    HCC schema give them, one given by neither as a variable that may take any value: worked
    out once per upload (:func:`_deidentify`, :func:`_lost_columns`), not per file."""
    known = sorted({*variables, *cached_hcc_schema().variables}, key=lambda v: (v.name, v.kind))
    names = keep - OUTCOME_COLUMNS - {"case_id"}
    unknown = sorted(names - {v.name for v in known})
    return (
        *(v for v in known if v.name in names),
        *(SchemaVariable(n, YES_NO) for n in unknown),
    )


def _nothing_to_read(name: str, written: list[str], keep: frozenset[str]) -> str:
    """Why a clinical CSV gives nothing: none of its columns (``written``) names the patient ID
    or a variable of ``keep`` (a Chinese '患者编号,年龄', a German 'Kennung,Alter'); its stored
    copy was empty, and the Case page said pandas' 'No columns to parse from file'."""
    columns = first_few([repr(str(c).strip()) for c in written], 8)
    variables = first_few(sorted(keep - {"case_id"}), 12)
    return (
        f"{name}: no patient ID column among its columns as written ({columns}), and none "
        f"naming the model's variables ({variables}), so nothing of it can be read. Head the ID "
        "column 'case_id' (or 'Patient ID', 'MRN') and the values' columns by the variables' "
        "names, or upload the images without it."
    )


def _id_name(names: Iterable[str]) -> str | None:
    """The one of a clinical file's header or key ``names`` (:func:`parse_header`'s) naming the
    patient ID, as the cohort import finds it: the first of :data:`ID_NAMES` among them ('Patient
    ID', 'PatientID', 'MRN'; only 'case_id' was, the others' IDs left out, the row never matched
    to the images' patient and another patient's clinical.json read as theirs)."""
    given = set(names)
    return next((name for name in ID_NAMES if name in given), None)


def _as_read_whole(
    name: str, body: list[list[str]], header: list[str], delimiter: str
) -> list[list[str]]:
    """A clinical CSV's ``body`` rows (``header``: its columns' names), each as wide as the
    header, with each number written as the whole file reads it, in normal form
    (:meth:`~survival_core.io.delimited.NumberMarks.normal`: '72,5' as '72.5', a '1.170' the
    file's decimal commas decide as '1170'), one the whole file leaves undecided as written: cut
    to the kept columns and own rows, the marks left there decided it otherwise ('1.200' read as
    1200 beside a kept '41,5', the file's '72.5' of a weight no model reads left out)."""
    width = len(header)
    cells = pd.DataFrame([[*row[:width], *[""] * (width - len(row))] for row in body])
    cells = cells.reindex(columns=range(width), fill_value="")
    numbers = [at for at in range(width) if header[at] != "case_id"]
    cells[numbers] = file_marks(cells[numbers], name, delimiter).normal(cells[numbers])
    return cells.to_numpy(object).tolist()


def _stored_ids(ids: list[str], case_ids: Mapping[str, str]) -> list[str | None]:
    """The case id each clinical row (of id ``ids``) is stored under, None for a row not stored:
    a row of one of the upload's patients (``case_ids``: original PatientID -> case id), matched
    as a cohort import's ``id_map.csv`` matches it (exactly, but for spaces around it), under the
    case id their images got; where the images carry no patient ID (volumes), a single row, the
    case's own, under :data:`UPLOAD_ROW`."""
    if not case_ids:
        return [UPLOAD_ROW] if len(ids) == 1 else [None] * len(ids)
    return [case_ids.get(i.strip()) for i in ids]


def _own_rows(content: bytes, case_ids: Mapping[str, str]) -> bytes | None:
    """A cleaned clinical CSV (:func:`_clinical_csv`) with only the rows of the upload's own
    patients, each under the case id their images got (:func:`_stored_ids`): keyed by the
    hospital's patient ID, it kept that ID and every other patient's row, and the case was named
    and logged by it. None when no row is theirs: nothing of it is stored (it was kept whole,
    other patients' IDs with it). A CSV inside a zip is cut by the patients of the files read
    before it (its own zip's, and earlier files')."""
    try:
        text = content.decode()
    except UnicodeDecodeError:  # not a cleaned CSV (a zip uploaded under a .csv name)
        return content
    if not text.strip():
        return content
    delimiter = sniff_delimiter(text)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = [parse_header(str(c).strip()).name for c in rows[0]]
    if "case_id" not in header:  # only the kept columns: no ID to hide, none to cut by
        return content
    at = header.index("case_id")
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    stored = _stored_ids([row[at] if at < len(row) else "" for row in body], case_ids)
    own = [(row, case_id) for row, case_id in zip(body, stored, strict=True) if case_id]
    if not own:
        return None
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(rows[0])
    for row, case_id in own:
        writer.writerow([case_id if i == at else v for i, v in enumerate(row)])
    return out.getvalue().encode()


def _own_json(content: bytes, case_ids: Mapping[str, str]) -> bytes | None:
    """A cleaned clinical.json (:func:`_clean_json`, one patient's values) under the case id
    its patient's images got (:func:`_stored_ids`; without a ``case_id`` where the images carry
    no patient ID, the case being named after the upload); None when it names none of the
    upload's patients. Its ``case_id`` names the case it is read with: the hospital's ID named
    the case, while the images were pseudonymised."""
    try:
        values = json.loads(content)
    except ValueError:  # not a cleaned clinical.json (a zip or DICOM file under a .json name)
        return content
    if "case_id" not in values:
        return content
    (case_id,) = _stored_ids([str(values["case_id"])], case_ids)
    if case_id is None:
        return None
    del values["case_id"]
    own = values if case_id == UPLOAD_ROW else {"case_id": case_id, **values}
    return json.dumps(own, indent=1).encode()


#: The cut of each kind of clinical file to the upload's own patients, by suffix.
_OWN_CLINICAL = {"csv": _own_rows, "json": _own_json}


def _with_own_rows(files: list[Cleaned], deid: Deidentifier, left_out: LeftOut) -> list[Cleaned]:
    """Cleaned files, each clinical CSV or JSON cut to the rows of the upload's patients
    (:func:`_own_rows`, :func:`_own_json`) by the case ids ``deid`` gave them; one holding none
    of theirs is dropped, noted in ``left_out``."""
    case_ids = deid.case_ids()
    kept = []
    for name, own, data, token in files:
        cut = _OWN_CLINICAL.get(name.lower().rsplit(".", 1)[-1])
        own_data = cut(data, case_ids) if cut else data
        if own_data is None:
            left_out.append((name, _UNMATCHED[bool(case_ids)]))
        else:
            kept.append((name, own, own_data, token))
    return kept


def _clean_json(
    name: str,
    content: bytes,
    keep: frozenset[str],
    offered: Sequence[SchemaVariable],
    left_out: LeftOut,
) -> bytes | None:
    """A clinical JSON's ``keep`` keys, matched as a clinical CSV's headers are ('AFP', 'Albumin
    (g/L)', 'Cell type': :func:`_kept_key`; 'Case ID' or 'Patient ID'
    kept as case_id: :func:`_id_name`; only keys in lower case were kept, the others' values
    imputed unsaid), the others noted in ``left_out`` by key, a near miss of a variable refused
    (:func:`_left_out_keys`); a volume's sidecar (keys :data:`SIDECAR_KEYS` and none of ``keep``)
    as :func:`sidecar_text` of the weighting it gives, None (noted in ``left_out``) when it gives
    none: the rest names the scanner, the site and the date."""
    try:
        raw = json.loads(content.decode("utf-8-sig"), object_pairs_hook=unique_pairs)
    except ClinicalValueError as err:  # a key given twice: JSON keeps the last silently
        raise ClinicalValueError(f"{name}: {err}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{name} is not valid JSON: {err}") from err
    if not isinstance(raw, dict):
        raise InputError(f"{name} must hold one object of name: value pairs.")
    id_name = _id_name(parse_header(k.strip()).name for k in raw)
    ids = [k for k in raw if id_name in key_names(k)]  # 'Patient ID', 'MRN': the case id
    if len(ids) > 1:  # kept under one key, the last would win unsaid
        raise ClinicalValueError(
            f"{name}: the case id is given under {' and '.join(map(repr, ids))}."
        )
    read = {k: "case_id" if k in ids else k for k in raw if k in ids or _kept_key(k, offered)}
    kept = {read[k]: v for k, v in raw.items() if k in read}
    if raw.keys() & SIDECAR_KEYS and not kept:
        sequence = said_sequence(raw)
        if sequence is None:
            left_out.append((name, _NO_WEIGHTING))
            return None
        return sidecar_text(sequence).encode()
    given = {  # outcomes are no misspelt variables: left out unsaid
        k: [v] for k, v in raw.items() if k not in read and not key_names(k) & OUTCOME_COLUMNS
    }
    stored = [k for k in read if k not in ids]
    left_out += _left_out_keys(name, given, stored, offered)
    return json.dumps(kept, indent=1).encode()


def _is_sidecar(data: bytes) -> bool:
    """Whether cleaned JSON ``data`` is a sidecar :func:`_clean_json` wrote (its weighting
    alone, which a clinical file's kept keys never are)."""
    try:
        said = json.loads(data)
    except ValueError:
        return False
    return isinstance(said, dict) and said.keys() == {"SeriesDescription"}


def _unread_kind(ds: Dataset) -> str | None:
    """What a complete DICOM object no case is read from is ('DICOM RTPLAN object': by its
    modality, else its SOP class), None for one a case is read from: an image slice, an RTSTRUCT
    or a SEG, as :func:`~survival_core.io.dicom_series.scan_dicom` files them; an image without
    rows and columns is said damaged (it was called an object no case is read from). An object
    without SOP class is incomplete, not unread: de-identifying refuses it, saying so."""
    uid = sop_class(ds)
    modality = str(ds.get("Modality", "")).upper()
    if uid is None or is_rtstruct(ds) or is_seg(ds):
        return None
    if is_image_slice(ds, modality):
        return None
    label = "DICOMDIR" if uid == MediaStorageDirectoryStorage else modality or uid.name
    if is_cut_image(ds):
        return f"DICOM {label} image(s) without pixel rows and columns (damaged or cut short)"
    return f"DICOM {label} object(s), which no case is read from"


def _clean_file(
    name: str,
    content: bytes,
    deid: Deidentifier,
    keep: frozenset[str],
    offered: Sequence[SchemaVariable],
    left_out: LeftOut,
    in_zip: bool = False,
) -> tuple[str | None, bytes, str | None] | None:
    """(own stored name, de-identified bytes, case pseudonym for DICOM) of one file; the own name
    is a DICOM file's SOP instance UID, None where the file has none. ``None`` drops the file: a
    DICOM object no case is read from (:func:`_unread_kind`: a plan, a dose grid, a report or a
    DICOMDIR index, whose own text may name the patient), and a member of a zip (``in_zip``) of
    no kind a case reads (a text report, a PDF, a picture), noted in ``left_out``."""
    try:
        ds = read_dicom_bytes(content)
        unread = _unread_kind(ds) if ds is not None else None
        if unread is not None:
            left_out.append((name, unread))
            return None
        dicom = deidentify_dicom(ds, deid) if ds is not None else None  # parsed once
    except DicomError as err:
        raise DicomError(f"{name}: {err}") from err
    if dicom is not None:
        cleaned, pseudonym, sop_uid, _ = dicom
        return (f"{sop_uid}.dcm" if sop_uid else None), cleaned, pseudonym
    cleaners: tuple[Callable[[bytes], bytes | None], ...] = (
        blank_nifti_bytes,
        blank_nrrd_bytes,
        blank_metaimage_bytes,
    )
    for cleaner in cleaners:
        blanked = cleaner(content)
        if blanked is not None:
            return None, blanked, None
    suffix = name.lower().rsplit(".", 1)[-1]
    if suffix == "csv":
        return None, _clinical_csv(name, content, keep, offered, left_out), None
    if suffix == "json":
        cleaned = _clean_json(name, content, keep, offered, left_out)
        return None if cleaned is None else (None, cleaned, None)
    claimed = claimed_type(name)
    read = claimed is not None and claimed[0] & READ_KINDS  # refused later if it is not
    if in_zip and not read and not name.lower().endswith(DETACHED_DATA_SUFFIXES):
        left_out.append((name, _NOT_READ))  # a report, a letter, a .tsv table or a picture in
        return None  # the zip was stored as it was, the patient's name and MRN in its text
    return None, content, None  # a loose file is then checked by type (and refused)


def _hide_folders(member: str, deid: Deidentifier, telling: frozenset[str]) -> str:
    """A member path with keyed hashes for its folder names, but for those in ``telling``."""
    path = PurePosixPath(member)
    parts = (p if p.lower() in telling else deid.folder_token(p) for p in path.parent.parts)
    return "/".join([*parts, path.name])


def _clean_zip(
    content: bytes,
    deid: Deidentifier,
    keep: frozenset[str],
    offered: Sequence[SchemaVariable],
    neutral: bool,
    left_out: LeftOut,
) -> tuple[str | None, bytes, bytes]:
    """A zip rebuilt from its de-identified members (checked and unpacked to a private temporary
    folder under the data folder's ``tmp``, removed at once), its own name (the case pseudonym
    when it holds DICOM) and its token (:func:`_token`, over its members'). With ``neutral``,
    members are named as loose files are (:func:`neutral_names`), folder by folder. Members left
    out are noted in ``left_out``."""
    found: list[tuple[PurePosixPath, Cleaned, Path]] = []  # folder, member, file as zipped
    pseudonyms: list[str] = []
    # under the data folder, whose retention removes what a killed process left (the system's
    # temporary folder kept the identified files for good)
    with tempfile.TemporaryDirectory(prefix="radsurv-deid-", dir=data_subdir("tmp")) as tmp:
        root = Path(tmp)
        for path in extract_zip(content, root):
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if is_os_clutter(relative.parts):  # a Mac zip's '__MACOSX/._GTV.nrrd': no volume
                continue
            uploaded = path.read_bytes()
            cleaned = _clean_file(relative.name, uploaded, deid, keep, offered, left_out, True)
            if cleaned is None:
                continue
            own, data, pseudonym = cleaned
            token = _token(relative.name, uploaded, data, deid)
            found.append((relative.parent, (relative.name, own, data, token), path))
            if pseudonym:
                pseudonyms.append(pseudonym)
        shown = [(str(folder / file[0]), file[1], path) for folder, file, path in found]
        copies = _copies(shown, left_out)  # read while unpacked
    folders: dict[PurePosixPath, list[Cleaned]] = {}
    order: list[tuple[PurePosixPath, str]] = []  # each member (folder, name), in archive order
    for folder, file, _ in (member for i, member in enumerate(found) if i not in copies):
        folders.setdefault(folder, []).append(file)
        order.append((folder, file[0]))
    named = {  # the patients' own clinical rows, now their IDs are known
        (folder, uploaded): (member, data, token)
        for folder, files in folders.items()
        for uploaded, member, data, token in _named(_with_own_rows(files, deid, left_out), neutral)
    }
    members: list[tuple[str, bytes, bytes]] = []
    written: dict[str, tuple[str, bytes]] = {}  # stored member -> (member as zipped, content)
    for folder, uploaded in order:
        if (folder, uploaded) not in named:  # a clinical file of none of the upload's patients
            continue
        member, data, token = named[folder, uploaded]
        stored, zipped = str(folder / member), str(folder / uploaded)
        if stored in written:  # one DICOM instance twice (its SOP instance UID names it)
            raise _one_instance(f"The zip's files {written[stored][0]} and {zipped}")
        written[stored] = (zipped, data)
        members.append((stored, data, token))
    # Folder names of exports are often the patient's name: keyed hashes replace them (but for
    # the image and mask folders of a volume archive, which say what they hold).
    if pseudonyms or neutral:
        telling = frozenset() if pseudonyms else _TELLING_FOLDERS
        members = [(_hide_folders(m, deid, telling), data, t) for m, data, t in members]
    buffer, digest = io.BytesIO(), hashlib.sha256()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member, data, token in members:
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED  # a bare ZipInfo stores: 2x the size
            archive.writestr(info, data, compresslevel=1)
            digest.update(member.encode() + b"\0" + token)
    own = f"{pseudonyms[0]}.zip" if pseudonyms else None
    return own, buffer.getvalue(), digest.digest()


def _deidentify(
    files: list[tuple[str, bytes]],
    keep: frozenset[str],
    neutral: bool,
    keep_marked: bool = True,
    variables: frozenset[SchemaVariable] = frozenset(),
) -> tuple[list[tuple[str, str, bytes, bytes]], LeftOut]:
    """``(uploaded name, stored name, de-identified content, token)`` of each file of an upload
    that is stored (:func:`_token`), and what was left out; ``variables`` give the kinds of
    ``keep``'s (:func:`_kept_variables`)."""
    deid = Deidentifier(keep_marked=keep_marked)
    offered = _kept_variables(keep, variables)  # once per upload, not per clinical file
    cleaned: list[Cleaned] = []
    instances: list[tuple[str, str | None, bytes]] = []  # each cleaned file's, as uploaded
    left_out: LeftOut = []
    zips: dict[str, int] = {}  # a zip's own name (its patient's pseudonym) -> zips so named
    for name, content in files:
        if len(content) > MAX_UPLOAD_BYTES:
            raise InputError(
                f"{name} is {len(content) / 2**20:.0f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB."
            )
        clean = safe_name(name)
        if content[:4] == _ZIP_MAGIC:
            try:
                own, data, token = _clean_zip(content, deid, keep, offered, neutral, left_out)
            except ArchiveError as err:  # a damaged zip, a member over a limit: which upload
                raise ArchiveError(f"{name}: {err}") from err
            if own is not None:  # one patient's CT and MR zips: 'RS-1.zip', 'RS-1-2.zip'
                zips[own] = zips.get(own, 0) + 1
                own = own if zips[own] == 1 else f"{own.removesuffix('.zip')}-{zips[own]}.zip"
            cleaned.append((clean, own, data, token))
            instances.append((clean, None, b""))  # its members' copies are left out of it
            continue
        result = _clean_file(clean, content, deid, keep, offered, left_out)
        if result is not None:
            own, data, _ = result
            cleaned.append((clean, own, data, _token(clean, content, data, deid)))
            instances.append((clean, own, content))
    copies = _copies(instances, left_out)
    cleaned = [file for i, file in enumerate(cleaned) if i not in copies]
    if keep_marked and deid.mixed_marks():  # one patient's files, some marked: none is trusted
        return _deidentify(files, keep, neutral, False, variables)
    return _named(_with_own_rows(cleaned, deid, left_out), neutral), left_out


def _copies(files: list[tuple[str, str | None, Path | bytes]], left_out: LeftOut) -> set[int]:
    """Which of ``files`` (uploaded name, own name, the file as uploaded: its path or bytes)
    repeat a DICOM file before them, each noted in ``left_out``: the same own name (its SOP
    instance UID) and data set as uploaded, pixels included
    (:func:`~survival_core.io.dicom_series.copies_among`), read once as a folder read reads
    them: loose ones were refused as one file, a zip's written otherwise as two instances, and
    one byte for byte was dropped without a word."""
    copies = copies_among([(own or "", source) for _, own, source in files])
    left_out += [(files[i][0], _COPY) for i in copies]
    return set(copies)


def _one_instance(files: str) -> InputError:
    """The refusal of two uploaded ``files`` that are one DICOM instance holding different
    data (copies were left out: :func:`_copies`)."""
    return InputError(
        f"{files} are one DICOM instance (the same SOP instance UID) with different content: "
        "remove the wrong one."
    )


def deidentify_upload(
    files: list[tuple[str, bytes]],
    keep: frozenset[str] = CLINICAL_KEEP,
    *,
    neutral: bool = False,
    keep_marked: bool = True,
) -> list[tuple[str, bytes]]:
    """The uploaded ``(name, content)`` pairs as they may be stored: de-identified, DICOM files
    named after their SOP instance UID, other files under their safe names or, with ``neutral``,
    under neutral names (:func:`neutral_names`); clinical files keep only the ``keep`` columns
    (case_id and the model's variables) and their own patients' rows. DICOM objects no case is
    read from are left out. ``keep_marked`` False pseudonymises the PatientID of files marked
    de-identified too (:class:`~survival_core.io.deid.Deidentifier`)."""
    cleaned, _ = _deidentify(files, keep, neutral, keep_marked)
    return [(stored, data) for _, stored, data, _ in cleaned]


def _check_type(path: Path, uploaded: str) -> None:
    """:func:`check_file_type` of a stored file, its error naming the file as it was uploaded."""
    try:
        check_file_type(path)
    except InputError as err:
        raise InputError(str(err).replace(path.name, uploaded)) from err


def _notes(left_out: LeftOut) -> list[str]:
    """What was left out of an upload, by kind and count: never by the uploaded file's name,
    which may be the patient's."""
    counts = Counter(kind for _, kind in left_out)
    return [f"Not stored from the upload: {n} {kind}." for kind, n in counts.items()]


def _as_uploaded(left_out: LeftOut, shown: int = 5) -> str:
    """The files left out, by their uploaded names: for a refusal, shown to the uploader alone
    and never stored."""
    listed = "; ".join(f"{name}: {kind}" for name, kind in left_out[:shown])
    return listed + (f"; and {len(left_out) - shown} more" if len(left_out) > shown else "")


def upload_notes(folder: Path) -> list[str]:
    """What the cleaning left out of the upload stored in ``folder``, by kind and count."""
    path = folder / NOTES_FILE
    return json.loads(path.read_text()) if path.is_file() else []


#: Uploads stored by this process, by the files as uploaded (names, content) and kept columns.
_STORED = OncePerKey()


def store_upload(
    files: list[tuple[str, bytes]],
    keep: frozenset[str] = CLINICAL_KEEP,
    variables: frozenset[SchemaVariable] = frozenset(),
) -> Path:
    """De-identify ``(name, content)`` pairs (clinical files keep the ``keep`` columns), write
    them under neutral names to a content-addressed folder and return the folder. A file whose
    content is not what its name says is refused (:func:`check_file_type`), naming it as
    uploaded, and nothing is kept; so is an upload of nothing a case is read from, or of no one
    case (:func:`_check_one_case`), or of a clinical key nearly naming a variable it gives
    otherwise under no key (:func:`_left_out_keys`; ``variables``, the offered models' schemas',
    say which values each could take). What was left out is said in the folder's :data:`NOTES_FILE`
    (:func:`upload_notes`). The same files uploaded again (by another session, or the page rerun
    on a click) are de-identified once: their folder is reused while it exists."""
    if not files:
        raise InputError("No file was uploaded.")
    key = upload_key(files, keep, variables)
    return _STORED.get(key, _store, files, keep, variables, still_valid=Path.exists)


def _check_one_case(files: list[tuple[str, bytes]]) -> None:
    """Refuse, by the names uploaded, what no one case is read from: a zip beside loose images
    or masks (the case was read from the zip, a segmentation beside a DICOM zip dropped without
    a word), and volumes of several cases of a dataset (another patient's CT was offered as the
    organ mask of the first)."""
    zips = [name for name, content in files if content[:4] == _ZIP_MAGIC]
    loose = [
        name
        for name, content in files
        if content[:4] != _ZIP_MAGIC
        and (is_volume_file(name) or sniff(content[:HEAD_BYTES]).kind == "dicom")
    ]
    if zips and loose:
        shown = ", ".join(loose[:3]) + (", ..." if len(loose) > 3 else "")
        raise InputError(
            f"{zips[0]} was uploaded with loose image or mask files ({shown}): a case is read "
            "from the zip or from the loose files, not both. Put every file in the zip, or upload "
            "them all without it."
        )
    refusal = several_cases([safe_name(n) for n in loose], "uploaded")
    if refusal is not None:
        raise refusal


def upload_key(
    files: list[tuple[str, bytes]],
    keep: frozenset[str],
    variables: frozenset[SchemaVariable] = frozenset(),
) -> tuple:
    """What :func:`store_upload`'s work depends on: the files' names and content digests, the
    kept clinical columns (what the clinical files keep, not the folder's name) and their
    variables (which near misses are refused), and the data folder."""
    uploaded = tuple((name, hashlib.sha256(content).digest()) for name, content in files)
    return uploaded, keep, variables, str(data_subdir("cases"))


def _store(
    files: list[tuple[str, bytes]],
    keep: frozenset[str],
    variables: frozenset[SchemaVariable],
) -> Path:
    """:func:`store_upload`'s work. The folder is named after the cleaned files' stored names and
    tokens (:func:`_token`) and what was left out, not after what ``keep`` kept of the clinical
    files: the same upload stays in its folder (a volume case keeps its name) when a model
    registered meanwhile offers another variable; that variable's column is then added to it
    (:func:`_refresh`), the columns stored before kept (:func:`_lost_columns`)."""
    _check_one_case(files)
    cleaned, left_out = _deidentify(files, keep, neutral=True, variables=variables)
    if not cleaned:
        raise InputError(f"The upload holds nothing a case is read from: {_as_uploaded(left_out)}.")
    cleaned.sort(key=lambda f: f[1:3])
    digest = hashlib.sha256()
    names: dict[str, str] = {}  # stored name -> uploaded name
    for uploaded, name, _, token in cleaned:
        if name in names:  # one DICOM instance twice (its SOP instance UID names it)
            raise _one_instance(f"The uploaded files {names[name]} and {uploaded}")
        names[name] = uploaded
        digest.update(name.encode() + b"\0" + token)
    notes = _notes(left_out)
    for note in notes:  # what was left out, but for the columns of no variable offered yet
        digest.update(b"" if _NOT_A_VARIABLE in note else note.encode() + b"\0")
    folder = data_subdir("cases") / f"upload-{digest.hexdigest()[:16]}"
    stored = [(uploaded, name, content) for uploaded, name, content, _ in cleaned]
    if notes:
        stored.append((NOTES_FILE, NOTES_FILE, json.dumps(notes, indent=1).encode()))
    if folder.exists():
        lost = _lost_columns(folder, keep, variables)
        if lost:  # kept when stored before, left out now (a model removed meanwhile): kept
            return _store(files, keep | lost, variables)  # while another model's variable is gained
        _refresh(folder, stored, notes)
        return folder
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", suffix=".partial", dir=folder.parent))
    try:
        for uploaded, name, content in stored:
            (staging / name).write_bytes(content)
            _check_type(staging / name, uploaded)
        staging.rename(folder)
    except (InputError, OSError):
        shutil.rmtree(staging, ignore_errors=True)
        if not folder.exists():
            raise
        # another session stored the same upload first, offered fewer variables maybe: the
        # column this storing keeps was lost for good (the page's next run reuses this result)
        _refresh(folder, stored, notes)
    return folder


def _lost_columns(
    folder: Path, keep: frozenset[str], variables: frozenset[SchemaVariable]
) -> frozenset[str]:
    """The clinical columns an upload's stored ``folder`` keeps (its clinical CSVs' headers and
    JSON keys, loose or in its zip) that ``keep`` leaves out, each as a ``keep`` names it: stored
    again under a ``keep`` gaining one model's variable and losing another's (one registered, one
    removed), the upload kept its old file and the new variable's values were never read. Matched
    as the cleaning matches them (:func:`_clinical_csv`, :func:`_clean_json`; ``variables``, the
    offered models', give the units a key may name bare: 'AFP ng/mL'): a header's other
    readings ('albumin_g_l' of 'Albumin (g/L)') were counted lost, the upload cleaned twice."""
    lost: set[str] = set()
    offered = _kept_variables(keep, variables)
    for name, data in _stored_clinical(folder):
        if name.lower().endswith(".csv"):
            text = data.decode("utf-8", errors="replace")
            keys = next(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)), [])
        else:
            keys = list(json.loads(data))
        lost.update(
            parse_header(k.strip()).name
            for k in keys
            if not (key_names(k) & OUTCOME_COLUMNS or _kept_key(k, offered))  # the ID's aside
        )
    return frozenset(lost)


def _stored_clinical(folder: Path) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of each clinical CSV and JSON an upload's stored ``folder`` holds, loose
    or in its zip (no other member is read), but for its notes and volumes' sidecars."""
    files: list[tuple[str, bytes]] = []
    for path in (p for p in folder.iterdir() if p.is_file() and p.name != NOTES_FILE):
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [i for i in archive.infolist() if _is_clinical(i.filename)]
                files += [(i.filename, archive.read(i)) for i in members]
        elif _is_clinical(path.name):
            files.append((path.name, path.read_bytes()))
    return [(n, data) for n, data in files if n.lower().endswith(".csv") or not _is_sidecar(data)]


def _is_clinical(name: str) -> bool:
    """Whether a stored file is named as a clinical CSV or JSON is (:data:`_OWN_CLINICAL`)."""
    return name.lower().rsplit(".", 1)[-1] in _OWN_CLINICAL


def _refresh(folder: Path, stored: list[tuple[str, str, bytes]], notes: list[str]) -> None:
    """Rewrite the files of an upload's existing ``folder`` that this storing cleaned otherwise,
    when it leaves out less than the stored copy did (``notes`` a part of the folder's: a model
    registered since offers a variable of its clinical file); never when it leaves out more (a
    model removed, or a registry unreadable for a moment, took a column an open case reads).
    Each file is replaced whole: a reader never sees half of one."""
    if not set(notes) < set(upload_notes(folder)):
        return
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", suffix=".partial", dir=folder.parent))
    try:
        for uploaded, name, content in stored:
            if (folder / name).is_file() and (folder / name).read_bytes() == content:
                continue
            (staging / name).write_bytes(content)
            _check_type(staging / name, uploaded)
            (staging / name).replace(folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    kept = {name for _, name, _ in stored}
    for path in folder.iterdir():
        if path.is_file() and path.name not in kept:  # the notes of what is now kept
            path.unlink()
