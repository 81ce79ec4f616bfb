"""Feature extraction over a cohort folder: parallel over cases, cached, failures collected.

A case's features are cached under ``<data>/cache/features/<settings hash>/<content hash>.json``,
where the content hash is the SHA-256 over the case folder's files (relative paths and bytes, in
sorted order). A re-run therefore extracts only new or changed cases, and changing any setting
starts a new cache. Failed cases are not cached: they are tried again on the next run. A cache
entry keeps the case's load warnings with its features, so a re-run reports them as the first did.

Cases run through a :class:`~survival_core.engine.CaseMapper` (:mod:`survival_core.engine`: this
process, worker processes, or Ray tasks). A case that fails (our
:class:`~survival_core.errors.RadSurvError` messages, or any other exception with its type) becomes
a row of the failures table instead of stopping the cohort.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from survival_core.engine import CaseMapper, make_mapper
from survival_core.errors import InputError, RadSurvError
from survival_core.features.radiomics import extract_case, feature_names
from survival_core.features.settings import (
    GRID_ANCHOR,
    ExtractionSettings,
    reading_stamp,
    required_masks,
    roi_label,
)
from survival_core.features.table import write_feature_table
from survival_core.io.atomic import write_text
from survival_core.io.case_loader import load_case
from survival_core.io.dicom_series import scan_dicom, series_summary
from survival_core.io.hashing import content_hash
from survival_core.io.load_warnings import WARNING_COLUMNS, warned_cases
from survival_core.io.manifest import (
    VolumeFiles,
    cases_of,
    modalities_of,
    named_files,
    own_files,
    read_manifest,
    sites_of,
    structure_sets_of,
    volume_files_of,
)
from survival_core.io.modality_view import modality_view
from survival_core.paths import data_subdir

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Columns of the failures table.
FAILURE_COLUMNS = ("case_id", "error")


# --- cases, hashing and the cache ---------------------------------------------------------------


@dataclass(frozen=True)
class CaseTask:
    """One case to extract: its id, its folder and the hash of the folder's content (and of
    ``companion``: the name of the case's image beside its own to extract from, a CT case's
    'PT', an MR case's 'FLAIR', :func:`~survival_core.io.modality_view.modality_view`; None for
    its own image)."""

    case_id: str
    folder: Path
    content_hash: str
    site: str | None = None
    modality: str | None = None
    companion: str | None = None
    #: What the case's volume files are, where its manifest row says (else ``modality``).
    volume_modality: str | None = None
    #: The image and role masks its manifest row names (volume files), else None.
    volume_files: VolumeFiles | None = None
    #: The RTSTRUCT or SEG file its manifest row names (DICOM), else None.
    structure_set: str | None = None


@dataclass(frozen=True)
class CaseOutcome:
    """What extracting one case gave: features, or an error message; seconds spent."""

    case_id: str
    features: dict[str, float] | None = None
    error: str | None = None
    seconds: float = 0.0
    #: The MR weighting of the case's image (:func:`~survival_core.io.mr_sequence.header_sequence`),
    #: None when not MR or not known.
    sequence: str | None = None
    #: The voxel size (x, y, z mm) of the image extracted from, None when not known (a cache
    #: entry written before it was kept).
    spacing: tuple[float, float, float] | None = None
    #: What loading the case warned of (:attr:`~survival_core.case.Case.warnings`: a label 2 taken
    #: as the GTV, contours off the image planes...), which its features may rest on.
    warnings: tuple[str, ...] = ()


def line_progress(say: Callable[[str], None]) -> Progress:
    """A :data:`Progress` callback that reports one readable line per case through ``say``."""

    def show(done: int, total: int, outcome: CaseOutcome, how: str) -> None:
        if how == "extracted":
            detail = f" ({outcome.seconds:.1f} s)"
        else:
            detail = f": {outcome.error}" if outcome.error else ""
        say(f"[{done}/{total}] {outcome.case_id} {how}{detail}")

    return show


class FeatureCache:
    """Cached features of cases, one JSON file per case content, in a folder per settings hash."""

    def __init__(self, settings: ExtractionSettings, root: Path | None = None) -> None:
        self.folder = (root or data_subdir("cache") / "features") / settings.hash()
        self.folder.mkdir(parents=True, exist_ok=True)
        settings_file = self.folder / "settings.json"
        if not settings_file.exists() or not settings_file.stat().st_size:  # 0 bytes: a full disk
            write_text(settings_file, settings.to_json())

    def _path(self, digest: str) -> Path:
        return self.folder / f"{digest}.json"

    def __contains__(self, digest: str) -> bool:
        """Whether features of content ``digest`` are stored (without reading them)."""
        return self._path(digest).exists()

    def entry(self, digest: str) -> dict[str, Any] | None:
        """The cache entry of content ``digest`` ('features', 'sequence' when its image's MR
        weighting is known, 'warnings' when its load warnings were kept), or None."""
        try:
            entry = json.loads(self._path(digest).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("grid") != GRID_ANCHOR:
            return None
        return entry if entry.get("features") is not None else None

    def get(self, digest: str) -> dict[str, float] | None:
        """The cached features of the case with content ``digest``, or None."""
        entry = self.entry(digest)
        return None if entry is None else entry["features"]

    def discard(self, digest: str) -> None:
        """Forget the features of content ``digest`` (they are computed again when next asked)."""
        self._path(digest).unlink(missing_ok=True)

    def put(
        self,
        digest: str,
        case_id: str,
        features: dict[str, float],
        sequence: str | None = None,
        spacing: Sequence[float] | None = None,
        warnings: Sequence[str] | None = None,
    ) -> None:
        """Store ``features`` (and the image's MR ``sequence``, voxel ``spacing`` and the case's
        load ``warnings``: an empty list stored as no warnings, None no key, an entry
        :func:`extract_cases` extracts again) atomically (never half a file; sessions
        storing the same case at the same moment each write their own temporary file)."""
        entry = {"case_id": case_id, "features": features, "grid": GRID_ANCHOR}
        entry |= {"sequence": sequence} if sequence else {}
        entry |= {"spacing": list(spacing)} if spacing else {}
        entry |= {"warnings": list(warnings)} if warnings is not None else {}
        write_text(self._path(digest), json.dumps(entry))


def describe_error(error: BaseException) -> str:
    """A failure message: ours as written, anything else prefixed with its type."""
    if isinstance(error, RadSurvError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def extract_task(task: CaseTask, settings: ExtractionSettings) -> CaseOutcome:
    """Load one case and extract its features; never raises (errors become the outcome)."""
    start = time.perf_counter()
    try:
        case = load_case(
            task.folder,
            case_id=task.case_id,
            require=required_masks(settings.rois),
            site=task.site,
            modality=task.volume_modality or task.modality,
            companions=task.companion is not None,
            structure_set=task.structure_set,
            **named_files(task.volume_files),
        )
        if task.modality and case.modality.upper() != task.modality.upper():
            raise InputError(
                f"The case is {case.modality}; the cohort's features are computed on "
                f"{task.modality.upper()} images, with that modality's settings. Import the "
                f"cohort with --modality {task.modality.upper()} (of a PET/CT study, its "
                f"{task.modality.upper()} series), or extract the {case.modality} cases apart."
            )
        if task.companion:
            case = modality_view(case, task.companion)
        features = extract_case(case, settings)
    except Exception as error:  # noqa: BLE001 - every failure is reported per case
        logger.debug("Case %s failed", task.case_id, exc_info=True)
        return CaseOutcome(
            task.case_id, error=describe_error(error), seconds=time.perf_counter() - start
        )
    return CaseOutcome(
        task.case_id,
        features=features,
        seconds=time.perf_counter() - start,
        sequence=case.sequence,
        spacing=tuple(case.image.GetSpacing()),
        warnings=tuple(case.warnings),
    )


# --- the cohort ---------------------------------------------------------------------------------


@dataclass
class CohortFeatures:
    """Features of a cohort: ``features`` (index case_id, one column per feature, cases that
    failed left out), ``failures`` (case_id, error), and counts of how each case was obtained;
    ``withdrawn``: the cases withdrawn from the cohort while they were extracted, left out;
    ``cohort``: the cohort folder the cases are of (None: cases given one by one)."""

    features: pd.DataFrame
    failures: pd.DataFrame
    n_cases: int
    n_extracted: int
    n_cached: int
    seconds: float
    outcomes: list[CaseOutcome] = field(default_factory=list, repr=False)
    site: str | None = None
    withdrawn: list[str] = field(default_factory=list)
    cohort: Path | None = None

    @property
    def n_failed(self) -> int:
        """Number of cases without features."""
        return len(self.failures)

    @property
    def sequences(self) -> dict[str, int]:
        """The extracted cases' MR weightings, with how many cases each (those known)."""
        found = Counter(o.sequence for o in self.outcomes if o.features is not None and o.sequence)
        return dict(sorted(found.items()))

    @property
    def voxel_sizes(self) -> dict[str, int]:
        """The extracted cases' voxel sizes ('0.70 x 0.70 x 5.0 mm'), with how many cases each
        (those known), most frequent first."""
        found = Counter(
            voxel_size(o.spacing) for o in self.outcomes if o.features is not None and o.spacing
        )
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    @property
    def warnings(self) -> pd.DataFrame:
        """What loading each extracted case warned of (case_id, warning), one row per warning,
        in the cases' order: the cases whose features may rest on a guess."""
        return outcome_warnings(self.outcomes)

    @property
    def n_warned(self) -> int:
        """Number of extracted cases loaded with warnings."""
        return warned_cases(self.warnings)


