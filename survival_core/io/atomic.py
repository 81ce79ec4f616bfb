"""Atomic writes: a reader sees a file or folder whole, old or new, never half-written.

Everything is first written to a temporary sibling in the destination's folder (same file
system, so the final rename is atomic), flushed and fsynced, then renamed over the destination.
Temporary names are hidden and carry the writer's pid (``.<name>.tmp-<pid>-<random>``), so they
never collide between processes and never match the destination's name; a crash leaves at most
such a hidden file or folder behind, and the destination keeps its previous content.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def temp_sibling(path: Path, kind: str = "tmp") -> Path:
    """A fresh hidden name next to ``path`` (``kind``: ``tmp`` for new content, ``old`` for the
    content being replaced)."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (parent folders are created); returns the path.

    ``mode`` (e.g. 0o600 for a file of password hashes): the permission bits the file has from
    its creation, before any byte is written, so it is never readable by others, not even for
    the moment between the rename and a later chmod; default: 0o666 less the umask.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_sibling(path)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        with open(fd, "wb") as stream:
            if mode is not None:
                os.fchmod(fd, mode)  # exactly ``mode``, whatever the umask
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def write_text(
    path: str | Path, text: str, encoding: str = "utf-8", *, mode: int | None = None
) -> Path:
    """Write ``text`` to ``path`` atomically (``mode``: see :func:`write_bytes`)."""
    return write_bytes(path, text.encode(encoding), mode=mode)


def write_json(path: str | Path, document: Any, indent: int = 1) -> Path:
    """Write ``document`` as strict JSON (NaN refused) to ``path`` atomically."""
    return write_text(path, json.dumps(document, indent=indent, allow_nan=False))


def _copy_synced(src: str, dst: str) -> str:
    """``shutil.copy2`` that also fsyncs the copy (the copy function of :func:`copy_tree`)."""
    shutil.copy2(src, dst)
    with open(dst, "rb+") as stream:
        os.fsync(stream.fileno())
    return dst


def copy_file(src: str | Path, dst: str | Path) -> Path:
    """Copy the file ``src`` to ``dst`` atomically (contents and times); returns ``dst``."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_sibling(dst)
    try:
        _copy_synced(str(src), str(temp))
        os.replace(temp, dst)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(dst.parent)
    return dst


def copy_tree(src: str | Path, dst: str | Path) -> Path:
    """Copy the folder ``src`` to ``dst`` atomically (:func:`_swap_in`); returns ``dst``."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_sibling(dst)
    try:
        shutil.copytree(src, temp, copy_function=_copy_synced)
        _swap_in(temp, dst)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return dst


@contextmanager
def replaced_folder(dst: str | Path) -> Iterator[Path]:
    """A fresh temporary sibling of ``dst`` to write a whole folder into, swapped in for ``dst``
    when the block ends (:func:`_swap_in`); an error in it (a full disk) leaves ``dst`` as it
    was: a model refitted into its own folder kept the old schema beside the new model, and one
    whose save failed half-way was lost."""
    dst = Path(dst)
    if dst.is_symlink():  # the folder it names is replaced, not the link
        dst = dst.resolve()
    dst.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_sibling(dst)
    temp.mkdir()
    try:
        yield temp
        _swap_in(temp, dst)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _swap_in(temp: Path, dst: Path) -> None:
    """Rename the complete folder ``temp`` to ``dst``: an existing ``dst`` is renamed aside
    first, then deleted. Readers see the old folder or the new one, or (for the instant between
    the two renames) no folder, never a mix. Another writer's folder renamed in between is
    replaced in turn (the last writer wins: two saves into one model folder at the same instant
    failed with 'Directory not empty' and left the set-aside copy behind)."""
    for attempt in range(_SWAP_TRIES):
        old = temp_sibling(dst, "old") if dst.exists() else None
        try:
            if old is not None:
                os.replace(dst, old)
            os.replace(temp, dst)
        except OSError as err:
            set_aside = old is not None and old.exists()
            if set_aside and not dst.exists():  # ours failed: the earlier folder stays
                os.replace(old, dst)
                raise
            if set_aside:  # another writer's folder came in between: it is replaced in turn
                shutil.rmtree(old, ignore_errors=True)
            # ENOENT: another writer set ``dst`` aside first; ENOTEMPTY: it put its own in
            retry = err.errno in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST)
            if not retry or attempt == _SWAP_TRIES - 1:
                raise
            continue
        except BaseException:
            if old is not None and not dst.exists():
                os.replace(old, dst)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _fsync_folder(dst.parent)
        return


#: Renames :func:`_swap_in` tries while other writers replace the same folder.
_SWAP_TRIES = 5


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data: string keys, lists for tuples and arrays, Python numbers for
    numpy scalars, None for NaN and infinities (strict JSON has neither), text for paths. The one
    sanitiser for what is written as JSON (run files, command output, config dumps)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
