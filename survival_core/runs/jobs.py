"""Background jobs: ``train --config`` or ``cohort import`` in a detached process, tracked on disk.

The dashboard never trains or imports in its own script thread: :func:`start_job` writes the run
config and starts ``python -m survival_core train --config <file> --json``, and
:func:`start_import_job` starts ``python -m survival_core cohort import ... --json``, each as a
detached process (its own session and process group, so cancelling reaches the worker processes
it spawns, and closing the page or restarting the server does not stop it). Everything about a
job lives in its folder ``<data>/runs/jobs/<job_id>/``:

- ``config.yaml``: for a training job, the checked config it runs (paths resolved, defaults
  filled in); an import job's ``roi_map.yaml`` when one was given;
- ``upload/``: an import job's uploaded spreadsheet (under its own name) while the job runs,
  deleted when it ends;
- ``job.json``: job id, kind (``train`` or ``import``), pid and process start (which name the
  process even after its pid is reused), name, start time (UTC) and the label shown on the page;
- ``log.txt``: the command's stdout and stderr (progress lines, then the JSON result);
- ``cancel.json``: written when the job is cancelled.

The status is derived from disk each time it is asked for (:attr:`Job.status`): ``running`` while
the process lives, then ``finished`` when the log ends with the command's JSON result (a training
run's with status FINISHED), ``cancelled`` when ``cancel.json`` exists, else ``failed`` (the log's
``error:`` line says why).
The command runs with :data:`JOB_ENV` set: its console is the log, which the jobs panel shows to
every user, so it writes there no line that may name a patient (:func:`in_job`); and with
:data:`~survival_core.audit.JOB_USER_ENV` naming the app user who started it, for the audit log.
A cancelled or crashed run stays RUNNING in the run store until
:meth:`~survival_core.runs.store.RunStore.reap_dead_runs` marks it FAILED (every new run and the
Training page reap). So jobs survive the page being left, and any session sees the same jobs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from survival_core.audit import JOB_USER_ENV
from survival_core.errors import InputError
from survival_core.io.atomic import write_json, write_text
from survival_core.io.locks import folder_lock, process_alive, process_start
from survival_core.paths import data_dir, data_subdir
from survival_core.runs.config import RunConfig, loads_config, parse_config

JOB_FILE, CONFIG_FILE, LOG_FILE, CANCEL_FILE = "job.json", "config.yaml", "log.txt", "cancel.json"
#: The job's exit status, written when the server that started it sees it end.
EXIT_FILE = "exit.json"
#: The lock a training job's start holds on the jobs folder (:func:`start_job`).
START_LOCK = ".start.lock"
STATUSES = ("running", "finished", "failed", "cancelled")
#: Seconds a cancelled job gets to end after SIGTERM before its process group is SIGKILLed.
CANCEL_GRACE = 5.0

_RUN_LINE = re.compile(r"^run (\w+) \(", re.MULTILINE)
_FOLD_LINE = re.compile(r"^fold (\d+)/(\d+)\b", re.MULTILINE)
_FOLDS_PLANNED = re.compile(r"^\w+: \d+ patients, (\d+) folds\b", re.MULTILINE)
_FITTING = re.compile(r"^fitting .* development patients$", re.MULTILINE)
_PATIENT_LINE = re.compile(r"^(\d+)/(\d+) \S+ (?:imported|unchanged|failed)\b", re.MULTILINE)
KINDS = ("train", "import")
ROI_MAP_FILE = "roi_map.yaml"
#: An import job's copy of an uploaded spreadsheet, kept only while the job runs.
UPLOAD_DIR = "upload"
#: Set (to the job's id) in the environment of the command a job runs.
JOB_ENV = "RADSURV_JOB"


def in_job() -> bool:
    """Whether this process is a background job's command (:data:`JOB_ENV`): its console is
    then the job's log, shown on the jobs panel to every user."""
    return bool(os.environ.get(JOB_ENV))