#: progress(done, total, outcome, how) after each case; how is "cached", "extracted" or "failed".
Progress = Callable[[int, int, CaseOutcome, str], None]


def _tasks(
    cases: Iterable[tuple[str, Path]],
    site: str | None,
    modality: str | None,
    companion: str | None = None,
    volume_modalities: Mapping[str, str] | None = None,
    volume_files: Mapping[str, VolumeFiles] | None = None,
    case_sites: Mapping[str, str] | None = None,
    structure_sets: Mapping[str, str] | None = None,
) -> tuple[list[CaseTask], list[CaseOutcome]]:
    """Tasks for readable case folders, failures for the others and for cases ``case_sites``
    (case id -> site, a manifest's) puts at another site than ``site``."""
    tasks, failed = [], []
    cases = list(cases)
    shared = shared_folders(cases)
    for case_id, folder in cases:
        if not folder.is_dir():
            failed.append(CaseOutcome(case_id, error=f"Case folder {folder} does not exist."))
            continue
        said = (case_sites or {}).get(case_id)
        if site is not None and said is not None and said != site.lower():
            failed.append(
                CaseOutcome(
                    case_id,
                    error=f"The manifest says case {case_id} is a {said} case; read as a {site} "
                    f"case, its organ contour would fill the {site} columns. Give --site {said}, "
                    "or correct the manifest's site column.",
                )
            )
            continue
        try:
            volume = (volume_modalities or {}).get(case_id)
            files = (volume_files or {}).get(case_id)
            chosen = (structure_sets or {}).get(case_id)
            own = folder in shared and companion is None
            read_as = _read_as(volume, files, None if chosen is None else _below(chosen, folder))
            digest = case_content(folder, files, own) + _beside(companion) + read_as + _at(site)
            task = CaseTask(
                case_id, folder, digest, site, modality, companion, volume, files, chosen
            )
            tasks.append(task)
        except OSError as err:
            failed.append(CaseOutcome(case_id, error=f"Cannot read case folder {folder}: {err}"))
    return tasks, failed


