"""A patient who withdraws consent, taken out of the cohort wherever RadSurv keeps them.

:func:`withdraw` lists the case as withdrawn first (:mod:`survival_core.cohort.withdrawn`: later
imports leave the patient out, and a withdrawal cut short is finished by running it again), then
deletes its case folder, its row of ``clinical.csv`` and of ``import_report.csv``, rewrites the
manifest and ID map, and deletes what RadSurv computed from its images: cached features and
volumes, and the feature tables holding its row (caches: computed again without it). Training
runs keep what they were trained on (their folds and out-of-fold risks name the case): they are
named, for the user to delete, never changed behind their back.

Cohorts share case ids (IDs restarting at 001 in each centre give each centre's patient 001 one
pseudonym; every generated cohort has a SYN-0001), so a case id alone says whose a cache entry,
table row or run is not: the caches are known by the case's content (its files' hashes, which key
them, so they go before the case folder does; those of its versions before a re-import, which its
import record keeps), a feature table by its cohort's key, the cohort its metadata names or its
row equal to the case's cached features, and a run by the cohorts it recorded reading
(:func:`~survival_core.io.run_sources.cohorts_read`).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from survival_core.cohort.importer import (
    CACHE_KEYS,
    CLINICAL_FILE,
    IMPORT_LOCK,
    cache_keys,
    case_reads,
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
from survival_core.io.run_sources import cohorts_read
from survival_core.paths import data_subdir

if TYPE_CHECKING:
    from survival_core.io.manifest import CaseRead

#: The cohort's tables keyed by case id in their first column, from which a withdrawn case's
#: rows are removed.
_KEYED_TABLES = (CLINICAL_FILE, "import_report.csv")
#: What makes a folder a cohort folder of its own (a manifest, an import's ID map or cases).
_COHORT_MARKS = ("manifest.csv", "id_map.csv", "cases")
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
        records, reads = records_in_place(cohort), case_reads(cohort)
        known = _cases(cohort, records, reads) | set(withdrawn_cases(cohort))
        unknown = [c for c in case_ids if c not in known]
        if unknown:
            raise InputError(
                f"{', '.join(unknown)}: no case of {cohort} (give the case ids, the pseudonyms "
                "of import_report.csv and clinical.csv, not the hospital's patient IDs)."
            )
        wanted = set(case_ids)
        own_tables = _table_key(cohort)
        # first: a rerun finishes a withdrawal cut short
        record_withdrawn(cohort, case_ids, {c: r.get("name_key", "") for c, r in records.items()})
        # the caches before the folders: they are known by the folders' content
        caches = _purge_caches(wanted, _keys(reads, records, wanted), cohort, own_tables)
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
    return Withdrawal(sorted(wanted), removed | caches, [*outputs, *_runs_naming(wanted, cohort)])


def case_ids_of_patients(cohort: Path | str, patient_ids: list[str]) -> list[str]:
    """The case ids of the cohort's patients known by their hospital's ``patient_ids``: by the ID
    map of an image import, else (a table-only cohort) by the ID's pseudonym; :class:`InputError`
    naming an ID that is no patient of the cohort (one never printed otherwise: the user gave
    it), and the patients whose IDs are spellings of it (:func:`~survival_core.cohort.
    clinical_join.id_variants`: a sheet re-imported with 'G10' for 'G010'), never withdrawn for
    it (two patients' IDs may differ so)."""
    from survival_core.cohort.clinical_join import id_variants
    from survival_core.cohort.importer import case_id_lookup
    from survival_core.io.deid import Deidentifier

    cohort = Path(cohort)
    lookup = case_id_lookup(cohort) if (cohort / "id_map.csv").is_file() else None
    known = _cases(cohort, records_in_place(cohort), case_reads(cohort))
    deid = Deidentifier()

    def case_of(patient_id: str) -> str | None:
        case_id = lookup(patient_id) if lookup is not None else None
        if case_id is None and (case_id := deid.pseudonym(patient_id)) not in known:
            case_id = patient_id if patient_id in known else None  # a kept study code
        return case_id

    found, unknown = [], []
    for patient_id in patient_ids:
        case_id = case_of(patient_id)
        (found if case_id else unknown).append(case_id or patient_id)
    if unknown:
        near = [
            f"{variant!r} (case {case_id})"
            for patient_id in unknown
            for variant in id_variants(patient_id)
            if (case_id := case_of(variant))
        ]
        said = (
            f" It has {', '.join(near)}, written otherwise: give that ID or case id if it is "
            "the patient."
            if near
            else ""
        )
        raise InputError(
            f"No patient of {cohort} has the ID(s) {', '.join(unknown)} (written exactly as the "
            f"images or the spreadsheet had them).{said}"
        )
    return found


def _cases(cohort: Path, records: Mapping[str, Any], reads: Mapping[str, CaseRead]) -> set[str]:
    """The case ids of the cohort: its imported cases (``records``), its manifest's (``reads``)
    and its clinical table's rows."""
    return set(records) | set(reads) | first_column(cohort / CLINICAL_FILE)


def _cohort_outputs(cohort: Path, case_ids: set[str]) -> tuple[int, list[str]]:
    """The rows of the cases removed from the feature tables RadSurv wrote into the cohort
    folder, at any depth (``extract --out`` there, as the README shows; a sub-folder's table
    kept the row), and their failures and warnings tables; the output folders there (``cv
    --out``, ``fit --out``) naming one of them, as ``<cohort>/<folder>``. A table another
    cohort's metadata names (:func:`_another_cohorts`) holds that cohort's patients: left as it
    is."""
    removed, named = 0, []
    for path in _outputs_below(cohort, cohort / "cases"):
        if _another_cohorts(path, cohort):
            continue
        if path.is_dir():
            if _names_any(path, case_ids):
                named.append(path.relative_to(cohort.parent).as_posix())
        elif path.suffix == ".parquet":
            removed += _drop_table_rows(path, case_ids)
        else:
            removed += _drop_rows(path, case_ids)
    return removed, named


def _outputs_below(folder: Path, cases: Path) -> Iterator[Path]:
    """What RadSurv wrote below ``folder`` besides an import (:func:`~survival_core.cohort.
    importer.radsurv_output`): ``cases`` (the import's), a run's output folder (named, never
    changed), folders linked from elsewhere and another cohort stored there (:func:`_is_cohort`:
    its SYN-0001 or centre's 001 is another patient) are not entered."""
    for path in sorted(folder.iterdir()):
        if path == cases or (path.is_dir() and (path.is_symlink() or _is_cohort(path))):
            continue
        if radsurv_output(path):
            yield path
        elif path.is_dir():
            yield from _outputs_below(path, cases)


def _is_cohort(folder: Path) -> bool:
    """Whether ``folder`` is a cohort folder of its own (:data:`_COHORT_MARKS`)."""
    return any((folder / name).exists() for name in _COHORT_MARKS)


def _another_cohorts(path: Path, cohort: Path) -> bool:
    """Whether the output ``path`` (a feature table, or the failures or warnings table beside
    one) was extracted from another cohort folder than ``cohort``: its table's metadata names one
    that is there (one no longer there may be this cohort, moved or renamed since)."""
    from survival_core.features.cohort import sidecar_table

    table = sidecar_table(path)
    stamped = _stamped(table) if table.suffix == ".parquet" else None
    return stamped is not None and stamped != cohort.resolve() and stamped.is_dir()


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


def _keys(
    reads: Mapping[str, CaseRead], records: Mapping[str, Any], case_ids: set[str]
) -> dict[str, set[str]]:
    """What the caches key the cases' entries by (:func:`~survival_core.cohort.importer.
    cache_keys`, by kind): their files as they are now, read before their folders go, and as
    they were before each re-import (their records' :data:`CACHE_KEYS`: a corrected contour
    imported again left the entries of the old one, and the tables holding them)."""
    from survival_core.features.cohort import shared_folders

    shared = shared_folders([(read.case_id, read.folder) for read in reads.values()])
    found: dict[str, set[str]] = {"features": set(), "volumes": set()}
    for case_id in case_ids:
        read = reads.get(case_id)
        now = cache_keys(read, read.folder in shared) if read and read.folder.is_dir() else {}
        before = records.get(case_id, {}).get(CACHE_KEYS, {})
        for kind, keys in found.items():
            keys.update(now.get(kind, ()), before.get(kind, ()))
    return found


def _table_key(cohort: Path) -> str | None:
    """The name prefix of the cohort's feature tables as it is now (before the withdrawal
    changes it); None for a cohort without a manifest (no images, no tables)."""
    from survival_core.features.cohort import cohort_key

    return cohort_key(cohort) if (cohort / "manifest.csv").is_file() else None


def _purge_caches(
    case_ids: set[str], keys: Mapping[str, set[str]], cohort: Path, own_tables: str | None
) -> dict[str, int]:
    """Delete the cases' cached features and volumes (by their ``keys``, :func:`_keys`) and the
    feature tables holding their rows, with their failures and warnings tables (all computed
    again without them when next needed); the counts. Another cohort's case of the same id is
    another patient: its entries and tables stay (deleted with these, its features were
    extracted again at its next run)."""
    from survival_core.features.cohort import sidecars
    from survival_core.models.image_set import WARNINGS_SUFFIX

    cache = data_subdir("cache")
    features = [
        p
        for p in (cache / "features").glob("*/*.json")
        if p.name != "settings.json" and p.name.startswith(tuple(keys["features"]))
    ]
    rows = [row for path in features if (row := _cached_row(path)) is not None]
    volumes = [p for key in keys["volumes"] for p in (cache / "volumes").glob(f"*/{key}.npy")]
    # what loading each case warned of, kept beside its volume, names its files: deleted too
    warned = [
        p for key in keys["volumes"] for p in (cache / "volumes").glob(f"*/{key}{WARNINGS_SUFFIX}")
    ]
    tables = [
        p
        for p in data_subdir("features").glob("*.parquet")
        if _holds(p, case_ids, rows, _own(p, cohort, own_tables))
    ]
    # a table's failures and warnings name its cases (ids, warnings' text): deleted with it
    for path in [*features, *volumes, *warned, *tables, *(s for t in tables for s in sidecars(t))]:
        path.unlink(missing_ok=True)
    return {
        "cached_features": len(features),
        "cached_volumes": len(volumes),
        "feature_tables": len(tables),
    }


def _own(table: Path, cohort: Path, key: str | None) -> bool:
    """Whether the feature table ``table`` is the cohort's: named by its ``key`` now, or
    extracted from it (its metadata names it: whatever its key then, a case since re-imported)."""
    return table.name.startswith(f"{key}-") or _stamped(table) == cohort.resolve()


def _stamped(table: Path) -> Path | None:
    """The cohort folder the feature table's metadata names (``radsurv.cohort``, as extracted);
    None for a table naming none, or unreadable."""
    from survival_core.io.tables import COHORT_KEY, parquet_metadata

    try:
        stamped = parquet_metadata(table).get(COHORT_KEY)
    except (OSError, ValueError):
        return None
    return Path(stamped.decode(errors="replace")) if stamped is not None else None


def _cached_row(path: Path) -> pd.Series | None:
    """The features of a feature-cache entry, by name (None when unreadable)."""
    try:
        features = json.loads(path.read_text(errors="replace")).get("features")
    except (OSError, ValueError, AttributeError):
        return None
    return pd.Series(features, dtype="float64") if isinstance(features, dict) else None


def _holds(table: Path, case_ids: set[str], rows: list[pd.Series], own: bool) -> bool:
    """Whether the feature table has a row of one of ``case_ids`` that is the cases': the table
    is the cohort's ``own`` (:func:`_own`), or the row equals one of their cached feature
    ``rows`` (a table of before the cohort was named in it, the demo's copy); an unreadable
    table: no."""
    try:
        frame = pd.read_parquet(table)
    except (OSError, ValueError):
        return False
    theirs = frame[frame.index.astype(str).isin(case_ids)]
    if theirs.empty or own:
        return not theirs.empty
    return any(
        set(row.index) == set(frame.columns)
        and np.array_equal(mine[row.index].to_numpy(float), row.to_numpy(), equal_nan=True)
        for _, mine in theirs.iterrows()
        for row in rows
    )


def _runs_naming(case_ids: set[str], cohort: Path) -> list[str]:
    """The run, registered model and job folders (below ``<data>/runs``) of which a text output
    names one of the cases and that may have read ``cohort`` (:func:`_among`; a folder recording
    nothing may have: it is named)."""
    root = data_subdir("runs")
    found: set[str] = set()
    read: dict[Path, bool] = {}
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        run = "/".join(parts[: _DEPTH.get(parts[0], 1)])
        if run in found or not _names(path, case_ids):
            continue
        record = root / (parts[2] if parts[0] == "artifacts" and len(parts) > 2 else run)
        if record not in read:
            cohorts = cohorts_read(record)
            read[record] = cohorts is None or _among(cohort, cohorts)
        if read[record]:
            found.add(run)
    return sorted(found)


def _among(cohort: Path, read: set[Path]) -> bool:
    """Whether a run that read the cohort folders ``read`` may have read ``cohort``: one of them,
    or one no longer there (moved or renamed since: it may be this one)."""
    return cohort.resolve() in read or not all(folder.is_dir() for folder in read)
