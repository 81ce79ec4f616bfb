"""Tracking and model registry over MLflow: runs with their config, metrics and artifacts, the
registered models, and the one model the whole app uses (the active model).

**Where.** Tracking URI ``$MLFLOW_TRACKING_URI`` when set, else an embedded SQLite database
``<data>/runs/mlflow.db`` (the registry uses the same URI unless ``$MLFLOW_REGISTRY_URI`` is set).
One experiment per config name; unless the tracking URI is a server (http/https/databricks, which
then decides), its artifacts go to ``<data>/runs/artifacts/<name>/<run_id>/artifacts/`` (set
explicitly, so nothing lands in ``./mlruns``). Also under ``<data>/runs/``: ``<run_id>/``, a run's
local working folder (fold checkpoints), ``registry/<name>/v<version>-<entry key>/``, local
copies of registered models (named after the registry entry, so a model deleted and registered
again, or one of another tracking store on the same data folder, never shares a copy), and
``active_model.json``, the app's active model.

**Runs.** MLflow run status RUNNING / FINISHED / FAILED. Tags: ``radsurv.pid``,
``radsurv.process_start`` and ``radsurv.host`` (the process tracking the run:
:meth:`RunStore.reap_dead_runs` fails RUNNING runs whose process is gone from this host),
``radsurv.code_version`` (package version + git commit, ``.dirty`` for an edited tree; a run
resumed by other code keeps the earlier ones in ``radsurv.earlier_code_versions``),
``radsurv.config_hash``, ``data.<key>`` (data hashes), ``package.<name>`` (the versions of the
packages that change its numbers), ``outcome.<field>`` (the outcome its development cohort
recorded at import: endpoint, time and event columns, time unit) and ``radsurv.error`` (why a
run failed).
The config is logged whole as ``config.yaml`` and flattened into params (``model.params.lr``).
Summary metrics keep their names;
per-fold metrics are logged as ``fold/<name>`` with the fold's index as step. Artifacts are
copied atomically (:mod:`survival_core.io.atomic`) into the run's own folder, so two runs at
once never write the same path and a half-written artifact is never visible (with a tracking
server, files are uploaded through MLflow and the server stores them).

**Registry.** A model folder written by ``train_model`` (``model.json``, weights, ``card.json``)
is copied into its run's artifacts as ``model/<name>`` and registered as the next version of
``name``, tagged with what it was fitted on (``radsurv.fit_signature``: data, settings, folds,
code). The active model is ``active_model.json`` (name, version, local folder, the entry's
key and registry, and whether that is the data folder's own: a pointer of another registry on
the same data folder is refused by name, not scored as this one's namesake), replaced
atomically under a lock: that file is what the app reads. The MLflow alias ``active`` mirrors it
on exactly one registered model, for the MLflow UI and other clients.

Only ``MlflowClient`` objects are used, never MLflow's process-global fluent state
(``mlflow.start_run``), so several runs can be tracked at once from threads. MLflow is made quiet
(no telemetry, progress bars or URL banners) and imported only when a store is opened. Opening
takes about 2 s (MLflow import + database); the first store on a fresh data folder also runs
MLflow's schema migrations on the new SQLite file (about 5 s more, once).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd

from survival_core import __version__
from survival_core.errors import ConfigError, InputError, StoreError, is_disk_full
from survival_core.io.atomic import copy_file, copy_tree, temp_sibling, write_json, write_text
from survival_core.io.locks import process_alive, process_start
from survival_core.io.outcome_source import OutcomeSource
from survival_core.paths import data_subdir
from survival_core.text import one_line, params_text, short_run
from survival_core.versions import package_versions

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
#: The longest run or model name: it names folders (``artifacts/<name>``, ``registry/<name>``,
#: their hidden temporary siblings), which the file system limits to 255 bytes.
MAX_NAME_LENGTH = 200
ACTIVE_ALIAS = "active"
ACTIVE_FILE = "active_model.json"
#: The MLflow stage of a retired version (stages are deprecated in MLflow 3, still readable).
ARCHIVED = "Archived"
FOLD_PREFIX = "fold/"
MODEL_ARTIFACT = "model"
TAG_PID, TAG_START, TAG_HOST = "radsurv.pid", "radsurv.process_start", "radsurv.host"
TAG_CODE, TAG_CONFIG, TAG_ERROR = "radsurv.code_version", "radsurv.config_hash", "radsurv.error"
#: A run's code versions before its last resume (a resume by other code re-tags TAG_CODE).
TAG_EARLIER_CODE = "radsurv.earlier_code_versions"
#: A registered version's fit (the run's fold signature: data, settings, folds, code), and the
#: version that superseded it (its run, resumed on other data or code, fitted again).
TAG_FIT, TAG_SUPERSEDED = "radsurv.fit_signature", "radsurv.superseded_by"
#: The prefix of a searched run's tags of its chosen parameters ('search.best.penalizer').
TAG_SEARCH_BEST = "search.best."
#: The prefix of a run's tags of its development cohort's recorded outcome ('outcome.endpoint':
#: :class:`~survival_core.io.outcome_source.OutcomeSource`'s fields; tags, as a resume on a
#: cohort imported again with another endpoint records that one, where params cannot change).
TAG_OUTCOME = "outcome."
#: Set (unless already set) before MLflow is imported: no telemetry, no progress bars, no
#: "View run at" banners, no log handlers of its own (its INFO lines stay out of the terminal).
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_CONFIGURE_LOGGING": "false",
}
#: Set (unless already set) before MLflow is imported: a tracking server that does not answer
#: is given up after about a minute at most (3 tries of 20 s), not after MLflow's 7 retries
#: waiting 2, 4, ... 128 s (an unreachable server held `train` 254 s and the app's first page
#: 266 s before a traceback).
PATIENCE_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}
_SERVER_SCHEMES = ("http", "https", "databricks")
_MAX_TAG = 5000


def _verbose_only(_record: logging.LogRecord) -> bool:
    """Whether to let a record through: only when DEBUG is on (``--verbose``)."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def _client_class():
    for key, value in {**QUIET_ENV, **PATIENCE_ENV}.items():
        os.environ.setdefault(key, value)
    from mlflow.tracking import MlflowClient

    # MLflow logs each database error with its traceback before raising it (a locked store
    # printed about 60 lines per call of a run): the store's StoreError says it in one line
    logging.getLogger("mlflow.store.db.utils").addFilter(_verbose_only)
    return MlflowClient