def extract_cases(
    cases: Sequence[tuple[str, Path]],
    settings: ExtractionSettings,
    workers: int | None = None,
    mapper: CaseMapper | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    site: str | None = None,
    modality: str | None = None,
    companion: str | None = None,
    volume_modalities: Mapping[str, str] | None = None,
    volume_files: Mapping[str, VolumeFiles] | None = None,
    case_sites: Mapping[str, str] | None = None,
    structure_sets: Mapping[str, str] | None = None,
    withdrawn: Callable[[], Collection[str]] | None = None,
) -> CohortFeatures:
    """Features of ``cases`` ((case id, case folder) pairs) for ``settings``.

    ``modality`` is the images' the settings are for: a case of another is a failure naming
    both. Volume files carry none: they are what ``volume_modalities`` (case id -> modality, a
    manifest's) says, else ``modality``; DICOM says its own. ``volume_files`` (case id -> image
    and role masks, a manifest's) names the files of volume cases, ``structure_sets`` (case id
    -> RTSTRUCT or SEG file, a manifest's) the structure set of DICOM cases. ``companion``
    extracts from each case's image of that name beside its own instead (a CT cohort's 'PT', an
    MR cohort's 'FLAIR'; the masks moved onto its grid).

    ``site`` is the cohort's site (organ ROIs are named after it); without one each case's organ
    gives it, and cases whose site differs from most cases' fail (their columns would not match);
    so do cases ``case_sites`` (case id -> site, a manifest's) puts elsewhere than ``site``.

    Cached cases are read back; the rest run on ``mapper`` (default :func:`make_mapper` with
    ``workers``). ``progress(done, total, outcome, how)`` is called after each case, ``how`` being
    "cached", "extracted" or "failed".

    ``withdrawn()``, asked once every case is done, names the cases withdrawn from their cohort
    (consent) by then: a withdrawal during the extraction removed their rows and cached features,
    and a table written after it brought a patient's row back; they are left out of the result,
    listed in its ``withdrawn``, and their cached features discarded."""
    start = time.perf_counter()
    feature_names(settings, site)  # settings errors before any work
    tasks, outcomes = _tasks(
        cases,
        site,
        modality,
        companion,
        volume_modalities,
        volume_files,
        case_sites,
        structure_sets,
    )
    total, done = len(cases), 0

    def report(outcome: CaseOutcome, how: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, outcome, how)

    for outcome in outcomes:
        report(outcome, "failed")
    cache = FeatureCache(settings) if use_cache else None
    to_run, cached_ids = [], set()
    for task in tasks:
        cached = cache.entry(task.content_hash) if cache else None
        # an entry of a version that kept no warnings is extracted again: read as "no warnings",
        # a case whose GTV was a guess (label 2 taken as it) would be reported clean
        if cached is None or "warnings" not in cached:
            to_run.append(task)
            continue
        cached_ids.add(task.case_id)
        spacing = cached.get("spacing")
        outcome = CaseOutcome(
            task.case_id,
            features=cached["features"],
            sequence=cached.get("sequence"),
            spacing=tuple(spacing) if spacing else None,
            warnings=tuple(cached["warnings"]),
        )
        outcomes.append(outcome)
        report(outcome, "cached")
    mapper = mapper or make_mapper(workers, len(to_run))
    for task, result in mapper.map_unordered(partial(extract_task, settings=settings), to_run):
        outcome = (
            result
            if isinstance(result, CaseOutcome)
            else CaseOutcome(task.case_id, error=describe_error(result))
        )
        if outcome.features is not None and cache:
            cache.put(
                task.content_hash,
                task.case_id,
                outcome.features,
                outcome.sequence,
                outcome.spacing,
                outcome.warnings,
            )
        outcomes.append(outcome)
        report(outcome, "extracted" if outcome.error is None else "failed")

    order = {case_id: i for i, (case_id, _) in enumerate(cases)}
    gone = set(withdrawn()) & set(order) if withdrawn else set()
    if gone:
        outcomes = [o for o in outcomes if o.case_id not in gone]
        for task in tasks:
            if task.case_id in gone and cache:
                cache.discard(task.content_hash)
    n_cached = len(cached_ids - gone)
    site = site or _common_site(outcomes, settings)
    columns = feature_names(settings, site)
    outcomes = [_check_site(o, columns, site) for o in outcomes]
    outcomes.sort(key=lambda o: order[o.case_id])
    rows = {o.case_id: o.features for o in outcomes if o.features is not None}
    features = pd.DataFrame.from_dict(rows, orient="index", dtype="float64").reindex(
        columns=columns
    )
    features.index.name = "case_id"
    failures = pd.DataFrame(
        [(o.case_id, o.error) for o in outcomes if o.error is not None], columns=FAILURE_COLUMNS
    )
    return CohortFeatures(
        features=features,
        failures=failures,
        n_cases=total - len(gone),
        n_extracted=sum(1 for o in outcomes if o.features is not None) - n_cached,
        n_cached=n_cached,
        seconds=time.perf_counter() - start,
        outcomes=outcomes,
        site=site,
        withdrawn=sorted(gone),
    )


