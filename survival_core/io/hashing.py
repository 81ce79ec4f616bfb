"""SHA-256 of files, read in 1 MiB blocks (feature caches, run data hashes, network files)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

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
