"""What a training run read from the user's cohort folders, and whether it has changed since.

A cohort is corrected in place (an event status fixed in ``clinical.csv``, a patient withdrawn,
a contour redrawn and imported again): a model trained before knows nothing of it, yet was listed
exactly like one trained after. A run records the SHA-256 of the cohort files a user edits or an
import rewrites (:data:`SOURCES`) in its folder; :func:`changed_sources` says which differ now, for
the Training page to say so beside the model, and :func:`cohorts_read` which cohorts it read,
for a withdrawal to name the runs holding the withdrawn patient (a patient of another cohort under
the same case id is another patient).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from survival_core.io.atomic import write_text
from survival_core.io.hashing import file_sha256

#: The run folder's record of the cohort files it read.
SOURCES_FILE = "data_sources.json"
#: The cohort files recorded: the cases (a redrawn contour re-imported rewrites the manifest's
#: row), the clinical table and the withdrawn patients.
SOURCES = ("manifest.csv", "clinical.csv", "withdrawn.csv")


def record_sources(run_folder: Path, cohorts: Iterable[Path]) -> None:
    """Write the SHA-256 of each cohort's :data:`SOURCES` into ``run_folder``, null for one
    not there (a first withdrawal creates ``withdrawn.csv``: unrecorded, it went unseen)."""
    files = {
        str(path.resolve()): file_sha256(path) if path.is_file() else None
        for cohort in cohorts
        for path in (Path(cohort) / name for name in SOURCES)
    }
    write_text(Path(run_folder) / SOURCES_FILE, json.dumps(files, indent=1, sort_keys=True))


def source_changes(run_folder: Path) -> list[tuple[Path, str]]:
    """The cohort files the run recorded that differ now, each with how: 'changed', 'deleted' or
    'created'; [] where none does or the run recorded none (runs of before the record)."""
    try:
        recorded = json.loads((Path(run_folder) / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    changes = []
    for name, digest in sorted(recorded.items()):
        path = Path(name)
        if digest is None:
            if path.is_file():
                changes.append((path, "created"))
        elif not path.is_file():
            changes.append((path, "deleted"))
        elif file_sha256(path) != digest:
            changes.append((path, "changed"))
    return changes


def changed_sources(run_folder: Path) -> list[str]:
    """:func:`source_changes` as people read them: '<path> (changed)'."""
    return described(source_changes(run_folder))


def described(changes: list[tuple[Path, str]]) -> list[str]:
    """``changes`` (:func:`source_changes`) as people read them: '<path> (changed)'."""
    return [f"{path} ({how})" for path, how in changes]


def cohorts_read(run_folder: Path) -> set[Path] | None:
    """The cohort folders (resolved) of which the run recorded reading files; None where it
    recorded none (a run of before the record, a folder that is no run's)."""
    try:
        recorded = json.loads((Path(run_folder) / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {Path(path).parent for path in recorded} if isinstance(recorded, dict) else None
