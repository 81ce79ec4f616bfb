"""Store uploaded files under the data folder, de-identified and keyed by their content.

Before a byte is written, every file is cleaned in memory (:mod:`survival_core.io.deid`): DICOM
files, loose or inside a zip (whose members are checked by :func:`~survival_core.io.archive.
extract_zip` first), are de-identified and renamed after their new SOP instance UID; a zip holding
DICOM is named after the case pseudonym and its folders after keyed hashes of their names;
NIfTI/NRRD/MetaImage free text is blanked; clinical CSV/JSON keep only ``case_id`` and the
schema's variables. File type is decided by content, never by extension (except CSV/JSON text).

An upload then goes to ``<data>/cases/upload-<sha256 prefix>/``, the hash taken over the
de-identified content: the same upload always lands in the same folder, so a re-upload reuses
earlier work and two different uploads can never be mixed up.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
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
from survival_core.paths import data_subdir

#: Largest single upload accepted, in bytes (Streamlit's own limit is in .streamlit/config.toml).
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
#: Clinical columns (CSV) or keys (JSON) kept from an upload; anything else may identify.
CLINICAL_KEEP = frozenset({"case_id", *(v.name for v in SCHEMA)})
MEDIA_DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_ZIP_MAGIC = b"PK\x03\x04"


def safe_name(name: str) -> str:
    """A file name reduced to its base name and a conservative character set."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")
    if not cleaned:
        raise InputError(f"Uploaded file name {name!r} is not usable.")
    return cleaned


def _clinical_csv(name: str, content: bytes, keep: frozenset[str]) -> bytes:
    try:
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{name} is not a readable CSV file ({err}).") from err
    if not rows:
        return b""
    header = [str(c).strip().lower().replace(" ", "_") for c in rows[0]]
    kept = [i for i, column in enumerate(header) if column in keep]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] if i < len(row) else "" for i in kept])
    return out.getvalue().encode()


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
) -> tuple[str, bytes, str | None] | None:
    """(stored name, de-identified bytes, case pseudonym for DICOM) of one file; ``None`` drops it
    (a DICOMDIR index, which only repeats the patient data of the files it lists)."""
    try:
        dicom = deidentify_dicom_bytes(content, deid)
    except DicomError as err:
        raise DicomError(f"{name}: {err}") from err
    if dicom is not None:
        cleaned, pseudonym, sop_uid, sop_class = dicom
        if sop_class == MEDIA_DIRECTORY_STORAGE:
            return None
        return (f"{sop_uid}.dcm" if sop_uid else name), cleaned, pseudonym
    cleaners: tuple[Callable[[bytes], bytes | None], ...] = (
        blank_nifti_bytes,
        blank_nrrd_bytes,
        blank_metaimage_bytes,
    )
    for cleaner in cleaners:
        blanked = cleaner(content)
        if blanked is not None:
            return name, blanked, None
    suffix = name.lower().rsplit(".", 1)[-1]
    if suffix == "csv":
        return name, _clinical_csv(name, content, keep), None
    if suffix == "json":
        return name, _clinical_json(name, content, keep), None
    return name, content, None


def _hide_folders(member: str, deid: Deidentifier) -> str:
    path = PurePosixPath(member)
    return "/".join([*(deid.folder_token(part) for part in path.parent.parts), path.name])


def _clean_zip(
    name: str, content: bytes, deid: Deidentifier, keep: frozenset[str]
) -> tuple[str, bytes]:
    """A zip rebuilt from its de-identified members (checked and unpacked to a private temporary
    folder outside the data folder, removed at once)."""
    members: list[tuple[str, bytes]] = []
    pseudonyms: list[str] = []
    with tempfile.TemporaryDirectory(prefix="radsurv-deid-") as tmp:
        root = Path(tmp)
        for path in extract_zip(content, root):
            relative = PurePosixPath(path.relative_to(root).as_posix())
            cleaned = _clean_file(relative.name, path.read_bytes(), deid, keep)
            if cleaned is None:
                continue
            member, data, pseudonym = cleaned
            members.append((str(relative.parent / member), data))
            if pseudonym:
                pseudonyms.append(pseudonym)
    if pseudonyms:
        # Folder names of DICOM exports are often the patient's name: keyed hashes replace them.
        members = [(_hide_folders(member, deid), data) for member, data in members]
        name = f"{pseudonyms[0]}.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member, data in members:
            archive.writestr(zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return name, buffer.getvalue()


def deidentify_upload(
    files: list[tuple[str, bytes]], keep: frozenset[str] = CLINICAL_KEEP
) -> list[tuple[str, bytes]]:
    """The uploaded ``(name, content)`` pairs as they may be stored: safe names, de-identified;
    clinical files keep only the ``keep`` columns (case_id and the model's variables)."""
    deid = Deidentifier()
    cleaned: list[tuple[str, bytes]] = []
    for name, content in files:
        if len(content) > MAX_UPLOAD_BYTES:
            raise InputError(
                f"{name} is {len(content) / 2**20:.0f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB."
            )
        clean = safe_name(name)
        if content[:4] == _ZIP_MAGIC:
            cleaned.append(_clean_zip(clean, content, deid, keep))
            continue
        result = _clean_file(clean, content, deid, keep)
        if result is not None:
            cleaned.append(result[:2])
    return cleaned


def store_upload(files: list[tuple[str, bytes]], keep: frozenset[str] = CLINICAL_KEEP) -> Path:
    """De-identify ``(name, content)`` pairs (clinical files keep the ``keep`` columns), write
    them to a content-addressed folder and return the folder."""
    if not files:
        raise InputError("No file was uploaded.")
    cleaned = sorted(deidentify_upload(files, keep))
    if not cleaned:
        raise InputError("The upload holds nothing but a DICOMDIR index; upload the image files.")
    digest = hashlib.sha256()
    names: list[str] = []
    for name, content in cleaned:
        if name in names:
            raise InputError(f"Two uploaded files are both named {name}.")
        names.append(name)
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    folder = data_subdir("cases") / f"upload-{digest.hexdigest()[:16]}"
    if not folder.exists():
        staging = Path(
            tempfile.mkdtemp(prefix=folder.name + ".", suffix=".partial", dir=folder.parent)
        )
        for name, content in cleaned:
            (staging / name).write_bytes(content)
        try:
            staging.rename(folder)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not folder.exists():
                raise
    return folder