def _site_of(features: dict[str, float], settings: ExtractionSettings) -> str | None:
    """The site a case's feature names were made for (None when no ROI is named after it)."""
    plain = {r for r in settings.rois if roi_label(r, "x") == r}
    for prefix in {n.split("__", 1)[0] for n in features} - plain:
        label = prefix.removesuffix("_minus_gtv")
        return None if label == "organ" else label
    return None


def _common_site(outcomes: list[CaseOutcome], settings: ExtractionSettings) -> str | None:
    """The site most extracted cases were named after."""
    sites = [_site_of(o.features, settings) for o in outcomes if o.features is not None]
    return max(set(sites), key=sites.count) if sites else None


def _check_site(outcome: CaseOutcome, columns: list[str], site: str | None) -> CaseOutcome:
    """The outcome, or a failure when its features are of another site than the cohort's."""
    if outcome.features is None or set(outcome.features) == set(columns):
        return outcome
    return CaseOutcome(
        outcome.case_id,
        error=(
            f"Its organ ROI features are not those of the cohort's site ({site or 'unknown'}); "
            "the case's organ is of another site or missing. Give the cohort's site."
        ),
        seconds=outcome.seconds,
    )


def _one_value(manifest: pd.DataFrame, column: str) -> str | None:
    """The one value of a manifest column over the cohort (None when absent, empty or mixed)."""
    if column not in manifest.columns:
        return None
    values = set(manifest[column].dropna().astype(str))
    return values.pop() if len(values) == 1 else None


