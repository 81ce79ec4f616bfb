"""What a file holds, decided from its first bytes, and whether that agrees with its name.

An uploaded name is a claim, not a fact: ``scan.nii.gz`` may hold a zip, ``notes.csv`` a program.
:func:`sniff` recognises the kinds RadSurv reads (DICOM with or without its 128-byte preamble,
zip, gzip, NIfTI-1/2, NRRD, MetaImage, JSON, plain text/CSV) and the archives it refuses inside an
upload (tar, 7z, rar, bzip2, xz); a gzip stream is looked into, so a ``.nii.gz`` is gzip-compressed
NIfTI and a ``.tar.gz`` a compressed tar. :func:`check_file_type` refuses a file whose content is
not what its extension says, or that is an unknown binary, with a message naming both.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from survival_core.errors import InputError

#: Bytes read from the start of a file to decide its kind (covers the NIfTI-1 magic at 344).
HEAD_BYTES = 1024

#: Kinds that are archives; none may be nested inside an uploaded archive.
ARCHIVE_KINDS = frozenset({"zip", "tar", "7z", "rar", "bzip2", "xz"})

_MAGICS = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty archive
    (b"PK\x07\x08", "zip"),  # spanned archive
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"NRRD000", "nrrd"),
    # what is uploaded instead of a scan: a screenshot or photo of it, a report
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
)

_LABELS = {
    "dicom": "DICOM",
    "zip": "zip archive",
    "tar": "tar archive",
    "7z": "7-Zip archive",
    "rar": "RAR archive",
    "bzip2": "bzip2 archive",
    "xz": "xz archive",
    "nifti": "NIfTI volume",
    "nrrd": "NRRD volume",
    "metaimage": "MetaImage volume",
    "json": "JSON text",
    "jpeg": "JPEG picture (a screenshot or photo, not the scan's data)",
    "png": "PNG picture (a screenshot, not the scan's data)",
    "pdf": "PDF document",
    "text": "text",
    "unknown": "unrecognised binary data",
}

#: Extension (lower case) -> (kinds its content may be, whether it must be gzip-compressed).
_CLAIMS: dict[str, tuple[frozenset[str], bool]] = {
    ".zip": (frozenset({"zip"}), False),
    ".nii.gz": (frozenset({"nifti"}), True),
    ".nii": (frozenset({"nifti"}), False),
    ".nrrd": (frozenset({"nrrd"}), False),
    ".nhdr": (frozenset({"nrrd"}), False),
    ".mha": (frozenset({"metaimage"}), False),
    ".mhd": (frozenset({"metaimage"}), False),
    ".json": (frozenset({"json"}), False),
    ".csv": (frozenset({"text", "json"}), False),
    ".tsv": (frozenset({"text", "json"}), False),
    ".txt": (frozenset({"text", "json"}), False),
    ".dcm": (frozenset({"dicom"}), False),
    ".dicom": (frozenset({"dicom"}), False),
    ".ima": (frozenset({"dicom"}), False),
}


@dataclass(frozen=True)
class ContentType:
    """A file's kind (a key of the labels above) and whether it is gzip-compressed."""

    kind: str
    gzip: bool = False

    def describe(self) -> str:
        label = _LABELS[self.kind]
        return f"gzip-compressed {label}" if self.gzip else label


def is_bare_dicom(head: bytes) -> bool:
    """Whether bytes without the 'DICM' preamble start like a DICOM data set: an element of group
    0002 or 0008, little endian (implicit or explicit VR) or big endian (explicit VR, retired but
    still written by old archives)."""
    if len(head) < 8:
        return False

    def starts(order: Literal["little", "big"]) -> bool:
        group = int.from_bytes(head[0:2], order)
        return group in (0x0002, 0x0008) and int.from_bytes(head[2:4], order) <= 0x0100

    vr = head[4:6]
    return starts("little") or (starts("big") and vr.isalpha() and vr.isupper())


def _is_nifti(head: bytes) -> bool:
    for order in ("little", "big"):
        size = int.from_bytes(head[:4], order) if len(head) >= 4 else 0
        if size == 348 and head[344:347] in (b"n+1", b"ni1"):
            return True
        if size == 540 and head[4:7] in (b"n+2", b"ni2"):
            return True
    return False


def _text_kind(head: bytes) -> str | None:
    """'metaimage', 'json' or 'text' for readable text, None for binary data."""
    keys = [line.split(b"=")[0].strip() for line in head.splitlines()[:5]]
    if b"ObjectType" in keys or b"NDims" in keys:  # binary voxels may follow the text header
        return "metaimage"
    if b"\0" in head or any(b < 0x20 and b not in b"\t\n\r\f" for b in head):
        return None
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="ignore")
    if text.lstrip()[:1] in ("{", "["):
        return "json"
    return "text"