def _create_sqlite_store(database: Path) -> None:
    """Create the SQLite store ``database`` under a temporary name and move it into place once
    MLflow's migrations have all run: a full disk part-way left a half-migrated store that every
    later run failed on ('table _alembic_tmp_params already exists') and the app listed no
    model."""
    temp = temp_sibling(database)
    uri = f"sqlite:///{temp.resolve().as_posix()}"
    try:
        _client_class()(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
        os.replace(temp, database)
    finally:
        for leftover in (temp, temp.with_name(temp.name + "-journal")):
            leftover.unlink(missing_ok=True)


#: A URI's password (``https://user:pw@host``), in a message or in MLflow's error text.
_PASSWORD = re.compile(r"(?<=://)([^/\s:@]*):[^/\s@]*@")


def without_passwords(text: str) -> str:
    """``text`` with the password of every URI in it written ``***``: a store's URI, and
    MLflow's errors quoting its requests' URLs, are shown on the command line and in the app."""
    return _PASSWORD.sub(r"\1:***@", text)


def _open_failures() -> tuple[type[Exception], ...]:
    """The errors of a store that cannot be opened: MLflow's (a server given up on),
    SQLAlchemy's and SQLite's (a damaged or locked database file)."""
    import sqlite3

    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return MlflowException, SQLAlchemyError, sqlite3.Error


#: MLflow's error codes of a store that did not answer (a tracking server gone, a database held
#: past SQLite's busy timeout), as against a request it refused.
_UNANSWERED = ("TEMPORARILY_UNAVAILABLE", "INTERNAL_ERROR")
#: MLflow's refusal of a database of an older schema (written by an older MLflow).
_OLD_SCHEMA = re.compile(r"out-of-date database schema \(found version (\w+), but expected (\w+)\)")


def _store_lost(error: BaseException) -> bool:
    """Whether ``error``, raised while a run was tracked, is its store failing (a server gone, a
    database locked or damaged) rather than a request it refused; a full disk is said as such."""
    if is_disk_full(error):
        return False
    kinds = _open_failures()
    if isinstance(error, kinds[1:]):  # SQLAlchemy's, SQLite's
        return True
    return isinstance(error, kinds[0]) and error.error_code in _UNANSWERED


def _unopened(uri: str, error: Exception, run_id: str | None = None) -> StoreError:
    """Why the store at ``uri`` cannot be opened (``error``'s first line) and what to do; with
    ``run_id``, why it failed while that run was tracked, and that a resume finishes the run."""
    # SQLAlchemy heads an error in a flush with a line of its own: the cause is the next one
    lines = [x for x in str(error).strip().splitlines() if not x.startswith("(raised as a result")]
    cause = one_line(lines[0] if lines else repr(error))
    retry = ""  # what else to do when no run waits to be resumed
    resume = "once it answers again, `train --resume {run}` finishes the run from its saved folds"
    if urlparse(uri).scheme in _SERVER_SCHEMES:
        todo = "check that the tracking server is running and reachable from here"
        retry = ", or unset MLFLOW_TRACKING_URI to use the data folder's own store"
    elif "locked" in cause:
        todo = (
            "another process holds its database (a training run, a model being promoted, a "
            "database browser or a backup)"
        )
        retry = ": try again when it is done"
    elif old := _OLD_SCHEMA.search(cause):
        mlflow = f"MLflow {metadata.version('mlflow')}"
        cause = f"its schema is revision {old[1]}; this {mlflow} expects {old[2]}"
        todo = (
            "it was written by an older MLflow: back up its database, then bring it up to date "
            f"with `mlflow db upgrade {uri}` run with {mlflow} (its runs and models are kept)"
        )
    else:
        todo = (
            "its database is damaged or not MLflow's: restore it from a backup, or move it "
            "aside to start an empty store (its runs and models are then not listed)"
        )
        resume = (
            "`train --resume {run}` finishes the run from its saved folds only once the database "
            "is restored from a backup (an empty store has no such run)"
        )
    cause = textwrap.shorten(without_passwords(cause), 300, placeholder=" ...")  # masked whole
    if run_id is None:
        said = f"The run store {uri} cannot be opened ({cause}): {todo}{retry}."
    else:
        said = (
            f"The run store {uri} failed while run {run_id} was tracked ({cause}): {todo}; "
            f"{resume.format(run=run_id)}."
        )
    return StoreError(without_passwords(said))


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"{what} {name!r}: use letters, digits, '_', '.' and '-' only.")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"{what} {name[:40]}... has {len(name)} characters; at most {MAX_NAME_LENGTH} "
            "(folders are named after it): shorten it."
        )
    return name


