"""Where RadSurv writes: one data folder for everything (cases, caches, features, models, runs, logs).

The folder is ``$RADSURV_DATA_DIR`` when set, else ``./data`` relative to the working directory.
Tests point ``RADSURV_DATA_DIR`` at a temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from survival_core.errors import ConfigError, InputError

SUBFOLDERS = ("cases", "cache", "features", "models", "runs", "logs", "demo", "tmp", "cohorts")


def data_root() -> Path:
    """The data folder's path (``$RADSURV_DATA_DIR``, else ``./data``), not created."""
    return Path(os.environ.get("RADSURV_DATA_DIR", "data")).expanduser().resolve()


def existing_data_root(so: str, instead: str = "") -> Path:
    """The data folder (:func:`data_root`) where it exists, never created by a command that only
    reads or cleans it; else an :class:`InputError` naming it, what follows (``so``: 'it holds
    nothing to clean up') and what to do (``instead``, then setting RADSURV_DATA_DIR); a file
    there is :func:`data_dir`'s ConfigError ('is a file, not a folder')."""
    root = data_root()
    if not root.exists():
        raise InputError(
            f"The data folder {root} ($RADSURV_DATA_DIR) does not exist, so {so}: {instead}set "
            "RADSURV_DATA_DIR to the app's data folder."
        )
    return data_dir()


def data_dir() -> Path:
    """The data folder, created on first use; a :class:`ConfigError` naming it and where it is
    set when it is a file or cannot be created (a bare 'File exists: ...' named neither)."""
    root = data_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        kind = "is a file, not a folder" if root.is_file() else f"cannot be made ({err.strerror})"
        raise ConfigError(
            f"The data folder {root} {kind}: set RADSURV_DATA_DIR to a folder RadSurv may write "
            "(it is ./data where unset)."
        ) from None
    return root


def data_subdir(name: str) -> Path:
    """A named sub-folder of the data folder (one of ``SUBFOLDERS``), created on first use."""
    if name not in SUBFOLDERS:
        raise ValueError(f"unknown data sub-folder {name!r}; expected one of {SUBFOLDERS}")
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_cohort_dir() -> Path:
    """Folder of the bundled demo cohort that ``make run`` prepares."""
    return data_subdir("demo") / "cohort"


def without_server_paths(message: str) -> str:
    """A message without the server's data folder: the user knows their files, not where the
    server keeps them ('/srv/radsurv/data/cases/upload-1a2b/x.zip:...' -> 'x.zip:...')."""
    root = str(data_root())
    upload = re.escape(root) + r"/cases/upload-[0-9a-f]+"
    message = re.sub(upload + "/", "", message)
    message = re.sub(upload + r"\b", "the upload", message)
    message = message.replace(root + "/", "")
    return "T" + message[1:] if message.startswith("the upload") else message
