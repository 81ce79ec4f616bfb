"""Background training jobs: a real tiny run finishes and is tracked, cancel stops the process
group and the run is reaped FAILED, a failing config leaves its message in the log."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survival_core.errors import ConfigError, InputError
from survival_core.runs.config import loads_config
from survival_core.runs.jobs import Job, cancel, list_jobs, load_job, start_job
from survival_core.runs.store import RunStore, process_alive


def clinical_cohort(folder: Path, n: int = 30, seed: int = 0) -> Path:
    """A cohort folder for clinical-only models: clinical.csv with three variables whose risk
    drives the survival times, and a manifest whose image files are empty placeholders (coxph on
    clinical columns never opens them). Written in milliseconds, unlike generated images."""
    rng = np.random.default_rng(seed)
    ids = [f"CLN-{i:03d}" for i in range(n)]
    albumin = rng.normal(38, 5, n).round(1)
    bilirubin = rng.lognormal(2.7, 0.5, n).round(1)
    ecog = rng.integers(0, 3, n)
    hazard = np.exp(-0.15 * (albumin - 38) + 0.5 * ecog) / 700
    time = np.maximum(rng.exponential(1 / hazard), 5).round()
    censor = rng.uniform(200, 2500, n)
    clinical = pd.DataFrame(
        {
            "case_id": ids,
            "time": np.minimum(time, censor),
            "event": (time <= censor).astype(int),
            "albumin": albumin,
            "bilirubin": bilirubin,
            "ecog": ecog,
        }
    )
    folder.mkdir(parents=True)
    clinical.to_csv(folder / "clinical.csv", index=False)
    rows = []
    for case_id in ids:
        (folder / "cases" / case_id).mkdir(parents=True)
        for name in ("image", "liver", "gtv"):
            (folder / "cases" / case_id / f"{name}.nii.gz").touch()
        files = [f"cases/{case_id}/{name}.nii.gz" for name in ("image", "liver", "gtv")]
        rows.append([case_id, "nifti", *files, ""])
    columns = ["case_id", "format", "image", "liver_mask", "gtv_mask", "rtstruct"]
    pd.DataFrame(rows, columns=columns).to_csv(folder / "manifest.csv", index=False)
    return folder


def tiny_config(cohort: Path, name: str = "tiny", **overrides) -> dict:
    """coxph on three clinical columns, one 70/30 split: trains in well under a second."""
    return {
        "name": name,
        "cohort": str(cohort),
        "features": {"select": "^(albumin|bilirubin|ecog)$"},
        "model": {"name": "coxph", "params": {"penalizer": 0.5}},
        "protocol": {"name": "fixed_split", "test_fraction": 0.3},
        "horizons": [365, 730],
        "bootstrap": 20,
        **overrides,
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return clinical_cohort(tmp_path_factory.mktemp("jobs") / "cohort")


@pytest.fixture(scope="module")
def store() -> RunStore:
    return RunStore()  # creates the tracking database once, before any job process opens it


@pytest.fixture(scope="module")
def jobs(cohort, store) -> dict[str, Job]:
    """The three jobs of this file, started together (each spends seconds importing)."""
    slow = tiny_config(
        cohort,
        name="slow",
        model={"name": "deepsurv", "params": {"epochs": 5000, "patience": 5000}},
        protocol={"name": "nested_cv", "repeats": 5, "folds": 3},
    )
    # read at the start, then gone when the run reads it (moved away, a disk unmounted): the
    # job starts in a new interpreter, seconds before its run reads the folder
    vanishing = clinical_cohort(cohort.parent / "vanishing")
    started = {
        "tiny": start_job(tiny_config(cohort), label="tiny test run"),
        "slow": start_job(slow),
        "missing": start_job(tiny_config(vanishing, name="missing")),
    }
    shutil.rmtree(vanishing)
    yield started
    for job in started.values():
        cancel(job, grace=1.0)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.1)


def test_a_tiny_run_finishes_and_is_tracked(jobs, cohort, store):
    job = jobs["tiny"]
    assert job in list_jobs() and load_job(job.folder) == job and job.label == "tiny test run"
    wait_for(lambda: job.status != "running", 120, "the job to end")
    assert job.status == "finished", job.log()
    assert job.error() is None
    result = job.result()
    assert result["run_id"] == job.run_id and result["status"] == "FINISHED"
    runs = store.list_runs("tiny").set_index("run_id")
    assert runs.loc[job.run_id, "status"] == "FINISHED"
    assert runs.loc[job.run_id, "c_index"] == pytest.approx(result["metrics"]["c_index"])
    progress = job.progress()
    assert (progress.done, progress.total, progress.unit, progress.fraction) == (1, 1, "fold", 1.0)
    assert "fold 1/1" in job.log_tail(50)
    assert len(job.log_tail(2).splitlines()) == 2
    # the config it ran sits next to its log, paths resolved
    assert loads_config((job.folder / "config.yaml").read_text()).cohort == cohort


def test_the_same_run_is_not_started_twice_while_it_runs(jobs, cohort):
    """A double click, or two sessions: both jobs ran and registered versions 1 and 2 of one
    run, under the same label in the Jobs table."""
    wait_for(lambda: jobs["slow"].alive(), 30, "the slow job to start")
    slow = tiny_config(
        cohort,
        name="slow",
        model={"name": "deepsurv", "params": {"epochs": 5000, "patience": 5000}},
        protocol={"name": "nested_cv", "repeats": 5, "folds": 3},
    )
    before = {job.job_id for job in list_jobs()}
    with pytest.raises(InputError, match="is already running with the same config"):
        start_job(slow)
    assert {job.job_id for job in list_jobs()} == before


def test_cancel_stops_the_process_and_the_run_is_failed(jobs, store):
    """Cancel's SIGTERM is handled as Ctrl-C is: the run marks itself FAILED as it stops (it
    stayed RUNNING until a reaper saw its process gone)."""
    job = jobs["slow"]
    wait_for(lambda: job.run_id is not None or job.status != "running", 90, "the run to start")
    assert job.status == "running", job.log()
    assert 0 < job.progress().fraction < 1 and job.result() is None
    assert cancel(job, grace=5.0) is job
    assert not process_alive(job.pid, job.process_start)
    assert job.status == "cancelled" and job.error() is None
    record = store.get_run(job.run_id)
    assert record.status == "FAILED" and "SIGTERM" in record.error
    assert job.run_id not in store.reap_dead_runs()
    assert cancel(job).status == "cancelled"  # cancelling again changes nothing


def test_a_killed_job_says_it_was_killed_not_its_last_log_line(tmp_path):
    """A job whose process was killed (out of memory, kill -9) showed its log's last line as the
    error: 'deepsurv: 80 patients, 4 folds (nested_cv)', or a pool's resource warning."""
    import json
    import subprocess
    import sys

    from survival_core.runs.jobs import EXIT_FILE, LOG_FILE, Job

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid no process has now
    (tmp_path / LOG_FILE).write_text("run 0123abcd\n[17/30] RS-1 extracted\n")
    job = Job("j", tmp_path, child.pid, "", "demo", "now", "demo")
    assert job.status == "failed"
    assert job.error() == (
        "The train process ended without finishing (killed, or crashed); its last output: "
        "'[17/30] RS-1 extracted'."
    )
    (tmp_path / EXIT_FILE).write_text(json.dumps({"returncode": -9}))
    assert job.error().startswith(
        "The train process was stopped by signal 9 (SIGKILL: out of memory"
    )


