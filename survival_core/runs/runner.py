"""A training run: one YAML config in; a tracked run and a registered model out.

Steps (each logged to the run store, see :mod:`survival_core.runs.store`):

1. **Data**: the cohort folder (``cohort: demo`` is the bundled demo cohort, prepared on first use)
   and, for external validation, the external cohort, whose case ids are prefixed ``ext:`` so they
   never collide with the development ids; a table-only cohort (``clinical.csv`` alone, from
   ``cohort import --clinical``) trains a model on its clinical variables, and a config needing
   its images is refused before the run starts. Feature tables: ``clinical.csv`` (outcomes,
   clinical variables) joined with the radiomics presets (extracted through the engine, cached
   per case), deep features and DSFR features named by the config. Hashes of the manifests and
   of every table are logged, so a run says exactly which data it saw.
2. **Resampling**: the config's protocol gives the folds (seeded). Each fold's result is written
   to ``<run folder>/folds/`` atomically as soon as it is done; ``train --resume RUN_ID`` reads the
   finished folds back and runs only the others, those computed on the same data, settings,
   folds, code and package versions (the others are computed again, with a note).
3. **Metrics**: the pooled out-of-fold summary (c-index with BCa CI, Uno's c, td-AUC, IBS) and the
   per-fold metrics; the out-of-fold risks and the plots (risk-group KM, td-AUC, calibration and
   decision curve at the risk-group horizon) as artifacts.
4. **Model**: fitted on all development rows with its card (training risk distribution, risk
   groups, KM, CV metrics), logged and registered as a new version of the model named after the
   config; ``activate`` makes it the app's active model at once.

A failure at any step marks the run FAILED with the message; earlier runs and the registry are
never touched before the final registration, which is itself one atomic step.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from survival_core.audit import audit, command_user
from survival_core.cohort.withdrawn import WITHDRAWN_FILE
from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.risk_groups import RiskGroupCut, check_youden_horizon
from survival_core.evaluation.splits import Fold
from survival_core.io.hashing import file_sha256
from survival_core.io.load_warnings import WARNED_COLUMNS, warned_cases, write_load_warnings
from survival_core.io.outcome_source import OutcomeSource, load_outcome_source
from survival_core.io.run_sources import described, record_sources, source_changes
from survival_core.outcome import survival_arrays
from survival_core.runs.cohort_checks import (
    Progress,
    check_cohorts,
    check_external_modality,
    check_network_unseen,
    cohort_images,
    image_inputs,
    resolve_cohort,
    resolve_network,
)
from survival_core.runs.left_out import (
    LEFT_OUT_FILE,
    NOT_COMPUTED,
    UNSEEN_CATEGORY,
    left_out_groups,
)
from survival_core.runs.retention import mark_used
from survival_core.text import them
from survival_core.workflows.crossval import FOLD_ARRAYS, ibs_label, sparse_horizon_note

if TYPE_CHECKING:
    from survival_core.models.image_set import ImageSet

EXTERNAL_PREFIX = "ext:"
#: The columns of :func:`left_out_cases`: a case, why it has no features, and which table.
FAILED_COLUMNS = ("case_id", "error", "table")


@dataclass
class RunResult:
    """What ``train`` reports."""

    run_id: str
    status: str
    metrics: dict[str, Any]
    seconds: float
    model_version: str | None = None
    #: The notes on its data (``reports/notes.txt``), said on stderr too.
    notes: list[str] = field(default_factory=list)
    #: How many of its cases were loaded with warnings (``reports/load_warnings.csv``).
    n_warned: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "metrics": self.metrics,
            "seconds": round(self.seconds, 2),
            "model_version": self.model_version,
            "notes": self.notes,
            "n_warned": self.n_warned,
        }


# -- fold checkpoints ------------------------------------------------------------------------------


def _fold_key(fold: Fold) -> str:
    return f"r{fold.repeat:03d}-f{fold.fold:03d}"


class FoldCheckpoints:
    """Finished folds of a run on disk: ``<key>.npz`` (arrays) + ``<key>.json`` (the rest).

    The JSON is written last and atomically, so a fold counts as finished only when both files are
    complete; a run killed mid-fold simply runs that fold again on resume. A fold of another
    ``signature`` (other data, settings, folds or code) is computed again, and ``origin`` (the
    data hashes and the code, :meth:`.store.RunStore.code_identity`) says why: a resume by
    upgraded code mixed folds of two versions.
    """

    def __init__(self, folder: Path, signature: str, origin: dict[str, Any], say: Progress) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.signature = signature
        self.origin = origin
        self.say = say

    def load(self, fold: Fold) -> dict[str, Any] | str | None:
        """The finished fold's record; None when there is none, or why it cannot be reused."""
        meta_path = self.folder / f"{_fold_key(fold)}.json"
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.pop("_signature", None) != self.signature:
                return self._why_stale(meta.get("_origin") or {})
            meta.pop("_origin", None)
            with np.load(self.folder / f"{_fold_key(fold)}.npz", allow_pickle=False) as arrays:
                meta.update({name: arrays[name] for name in FOLD_ARRAYS})
            # metrics that were NaN are stored as null
            meta.update({k: np.nan for k, v in meta.items() if v is None})
        except (OSError, ValueError, KeyError):
            return None
        return meta

    def _why_stale(self, origin: dict[str, Any]) -> str:
        """Why a fold written with ``origin`` differs from this run's (none recorded: a
        version before origins were, whose folds were all said to be of changed data)."""
        if origin and origin.get("data") != self.origin["data"]:
            return "the data changed since they were computed"
        if origin.get("code") != self.origin["code"]:
            before = origin.get("code") or "a version that did not record it"
            return f"computed by other code ({before}; now {self.origin['code']})"
        before, now = origin.get("packages") or {}, self.origin["packages"]
        changed = [f"{p} {before.get(p, 'absent')}, now {now.get(p, 'absent')}"
                   for p in sorted({*before, *now}) if before.get(p) != now.get(p)]  # fmt: skip
        if changed:
            return f"computed with other package versions ({'; '.join(changed)})"
        return "computed with other settings or folds"

    def save(self, fold: Fold, record: dict[str, Any]) -> None:
        from survival_core.io.atomic import json_ready, write_bytes, write_json

        key = _fold_key(fold)
        arrays = {name: np.asarray(record[name]) for name in FOLD_ARRAYS}
        buffer_path = self.folder / f"{key}.npz.tmp-{os.getpid()}"
        with open(buffer_path, "wb") as stream:
            np.savez(stream, **arrays)
        write_bytes(self.folder / f"{key}.npz", buffer_path.read_bytes())
        buffer_path.unlink()
        meta = {k: v for k, v in record.items() if k not in FOLD_ARRAYS}
        write_json(
            self.folder / f"{key}.json",
            {**json_ready(meta), "_signature": self.signature, "_origin": self.origin},
        )

    def map(self, inner: Callable[[Callable, Iterable[Fold]], Iterable[dict]]) -> Callable:
        """A ``map_folds`` for :func:`cross_validate` that reads finished folds and runs the rest
        through ``inner`` (a local or distributed map), saving each as it finishes."""

        def mapped(work: Callable[[Fold], dict], folds: Iterable[Fold]) -> Iterator[dict]:
            folds = list(folds)
            done = {_fold_key(f): self.load(f) for f in folds}
            for why, count in Counter(v for v in done.values() if isinstance(v, str)).items():
                self.say(f"note: {count} finished fold(s) not reused, computed again: {why}")
            done = {key: v if isinstance(v, dict) else None for key, v in done.items()}
            fresh = iter(inner(work, [f for f in folds if done[_fold_key(f)] is None]))
            for fold in folds:
                record = done[_fold_key(fold)]
                if record is None:
                    record = next(fresh)  # the inner map keeps the folds' order
                    self.save(fold, record)
                yield record

        return mapped


# -- data ----------------------------------------------------------------------------------------------


@dataclass
class RunData:
    """The joined tables of a run and where each case's images are."""

    tables: list[Path]
    images: ImageSet
    hashes: dict[str, str]
    external_ids: set[str]
    networks: dict[str, Any] = field(default_factory=dict)
    #: What the run's report says about its data beyond the joined table's own notes.
    notes: list[str] = field(default_factory=list)
    #: The outcome the development cohort recorded at import; None without a record.
    outcome: OutcomeSource | None = None
    #: The development cohort's clinical.csv, which the final model's card keeps as its source.
    sources: list[Path] = field(default_factory=list)
    #: What loading each case of the feature tables warned of (:func:`load_warnings`).
    warned: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNED_COLUMNS))
    #: The cases the feature tables have no row for, with why (:func:`left_out_cases`).
    failed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILED_COLUMNS))