def feature_table_path(
    cohort: Path | str, preset: str, settings: ExtractionSettings, companion: str | None = None
) -> Path:
    """Where a cohort's radiomics of one preset are cached: ``<data>/features/<cohort key>-
    <preset>-<settings hash>-g<reading>[-on-<companion>].parquet`` (a changed manifest, case file
    (:func:`cohort_key`) or settings is a new table; so is a change in how images are read,
    :data:`GRID_ANCHOR`, as the per-case cache's: a run reused a table of the earlier reading
    and trained on features that scoring no longer gives; those of the cases' ``companion``
    images another)."""
    name = (
        f"{cohort_key(cohort)}-{preset}-{settings.hash()[:12]}-g{reading_stamp(GRID_ANCHOR)}"
        f"{_beside(companion)}"
        ".parquet"
    )
    return data_subdir("features") / name


def _read_as(
    modality: str | None, files: VolumeFiles | None, structure_set: str | None = None
) -> str:
    """What tells, in a cache key, a case folder read as its manifest row says (its volumes'
    modality, its image and masks, its structure set's path below the folder) from the same
    folder read otherwise: '' when the row says nothing."""
    if modality is None and files is None and structure_set is None:
        return ""
    chosen = [] if structure_set is None else [structure_set]
    said = json.dumps([modality, files, *chosen], sort_keys=True)
    return "-as-" + hashlib.sha256(said.encode()).hexdigest()[:12]


