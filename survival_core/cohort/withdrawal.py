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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from survival_core.cohort.importer import (
    CLINICAL_FILE,
    IMPORT_LOCK,
    csv_text,
    first_column,
    radsurv_output,
    records_in_place,
    write_case_tables,
)
from survival_core.cohort.withdrawn import record_withdrawn, withdrawn_cases
from survival_core.errors import InputError
from survival_core.io.atomic import write_text
from survival_core.io.locks import folder_lock
from survival_core.paths import data_subdir

if TYPE_CHECKING:
    from survival_core.io.manifest import CaseRead

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
        records, reads = records_in_place(cohort), _case_reads(cohort)
        known = _cases(cohort, records, reads) | set(withdrawn_cases(cohort))
        unknown = [c for c in case_ids if c not in known]
        if unknown:
            raise InputError(
                f"{', '.join(unknown)}: no case of {cohort} (give the case ids, the pseudonyms "
                "of import_report.csv and clinical.csv, not the hospital's patient IDs)."
            )
        wanted = set(case_ids)
        volume_keys = [read.key() for c, read in reads.items() if c in wanted]
        record_withdrawn(cohort, case_ids)  # first: a rerun finishes a withdrawal cut short
        removed = {"case_folders": 0}
        for case_id in sorted(wanted):
            folder = reads[case_id].folder if case_id in reads else cohort / "cases" / case_id
            if folder.is_dir() and folder.resolve().is_relative_to(cohort.resolve()):
                shutil.rmtree(folder)
                removed["case_folders"] += 1
        for name in _KEYED_TABLES:
            removed[f"{Path(name).stem}_rows"] = _drop_rows(cohort / name, wanted)
        if records:  # an import's cohort: its manifest and ID map from the cases' records
            write_case_tables(cohort, {c: r for c, r in records.items() if c not in wanted})
        else:  # a generated or hand-written one: its manifest's rows, as written
            _drop_rows(cohort / "manifest.csv", wanted)
        removed["cohort_table_rows"], outputs = _cohort_outputs(cohort, wanted)
    removed |= _purge_caches(wanted, volume_keys)
    return Withdrawal(sorted(wanted), removed, [*outputs, *_runs_naming(wanted)])


def case_ids_of_patients(cohort: Path | str, patient_ids: list[str]) -> list[str]:
    """The case ids of the cohort's patients known by their hospital's ``patient_ids``: by the ID
    map of an image import, else (a table-only cohort) by the ID's pseudonym; :class:`InputError`
    naming an ID that is no patient of the cohort (one never printed otherwise: the user gave it)."""
    from survival_core.cohort.importer import case_id_lookup
    from survival_core.io.deid import Deidentifier

    cohort = Path(cohort)
    lookup = case_id_lookup(cohort) if (cohort / "id_map.csv").is_file() else None
    known = _cases(cohort, records_in_place(cohort), _case_reads(cohort))
    deid = Deidentifier()
    found, unknown = [], []
    for patient_id in patient_ids:
        case_id = lookup(patient_id) if lookup is not None else None
        if case_id is None and (case_id := deid.pseudonym(patient_id)) not in known:
            case_id = patient_id if patient_id in known else None  # a kept study code
        (found if case_id else unknown).append(case_id or patient_id)
    if unknown:
        raise InputError(
            f"No patient of {cohort} has the ID(s) {', '.join(unknown)} (written exactly as the "
            "images or the spreadsheet had them)."
        )
    return found


def _cases(cohort: Path, records: Mapping[str, Any], reads: Mapping[str, CaseRead]) -> set[str]:
    """The case ids of the cohort: its imported cases (``records``), its manifest's (``reads``)
    and its clinical table's rows."""
    return set(records) | set(reads) | first_column(cohort / CLINICAL_FILE)


def _cohort_outputs(cohort: Path, case_ids: set[str]) -> tuple[int, list[str]]:
    """The rows of the cases removed from the feature tables RadSurv wrote into the cohort
    folder (``extract --out`` there, as the README shows) and their failures tables; the output
    folders there (``cv --out``, ``fit --out``) naming one of them, as ``<cohort>/<folder>``."""
    removed, named = 0, []
    for path in sorted(cohort.iterdir()):
        if path.name == "cases" or not radsurv_output(path):
            continue
        if path.is_dir():
            if _names_any(path, case_ids):
                named.append(f"{cohort.name}/{path.name}")
        elif path.suffix == ".parquet":
            removed += _drop_table_rows(path, case_ids)
        else:
            removed += _drop_rows(path, case_ids)
    return removed, named


def _drop_table_rows(path: Path, case_ids: set[str]) -> int:
    """Remove the cases' rows of a feature table, its footer (extraction settings) kept."""
    import pyarrow.parquet as pq

    from survival_core.features.table import write_table

    table = pq.read_table(path)
    frame = table.to_pandas()
    kept = ~frame.index.astype(str).isin(case_ids)
    if kept.all():
        return 0
    footer = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pandas"}
    write_table(frame[kept], path, footer)
    return int((~kept).sum())


def _names_any(folder: Path, case_ids: set[str]) -> bool:
    """Whether a text output below ``folder`` names one of the cases."""
    return any(_names(path, case_ids) for path in folder.rglob("*"))


def _names(path: Path, case_ids: set[str]) -> bool:
    """Whether ``path`` is a text output (:data:`_RUN_TEXT`) naming one of the cases."""
    if path.suffix not in _RUN_TEXT or not path.is_file():
        return False
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    return any(c in text for c in case_ids)


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


def _case_reads(cohort: Path) -> dict[str, CaseRead]:
    """How the manifest reads each case (its folder, its volume-cache key), read before the
    cases go; {} for a cohort without a manifest."""
    from survival_core.io.manifest import cases_read_as

    if not (cohort / "manifest.csv").is_file():
        return {}
    return {read.case_id: read for read in cases_read_as(cohort)}


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
        parts = path.relative_to(root).parts
        run = "/".join(parts[: _DEPTH.get(parts[0], 1)])
        if run not in found and _names(path, case_ids):
            found.add(run)
    return sorted(found)
