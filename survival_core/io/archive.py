"""Safe extraction of uploaded .zip archives.

An upload is untrusted: before anything is written, every member is checked and the whole archive is
refused (:class:`ArchiveError` naming the member) for a path that would leave the destination
(``..`` parts, absolute or drive-letter names; a backslash is read as the folder separator some
Windows tools write, ``CT\\IM0001``, then checked alike), a name with control characters, more
than ``MAX_DEPTH`` parts or a part longer than 255 bytes, two members with the same name (ignoring
case) or a file that is also a folder, a symbolic link or device file, a member named like an
archive, too many files, too large a total uncompressed size, or members compressed as a zip
bomb's are (over ``MAX_RATIO``-fold) expanding past ``MAX_COMPRESSIBLE_BYTES`` together: a binary
mask saved as an uncompressed NIfTI compresses a thousand-fold too (512 x 512 x 48: 25 MB to
25 kB), so such members are bounded by what they expand to, not refused by their ratio. A nested
archive under another name (zip, tar, 7z, rar, bzip2, xz, recognised by content) is refused as
it is met during extraction, so extract into a fresh temporary folder. Sizes are taken from the
central directory; :mod:`zipfile` never yields more bytes than a member declares (it stops
there and fails the CRC check), so the declared sizes bound what is written.

A download of many patients may nest archives (a batch zip of per-patient zips):
:func:`extract_nested` opens zips inside a zip, a bounded number of levels deep, with a
download's limits (``DOWNLOAD_MAX_FILES``, ``DOWNLOAD_MAX_TOTAL_BYTES``, the disk's free space:
it lies on the server's own disk, not in a browser upload) holding for all of them together, and
reports each inner archive it cannot open instead of refusing the whole download.
"""

from __future__ import annotations

import io
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from survival_core.errors import ArchiveError, ArchiveTooLarge
from survival_core.io.filetype import ARCHIVE_KINDS, HEAD_BYTES, sniff, sniff_file

#: Default limits for :func:`extract_zip`: an upload through the browser (one case).
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_FILES = 5000
#: Limits for a download on the server's own disk (``cohort import``, the Cohort page): a whole
#: cohort, a PACS export of 400 patients runs to 100,000 files and tens of GB; the free space of
#: the disk extracted to bounds it further. The zip bomb checks below hold for both.
DOWNLOAD_MAX_TOTAL_BYTES = 1024**4
DOWNLOAD_MAX_FILES = 1_000_000
MAX_RATIO = 200
#: The most members compressing over ``MAX_RATIO``-fold may expand to together: what an ordinary
#: scan takes (a 512 x 512 x 1000 CT's mask, one byte a voxel, is 262 MB), while a zip bomb of a
#: few kB may cost no more disk and memory than that.
MAX_COMPRESSIBLE_BYTES = 512 * 1024**2
#: A download's: a cohort's uncompressed label maps compress a thousand-fold each (45 lung CTs'
#: 12.6 MB '.nii' masks passed 512 MiB together, and the whole download was refused as a zip
#: bomb); the disk's free space bounds what they may expand to.
DOWNLOAD_MAX_COMPRESSIBLE_BYTES = DOWNLOAD_MAX_TOTAL_BYTES
#: Deepest accepted member path (folders + file name).
MAX_DEPTH = 32
#: Longest accepted file or folder name in a member path (bytes, as most file systems allow).
MAX_PART_BYTES = 255
#: Longest accepted member path (bytes): a real export's run to a few hundred; 20 folders of 250
#: characters passed the limits above and failed with the system's "File name too long".
MAX_PATH_BYTES = 1024
#: Levels of zips inside a zip that :func:`extract_nested` opens (a batch of per-patient zips: 1).
MAX_NESTING = 3

_ARCHIVE_SUFFIXES = (
    ".zip",
    ".jar",
    ".7z",
    ".rar",
    ".tar",
    ".tgz",
    ".tar.gz",
    ".tar.bz2",
    ".tar.xz",
)