def _below(path: str, folder: Path) -> str:
    """``path`` as it lies below ``folder`` (posix; a moved cohort keeps its cache), else whole:
    TCIA downloads name every series' file '1-1.dcm', so a name alone told no two apart."""
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)


def case_content(folder: Path, files: VolumeFiles | None, shared: bool) -> str:
    """What the feature cache keys a case by, before how it is read (its cache entries' names
    begin with it): the bytes of every file of its ``folder``, or of the ``files`` its manifest
    row names where the folder is ``shared`` with other cases (:func:`shared_folders`)."""
    return content_hash(folder, own_files(files, folder) if shared else None)


def shared_folders(cases: Sequence[tuple[str, Path]]) -> set[Path]:
    """Case folders that hold several cases' files, or the cohort's own (a manifest's images/ and
    masks/ folders, or one folder of every patient's files): a case there is its manifest row's
    files alone, not the folder (hashing every patient's files per case, and another case's
    change or a feature table written beside them made every case new)."""
    seen = Counter(folder for _, folder in cases)
    # one case's images/ and masks/ folders: their parent is the cohort folder itself
    return {f for f, count in seen.items() if count > 1 or (f / "manifest.csv").is_file()}


def _at(site: str | None) -> str:
    """What tells a case read for a given site (its organ chosen by that site's names, its organ
    ROI named after it) from the same case read for its own organ in a cache key: '-at-lung'."""
    return f"-at-{site}" if site else ""


def _beside(companion: str | None) -> str:
    """What tells a companion image's features from the case's own in a cache key: '-on-pt'."""
    return f"-on-{companion.lower()}" if companion else ""


def cohort_key(cohort: Path | str) -> str:
    """Its feature tables' name prefix: 12 hex digits of a SHA-256 over the cohort's manifest
    and, of every file of its case folders, the path, size, modification and status change
    times. Images or masks changed in place (the manifest unchanged) are a new table: a run
    reused the old one, trained on the old contours' radiomics; a corrected mask of the same size
    copied with its times kept (``cp -p``, ``rsync -a``, unzip) still does, as its status change
    time is the copy's. Cheap (no image is read); the per-case cache, keyed by content, then
    redoes only the changed cases."""
    from survival_core.io.hashing import file_sha256

    cohort = Path(cohort)
    digest = hashlib.sha256(file_sha256(cohort / "manifest.csv").encode())
    manifest = read_manifest(cohort)
    cases, named = cases_of(manifest), volume_files_of(manifest)
    shared = shared_folders(cases)
    for case_id, folder in cases:
        own = own_files(named.get(case_id), folder) if folder in shared else None
        listed = folder.rglob("*") if own is None else (folder / name for name in own)
        files = sorted(p for p in listed if p.is_file()) if folder.is_dir() else []
        for path in files:
            stat = path.stat()
            name = path.relative_to(folder).as_posix()
            times = f"{stat.st_mtime_ns}\0{stat.st_ctime_ns}"
            digest.update(f"{case_id}/{name}\0{stat.st_size}\0{times}\0".encode())
    return digest.hexdigest()[:12]


def cohort_modality(cohort: Path | str) -> str:
    """The cohort's modality: the manifest's ``modality`` column (of a cohort of several, the
    most cases'; an :class:`InputError` on a tie: a download of 4 patients' 't1ce' files and 4
    named 'image' was extracted as CT, the MR cases refused and told to import as CT), else the
    headers of its first DICOM case's image series (volume files named for none count as CT)."""
    manifest = read_manifest(Path(cohort))
    given = _one_value(manifest, "modality")
    if given:
        return given.upper()
    counts = Counter(modalities_of(manifest).values()).most_common()
    if len(counts) > 1:
        if counts[0][1] == counts[1][1]:
            listed = ", ".join(f"{n} {m}" for m, n in counts)
            raise InputError(
                f"The cohort {cohort} holds cases of several modalities ({listed}), as many of "
                "each: say which to extract with --modality (a case of another is then refused, "
                "named), or import the cohort again with --modality for the one its images all "
                "are (volume files named for no modality were read as CT)."
            )
        return counts[0][0]
    dicom = manifest[manifest["format"] == "dicom"]
    if dicom.empty:
        return "CT"
    listed = series_summary(scan_dicom(dicom.iloc[0]["image"]))
    return next((s for s in listed if s.default), listed[0]).modality


