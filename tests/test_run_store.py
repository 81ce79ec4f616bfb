"""Run store: runs with status, metrics and artifacts; dead runs reaped; the model registry and
the app's one active model, loadable and scoring exactly like the folder it was trained into."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survival_core import __version__
from survival_core.errors import ConfigError, InputError
from survival_core.runs.store import (
    ACTIVE_ALIAS,
    MAX_NAME_LENGTH,
    OtherRegistry,
    RunStore,
    config_hash,
    process_alive,
    process_start,
    searched_choice,
)
from tests.case_builders import make_case

CONFIG = {
    "name": "demo",
    "model": {"name": "coxph", "params": {"penalizer": 0.5}},
    "horizons": [365, 730],
    "features": {"deep": None},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> RunStore:
    """One store per module: a fresh SQLite database takes seconds to create."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("MLFLOW_REGISTRY_URI", raising=False)
        yield RunStore(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny Cox model trained by ``train_model`` on a synthetic clinical table (40 patients)."""
    from survival_core.workflows.training import train_model

    folder = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(3)
    albumin = rng.uniform(28, 46, 40)
    time = rng.exponential(900 * np.exp((albumin - 37) / 8))
    table = pd.DataFrame(
        {
            "case_id": [f"C{i:02d}" for i in range(40)],
            "time": np.minimum(time, 2000).round(),
            "event": (time < 2000).astype(int),
            "age": rng.uniform(40, 80, 40).round(),
            "albumin": albumin.round(1),
        }
    )
    table.to_csv(folder / "clinical.csv", index=False)
    train_model([folder / "clinical.csv"], "coxph", {"penalizer": 0.5}, folder / "m")
    return folder / "m"


def _finished_run(store: RunStore, name: str = "demo", c_index: float = 0.7) -> str:
    with store.start_run(name, {**CONFIG, "name": name}, {"manifest": "m1"}) as run:
        run.log_metrics({"c_index": c_index})
    return run.run_id


def test_store_is_local_sqlite_under_its_root_unless_mlflow_tracking_uri_is_set(
    store, tmp_path, monkeypatch
):
    assert store.uri == f"sqlite:///{(store.root / 'mlflow.db').resolve().as_posix()}"
    assert (store.root / "mlflow.db").is_file()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    other = RunStore(tmp_path / "elsewhere")
    run_id = _finished_run(other, "via-env")
    assert other.uri == store.uri and not (tmp_path / "elsewhere" / "mlflow.db").exists()
    assert store.get_run(run_id).status == "FINISHED"
    assert (tmp_path / "elsewhere" / "artifacts" / "via-env" / run_id).is_dir()


@pytest.mark.parametrize("spelt", ["{runs}/./mlflow.db", "{runs}/mlflow.db?timeout=5"])
def test_the_data_folders_own_database_spelt_otherwise_is_its_own_registry(
    tmp_path, monkeypatch, model_dir, spelt
):
    """MLFLOW_TRACKING_URI naming the data folder's own mlflow.db by another spelling was taken
    for another registry: the active model chosen through it was recorded as chosen elsewhere,
    and without the variable `score` and the app refused it (or found no local copy)."""
    from survival_core.runs.store import local_active_model

    runs = tmp_path / "runs"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///" + spelt.format(runs=runs))
    store = RunStore(runs)
    store.register_model(_finished_run(store, "spelt"), model_dir, "spelt")
    active = store.set_active("spelt", 1)
    assert json.loads((runs / "active_model.json").read_text())["own_registry"] is True
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert local_active_model(runs) == active
    assert RunStore(runs).active_model() == active


def test_run_logs_config_params_tags_metrics_and_artifacts(store, tmp_path):
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "km.png").write_bytes(b"png" * 100)
    (tmp_path / "oof.csv").write_text("case_id,risk\nA,0.5\n")
    run = store.start_run("demo", CONFIG, {"manifest": "abc", "table.clinical": "def"})
    assert store.get_run(run.run_id).status == "RUNNING"
    for fold, value in enumerate([0.61, 0.72, 0.68]):
        run.log_metrics({"c_index": value, "ibs": 0.2 + fold / 100}, step=fold)
    run.log_metrics({"c_index": 0.67, "ci_low": 0.6, "uno_c_index": None})
    run.log_params({"search": {"best": {"penalizer": 0.1}}})
    run.log_data_hashes({"table.radiomics": "0123"})
    assert run.log_artifact(plots) == "plots"
    assert run.log_artifact(tmp_path / "oof.csv", "tables") == "tables/oof.csv"
    run.finish()

    record = store.get_run(run.run_id)
    assert record.status == "FINISHED" and record.end_time >= record.start_time
    assert record.name == "demo" and record.folder == store.root / run.run_id
    assert record.tags["radsurv.pid"] == str(os.getpid())
    assert record.tags["radsurv.config_hash"] == config_hash(CONFIG)
    assert record.tags["radsurv.code_version"].startswith(__version__)
    assert record.tags["data.manifest"] == "abc" and record.tags["data.table.clinical"] == "def"
    assert record.tags["data.table.radiomics"] == "0123"
    assert record.params["model.params.penalizer"] == "0.5"
    assert record.params["horizons"] == "[365, 730]" and record.params["features.deep"] == "null"
    assert record.params["search.best.penalizer"] == "0.1"
    assert record.metrics["c_index"] == 0.67 and "uno_c_index" not in record.metrics
    assert store.run_config(run.run_id) == CONFIG

    folds = store.fold_metrics(run.run_id)
    assert folds.index.tolist() == [0, 1, 2]
    assert folds["c_index"].tolist() == [0.61, 0.72, 0.68]
    assert folds["ibs"].tolist() == pytest.approx([0.2, 0.21, 0.22])

    artifacts = store.root / "artifacts" / "demo" / run.run_id / "artifacts"
    assert (artifacts / "plots" / "km.png").read_bytes() == b"png" * 100
    assert (artifacts / "tables" / "oof.csv").read_text().startswith("case_id,risk")
    assert (artifacts / "config.yaml").is_file()
    assert not list(artifacts.rglob(".*"))  # no temporary leftovers

    runs = store.list_runs("demo")
    row = runs.set_index("run_id").loc[run.run_id]
    assert row["status"] == "FINISHED" and row["c_index"] == 0.67 and row["ci_low"] == 0.6
    assert "fold/c_index" not in runs.columns
    assert list(runs.columns[:6]) == ["run_id", "name", "status", "start_time", "end_time", "error"]
    assert store.list_runs("never-ran").empty


def test_run_context_manager_marks_failure_with_the_message(store):
    with pytest.raises(RuntimeError), store.start_run("demo", CONFIG) as run:
        raise RuntimeError("fold 3 ran out of memory")
    record = store.get_run(run.run_id)
    assert record.status == "FAILED" and record.error == "RuntimeError: fold 3 ran out of memory"
    assert store.list_runs().set_index("run_id").loc[run.run_id, "error"] == record.error
    # Ctrl-C carries no text: the Training page showed 'KeyboardInterrupt: '
    with pytest.raises(KeyboardInterrupt), store.start_run("demo", CONFIG) as run:
        raise KeyboardInterrupt
    assert store.get_run(run.run_id).error == "Interrupted (Ctrl-C, or the process was stopped)."
    with pytest.raises(MemoryError), store.start_run("demo", CONFIG) as run:
        raise MemoryError
    assert store.get_run(run.run_id).error == "MemoryError"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.start_run("bad name!", CONFIG), "letters, digits"),
        (lambda s: s.get_run("0" * 32), "No run with id"),
        (lambda s: s.start_run("demo", CONFIG).finish("KILLED"), "FINISHED or FAILED"),
    ],
)
def test_bad_names_ids_and_statuses_are_refused(store, call, message):
    with pytest.raises((ConfigError, InputError), match=message):
        call(store)


def test_process_liveness():
    me = os.getpid()
    assert process_alive(me, process_start(me))
    assert not process_alive(me, "1")  # same pid, another start time: a reused pid
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)


def test_sigkilled_run_is_reaped_and_leaves_other_runs_and_registry_intact(store, model_dir):
    earlier = _finished_run(store, "kept")
    version = store.register_model(earlier, model_dir, "kept")
    store.set_active("kept", version)
    models_before = store.list_models()
    mine = store.start_run("demo", CONFIG)  # alive: this process

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    script = (
        "import sys, time\n"
        "from survival_core.runs.store import RunStore\n"
        f"run = RunStore({str(store.root)!r}).start_run('killed', {CONFIG!r})\n"
        "print(run.run_id, flush=True)\n"
        "time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=store.root.parent,
    )
    killed = child.stdout.readline().strip()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.stdout.read() == "" and child.stderr.read() == ""  # MLflow stayed quiet
    assert not (store.root.parent / "mlruns").exists()
    assert store.get_run(killed).status == "RUNNING"

    assert store.reap_dead_runs() == [killed]
    record = store.get_run(killed)
    assert record.status == "FAILED" and f"pid {child.pid}" in record.error
    assert store.get_run(earlier).status == "FINISHED"
    assert store.get_run(mine.run_id).status == "RUNNING"
    assert store.active_model()[:2] == ("kept", version)
    pd.testing.assert_frame_equal(store.list_models(), models_before)
    assert store.reap_dead_runs() == []

    resumed = store.start_run("killed", CONFIG, resume_id=killed)
    record = store.get_run(killed)
    assert record.status == "RUNNING" and record.error is None
    assert record.tags["radsurv.pid"] == str(os.getpid())
    resumed.finish()
    assert store.get_run(killed).status == "FINISHED"
    with pytest.raises(ConfigError, match="already finished"):
        store.start_run("killed", CONFIG, resume_id=killed)
    with pytest.raises(ConfigError, match="still running"):
        store.start_run("demo", CONFIG, resume_id=mine.run_id)
    mine.finish("FAILED", "stopped by the test")
    with pytest.raises(ConfigError, match="another config"):
        store.start_run("demo", {**CONFIG, "seed": 1}, resume_id=mine.run_id)
    with pytest.raises(ConfigError, match="is a run of 'demo'"):
        store.start_run("kept", CONFIG, resume_id=mine.run_id)


def test_two_runs_at_once_keep_their_artifacts_whole(store, tmp_path, monkeypatch):
    """Two threads track two runs at once, each replacing its plots folder five times; at the
    middle of every file copy, both runs' visible plots folders are whole (one version each)."""
    size, names = 64 * 1024, {"p0.png", "p1.png", "p2.png"}
    sources = {}
    for tag, version in itertools.product((1, 2), range(2)):
        folder = tmp_path / f"run{tag}-v{version}"
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes(bytes([tag * 10 + version]) * size)
        sources[tag, version] = folder
    runs = {tag: store.start_run(f"parallel{tag}", CONFIG) for tag in (1, 2)}
    plots = {tag: Path(runs[tag].artifact_uri.removeprefix("file://")) / "plots" for tag in (1, 2)}
    checks, errors, real_copyfile = [], [], shutil.copyfile

    def whole(tag: int) -> bool:
        """Whether run ``tag``'s visible plots folder is whole. Read again where it was swapped
        while being read: the listing was then of the folder set aside (a few names, or none,
        as it is deleted) and the files of its successor, never one visible folder."""
        while True:
            try:
                before = plots[tag].stat()
                files = {p.name: p.read_bytes() for p in plots[tag].iterdir()}
                after = plots[tag].stat()
            except FileNotFoundError:  # not logged yet, or between a swap's two renames
                return True
            if (before.st_ino, before.st_ctime_ns) == (after.st_ino, after.st_ctime_ns):
                break
        return set(files) == names and all(
            len(data) == size and len(set(data)) == 1 and data[0] // 10 == tag
            for data in files.values()
        )

    def copyfile(src, dst, *, follow_symlinks=True):
        if not str(src).endswith(".png"):
            return real_copyfile(src, dst, follow_symlinks=follow_symlinks)
        data = Path(src).read_bytes()
        with open(dst, "wb") as target:
            target.write(data[: size // 2])
            target.flush()
            time.sleep(0.002)  # let the other run's thread run meanwhile
            checks.append(whole(1) and whole(2))
            target.write(data[size // 2 :])
        return dst

    monkeypatch.setattr(shutil, "copyfile", copyfile)

    def work(tag: int) -> None:
        try:
            for round_ in range(5):
                runs[tag].log_artifact(sources[tag, round_ % 2], name="plots")
                runs[tag].log_metrics({"c_index": 0.5 + round_ / 100}, step=round_)
            runs[tag].finish()
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(tag,)) for tag in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.undo()
    assert not errors and checks == [True] * 30
    for tag in (1, 2):
        record = store.get_run(runs[tag].run_id)
        assert record.status == "FINISHED" and record.metrics["fold/c_index"] == 0.54
        folds = store.fold_metrics(record.run_id)["c_index"]
        assert folds.tolist() == [0.5 + r / 100 for r in range(5)]
        assert sorted(p.name for p in plots[tag].parent.iterdir()) == ["config.yaml", "plots"]
        assert {p.read_bytes()[:1] for p in plots[tag].iterdir()} == {bytes([tag * 10])}


def test_registry_versions_active_switch_and_scoring(store, model_dir):
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.scoring import score_case

    run_a, run_b = _finished_run(store, "reg-a", 0.71), _finished_run(store, "reg-a", 0.73)
    assert store.register_model(run_a, model_dir, "reg-a") == 1
    assert store.register_model(run_b, model_dir, "reg-a") == 2
    assert store.register_model(run_b, model_dir, "reg-b") == 1
    with pytest.raises(InputError, match="already registered a model named 'reg-a'"):
        store.register_model(run_b, model_dir, "reg-a")

    active = store.set_active("reg-a", 2)
    assert store.active_model() == active and active[:2] == ("reg-a", 2)
    case = replace(make_case(), clinical={"age": 63.0, "albumin": 31.5})
    original = score_case(case, load_scoring_model(model_dir))
    registered = score_case(case, load_scoring_model(active.folder))
    assert registered.risk == original.risk and registered.survival == original.survival
    assert registered.percentile == original.percentile
    assert registered.risk_group == original.risk_group and registered.imputed == []

    store.set_active("reg-b", "1")
    models = store.list_models().set_index(["name", "version"])
    assert models["active"].sum() == 1 and models.loc[("reg-b", 1), "active"]
    assert models.loc[("reg-a", 1), "run_id"] == run_a
    assert models.loc[("reg-a", 1), "c_index"] == 0.71  # the run's c-index (card has no CV)
    assert models.loc[("reg-a", 1), "model"] == "coxph"
    assert 0.5 < models.loc[("reg-a", 1), "apparent_c_index"] <= 1
    assert ACTIVE_ALIAS not in store.client.get_registered_model("reg-a").aliases
    assert store.client.get_registered_model("reg-b").aliases == {ACTIVE_ALIAS: 1}

    # the local copy is fetched again from the run's artifacts when it was removed
    shutil.rmtree(store.active_model().folder)
    again = store.active_model()
    assert again[:2] == ("reg-b", 1)
    assert score_case(case, load_scoring_model(again.folder)).risk == original.risk
    # a second app on the same database has its own pointer: no active model yet
    assert RunStore(store.root / "other-app", tracking_uri=store.uri).active_model() is None


@pytest.mark.parametrize("remove", [["card.json"], ["model.json"], ["model.json", "card.json"]])
def test_registering_an_incomplete_folder_names_what_is_missing(store, model_dir, tmp_path, remove):
    folder = shutil.copytree(model_dir, tmp_path / "m")
    for name in remove:
        (folder / name).unlink()
    with pytest.raises(InputError, match=" and ".join(remove) + " missing"):
        store.register_model(_finished_run(store), folder, "incomplete")


@pytest.mark.parametrize(
    ("name", "version", "message"),
    [
        ("nope", 1, "No registered model named 'nope'; registered: .*listed"),
        ("listed", 9, "Model 'listed' has no version 9; versions: 1, 2"),
        ("listed", "latest", "no version 'latest'; versions: 1, 2"),
    ],
)
def test_unknown_model_or_version_lists_what_exists(store, model_dir, name, version, message):
    if "listed" not in set(store.list_models()["name"]):
        for _ in range(2):
            store.register_model(_finished_run(store, "listed"), model_dir, "listed")
    with pytest.raises(InputError, match=message):
        store.set_active(name, version)


# -- names, setup failures, interrupted registrations, local registry copies ----------------------
def test_overlong_names_are_refused_before_any_folder_is_made(store, model_dir):
    """A name longer than a folder name may be (255 bytes) was an OSError traceback."""
    long = "a" * 300
    with pytest.raises(ConfigError, match=f"has 300 characters; at most {MAX_NAME_LENGTH}"):
        store.start_run(long, CONFIG)
    with pytest.raises(ConfigError, match="Model name a+... has 300 characters"):
        store.register_model(_finished_run(store), model_dir, long)
    assert store.list_runs(long).empty


def test_a_run_whose_setup_fails_is_failed_not_left_running(store, monkeypatch):
    """A run whose folders or config cannot be written (a name too long for the file system,
    a full disk) is FAILED at once, with the reason, instead of RUNNING until reaped."""
    import survival_core.runs.store as store_module

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module, "write_text", full)
    with pytest.raises(InputError, match="Cannot set up the files of run .* No space left"):
        store.start_run("setup-fails", CONFIG)
    runs = store.list_runs("setup-fails")
    assert runs["status"].tolist() == ["FAILED"] and "No space left" in runs["error"][0]


def test_a_registration_interrupted_before_its_version_is_made_can_be_redone(
    store, model_dir, monkeypatch
):
    run_id = _finished_run(store, "half-registered")
    assert store.registered_version(run_id, "half-registered") is None

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(store.client, "create_model_version", interrupted)
        with pytest.raises(KeyboardInterrupt):
            store.register_model(run_id, model_dir, "half-registered")
    left = [a.path for a in store.client.list_artifacts(run_id, "model")]
    assert left == ["model/half-registered"]  # copied, but no version made
    version = store.register_model(run_id, model_dir, "half-registered")
    assert version == 1 and store.registered_version(run_id, "half-registered") == 1
    with pytest.raises(InputError, match="already registered a model named .* \\(version 1\\)"):
        store.register_model(run_id, model_dir, "half-registered")
    other = _finished_run(store, "half-registered")
    assert store.registered_version(other, "half-registered") is None


@pytest.fixture(scope="module")
def forest_dir(model_dir: Path) -> Path:
    """Another model (a small random survival forest) on the same table as ``model_dir``."""
    from survival_core.workflows.training import train_model

    out = model_dir.parent / "forest"
    train_model([model_dir.parent / "clinical.csv"], "rsf", {"n_estimators": 5}, out)
    return out


def _model_kind(folder: Path) -> str:
    return json.loads((folder / "model.json").read_text())["model"]


def test_local_copies_are_of_the_registry_entry_across_stores_on_one_data_folder(
    store, model_dir, forest_dir, tmp_path
):
    """Two tracking stores (MLFLOW_TRACKING_URI) on one data folder both register 'shared' v1:
    each store's copy, and the active model, hold that store's own model."""
    root = tmp_path / "runs"
    first = RunStore(root, tracking_uri=f"sqlite:///{tmp_path / 'first.db'}")
    second = RunStore(root, tracking_uri=f"sqlite:///{tmp_path / 'second.db'}")
    assert first.register_model(_finished_run(first, "shared"), model_dir, "shared") == 1
    assert second.register_model(_finished_run(second, "shared"), forest_dir, "shared") == 1
    cox = first.set_active("shared", 1)
    assert _model_kind(cox.folder) == "coxph"
    forest = second.set_active("shared", 1)
    assert forest.folder != cox.folder and _model_kind(forest.folder) == "rsf"
    assert _model_kind(first.model_folder("shared", 1)) == "coxph"  # untouched by the second
    assert _model_kind(second.active_model().folder) == "rsf"
    # the pointer names the second store's entry: the first store does not flag its own v1
    assert not first.list_models()["active"].any()
    assert second.list_models()["active"].tolist() == [True]
    # with its copy gone, the first store refuses the pointer rather than fetch its namesake,
    # naming the registry it was chosen in
    shutil.rmtree(forest.folder)
    with pytest.raises(OtherRegistry, match=r"chosen in the model registry \S+/second.db, not in"):
        first.active_model()
    assert _model_kind(second.active_model().folder) == "rsf"  # fetched again


def test_a_model_deleted_and_registered_again_is_fetched_again(store, model_dir, forest_dir):
    old = store.register_model(_finished_run(store, "recreated"), model_dir, "recreated")
    assert _model_kind(store.model_folder("recreated", old)) == "coxph"
    store.client.delete_registered_model("recreated")
    new = store.register_model(_finished_run(store, "recreated"), forest_dir, "recreated")
    assert new == old == 1
    assert _model_kind(store.model_folder("recreated", 1)) == "rsf"


def test_an_active_model_deleted_in_the_registry_is_no_longer_active(
    store, model_dir, forest_dir, monkeypatch
):
    """The active version deleted in MLflow (its UI, its client) and a new one registered under
    its name and number: its local copy kept scoring as 'the active model', and the sidebar hid
    the new version behind it. Now the pointer is refused, each version offered, and the
    Training page still lists the runs and their Promote buttons, the way out."""
    import ui.models as models

    store.register_model(_finished_run(store, "retired"), model_dir, "retired")
    old = store.set_active("retired", 1)
    store.client.delete_registered_model("retired")
    with pytest.raises(InputError, match="active model retired v1 is no longer in the model"):
        store.active_model()
    assert old.folder.is_dir()  # refused although its copy is still there
    store.register_model(_finished_run(store, "retired"), forest_dir, "retired")
    with pytest.raises(InputError, match="no longer that version in the model registry"):
        store.active_model()
    listed = store.list_models()
    assert not listed["active"].any() and (listed["name"] == "retired").sum() == 1
    monkeypatch.setattr(models, "current_store", lambda: store)
    problems: list[str] = []
    offered = [c for c in models.model_choices(problems) if c.label.startswith("retired")]
    assert [(c.label[:15], _model_kind(c.folder)) for c in offered] == [("retired v1 (rsf", "rsf")]
    assert problems[0].startswith("The app's active model retired v1 (run ")
    assert "was deleted from the model registry, and its name and version now" in problems[0]
    assert "sqlite" not in problems[0]
    from streamlit.testing.v1 import AppTest

    training = str(Path(__file__).resolve().parents[1] / "pages" / "training.py")
    app = AppTest.from_file(training, default_timeout=120).run()
    assert [w.value for w in app.warning] == [problems[0]]  # the Risk page's words
    assert not app.error
    assert "Promote retired v1 to active" in [b.label for b in app.button]
    assert _model_kind(store.set_active("retired", 1).folder) == "rsf"


def test_processes_opening_a_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    """Two `train` runs started together on a fresh data folder raced through MLflow's schema
    migrations ('table _alembic_tmp_metrics already exists'), one left the database half
    migrated, and every later run on it failed."""
    opening = "import sys; from survival_core.runs.store import RunStore; RunStore(sys.argv[1])"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("MLFLOW_TRACKING_URI", None)
    for attempt in range(2):
        root = tmp_path / f"runs{attempt}"
        children = [
            subprocess.Popen(
                [sys.executable, "-c", opening, str(root)], env=env, stderr=subprocess.PIPE
            )
            for _ in range(3)
        ]
        errors = [child.communicate(timeout=300)[1].decode() for child in children]
        assert [child.returncode for child in children] == [0, 0, 0], errors
        assert RunStore(root).list_runs().empty


def test_a_store_made_on_a_filling_disk_is_not_left_half_made(tmp_path: Path) -> None:
    """A disk that filled while MLflow built a new SQLite store left it half-migrated: every later
    run failed ('table _alembic_tmp_params already exists') and the app listed no model. The
    store is now built under a temporary name: the attempt leaves nothing, a retry works."""
    limited = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))  # no write past 150 kB
from survival_core.runs.store import RunStore
RunStore({str(tmp_path)!r})
"""
    failed = subprocess.run([sys.executable, "-c", limited], capture_output=True, text=True)
    assert failed.returncode != 0 and "sqlite3.OperationalError" in failed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".registry.lock"]
    store = RunStore(tmp_path)
    assert [e.name for e in store.client.search_experiments()] == ["Default"]


def test_a_full_disk_is_said_in_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """SQLite's 'database or disk is full' reached the CLI wrapped in SQLAlchemy's and MLflow's
    errors (five chained tracebacks, no JSON line); a folder's copy failing on every file printed
    the list of them all."""
    import argparse
    import sqlite3

    from mlflow.exceptions import MlflowException

    import survival_core.cli.main as cli

    def store_write(_args: argparse.Namespace) -> None:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as err:
            raise MlflowException(f"(sqlite3.OperationalError) {err}") from err

    def copy(_args: argparse.Namespace) -> None:
        why = "[Errno 28] No space left on device"
        raise shutil.Error([(f"run/{n}.html", f"reports/{n}.html", why) for n in range(8)])

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path))
    for command, said in [
        (
            store_write,
            f"No space left on device (the data folder {tmp_path}): free space, run again.",
        ),
        (
            copy,
            "[Errno 28] No space left on device: copying to reports/0.html (and 7 more file(s))",
        ),
    ]:
        parser = argparse.ArgumentParser()
        parser.set_defaults(func=command, json=True, verbose=False)
        monkeypatch.setattr(cli, "build_parser", lambda parser=parser: parser)
        assert cli.main([]) == 2
        assert json.loads(capsys.readouterr().out.splitlines()[-1])["error"] == said


def test_a_data_folder_that_is_a_file_is_named_with_its_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from survival_core.paths import data_dir

    (file := tmp_path / "afile").write_text("x")
    monkeypatch.setenv("RADSURV_DATA_DIR", str(file))
    with pytest.raises(
        ConfigError, match=f"The data folder {file} is a file, not a folder: set RADSURV_DATA_DIR"
    ):
        data_dir()


def test_a_copied_or_moved_data_folder_keeps_its_runs_and_models_to_itself(
    model_dir, tmp_path, monkeypatch
):
    """The store kept absolute artifact locations: a copied data folder wrote its new runs'
    models into the old one (re-creating it once gone) and could fetch no registered version
    once the old folder was moved away. Now every location is resolved in the folder in use."""
    from survival_core.runs.store import local_active_model

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    old, copy = tmp_path / "data", tmp_path / "copy"
    first = RunStore(old / "runs")
    first.register_model(_finished_run(first, "moving"), model_dir, "moving")
    first.set_active("moving", 1)
    shutil.copytree(old, copy)

    store = RunStore(copy / "runs")
    run_id = _finished_run(store, "moving")
    assert store.register_model(run_id, model_dir, "moving") == 2
    assert (copy / "runs" / "artifacts" / "moving" / run_id / "artifacts" / "model").is_dir()
    assert not (old / "runs" / "artifacts" / "moving" / run_id).exists()

    shutil.move(old, tmp_path / "data_off")
    # the copied pointer's local copy is the copy's, not the old folder's
    assert local_active_model(copy / "runs").folder.is_relative_to(copy)
    shutil.rmtree(copy / "runs" / "registry")
    for version in (1, 2):  # fetched from this folder's artifacts
        active = store.set_active("moving", version)
        assert active.folder.is_relative_to(copy) and (active.folder / "model.json").is_file()
    assert store.run_config(run_id)["name"] == "moving"
    _finished_run(store, "moving")
    assert not old.exists()  # nothing written to (or re-created in) the old folder


@pytest.fixture
def tracking_server(tmp_path) -> tuple[str, Path]:
    """A local ``mlflow server`` (SQLite backend, a file artifact root it does not serve, as
    ``--no-serve-artifacts`` deployments share a file system): its URI and artifact root."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = tmp_path / "server"
    server.mkdir()
    command = [
        *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--backend-store-uri", f"sqlite:///{server / 'mlflow.db'}", "--workers", "1"),
        *("--default-artifact-root", str(server / "artifacts"), "--no-serve-artifacts"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60  # about 20 s on 2 busy cores
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip("a local mlflow server could not be started")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", server / "artifacts"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_tracking_servers_runs_and_models_keep_their_files_in_its_artifact_root(
    tracking_server, model_dir, tmp_path, monkeypatch
):
    """A server's artifact root laid out ``artifacts/<experiment id>/<run_id>/artifacts`` was
    read as a moved data folder's: runs' files were written into the local data folder, the
    version registered with that local path, and another client found them missing. Now a
    server's locations are used as it gives them, by every client."""
    uri, artifacts = tracking_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mine = RunStore(tmp_path / "mine" / "runs")
    run_id = _finished_run(mine, "served")
    assert mine.register_model(run_id, model_dir, "served") == 1
    assert not (mine.root / "artifacts").exists()
    (config,) = artifacts.glob(f"*/{run_id}/artifacts/config.yaml")
    assert (config.parent / "model" / "served" / "model.json").is_file()

    # another client, another data folder; its password is shown nowhere, kept in no file
    with_password = uri.replace("://", "://alice:S3cretPw@")
    theirs = RunStore(tmp_path / "theirs" / "runs", tracking_uri=with_password)
    assert theirs.run_config(run_id)["name"] == "served"
    assert (theirs.set_active("served", 1).folder / "model.json").is_file()
    assert "S3cretPw" not in (theirs.root / "active_model.json").read_text()
    with pytest.raises(InputError, match=r"No run .* http://alice:\*\*\*@") as refused:
        theirs.get_run("0" * 32)
    assert "S3cretPw" not in str(refused.value)


@pytest.mark.parametrize("fault", ["unreachable server", "damaged database", "locked database"])
def test_a_store_that_cannot_be_opened_is_said_in_one_line_soon(
    fault, store, tmp_path, monkeypatch, capsys
):
    """An unreachable tracking server (254 s of retries), a truncated or a locked database gave
    a traceback and no JSON line; now `train` names the store and what to do, within seconds."""
    import sqlite3

    import survival_core.cli.main as cli

    data = tmp_path / "data"
    (data / "runs").mkdir(parents=True)
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    database = data / "runs" / "mlflow.db"
    if fault == "unreachable server":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://alice:S3cretPw@127.0.0.1:9/")
        # MLflow's long reason (its request's URL, with the password) shortened between words
        said = " ...): check that the tracking server is running and reachable from here"
    elif fault == "damaged database":
        whole = (store.root / "mlflow.db").read_bytes()
        database.write_bytes(whole[: len(whole) // 2])
        said = "database disk image is malformed): its database is damaged"
    else:
        shutil.copy(store.root / "mlflow.db", database)
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        said = "database is locked): another process holds its database"
    started = time.monotonic()
    config = Path(__file__).resolve().parents[1] / "assets" / "configs" / "wei2021.yaml"
    assert cli.main(["train", "--config", str(config), "--json"]) == 2
    assert time.monotonic() - started < 90
    shown = capsys.readouterr()
    result = json.loads(shown.out.splitlines()[-1])
    assert result["kind"] == "StoreError" and said in result["error"]
    assert result["error"].startswith("The run store ") and "S3cretPw" not in shown.out + shown.err


def test_a_store_of_an_older_mlflow_is_said_with_the_upgrade_it_needs(store, tmp_path, monkeypatch):
    """A store one migration behind (written before an MLflow upgrade) was called damaged, with
    the advice to restore it from a backup or move it aside, hiding every run and model. Now
    the upgrade is said with the store's own URI."""
    import sqlite3

    from mlflow.store.db.utils import _get_latest_schema_revision

    from survival_core.errors import StoreError

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    database = tmp_path / "runs" / "mlflow.db"
    database.parent.mkdir()
    shutil.copy(store.root / "mlflow.db", database)
    # one migration behind, its tables all there (a migration of columns): MLflow refuses it
    with contextlib.closing(sqlite3.connect(database)) as copy:
        copy.execute("UPDATE alembic_version SET version_num = '75868b020152'")
        copy.commit()
    with pytest.raises(StoreError) as refused:
        RunStore(database.parent)
    uri, mlflow = f"sqlite:///{database}", f"MLflow {metadata.version('mlflow')}"
    assert str(refused.value) == (
        f"The run store {uri} cannot be opened (its schema is revision 75868b020152; this "
        f"{mlflow} expects {_get_latest_schema_revision()}): it was written by an older MLflow: "
        f"back up its database, then bring it up to date with `mlflow db upgrade {uri}` run "
        f"with {mlflow} (its runs and models are kept)."
    )


def test_a_database_failing_under_a_run_is_said_in_one_line(store, tmp_path, monkeypatch, caplog):
    """A database failing under a run (locked past SQLite's busy timeout, damaged) raised
    MLflow's exception, which MLflow had logged with its traceback (about 60 lines a call), and
    marking the run FAILED raised again, hiding it. Now the run reports a StoreError naming the
    store and the resume that finishes the run, and leaves MLflow's log to --verbose."""
    import sqlite3

    from mlflow.exceptions import MlflowException

    from survival_core.errors import StoreError

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    (tmp_path / "runs").mkdir()
    shutil.copy(store.root / "mlflow.db", tmp_path / "runs" / "mlflow.db")
    own = RunStore(tmp_path / "runs")
    run = own.start_run("dropped", {**CONFIG, "name": "dropped"})
    with contextlib.closing(sqlite3.connect(tmp_path / "runs" / "mlflow.db")) as database:
        database.execute("DROP TABLE metrics")
    with pytest.raises(MlflowException) as raised:
        run.log_metrics({"c_index": 0.7})
    reported = run.fail(raised.value)
    assert isinstance(reported, StoreError) and str(reported) == (
        f"The run store {own.uri} failed while run {run.run_id} was tracked ((sqlite3."
        "OperationalError) no such table: metrics): its database is damaged or not MLflow's: "
        "restore it from a backup, or move it aside to start an empty store (its runs and "
        f"models are then not listed); `train --resume {run.run_id}` finishes the run from its "
        "saved folds only once the database is restored from a backup (an empty store has no "
        "such run)."
    )
    record = own.get_run(run.run_id)  # the store answers otherwise: the run is marked
    assert record.status == "FAILED" and "no such table: metrics" in record.error
    assert not [r for r in caplog.records if r.name.startswith("mlflow")]


def test_an_unreadable_active_pointer_is_its_own_error(tmp_path: Path) -> None:
    """A cut-short active_model.json raised the InputError the registry's refusals raise, and
    the app said the active model had left the registry: it is told apart now."""
    from survival_core.runs.store import UnreadablePointer, local_active_model

    (tmp_path / "active_model.json").write_text('{"name": "gone", "vers')
    with pytest.raises(UnreadablePointer, match="active_model.json is unreadable"):
        local_active_model(tmp_path)


@pytest.mark.parametrize(
    ("written", "flaw"),
    [
        ('{"name": "whas"}', "no model version"),
        ("[]", "a JSON list, not an object"),
        ('{"name": "whas", "version": "v1"}', "version 'v1' is not a version number"),
        ('{"name": "whas", "version": 1, "own_registry": false}', "no registry it was chosen in"),
    ],
)
def test_a_pointer_of_another_shape_is_unreadable_for_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, written: str, flaw: str
) -> None:
    """Valid JSON of another shape in active_model.json (an edit, another file copied there)
    broke `score` with a KeyError or a TypeError: it is said as the unreadable pointer it is, and
    `score` goes on as the pages do, with the demo default model (none here)."""
    from survival_core.cli.main import main

    runs = tmp_path / "data" / "runs"
    runs.mkdir(parents=True)
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    (runs / "active_model.json").write_text(written)
    said = f"{runs / 'active_model.json'} is unreadable ({flaw}); choose the active model again."
    assert main(["score", "--values", str(tmp_path / "patient.json"), "--json"]) == 2
    out, err = capsys.readouterr()
    assert (
        f"warning: The app's active model cannot be read: {said} The demo default model is used "
        "instead; score with --model MODEL_DIR, or make another model active (`python -m "
        "survival_core train --config FILE --activate`, or Promote on the app's Training page)."
    ) in err
    assert json.loads(out.splitlines()[-1])["error"].startswith("No model at ")


def test_a_version_whose_files_are_gone_is_left_out_and_not_promoted(store, model_dir, monkeypatch):
    """One registered version whose artifacts were moved aside broke every page (MLflow's
    exception in the model picker) and its Promote button gave a traceback; a cut-short
    active_model.json was said as the active model having left the registry."""
    import ui.models as models

    older, newer = _finished_run(store, "gone"), _finished_run(store, "gone")
    assert store.register_model(newer, model_dir, "gone") == 1  # the newest run's version
    assert store.register_model(older, model_dir, "gone") == 2
    artifacts = Path(store.get_run(newer).artifact_uri.removeprefix("file://"))
    shutil.move(artifacts / "model", artifacts.parent / "model-aside")
    with pytest.raises(InputError, match=f"The files of model gone v1 are missing: {artifacts}"):
        store.model_folder("gone", 1)
    monkeypatch.setattr(models, "current_store", lambda: store)
    problems: list[str] = []
    offered = [c.label for c in models.model_choices(problems) if c.label.startswith("gone")]
    assert offered == ["gone v2 (coxph, c-index 0.700)"]
    assert [p for p in problems if p.startswith("gone v1 is not offered (its files are missing on")]

    from streamlit.testing.v1 import AppTest

    training = str(Path(__file__).resolve().parents[1] / "pages" / "training.py")
    app = AppTest.from_file(training, default_timeout=120).run()
    next(b for b in app.button if b.label == "Promote gone v1 to active").click().run()
    assert not app.exception
    assert any(e.value.startswith("gone v1 cannot be made active: The files") for e in app.error)

    pointer = store.root / "active_model.json"
    saved = pointer.read_bytes() if pointer.exists() else None
    pointer.write_text('{"name": "gone", "vers')  # cut short
    try:
        problems.clear()
        models.model_choices(problems)
        assert problems[0].startswith(f"The app's active model cannot be read: {pointer} is")
    finally:
        pointer.write_bytes(saved) if saved is not None else pointer.unlink()


def test_a_searched_choice_is_listed_as_the_run_report_says_it():
    """A search choosing two parameters, one a bool, was listed 'penalizer=0.1398,
    normalize=true' (the tags' JSON) where the run's report says 'normalize=True' (the search's
    params_text); the listing is sorted by name, the tags keeping no order."""
    from survival_core.text import params_text

    best = {"penalizer": 0.13984, "normalize": True, "solver": "lbfgs", "n_estimators": 200}
    tags = {**{f"search.best.{k}": v for k, v in best.items()}, "search.best_score": "0.71"}
    tags = {k: v if isinstance(v, str) else json.dumps(v) for k, v in tags.items()}
    assert searched_choice(tags) == (
        "n_estimators=200, normalize=True, penalizer=0.1398, solver=lbfgs"
    )
    assert searched_choice(tags) == params_text(dict(sorted(best.items())))
    assert searched_choice({"outcome.time_column": "time"}) is None
