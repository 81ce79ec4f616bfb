"""The app's active model as `score` and the pages resolve it: one resolution
(:mod:`survival_core.runs.active`), the registry asked whenever it can be read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import ui.models as models
from survival_core.cli.main import main
from survival_core.errors import InputError
from survival_core.models.scoring import load_scoring_model
from survival_core.runs.store import ACTIVE_FILE, RunStore
from survival_core.workflows.scoring import score_values
from survival_core.workflows.training import train_model
from tests.test_cli import _gbsg2_table

#: A GBSG2 patient's clinical values, as `score --values` reads them.
PATIENT = {"age": 60, "menostat": "Post", "tsize": 25, "tgrade": "II", "pnodes": 3,
           "progrec": 50, "estrec": 40, "horTh": "no"}  # fmt: skip


@pytest.fixture(scope="module")
def penalised(tmp_path_factory) -> dict[float, Path]:
    """Cox models of the real GBSG2 cohort with three penalties (three different risks)."""
    folder = tmp_path_factory.mktemp("gbsg2")
    _gbsg2_table(folder / "gbsg2.csv")
    models = {penalty: folder / f"p{penalty}" for penalty in (0.01, 1.0, 10.0)}
    for penalty, out in models.items():
        train_model([folder / "gbsg2.csv"], "coxph", {"penalizer": penalty}, out)
    return models


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, penalised) -> Path:
    """A data folder of its own (its own run store), whose demo default model is the GBSG2
    Cox model of penalty 10, and the patient's values as ``values.json`` beside it."""
    data = tmp_path / "data"
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    shutil.copytree(penalised[10.0], data / "models" / "demo-default")
    (tmp_path / "values.json").write_text(json.dumps(PATIENT))
    return data


def _register(store: RunStore, model: Path, name: str) -> str:
    """Register ``model`` as the next version of ``name`` from a run of its own, its card
    naming that run (as a training run's does); the run's id."""
    with store.start_run(name, {"name": name}) as run:
        pass
    fitted = store.root.parent / "fitted" / run.run_id
    shutil.copytree(model, fitted)
    card = json.loads((fitted / "card.json").read_text())
    card["cv"] = {**(card.get("cv") or {}), "provenance": {"run_id": run.run_id}}
    (fitted / "card.json").write_text(json.dumps(card))
    store.register_model(run.run_id, fitted, name)
    return run.run_id


def _risk(model: Path) -> float:
    return score_values(PATIENT, load_scoring_model(model), "values").risk


def _score(values: Path, capsys: pytest.CaptureFixture) -> tuple[dict, str]:
    """`score --values` without --model: its JSON and what it said on stderr."""
    assert main(["score", "--values", str(values), "--json"]) == 0
    said = capsys.readouterr()
    return json.loads(said.out.strip().splitlines()[-1]), said.err