def _write_like(frame: pd.DataFrame, source: Path, out: Path) -> Path:
    """Write ``frame`` (index case_id) as ``source`` was written: CSV, or Parquet keeping its
    metadata (radiomics settings, deep-feature network), which scoring a new case needs."""
    from survival_core.features.table import write_table
    from survival_core.io.tables import parquet_metadata

    out.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() == ".csv":
        out = out.with_suffix(".csv")
        frame.reset_index().to_csv(out, index=False)
        return out
    metadata = {k: v for k, v in parquet_metadata(source).items() if k != b"pandas"}
    return write_table(frame, out.with_suffix(".parquet"), metadata)


def _prefixed(path: Path, out: Path, prefix: str) -> Path:
    """A copy of a table whose case ids carry ``prefix``."""
    from survival_core.io.tables import read_table

    frame = read_table(path)
    frame.index = (prefix + frame.index.astype(str)).rename("case_id")
    return _write_like(frame, path, out)


def _cohort_tables(
    config: Any,
    cohort: Path,
    folder: Path,
    mapper: Any,
    progress: Progress,
    deep_network: Any,
    notes: list[str],
) -> list[Path]:
    """clinical.csv and the feature tables the config names, for one cohort folder
    (``deep_network``: the resolved network of ``features.deep``); what the run must say of
    them (patients withdrawn meanwhile, voxel sizes a native grid mixes) goes to ``notes``."""
    from survival_core.cohort.withdrawn import withdrawn_cases
    from survival_core.features.cohort import (
        cohort_modality,
        extract_cohort,
        feature_table_path,
        line_progress,
        mixed_spacing_note,
        read_warnings,
        sidecars,
        withdrawn_note,
        write_cohort_features,
        write_warnings,
    )
    from survival_core.features.presets import get_preset
    from survival_core.features.table import read_voxel_sizes
    from survival_core.io.modality_view import companion_modality

    tables = [cohort / "clinical.csv"]
    modality = cohort_modality(cohort) if config.features.radiomics else "CT"
    if modality in config.features.companions:
        raise ConfigError(
            f"features.companions lists {modality}, the modality of the cohort's own images; "
            "list the other images' (PT beside a CT cohort)."
        )
    sources = [(modality, None), *((companion_modality(c), c) for c in config.features.companions)]
    for preset in config.features.radiomics:
        for images, companion in sources:
            settings = get_preset(preset, images)  # an MR cohort gets the preset's MR variant
            path = feature_table_path(cohort, preset, settings, companion)
            # a table that left cases out is extracted again (its cases from the per-case cache):
            # failed cases are tried again, as the extraction promises, not reused as failed;
            # so is one without its cases' load warnings (of before they were kept)
            if not path.exists() or not _extracted_whole(path) or read_warnings(path) is None:
                beside = f" (the {companion} beside each case's {modality})" if companion else ""
                progress(f"extracting {preset} radiomics of {cohort}{beside}")
                result = extract_cohort(
                    cohort,
                    settings,
                    mapper=mapper,
                    progress=line_progress(progress),
                    modality=None if companion else images,
                    companion=companion,
                    withdrawn=partial(withdrawn_cases, cohort),
                )
                write_cohort_features(result, path, settings, images, companion)
                write_warnings(result.warnings, path)
                if result.withdrawn:
                    notes.append(withdrawn_note(result.withdrawn))
            else:  # a reused table is in use: retention counts its age from now, and that of
                # the tables beside it (the cases it left out, their load warnings)
                for used in (path, *sidecars(path)):
                    mark_used(used)
            if note := mixed_spacing_note(settings, read_voxel_sizes(path)):
                notes.append(note)
            tables.append(path)
    if config.features.deep is not None:
        from survival_core.features.deep import extract_deep_features, write_deep_features

        path = folder / "deep.parquet"
        progress(f"extracting deep features of {cohort} with {deep_network}")
        result = extract_deep_features(cohort, deep_network, layer=config.features.deep.layer)
        write_deep_features(result, path)
        write_warnings(result.warnings, path)
        tables.append(path)
    return tables


def prepare_data(config: Any, folder: Path, mapper: Any, progress: Progress) -> RunData:
    """Resolve the cohorts, build or reuse every feature table, hash what the run will read."""
    from survival_core.cohort.imported import emptied_variables
    from survival_core.io.tables import read_table

    needs = image_inputs(config)
    cohort = resolve_cohort(config.cohort, progress, needs)
    external = config.protocol.name == "external"
    ext = resolve_cohort(config.protocol.external_cohort, progress, needs) if external else None
    # first: a run failing on the way has still written what names their cases (a withdrawal
    # names the runs that read the patient's cohort)
    record_sources(folder, [cohort] if ext is None else [cohort, ext])
    if ext is not None:  # the bundled cohorts are checked once prepared, here
        check_external_modality(needs, cohort, ext)
    networks: dict[str, Any] = {}
    notes: list[str] = []
    if config.features.deep is not None:
        networks["deep_network"] = resolve_network(config.features.deep.network, progress)
        networks["deep_layer"] = config.features.deep.layer
        seen = check_network_unseen(networks["deep_network"], ext or cohort, config.protocol.name)
        notes += [seen] if seen else []
    deep_network = networks.get("deep_network")
    tables = _cohort_tables(config, cohort, folder, mapper, progress, deep_network, notes)
    warned, failed = [load_warnings(tables)], [left_out_cases(tables)]
    images = cohort_images(cohort)
    hashes = _manifest_hash(cohort, "manifest")
    external_ids: set[str] = set()
    if config.features.dsfr is not None:
        from survival_core.workflows.dsfr_study import train_dsfr

        dsfr = config.features.dsfr
        progress("DSFR: training the tumour U-Net on the development cases")
        # the U-Net and its features alone: the `dsfr` command's study needs Wang's HCC columns
        train_dsfr(cohort, folder / "dsfr", epochs=dsfr.epochs, slice_size=dsfr.slice_size,
                   seed=config.seed, device=config.device, progress=progress)  # fmt: skip
        tables.append(folder / "dsfr" / "dsfr.parquet")
        networks["dsfr_unet"] = folder / "dsfr" / "unet"
    if ext is not None:
        ext_tables = _cohort_tables(
            config, ext, folder / "external", mapper, progress, deep_network, notes
        )
        if "dsfr_unet" in networks:
            from survival_core.features.dsfr import cohort_dsfr_table
            from survival_core.features.segmentation import SegmentationModel

            progress("DSFR of the external cohort with the development U-Net")
            unet = SegmentationModel.load(networks["dsfr_unet"], device=config.device)
            ext_tables.append(
                cohort_dsfr_table(ext, unet, folder / "external" / "dsfr.parquet", progress)
            )
        warned.append(load_warnings(ext_tables, EXTERNAL_PREFIX))
        # of the cohort's own tables: the stacked ones below have no failures table beside them
        failed.append(left_out_cases(ext_tables, EXTERNAL_PREFIX))
        notes += _check_external_patients(tables[0], ext_tables[0])
        notes += _external_outcome(load_outcome_source(cohort), load_outcome_source(ext), ext)
        emptied = emptied_variables(ext)
        reads = partial(_reads, config)
        stacked = []
        for own, other in zip(tables, ext_tables, strict=True):
            copy = _prefixed(other, folder / "external" / other.name, EXTERNAL_PREFIX)
            path, unread = _stack(own, copy, folder / "tables" / own.name, reads, emptied)
            stacked.append(path)
            notes += unread
        tables = stacked
        external_ids = {EXTERNAL_PREFIX + str(c) for c in read_table(ext_tables[0]).index}
        ext_images = cohort_images(ext, EXTERNAL_PREFIX)
        images.reads.update(ext_images.reads)
        hashes.update(_manifest_hash(ext, "external_manifest"))
    hashes.update({f"table:{t.name}": file_sha256(t) for t in tables})
    # what the folds read from here on: a patient withdrawn while the features were extracted
    # is out of them (the extraction left them out, the clinical table is read next); images
    # re-imported meanwhile are not
    changes = source_changes(folder)
    if not any(path.name == WITHDRAWN_FILE for path, _ in changes):
        _refuse_changes(folder, folder.name, [c for c in changes if c[0].name == "manifest.csv"])
    record_sources(folder, [cohort] if ext is None else [cohort, ext])
    outcome = load_outcome_source(cohort)
    sources = [cohort / "clinical.csv"]
    warnings = pd.concat(warned, ignore_index=True)
    failures = pd.concat([f for f in failed if len(f)] or failed[:1], ignore_index=True)
    return RunData(
        tables, images, hashes, external_ids, networks, notes, outcome, sources, warnings, failures
    )