def jobs_dir() -> Path:
    """``<data>/runs/jobs``: one folder per job."""
    folder = data_subdir("runs") / "jobs"
    folder.mkdir(exist_ok=True)
    return folder


def train_command(config_file: Path, activate: bool = False) -> list[str]:
    """The headless ``train`` command a job runs."""
    command = [sys.executable, "-m", "survival_core", "train", "--config", str(config_file)]
    return [*command, "--json", *(["--activate"] if activate else [])]


def import_command(
    images: Path | str | None,
    out: Path | str,
    *,
    clinical: Path | str | None = None,
    options: Mapping[str, str | None] | None = None,
) -> list[str]:
    """The headless ``cohort import`` command an import job runs; ``options`` are its other
    flags by name (``site``, ``roi_map``, ``id_column``, ``time_column``, ``event_column``,
    ``time_unit``, ``workers``), None or empty ones left out."""
    command = [sys.executable, "-m", "survival_core", "cohort", "import", "--out", str(out)]
    if images is not None:
        command += ["--images", str(images)]
    if clinical is not None:
        command += ["--clinical", str(clinical)]
    for name, value in (options or {}).items():
        if value not in (None, ""):
            command += [f"--{name.replace('_', '-')}", str(value)]
    return [*command, "--json"]


@dataclass(frozen=True)
class JobProgress:
    """How far a job is: steps (folds, patients) done of those planned, and its latest line."""

    done: int
    total: int | None
    unit: str
    stage: str
    fraction: float


@dataclass(frozen=True)
class Job:
    """One background job (see the module doc); reads its state from its folder."""

    job_id: str
    folder: Path
    pid: int
    process_start: str
    config_name: str
    started: str
    label: str
    activate: bool = False
    kind: str = "train"

    @property
    def log_path(self) -> Path:
        return self.folder / LOG_FILE

    def log(self) -> str:
        """The whole log so far ('' before the process wrote anything)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 20) -> str:
        """The last ``n`` lines of the log."""
        return "\n".join(self.log().splitlines()[-n:])

    def alive(self) -> bool:
        """Whether the job's process still runs."""
        return process_alive(self.pid, self.process_start)

    def result(self) -> dict[str, Any] | None:
        """The command's JSON result (training: run_id, status, metrics, seconds, model_version,
        notes; import: the import summary), or None while running or when it failed."""
        return _result_of(self.log())

    @property
    def cancelled(self) -> bool:
        return (self.folder / CANCEL_FILE).exists()

    @property
    def status(self) -> str:
        """``running``, ``finished``, ``failed`` or ``cancelled`` (see the module doc)."""
        return self._status_of(self.log())

    def _status_of(self, log: str) -> str:
        if self.alive():
            return "running"
        result = _result_of(log)
        if result is not None and result.get("status", "FINISHED") == "FINISHED":
            return "finished"
        return "cancelled" if self.cancelled else "failed"

    @property
    def run_id(self) -> str | None:
        """The tracked run's id, once the command has started it (its ``run <id>`` line)."""
        found = _RUN_LINE.search(self.log())
        return found.group(1) if found else None

    def error(self) -> str | None:
        """Why a failed job failed: the command's ``error:`` line, else how its process ended
        and the log's last line."""
        text = self.log()
        if self._status_of(text) != "failed":
            return None
        lines = [line for line in text.splitlines() if line.strip()]
        for line in reversed(lines):
            if line.startswith("error: "):
                return line.removeprefix("error: ")
        # no error of its own: it was stopped (its log's last line was shown as the error: a
        # progress line, or a warning of the pool it left)
        code = _exit_code(self.folder)
        how = (
            f"was stopped by signal {-code} ({signal.Signals(-code).name}: out of memory, or "
            "killed from outside)"
            if code is not None and code < 0 and -code in signal.valid_signals()
            else "ended without finishing (killed, or crashed)"
        )
        last = f"; its last output: {lines[-1].strip()!r}" if lines else ""
        return f"The {self.kind} process {how}{last}."

    def progress(self) -> JobProgress:
        """Steps done, the latest line and a fraction for a progress bar (see
        :func:`_train_progress`, :func:`_import_progress`)."""
        text = self.log()  # read once: the panel asks every few seconds
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("{")]
        stage = lines[-1] if lines else "starting"
        finished = self._status_of(text) == "finished"
        if self.kind == "import":
            return _import_progress(text, stage, finished)
        return _train_progress(text, stage, finished, _RUN_LINE.search(text) is not None)