def _pages(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """The pages' default model (the sidebar's first choice) and what the sidebar says."""
    monkeypatch.setattr(models, "current_store", lambda: store)
    problems: list[str] = []
    choices = models.model_choices(problems)
    assert choices[0].default
    return choices[0].folder, problems


def _demo_used_saying(
    warning: str,
    data: Path,
    store: RunStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> tuple[dict, Path]:
    """`score` and the pages both use the demo default model, saying ``warning`` (the pages'
    words; `score` tells its user the commands, :func:`_in_commands`): the score's JSON and the
    demo model's folder."""
    scored, said = _score(data.parent / "values.json", capsys)
    assert said.splitlines() == [f"warning: {_in_commands(warning)}"]
    demo = data / "models" / "demo-default"
    assert scored["risk"] == pytest.approx(_risk(demo))
    assert _pages(store, monkeypatch) == (demo, [warning])
    return scored, demo


def _in_commands(said: str) -> str:
    """What the pages say (``said``), as `score` says it: what to do in commands."""
    pages = "make another model active (the Training page's Promote, `train --activate`)."
    assert said.endswith(pages)
    return said.removesuffix(pages) + (
        "score with --model MODEL_DIR, or make another model active (`python -m survival_core "
        "train --config FILE --activate`, or Promote on the app's Training page)."
    )


def test_a_deleted_active_model_is_not_scored_by_score_nor_the_pages(
    data: Path, penalised, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The active gbsg v1 deleted in MLflow and another model registered as gbsg v1: `score`
    kept scoring the deleted model's local copy, saying 'scoring with the active model gbsg v1'
    (the label the registry now gives the other), while the pages scored with the demo default
    model: one patient, two risks. Now both use the demo default model and say which model was
    deleted, by its run."""
    store = RunStore(data / "runs")
    old = _register(store, penalised[1.0], "gbsg")
    store.set_active("gbsg", 1)
    scored, said = _score(data.parent / "values.json", capsys)
    assert f"scoring with the active model gbsg v1 (run {old[:8]})" in said
    assert scored["run_id"] == old and scored["risk"] == pytest.approx(_risk(penalised[1.0]))

    store.client.delete_registered_model("gbsg")
    new = _register(store, penalised[0.01], "gbsg")
    deleted = (
        f"The app's active model gbsg v1 (run {old[:8]}) was deleted from the model registry, "
        f"and its name and version now belong to another model (run {new[:8]}): it is no "
        "longer used, the demo default model is used instead; make another model active (the "
        "Training page's Promote, `train --activate`)."
    )
    scored, demo = _demo_used_saying(deleted, data, store, monkeypatch, capsys)
    assert "run_id" not in scored and scored["model"] == "demo-default"
    assert _risk(demo) != pytest.approx(_risk(penalised[1.0]))

    store.set_active("gbsg", 1)  # the new gbsg v1; then its version alone deleted
    store.client.delete_model_version("gbsg", "1")
    deleted = deleted.replace(old[:8], new[:8]).replace(
        f", and its name and version now belong to another model (run {new[:8]})", ""
    )
    _demo_used_saying(deleted, data, store, monkeypatch, capsys)


@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")
def test_an_archived_active_model_is_retired_as_a_deleted_one(
    data: Path, penalised, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """An active version moved to MLflow's stage 'Archived' stayed the active model: listed
    active, the pages' default and `score`'s model."""
    store = RunStore(data / "runs")
    run_id = _register(store, penalised[1.0], "gbsg")
    store.set_active("gbsg", 1)
    store.client.transition_model_version_stage("gbsg", "1", "Archived")
    archived = (
        f"The app's active model gbsg v1 (run {run_id[:8]}) was archived in the model registry "
        "(stage 'Archived'): it is no longer used, the demo default model is used instead; make "
        "another model active (the Training page's Promote, `train --activate`)."
    )
    _demo_used_saying(archived, data, store, monkeypatch, capsys)
    assert not store.list_models()["active"].any()


@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")
def test_an_archived_or_deleted_version_cannot_be_made_active(data: Path, penalised) -> None:
    """An archived version was made active (then retired at once: the demo default model
    used); now it is refused naming the version, its stage and what to do, as a deleted one
    is, and the active model stays as it was."""
    store = RunStore(data / "runs")
    kept = _register(store, penalised[10.0], "kept")
    store.set_active("kept", 1)
    run_id = _register(store, penalised[1.0], "gbsg")
    store.client.transition_model_version_stage("gbsg", "1", "Archived")
    with pytest.raises(InputError) as refused:
        store.set_active("gbsg", 1)
    assert str(refused.value) == (
        f"gbsg v1 (run {run_id[:8]}) is archived in the model registry (stage 'Archived'), so it "
        "cannot be the active model: make another version active, or move it out of the "
        "archive first (its stage in MLflow)."
    )
    store.client.delete_model_version("gbsg", "1")
    with pytest.raises(InputError, match=r"^Model 'gbsg' has no version 1; versions: none\.$"):
        store.set_active("gbsg", 1)
    active = store.active_model()
    assert (
        active.name,
        active.version,
        json.loads((data / "runs" / ACTIVE_FILE).read_text())["run_id"],
    ) == ("kept", 1, kept)


def test_with_the_registry_database_moved_away_score_uses_the_local_copy(
    data: Path, penalised, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The data folder's mlflow.db moved away: opening the store created an empty one, in
    which the active model looked deleted (scored with the demo default model, 'was deleted from
    the model registry'). It is a registry that cannot be read: the local copy, no file made."""
    store = RunStore(data / "runs")
    run_id = _register(store, penalised[1.0], "gbsg")
    store.set_active("gbsg", 1)
    (data / "runs" / "mlflow.db").rename(data / "mlflow.db.moved")
    scored, said = _score(data.parent / "values.json", capsys)
    assert scored["risk"] == pytest.approx(_risk(penalised[1.0])) and scored["run_id"] == run_id
    assert said.startswith(
        "warning: the model registry cannot be read (its database runs/mlflow.db is missing "
        "(moved or deleted)): the active model gbsg v1 is used from its local copy"
    )
    assert not (data / "runs" / "mlflow.db").exists()
    _, problems = _pages(store, monkeypatch)
    assert problems == [
        "The run store cannot be read (its database runs/mlflow.db is missing (moved or "
        "deleted)): the active model gbsg v1 is used from its local copy; the other trained "
        "models are not listed."
    ]


def test_with_the_registry_unreadable_score_uses_the_local_copy_and_says_so(
    data: Path, penalised, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Only a registry that cannot be read at all lets `score` use the active model's local
    copy, as the pages do, saying so."""
    store = RunStore(data / "runs")
    run_id = _register(store, penalised[1.0], "gbsg")
    store.set_active("gbsg", 1)
    with (data / "runs" / "mlflow.db").open("r+b") as database:  # the store gone
        database.write(b"\0" * 100)
    scored, said = _score(data.parent / "values.json", capsys)
    assert scored["risk"] == pytest.approx(_risk(penalised[1.0])) and scored["run_id"] == run_id
    warning, scoring = said.splitlines()
    assert warning.startswith("warning: the model registry cannot be read (The run store ")
    assert warning.endswith(
        "): the active model gbsg v1 is used from its local copy, as it was when last made "
        "active here (the registry could not say whether it is still registered)."
    )
    assert scoring == f"scoring with the active model gbsg v1 (run {run_id[:8]})"