def _check_external_patients(own: Path, other: Path) -> list[str]:
    """Refuse an external cohort whose outcome the stacked table would misread, or whose
    patients are the development's own (the same row, under the same case_id or another: a copy
    of them, an external validation of the training patients); the notes of
    :func:`_follow_up_scales`. Each cohort's event column is read on its own: a 1/2 (R) coded
    external column under a 0/1 development one was half read, its events dropped and its
    censored patients counted as deaths (external c-index 0.580 for 0.684)."""
    from survival_core.io.tables import event_indicator, read_table

    a, b = read_table(own), read_table(other)
    for frame, which in ((a, "development"), (b, "external")):
        if "event" in frame.columns:
            try:
                event_indicator(frame["event"])
            except InputError as err:
                raise InputError(
                    f"The {which} cohort's {own.name if frame is a else other.name}: {err}"
                ) from err
    notes = _follow_up_scales(a, b)
    shared = [c for c in a.columns if c in set(b.columns)]
    values = set(shared) - {"time", "event"}
    if not values:  # outcomes alone match by chance
        return notes
    a, b = a.set_axis(a.index.astype(str)), b.set_axis(b.index.astype(str))
    again = _same_case_ids(a, b, shared)
    if again:
        changed = Counter(
            "follow-up" if c in ("time", "event") else c for _, cs in again for c in set(cs)
        )
        what = (
            "with the same follow-up and values"
            if not changed
            else "with the same record but for "
            + ", ".join(f"{c} ({n} patients)" for c, n in changed.most_common())
            + ": likely a later export of the same patients, follow-up or values updated"
        )
        mine, theirs = (f"{p.parent.name}/{p.name}" for p in (own, other))
        raise InputError(
            f"{len(again)} of the external cohort's {len(b)} patients are development patients: "
            f"the case_id of a patient of {mine} in {theirs} {what} "
            f"({_listed([case for case, _ in again], 3)}). An external validation must test "
            "other patients than the model learned from; leave them out of the external "
            "cohort, or give its own patients."
        )
    return notes + _renamed_patients(a, b, shared, other.name)


def _external_outcome(
    mine: OutcomeSource | None, theirs: OutcomeSource | None, external: Path
) -> list[str]:
    """A note where the cohorts' recorded outcomes are of other endpoints (or, an endpoint
    unnamed, of other columns: :meth:`OutcomeSource.same_outcome`): the c-index of a
    recurrence-free model against deaths is not its validation. Nothing where either cohort has
    no record."""
    if mine is None or theirs is None or mine.same_outcome(theirs):
        return []
    return [
        f"The external cohort {external.name}'s outcome is {theirs.said()}, the development "
        f"cohort's {mine.said()}: the external metrics measure the model against the events of "
        "another endpoint than the one it was fitted on (a recurrence-free model's c-index "
        "against deaths), not its validation. Validate on a cohort whose outcome is the "
        "development cohort's (cohort import --time-column and --event-column naming it)."
    ]


#: Share of the values (not the follow-up) a later export of a patient may have changed
#: (an age recorded a year on, a corrected grade), at least one.
CHANGED_SHARE = 0.2


def _same_case_ids(
    development: pd.DataFrame, external: pd.DataFrame, shared: list[str]
) -> list[tuple[str, list[str]]]:
    """The external patients whose case_id is a development patient's and whose record is that
    patient's, with the columns that differ: the same follow-up and values, or another follow-up
    (a later export) and up to :data:`CHANGED_SHARE` of the values changed, where the values
    tell the development patients apart that far (:func:`_told_apart`). Centres numbering
    their patients alike share case ids (every generated cohort has a SYN-0001): those differ
    in most values and are other patients. Before, only identical records counted: 60
    development patients exported again with 180 more days of follow-up were 'validated'."""
    common = development.index.intersection(external.index)
    if not len(common):
        return []
    values = [c for c in shared if c not in ("time", "event")]
    mine, theirs = (_comparable(f.loc[common, shared]) for f in (development, external))
    differ = mine != theirs
    value = np.isin(shared, values)
    allowed = max(1, int(CHANGED_SHARE * len(values)))
    whole = _comparable(development[values]) if values else None
    while allowed >= 0 and not (whole is not None and _told_apart(whole, allowed)):
        allowed -= 1  # columns that do not tell patients apart: identical records only
    same = ~differ.any(1) | (differ[:, value].sum(1) <= allowed)
    return [
        (case, [c for c, d in zip(shared, row, strict=True) if d])
        for case, row, kept in zip(common, differ, same, strict=True)
        if kept
    ]


#: Most development rows compared pairwise by :func:`_told_apart` (the first of a larger cohort).
TOLD_APART_ROWS = 2000


def _told_apart(values: np.ndarray, allowed: int) -> bool:
    """Whether :data:`IDENTIFYING_SHARE` of a cohort's rows (cells as :func:`_comparable`
    writes them) have no other row within ``allowed`` differing values: then two rows that
    close are one patient, not a chance match (sex, ECOG and stage alone match many)."""
    rows = values[:TOLD_APART_ROWS]
    apart = np.zeros((len(rows), len(rows)), dtype=np.int32)
    for column in rows.T:
        apart += column[:, None] != column[None, :]
    np.fill_diagonal(apart, allowed + 1)
    return bool((apart > allowed).all(1).mean() >= IDENTIFYING_SHARE)


#: Share of a cohort's rows whose follow-up and values no other row shares, above which those
#: columns tell its patients apart (a few coarse columns do not: sex, ECOG, months).
IDENTIFYING_SHARE = 0.95
#: Share of the external rows that are development rows under other case ids above which the
#: cohort is refused (fewer are said in a note: patients treated at both sites).
RENAMED_SHARE = 0.2


def _renamed_patients(
    development: pd.DataFrame, external: pd.DataFrame, shared: list[str], name: str
) -> list[str]:
    """Refuse an external cohort a fifth of whose rows are development rows under other case
    ids (re-pseudonymised by the other site: the development cohort so renamed reported its
    apparent c-index as external), where the shared columns tell patients apart; a note for
    fewer. Columns that do not (a follow-up in months, sex and ECOG) match other patients by
    chance, and say nothing."""
    mine = [tuple(row) for row in _comparable(development[shared]).tolist()]
    counts = Counter(mine)
    if sum(counts[row] == 1 for row in mine) < IDENTIFYING_SHARE * len(mine):
        return []
    rows = dict(zip(mine, development.index, strict=True))
    theirs = _comparable(external[shared]).tolist()
    again = [
        (case, rows[tuple(row)])
        for row, case in zip(theirs, external.index, strict=True)
        if tuple(row) in rows
    ]
    if not again:
        return []
    shown = ", ".join(f"{e} = {d}" for e, d in again[:3]) + (" ..." if len(again) > 3 else "")
    said = (
        f"{len(again)} of the external cohort's {len(external)} patients have a development "
        f"patient's follow-up and every value of {name} under another case_id ({shown})"
    )
    if len(again) >= RENAMED_SHARE * len(external):
        raise InputError(
            f"{said}: the same patients, re-identified. An external validation must test other "
            "patients than the model learned from; give the external cohort's own."
        )
    return [f"{said}: if they are the same patients, their metrics are not external."]


def _unseen_categories(X: pd.DataFrame, external: np.ndarray) -> pd.DataFrame:
    """The external patients holding a category the development patients never had (centre X
    grades I and II, centre Y's grade III), one row per such value (:func:`left_out_cases`'
    columns: case_id, error, table). Encoded as all zeros they were scored as the reference level
    and counted in the external metrics (grade III as grade I: c-index 0.592, 0.654 on the
    patients the model can score), where ``score`` refuses such a case."""
    from survival_core.models.tabular import TablePreprocessor

    found = []
    if external.any() and not external.all():
        theirs = X[external]
        seen = TablePreprocessor(allow_empty=True).fit(X[~external]).unseen_levels(theirs)
        for name, (values, levels) in seen.items():
            known = ", ".join(map(repr, levels))
            _refuse_unseen_column(name, theirs[name], values, known)
            found += [
                (case, f"'{name}' is {value!r}, a category the development cohort never had "
                 f"(its levels: {known}); the model would score it as {levels[0]!r}.", None)
                for case, value in theirs[name].astype(object).items()
                if pd.notna(value) and str(value) in values
            ]  # fmt: skip
    return pd.DataFrame(found, columns=["case_id", "error", "table"])