#: Config keys that do not change what a run computes: where it runs, how it is described.
NON_RESULT_KEYS = ("description", "engine")


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of the config's result-determining
    keys (all but :data:`NON_RESULT_KEYS`): the same run resumed on a Ray cluster matches."""
    data = {k: v for k, v in config.items() if k not in NON_RESULT_KEYS}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"model": {"lr": 0.1}}`` -> ``{"model.lr": "0.1"}`` (lists and null as JSON)."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value if isinstance(value, str) else json.dumps(value)
    return flat


def searched_choice(tags: Mapping[str, str]) -> str | None:
    """A searched run's chosen parameters from its tags (:data:`TAG_SEARCH_BEST`, each a JSON
    value), as the run's report and trial table show them (:func:`~survival_core.text.
    params_text`: 'l1_ratio=0.5, normalize=True, penalizer=0.1398'), sorted by name: the tags
    keep no order of the search's. None for a run not searched. Runs compared side by side named
    the model alone, not what it chose."""
    chosen = {
        k.removeprefix(TAG_SEARCH_BEST): _tag_value(v)
        for k, v in sorted(tags.items())
        if k.startswith(TAG_SEARCH_BEST)
    }
    return params_text(chosen) or None


def _tag_value(text: str) -> Any:
    """A tag's value as it was logged (:func:`_flatten` writes all but text as JSON); text that
    is no JSON (a chosen word) as it is."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _outcome_tags(source: OutcomeSource | None) -> dict[str, str]:
    """The :data:`TAG_OUTCOME` tags of a cohort's outcome record (none for an endpoint its
    headers do not name, nor for a cohort without a record)."""
    recorded = asdict(source) if source is not None else {}
    return {f"{TAG_OUTCOME}{k}": str(v) for k, v in recorded.items() if v is not None}


def run_outcome(tags: Mapping[str, str]) -> OutcomeSource | None:
    """The outcome a run's development cohort recorded (its :data:`TAG_OUTCOME` tags); None for
    a run of a cohort without a record, or one made before runs recorded it."""
    if f"{TAG_OUTCOME}time_column" not in tags:
        return None
    given = {f.name: tags.get(f"{TAG_OUTCOME}{f.name}") for f in fields(OutcomeSource)}
    counted = {"True": True, "False": False}.get(given["deaths_counted"] or "")
    return OutcomeSource(
        **{**given, "time_unit": given["time_unit"] or "", "deaths_counted": counted}
    )


def data_tags(hashes: Mapping[str, str] | None) -> dict[str, str]:
    return {f"data.{key}": str(value) for key, value in (hashes or {}).items()}


PACKAGE = Path(__file__).resolve().parents[1]


def _git(folder: Path, *args: str) -> str:
    """The output of ``git *args`` run in ``folder`` (stripped)."""
    return subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def code_version(folder: Path = PACKAGE) -> str:
    """Package version, plus ``+g<commit>`` when the package (``folder``) runs from a git
    checkout and ``.dirty`` when its files there differ from that commit (edited or added, as
    ``git describe --dirty`` marks it): an edited tree gave the commit's version alone."""
    try:
        commit = _git(folder, "rev-parse", "--short=12", "HEAD")
        dirty = _git(folder, "status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}" + (".dirty" if dirty else "")


def source_digest(folder: Path = PACKAGE) -> str:
    """sha256 of the package's Python sources (paths and contents): what a result computed by
    this code depends on, which a version string misses in an edited tree or outside git."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_tags(versions: Mapping[str, str]) -> dict[str, str]:
    return {f"package.{name}": value for name, value in versions.items()}


def _earlier_code(tags: Mapping[str, str], now: str) -> dict[str, str]:
    """The :data:`TAG_EARLIER_CODE` tag of a run of ``tags`` resumed by code ``now``: its
    earlier code versions, this one's last (none when it is ``now``)."""
    before = tags.get(TAG_CODE)
    if before in (None, now):
        return {}
    listed = [v for v in tags.get(TAG_EARLIER_CODE, "").split(", ") if v]
    return {TAG_EARLIER_CODE: ", ".join(dict.fromkeys([*listed, before]))}


#: A validation protocol (``protocol.name``) for people, before its c-index ('external c-index').
PROTOCOL_WORDS = {
    "nested_cv": "nested CV",
    "leave_one_out": "leave-one-out",
    "fixed_split": "fixed split",
    "external": "external",
}


def protocol_label(params: Mapping[str, Any], n: Any = None) -> str:
    """How a run's metrics were validated, for people: 'external (pre, 290 patients)', 'nested
    CV 10 x 5', 'fixed split 0.2 test', from its recorded settings (``protocol.*``, a
    flattened config) and the patients it tested ``n``; '' for a run that recorded none. An
    external validation's metrics were shown as cross-validation's: 'out of fold', a fold
    mean, the development cohort's name alone."""
    name = params.get("protocol.name")
    if name is None:
        return ""
    words = PROTOCOL_WORDS.get(str(name), str(name))
    if name == "external":
        cohort = Path(str(params.get("protocol.external_cohort", ""))).name
        tested = f", {float(n):.0f} patients" if n is not None and pd.notna(n) else ""
        return f"{words} ({cohort}{tested})"
    if name == "nested_cv":
        return (
            f"{words} {params.get('protocol.repeats', '?')} x {params.get('protocol.folds', '?')}"
        )
    if name == "fixed_split":
        return f"{words} {params.get('protocol.test_fraction', '?')} test"
    return words


def _time(millis: int | None) -> pd.Timestamp | None:
    return None if millis is None else pd.Timestamp(millis, unit="ms", tz="UTC")


def _local_path(uri: str) -> Path | None:
    """The local folder of a ``file:`` (or plain path) artifact URI; None for remote stores."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    return Path(uri) if parsed.scheme == "" else None


def _run_relative(path: Path, name: str, run_id: str) -> Path | None:
    """The part ``<name>/<run_id>/artifacts/...`` of a run's local artifact ``path`` laid out
    as RadSurv lays out a store's artifacts, ``<root>/artifacts/<name>/<run_id>/artifacts/...``
    with ``name`` its experiment's; None for another layout (a server's artifact root,
    ``<root>/<experiment id>/<run_id>/artifacts``, had its runs' files read and written in the
    data folder)."""
    parts = path.parts
    for i in range(3, len(parts)):
        if parts[i - 3 : i + 1] == ("artifacts", name, run_id, "artifacts"):
            return Path(*parts[i - 2 :])
    return None


def _entry_key(entry: Any) -> str:
    """A short fingerprint of a registry entry (a ModelVersion): its run, source and creation
    time, which a model deleted and registered again under the same name and version, or the
    same name and version in another store, does not share."""
    identity = [entry.run_id, entry.source, entry.creation_timestamp]
    return hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()[:16]


class ActiveModel(NamedTuple):
    """The app's active model: registry name, version and a local folder to load it from."""

    name: str
    version: int
    folder: Path


@dataclass(frozen=True)
class RunRecord:
    """A tracked run as stored (times UTC; ``end_time`` None while RUNNING)."""

    run_id: str
    name: str
    status: str
    start_time: pd.Timestamp | None
    end_time: pd.Timestamp | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifact_uri: str
    folder: Path

    @property
    def error(self) -> str | None:
        return self.tags.get(TAG_ERROR)


class Run:
    """A run being tracked. Log to it, then :meth:`finish` it; as a context manager it finishes
    FINISHED on normal exit and FAILED (with the exception's message) on an exception."""

    def __init__(self, store: RunStore, run_id: str, name: str, artifact_uri: str) -> None:
        self.store = store
        self.run_id = run_id
        self.name = name
        self.artifact_uri = artifact_uri
        #: Local working folder of the run (fold checkpoints), ``<data>/runs/<run_id>/``.
        self.folder = store.root / run_id
        self.folder.mkdir(parents=True, exist_ok=True)
        #: What starting it did that its progress should say (an experiment restored).
        self.notes: list[str] = []
        self._finished = False

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if not self._finished:
            if error is None:
                self.finish("FINISHED")
            elif issubclass(kind, KeyboardInterrupt):  # its text is empty
                self.finish("FAILED", "Interrupted (Ctrl-C, or the process was stopped).")
            else:
                self.finish("FAILED", f"{kind.__name__}: {error}".rstrip(": "))

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Nested params flattened to dotted names; a name cannot be given two values."""
        from mlflow.entities import Param

        flat = _flatten(params)
        batch = [Param(k, v) for k, v in flat.items()]
        self.store.client.log_batch(self.run_id, params=batch, synchronous=True)

    def log_tags(self, tags: Mapping[str, Any]) -> None:
        """Nested tags flattened to dotted names, as :meth:`log_params`; unlike a param, a tag
        takes another value when a resumed run computes another (its data or code changed)."""
        from mlflow.entities import RunTag

        batch = [RunTag(key, value) for key, value in _flatten(tags).items()]
        self.store.client.log_batch(self.run_id, tags=batch, synchronous=True)

    def log_outcome(self, source: OutcomeSource | None) -> None:
        """The development cohort's recorded outcome as :data:`TAG_OUTCOME` tags, replacing
        those of an earlier start (a resume on the cohort imported again with another endpoint,
        or without a record: removed)."""
        tags = _outcome_tags(source)
        earlier = self.store.client.get_run(self.run_id).data.tags
        for key in [k for k in earlier if k.startswith(TAG_OUTCOME) and k not in tags]:
            self.store.client.delete_tag(self.run_id, key)
        if tags:
            self.log_tags(tags)

    def log_data_hashes(self, hashes: Mapping[str, str]) -> None:
        """Hashes of the data the run reads, as tags ``data.<key>`` (updated when resumed)."""
        self.log_tags(data_tags(hashes))

    def log_metrics(self, metrics: Mapping[str, float | None], step: int | None = None) -> None:
        """Summary metrics (``step`` None) or one fold's metrics (``step`` = the fold's index,
        logged as ``fold/<name>``). None values are skipped; NaN is kept."""
        from mlflow.entities import Metric

        now = int(datetime.now(UTC).timestamp() * 1000)
        batch = [
            Metric(name if step is None else f"{FOLD_PREFIX}{name}", float(value), now, step or 0)
            for name, value in metrics.items()
            if value is not None
        ]
        self.store.client.log_batch(self.run_id, metrics=batch, synchronous=True)

    def log_artifact(self, path: str | Path, subdir: str = "", name: str | None = None) -> str:
        """Copy a file or folder into the run's artifacts as ``<subdir>/<name>`` (``name``
        defaults to the source's); returns that artifact path."""
        source = Path(path)
        if not source.exists():
            raise InputError(f"Cannot log {source} as an artifact of run {self.run_id}: not found.")
        relative = "/".join(part for part in (subdir.strip("/"), name or source.name) if part)
        local = _local_path(self.artifact_uri)
        if local is not None:
            (copy_tree if source.is_dir() else copy_file)(source, local / relative)
        elif source.is_dir():
            self.store.client.log_artifacts(self.run_id, str(source), relative)
        else:
            parent = relative.rpartition("/")[0] or None
            if source.name != relative.rpartition("/")[2]:
                raise ConfigError("A remote artifact store keeps a file's own name; omit `name`.")
            self.store.client.log_artifact(self.run_id, str(source), parent)
        return relative

    def log_text(self, text: str, relative: str) -> str:
        """Write ``text`` to ``<run folder>/<relative>`` and log it as that artifact path."""
        local = write_text(self.folder / relative, text)
        return self.log_artifact(local, relative.rpartition("/")[0])

    def finish(self, status: str = "FINISHED", error: str | None = None) -> None:
        """End the run FINISHED or FAILED (with ``error``, shown on the Training page)."""
        if status not in ("FINISHED", "FAILED"):
            raise ConfigError(f"Run status {status!r}: expected FINISHED or FAILED.")
        if error:
            self.store.client.set_tag(self.run_id, TAG_ERROR, error[:_MAX_TAG])
        self.store.client.set_terminated(self.run_id, status)
        self._finished = True

    def fail(self, error: BaseException) -> BaseException:
        """End the run FAILED with ``error``'s message where the store still answers, and return
        what to report: a :class:`StoreError` naming the store and the resume that finishes the
        run when ``error`` is the store's own failure (a server gone, a database locked), else
        ``error``. Failing to mark the run is not raised: a lost store's second failure hid the
        first behind its own traceback (the run is then left RUNNING, until resumed or reaped)."""
        with contextlib.suppress(Exception):
            self.finish("FAILED", f"{type(error).__name__}: {error}")
        if not _store_lost(error):
            return error
        return _unopened(self.store.uri, error, self.run_id)


class UnreadablePointer(InputError):
    """The active model's pointer file cannot be read (cut short, edited): a cause of its own,
    which the app named as the active model having left the registry."""


class ModelFilesMissing(InputError):
    """The files of ``what`` (a registered model, a run's config) are gone from where its store
    keeps them: a cause of its own, which the app named as the active model having left the
    registry (it is still registered)."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what


class OtherRegistry(InputError):
    """The active model was chosen in another model registry than the one in use (a tracking
    server and the data folder's own database on one data folder): a cause of its own, which
    the app named as the active model having left the registry, and `score` ignored (it scored
    the other registry's model under a name and version this one gives another)."""


class ActiveRetired(InputError):
    """The registry this store reads no longer holds the active model as it was made active:
    its version deleted (``why`` 'deleted'), its name and version now another run's model
    ('replaced', ``now`` that run's id), or its version archived ('archived'). A cause of its
    own, naming the model's run (``run_id``, from the pointer): `score` kept scoring the
    deleted model's local copy under the label another model carried, while the pages used the
    demo default model."""

    def __init__(self, message: str, pointer: Mapping[str, Any], why: str, now: str = "") -> None:
        super().__init__(message)
        self.name, self.version = str(pointer["name"]), int(pointer["version"])
        self.run_id, self.why, self.now = pointer.get("run_id"), why, now


def _store_uris(root: Path, tracking_uri: str | None = None) -> tuple[str, str, str]:
    """The tracking and registry URIs of the store in ``root`` (``tracking_uri``, else
    ``$MLFLOW_TRACKING_URI``, else its own SQLite database; the registry
    ``$MLFLOW_REGISTRY_URI``, else the tracking one), and that own database's URI."""
    default = f"sqlite:///{(root / 'mlflow.db').resolve().as_posix()}"
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default
    return uri, os.environ.get("MLFLOW_REGISTRY_URI") or uri, default


def own_database_missing(root: Path) -> bool:
    """Whether the store in ``root`` is its own SQLite database (no MLflow URI set) and that
    file is gone (moved or deleted): opening it would create an empty registry, in which the
    active model looks deleted (`score` then used the demo default model, saying so)."""
    uri, registry, default = _store_uris(root)
    own = _is_own(uri, default) and _is_own(registry, default)
    return own and not (root / "mlflow.db").exists()


def _is_own(uri: str, default: str) -> bool:
    """Whether ``uri`` is the data folder's own database ``default`` (:func:`_store_uris`), as
    SQLite opens it: its path resolved, its query string (``?timeout=5``) left out. Spelt
    otherwise (``<runs>/./mlflow.db``) it was taken for another registry, the active model it
    chose then refused without MLFLOW_TRACKING_URI as chosen in another one."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return False
    path = uri.removeprefix(prefix).split("?", 1)[0]
    return bool(path) and f"{prefix}{Path(path).resolve().as_posix()}" == default


def _chosen_elsewhere(pointer: Mapping[str, Any], registry: str, own: bool) -> bool:
    """Whether the active model's ``pointer`` was written in another registry than ``registry``
    (``own``: the data folder's own database, wherever the folder is now); a pointer written
    before this was recorded is taken as this registry's."""
    if "own_registry" not in pointer:
        return False
    if pointer["own_registry"] or own:
        return pointer["own_registry"] != own
    return pointer["registry"] != without_passwords(registry)


def _elsewhere(pointer: Mapping[str, Any], registry: str, own: bool, holds: str) -> OtherRegistry:
    """Why the active model of ``pointer``, chosen in another registry, is not the version of
    its name in ``registry`` (``own``: the data folder's own database), which ``holds`` it."""
    name, version = pointer["name"], pointer["version"]
    if pointer["own_registry"]:
        there, use = "the data folder's own store", "unset MLFLOW_TRACKING_URI to use it"
    else:
        there, use = pointer["registry"], f"set MLFLOW_TRACKING_URI={pointer['registry']} to use it"
    here = "the data folder's own store" if own else registry
    return OtherRegistry(
        without_passwords(
            f"The active model {name} v{version} (run {pointer.get('run_id')}) was chosen in the "
            f"model registry {there}, not in the one in use here, {here}, which {holds}: {use}, "
            "or choose the active model again in this one (the Training page's Promote, `train "
            "--activate`)."
        )
    )