def is_zip(path: Path | str) -> bool:
    """Whether ``path`` is a file whose content is a zip archive (whatever its extension)."""
    path = Path(path)
    return path.is_file() and zipfile.is_zipfile(path)


def looks_like_zip(path: Path | str) -> bool:
    """Whether ``path`` is a file starting as a zip archive does, readable or not (a download cut
    short has the zip's first bytes but not its central directory: :func:`is_zip` says no)."""
    path = Path(path)
    return path.is_file() and sniff_file(path).kind == "zip"


def _check_name(name: str) -> None:
    """Refuse member names that could be written outside the destination folder or not at all."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ArchiveError(
            f"Archive member {name!r} has a NUL or control character in its name; refused."
        )
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"Archive member {name!r} has an absolute path; refused.")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise ArchiveError(f"Archive member {name!r} points outside the archive ('..'); refused.")
    if (
        len(parts) > MAX_DEPTH
        or any(len(p.encode()) > MAX_PART_BYTES for p in parts)
        or len(name.encode()) > MAX_PATH_BYTES
    ):
        raise ArchiveError(
            f"Archive member {name!r} is nested more than {MAX_DEPTH} folders deep, has a name "
            f"longer than {MAX_PART_BYTES} bytes or a path longer than {MAX_PATH_BYTES} bytes; "
            "refused."
        )


def _check_member(info: zipfile.ZipInfo, keep_archives: bool) -> None:
    _check_name(info.filename)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"Archive member {info.filename!r} is a symbolic link; refused.")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        raise ArchiveError(
            f"Archive member {info.filename!r} is a device, pipe or socket, not a file; refused."
        )
    if info.is_dir():
        return
    if not keep_archives and info.filename.lower().endswith(_ARCHIVE_SUFFIXES):
        raise ArchiveError(
            f"Archive member {info.filename!r} is itself an archive; unpack it and upload its "
            "content instead."
        )


def _check_compressible(files: list[zipfile.ZipInfo], max_ratio: float, max_bytes: int) -> None:
    """Refuse the members compressing over ``max_ratio``-fold when they expand past
    ``max_bytes`` together (many small ones as one large one), naming the largest."""
    compressible = [m for m in files if m.file_size > max_ratio * max(m.compress_size, 1)]
    expanded = sum(m.file_size for m in compressible)
    if expanded > max_bytes:
        worst = max(compressible, key=lambda m: m.file_size)
        raise ArchiveTooLarge(
            f"Archive member {worst.filename!r} expands "
            f"{worst.file_size / max(worst.compress_size, 1):.0f}-fold, and the "
            f"{len(compressible)} member(s) compressing over {max_ratio:g}-fold expand to "
            f"{expanded / 1024**2:.0f} MiB together (at most {max_bytes / 1024**2:.0f} MiB): "
            "refused as a possible zip bomb."
        )


def _check_free_space(label: str, total: int, dest: Path) -> None:
    """ArchiveTooLarge when ``total`` bytes do not fit the free space of the disk ``dest`` is
    on: an archive expanding past it failed half-way with the system's 'No space left'."""
    existing = next(p for p in (dest, *dest.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if total > free:
        raise ArchiveTooLarge(
            f"{label} would expand to {total / 1024**2:,.0f} MiB, but {free / 1024**2:,.0f} MiB "
            f"are free on the disk of {existing}; free space there, or unpack it where there is "
            "room."
        )


def _check_layout(members: list[zipfile.ZipInfo]) -> None:
    """Refuse two members with one name (ignoring case, as Windows and macOS do) and a file that
    is also a folder of another member: either would overwrite or fail half-way."""
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    for info in members:
        parts = PurePosixPath(info.filename.casefold()).parts
        for depth in range(1, len(parts)):
            folders.setdefault("/".join(parts[:depth]), info.filename)
        if info.is_dir():
            folders.setdefault("/".join(parts), info.filename)
            continue
        key = "/".join(parts)
        if key in files:
            raise ArchiveError(
                f"Archive members {files[key]!r} and {info.filename!r} have the same name; refused."
            )
        files[key] = info.filename
    for key, name in files.items():
        if key in folders:
            raise ArchiveError(
                f"Archive member {name!r} is both a file and a folder ({folders[key]!r}); refused."
            )


def extract_zip(
    source: Path | str | bytes,
    dest: Path,
    *,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_files: int = MAX_FILES,
    max_ratio: float = MAX_RATIO,
    max_compressible_bytes: int = MAX_COMPRESSIBLE_BYTES,
    keep_archives: bool = False,
) -> list[Path]:
    """Check every member of a zip (a path or its bytes), then extract it under ``dest``.

    Returns the extracted file paths (folders are created but not listed), in archive order.
    Raises :class:`ArchiveError` for anything that is not a readable zip or breaks a limit.
    ``keep_archives`` extracts the members that are archives as files instead of refusing the
    zip, for a caller that opens or reports them itself (:func:`extract_nested`).
    """
    label = "uploaded archive" if isinstance(source, bytes) else str(source)
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as err:
        raise ArchiveError(f"{label} is not a readable .zip archive ({err}).") from err
    with archive:
        members = archive.infolist()
        for info in members:  # 'CT\\IM0001' (zipfile reads the member by its orig_filename)
            info.filename = info.filename.replace("\\", "/")
        files = [m for m in members if not m.is_dir()]
        if len(files) > max_files:
            raise ArchiveTooLarge(
                f"{label} holds {len(files):,} files; at most {max_files:,} are accepted in one "
                "archive."
            )
        for info in members:
            _check_member(info, keep_archives)
        _check_layout(members)
        total = sum(m.file_size for m in files)
        if total > max_total_bytes:
            raise ArchiveTooLarge(
                f"{label} would expand to {total / 1024**2:,.0f} MiB; at most "
                f"{max_total_bytes / 1024**2:,.0f} MiB are accepted in one archive."
            )
        _check_compressible(files, max_ratio, max_compressible_bytes)
        dest = Path(dest).resolve()
        _check_free_space(label, total, dest)
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for info in members:
            target = (dest / info.filename).resolve()
            if not target.is_relative_to(dest):
                raise ArchiveError(f"Archive member {info.filename!r} points outside the archive.")
            try:  # the system's OSError (a path it refuses), named as the member's
                (target if info.is_dir() else target.parent).mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ArchiveError(
                    f"Archive member {info.filename!r} cannot be written ({err.strerror})."
                ) from err
            if info.is_dir():
                continue
            try:
                with archive.open(info) as src:
                    head = src.read(HEAD_BYTES)
                    found = sniff(head)
                    if found.kind in ARCHIVE_KINDS and not keep_archives:
                        raise ArchiveError(
                            f"Archive member {info.filename!r} is itself a {found.describe()}; "
                            "unpack it and upload its content instead."
                        )
                    with open(target, "wb") as out:
                        out.write(head)
                        shutil.copyfileobj(src, out, 1024**2)
            except (
                zipfile.BadZipFile,
                zlib.error,
                RuntimeError,
                NotImplementedError,
                OSError,
                EOFError,
            ) as err:
                raise ArchiveError(
                    f"Archive member {info.filename!r} cannot be read: {err}"
                ) from err
            written.append(target)
    return written


#: Documents stored as zip archives (Office, OpenDocument): a patient's notes, never data to open.
DOCUMENT_SUFFIXES = frozenset(
    {".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".odt", ".ods", ".odp", ".epub", ".jar"}
)


def extract_nested(
    source: Path,
    dest: Path,
    *,
    max_nesting: int = MAX_NESTING,
    max_total_bytes: int = DOWNLOAD_MAX_TOTAL_BYTES,
    max_files: int = DOWNLOAD_MAX_FILES,
    max_ratio: float = MAX_RATIO,
    max_compressible_bytes: int = DOWNLOAD_MAX_COMPRESSIBLE_BYTES,
) -> tuple[list[Path], list[tuple[str, ArchiveError]]]:
    """Extract the zip ``source`` under ``dest`` (:func:`extract_zip`), and each zip inside it,
    up to ``max_nesting`` levels, into a folder named as that zip less '.zip' ('inner/005/...';
    an Office document, a zip too, stays a file).

    The size and file limits, a download's on the server's own disk by default (a single zip of
    90 patients' 5,400 files was refused by an upload's), hold for everything extracted together,
    so nesting multiplies no zip bomb. Raises :class:`ArchiveError` when ``source`` itself
    cannot be extracted; an archive inside it that cannot be (of another kind, nested too deep,
    damaged, over a limit) is removed and reported, so that the rest of the download still
    imports. Returns the files extracted and, for each archive inside left unopened, (its path
    below ``dest``, the error).
    """
    dest = Path(dest).resolve()
    files = extract_zip(
        source,
        dest,
        max_total_bytes=max_total_bytes,
        max_files=max_files,
        max_ratio=max_ratio,
        max_compressible_bytes=max_compressible_bytes,
        keep_archives=True,
    )
    total_bytes = sum(p.stat().st_size for p in files)
    pending = [(path, 1) for path in files]
    extracted: list[Path] = []
    unopened: list[tuple[str, ArchiveError]] = []
    while pending:
        path, level = pending.pop(0)
        found = sniff_file(path)
        if found.kind not in ARCHIVE_KINDS or path.suffix.lower() in DOCUMENT_SUFFIXES:
            extracted.append(path)
            continue
        size = path.stat().st_size
        try:
            if found.kind != "zip":
                raise ArchiveError(f"it is a {found.describe()}; only zip archives are opened")
            if level > max_nesting:
                raise ArchiveError(f"it is a zip nested more than {max_nesting} levels deep")
            inner = _extract_in_place(
                path,
                max_total_bytes=max_total_bytes - (total_bytes - size),
                max_files=max_files - (len(extracted) + len(pending)),
                max_ratio=max_ratio,
                max_compressible_bytes=max_compressible_bytes,
            )
        except ArchiveError as err:
            path.unlink()
            why = type(err)(str(err).replace(str(path), "it"))
            unopened.append((path.relative_to(dest).as_posix(), why))
            total_bytes -= size
            continue
        total_bytes += sum(p.stat().st_size for p in inner) - size
        pending += [(p, level + 1) for p in inner]
    return extracted, unopened


def _extract_in_place(
    path: Path,
    *,
    max_total_bytes: int,
    max_files: int,
    max_ratio: float,
    max_compressible_bytes: int,
) -> list[Path]:
    """Extract the zip at ``path`` into a folder that then takes its place, named as the zip less
    '.zip' (a patient's 'P001.zip' in a batch zip is 'P001', as it is unpacked at the top: its
    case key must join the clinical table's 'P001'), or as the zip where that name is taken; the
    files written. Nothing is left of a zip that fails half-way but the zip itself."""
    folder = Path(tempfile.mkdtemp(prefix=".", dir=path.parent))  # hidden until complete
    try:
        written = extract_zip(
            path,
            folder,
            max_total_bytes=max_total_bytes,
            max_files=max_files,
            max_ratio=max_ratio,
            max_compressible_bytes=max_compressible_bytes,
            keep_archives=True,
        )
    except ArchiveError:
        shutil.rmtree(folder)
        raise
    path.unlink()
    stem = path.with_suffix("") if path.suffix.lower() == ".zip" else path
    target = path if stem.exists() else stem
    folder.rename(target)
    return [target / p.relative_to(folder.resolve()) for p in written]