def _refuse_unseen_column(name: str, theirs: pd.Series, unseen: list[str], known: str) -> None:
    """Refuse an external cohort none of whose values of ``name`` the development cohort had (a
    new hospital's 'centre' 3 under a model of centres 1 and 2): the column, not its patients,
    is what the model cannot score there (every patient was left out, the advice to validate on
    the development's categories impossible)."""
    written = theirs.dropna().astype(str)
    if len(written) and written.isin(unseen).all():
        raise InputError(
            f"The external cohort's '{name}' ({', '.join(map(repr, sorted(unseen)))}) holds none "
            f"of the development cohort's categories ({known}): the model reads '{name}' and "
            "cannot score it there (a centre column under a new hospital's patients). Leave it "
            "out of the model (features.select) to validate on this cohort."
        )


def _unseen_note(unseen: pd.DataFrame, n_external: int) -> str:
    """What the run says of the external patients :func:`_unseen_categories` left out;
    :class:`InputError` when they are all of them (nothing is left to validate on)."""
    left = unseen["case_id"].nunique()
    if left == n_external:
        raise InputError(
            f"Every patient of the external cohort holds a category the development cohort never "
            f"had, which the model cannot score (first: {unseen['case_id'].iloc[0]}: "
            f"{unseen['error'].iloc[0]}); validate on patients of the development's categories."
        )
    return (
        f"{left} of the external cohort's {n_external} patients are left out of the external "
        "metrics: they hold a category the development cohort never had, which the model's "
        "encoding would score as its reference level (as `score` refuses such a case); the "
        f"metrics are those of the {n_external - left} it can score (the others: left_out.csv). "
        f"First: {unseen['case_id'].iloc[0]}: {unseen['error'].iloc[0]}"
    )


#: Distance (in development standard deviations) between the two cohorts' medians of an input
#: above which the external cohort's is said to lie elsewhere.
SHIFT_SD = 1.0


def _shifted_inputs(X: pd.DataFrame, external: np.ndarray) -> list[str]:
    """A note naming the numeric inputs whose external median lies more than :data:`SHIFT_SD`
    development standard deviations from the development median: another scanner, protocol or
    unit (tumour sizes in cm; 11 of 56 radiomics of a coarser, noisier scanner), which a drop in
    the external metrics then reflects, and which nothing said."""
    if not external.any() or external.all():
        return []
    numbers = X.apply(pd.to_numeric, errors="coerce")
    mine, theirs = numbers[~external], numbers[external]
    spread = mine.std()
    apart = ((theirs.median() - mine.median()).abs() / spread.where(spread > 0)).dropna()
    moved = apart[apart > SHIFT_SD].sort_values(ascending=False)
    if moved.empty:
        return []
    shown = ", ".join(f"{name} {sd:.1f} SD" for name, sd in moved.head(3).items())
    return [
        f"The external cohort's inputs lie elsewhere than the development cohort's: {len(moved)} "
        f"of {len(apart)} numeric columns have their median more than {SHIFT_SD:g} development "
        f"SD away (largest: {shown}). Another scanner, protocol or unit? The external metrics "
        "measure the model across that shift."
    ]


#: Ratio of two cohorts' median follow-up above which one's times may be in another unit.
FOLLOW_UP_RATIO = 5.0


def _follow_up_scales(development: pd.DataFrame, external: pd.DataFrame) -> list[str]:
    """A note when the external cohort's median follow-up is :data:`FOLLOW_UP_RATIO` times
    shorter or longer than the development's: times in weeks or months read as days (the 1-year
    td-AUC of a cohort in weeks was taken at 7 years, and nothing said so: the stacked table's
    longest follow-up was the development's)."""
    if "time" not in development.columns or "time" not in external.columns:
        return []
    medians = [
        float(pd.to_numeric(frame["time"], errors="coerce").median())
        for frame in (development, external)
    ]
    if not all(np.isfinite(medians)) or min(medians) <= 0:
        return []
    ratio = medians[0] / medians[1]
    if 1 / FOLLOW_UP_RATIO < ratio < FOLLOW_UP_RATIO:
        return []
    return [
        f"The external cohort's median follow-up ({medians[1]:.0f} days) is "
        f"{f'1/{ratio:.0f} of' if ratio > 1 else f'{1 / ratio:.0f} times'} the development "
        f"cohort's ({medians[0]:.0f} days): if one cohort's times are in another unit (weeks, "
        "months), import its clinical table again with that --time-unit; its metrics at "
        "horizons in days are otherwise taken at other times."
    ]


def _comparable(frame: pd.DataFrame) -> np.ndarray:
    """A table's cells as text that equal values share: numbers as numbers ('63.0' read beside a
    missing value is '63' elsewhere), other values stripped, missing ones alike."""
    columns = []
    for name in frame.columns:
        numbers = pd.to_numeric(frame[name], errors="coerce")
        numeric = numbers.notna().sum() == frame[name].notna().sum()
        column = numbers.astype(float).map(repr) if numeric else frame[name].astype(str).str.strip()
        columns.append(column.where(frame[name].notna(), "<missing>").to_numpy())
    return np.column_stack(columns)


def _reads(config: Any, column: str) -> bool:
    """Whether the run's model may read table column ``column``: the outcomes, and a feature
    that ``features.select`` keeps (and, with ``clinical: false``, an image feature), as
    :func:`_columns` chooses them."""
    from survival_core.columns import is_image_feature
    from survival_core.models.tabular import is_identifier

    if column in ("time", "event"):
        return True
    if is_identifier(column):  # never a feature (an export's 'mrn' beside the case id)
        return False
    select = config.features.select
    if select and not re.search(select, column):
        return False
    return bool(config.features.clinical) or is_image_feature(column)


def _stack(
    own: Path, other: Path, out: Path, reads: Callable[[str], bool], emptied: set[str]
) -> tuple[Path, list[str]]:
    """Rows of two tables, one under the other (development + external), and a note naming the
    columns one of them has and the other not that the model does not read, left out of both:
    those the development table lacks (the model, fitted on it, never reads them: a site's
    extra export column was refused) and those ``reads`` says the selection leaves out. The
    external table's columns are put in the development table's order (a spreadsheet may list
    the same variables in another order). A column the model reads that the external table
    lacks is refused, one its import dropped for holding no value (``emptied``) as such."""
    from survival_core.io.tables import read_table

    a, b = read_table(own), read_table(other)
    lacking = [str(c) for c in a.columns if c not in set(b.columns)]
    extra = [str(c) for c in b.columns if c not in set(a.columns)]
    if a.columns.has_duplicates or b.columns.has_duplicates:
        raise InputError(
            f"The external cohort's {other.name} or the development cohort's {own.name} repeats "
            "a column; each variable and feature must be one column."
        )
    needed = [c for c in lacking if reads(c)]
    if needed:
        raise InputError(_lacking_message(own, other, needed, emptied))
    notes = [
        *([f"The external cohort's {other.name} lacks {_listed(lacking)}, column(s) the model "
           "does not read (features.select): left out of both cohorts' tables."]
          if lacking else []),
        *([f"The external cohort's {other.name} has {_listed(extra)} besides the development "
           f"cohort's {own.name}: the model, fitted on the development patients, does not read "
           f"{them(extra)}; left out."] if extra else []),
    ]  # fmt: skip
    shared = [c for c in a.columns if c in set(b.columns)]
    return _write_like(pd.concat([a[shared], b[shared]]), own, out), notes


def _lacking_message(own: Path, other: Path, needed: list[str], emptied: set[str]) -> str:
    """Why the external cohort's ``other`` table cannot be validated on: it lacks the columns
    ``needed`` that the model reads; those its import dropped for holding no value
    (``emptied``) are said to be recorded blank, not missing from the export."""
    blank = [c for c in needed if c in emptied]
    absent = [c for c in needed if c not in emptied]
    lack = (
        f"{other.name} lacks {_listed(absent)} (the development cohort's {own.name} has "
        f"{them(absent)})"
    )
    said = f"The external cohort's {lack}"
    if blank:
        said = (
            f"The external cohort recorded no value of {_listed(blank)} (its import dropped the "
            f"empty column{'s' if len(blank) > 1 else ''}: clinical_report.csv)"
            + (f" and its {lack}" if absent else "")
        )
    return (
        f"{said}, and the model reads "
        f"{them(needed)}: both cohorts need the variables and features "
        "the model reads. Give the external cohort's values, or leave "
        f"{them(needed)} out of the model (features.select)."
    )