def _gunzip_head(raw: bytes, size: int = HEAD_BYTES) -> bytes:
    """Up to ``size`` bytes of the gzip stream starting ``raw``, as far as it is readable."""
    try:
        return zlib.decompressobj(wbits=31).decompress(raw, size)
    except zlib.error:
        return b""


def sniff(head: bytes) -> ContentType:
    """The kind of content starting with ``head`` (give at least :data:`HEAD_BYTES` when the file
    has them); gzip streams are decompressed as far as ``head`` allows and their content named."""
    if head[:2] == b"\x1f\x8b":
        inner = _gunzip_head(head)
        kind = sniff(inner).kind if inner else "unknown"
        return ContentType(kind, gzip=True)
    if len(head) >= 132 and head[128:132] == b"DICM" or is_bare_dicom(head):
        return ContentType("dicom")
    if _is_nifti(head):
        return ContentType("nifti")
    if len(head) >= 262 and head[257:262] == b"ustar":
        return ContentType("tar")
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return ContentType(kind)
    return ContentType(_text_kind(head) or "unknown")


def read_head(path: Path | str, size: int = HEAD_BYTES) -> tuple[bytes, bool]:
    """The first ``size`` bytes of a file, decompressed when it is gzip (as far as readable), and
    whether it was gzip."""
    with open(path, "rb") as fh:
        raw = fh.read(max(size, 1 << 16))
    if raw[:2] != b"\x1f\x8b":
        return raw[:size], False
    return _gunzip_head(raw, size), True


def sniff_file(path: Path | str) -> ContentType:
    """:func:`sniff` of a file's first bytes."""
    with open(path, "rb") as fh:
        return sniff(fh.read(1 << 16))


def claimed_type(name: str) -> tuple[frozenset[str], bool] | None:
    """What a file name's extension promises (kinds, gzip), or None for no known extension."""
    lowered = name.lower()
    for suffix in sorted(_CLAIMS, key=len, reverse=True):
        if lowered.endswith(suffix):
            return _CLAIMS[suffix]
    return None


def check_file_type(path: Path | str, name: str | None = None) -> ContentType:
    """The content type of an uploaded file, refused (:class:`InputError`) when it contradicts
    ``name`` (default: the file's name) or is not a kind RadSurv reads.

    A name without a known extension must hold DICOM: scanners write slices under bare numbers.
    """
    name = name or Path(path).name
    if Path(path).stat().st_size == 0:
        raise InputError(
            f"{name} is empty (0 bytes): upload it again, or the file it was saved from."
        )
    found = sniff_file(path)
    claim = claimed_type(name)
    if claim is None:
        if found.kind == "dicom" and not found.gzip:
            return found
        raise InputError(
            f"{name} holds {found.describe()}, which RadSurv does not read: upload DICOM files, "
            "a .zip of them, NIfTI/NRRD/MetaImage volumes, clinical.json or a clinical .csv."
        )
    kinds, gzip = claim
    if found.kind not in kinds or found.gzip != gzip:
        expected = " or ".join(
            ContentType(k, gzip).describe() for k in sorted(kinds, key=lambda k: k != "text")
        )
        raise InputError(
            f"{name} holds {found.describe()}, not the {expected} its name says; check the file "
            "and upload it under its proper extension."
        )
    return found


#: Files and folders operating systems add to folders and zips, never data: macOS's
#: ``__MACOSX`` (AppleDouble '._IM0001' copies of every file), Windows' thumbnails and settings.
OS_CLUTTER = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})


def is_os_clutter(parts: Iterable[str]) -> bool:
    """Whether a path, given by its parts below the folder looked in, is hidden ('.DS_Store',
    macOS's '._IM0001') or in or of :data:`OS_CLUTTER`."""
    return any(part.startswith(".") or part in OS_CLUTTER for part in parts)


def files_below(root: Path) -> Iterator[Path]:
    """Every file below ``root`` (as paths below it), also inside folders that are symbolic
    links (a PACS or NAS mount linked into a working folder, which ``rglob`` does not enter: a
    case whose ``ct`` folder was such a link held "no image, only RTSTRUCT"); each real folder
    once, so a link back up cannot loop; folders walked in sorted order, so a folder linked twice
    is always found by the same path."""
    seen: set[str] = set()
    for folder, folders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            folders.clear()
            continue
        seen.add(real)
        folders.sort()
        yield from (Path(folder) / name for name in files)
