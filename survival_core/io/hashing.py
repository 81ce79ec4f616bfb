"""SHA-256 of files and folders, read in 1 MiB blocks (feature and volume caches, run data hashes,
network files)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from survival_core.io.filetype import files_below

BLOCK = 1 << 20


def update_from_file(digest: Any, path: Path) -> None:
    """Feed the bytes of ``path`` to ``digest`` without reading the whole file at once."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    update_from_file(digest, Path(path))
    return digest.hexdigest()


def content_hash(folder: Path, names: Iterable[str] | None = None) -> str:
    """SHA-256 (hex) over every file below ``folder`` (or the ``names`` below it only): relative
    path and bytes, in sorted order."""
    digest = hashlib.sha256()
    files = files_below(folder) if names is None else (folder / name for name in names)
    for path in sorted(p for p in files if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        update_from_file(digest, path)
        digest.update(b"\0")
    return digest.hexdigest()
