"""A patient who withdraws consent, taken out of the cohort wherever RadSurv keeps them.

:func:`withdraw` lists the case as withdrawn first (:mod:`survival_core.cohort.withdrawn`: later
imports leave the patient out, and a withdrawal cut short is finished by running it again), then
deletes its case folder, its row of ``clinical.csv`` and of ``import_report.csv``, rewrites the
manifest and ID map, and deletes what RadSurv computed from its images: cached features and
volumes, and the feature tables holding its row (caches: computed again without it). Training
runs keep what they were trained on (their folds and out-of-fold risks name the case): they are
named, for the user to delete, never changed behind their back.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from survival_core.cohort.importer import (
    CLINICAL_FILE,
    IMPORT_LOCK,
    csv_text,
    records_in_place,
    write_case_tables,
)
from survival_core.cohort.withdrawn import record_withdrawn, withdrawn_cases
from survival_core.errors import InputError
from survival_core.io.atomic import write_text
from survival_core.io.locks import folder_lock
from survival_core.paths import data_subdir

#: The cohort's tables keyed by case id in their first column, from which a withdrawn case's
#: rows are removed.
_KEYED_TABLES = (CLINICAL_FILE, "import_report.csv")
#: Run output files searched for a withdrawn case's id.
_RUN_TEXT = (".csv", ".json", ".yaml", ".txt", ".log")
#: How deep below ``<data>/runs`` a run's own folder is, by the first folder's name (a run's
#: own id otherwise): artifacts/<experiment>/<run>, registry/<model>/<version>, jobs/<job>.
_DEPTH = {"artifacts": 3, "registry": 3, "jobs": 2}


@dataclass
class Withdrawal:
    """What :func:`withdraw` removed, and the run folders that still name a withdrawn case."""

    case_ids: list[str]
    removed: dict[str, int] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"withdrawn": self.case_ids, **self.removed, "runs_naming_them": self.runs}


def withdraw(cohort: Path | str, case_ids: list[str]) -> Withdrawal:
    """Take ``case_ids`` out of the cohort folder ``cohort`` (see the module); :class:`InputError`
    naming any that is none of its cases (nothing is then changed)."""
    cohort = Path(cohort)
    with folder_lock(cohort, IMPORT_LOCK, "cohort import or withdrawal"):
        records = records_in_place(cohort)
        known = set(records) | _keyed_rows(cohort / CLINICAL_FILE) | set(withdrawn_cases(cohort))
        unknown = [c for c in case_ids if c not in known]
        if unknown:
            raise InputError(
                f"{', '.join(unknown)}: no case of {cohort} (give the case ids, the pseudonyms "
                "of import_report.csv and clinical.csv, not the hospital's patient IDs)."
            )
        wanted = set(case_ids)
        volume_keys = _volume_keys(cohort, wanted)
        record_withdrawn(cohort, case_ids)  # first: a rerun finishes a withdrawal cut short
        removed = {"case_folders": 0}
        for case_id in sorted(wanted & set(records)):
            shutil.rmtree(cohort / "cases" / case_id)
            removed["case_folders"] += 1
        for name in _KEYED_TABLES:
            removed[f"{Path(name).stem}_rows"] = _drop_rows(cohort / name, wanted)
        if (cohort / "manifest.csv").is_file():
            write_case_tables(cohort, {c: r for c, r in records.items() if c not in wanted})
    removed |= _purge_caches(wanted, volume_keys)
    return Withdrawal(sorted(wanted), removed, _runs_naming(wanted))


def _keyed_rows(path: Path) -> set[str]:
    """The keys (first column) of a CSV table's rows; empty without the file."""
    if not path.is_file():
        return set()
    with open(path, encoding="utf-8", newline="") as handle:
        return {row[0] for row in list(csv.reader(handle))[1:] if row}


def _drop_rows(path: Path, case_ids: set[str]) -> int:
    """Remove the rows keyed (first column) by ``case_ids``, every other cell as written; how
    many were removed."""
    if not path.is_file():
        return 0
    with open(path, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    kept = [row for row in rows if not row or row[0] not in case_ids]
    if len(kept) < len(rows):
        write_text(path, csv_text([header, *kept]))
    return len(rows) - len(kept)


def _volume_keys(cohort: Path, case_ids: set[str]) -> list[str]:
    """The volume-cache keys of the cases, read from the manifest before their folders go."""
    from survival_core.io.manifest import cases_read_as

    if not (cohort / "manifest.csv").is_file():
        return []
    return [read.key() for read in cases_read_as(cohort) if read.case_id in case_ids]


def _purge_caches(case_ids: set[str], volume_keys: list[str]) -> dict[str, int]:
    """Delete the cached features naming the cases, their cached volumes and the feature tables
    holding their rows (all computed again without them when next needed); the counts."""
    cache = data_subdir("cache")
    marks = [f'"case_id": {json.dumps(c)}' for c in case_ids]
    features = [
        p
        for p in (cache / "features").glob("*/*.json")
        if p.name != "settings.json" and any(m in p.read_text(errors="replace") for m in marks)
    ]
    volumes = [p for key in volume_keys for p in (cache / "volumes").glob(f"*/{key}.npy")]
    tables = [p for p in data_subdir("features").glob("*.parquet") if _holds(p, case_ids)]
    for path in [*features, *volumes, *tables]:
        path.unlink(missing_ok=True)
    return {
        "cached_features": len(features),
        "cached_volumes": len(volumes),
        "feature_tables": len(tables),
    }


def _holds(table: Path, case_ids: set[str]) -> bool:
    """Whether the feature table has a row of one of ``case_ids`` (an unreadable one: no)."""
    try:
        index = pd.read_parquet(table, columns=[]).index
    except (OSError, ValueError):
        return False
    return bool(case_ids & set(map(str, index)))


def _runs_naming(case_ids: set[str]) -> list[str]:
    """The run, registered model and job folders (below ``<data>/runs``) of which a text output
    names one of the cases."""
    root = data_subdir("runs")
    found: set[str] = set()
    for path in root.rglob("*"):
        if path.suffix not in _RUN_TEXT or not path.is_file():
            continue
        parts = path.relative_to(root).parts
        run = "/".join(parts[: _DEPTH.get(parts[0], 1)])
        if run in found:
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if any(c in text for c in case_ids):
            found.add(run)
    return sorted(found)