def test_a_failing_run_fails_the_job_with_its_message(jobs, cohort):
    job = jobs["missing"]
    wait_for(lambda: job.status != "running", 60, "the job to fail")
    assert job.status == "failed" and job.result() is None
    expected = f"Cohort folder {cohort.parent / 'vanishing'} does not exist."
    assert job.error() == expected
    assert f"error: {expected}" in job.log()
    assert job.run_id is None  # refused before a run was started: none is left FAILED


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("name: x\ncohort: demo\nmodel: {name: coxph, params: {penalizer: -}}\n", "model.params"),
        ("name: x\ncohort: demo\nmodel: {name: nope}\n", "model.name"),
        ("name: x\n  cohort: [demo\n", "the config text: not valid YAML at line"),
        ("", "the config text is empty"),
    ],
)
def test_a_bad_config_is_refused_before_anything_starts(text, path):
    before = {job.job_id for job in list_jobs()}
    with pytest.raises(ConfigError) as err:
        start_job(text)
    assert str(err.value).startswith(path)
    assert {job.job_id for job in list_jobs()} == before


def test_a_config_its_run_would_refuse_is_refused_before_anything_starts(cohort, store, tmp_path):
    """The run's first checks (:func:`~survival_core.runs.cohort_checks.check_cohorts`), run by the
    start: a column filter matching no column and an image model on a table-only cohort were
    started ('Started' on the Training page), each job then failing on its ConfigError, the
    first leaving a FAILED run."""
    table_only = tmp_path / "table-only"
    table_only.mkdir()
    shutil.copy(cohort / "clinical.csv", table_only / "clinical.csv")
    refused = [
        (tiny_config(cohort, "refused", features={"select": "^no_such_column$"}), ConfigError,
         "features.select: '^no_such_column$' matches no column of the development cohort's"),
        (tiny_config(table_only, "refused", model={"name": "cnn3d"}), ConfigError,
         f"Cohort folder {table_only} is table-only (clinical.csv without a manifest.csv"),
        (tiny_config(cohort.parent / "no-such-cohort", "refused"), InputError,
         f"Cohort folder {cohort.parent / 'no-such-cohort'} does not exist."),
        (tiny_config(cohort / "clinical.csv", "refused"), InputError,  # said not to exist
         f"Cohort {cohort / 'clinical.csv'} is a file, not a cohort folder: give the folder"),
    ]  # fmt: skip
    jobs_before = {job.job_id for job in list_jobs()}
    for config, error, message in refused:
        with pytest.raises(error) as raised:
            start_job(config)
        assert str(raised.value).startswith(message)
    assert {job.job_id for job in list_jobs()} == jobs_before
    assert store.list_runs("refused").empty  # no FAILED run left for them


def test_a_job_folder_without_a_record_is_skipped(tmp_path):
    from survival_core.runs.jobs import jobs_dir

    (jobs_dir() / "half-made").mkdir()
    assert all(isinstance(job, Job) and job.job_id != "half-made" for job in list_jobs())


def test_an_ended_jobs_copy_of_an_upload_is_dropped_when_the_jobs_are_listed():
    """A server stopped while its import ran never saw it end: the job's copy of the uploaded
    spreadsheet (the hospital's IDs, names, birth dates) stayed in the job folder."""
    from survival_core.io.atomic import write_json
    from survival_core.runs.jobs import UPLOAD_DIR, jobs_dir

    folder = jobs_dir() / "20260101-000000-ended-abcdef"
    (folder / UPLOAD_DIR).mkdir(parents=True)
    (folder / UPLOAD_DIR / "clinical.csv").write_text("MRN,Name\nMRN-0815,Zyxwv Qwerty\n")
    record = {"job_id": folder.name, "pid": 2**22 + 1, "process_start": "gone", "kind": "import"}
    write_json(folder / "job.json", record | {"config_name": "ended", "started": "", "label": ""})
    assert folder.name in {job.job_id for job in list_jobs("import")}
    assert not (folder / UPLOAD_DIR).exists()