def _manifest_hash(cohort: Path, key: str) -> dict[str, str]:
    """The hash of the cohort's manifest by ``key`` (none for a table-only cohort, whose
    clinical.csv is hashed with the other tables)."""
    manifest = cohort / "manifest.csv"
    return {key: file_sha256(manifest)} if manifest.is_file() else {}


def _listed(names: list[str], shown: int = 5) -> str:
    """``names`` quoted, the first ``shown`` of them and how many more."""
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


# -- the run ---------------------------------------------------------------------------------------------


def _folds(config: Any, event: np.ndarray, is_external: np.ndarray) -> list[Fold]:
    """The protocol's folds. No rows are held back by a split: a network takes its own
    early-stopping rows, as the model registered from all development rows does, so the metrics
    are that model's (a fold holding back 25 % for early stopping validated another fit: 31 of
    286 external patients in another risk group)."""
    from survival_core.evaluation import splits

    protocol = config.protocol
    if protocol.name == "nested_cv":
        return splits.nested_cv(event, protocol.repeats, protocol.folds, seed=config.seed)
    if protocol.name == "leave_one_out":
        return splits.leave_one_out(event, seed=config.seed)
    if protocol.name == "fixed_split":
        return splits.fixed_split(event, protocol.test_fraction, seed=config.seed)
    return splits.external(event, is_external, seed=config.seed)


def _fold_signature(config: Any, origin: dict[str, Any], folds: list[Fold]) -> str:
    """What a finished fold depends on: the data and code (``origin``: the data hashes and
    :meth:`.store.RunStore.code_identity`), every setting but the engine and the texts (a run
    resumed on a Ray cluster reuses the folds it finished locally) and the folds' rows (a run
    resumed by a version that draws its folds otherwise recomputes them, never mixes them)."""
    settings = {
        k: v for k, v in config.to_dict().items() if k not in ("engine", "name", "description")
    }
    rows = [[f.train.tolist(), f.validation.tolist(), f.test.tolist()] for f in folds]
    text = json.dumps([origin, settings, len(folds), rows], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _columns(config: Any, tables: list[Path]) -> str | None:
    """The model's input columns as an exact-match regex: ``features.select``, without the
    clinical variables when ``features.clinical`` is false (None: every column). A model that
    reads no table column (``cnn3d``: ``uses_tabular = False``) drops them all itself, as under
    ``cv``: its table only gives the rows and outcomes, so ``clinical: false`` needs no other
    column."""
    from survival_core.columns import is_image_feature
    from survival_core.io.tables import load_model_table
    from survival_core.models import MODELS

    if config.features.clinical or not getattr(MODELS[config.model.name], "uses_tabular", True):
        return config.features.select
    X = load_model_table(tables, features=config.features.select).X
    keep = [c for c in X.columns if is_image_feature(c)]
    if not keep:
        raise ConfigError("features: with clinical: false, no other feature column is left.")
    return "^(?:" + "|".join(re.escape(c) for c in keep) + ")$"


def _test_set(config: Any) -> str:
    """How a run's notes name its tested patients: an external cohort by its folder."""
    if config.protocol.name != "external":
        return "the tested patients"
    return f"the external cohort {Path(str(config.protocol.external_cohort)).name}"


def _check_youden_horizon(config: Any, y: np.ndarray) -> None:
    """Refuse a Youden ``risk_groups.horizon`` outside the follow-up of the development patients
    ``y`` before the folds run: the final model's cut is learned at it on them."""
    if config.risk_groups.cut == "youden":
        check_youden_horizon(y, config.risk_groups.horizon, "risk_groups.horizon")


def _summary_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The scalar metrics of a CV summary, flattened for tracking (td_auc_365, ...); an interval
    as its two ends, as the c-index's ci_low and ci_high (calibration_slope_ci_low, ...)."""
    out = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            for k, v in value.items():
                if k.endswith("_ci") and isinstance(v, list | tuple) and len(v) == 2:
                    out.update({f"{key}_{k}_low": v[0], f"{key}_{k}_high": v[1]})
                elif isinstance(v, int | float):
                    out[f"{key}_{k}"] = v
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = value
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}