def extract_cohort(
    cohort: Path | str,
    settings: ExtractionSettings,
    workers: int | None = None,
    mapper: CaseMapper | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    site: str | None = None,
    modality: str | None = None,
    companion: str | None = None,
    withdrawn: Callable[[], Collection[str]] | None = None,
) -> CohortFeatures:
    """Features of every case of a cohort folder (manifest.csv + cases/); see :func:`extract_cases`.
    ``site`` defaults to the manifest's; the manifest's ``modality`` column, where it has one, says
    what each case's volume files are, and ``modality`` (default: the manifest's one modality)
    what the settings are for: a case of another modality is a failure naming both (``--modality
    MR`` on a CT cohort computed the MR variant on CT images); ``companion`` as there."""
    manifest = read_manifest(Path(cohort))
    result = extract_cases(
        cases_of(manifest),
        settings,
        workers,
        mapper,
        use_cache,
        progress,
        site=site or _one_value(manifest, "site"),
        modality=modality or _one_value(manifest, "modality"),
        companion=companion,
        volume_modalities=modalities_of(manifest),
        volume_files=volume_files_of(manifest),
        case_sites=sites_of(manifest),
        structure_sets=structure_sets_of(manifest),
        withdrawn=withdrawn,
    )
    return replace(result, cohort=Path(cohort).resolve())


#: Voxel sizes differing by more than this factor (in-plane or between slices) make a cohort's
#: native-grid features incomparable: the same tumour's texture read at 0.7 and 1.5 mm differs
#: as much as two tumours do (a run length non-uniformity of 194,825 against 44,339).
NATIVE_SPREAD = 1.2


def voxel_size(spacing: Sequence[float]) -> str:
    """A voxel size as people write it: '0.70 x 0.70 x 5.0 mm'."""
    x, y, z = spacing
    digits = 1 if z >= 0.1 else 3  # a thin slice keeps its digits
    return f"{x:.2f} x {y:.2f} x {z:.{digits}f} mm"


def mixed_spacing_note(settings: ExtractionSettings, sizes: Mapping[str, int]) -> str | None:
    """The note that ``settings`` compute features on each image's native grid and the cohort's
    voxel ``sizes`` (:attr:`CohortFeatures.voxel_sizes`, also kept in its table) differ by more
    than :data:`NATIVE_SPREAD`; None otherwise."""
    if not any(scale.spacing_mm is None for scale in settings.scales) or len(sizes) < 2:
        return None
    spacings = np.array([[float(v) for v in size.split()[::2][:3]] for size in sizes])
    in_plane, between = spacings[:, :2].ravel(), spacings[:, 2]
    if max(in_plane.max() / in_plane.min(), between.max() / between.min()) <= NATIVE_SPREAD:
        return None
    listed = ", ".join(
        f"{size} ({n} case{'s' if n > 1 else ''})" for size, n in list(sizes.items())[:5]
    )
    more = f" and {len(sizes) - 5} more" if len(sizes) > 5 else ""
    return (
        f"The cohort's images are of {len(sizes)} voxel sizes: {listed}{more}. The "
        f"{settings.preset} preset computes features on each image's own voxels ('native' in "
        "their names), which change with the voxel size as much as with the tumour: compare "
        "those only between cases of one voxel size, or model on its resampled features."
    )


def outcome_warnings(outcomes: Iterable[CaseOutcome]) -> pd.DataFrame:
    """The warnings table (:data:`WARNING_COLUMNS`) of the extracted cases among ``outcomes``,
    one row per warning, in their order (failed cases have no features to rest on a guess)."""
    rows = [(o.case_id, w) for o in outcomes if o.error is None for w in o.warnings]
    return pd.DataFrame(rows, columns=WARNING_COLUMNS)


