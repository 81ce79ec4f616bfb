"""Store uploaded files under the data folder, keyed by their content.

An upload (one zip, or an image plus mask files) goes to ``<data>/cases/upload-<sha256 prefix>/``;
the same bytes always land in the same folder, so a re-upload reuses earlier work and two different
uploads can never be mixed up. File names are reduced to their base name (no path components).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from survival_core.errors import InputError
from survival_core.paths import data_subdir

#: Largest single upload accepted, in bytes (Streamlit's own limit is in .streamlit/config.toml).
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name reduced to its base name and a conservative character set."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")
    if not cleaned:
        raise InputError(f"Uploaded file name {name!r} is not usable.")
    return cleaned


def store_upload(files: list[tuple[str, bytes]]) -> Path:
    """Write ``(name, content)`` pairs to a content-addressed folder and return the folder."""
    if not files:
        raise InputError("No file was uploaded.")
    digest = hashlib.sha256()
    names = []
    for name, content in sorted(files, key=lambda item: safe_name(item[0])):
        if len(content) > MAX_UPLOAD_BYTES:
            raise InputError(
                f"{name} is {len(content) / 2**20:.0f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB."
            )
        clean = safe_name(name)
        if clean in names:
            raise InputError(f"Two uploaded files are both named {clean}.")
        names.append(clean)
        digest.update(clean.encode() + b"\0" + hashlib.sha256(content).digest())
    folder = data_subdir("cases") / f"upload-{digest.hexdigest()[:16]}"
    if not folder.exists():
        staging = folder.with_name(folder.name + ".partial")
        staging.mkdir(parents=True, exist_ok=True)
        for name, content in files:
            (staging / safe_name(name)).write_bytes(content)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.exists():
                raise
    return folder