def run_training(
    config: Any,
    *,
    resume: str | None = None,
    activate: bool = False,
    progress: Progress | None = None,
    store: Any = None,
) -> RunResult:
    """Run ``config`` end to end (or finish run ``resume``); returns the run's id, status, metrics."""
    from survival_core.engine import fold_map, gpus_per_task, make_engine
    from survival_core.io.atomic import copy_file, json_ready, write_json, write_text
    from survival_core.io.tables import load_model_table
    from survival_core.models import is_network
    from survival_core.runs.search import RUN_PARALLEL, read_search, tuned_factory
    from survival_core.runs.store import (
        TAG_CODE,
        TAG_FIT,
        RunStore,
        data_tags,
        package_tags,
    )
    from survival_core.versions import package_versions
    from survival_core.workflows.crossval import cross_validate
    from survival_core.workflows.training import model_factory, no_censored_warning

    say = progress or (lambda _: None)
    start = time.perf_counter()
    store = store or RunStore()
    store.reap_dead_runs()
    check_cohorts(config)
    engine = config.engine  # first: a Ray cluster nothing answers at left a FAILED run behind
    mapper = make_engine(engine.kind, engine.address, engine.workers)
    # a run whose setup fails is FAILED by start_run itself (a run in hand is failed below)
    run = store.start_run(config.name, config.to_dict(), {}, resume_id=resume)
    try:
        say(f"run {run.run_id} ({config.name})")
        for note in run.notes:
            say(f"note: {note}")
        data = prepare_data(config, run.folder, mapper, say)
        run.log_data_hashes(data.hashes)
        run.log_outcome(data.outcome)  # which endpoint its c-index is of
        columns = _columns(config, data.tables)
        table = load_model_table(data.tables, features=columns)
        for note in table.notes:
            say(f"note: {note}")
        left_out = data.failed.assign(kind=NOT_COMPUTED)
        if len(left_out):
            say(f"note: {len(left_out)} case(s) without features left out (extraction failed)")
        warned = data.warned[data.warned["case_id"].isin(table.case_ids)]  # the run's cases
        is_external = np.array([c in data.external_ids for c in table.case_ids])
        unseen = _unseen_categories(table.X, is_external)
        if len(unseen):  # left out of the external metrics, said and listed
            data.notes.append(_unseen_note(unseen, int(is_external.sum())))
            kept = ~table.X.index.isin(unseen["case_id"])
            table, is_external = table.subset(table.X.index[kept]), is_external[kept]
            unseen = unseen.assign(kind=UNSEEN_CATEGORY)
            left_out = pd.concat([f for f in (left_out, unseen) if len(f)], ignore_index=True)
        data.notes += _shifted_inputs(table.X, is_external)
        for warning in no_censored_warning(table.y[~is_external]):  # shown on the Training page
            say(f"warning: {warning}")
            data.notes.append(warning)
        _check_youden_horizon(config, table.y[~is_external])
        folds = _folds(config, table.y["event"], is_external)
        # only the cases with images (none in a table-only cohort); image models refuse the others
        images = data.images.restricted(table.case_ids)
        params = config.model_params()
        if config.model.search is None:
            factory = model_factory(
                config.model.name, params, config.reduction, images, table.case_ids, say
            )
        else:  # each fold tunes on its own rows, trials in batches of RUN_PARALLEL, one by one
            factory = tuned_factory(
                config.model.name, params, config.model.search, config.reduction, images,
                table.case_ids, seed=config.seed, parallel=RUN_PARALLEL, progress=say,
            )  # fmt: skip
        # an image model's cases: what loading their CT warned of, listed with the radiomics'
        maker = factory if config.model.search is None else factory.make
        warned = _with_image_warnings(warned, maker.load_warnings(table.case_ids))
        origin = {
            "data": data.hashes,
            "code": store.code_identity(),
            "packages": package_versions(),
        }
        signature = _fold_signature(config, origin, folds)
        checkpoints = FoldCheckpoints(run.folder / "folds", signature, origin, say)
        inner = (
            map
            if engine.kind == "local"
            else partial(fold_map, num_gpus=gpus_per_task(is_network(config.model.name)))
        )
        say(
            f"{config.model.name}: {len(table.y)} patients, {len(folds)} folds ({config.protocol.name})"
        )
        result = cross_validate(
            table.X,
            table.y,
            factory,
            folds,
            case_ids=table.case_ids,
            horizons=config.horizons,
            n_bootstrap=config.bootstrap,
            seed=config.seed,
            map_folds=checkpoints.map(inner),
            progress=say,
            group_cut=RiskGroupCut(config.risk_groups.cut, config.risk_groups.horizon),
            test_set=_test_set(config),
        )
        # the model card tells an external validation's c-index from a cross-validated one,
        # and (as report.html) what computed it: enough to redo the run
        result.summary["protocol"] = config.protocol.name
        result.summary["provenance"] = {
            "run_id": run.run_id,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "code_version": origin["code"],
            "packages": origin["packages"],
            "data": data.hashes,
        }
        for step, row in enumerate(result.folds.to_dict("records")):
            run.log_metrics(
                {f"fold_{k}": v for k, v in row.items() if isinstance(v, float) and np.isfinite(v)},
                step=step,
            )
        metrics = _summary_metrics(result.summary)
        run.log_metrics(metrics)
        reports = run.folder / "reports"
        reports.mkdir(exist_ok=True)
        for note in result.summary["preprocessing_notes"]:
            say(f"note: {note}")
        for note in data.notes:
            say(f"note: {note}")
        data_notes = [*data.notes, *table.notes, *result.summary["preprocessing_notes"]]
        write_text(reports / "notes.txt", "".join(f"{note}\n" for note in data_notes))
        if len(result.left_out):  # test rows of categories their fold never trained on
            folds_left = result.left_out[["case_id", "error"]].assign(kind=UNSEEN_CATEGORY)
            left_out = pd.concat([f for f in (left_out, folds_left) if len(f)], ignore_index=True)
        if len(left_out):  # which cases the run could not use, and why
            left_out.to_csv(reports / LEFT_OUT_FILE, index=False)
        n_warned = write_load_warnings(warned, reports, say)
        result.counted_folds().to_csv(reports / "folds.csv", index=False)
        result.oof.to_csv(reports / "oof.csv", index=False)
        if result.comparison is not None:  # auto, ensemble: every candidate on the same folds
            result.comparison.to_csv(reports / "comparison.csv", index=False)
            write_json(reports / "selection.json", json_ready(result.summary["selection"]))
            for warning in result.summary["selection"]["warnings"]:
                say(f"warning: {warning}")
        model_dir = run.folder / "model"
        # a resumed run interrupted after registering its model (e.g. during --activate) reuses
        # that version when fitted on the same data, folds and code: neither fitted nor
        # registered a second time (one fitted before the data or code changed is not)
        version = (
            None if resume is None else store.registered_version(run.run_id, config.name, signature)
        )
        if version is not None:
            say(f"{config.name} v{version}: registered by this run before it was interrupted")
        else:
            _check_sources_unchanged(run.folder, run.run_id)
            _fit_final_model(
                config,
                data,
                model_dir,
                images=images,
                development=[c for c in table.case_ids if c not in data.external_ids],
                params=params,
                columns=columns,
                cv_summary=result.summary,
                factory=factory,
                trial_map=inner,
                say=say,
            )
        if result.comparison is not None:  # the final model's own choice, for the comparison
            from survival_core.models.selection import read_selection

            final = read_selection(model_dir) or {}
            write_json(
                reports / "selection.json",
                json_ready({**result.summary["selection"], "final": final}),
            )
        search = read_search(model_dir)  # a searched model's trials and chosen parameters
        if search is not None:  # tags: a resume on other data may choose other ones
            run.log_tags(
                {"search": {"best": search["best_params"], "best_score": search["best_score"]}}
            )
        unet = run.folder / "dsfr" / "segmentation.json"
        if unet.exists():  # the DSFR U-Net's split, held-out Dice and cases left out
            copy_file(unet, reports / "dsfr_segmentation.json")
        for note in write_plots(
            result, table.y, reports, config, run.run_id, data_notes, left_out, search, warned
        ):
            say(f"note: {note}")
        run.log_artifact(reports)
        if version is None:
            _check_sources_unchanged(run.folder, run.run_id)  # nor while it was fitted
            earlier = store.registered_version(run.run_id, config.name)
            fit = {
                TAG_FIT: signature,
                TAG_CODE: origin["code"],
                **data_tags(data.hashes),
                **package_tags(origin["packages"]),
            }
            version = store.register_model(run.run_id, model_dir, config.name, fit)
            if earlier is not None:
                say(
                    f"note: {config.name} v{earlier}, registered by this run before it was "
                    "interrupted, was fitted on other data, folds or code than this resume's: "
                    f"left aside (tagged superseded by v{version}); v{version} is fitted now."
                )
        if activate:
            store.set_active(config.name, version)
            # the app scores with it from now: logged as the Promote button logs it
            audit(command_user(), "promote_model", config.name, version=int(version), via="train")
        run.finish("FINISHED")
    except BaseException as error:
        reported = run.fail(error)  # a lost store: its StoreError, not its traceback
        if reported is error:
            raise
        raise reported from error
    seconds = time.perf_counter() - start
    return RunResult(run.run_id, "FINISHED", metrics, seconds, str(version), data_notes, n_warned)