def _result_of(log: str) -> dict[str, Any] | None:
    """The JSON result on the log's last line, if there is one (not a refusal's)."""
    lines = log.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        return None
    try:
        value = json.loads(lines[-1])
    except ValueError:
        return None
    # a refusal's JSON line (``{"error": ...}``, see :func:`survival_core.cli.main.main`) is none
    return value if isinstance(value, dict) and "error" not in value else None


def _import_progress(text: str, stage: str, finished: bool) -> JobProgress:
    """Patients done (the ``k/n <case> <status>`` lines) of those inventoried; the inventory and
    the final tables are the first and last 5 %."""
    found = _PATIENT_LINE.findall(text)
    done, total = (int(found[-1][0]), int(found[-1][1])) if found else (0, None)
    fraction = 1.0 if finished else 0.05 + 0.9 * done / total if total else 0.0
    return JobProgress(done, total, "patient", stage, fraction)


def _train_progress(text: str, stage: str, finished: bool, started: bool) -> JobProgress:
    """Folds done (the ``fold k/n`` lines): data preparation up to 5 %, the folds up to 90 %,
    the final model fit, then 100 %."""
    planned = _FOLDS_PLANNED.findall(text)
    folds = _FOLD_LINE.findall(text)
    done = int(folds[-1][0]) if folds else 0
    total = int(folds[-1][1]) if folds else int(planned[-1]) if planned else None
    if finished:
        fraction = 1.0
    elif _FITTING.search(text):
        fraction = 0.95
    elif total:
        fraction = 0.05 + 0.85 * done / total
    else:
        fraction = 0.05 if started else 0.0
    return JobProgress(done, total, "fold", stage, fraction)


def _as_config(config: RunConfig | Mapping[str, Any] | str, base_dir: Path | None) -> RunConfig:
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, str):
        return loads_config(config, base_dir=base_dir)
    return parse_config(config, source="the run form", base_dir=base_dir)


def _drop_upload(folder: Path) -> None:
    """Delete a job's copy of an uploaded spreadsheet (:data:`UPLOAD_DIR`): it holds the
    hospital's IDs and every column (names, birth dates). Nothing reads it once the job has
    ended: the cohort keeps what the import took, and a rerun sends the spreadsheet again."""
    shutil.rmtree(folder / UPLOAD_DIR, ignore_errors=True)


