"""Store uploaded files under the data folder, de-identified and keyed by their content.

Before a byte is written, every file is cleaned in memory (:mod:`survival_core.io.deid`): DICOM
files, loose or inside a zip (whose members are checked by :func:`~survival_core.io.archive.
extract_zip` first), are de-identified and renamed after their new SOP instance UID; a zip holding
DICOM is named after the case pseudonym and its folders after keyed hashes of their names;
NIfTI/NRRD/MetaImage free text is blanked; clinical CSV/JSON keep only ``case_id`` and the
schema's variables. File type is decided by content, never by extension (except CSV/JSON text);
a file whose content is not what its name says is refused before anything is kept.

An upload then goes to ``<data>/cases/upload-<sha256 prefix>/``, the hash taken over the
de-identified content and stored names: the same upload always lands in the same folder, so a
re-upload reuses earlier work and two different uploads can never be mixed up.

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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath

from survival_core.errors import DicomError, InputError
from survival_core.io.archive import extract_zip
from survival_core.io.clinical import SCHEMA
from survival_core.io.deid import (
    Deidentifier,
    blank_metaimage_bytes,
    blank_nifti_bytes,
    blank_nrrd_bytes,
    deidentify_dicom_bytes,
)
from survival_core.io.delimited import decode_text, excel_sep_hint, sniff_delimiter
from survival_core.io.filetype import check_file_type
from survival_core.io.headers import parse_header
from survival_core.io.structures import IMAGE_FOLDERS, MASK_WORDS, structure_label
from survival_core.io.volume import is_volume_file, volume_stem
from survival_core.once import OncePerKey
from survival_core.paths import data_subdir

#: Largest single upload accepted, in bytes (Streamlit's own limit is in .streamlit/config.toml).
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
#: Clinical columns (CSV) or keys (JSON) kept from an upload; anything else may identify.
CLINICAL_KEEP = frozenset({"case_id", *(v.name for v in SCHEMA)})
MEDIA_DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"

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


def neutral_names(names: list[str]) -> dict[str, str]:
    """Uploaded name -> stored name of the non-DICOM files of one folder, no stored name taken
    from a part of the uploaded one that could name the patient: a volume is named by its
    structure label (:func:`~survival_core.io.structures.structure_label`,
    'Zyxwv_Qwerty_GTV-1.nii.gz' -> 'GTV-1.nii.gz'), else 'volume-1.nii.gz'...; a CSV is
    'clinical.csv', a JSON 'clinical.json', a zip is 'upload.zip', anything else
    'file-1.txt'... Repeats get '-2', '-3' in the order of the uploaded names, so the same upload
    always gets the same names; two files under one uploaded name are refused."""
    stored: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(names):
        if name in stored:
            raise InputError(f"Two uploaded files are both named {name}.")
        stem, suffix, numbered = _neutral_parts(name)
        numbers = itertools.count(1) if numbered else itertools.chain([0], itertools.count(2))
        candidates = (f"{stem}-{n}{suffix}" if n else stem + suffix for n in numbers)
        stored[name] = next(c for c in candidates if c.lower() not in taken)
        taken.add(stored[name].lower())
    return stored


def uploaded_volume_names(names: Iterable[str]) -> dict[str, str]:
    """Stored name -> uploaded name of the loose volume files of an upload, to show a volume
    under the name its user knows it by (in memory only: no mapping is stored). The stored names
    are :func:`neutral_names`' of the volumes alone: no other file takes a volume's stem."""
    uploaded = {safe_name(name): name for name in names if is_volume_file(name)}
    stored = neutral_names(list(uploaded))
    return {stored[safe]: name for safe, name in uploaded.items() if stored[safe] != name}


def as_uploaded(text: str, names: Mapping[str, str]) -> str:
    """``text`` (a message, a structure's name) with each stored file name of ``names``
    (:func:`uploaded_volume_names`) followed by the name it was uploaded under."""
    if not names:
        return text
    pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.sub(  # a label map's structure keeps its label: 'volume-1.nii.gz:2 (uploaded as ...)'
        rf"(?<![\w.-])({pattern})(:\d+(?:\.\d+)?)?(?!\.?[\w-])",
        lambda match: f"{match[1]}{match[2] or ''} (uploaded as {names[match[1]]})",
        text,
    )


def _named(
    files: list[tuple[str, str | None, bytes]], neutral: bool
) -> list[tuple[str, str, bytes]]:
    """Cleaned ``(uploaded name, own name, bytes)`` of one folder as ``(uploaded name, stored
    name, bytes)``: stored under the own name (a DICOM file's SOP instance UID), else the uploaded
    one or, with ``neutral``, a neutral one."""
    renamed = neutral_names([name for name, own, _ in files if own is None]) if neutral else {}
    return [(name, own or renamed.get(name, name), data) for name, own, data in files]


def _clinical_csv(name: str, content: bytes, keep: frozenset[str]) -> bytes:
    """The kept columns of a clinical CSV as UTF-8 in its own delimiter (comma, semicolon, tab,
    pipe or the one Excel's 'sep=' line names; decimal marks as written), a column kept by its
    header's name without its unit ('Albumin (g/L)'), the header as written (its unit is checked
    when read)."""
    text, _ = decode_text(content, name)
    text, hinted = excel_sep_hint(text)
    delimiter = hinted or sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise InputError(f"{name} is not a readable CSV file ({err}).") from err
    if not rows:
        return b""
    header = [parse_header(str(c).strip()).name for c in rows[0]]  # 'Albumin (g/L)': albumin
    kept = [i for i, column in enumerate(header) if column in keep]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] if i < len(row) else "" for i in kept])
    return out.getvalue().encode()


def _own_rows(content: bytes, case_ids: Mapping[str, str]) -> bytes:
    """A cleaned clinical CSV (:func:`_clinical_csv`) with only the rows of the upload's own
    patients, each under the case id their images got (``case_ids``: original PatientID -> case
    id): keyed by the hospital's patient ID, as the images were, it kept that ID and every other
    patient's row, and the case was named and logged by it. A CSV with none of their rows is
    kept whole: the user then says which row is the case's. A CSV inside a zip is cut by the
    patients of the files read before it (its own zip's, and earlier files')."""
    try:
        text = content.decode()
    except UnicodeDecodeError:  # not a cleaned CSV (a zip uploaded under a .csv name)
        return content
    if not text.strip() or not case_ids:
        return content
    delimiter = sniff_delimiter(text)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = [parse_header(str(c).strip()).name for c in rows[0]]
    if "case_id" not in header:
        return content
    at = header.index("case_id")
    own = [row for row in rows[1:] if at < len(row) and row[at].strip() in case_ids]
    if not own:
        return content
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(rows[0])
    for row in own:
        writer.writerow([case_ids[v.strip()] if i == at else v for i, v in enumerate(row)])
    return out.getvalue().encode()


def _with_own_rows(
    files: list[tuple[str, str | None, bytes]], deid: Deidentifier
) -> list[tuple[str, str | None, bytes]]:
    """``(name, own name, bytes)`` of cleaned files, each clinical CSV cut to its own rows
    (:func:`_own_rows`) by the case ids ``deid`` gave the upload's patients."""
    case_ids = deid.case_ids()
    return [
        (name, own, _own_rows(data, case_ids) if name.lower().endswith(".csv") else data)
        for name, own, data in files
    ]


def _clinical_json(name: str, content: bytes, keep: frozenset[str]) -> bytes:
    try:
        raw = json.loads(content.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{name} is not valid JSON: {err}") from err
    if not isinstance(raw, dict):
        raise InputError(f"{name} must hold one object of name: value pairs.")
    return json.dumps({k: v for k, v in raw.items() if k in keep}, indent=1).encode()


def _clean_file(
    name: str, content: bytes, deid: Deidentifier, keep: frozenset[str]
) -> tuple[str | None, bytes, str | None] | None:
    """(own stored name, de-identified bytes, case pseudonym for DICOM) of one file; the own name
    is a DICOM file's SOP instance UID, None where the file has none. ``None`` drops the file (a
    DICOMDIR index, which only repeats the patient data of the files it lists)."""
    try:
        dicom = deidentify_dicom_bytes(content, deid)
    except DicomError as err:
        raise DicomError(f"{name}: {err}") from err
    if dicom is not None:
        cleaned, pseudonym, sop_uid, sop_class = dicom
        if sop_class == MEDIA_DIRECTORY_STORAGE:
            return None
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
        return None, _clinical_csv(name, content, keep), None
    if suffix == "json":
        return None, _clinical_json(name, content, keep), None
    return None, content, None


def _hide_folders(member: str, deid: Deidentifier, telling: frozenset[str]) -> str:
    """A member path with keyed hashes for its folder names, but for those in ``telling``."""
    path = PurePosixPath(member)
    parts = (p if p.lower() in telling else deid.folder_token(p) for p in path.parent.parts)
    return "/".join([*parts, path.name])


def _clean_zip(
    content: bytes, deid: Deidentifier, keep: frozenset[str], neutral: bool
) -> tuple[str | None, bytes]:
    """A zip rebuilt from its de-identified members (checked and unpacked to a private temporary
    folder outside the data folder, removed at once), and its own name: the case pseudonym when it
    holds DICOM. With ``neutral``, members are named as loose files are (:func:`neutral_names`),
    folder by folder."""
    folders: dict[PurePosixPath, list[tuple[str, str | None, bytes]]] = {}
    order: list[PurePosixPath] = []  # each member's folder, in the archive's order
    pseudonyms: list[str] = []
    with tempfile.TemporaryDirectory(prefix="radsurv-deid-") as tmp:
        root = Path(tmp)
        for path in extract_zip(content, root):
            relative = PurePosixPath(path.relative_to(root).as_posix())
            cleaned = _clean_file(relative.name, path.read_bytes(), deid, keep)
            if cleaned is None:
                continue
            own, data, pseudonym = cleaned
            folders.setdefault(relative.parent, []).append((relative.name, own, data))
            order.append(relative.parent)
            if pseudonym:
                pseudonyms.append(pseudonym)
    for files in folders.values():  # the patients' own rows, now their IDs are known
        files[:] = _with_own_rows(files, deid)
    named = {folder: iter(_named(files, neutral)) for folder, files in folders.items()}
    members: list[tuple[str, bytes]] = []
    written: dict[str, tuple[str, bytes]] = {}  # stored member -> (member as zipped, content)
    for folder in order:
        uploaded, member, data = next(named[folder])
        stored, zipped = str(folder / member), str(folder / uploaded)
        if stored in written:  # one DICOM instance twice (its SOP instance UID names it)
            if written[stored][1] == data:
                continue  # a copy: nothing is lost
            raise InputError(
                f"The zip's files {written[stored][0]} and {zipped} are one DICOM instance (the "
                "same SOP instance UID) with different content: remove the wrong one."
            )
        written[stored] = (zipped, data)
        members.append((stored, data))
    # Folder names of exports are often the patient's name: keyed hashes replace them (but for
    # the image and mask folders of a volume archive, which say what they hold).
    if pseudonyms or neutral:
        telling = frozenset() if pseudonyms else _TELLING_FOLDERS
        members = [(_hide_folders(member, deid, telling), data) for member, data in members]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member, data in members:
            archive.writestr(zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return (f"{pseudonyms[0]}.zip" if pseudonyms else None), buffer.getvalue()


def _deidentify(
    files: list[tuple[str, bytes]], keep: frozenset[str], neutral: bool, keep_marked: bool = True
) -> list[tuple[str, str, bytes]]:
    """``(uploaded name, stored name, de-identified content)`` of each file of an upload."""
    deid = Deidentifier(keep_marked=keep_marked)
    cleaned: list[tuple[str, str | None, bytes]] = []
    zips: dict[str, int] = {}  # a zip's own name (its patient's pseudonym) -> zips so named
    for name, content in files:
        if len(content) > MAX_UPLOAD_BYTES:
            raise InputError(
                f"{name} is {len(content) / 2**20:.0f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB."
            )
        clean = safe_name(name)
        if content[:4] == _ZIP_MAGIC:
            own, data = _clean_zip(content, deid, keep, neutral)
            if own is not None:  # one patient's CT and MR zips: 'RS-1.zip', 'RS-1-2.zip'
                zips[own] = zips.get(own, 0) + 1
                own = own if zips[own] == 1 else f"{own.removesuffix('.zip')}-{zips[own]}.zip"
            cleaned.append((clean, own, data))
            continue
        result = _clean_file(clean, content, deid, keep)
        if result is not None:
            cleaned.append((clean, *result[:2]))
    if keep_marked and deid.mixed_marks():  # one patient's files, some marked: none is trusted
        return _deidentify(files, keep, neutral, keep_marked=False)
    return _named(_with_own_rows(cleaned, deid), neutral)


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
    (case_id and the model's variables). ``keep_marked`` False pseudonymises the PatientID of
    files marked de-identified too (:class:`~survival_core.io.deid.Deidentifier`)."""
    return [(stored, data) for _, stored, data in _deidentify(files, keep, neutral, keep_marked)]


def _check_type(path: Path, uploaded: str) -> None:
    """:func:`check_file_type` of a stored file, its error naming the file as it was uploaded."""
    try:
        check_file_type(path)
    except InputError as err:
        raise InputError(str(err).replace(path.name, uploaded)) from err


#: Uploads stored by this process, by the files as uploaded (names, content) and kept columns.
_STORED = OncePerKey()


def store_upload(files: list[tuple[str, bytes]], keep: frozenset[str] = CLINICAL_KEEP) -> Path:
    """De-identify ``(name, content)`` pairs (clinical files keep the ``keep`` columns), write
    them under neutral names to a content-addressed folder and return the folder. A file whose
    content is not what its name says is refused (:func:`check_file_type`), naming it as
    uploaded, and nothing is kept. The same files uploaded again (by another session, or the
    page rerun on a click) are de-identified once: their folder is reused while it exists."""
    if not files:
        raise InputError("No file was uploaded.")
    return _STORED.get(upload_key(files, keep), _store, files, keep, still_valid=Path.exists)


def upload_key(files: list[tuple[str, bytes]], keep: frozenset[str]) -> tuple:
    """What :func:`store_upload`'s folder depends on: the files' names and content digests, the
    kept clinical columns and the data folder."""
    uploaded = tuple((name, hashlib.sha256(content).digest()) for name, content in files)
    return uploaded, keep, str(data_subdir("cases"))


def _store(files: list[tuple[str, bytes]], keep: frozenset[str]) -> Path:
    """:func:`store_upload`'s work."""
    cleaned = sorted(_deidentify(files, keep, neutral=True), key=lambda f: f[1:])
    if not cleaned:
        raise InputError("The upload holds nothing but a DICOMDIR index; upload the image files.")
    digest = hashlib.sha256()
    names: dict[str, str] = {}  # stored name -> uploaded name
    for uploaded, name, content in cleaned:
        if name in names:
            raise InputError(
                f"The uploaded files {names[name]} and {uploaded} are one file (the same DICOM "
                "instance, or the same name): upload each file once."
            )
        names[name] = uploaded
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    folder = data_subdir("cases") / f"upload-{digest.hexdigest()[:16]}"
    if not folder.exists():
        staging = Path(
            tempfile.mkdtemp(prefix=folder.name + ".", suffix=".partial", dir=folder.parent)
        )
        try:
            for uploaded, name, content in cleaned:
                (staging / name).write_bytes(content)
                _check_type(staging / name, uploaded)
            staging.rename(folder)
        except (InputError, OSError):
            shutil.rmtree(staging, ignore_errors=True)
            if not folder.exists():
                raise
    return folder