def _with_image_warnings(warned: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame:
    """The feature tables' load warnings (:func:`load_warnings`) and those of the image model's
    CT volumes (:meth:`~survival_core.workflows.training.ModelMaker.load_warnings`), a case's
    warning said by both listed once."""
    frames = [frame for frame in (warned, images) if len(frame)]
    if not frames:
        return warned
    return pd.concat(frames, ignore_index=True).drop_duplicates(
        ["case_id", "warning"], ignore_index=True
    )


def _check_sources_unchanged(folder: Path, run_id: str) -> None:
    """:class:`InputError` where a cohort file the run recorded (its manifest, clinical table or
    withdrawn patients: :func:`~survival_core.io.run_sources.source_changes`) differs now: a
    re-import or a withdrawal while the folds ran. The final fit reads the tables again, so it
    would have fitted the new data under the card, metrics and data hashes of the old (a
    corrected sheet's model labelled with the sheet it replaced), or trained a withdrawn
    patient's folds and failed at the end naming only a case missing from the table."""
    _refuse_changes(folder, run_id, source_changes(folder))


def _refuse_changes(folder: Path, run_id: str, changes: list[tuple[Path, str]]) -> None:
    """:class:`InputError` naming ``changes`` of the cohort files run ``run_id`` read (also the
    images re-imported while their features were extracted, which mixed two imports' cases)."""
    if not changes:
        return
    withdrawn = any(path.name == WITHDRAWN_FILE for path, _ in changes)
    changed = ", ".join(described(changes))
    raise InputError(
        f"The cohort changed while run {run_id} was running: {changed} (a cohort "
        "import or withdrawal). Its features or folds read the earlier data, so no model is "
        "fitted or registered from a mix of both: run it again on the cohort as it is now "
        f"(train --resume {run_id} recomputes the folds)"
        + (
            f"; until then its folds in {folder / 'folds'} hold the withdrawn patients' "
            "predictions (or delete the run)."
            if withdrawn
            else "."
        )
    )


def _fit_final_model(
    config: Any,
    data: RunData,
    model_dir: Path,
    *,
    images: ImageSet,
    development: list[str],
    params: dict[str, Any],
    columns: str | None,
    cv_summary: dict[str, Any],
    factory: Any,
    trial_map: Callable,
    say: Progress,
) -> None:
    """Fit the run's model on the ``development`` rows into ``model_dir``, with its card (the
    ``cv_summary``) and the networks that scoring a new case needs."""
    from survival_core.features.extractors import bundle
    from survival_core.workflows.training import train_model

    say(f"fitting {config.model.name} on {len(development)} development patients")
    train_model(
        data.tables,
        config.model.name,
        params,
        model_dir,
        reduction=config.reduction,
        features=columns,
        cut=config.risk_groups.cut,
        horizon=config.risk_groups.horizon,
        seed=config.seed,
        cohort=images,
        rows=development,
        cv_summary=cv_summary,
        progress=say,
        # the final search's trials run as Ray tasks on a ray engine (same batches: same result)
        factory=None
        if config.model.search is None
        else replace(factory, trial_map=trial_map, progress=say),
        sources=data.sources,
    )
    bundle(
        model_dir,
        dsfr_unet=data.networks.get("dsfr_unet"),
        deep_network=data.networks.get("deep_network"),
        deep_layer=data.networks.get("deep_layer"),
    )


# -- plots -------------------------------------------------------------------------------------------------


def run_figures(result: Any, y: np.ndarray, config: Any) -> dict[str, Any]:
    """The run's figures from its pooled out-of-fold predictions (plotly figures by name).

    Risk groups: each tested patient placed by their fold's cut, fitted on that fold's training
    risks (their median, or the Youden index at the horizon), as a scored patient is placed by
    the training cohort's cut (with repeats, the group most of their predictions give; an even
    split counts as low), with Kaplan-Meier curves, log-rank p and hazard ratio. Cutting the
    tested patients' own risks would split every test set in half whatever the model learned
    (an external cohort at its own median) and, for the Youden index, choose the cut on the
    outcomes it is then tested on; td-AUC across the horizons; calibration and
    decision curve of the out-of-fold S(h) at the risk-group horizon, or at the summary's
    calibration horizon when that one was not evaluated (:func:`_figure_horizon`, said in a note).
    A figure whose data do not allow it (too few patients, no event before the horizon) is left
    out with a note instead of failing the run.
    """
    from survival_core.evaluation.calibration import calibration_at
    from survival_core.evaluation.decision_curve import decision_curve
    from survival_core.evaluation.risk_groups import stratify
    from survival_core.viewer import curves

    oof = result.oof
    tested = oof["risk"].notna().to_numpy()
    y_oof = y[tested]
    figures: dict[str, Any] = {}
    notes: list[str] = []
    share = oof["high_share"].to_numpy()[tested]
    placed = ~np.isnan(share)
    try:
        if not placed.any():
            raise InputError("no fold's training risks gave a cut.")
        by_share = RiskGroupCut.from_dict({"method": "median", "threshold": 0.5})
        figures["km_risk_groups"] = curves.km_from_stratification(
            stratify(y_oof[placed], share[placed], by_share),
            title=_groups_title(config),
        )
    except (InputError, ConfigError) as err:
        notes.append(f"risk groups: {err}")
    if result.summary.get("td_auc"):
        figures["td_auc"] = curves.td_auc_from_cv(result.summary)
    horizon, why = _figure_horizon(config, result.summary, oof)
    if horizon is not None:
        notes.append(f"calibration and decision curve at {horizon:g} days: {why}.")
        survival = oof[f"survival_{horizon:g}"].to_numpy()[tested]

        def calibration() -> Any:  # why its smoothed curve is left out goes to the notes too
            calibrated = calibration_at(y_oof, survival, horizon)
            if calibrated.smoothed_note:
                notes.append(f"calibration: {calibrated.smoothed_note}")
            return curves.calibration_figure(calibrated)

        for name, make in (
            ("calibration", calibration),
            ("decision_curve", lambda: curves.decision_curve_figure(
                decision_curve(y_oof, 1.0 - survival, horizon))),
        ):  # fmt: skip
            try:
                figures[name] = make()
            except (InputError, ConfigError) as err:
                notes.append(f"{name}: {err}")
        drawn = [
            name.replace("_", " ") for name in ("calibration", "decision_curve") if name in figures
        ]
        if drawn:  # the summary's notes caution its own td-AUC and calibration, not these
            follow_up = survival_arrays(y_oof)[1]  # (not `time`: the module of that name)
            shown = f"{' and '.join(drawn)} figure{'s' if len(drawn) > 1 else ''}"
            sparse = sparse_horizon_note(follow_up, horizon, shown)
            notes += [sparse] if sparse else []
    else:
        notes.append(f"calibration and decision curve left out: {why}.")
    if result.comparison is not None:
        figures["model_comparison"] = curves.comparison_figure(
            result.comparison.to_dict("records"), config.model.name
        )
    figures["_notes"] = notes
    return figures


def _groups_title(config: Any) -> str:
    """The risk-group figure's title: whose groups, cut where (external patients were titled
    out-of-fold groups at each fold's cut, though cut once at the development cohort's)."""
    cut = config.risk_groups.cut
    if config.protocol.name == "external":
        return f"External cohort's risk groups (development {cut} cut)"
    if config.protocol.name == "fixed_split":
        return f"Test set's risk groups (training {cut} cut)"
    return f"Out-of-fold risk groups (each fold's training {cut} cut)"


def _figure_horizon(
    config: Any, summary: dict[str, Any], oof: pd.DataFrame
) -> tuple[float | None, str]:
    """The horizon of the calibration and decision-curve figures and why: the risk-group horizon
    where it was evaluated, else the summary's calibration horizon (the middle td-AUC horizon),
    as its slope is; None where neither is. The report printed a slope at 180 days while saying
    calibration was left out, its risk-group horizon (730 days) not evaluated."""
    wanted = config.risk_groups.horizon
    if wanted is not None and f"survival_{wanted:g}" in oof:
        return wanted, "the risk-group horizon (risk_groups.horizon)"
    missing = (
        "no risk_groups.horizon is set"
        if wanted is None
        else f"the risk-group horizon, {wanted:g} days, is not among the evaluated td-AUC "
        "horizons (or is beyond the follow-up)"
    )
    calibrated = (summary.get("calibration") or {}).get("horizon")
    if calibrated is not None and f"survival_{calibrated:g}" in oof:
        return calibrated, f"the summary's calibration horizon (the middle td-AUC one); {missing}"
    return None, missing


def left_out_cases(tables: Iterable[Path], prefix: str = "") -> pd.DataFrame:
    """The cases the run's feature tables have no row for, with why (:data:`FAILED_COLUMNS`: the
    failures table written beside each, :func:`.features.cohort.failures_path`), case ids with
    ``prefix`` (an external cohort's, as its stacked rows)."""
    from survival_core.features.cohort import failures_path

    def read(table: Path) -> pd.DataFrame | None:
        failures = failures_path(table)
        return _read_failures(failures) if failures.is_file() else None

    return _rows_beside(tables, read, FAILED_COLUMNS, prefix)


def load_warnings(tables: Iterable[Path], prefix: str = "") -> pd.DataFrame:
    """What loading the cases of the feature ``tables`` warned of (:data:`WARNED_COLUMNS`: the
    warnings table written beside each, :func:`.features.cohort.warnings_path`), case ids with
    ``prefix`` (an external cohort's, as its stacked rows): the cases whose features may rest
    on a guess (a label 2 taken as the GTV...)."""
    from survival_core.features.cohort import read_warnings

    warned = _rows_beside(tables, read_warnings, WARNED_COLUMNS, prefix)
    # a case in several tables (two presets, PET/CT companions) warned of once
    return warned.drop_duplicates(["case_id", "warning"], ignore_index=True)


def _rows_beside(
    tables: Iterable[Path],
    read: Callable[[Path], pd.DataFrame | None],
    columns: Sequence[str],
    prefix: str,
) -> pd.DataFrame:
    """The rows of the table ``read`` finds beside each of ``tables`` (None: none), stacked in
    ``columns``: case ids with ``prefix``, each row naming its feature table."""
    frames = [
        frame.assign(case_id=prefix + frame["case_id"], table=Path(table).name)
        for table in tables
        if (frame := read(table)) is not None and len(frame)
    ]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True)[list(columns)]