def _pointer_flaw(pointer: Any) -> str | None:
    """What ``pointer`` (the active model's file, as JSON) lacks of the shape
    :meth:`RunStore.set_active` writes, else None: valid JSON of another shape (an edit, a
    copy of another file) broke every page and `score` with a KeyError or a TypeError."""
    if not isinstance(pointer, dict):
        return f"a JSON {type(pointer).__name__}, not an object"
    if not isinstance(pointer.get("name"), str) or not pointer["name"]:
        return "no model name"
    if "version" not in pointer:
        return "no model version"
    try:
        int(pointer["version"])
    except (TypeError, ValueError):
        return f"version {pointer['version']!r} is not a version number"
    if pointer.get("own_registry") is False and not isinstance(pointer.get("registry"), str):
        return "no registry it was chosen in"
    return None


def _active_pointer(root: Path) -> dict[str, Any] | None:
    """The active model's pointer (``ACTIVE_FILE`` in ``root``), or None when none was set."""
    path = root / ACTIVE_FILE
    try:
        pointer = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise UnreadablePointer(
            f"{path} is unreadable ({err}); choose the active model again."
        ) from err
    if flaw := _pointer_flaw(pointer):
        raise UnreadablePointer(f"{path} is unreadable ({flaw}); choose the active model again.")
    return pointer