def withdrawn_note(case_ids: Sequence[str]) -> str:
    """What the user is told of the cases :func:`extract_cases` left out as withdrawn."""
    return (
        f"{len(case_ids)} case(s) withdrawn from the cohort during the extraction left out of "
        f"its table, their cached features deleted: {', '.join(case_ids)}."
    )


#: What ends the names of the tables written beside a feature table (its failures, its warnings).
SIDECAR_SUFFIXES = (".failures.csv", ".warnings.csv")


def failures_path(out: Path | str) -> Path:
    """Where the failures table of feature table ``out`` goes: ``FEATURES.failures.csv`` beside it."""
    return _sidecar(out, SIDECAR_SUFFIXES[0])


def warnings_path(out: Path | str) -> Path:
    """Where the warnings table of feature table ``out`` goes: ``FEATURES.warnings.csv``
    beside it."""
    return _sidecar(out, SIDECAR_SUFFIXES[1])


def _sidecar(out: Path | str, suffix: str) -> Path:
    """The table ending ``suffix`` written beside feature table ``out``."""
    out = Path(out)
    return out.with_name(f"{out.stem}{suffix}")


def sidecar_table(path: Path) -> Path:
    """The feature table (``FEATURES.parquet``) a failures or warnings table ``path`` was written
    beside; ``path`` itself when it is neither."""
    for suffix in SIDECAR_SUFFIXES:
        if path.name.endswith(suffix):
            return path.with_name(f"{path.name.removesuffix(suffix)}.parquet")
    return path


def sidecars(out: Path | str) -> list[Path]:
    """The failures and warnings tables of feature table ``out``, there or not: part of the
    table, kept and deleted with it."""
    return [failures_path(out), warnings_path(out)]


def write_warnings(warnings: pd.DataFrame, out: Path | str) -> Path:
    """Write the load ``warnings`` of a table's extracted cases (:func:`outcome_warnings`)
    beside feature table ``out``, always (a stale one never lingers); returns its path."""
    path = warnings_path(out)
    write_text(path, warnings.to_csv(index=False))
    return path


def read_warnings(out: Path | str) -> pd.DataFrame | None:
    """The warnings table written beside feature table ``out`` (:func:`write_warnings`); None
    when there is none (a table of a version that kept none) or it was cut short (a full disk):
    such a table's cases are extracted again rather than read as loaded without warnings."""
    try:
        return pd.read_csv(warnings_path(out), dtype={"case_id": str, "warning": str})
    except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None


def write_failures(failures: pd.DataFrame, n_cases: int, out: Path | str) -> Path:
    """Write the failures table of feature table ``out`` (always, so that a stale one never
    lingers); InputError when all ``n_cases`` failed, before any feature table is written: an
    empty one would replace the table of an earlier run, and a run would reuse it as a cache."""
    path = failures_path(out)
    write_text(path, failures.to_csv(index=False))  # whole or not at all: a full disk left 0 bytes
    if n_cases and len(failures) == n_cases:
        kept = f"; {out} was left as it was" if Path(out).exists() else ""
        raise InputError(
            f"All {n_cases} cases failed (see {path}), so no feature table was written{kept}. "
            f"First error: {failures.iloc[0]['error']}"
        )
    return path


def write_cohort_features(
    result: CohortFeatures,
    out: Path | str,
    settings: ExtractionSettings,
    modality: str | None = None,
    image: str | None = None,
) -> tuple[Path, Path]:
    """Write the failures table (:func:`write_failures`: InputError when every case failed) and
    the feature table (Parquet with the settings, the images' ``modality``, their MR weightings,
    the cohort folder and, for a companion image's features, its name in its metadata); returns
    both paths."""
    failures = write_failures(result.failures, result.n_cases, out)
    table = write_feature_table(
        result.features,
        out,
        settings,
        modality,
        image,
        result.sequences,
        result.voxel_sizes,
        result.cohort,
    )
    return table, failures
