"""Retention: delete uploads, caches and job logs left unused longer than the retention period,
and measure how many bytes each part of the data folder holds.

**Setting.** ``$RADSURV_RETENTION_DAYS``: a whole number of days, 30 when unset or empty; 0 turns
retention off (nothing is deleted for its age). Anything else is a ConfigError.

**What may be deleted** (each an *item*, with its area):

- ``uploads``: an uploaded case, ``cases/upload-*`` (also a staging folder a crash left there);
- ``feature_cache``: a file of the per-case radiomics cache (``cache/features/``) and a cohort's
  feature table in ``features/`` (not the demo's ``features/demo-*``) with the failures and
  warnings tables beside it, one item kept or deleted whole; a run re-extracts it;
- ``caches``: a file of the other caches (``cache/volumes/`` ...) and a leftover of ``tmp/``
  (not ``tmp/ray`` and ``tmp/ray-spill``, which a running Ray owns);
- ``job_logs``: a background job's folder ``runs/jobs/<job id>/`` (never a running or cancelled
  job's: a cancelled one's records that its run was cancelled).

Nothing else is ever deleted: not the registered models or training runs (``runs/`` but its
jobs, ``models/``), the demo cohorts (``demo/``), imported cohorts (``cohorts/``), the keys
(``keys/``), the audit log (``logs/``), nor the users file (kept outside the data folder).

**Age** is the time since last use: the newest modification time of anything in the item (the
folder itself included). Reading a file does not change it, so reuse is marked with
:func:`mark_used`: by the Case page when the same upload is stored again, by a run when it reuses
a cohort's feature table. A cache entry's age is the time since it was written; deleting one still wanted
only means computing it again.

**Atomic.** An expired item is first renamed into ``<data>/.trash/`` (same file system: one
atomic step, so a reader sees the whole case or none of it; uploads in a ``cases/`` mounted from
another file system go through ``cases/.trash/``), then deleted there. A crash between
the two leaves it in the trash, out of every reader's sight, and the next cleanup finishes it.
One cleanup runs at a time per data folder (an exclusive lock on ``<data>/.cleanup.lock``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from survival_core.errors import ConfigError
from survival_core.paths import data_dir

RETENTION_ENV = "RADSURV_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
TRASH = ".trash"
LOCK_FILE = ".cleanup.lock"
DAY_S = 86_400.0
#: The demo's feature tables (:func:`~survival_core.workflows.demo.demo_features_path`): kept.
DEMO_TABLE_PREFIX = "demo-"
#: Folders of ``tmp/`` that a running Ray owns (:mod:`survival_core.engine`): kept.
RAY_FOLDERS = frozenset({"ray", "ray-spill"})
#: The parts of the data folder :func:`disk_usage` measures, with what each holds.
AREAS = {
    "uploads": "Uploaded cases (cases/)",
    "caches": "Caches and temporary files (cache/ but features, tmp/)",
    "feature_cache": "Feature cache: per-case radiomics and cohort feature tables",
    "job_logs": "Background job folders and logs (runs/jobs/)",
    "runs": "Training runs: tracking database, artifacts, working folders (runs/)",
    "models": "Models: registered copies (runs/registry/) and models/",
    "demo": "Demo cohorts (demo/)",
    "cohorts": "Imported cohorts (cohorts/)",
    "other": "Other: keys, audit log, trash",
}
#: The area of each top-level folder's files, and of the sub-folders that differ from theirs.
FOLDER_AREAS = {
    "cases": "uploads",
    "cache": "caches",
    "features": "feature_cache",
    "tmp": "caches",
    "runs": "runs",
    "models": "models",
    "demo": "demo",
    "cohorts": "cohorts",
}
SUBFOLDER_AREAS = {
    ("cache", "features"): "feature_cache",
    ("runs", "jobs"): "job_logs",
    ("runs", "registry"): "models",
}


def check_days(value: str | int, source: str = RETENTION_ENV) -> int:
    """``value`` as a retention period in whole days (0: off); ConfigError naming ``source``
    otherwise."""
    try:
        days = int(str(value).strip())
    except ValueError:
        days = -1
    if days < 0:
        raise ConfigError(
            f"{source}={value!r} is not a retention period: give a whole number of days, 0 to "
            f"keep everything (default {DEFAULT_RETENTION_DAYS})."
        )
    return days


def retention_days() -> int:
    """The retention period in days from ``$RADSURV_RETENTION_DAYS`` (30 when unset or empty,
    0: off); ConfigError for anything but a whole number of days."""
    value = os.environ.get(RETENTION_ENV, "").strip()
    return check_days(value) if value else DEFAULT_RETENTION_DAYS


def mark_used(path: Path) -> None:
    """Record that ``path`` (an upload folder, a feature table) was used now, by setting its
    modification time: retention counts its age from here. Best effort: a path that is gone or
    read-only is left as it is."""
    with contextlib.suppress(OSError):
        os.utime(path)


def format_bytes(size: int) -> str:
    """``size`` bytes for people: ``512 B``, ``3.4 MB``, ``1.2 GB`` (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _measure(path: Path) -> tuple[int, float]:
    """Bytes of the files in ``path`` (or of the file) and the newest modification time (s since
    the epoch) of anything in it, itself included; links are not followed."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return info.st_size, info.st_mtime
    size, newest = 0, info.st_mtime
    for folder, folders, files in os.walk(path):
        for name in (*folders, *files):
            try:
                entry = os.lstat(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            newest = max(newest, entry.st_mtime)
            if not stat.S_ISDIR(entry.st_mode):
                size += entry.st_size
    return size, newest


def _parts(path: Path) -> list[Path]:
    """What item ``path`` is made of: a feature table's failures and warnings tables, there, then
    the table (deleted last: a run seeing the table without its warnings extracts it again), or
    ``path`` alone."""
    from survival_core.features.cohort import sidecars

    beside = sidecars(path) if path.suffix == ".parquet" else []
    return [*(p for p in beside if p.is_file()), path]


def _listed(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _kept_job(folder: Path) -> bool:
    """Whether a job folder stays whatever its age: a running job's, and a cancelled one's, whose
    ``cancel.json`` is the only record that its run was cancelled (the Training page showed the
    run FAILED once it was gone)."""
    from survival_core.errors import InputError
    from survival_core.runs.jobs import load_job

    try:
        job = load_job(folder)
    except InputError:  # no job.json yet, or unreadable: its age decides
        return False
    return job.alive() or job.cancelled


def candidates(root: Path) -> Iterator[tuple[str, Path]]:
    """(area, path) of everything under the data folder ``root`` that retention may delete
    once it is old enough (see the module doc); nothing else is ever offered."""
    from survival_core.features.cohort import sidecar_table

    for path in _listed(root / "cases", "upload-*"):
        yield "uploads", path
    for path in _files(root / "cache" / "features"):
        yield "feature_cache", path
    tables = _listed(root / "features")
    listed = set(tables)
    for path in tables:
        # a table's failures and warnings are part of it (:func:`_parts`), not items of their own
        owned = (table := sidecar_table(path)) != path and table in listed
        if path.is_file() and not owned and not path.name.startswith(DEMO_TABLE_PREFIX):
            yield "feature_cache", path
    for kind in _listed(root / "cache"):
        if kind.name != "features":
            yield from (("caches", path) for path in _files(kind))
    for path in _listed(root / "tmp"):
        if path.name not in RAY_FOLDERS:
            yield "caches", path
    for path in _listed(root / "runs" / "jobs"):
        if path.is_dir() and not _kept_job(path):
            yield "job_logs", path


@dataclass(frozen=True)
class Removal:
    """One deleted (or, in a dry run, expired) item: its area, path relative to the data
    folder, size in bytes and days since last use."""

    area: str
    path: str
    bytes: int
    idle_days: float


@dataclass
class CleanupReport:
    """What a cleanup deleted (a dry run: would delete) and what it could not."""

    days: int
    dry_run: bool
    removed: list[Removal] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def freed_bytes(self) -> int:
        return sum(item.bytes for item in self.removed)

    def by_area(self) -> dict[str, dict[str, int]]:
        """Items and bytes per area."""
        areas: dict[str, dict[str, int]] = {}
        for item in self.removed:
            area = areas.setdefault(item.area, {"items": 0, "bytes": 0})
            area["items"] += 1
            area["bytes"] += item.bytes
        return areas

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (the CLI's JSON)."""
        return {
            "days": self.days,
            "dry_run": self.dry_run,
            "deleted": len(self.removed),
            "freed_bytes": self.freed_bytes,
            "by_area": self.by_area(),
            "items": [asdict(item) for item in self.removed],
            "errors": self.errors,
        }


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One cleanup at a time in the data folder ``root`` (others wait)."""
    fd = os.open(root / LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _empty_trash(root: Path, report: CleanupReport, now: float) -> None:
    """Finish what an interrupted cleanup left in the trashes (listed only, in a dry run)."""
    for path in (item for trash in _trashes(root) for item in _listed(trash)):
        size, newest = _measure(path)
        try:
            if not report.dry_run:
                _remove(path)
        except OSError as err:
            report.errors.append(f"{path.relative_to(root)}: {err}")
            continue
        idle = max(0.0, (now - newest) / DAY_S)
        report.removed.append(Removal("trash", str(path.relative_to(root)), size, idle))


def _discard(path: Path, trash: Path) -> None:
    """Delete ``path`` atomically: rename it into the trash (one step), then delete it there. An
    item on another file system than the trash (``cases/`` mounted from a bigger disk) goes
    through a trash beside it (:func:`_trashes`): the rename across devices failed, and expired
    uploads were never deleted."""
    try:
        trash.mkdir(exist_ok=True)
        moved = trash / f"{path.parent.name}-{path.name}-{secrets.token_hex(4)}"
        os.rename(path, moved)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        moved = path.parent / TRASH / f"{path.name}-{secrets.token_hex(4)}"
        moved.parent.mkdir(exist_ok=True)
        os.rename(path, moved)
    _remove(moved)


def _trashes(root: Path) -> list[Path]:
    """The data folder's trash, and the one beside the uploads for a ``cases/`` on another file
    system (what an interrupted cleanup may have left in either)."""
    return [root / TRASH, root / "cases" / TRASH]


def cleanup(
    days: int | None = None, dry_run: bool = False, root: Path | None = None
) -> CleanupReport:
    """Delete every item (see the module doc) unused for more than ``days`` days (default:
    :func:`retention_days`; 0 deletes nothing for its age) from the data folder ``root``
    (default: :func:`~survival_core.paths.data_dir`), first finishing an interrupted cleanup's
    trash. ``dry_run``: report what would be deleted, delete nothing. An item that cannot be
    deleted is named in the report's errors; the others still go."""
    days = retention_days() if days is None else check_days(days, "days")
    root = data_dir() if root is None else Path(root)
    report = CleanupReport(days=days, dry_run=dry_run)
    trash = root / TRASH
    now = time.time()
    with _locked(root):
        _empty_trash(root, report, now)
        if days == 0:
            return report
        cutoff = now - days * DAY_S
        for area, path in candidates(root):
            try:
                parts = _parts(path)
                measured = [_measure(part) for part in parts]
                size, newest = sum(m[0] for m in measured), max(m[1] for m in measured)
                if newest >= cutoff:
                    continue
                if not dry_run:
                    for part in parts:
                        _discard(part, trash)
            except FileNotFoundError:  # gone meanwhile (its writer replaced it): nothing to do
                continue
            except OSError as err:
                report.errors.append(f"{path.relative_to(root)}: {err}")
                continue
            idle = (now - newest) / DAY_S
            report.removed.append(Removal(area, str(path.relative_to(root)), size, idle))
    return report


def _area_of(parts: tuple[str, ...]) -> str:
    """The :data:`AREAS` key of a file at ``parts`` (its path relative to the data folder)."""
    folders = parts[:-1]
    if not folders:
        return "other"
    return SUBFOLDER_AREAS.get(folders[:2]) or FOLDER_AREAS.get(folders[0], "other")


def disk_usage(root: Path | None = None) -> dict[str, int]:
    """Bytes (sum of file sizes; links not followed) per :data:`AREAS` key of the data folder
    ``root`` (default: :func:`~survival_core.paths.data_dir`), and ``total``."""
    root = data_dir() if root is None else Path(root)
    usage = dict.fromkeys(AREAS, 0)
    for folder, _, files in os.walk(root):
        relative = Path(folder).relative_to(root).parts
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                usage[_area_of((*relative, name))] += os.lstat(os.path.join(folder, name)).st_size
    usage["total"] = sum(usage.values())
    return usage