def _own_copy(root: Path, pointer: dict[str, Any]) -> ActiveModel | None:
    """The active model of ``pointer`` when its entry's own local copy is in the store's
    ``root`` (not where the pointer was written: a data folder copied or moved scored the old
    folder's copy, or fetched one for want of it), else None."""
    name, version, key = pointer["name"], int(pointer["version"]), pointer.get("entry")
    folder = root / "registry" / name / f"v{version}-{key}"
    return ActiveModel(name, version, folder) if key and folder.is_dir() else None


def local_active_model(root: Path, refuse_elsewhere: bool = False) -> ActiveModel | None:
    """The active model of the store in ``root`` from its pointer and local copy alone, without
    opening the store (a command scoring one case need not start MLflow); None when none was set,
    its copy must be fetched again, or it was chosen in another registry than the one in use,
    which alone says whether it holds that model (:meth:`RunStore.active_model`). With
    ``refuse_elsewhere`` that last is an :class:`OtherRegistry` naming the registry it was chosen
    in (the app's picker, the store unreadable, said it had no local copy)."""
    pointer = _active_pointer(root)
    if pointer is None:
        return None
    _, registry, default = _store_uris(root)
    own = _is_own(registry, default)
    if _chosen_elsewhere(pointer, registry, own):
        if refuse_elsewhere:
            raise _elsewhere(pointer, registry, own, "cannot be read now")
        return None
    return _own_copy(root, pointer)


