"""Retention: expired uploads, caches and job logs go (atomically, through the trash), fresh ones
stay, models, runs, cohorts, keys and the audit log stay however old; the setting, the
``cleanup`` command, disk use per area and the admin's storage section."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from survival_core.audit import read_audit
from survival_core.cli.main import main
from survival_core.errors import ConfigError
from survival_core.runs import retention
from survival_core.runs.retention import (
    AREAS,
    RETENTION_ENV,
    TRASH,
    cleanup,
    disk_usage,
    mark_used,
    retention_days,
)
from survival_core.runs.store import process_start
from tests.conftest import ROOT

DAY_S = 86_400


@pytest.fixture()
def data(tmp_path, monkeypatch) -> Path:
    """A private, empty data folder (the retention setting unset)."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("RADSURV_DATA_DIR", str(folder))
    monkeypatch.delenv(RETENTION_ENV, raising=False)
    return folder


def write(path: Path, size: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def age(path: Path, days: float) -> Path:
    """Make ``path`` and everything in it last modified ``days`` days ago."""
    when = time.time() - days * DAY_S
    for inner in [*path.rglob("*"), path] if path.is_dir() else [path]:
        os.utime(inner, (when, when))
    return path


def upload(root: Path, name: str, days: float, size: int = 1000) -> Path:
    """An upload folder like store_upload's (two files), ``days`` old."""
    folder = root / "cases" / f"upload-{name}"
    write(folder / "image.dcm", size)
    write(folder / "clinical.json", 20)
    return age(folder, days)


def job(root: Path, name: str, days: float, running: bool = False) -> Path:
    """A background job's folder; ``running``: its process (this one) still runs."""
    folder = root / "runs" / "jobs" / name
    write(folder / "log.txt", 300)
    record = {
        "job_id": name,
        "pid": os.getpid(),
        "process_start": process_start(os.getpid()) if running else "0",
        "config_name": "test",
        "started": "2020-01-01T00:00:00+00:00",
        "label": "test",
    }
    (folder / "job.json").write_text(json.dumps(record))
    return age(folder, days)


def test_expired_uploads_caches_and_job_logs_go_fresh_ones_stay(data):
    old_upload, new_upload = upload(data, "old", 40), upload(data, "new", 2)
    old_features = age(write(data / "cache/features/abc/0123.json"), 31)
    new_features = write(data / "cache/features/abc/4567.json")
    old_volume = age(write(data / "cache/volumes/k1/0123.npy", 5000), 100)
    old_table = age(write(data / "features/0123456789ab-wei2021-feedface.parquet"), 60)
    old_tmp = age(write(data / "tmp/radsurv-case-x1/ct.nii.gz").parent, 45)
    old_job, new_job = job(data, "old-job", 90), job(data, "new-job", 1)
    running_job = job(data, "running-job", 90, running=True)
    job_bytes = sum(path.stat().st_size for path in old_job.iterdir())

    report = cleanup(30)

    gone = (old_upload, old_features, old_volume, old_table, old_tmp, old_job)
    assert not any(path.exists() for path in gone)
    kept = (new_upload, new_features, new_job, running_job)
    assert all(path.exists() for path in kept)
    assert {item.path for item in report.removed} == {str(p.relative_to(data)) for p in gone}
    assert report.by_area() == {
        "uploads": {"items": 1, "bytes": 1020},
        "feature_cache": {"items": 2, "bytes": 200},
        "caches": {"items": 2, "bytes": 5100},
        "job_logs": {"items": 1, "bytes": job_bytes},
    }
    assert report.freed_bytes == sum(item.bytes for item in report.removed)
    assert not report.errors and not any((data / TRASH).iterdir())


def test_the_age_is_the_newest_change_in_a_folder_and_mark_used_renews_it(data):
    touched = upload(data, "touched", 40)
    os.utime(touched / "clinical.json")  # one file changed now: the folder is in use
    reused = upload(data, "reused", 40)
    mark_used(reused)  # what the Case page does when the same files are uploaded again
    assert not cleanup(30).removed
    assert touched.exists() and reused.exists()


def test_models_runs_cohorts_keys_and_the_audit_log_are_never_deleted(data):
    kept = [
        write(data / "models/demo-default/model.json"),
        write(data / "runs/registry/risk/v1/model.json"),
        write(data / "runs/artifacts/risk/0a1b/artifacts/model/card.json"),
        write(data / "runs/0a1b2c/fold-0.pt"),
        write(data / "runs/mlflow.db"),
        write(data / "runs/active_model.json"),
        write(data / "demo/cohort/cases/HCC-001/ct.nii.gz"),
        write(data / "features/demo-wei2021.parquet"),
        write(data / "cohorts/site-a/manifest.csv"),
        write(data / "keys/deid.key"),
        write(data / "logs/audit.log"),
        write(data / "users.yaml"),
        write(data / "tmp/ray/session_2020/logs/raylet.out"),
        write(data / "tmp/ray-spill/object-1"),
    ]
    for top in ("models", "runs", "demo", "features", "cohorts", "keys", "logs", "tmp"):
        age(data / top, 3650)
    age(data / "users.yaml", 3650)

    report = cleanup(1)

    assert not report.removed and not report.errors
    assert all(path.exists() for path in kept)


def test_a_dry_run_deletes_nothing(data):
    old = upload(data, "old", 40)
    report = cleanup(30, dry_run=True)
    assert [item.path for item in report.removed] == ["cases/upload-old"]
    assert report.dry_run and report.freed_bytes == 1020
    assert old.exists() and not (data / TRASH).exists()


def test_the_setting_defaults_to_30_days_and_0_keeps_everything(data, monkeypatch):
    assert retention_days() == 30
    old = upload(data, "old", 400)
    monkeypatch.setenv(RETENTION_ENV, "0")
    assert retention_days() == 0
    assert not cleanup().removed and old.exists()
    monkeypatch.setenv(RETENTION_ENV, " 7 ")
    assert retention_days() == 7
    assert [item.area for item in cleanup().removed] == ["uploads"]


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "30d"])
def test_a_bad_retention_value_is_a_clear_error(data, monkeypatch, capsys, value):
    monkeypatch.setenv(RETENTION_ENV, value)
    with pytest.raises(ConfigError, match=rf"{RETENTION_ENV}=.*whole number of days"):
        retention_days()
    assert main(["cleanup"]) == 2
    assert f"error: {RETENTION_ENV}={value!r} is not a retention period" in capsys.readouterr().err
    monkeypatch.delenv(RETENTION_ENV)
    assert main(["cleanup", "--days", value]) == 2
    assert f"error: --days={value!r}" in capsys.readouterr().err