def _read_failures(path: Path) -> pd.DataFrame | None:
    """The failures table ``path``; None when it was cut short (a full disk, before these tables
    were written whole: every later run failed on it with a traceback)."""
    try:
        return pd.read_csv(path, dtype={"case_id": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None


def _extracted_whole(table: Path) -> bool:
    """Whether the extraction of feature table ``table`` left no case out, as its failures
    table says readably (one cut short is read as not: the cohort is extracted again)."""
    from survival_core.features.cohort import failures_path

    failures = failures_path(table)
    if not failures.is_file():
        return True
    frame = _read_failures(failures)
    return frame is not None and frame.empty


def _number(value: Any) -> str:
    """A metric as the report shows it: 3 decimals, '–' where there is none."""
    if value is None or not np.isfinite(float(value)):
        return "–"
    return f"{float(value):.3f}"


def _interval(value: Any, bounds: Iterable[Any]) -> str:
    """A metric with its 95 % interval, '0.683 (0.651 to 0.714)' ('-0.086–0.057' read as a range
    of negative numbers); the value alone without bounds."""
    low, high = bounds
    shown = _number(value)
    if shown == "–" or "–" in (_number(low), _number(high)):
        return shown
    return f"{shown} ({_number(low)} to {_number(high)})"


def summary_rows(summary: dict[str, Any], config: Any) -> list[tuple[str, str]]:
    """The pooled out-of-fold metrics of a run as (what, value) rows: what was tested, how well
    it ranked (with its interval) and how well it predicted, in words a report reader follows."""
    tau, uno = summary.get("uno_tau"), summary.get("uno_c_index")
    ibs_days = summary.get("ibs_range") or {}
    external = config.protocol.name == "external"
    tested = _test_set(config) if external else "out of fold"
    rows = [
        (f"Patients tested ({tested})", f"{summary.get('n', '–')}"),
        ("Protocol", _protocol(config, summary)),
        (
            f"Harrell's c-index (95 % CI, bootstrap of {config.bootstrap})",
            _interval(summary.get("c_index"), (summary.get("ci_low"), summary.get("ci_high"))),
        ),
        ("Uno's c" + (f" (truncated at {tau:g} days)" if tau else ""), _number(uno)),
        (ibs_label(ibs_days.get("from"), ibs_days.get("to")), _number(summary.get("ibs"))),
    ]
    rows += [
        (f"Time-dependent AUC at {days} days", _number(auc))
        for days, auc in (summary.get("td_auc") or {}).items()
    ]
    mean, sd = summary.get("fold_c_index_mean"), summary.get("fold_c_index_sd")
    if mean is not None and (summary.get("n_folds") or 0) > 1:  # one test set has no spread
        rows.append(("c-index over the folds (mean ± SD)", f"{_number(mean)} ± {_number(sd)}"))
    calibration = summary.get("calibration")
    if calibration:
        at = f"at {calibration['horizon']:g} days, the middle td-AUC horizon (95 % CI)"
        rows += [
            (f"Calibration slope {at}", _interval(calibration["slope"], calibration["slope_ci"])),
            (
                f"Calibration in the large {at}",
                _interval(calibration["in_the_large"], calibration["in_the_large_ci"]),
            ),
        ]
    return rows


def _protocol(config: Any, summary: dict[str, Any]) -> str:
    """The run's protocol in words, its folds counted (:func:`.store.protocol_label`)."""
    from survival_core.runs.store import protocol_label

    flat = {f"protocol.{k}": v for k, v in config.protocol.to_dict().items()}
    shown = protocol_label(flat, summary.get("n"))
    return shown + (f", {summary['n_folds']} folds" if summary.get("n_folds", 1) > 1 else "")


def _horizons_said(config: Any, summary: dict[str, Any], oof: pd.DataFrame) -> str:
    """One sentence saying which horizon each part of the report uses, where they differ: the
    summary's calibration (the middle td-AUC horizon), the figures' and the risk groups' (a
    median cut uses none); risk_groups.horizon 730 was listed beside a calibration at 1095."""
    calibrated = (summary.get("calibration") or {}).get("horizon")
    figured, _ = _figure_horizon(config, summary, oof)
    if calibrated is None or figured is None or calibrated == figured:
        return ""
    cut = (
        f"the risk groups are cut at the Youden index at {config.risk_groups.horizon:g} days"
        if config.risk_groups.cut == "youden"
        else "the median cut uses no horizon"
    )
    return (
        f"Horizons: the summary's calibration is at {calibrated:g} days (the middle td-AUC "
        f"horizon), the calibration and decision-curve figures at {figured:g} days; {cut}."
    )


def setting_rows(settings: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A run config (:meth:`RunConfig.to_dict`) as (dotted key, value) rows, every setting
    that decided the run: cohort, features, model and parameters, protocol, folds, seed."""
    if not isinstance(settings, dict):
        shown = settings if isinstance(settings, str) else json.dumps(settings, default=str)
        return [(prefix, "–" if settings in (None, "") else shown)]
    if not settings:
        return [(prefix, "–")] if prefix else []
    return [
        row
        for key, value in settings.items()
        for row in setting_rows(value, f"{prefix}.{key}" if prefix else str(key))
    ]


def provenance_rows(provenance: dict[str, Any]) -> list[tuple[str, str]]:
    """What computed a run (its summary's ``provenance``) as rows: its date, code version, the
    versions of the packages that change its numbers and its data hashes; the report held none
    of them, so it alone was not enough to redo the run."""
    rows = [
        ("Date (UTC)", str(provenance.get("date", "–"))),
        ("Code version", str(provenance.get("code_version", "–"))),
    ]
    rows += [(f"Package {k}", v) for k, v in (provenance.get("packages") or {}).items()]
    return rows + [(f"Data {k} (SHA-256)", v) for k, v in (provenance.get("data") or {}).items()]


def _html_table(rows: Iterable[tuple[str, str]], header: tuple[str, str]) -> str:
    """Rows of text as an HTML table, every cell escaped (a run name, a path, a note)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(
    result: Any,
    config: Any,
    run_id: str,
    figures: Iterable[str],
    sections: Iterable[tuple[str, list[str]]],
    search: dict[str, Any] | None = None,
) -> str:
    """The run report: what was validated (run id, every setting), how well (the pooled metrics
    with their intervals, each fold's), a searched model's choice and trials (``search``, its
    ``search.json``), the figures and the notes on the data, figures and cases left out. Every
    user-given text (names, paths, notes) is escaped."""
    tables = [("Per-fold metrics", result.counted_folds())]
    if result.comparison is not None:  # auto, ensemble: every candidate on the same folds
        tables.append(("Model comparison (same folds)", result.comparison))
    if search is not None:
        from survival_core.runs.search import search_text, trial_table

        title = f"Hyper-parameter search of the final model: {search_text(search)}"
        tables.append((title, trial_table(search)))
    shown = "".join(
        f"<h2>{escape(title)}</h2>"
        + table.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–", border=0)
        for title, table in tables
    )  # to_html escapes its cells
    listed = "".join(
        f"<h2>{escape(title)}</h2><ul>{''.join(f'<li>{escape(n)}</li>' for n in items)}</ul>"
        for title, items in sections
        if items
    )
    said = _horizons_said(config, result.summary, result.oof)
    pooled = (
        f"external validation on {_test_set(config)}, {result.summary.get('n', '–')} patients"
        if config.protocol.name == "external"
        else "pooled out-of-fold predictions"
    )
    return (
        f"<html><head><meta charset='utf-8'><title>{escape(config.name)}</title>"
        "<style>table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
        "text-align:left}</style></head><body>"
        f"<h1>Run {escape(config.name)}</h1><p>Run id {escape(run_id)}</p>"
        f"<h2>Summary ({escape(pooled)})</h2>"
        + _html_table(summary_rows(result.summary, config), ("Metric", "Value"))
        + (f"<p>{escape(said)}</p>" if said else "")
        + "<h2>Settings</h2>"
        + _html_table(setting_rows(config.to_dict()), ("Setting", "Value"))
        + "<h2>Provenance (what redoing the run needs)</h2>"
        + _html_table(provenance_rows(result.summary.get("provenance") or {}), ("What", "Value"))
        + f"{shown}{''.join(figures)}{listed}</body></html>"
    )


def write_plots(
    result: Any,
    y: np.ndarray,
    folder: Path,
    config: Any,
    run_id: str,
    data_notes: Iterable[str] = (),
    left_out: pd.DataFrame | None = None,
    search: dict[str, Any] | None = None,
    warned: pd.DataFrame | None = None,
) -> list[str]:
    """Each figure as plotly JSON (``<name>.json``, what the Training page draws) and the run's
    self-contained ``report.html`` (:func:`report_html`: settings, metrics, folds, a searched
    model's trials, figures, the notes on the data, on the cases left out and on those loaded
    with warnings, ``warned``); returns the notes on figures left out."""
    from survival_core.io.atomic import write_text

    figures = run_figures(result, y, config)
    notes = figures.pop("_notes")
    parts = []
    for i, (name, fig) in enumerate(figures.items()):
        write_text(folder / f"{name}.json", fig.to_json())
        parts.append(fig.to_html(include_plotlyjs=i == 0, full_html=False))
    sections = [("Notes on the data", list(data_notes)), ("Notes on the figures", notes)]
    if left_out is not None and len(left_out):  # by why, as the Training page heads them
        sections[1:1] = [
            (f"{g.heading}: {g.advice}", [f"{r.case_id}: {r.error}" for r in g.rows.itertuples()])
            for g in left_out_groups(left_out)
        ]
    if warned is not None and len(warned):
        sections.insert(
            len(sections) - 1,
            (
                f"{warned_cases(warned)} case(s) loaded with warnings (their features may "
                "rest on a guess)",
                [f"{row.case_id}: {row.warning}" for row in warned.itertuples()],
            ),
        )
    write_text(folder / "report.html", report_html(result, config, run_id, parts, sections, search))
    return notes
