"""Where RadSurv writes: one data folder for everything (cases, caches, features, models, runs, logs).

The folder is ``$RADSURV_DATA_DIR`` when set, else ``./data`` relative to the working directory.
Tests point ``RADSURV_DATA_DIR`` at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

SUBFOLDERS = ("cases", "cache", "features", "models", "runs", "logs", "demo", "tmp", "cohorts")


def data_dir() -> Path:
    """The data folder, created on first use."""
    root = Path(os.environ.get("RADSURV_DATA_DIR", "data")).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
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