class RunStore:
    """Runs and registered models of the app (see the module docstring for where they live).

    ``root`` defaults to ``<data>/runs``; ``tracking_uri`` to ``$MLFLOW_TRACKING_URI`` or the
    SQLite database ``<root>/mlflow.db``.
    """

    def __init__(self, root: str | Path | None = None, tracking_uri: str | None = None) -> None:
        self.root = Path(root) if root is not None else data_subdir("runs")
        self.root.mkdir(parents=True, exist_ok=True)
        self.uri, self.registry_uri, default = _store_uris(self.root, tracking_uri)
        self._remote = urlparse(self.uri).scheme in _SERVER_SCHEMES
        #: Whether the store is the data folder's own database (moved or copied with it).
        self._own_database = _is_own(self.uri, default)
        #: Whether the registry is that database (recorded with the active model it chose).
        self._own_registry = _is_own(self.registry_uri, default)
        self._code_version = code_version()
        try:
            self._open()
        except _open_failures() as error:  # a full disk is said as such by the commands
            if is_disk_full(error):
                raise
            raise _unopened(self.uri, error) from error

    def _open(self) -> None:
        """Make the MLflow client and open its store now (creating the default SQLite one)."""
        with self._registry_lock():  # two processes creating one SQLite store broke it for good
            database = self.root / "mlflow.db"
            if self._own_database and self._own_registry and not database.exists():
                _create_sqlite_store(database)
            self.client = _client_class()(tracking_uri=self.uri, registry_uri=self.registry_uri)
            self.client.search_experiments(max_results=1)  # open (and if new, create) it now

    def _here(self, uri: str, run_id: str | None, name: str | None) -> str:
        """Run ``run_id``'s artifact location ``uri`` (its artifacts or one in them, as the
        tracking store keeps it; ``name`` its experiment's) in this data folder. The data
        folder's own store keeps absolute ``file:`` URIs, so a data folder copied or moved wrote
        new runs' models into the old one (re-creating it when gone) and fetched no registered
        version once that was gone: there a location laid out as ``<old root>/artifacts/<name>/
        <run_id>/`` is read as ``<root>/artifacts/<name>/<run_id>/``. Any other store's (a
        tracking server's, a database shared by data folders) is kept as it is: it did not move
        with this folder, and other clients read it there."""
        stored = _local_path(uri)
        if not self._own_database or stored is None or run_id is None or name is None:
            return uri
        relative = _run_relative(stored, name, run_id)
        return uri if relative is None else (self.root / "artifacts" / relative).as_uri()

    def _source_here(self, entry: Any) -> str:
        """Registry ``entry``'s source (a ModelVersion's) in this data folder (:meth:`_here`)."""
        if not self._own_database or not entry.run_id:
            return entry.source
        try:
            name = self.get_run(entry.run_id).name
        except InputError:  # its run deleted for good: the source as the registry keeps it
            return entry.source
        return self._here(entry.source, entry.run_id, name)

    # -- runs ---------------------------------------------------------------------------------
    def _experiment_id(self, name: str, create: bool, notes: list[str] | None = None) -> str | None:
        """The id of the experiment of the runs of ``name``, made when there is none and
        ``create``, restored when it was deleted in MLflow and ``create`` (:meth:`_restore`,
        its note added to ``notes``); None when there is none, or it was deleted and not
        ``create`` (its runs are not listed: listing them restored it)."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage != "deleted":
                return experiment.experiment_id
            if not create:
                return None
            said = self._restore(experiment.experiment_id, name)
            if notes is not None:
                notes.append(said)
            return experiment.experiment_id
        if not create:
            return None
        from mlflow.exceptions import MlflowException

        location = None if self._remote else (self.root / "artifacts" / name).resolve().as_uri()
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException as err:  # created by another process meanwhile
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return self.client.get_experiment_by_name(name).experiment_id

    def _search(self, filter_string: str = "", experiment_ids: list[str] | None = None) -> list:
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in self.client.search_experiments()]
        found, token = [], None
        while True:
            page = self.client.search_runs(experiment_ids, filter_string, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                return found

    def _process_tags(self) -> dict[str, str]:
        pid = os.getpid()
        return {
            TAG_PID: str(pid),
            TAG_START: process_start(pid),
            TAG_HOST: socket.gethostname(),
            TAG_CODE: self._code_version,
            **package_tags(package_versions()),
        }

    def start_run(
        self,
        name: str,
        config: Mapping[str, Any],
        data_hashes: Mapping[str, str] | None = None,
        resume_id: str | None = None,
    ) -> Run:
        """A new RUNNING run of config ``name`` (config logged as ``config.yaml`` and params), or
        run ``resume_id`` of the same name and config set RUNNING again by this process."""
        import yaml

        _check_name(name, "Run name")
        digest = config_hash(config)
        tags = {
            **self._process_tags(),
            TAG_CONFIG: digest,
            **data_tags(data_hashes),
        }
        if resume_id is not None:
            return self._resume(name, resume_id, digest, tags)
        notes: list[str] = []
        experiment_id = self._experiment_id(name, create=True, notes=notes)
        info = self.client.create_run(experiment_id, tags=tags, run_name=name).info
        with self._failing_start(info.run_id):
            run = Run(self, info.run_id, name, self._here(info.artifact_uri, info.run_id, name))
            run.log_params(config)
            run.log_text(yaml.safe_dump(dict(config), sort_keys=False), "config.yaml")
        run.notes += notes
        return run

    def _restore(self, experiment_id: str, name: str) -> str:
        """Restore experiment ``experiment_id`` (of the runs of ``name``), deleted in MLflow (its
        UI, its client), for a new run to go in it; the note saying so, its earlier runs being
        listed again (they came back without a word)."""
        self.client.restore_experiment(experiment_id)
        earlier = len(self._search("", [experiment_id]))
        return (
            f"experiment {name} had been deleted in MLflow; restored: its {earlier} earlier "
            "run(s) are listed again."
        )

    @contextlib.contextmanager
    def _failing_start(self, run_id: str) -> Iterator[None]:
        """Mark run ``run_id`` FAILED when setting it up fails (its folders, its config): a run
        that never started must not stay RUNNING until reaped. An OSError (a folder that cannot
        be made) becomes an InputError naming the run and the data folder."""
        try:
            yield
        except BaseException as error:
            with contextlib.suppress(Exception):  # the original error is the one to report
                self.client.set_tag(
                    run_id, TAG_ERROR, f"{type(error).__name__}: {error}"[:_MAX_TAG]
                )
                self.client.set_terminated(run_id, "FAILED")
            if isinstance(error, OSError):
                raise InputError(
                    f"Cannot set up the files of run {run_id} under {self.root}: {error}"
                ) from error
            raise

    def _resume(self, name: str, run_id: str, digest: str, tags: dict[str, str]) -> Run:
        from mlflow.entities import RunTag

        record = self.get_run(run_id)
        if record.name != name:
            raise ConfigError(f"Run {run_id} is a run of '{record.name}', not of '{name}'.")
        if record.tags.get(TAG_CONFIG) != digest:
            raise ConfigError(
                f"Run {run_id} was started with another config (hash "
                f"{str(record.tags.get(TAG_CONFIG))[:12]}, now {digest[:12]}); start a new run."
            )
        if record.status == "FINISHED":
            raise ConfigError(f"Run {run_id} has already finished; there is nothing to resume.")
        if record.status == "RUNNING" and not self._reap(record.run_id, record.tags):
            raise ConfigError(
                f"Run {run_id} is still running (pid {record.tags.get(TAG_PID)} on "
                f"{record.tags.get(TAG_HOST)})."
            )
        earlier = _earlier_code(record.tags, tags[TAG_CODE])
        batch = [RunTag(key, value) for key, value in {**tags, **earlier}.items()]
        self.client.log_batch(run_id, tags=batch, synchronous=True)
        if TAG_ERROR in self.client.get_run(run_id).data.tags:
            self.client.delete_tag(run_id, TAG_ERROR)
        self.client.update_run(run_id, status="RUNNING")
        with self._failing_start(run_id):
            return Run(self, run_id, name, record.artifact_uri)

    def _reap(self, run_id: str, tags: Mapping[str, str]) -> bool:
        """Fail the RUNNING run ``run_id`` if its process is gone from this host; True if so."""
        pid = tags.get(TAG_PID, "")
        if tags.get(TAG_HOST) != socket.gethostname() or not pid.isdigit():
            return False
        if process_alive(int(pid), tags.get(TAG_START, "")):
            return False
        message = (
            f"The process running this run (pid {pid} on {tags[TAG_HOST]}) ended without "
            "finishing it: it was killed or crashed."
        )
        self.client.set_tag(run_id, TAG_ERROR, message)
        self.client.set_terminated(run_id, "FAILED")
        return True

    def code_identity(self) -> str:
        """The code computing a result: its version (read once, when the store opened: git is
        not asked again) and the digest of its sources."""
        return f"{self._code_version} (sources {source_digest()[:12]})"

    def reap_dead_runs(self) -> list[str]:
        """Mark FAILED every RUNNING run whose process no longer exists on this host (a run
        SIGKILLed mid-way); returns their ids. Runs of other hosts are left alone."""
        running = self._search("attributes.status = 'RUNNING'")
        return [run.info.run_id for run in running if self._reap(run.info.run_id, run.data.tags)]

    def _no_run(self, run_id: str) -> str:
        return without_passwords(f"No run with id '{run_id}' in the run store {self.uri}.")

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id; InputError when the store has none."""
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException as err:
            if err.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            raise InputError(self._no_run(run_id)) from err
        info = run.info
        name = self.client.get_experiment(info.experiment_id).name
        return RunRecord(
            run_id=info.run_id,
            name=name,
            status=info.status,
            start_time=_time(info.start_time),
            end_time=None if info.status == "RUNNING" else _time(info.end_time),
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
            tags=dict(run.data.tags),
            artifact_uri=self._here(info.artifact_uri, info.run_id, name),
            folder=self.root / info.run_id,
        )

    def run_config(self, run_id: str) -> dict[str, Any]:
        """The config a run was started with (its ``config.yaml`` artifact); InputError when the
        store has no such run."""
        import tempfile

        import yaml

        source = f"{self.get_run(run_id).artifact_uri}/config.yaml"
        with tempfile.TemporaryDirectory(dir=self.root) as scratch:
            path = self._download(source, Path(scratch), f"the config of run {run_id}")
            return yaml.safe_load(path.read_text())

    def list_runs(self, name: str | None = None) -> pd.DataFrame:
        """One row per run, newest first: run_id, name, status, start_time, end_time, error, the
        cohort and model it ran (its config's ``cohort`` and ``model.name``: runs of one name may
        differ in both), how it was validated (:func:`protocol_label`), what its search chose
        (:func:`searched_choice`), the outcome its cohort recorded (``outcome``:
        :func:`run_outcome`, to compare runs' outcomes by; ``endpoint``: its
        :meth:`~survival_core.io.outcome_source.OutcomeSource.label`; None without) and one
        column per summary metric (per-fold metrics: :meth:`fold_metrics`)."""
        if name is None:
            experiments = {e.experiment_id: e.name for e in self.client.search_experiments()}
        else:
            found = self._experiment_id(name, create=False)
            experiments = {} if found is None else {found: name}
        rows = []
        for run in self._search("", list(experiments)) if experiments else []:
            info, outcome = run.info, run_outcome(run.data.tags)
            rows.append(
                {
                    "run_id": info.run_id,
                    "name": experiments[info.experiment_id],
                    "status": info.status,
                    "start_time": _time(info.start_time),
                    "end_time": None if info.status == "RUNNING" else _time(info.end_time),
                    "error": run.data.tags.get(TAG_ERROR),
                    "cohort": run.data.params.get("cohort"),
                    "model": run.data.params.get("model.name"),
                    "validation": protocol_label(run.data.params, run.data.metrics.get("n")),
                    "searched": searched_choice(run.data.tags),
                    "outcome": outcome,
                    "endpoint": None if outcome is None else outcome.label(),
                    **{k: v for k, v in run.data.metrics.items() if not k.startswith(FOLD_PREFIX)},
                }
            )
        base = [
            *("run_id", "name", "status", "start_time", "end_time", "error"),
            *("cohort", "model", "validation", "searched", "outcome", "endpoint"),
        ]
        metrics = sorted({key for row in rows for key in row} - set(base))
        frame = pd.DataFrame(rows, columns=base + metrics)
        return frame.sort_values("start_time", ascending=False, ignore_index=True)

    def fold_metrics(self, run_id: str) -> pd.DataFrame:
        """Per-fold metrics of a run: one row per fold index (``step``), one column per metric."""
        metrics = self.get_run(run_id).metrics
        columns = {}
        for key in sorted(k for k in metrics if k.startswith(FOLD_PREFIX)):
            history = self.client.get_metric_history(run_id, key)
            columns[key.removeprefix(FOLD_PREFIX)] = {m.step: m.value for m in history}
        return pd.DataFrame(columns).rename_axis("step").sort_index()

    # -- registry -----------------------------------------------------------------------------
    def register_model(
        self, run_id: str, model_dir: str | Path, name: str, fit: Mapping[str, str] | None = None
    ) -> int:
        """Copy a saved model folder into run ``run_id``'s artifacts and register it as the next
        version of ``name``; returns the version (1, 2, ...). ``fit`` tags the version with what
        it was fitted on (:data:`TAG_FIT`, the run's fold signature; the code version, the data
        hashes). A run registers one version per fit: a run resumed on other data or code
        registers its new fit as another version, and the earlier ones are tagged
        :data:`TAG_SUPERSEDED` by it (:meth:`registered_version` says which version matches)."""
        from mlflow.exceptions import MlflowException

        from survival_core.models.base import MODEL_FILE
        from survival_core.models.card import CARD_FILE

        _check_name(name, "Model name")
        folder = Path(model_dir)
        if not folder.is_dir():
            raise InputError(f"Model folder {folder} does not exist.")
        missing = [f for f in (MODEL_FILE, CARD_FILE) if not (folder / f).is_file()]
        if missing:
            raise InputError(
                f"{folder} is not a saved model: {' and '.join(missing)} missing "
                "(models are written by `fit` or a training run)."
            )
        try:
            card = json.loads((folder / CARD_FILE).read_text())
        except (OSError, ValueError) as err:
            raise InputError(f"{folder / CARD_FILE} is not a readable model card: {err}") from err
        record = self.get_run(run_id)
        fit = dict(fit or {})
        earlier = self._run_versions(run_id, name)
        registered = self.registered_version(run_id, name, fit.get(TAG_FIT))
        if registered is not None:
            raise InputError(
                f"Run {run_id} has already registered a model named '{name}' (version "
                f"{registered})."
            )
        # a copy left by a registration interrupted before its version was made is replaced;
        # an earlier fit's copy is kept (its version's source), the new one beside it
        relative = Run(self, run_id, record.name, record.artifact_uri).log_artifact(
            folder, MODEL_ARTIFACT, name if not earlier else f"{name}.{len(earlier) + 1}"
        )
        with contextlib.suppress(MlflowException):  # exists already (maybe made meanwhile)
            self.client.create_registered_model(name)
        cv_c_index = (card.get("cv") or {}).get("c_index", record.metrics.get("c_index"))
        tags = {
            "model": card.get("model"),
            "c_index": cv_c_index,
            "protocol": (card.get("cv") or {}).get("protocol"),
            "apparent_c_index": card.get("apparent_c_index"),
            **fit,
        }
        version = int(
            self.client.create_model_version(
                name,
                f"{record.artifact_uri}/{relative}",
                run_id=run_id,
                tags={k: str(v)[:_MAX_TAG] for k, v in tags.items() if v is not None},
            ).version
        )
        for entry in earlier:
            self.client.set_model_version_tag(name, entry.version, TAG_SUPERSEDED, str(version))
        return version

    def _run_versions(self, run_id: str, name: str) -> list[Any]:
        """The registry entries of ``name`` that run ``run_id`` registered, oldest first."""
        from mlflow.exceptions import MlflowException

        _check_name(name, "Model name")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", str(run_id)):
            raise InputError(self._no_run(run_id))
        try:
            found = self.client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            return []
        return sorted(found, key=lambda entry: int(entry.version))

    def registered_version(
        self, run_id: str, name: str, signature: str | None = None
    ) -> int | None:
        """The version of ``name`` that run ``run_id`` registered, fitted on ``signature`` (its
        :data:`TAG_FIT`) when one is given; None if it registered none (a resumed run reuses the
        version it registered before it was interrupted only when fitted on the same data,
        folds and code: a version fitted on a cohort corrected since was activated as the
        resumed run's, beside the corrected cohort's metrics)."""
        return next(
            (
                int(entry.version)
                for entry in self._run_versions(run_id, name)
                if signature is None or entry.tags.get(TAG_FIT) == signature
            ),
            None,
        )

    def _version(self, name: str, version: int | str):
        """The registry entry of ``name`` version ``version``; InputError listing what exists."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(name, str(int(version)))
        except (ValueError, MlflowException) as err:
            if isinstance(err, MlflowException) and err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            names = sorted(m.name for m in self.client.search_registered_models())
            if name not in names:
                raise InputError(
                    f"No registered model named '{name}'; registered: {', '.join(names) or 'none'}."
                ) from err
            versions = sorted(
                int(v.version) for v in self.client.search_model_versions(f"name = '{name}'")
            )
            raise InputError(
                f"Model '{name}' has no version {version!r}; versions: "
                f"{', '.join(map(str, versions)) or 'none'}."
            ) from err

    def model_folder(self, name: str, version: int | str) -> Path:
        """A local folder holding registered model ``name`` version ``version``, loadable by
        ``models.scoring.load_scoring_model``: a copy under ``<root>/registry/<name>/``, fetched
        once per registry entry. The registry is asked which entry ``name`` version ``version``
        is (a model deleted and registered again, or another tracking store on the same data
        folder, reuses names and versions), so the copy returned is always that entry's."""
        return self._local_copy(self._version(name, version))  # InputError listing what exists

    def _copy_path(self, entry: Any) -> Path:
        """Where the local copy of registry ``entry`` (a ModelVersion) goes."""
        return self.root / "registry" / entry.name / f"v{entry.version}-{_entry_key(entry)}"

    def _local_copy(self, entry: Any) -> Path:
        """The local copy of registry ``entry`` (a ModelVersion), fetched unless already there.
        Its folder, ``v<version>-<key>``, is named after the entry (:func:`_entry_key`) and
        renamed into place whole, so an existing folder is that entry's copy, never another's."""
        local = self._copy_path(entry)
        if local.is_dir():
            return local
        scratch = temp_sibling(local)
        scratch.mkdir(parents=True)
        try:
            what = f"model {entry.name} v{entry.version}"
            fetched = self._download(self._source_here(entry), scratch, what)
            try:
                os.replace(fetched, local)
            except OSError:
                if not local.is_dir():  # not fetched meanwhile by another process
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return local

    def _download(self, source: str, scratch: Path, what: str) -> Path:
        """Artifact ``source`` (a location :meth:`_here` gave) fetched into ``scratch``; a
        :class:`ModelFilesMissing` naming ``what`` and where it was looked for when the files
        are gone (a folder moved aside, a data folder copied without its ``runs/artifacts``)."""
        from mlflow.artifacts import download_artifacts
        from mlflow.exceptions import MlflowException

        local = _local_path(source)
        if local is not None and not local.exists():
            raise ModelFilesMissing(
                f"The files of {what} are missing: {local} does not exist (moved or deleted, or "
                f"the data folder {self.root.parent} was copied without runs/artifacts: a data "
                "folder's runs keep their files in it). Put them back there, or train the "
                "model again.",
                what,
            )
        try:
            return Path(
                download_artifacts(
                    artifact_uri=source, dst_path=str(scratch), tracking_uri=self.uri
                )
            )
        except MlflowException as err:
            raise InputError(
                without_passwords(f"The files of {what} cannot be fetched from {source}: {err}")
            ) from err

    @contextlib.contextmanager
    def _registry_lock(self) -> Iterator[None]:
        """One process at a time: creates or migrates the store (MLflow's schema migrations on
        SQLite are not safe to run twice at once), or changes the active model."""
        import fcntl

        try:
            handle = open(self.root / ".registry.lock", "a")  # noqa: SIM115 - closed below
        except OSError:  # a store this user may read only: nothing to create, migrate or set
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def set_active(self, name: str, version: int | str) -> ActiveModel:
        """Make ``name`` version ``version`` the app's one active model (replacing any other).
        An archived version is refused: :meth:`active_model` retires an archived active one, so
        making it active left the app on the demo default model."""
        with self._registry_lock():
            entry = self._version(name, version)
            if getattr(entry, "current_stage", None) == ARCHIVED:
                raise InputError(
                    f"{name} v{entry.version} ({short_run(entry.run_id)}) is archived in the "
                    f"model registry (stage '{ARCHIVED}'), so it cannot be the active model: "
                    "make another version active, or move it out of the archive first (its "
                    "stage in MLflow)."
                )
            active = ActiveModel(name, int(entry.version), self._local_copy(entry))
            write_json(
                self.root / ACTIVE_FILE,
                {
                    "name": name,
                    "version": active.version,
                    "folder": str(active.folder),
                    "run_id": entry.run_id,
                    "entry": _entry_key(entry),
                    "registry": without_passwords(self.registry_uri),
                    "own_registry": self._own_registry,
                    "set_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
            for model in self.client.search_registered_models():
                if ACTIVE_ALIAS in model.aliases and model.name != name:
                    self.client.delete_registered_model_alias(model.name, ACTIVE_ALIAS)
            self.client.set_registered_model_alias(name, ACTIVE_ALIAS, str(active.version))
        return active

    def active_model(self) -> ActiveModel | None:
        """The app's active model with a local folder to load it from; None if none was set.
        Checked against the registry (its local copy alone kept scoring a version deleted there,
        and hid the version registered again under its name and number): an
        :class:`ActiveRetired` when the registry no longer holds it, holds another run's model
        under its name and version, or archived it."""
        pointer = _active_pointer(self.root)
        if pointer is None:
            return None
        name, version, key = pointer["name"], int(pointer["version"]), pointer.get("entry")
        registry, own = self.registry_uri, self._own_registry
        elsewhere = _chosen_elsewhere(pointer, registry, own)  # the same model, maybe: asked
        try:
            entry = self._version(name, version)
        except InputError as err:
            if elsewhere:
                raise _elsewhere(pointer, registry, own, "holds no such version") from err
            raise ActiveRetired(
                without_passwords(
                    f"The active model {name} v{version} is no longer in the model registry "
                    f"{self.registry_uri} ({err}); choose the active model again."
                ),
                pointer,
                "deleted",
            ) from err
        if key and _entry_key(entry) != key:
            if elsewhere:
                holds = f"holds run {entry.run_id}'s model under that name and version"
                raise _elsewhere(pointer, registry, own, holds)
            raise ActiveRetired(
                without_passwords(
                    f"The active model {name} v{version} (run {pointer.get('run_id')}, registry "
                    f"{pointer.get('registry')}) is no longer that version in the model "
                    f"registry {self.registry_uri}, which holds run {entry.run_id}'s model under "
                    "it (deleted and registered again, or chosen in another store); choose the "
                    "active model again."
                ),
                pointer,
                "replaced",
                entry.run_id,
            )
        if getattr(entry, "current_stage", None) == ARCHIVED:
            raise ActiveRetired(
                f"The active model {name} v{version} ({short_run(pointer.get('run_id'))}) was "
                f"archived in the model registry (stage '{ARCHIVED}'); choose the active model "
                "again.",
                pointer,
                "archived",
            )
        own = _own_copy(self.root, pointer)
        # else the local copy was removed, or the pointer predates entry keys: fetch it again
        return own if own is not None else ActiveModel(name, version, self._local_copy(entry))

    def list_models(self) -> pd.DataFrame:
        """One row per registered version: name, version, run_id, active, model, c_index
        (cross-validated or external), protocol (how, its run's ``protocol.name``; None for a
        version registered before it was kept), apparent_c_index, created (UTC) and folder (where its local copy
        goes, :meth:`model_folder` fetching it when it is not there yet). None is active when the
        active model is no longer in the registry (:meth:`active_model` says so)."""
        try:
            active = self.active_model()
        except InputError:  # a stale pointer hides no version: each can be made active again
            active = None
        rows = []
        for entry in self.client.search_model_versions():
            tags = entry.tags
            rows.append(
                {
                    "name": entry.name,
                    "version": int(entry.version),
                    "run_id": entry.run_id,
                    # that entry's own copy, not a namesake's (another store, a deleted one)
                    "active": active is not None and active.folder == self._copy_path(entry),
                    "model": tags.get("model"),
                    "c_index": float(tags["c_index"]) if "c_index" in tags else None,
                    "protocol": tags.get("protocol"),
                    "apparent_c_index": float(tags["apparent_c_index"])
                    if "apparent_c_index" in tags
                    else None,
                    "created": _time(entry.creation_timestamp),
                    "folder": self._copy_path(entry),
                }
            )
        columns = ["name", "version", "run_id", "active", "model", "c_index"]
        extra = ["protocol", "apparent_c_index", "created", "folder"]
        frame = pd.DataFrame(rows, columns=columns + extra)
        return frame.sort_values(["name", "version"], ignore_index=True)