def _exit_code(folder: Path) -> int | None:
    """The job's exit status, as the process that started it saw it end (None: not seen, as
    after a restart of the server)."""
    try:
        return int(json.loads((folder / EXIT_FILE).read_text())["returncode"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _reap_when_done(child: subprocess.Popen, folder: Path) -> None:
    """Wait for the child in a daemon thread, so a finished job leaves no zombie process, then
    drop the job's copy of an upload (:func:`_drop_upload`), whether it finished or failed."""

    def reap() -> None:
        write_json(folder / EXIT_FILE, {"returncode": child.wait()})
        _drop_upload(folder)

    threading.Thread(target=reap, name=f"job-{child.pid}", daemon=True).start()


def _launch(
    kind: str,
    name: str,
    label: str,
    command: Callable[[Path], list[str]],
    activate: bool = False,
    user: str | None = None,
) -> Job:
    """Make a job folder, let ``command(folder)`` write the job's input files there and return
    the argv to run, start it detached (acting for the app ``user``, when given) and record the
    job."""
    now = datetime.now(UTC)
    job_id = f"{now:%Y%m%d-%H%M%S}-{name}-{secrets.token_hex(3)}"
    folder = jobs_dir() / job_id
    folder.mkdir(parents=True)
    argv = command(folder)
    # The same data folder (absolute, in case it was given relative to this process's cwd).
    env = {**os.environ, "RADSURV_DATA_DIR": str(data_dir()), "PYTHONUNBUFFERED": "1"}
    env[JOB_ENV] = job_id  # its console is its log, shown to every user
    env.pop(JOB_USER_ENV, None)
    if user:  # what the job does is audited as this user's
        env[JOB_USER_ENV] = user
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    with open(folder / LOG_FILE, "ab") as log:
        try:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: cancel reaches its workers too
            )
        except OSError as err:
            raise InputError(f"Cannot start the {kind} process {argv[0]}: {err}") from err
    _reap_when_done(child, folder)
    job = Job(
        job_id=job_id,
        folder=folder,
        pid=child.pid,
        process_start=process_start(child.pid),
        config_name=name,
        started=now.isoformat(timespec="seconds"),
        label=label,
        activate=activate,
        kind=kind,
    )
    write_json(folder / JOB_FILE, _job_record(job))
    return job


def start_job(
    config: RunConfig | Mapping[str, Any] | str,
    activate: bool = False,
    label: str | None = None,
    base_dir: str | Path | None = None,
    command: Sequence[str] | None = None,
    user: str | None = None,
) -> Job:
    """Check ``config`` (a RunConfig, a mapping or YAML text; relative paths against
    ``base_dir``), write it to a new job folder and start training it in the background for the
    app ``user`` (the audit log names them for the model ``activate`` promotes; None: the
    operating-system user, as for a command typed at a shell).

    ``command`` replaces the ``train`` command (tests); ``{config}`` in it is the config file.
    Raises ConfigError for a bad config before anything is started, as for one the run's first,
    cheap checks refuse (:func:`.cohort_checks.check_cohorts`: a column filter matching no
    column, an image model on a table-only cohort: the page said 'Started', the job then
    failed); InputError for a cohort folder that cannot be read, and while a job of the same
    config runs (both registered a version of one run, which the Jobs table could not tell
    apart).
    """
    from survival_core.runs.cohort_checks import check_cohorts

    run_config = _as_config(config, Path(base_dir) if base_dir is not None else None)
    check_cohorts(run_config)
    text = yaml.safe_dump(run_config.to_dict(), sort_keys=False)

    def write(folder: Path) -> list[str]:
        config_file = write_text(folder / CONFIG_FILE, text)
        if command is None:
            return train_command(config_file, activate)
        return [part.replace("{config}", str(config_file)) for part in command]

    # the check and the start under one lock: two sessions clicking at once both passed it
    with folder_lock(jobs_dir(), START_LOCK, "job start", wait=True):
        for running in list_jobs("train"):  # a double click, or two sessions: one run twice
            if running.alive() and _config_text(running) == text:
                raise InputError(
                    f"This run ({running.label}, started {running.started}) is already running "
                    "with the same config: wait for it to end, or cancel it, then start it again."
                )
        return _launch(
            "train", run_config.name, label or _default_label(run_config), write, activate, user
        )


def _config_text(job: Job) -> str | None:
    """The config a training job was started with, as written in its folder."""
    try:
        return (job.folder / CONFIG_FILE).read_text()
    except OSError:
        return None


def start_import_job(
    images: Path | str | None,
    out: Path | str,
    *,
    clinical: Path | str | None = None,
    clinical_upload: tuple[str, bytes] | None = None,
    roi_map: Mapping[str, Any] | None = None,
    options: Mapping[str, str | None] | None = None,
    label: str | None = None,
) -> Job:
    """Start ``cohort import`` of ``images`` (and/or the ``clinical`` spreadsheet) into ``out``
    in the background. An uploaded spreadsheet (``clinical_upload``: file name, bytes) is kept
    in the job folder under its own name (:func:`upload_file_name`) while the job runs
    (:func:`_drop_upload`).
    ``roi_map`` (checked first: ConfigError before anything
    starts) is written there too and passed as ``--roi-map``; ``options`` as in
    :func:`import_command`."""
    from survival_core.cohort.importer import check_roi_map

    checked = check_roi_map(roi_map) if roi_map else None
    name = Path(out).name
    if any(job.config_name == name and job.alive() for job in list_jobs("import")):
        raise InputError(f"An import into {name} is already running; wait for it to end.")

    def write(folder: Path) -> list[str]:
        flags = dict(options or {})
        if checked:
            flags["roi_map"] = str(write_text(folder / ROI_MAP_FILE, yaml.safe_dump(checked)))
        table = clinical
        if clinical_upload is not None:
            table = folder / UPLOAD_DIR / upload_file_name(clinical_upload[0])
            table.parent.mkdir()
            table.write_bytes(clinical_upload[1])
        return import_command(images, out, clinical=table, options=flags)

    return _launch("import", name, label or f"import into {name}", write)


def upload_file_name(name: str) -> str:
    """The name an uploaded spreadsheet is kept under: its own, made safe
    (:func:`~survival_core.io.uploads.safe_name`), its suffix lower-case ('.csv' without one),
    so that the reader's messages name the user's file ('dup.csv: patient ID(s) 007 appear
    more than once'), not a name of the job's ('clinical.csv', the cohort's own table's)."""
    from survival_core.io.uploads import safe_name

    path = Path(safe_name(name))
    return f"{path.stem}{path.suffix.lower() or '.csv'}"


def _default_label(config: RunConfig) -> str:
    return f"{config.name} · {config.model.name} · {config.protocol.name}"


def _job_record(job: Job) -> dict[str, Any]:
    """What ``job.json`` holds: every field but the folder it is in."""
    return {k: v for k, v in asdict(job).items() if k != "folder"}


def load_job(folder: str | Path) -> Job:
    """The job whose folder is ``folder``; InputError when it holds no readable job.json."""
    folder = Path(folder)
    try:
        return Job(folder=folder, **json.loads((folder / JOB_FILE).read_text()))
    except (OSError, ValueError, TypeError) as err:
        raise InputError(f"{folder / JOB_FILE} is not a readable job record: {err}") from err


def list_jobs(kind: str | None = None) -> list[Job]:
    """Every job (of ``kind`` when given), newest first (a folder still being set up, without
    job.json, is skipped). An ended job's copy of an upload is dropped on the way
    (:func:`_drop_upload`): the process that watched it end may have stopped first."""
    jobs = []
    for folder in jobs_dir().iterdir():
        if folder.is_dir() and (folder / JOB_FILE).is_file():
            try:
                job = load_job(folder)
            except InputError:
                continue
            if (folder / UPLOAD_DIR).exists() and not job.alive():  # the panel lists every 2 s
                _drop_upload(folder)
            if kind is None or job.kind == kind:
                jobs.append(job)
    return sorted(jobs, key=lambda job: job.started + job.job_id, reverse=True)


def _signal_group(job: Job, sig: signal.Signals) -> None:
    if job.alive():  # never signal a reused pid: process_alive also checks the start time
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.pid, sig)


def cancel(job: Job, grace: float = CANCEL_GRACE, store: Any = None) -> Job:
    """Stop ``job``: SIGTERM to its process group, SIGKILL after ``grace`` seconds if it still
    runs. With a ``store`` (:class:`~survival_core.runs.store.RunStore`), its tracked run is
    marked FAILED at once (else the next reap does it). A job that has ended is left as it is."""
    if not job.alive():
        return job
    write_json(
        job.folder / CANCEL_FILE, {"cancelled_at": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    _signal_group(job, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while job.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if job.alive():
        _signal_group(job, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while job.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    if store is not None:
        store.reap_dead_runs()
    return job
