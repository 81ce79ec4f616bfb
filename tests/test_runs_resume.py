"""Resuming a training run reuses only what was computed on the same data, folds and code: its
finished folds and the model version it registered before it was interrupted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from survival_core.cli.main import main
from survival_core.models.card import ModelCard
from survival_core.runs import runner
from survival_core.runs import store as store_module
from survival_core.runs.config import load_config
from survival_core.runs.runner import run_training
from survival_core.runs.store import (
    TAG_FIT,
    TAG_SUPERSEDED,
    RunStore,
    code_version,
    source_digest,
)
from tests import clinical_exports


@pytest.fixture(scope="module")
def veterans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The veterans' lung cancer trial as a table-only cohort (clinical.csv, no manifest)."""
    root = tmp_path_factory.mktemp("veterans")
    out = root / "cohort"
    sheet = clinical_exports.veterans(root).path
    assert main(["cohort", "import", "--clinical", str(sheet), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def store() -> RunStore:
    return RunStore()


def _config(folder: Path, cohort: Path, name: str) -> Path:
    """A quick coxph run of ``cohort`` (a copy of it in ``folder``, which a test may correct)."""
    own = folder / "cohort"
    shutil.copytree(cohort, own)
    config = {
        "name": name,
        "cohort": str(own),
        "model": {"name": "coxph", "params": {"penalizer": 0.1}},
        "protocol": {"name": "nested_cv", "repeats": 1, "folds": 3},
        "horizons": [90, 180],
        "bootstrap": 50,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _interrupted(config, patch: pytest.MonkeyPatch, where: object, attribute: str, **kw) -> None:
    """Run ``config``, Ctrl-C at ``where.attribute`` (the run is left FAILED)."""

    def stop(*args, **kwargs):
        raise KeyboardInterrupt("Ctrl-C")

    with patch.context() as inner:
        inner.setattr(where, attribute, stop)
        with pytest.raises(KeyboardInterrupt):
            run_training(config, **kw)


def test_a_version_registered_before_the_data_changed_is_not_reused(
    veterans, tmp_path, store, monkeypatch
):
    """Killed while --activate waited (its model registered), the clinical table corrected, then
    resumed: every fold ran on the corrected data and its metrics were logged, but the version
    fitted on the old data was reused and activated, its card saying another c-index."""
    path = _config(tmp_path, veterans, "vet-act")
    config = load_config(path)
    _interrupted(config, monkeypatch, RunStore, "set_active", activate=True, store=store)
    run_id = store.list_runs("vet-act")["run_id"][0]
    assert store.registered_version(run_id, "vet-act") == 1
    clinical = path.parent / "cohort" / "clinical.csv"
    table = pd.read_csv(clinical)  # the export corrected: ten deaths were follow-up ends
    table.loc[table["event"] == 1, "event"] = [0] * 10 + [1] * (int(table["event"].sum()) - 10)
    table.to_csv(clinical, index=False)

    said: list[str] = []
    resumed = run_training(config, resume=run_id, activate=True, store=store, progress=said.append)
    assert (resumed.run_id, resumed.model_version) == (run_id, "2")
    assert "note: 3 finished fold(s) not reused, computed again: the data changed" in "\n".join(
        said
    )
    assert any("vet-act v1, registered by this run before it was interrupted" in s for s in said)
    name, version, folder = store.active_model()
    assert (name, version) == ("vet-act", 2)
    card = ModelCard.load(folder)
    assert card.cv["c_index"] == pytest.approx(resumed.metrics["c_index"])
    first = store.client.get_model_version("vet-act", "1")
    second = store.client.get_model_version("vet-act", "2")
    assert first.tags[TAG_SUPERSEDED] == "2" and first.tags[TAG_FIT] != second.tags[TAG_FIT]
    assert (
        second.tags["data.table:clinical.csv"]
        == store.get_run(run_id).tags["data.table:clinical.csv"]
    )
    assert ModelCard.load(store.model_folder("vet-act", 1)).cv["c_index"] != pytest.approx(
        resumed.metrics["c_index"]
    )  # v1 keeps its own copy and card


def test_folds_of_other_code_are_computed_again_and_the_earlier_code_is_kept(
    veterans, tmp_path, store, monkeypatch
):
    """Resumed after a code upgrade, the folds of the old code were reused beside the new
    code's, and the run's code version re-tagged to the new one alone."""
    config = load_config(_config(tmp_path, veterans, "vet-code"))
    _interrupted(config, monkeypatch, runner, "_fit_final_model", store=store)
    run_id = store.list_runs("vet-code")["run_id"][0]
    folds = store.get_run(run_id).folder / "folds"
    stamps = {p.name: p.stat().st_mtime_ns for p in folds.glob("*.json")}
    assert len(stamps) == 3
    old = store.get_run(run_id).tags["radsurv.code_version"]

    said: list[str] = []  # the same code: every fold reused
    _interrupted(config, monkeypatch, runner, "_fit_final_model", store=store, resume=run_id,
                 progress=said.append)  # fmt: skip
    assert {p.name: p.stat().st_mtime_ns for p in folds.glob("*.json")} == stamps
    assert not any("not reused" in s for s in said)

    monkeypatch.setattr(store_module, "code_version", lambda: "9.9.9+gfeedfacecafe")
    said.clear()
    upgraded = RunStore()  # a new process: the new code's store
    resumed = run_training(config, resume=run_id, store=upgraded, progress=said.append)
    assert resumed.status == "FINISHED"
    assert "note: 3 finished fold(s) not reused, computed again: computed by other code" in (
        "\n".join(said)
    )
    assert all(p.stat().st_mtime_ns != stamps[p.name] for p in folds.glob("*.json"))
    origin = json.loads((folds / "r000-f000.json").read_text())["_origin"]
    assert origin["code"].startswith("9.9.9+gfeedfacecafe (sources ")
    tags = store.get_run(run_id).tags
    assert tags["radsurv.code_version"] == "9.9.9+gfeedfacecafe"
    assert tags["radsurv.earlier_code_versions"] == old


def test_folds_of_a_version_that_recorded_no_origin_are_said_to_be_of_other_code(
    veterans, tmp_path, store, monkeypatch
):
    """Folds written before their origin was recorded (the previous version's): every one was
    said to be computed again because 'the data changed', which it had not."""
    config = load_config(_config(tmp_path, veterans, "vet-old"))
    _interrupted(config, monkeypatch, runner, "_fit_final_model", store=store)
    run_id = store.list_runs("vet-old")["run_id"][0]
    for path in (store.get_run(run_id).folder / "folds").glob("*.json"):
        written = json.loads(path.read_text())
        del written["_origin"]  # as the previous version wrote it, signed without the code
        written["_signature"] = "a signature of the previous version"
        path.write_text(json.dumps(written))
    said: list[str] = []
    assert run_training(config, resume=run_id, store=store, progress=said.append).status == (
        "FINISHED"
    )
    shown = "\n".join(said)
    assert "computed again: computed by other code (a version that did not record it" in shown
    assert "the data changed" not in shown


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=folder, check=True,
        capture_output=True,
    )  # fmt: skip


def test_an_edited_tree_is_marked_dirty_and_its_sources_hashed(tmp_path):
    """Uncommitted edits gave the commit's version alone ('+g<hash>'), so a fold of edited code
    could not be told from the commit's."""
    package = tmp_path / "package"
    package.mkdir()
    (package / "model.py").write_text("LEAF = 10\n")
    _git(package, "init", "-q")
    _git(package, "add", "model.py")
    _git(package, "commit", "-q", "-m", "first")
    clean, digest = code_version(package), source_digest(package)
    assert "+g" in clean and not clean.endswith(".dirty")
    (package / "model.py").write_text("LEAF = 40\n")
    assert code_version(package) == f"{clean}.dirty"
    assert source_digest(package) != digest


@pytest.mark.parametrize("server", ["back at once", "gone for good"])
def test_a_store_lost_after_the_folds_is_said_and_the_run_resumes(
    server, veterans, tmp_path, store, monkeypatch, capsys
):
    """The tracking server stopped during the folds: every fold ran, then `train` exited 1 with
    ~220 lines of chained tracebacks, no JSON line, the error shown being the failure to mark
    the run FAILED (runs/set-tag), not the first (runs/log-batch). Now the first failure is said
    as a StoreError naming the store and the resume that finishes the run, and the run is
    FAILED where the store answers again."""
    from survival_core.cli import train as train_command

    name = "vet-lost-" + server.split()[0]
    path = _config(tmp_path, veterans, name)
    real, dead = (store.client, store.uri), "http://127.0.0.1:9"  # nothing answers there
    log_metrics, said = store_module.Run.log_metrics, train_command.progress

    def lost_at_first_fold(line: str) -> None:
        said(line)
        if line.startswith("fold 1/"):  # the server stops; the folds go on, untracked
            store.client = store_module._client_class()(tracking_uri=dead, registry_uri=dead)
            store.uri = dead

    def back_after_one_call(run, *args, **kwargs) -> None:
        try:
            log_metrics(run, *args, **kwargs)
        finally:
            store.client = real[0]

    monkeypatch.setattr(store_module, "RunStore", lambda: store)  # the CLI's, reachable here
    monkeypatch.setattr(train_command, "progress", lost_at_first_fold)
    if server == "back at once":
        monkeypatch.setattr(store_module.Run, "log_metrics", back_after_one_call)
    try:
        assert main(["train", "--config", str(path), "--json"]) == 2
    finally:
        store.client, store.uri = real
    shown = capsys.readouterr()
    result = json.loads(shown.out.splitlines()[-1])
    run_id = store.list_runs(name)["run_id"][0]
    assert result["kind"] == "StoreError" and "Traceback" not in shown.err
    assert result["error"].startswith(
        f"The run store {dead} failed while run {run_id} was tracked (API request to "
        f"{dead}/api/2.0/mlflow/runs/log-batch failed"
    )
    assert result["error"].endswith(
        "check that the tracking server is running and reachable from here; once it answers "
        f"again, `train --resume {run_id}` finishes the run from its saved folds."
    )
    record = store.get_run(run_id)
    if server == "gone for good":  # nothing could mark it: left RUNNING, until resumed or reaped
        assert record.status == "RUNNING" and record.error is None
        return
    assert record.status == "FAILED"
    assert record.error.startswith(f"MlflowException: API request to {dead}/api/2.0/mlflow/runs/")
    monkeypatch.undo()
    resumed = run_training(load_config(path), resume=run_id, store=store)
    assert (resumed.run_id, resumed.status, resumed.model_version) == (run_id, "FINISHED", "1")