def test_cleanup_refuses_a_data_folder_that_does_not_exist(tmp_path, monkeypatch, capsys):
    """A mistyped RADSURV_DATA_DIR: `cleanup --dry-run` created the folder and reported
    'deleted: 0', as if the app's data folder held nothing expired."""
    missing = tmp_path / "dta"
    monkeypatch.setenv("RADSURV_DATA_DIR", str(missing))
    for argv in (["cleanup", "--dry-run", "--json"], ["cleanup", "--json"]):
        assert main(argv) == 2
        error = json.loads(capsys.readouterr().out.splitlines()[-1])["error"]
        assert error == (
            f"The data folder {missing} ($RADSURV_DATA_DIR) does not exist, so it holds nothing "
            "to clean up: set RADSURV_DATA_DIR to the app's data folder."
        )
    assert not missing.exists()
    missing.write_text("")  # a file where the folder should be is named so, not 'does not exist'
    assert main(["cleanup", "--dry-run", "--json"]) == 2
    error = json.loads(capsys.readouterr().out.splitlines()[-1])["error"]
    assert error.startswith(f"The data folder {missing} is a file, not a folder: set RADSURV")


def test_cleanup_json_is_the_last_line_and_deletions_are_audited(data, capsys):
    upload(data, "old", 40)
    fresh = upload(data, "fresh", 0)

    assert main(["cleanup", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert dry["dry_run"] and dry["deleted"] == 1 and (data / "cases/upload-old").exists()

    assert main(["cleanup", "--days", "30", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.splitlines()[-1])
    assert result["deleted"] == 1 and result["freed_bytes"] == 1020
    assert result["items"][0]["path"] == "cases/upload-old"
    assert result["by_area"] == {"uploads": {"items": 1, "bytes": 1020}}
    assert result["usage_bytes"]["uploads"] == 1020 and fresh.exists()
    assert "deleted uploads cases/upload-old" in captured.err
    (line,) = [entry for entry in read_audit() if entry["action"] == "cleanup"]
    assert line["deleted"] == 1 and line["freed_bytes"] == 1020 and line["outcome"] == "ok"


def test_a_crash_between_rename_and_delete_never_shows_half_a_case(data, monkeypatch):
    old = upload(data, "old", 40)
    files = {p.name: p.read_bytes() for p in old.iterdir()}

    def crash(path: Path) -> None:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(retention, "_remove", crash)
        with pytest.raises(RuntimeError):
            cleanup(30)
    # readers of cases/ see no trace of it; the trash holds it whole, out of their sight
    assert list((data / "cases").iterdir()) == []
    (moved,) = (data / TRASH).iterdir()
    assert {p.name: p.read_bytes() for p in moved.iterdir()} == files

    report = cleanup(30)
    assert [(item.area, item.bytes) for item in report.removed] == [("trash", 1020)]
    assert list((data / TRASH).iterdir()) == []


def test_an_item_that_cannot_be_moved_is_reported_and_the_rest_still_go(data, monkeypatch):
    upload(data, "a", 40)
    upload(data, "b", 40)
    rename = os.rename

    def refuse_a(source, target):
        if Path(source).name == "upload-a":
            raise PermissionError("read-only")
        rename(source, target)

    monkeypatch.setattr(retention.os, "rename", refuse_a)
    report = cleanup(30)
    assert [item.path for item in report.removed] == ["cases/upload-b"]
    assert len(report.errors) == 1 and "cases/upload-a: read-only" in report.errors[0]
    assert main(["cleanup", "--json"]) == 1


def test_disk_usage_counts_the_bytes_written_per_area(data):
    sizes = {
        "cases/upload-1/a.dcm": ("uploads", 1001),
        "cache/volumes/k/a.npy": ("caches", 2002),
        "tmp/radsurv-case-1/x": ("caches", 30),
        "cache/features/h/a.json": ("feature_cache", 404),
        "features/abc-wei2021-1.parquet": ("feature_cache", 505),
        "runs/jobs/j1/log.txt": ("job_logs", 606),
        "runs/mlflow.db": ("runs", 7007),
        "runs/0a1b/fold-0.pt": ("runs", 808),
        "runs/registry/risk/v1/model.json": ("models", 909),
        "models/demo-default/model.json": ("models", 111),
        "demo/cohort/clinical.csv": ("demo", 222),
        "cohorts/site-a/clinical.csv": ("cohorts", 333),
        "keys/deid.key": ("other", 32),
        "logs/audit.log": ("other", 444),
    }
    expected = dict.fromkeys(AREAS, 0)
    for path, (area, size) in sizes.items():
        write(data / path, size)
        expected[area] += size
    usage = disk_usage()
    assert usage == {**expected, "total": sum(size for _, size in sizes.values())}


def test_the_startup_cleanup_audits_deletions_and_never_raises(data, monkeypatch, caplog):
    from ui.retention import _cleanup_quietly

    old = upload(data, "old", 40)
    _cleanup_quietly(data)
    assert not old.exists()
    (line,) = [entry for entry in read_audit() if entry["action"] == "cleanup"]
    assert line["user"] == "server" and line["deleted"] == 1

    monkeypatch.setenv(RETENTION_ENV, "soon")
    _cleanup_quietly(data)  # logged, not raised
    assert "start-up cleanup failed" in caplog.text


def test_a_running_server_cleans_up_again_after_its_start(data, monkeypatch):
    """The cleanup ran once, at the server's start: an upload expiring while it ran was kept."""
    import threading

    from ui import retention

    calls = []
    monkeypatch.setattr(retention, "CLEANUP_EVERY_S", 0.01)
    monkeypatch.setattr(retention, "_cleanup_quietly", lambda root: calls.append(root))
    stop = threading.Event()
    worker = threading.Thread(target=retention._cleanup_periodically, args=(data, stop))
    worker.start()
    while len(calls) < 3:
        threading.Event().wait(0.01)
    stop.set()
    worker.join(5)
    assert not worker.is_alive() and calls[:3] == [data] * 3


def test_the_first_page_after_a_start_beside_a_job_folder_loads(tmp_path):
    """A server start with a training job's folder: the cleanup thread imported pydicom (through
    the job's config) while the first page did, and that page showed "cannot import name
    'Dataset' from partially initialized module 'pydicom.dataset'". A fresh interpreter, as a
    server's start is (in this one pydicom is imported already)."""
    import subprocess
    import sys

    (tmp_path / "data" / "runs" / "jobs" / "20260101-000000-x-abcdef").mkdir(parents=True)
    script = (
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({str(ROOT / 'app.py')!r}, default_timeout=300).run()\n"
        "print('EXCEPTIONS', [e.message for e in app.exception])\n"
    )
    env = {**os.environ, "RADSURV_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert "EXCEPTIONS []" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


def test_an_admin_sees_the_disk_use_and_cleans_up_on_the_users_page(data, tmp_path, monkeypatch):
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    from survival_core.security import users
    from ui.auth import AUTH_STATUS, CREDENTIAL, USERNAME

    accounts = tmp_path / "users.yaml"
    users.add_user("admin", "admin", "a password for tests", path=accounts)
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(accounts))
    previous = config.get_option("server.address")
    config.set_option("server.address", "localhost")
    old = upload(data, "old", 40)
    try:
        app = AppTest.from_file(str(ROOT / "pages/users.py"), default_timeout=60)
        app.session_state[AUTH_STATUS] = True
        app.session_state[USERNAME] = "admin"
        app.session_state[CREDENTIAL] = users.read_users(accounts).credential("admin")
        app.run()
        assert not app.exception
        assert "Storage" in [header.value for header in app.subheader]
        shown = app.dataframe[-1].value
        assert shown.set_index("area")["bytes"][AREAS["uploads"]] == 1020
        app.button(key="storage-cleanup").click().run()
        assert not app.exception and not old.exists()
        assert any("Deleted 1 item(s)" in success.value for success in app.success)
        assert app.dataframe[-1].value.set_index("area")["bytes"][AREAS["uploads"]] == 0
    finally:
        config.set_option("server.address", previous)
    (line,) = [entry for entry in read_audit() if entry["action"] == "cleanup"]
    assert line["user"] == "admin" and line["freed_bytes"] == 1020


def test_a_run_reusing_a_cohorts_feature_table_marks_it_used(data, tmp_path):
    from types import SimpleNamespace

    from survival_core.features.cohort import failures_path, feature_table_path, warnings_path
    from survival_core.features.presets import get_preset
    from survival_core.runs.runner import _cohort_tables

    cohort = tmp_path / "cohort"
    write(cohort / "cases/C1/ct.nii.gz")
    write(cohort / "cases/C1/gtv.nii.gz")
    (cohort / "manifest.csv").write_text(
        "case_id,format,image,organ_mask,gtv_mask,rtstruct,modality\n"
        "C1,nifti,cases/C1/ct.nii.gz,,cases/C1/gtv.nii.gz,,CT\n"
    )
    table = age(write(feature_table_path(cohort, "wei2021", get_preset("wei2021", "CT"))), 40)
    # its failures table, which every run's report reads: it expired apart from the table
    failures_path(table).write_text("case_id,error\n")
    failures = age(failures_path(table), 40)
    warnings_path(table).write_text("case_id,warning\nC1,gtv.nii:2 is taken as the GTV.\n")
    warnings = age(warnings_path(table), 40)  # its cases' load warnings, which the run reports
    features = SimpleNamespace(radiomics=["wei2021"], companions=(), deep=None)
    tables = _cohort_tables(
        SimpleNamespace(features=features), cohort, tmp_path, None, print, None, []
    )
    assert tables == [cohort / "clinical.csv", table]
    assert not cleanup(30).removed and table.exists() and failures.exists() and warnings.exists()


def test_a_feature_tables_failures_and_warnings_are_kept_and_deleted_with_it(data):
    """Each file of features/ was an item of its own: a table's warnings table (its cases
    loaded with warnings) could expire apart from it and a run reusing the table reported its
    cases as loaded without warnings. A table and the tables beside it are one item: kept while
    any is in use, deleted together, counted as one."""
    from survival_core.features.cohort import failures_path, warnings_path

    kept = age(write(data / "features/abc-wei2021-1.parquet"), 60)
    kept_beside = [age(write(failures_path(kept)), 60), write(warnings_path(kept))]  # fresh
    gone = age(write(data / "features/abc-han2020-2.parquet"), 60)
    gone_beside = [age(write(failures_path(gone)), 45), age(write(warnings_path(gone)), 40)]
    orphan = age(write(data / "features/abc-han2020-3.warnings.csv"), 50)  # its table deleted

    report = cleanup(30)

    assert all(path.exists() for path in (kept, *kept_beside))
    assert not any(path.exists() for path in (gone, *gone_beside, orphan))
    removed = {(item.path, item.bytes, round(item.idle_days)) for item in report.removed}
    assert removed == {
        ("features/abc-han2020-2.parquet", 300, 40),
        ("features/abc-han2020-3.warnings.csv", 100, 50),
    }


def test_a_cancelled_jobs_folder_stays_as_the_record_of_its_cancellation(data):
    """Deleting an old cancelled job's folder turned its run from CANCELLED into FAILED on the
    Training page: cancel.json is the only record of the cancellation."""
    cancelled = job(data, "cancelled-job", 90)
    (cancelled / "cancel.json").write_text("{}")
    age(cancelled, 90)
    assert not cleanup(30).removed and cancelled.exists()


def test_uploads_on_another_file_system_go_through_a_trash_beside_them(data, monkeypatch):
    """`cases/` mounted from another disk: the rename into <data>/.trash failed across devices
    ('Invalid cross-device link') at every cleanup, and expired uploads were never deleted."""
    import errno

    old = upload(data, "old", 40)
    rename = os.rename

    def across_devices(source, target):
        if Path(target).parent == data / TRASH:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        rename(source, target)

    monkeypatch.setattr(retention.os, "rename", across_devices)
    report = cleanup(30)
    assert not report.errors and [item.path for item in report.removed] == ["cases/upload-old"]
    assert not old.exists() and list((data / "cases" / TRASH).iterdir()) == []
