"""Training runs end to end: ``train --config``, tracking, registry, resume after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sksurv.util import Surv

from survival_core.cli.main import main
from survival_core.errors import InputError
from survival_core.io.case_loader import load_case
from survival_core.models.card import ModelCard
from survival_core.models.scoring import load_scoring_model
from survival_core.runs.config import MAX_SEED, load_config
from survival_core.runs.runner import EXTERNAL_PREFIX, run_training
from survival_core.runs.store import RunStore
from survival_core.workflows.scoring import score_case
from tests import clinical_exports
from tests.real_cohorts import NODES_TAKEN, lung_cohort, lungs_with_nodes

pytestmark = pytest.mark.heavy(110)  # many tracked runs: a CNN, DSFR, a killed and resumed one

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    from survival_core.synthetic.generate import generate_cohort

    root = tmp_path_factory.mktemp("run-cohorts")
    generate_cohort(root / "dev", n=30, seed=11, workers=1)
    generate_cohort(root / "ext", n=12, seed=12, workers=1)
    return root


def _config(folder: Path, cohort: Path, **overrides) -> Path:
    config = {
        "name": "quick",
        "cohort": str(cohort),
        "model": {"name": "coxph", "params": {"penalizer": 0.1}},
        "protocol": {"name": "nested_cv", "repeats": 1, "folds": 3},
        "horizons": [365, 730],
        "bootstrap": 50,
        **overrides,
    }
    path = folder / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def store():
    return RunStore()


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_train_tracks_registers_and_activates(cohorts, tmp_path, store, capsys):
    config = _config(tmp_path, cohorts / "dev")
    assert main(["train", "--config", str(config), "--activate", "--json"]) == 0
    result = _last_json(capsys.readouterr().out)
    assert result["status"] == "FINISHED" and result["seconds"] > 0
    assert 0.5 < result["metrics"]["c_index"] <= 1 and "td_auc_730" in result["metrics"]
    runs = store.list_runs("quick")
    assert runs.set_index("run_id").loc[result["run_id"], "status"] == "FINISHED"
    name, version, folder = store.active_model()
    assert (name, str(version)) == ("quick", result["model_version"])
    # the app scores with it from now: audited as the Promote button audits it (it was not)
    from survival_core.audit import audit_path

    lines = [json.loads(line) for line in audit_path().read_text().splitlines()]
    (promoted,) = [a for a in lines if a["action"] == "promote_model" and a["target"] == "quick"]
    assert (promoted["version"], promoted["via"]) == (version, "train")
    # the registered model scores a case like the run's own model folder, with the CV in its card
    loaded = load_scoring_model(folder)
    assert loaded.card.cv["c_index"] == pytest.approx(result["metrics"]["c_index"])
    case = load_case(sorted((cohorts / "dev" / "cases").iterdir())[0])
    own = load_scoring_model(store.get_run(result["run_id"]).folder / "model")
    assert score_case(case, loaded).risk == score_case(case, own).risk
    # `score` without --model scores with the active model, as the pages do (not the demo's)
    assert main(["score", "--case", case.source, "--json"]) == 0
    scored = capsys.readouterr()
    assert _last_json(scored.out)["risk"] == score_case(case, loaded).risk
    assert f"scoring with the active model quick v{version}" in scored.err
    reports = store.get_run(result["run_id"]).folder / "reports"
    oof = pd.read_csv(reports / "oof.csv")
    assert len(oof) == 30 and {"survival_365", "survival_730"} <= set(oof.columns)
    for figure in ("km_risk_groups", "td_auc", "calibration", "decision_curve"):
        assert json.loads((reports / f"{figure}.json").read_text())["data"], figure
    assert "plotly" in (reports / "report.html").read_text()[:200000].lower()


def test_bad_config_names_the_key(cohorts, tmp_path, capsys):
    config = _config(tmp_path, cohorts / "dev", protocol={"name": "nested", "repeats": 1})
    assert main(["train", "--config", str(config)]) == 2
    assert "protocol.name" in capsys.readouterr().err


def test_more_folds_than_events_is_refused_before_a_run_starts(veterans, tmp_path, store, capsys):
    """'folds: 200' on veterans (128 events) failed once the run was created, leaving a FAILED
    run, without naming the key."""
    config = _table_config(
        tmp_path, veterans, name="many", protocol={"name": "nested_cv", "repeats": 1, "folds": 200}
    )
    assert main(["train", "--config", str(config)]) == 2
    assert "protocol.folds: 200 folds need an event in each" in capsys.readouterr().err
    assert store.list_runs("many").empty


def test_only_nested_cv_needs_as_many_events_as_folds(veterans, tmp_path, store, capsys):
    """60 veterans with 4 events: leave-one-out and a fixed split were refused as 'protocol.folds:
    5 folds need an event in each ... give at most 4 folds', a key they do not read (the
    dataclass default); nested CV with 5 folds is still refused, and a cohort without events."""
    cohort = tmp_path / "vet-4-events"
    shutil.copytree(veterans, cohort)
    clinical = pd.read_csv(cohort / "clinical.csv").head(60)
    clinical["event"] = (clinical.index < 4).astype(int)
    clinical.to_csv(cohort / "clinical.csv", index=False)
    for name, protocol in (
        ("loo4", {"name": "leave_one_out"}),
        ("split4", {"name": "fixed_split", "test_fraction": 0.5}),
    ):
        config = _table_config(tmp_path, cohort, name=name, protocol=protocol, bootstrap=20)
        assert main(["train", "--config", str(config), "--json"]) == 0, capsys.readouterr().err
        result = _last_json(capsys.readouterr().out)
        assert result["status"] == "FINISHED", name
        assert result["metrics"]["n"] == (60 if name == "loo4" else 30)
    folds5 = _table_config(tmp_path, cohort, name="folds5", protocol={"name": "nested_cv"})
    assert main(["train", "--config", str(folds5)]) == 2
    err = capsys.readouterr().err
    assert "protocol.folds: 5 folds need an event in each" in err
    assert "has 4 event(s): give at most 4 folds." in err
    clinical.assign(event=0).to_csv(cohort / "clinical.csv", index=False)
    loo = _table_config(tmp_path, cohort, name="loo0", protocol={"name": "leave_one_out"})
    assert main(["train", "--config", str(loo)]) == 2
    assert f"cohort: the development cohort ({cohort}) has 0 events" in capsys.readouterr().err
    assert store.list_runs("folds5").empty and store.list_runs("loo0").empty


def test_external_validation_develops_on_one_cohort_and_tests_the_other(cohorts, tmp_path, store):
    path = _config(
        tmp_path,
        cohorts / "dev",
        name="external",
        protocol={"name": "external", "external_cohort": str(cohorts / "ext")},
    )
    result = run_training(load_config(path), store=store)
    reports = store.get_run(result.run_id).folder / "reports"
    oof = pd.read_csv(reports / "oof.csv").dropna(subset=["risk"])
    assert len(oof) == 12 and oof["case_id"].str.startswith(EXTERNAL_PREFIX).all()
    card = load_scoring_model(store.get_run(result.run_id).folder / "model").card
    assert card.n == 30  # the final model never saw the external patients


def _table_risk(folder: Path, tables: list[Path], case_id: str) -> float:
    """The final model's risk of ``case_id`` (run ``folder``) from the run's own feature tables."""
    from survival_core.io.tables import load_model_table

    loaded = load_scoring_model(folder / "model")
    X = load_model_table(tables).X.loc[[case_id], loaded.inputs]
    return float(loaded.model.predict_risk(X)[0])


def test_dsfr_under_external_validation_scores_new_cases_with_the_bundled_unet(
    cohorts, tmp_path, store
):
    path = _config(
        tmp_path,
        cohorts / "dev",
        name="dsfr-external",
        features={
            "clinical": True,
            "dsfr": {"epochs": 1, "slice_size": 32},
            "select": "^(hbv|afp)$|^dsfr_",
        },  # fmt: skip
        protocol={"name": "external", "external_cohort": str(cohorts / "ext")},
    )
    result = run_training(load_config(path), store=store)
    folder = store.get_run(result.run_id).folder
    # the external cohort's DSFR came from the development U-Net; the U-Net's Dice is a report
    oof = pd.read_csv(folder / "reports" / "oof.csv").dropna(subset=["risk"])
    assert len(oof) == 12 and (folder / "reports" / "dsfr_segmentation.json").exists()
    # the registered model carries its U-Net: a new case gets the exact training-table columns
    registered = store.model_folder("dsfr-external", result.model_version)
    assert (registered / "extractors" / "dsfr_unet" / "unet.json").exists()
    loaded = load_scoring_model(registered)
    assert any(c.startswith("dsfr_") for c in loaded.inputs)
    case_folder = sorted((cohorts / "ext" / "cases").iterdir())[0]
    score = score_case(load_case(case_folder), loaded)
    tables = sorted((folder / "tables").iterdir())
    expected = _table_risk(folder, tables, EXTERNAL_PREFIX + case_folder.name)
    assert score.risk == pytest.approx(expected, rel=1e-6, abs=1e-9)


#: A 3-D CNN trained in seconds: a deep-feature network for the runs' tests.
TINY_CNN = {"volume_shape": [32, 32, 8], "patch_size": [24, 24, 8], "epochs": 1,
            "channels": [4, 8, 8, 8], "fc": 8}  # fmt: skip


def test_deep_features_travel_with_the_registered_model(cohorts, tmp_path, store, capsys):
    """A network trained on other patients' outcomes (the external cohort's) gives the
    development cohort deep features; one trained on the patients a run tests is refused before
    the run, naming it, the cohort and why: an 'external' c-index of the demo's deep features on
    demo-external came from a network trained on demo-external's outcomes, without a word."""
    from survival_core.workflows.training import train_model

    network = tmp_path / "cnn"
    ext = cohorts / "ext"
    train_model([ext / "clinical.csv"], "cnn3d", dict(TINY_CNN), network, cohort=ext)
    deep = {"clinical": False, "deep": {"network": str(network), "layer": None}}
    for name, cohort, protocol in (
        ("deep-on-its-own", cohorts / "dev", {"name": "external", "external_cohort": str(ext)}),
        ("deep-cv-on-its-own", ext, {"name": "leave_one_out"}),
    ):
        leaky = _config(tmp_path, cohort, name=name, features=deep, protocol=protocol)
        assert main(["train", "--config", str(leaky)]) == 2
        assert (
            f"features.deep.network: the network {network} was trained on the outcomes of {ext} "
            "(its card's training table is this cohort's clinical.csv, the same sha256; 12 "
            f"patients), the patients protocol {protocol['name']!r} tests: its features have seen "
            "their outcomes, so the c-index would be optimistic. Give a network trained on other "
            "patients"
        ) in capsys.readouterr().err
        assert store.list_runs(name).empty
    path = _config(
        tmp_path,
        cohorts / "dev",
        name="deep",
        features=deep,
        protocol={"name": "fixed_split", "test_fraction": 0.3},
    )
    result = run_training(load_config(path), store=store)
    folder = store.get_run(result.run_id).folder
    registered = store.model_folder("deep", result.model_version)
    loaded = load_scoring_model(registered)
    assert loaded.inputs and all(c.startswith("deep_") for c in loaded.inputs)
    case_folder = sorted((cohorts / "dev" / "cases").iterdir())[3]
    score = score_case(load_case(case_folder), loaded)
    assert score.risk == pytest.approx(
        _table_risk(
            folder, [cohorts / "dev" / "clinical.csv", folder / "deep.parquet"], case_folder.name
        ),
        rel=1e-6,
        abs=1e-9,
    )


def test_a_network_registered_by_an_external_run_is_refused_on_its_own_cohort(
    cohorts, tmp_path, store, capsys
):
    """A model registered by an external-validation run was fitted on its development cohort,
    yet its card's training table is the run's stacked copy (another sha256), and as a deep
    network it passed the leak check on that very cohort. The card keeps the cohort's
    clinical.csv as its source, by the cohort folder's name and sha256, never its path (cards
    travel with registered models); a cohort of other patients put at that path is accepted
    (a path match alone refused it)."""
    from survival_core.errors import ConfigError
    from survival_core.io.hashing import file_sha256
    from survival_core.runs.runner import check_network_unseen

    dev, ext = tmp_path / "dev", cohorts / "ext"
    shutil.copytree(cohorts / "dev", dev)
    protocol = {"name": "external", "external_cohort": str(ext)}
    trained = _config(tmp_path, dev, name="fitted-beside-ext", protocol=protocol)
    network = store.model_folder(
        "fitted-beside-ext", run_training(load_config(trained), store=store).model_version
    )
    card = ModelCard.load(network)
    assert card.n == 30 and file_sha256(dev / "clinical.csv") not in card.tables_sha256
    assert card.sources == {"dev": file_sha256(dev / "clinical.csv")}
    assert str(tmp_path) not in (network / "card.json").read_text()
    deep = {"clinical": False, "deep": {"network": str(network), "layer": None}}
    leaky = _config(tmp_path, dev, name="deep-on-its-source", features=deep,
                    protocol={"name": "leave_one_out"})  # fmt: skip
    assert main(["train", "--config", str(leaky)]) == 2
    assert (
        f"features.deep.network: the network {network} was trained on the outcomes of {dev} "
        "(its card's training cohort's clinical.csv is this one, the same sha256; 30 patients), "
        "the patients protocol 'leave_one_out' tests"
    ) in capsys.readouterr().err
    assert store.list_runs("deep-on-its-source").empty
    # the external cohort's patients were never fitted on: the network is not refused there,
    # nor where they are put at the development cohort's path, under a card written before
    # (its source kept by path), which still finds the development cohort by its sha256
    check_network_unseen(network, ext, "nested_cv")
    older = json.loads((network / "card.json").read_text())
    older["sources"] = {str((dev / "clinical.csv").resolve()): card.sources["dev"]}
    (network / "card.json").write_text(json.dumps(older))
    with pytest.raises(ConfigError, match="the same sha256; 30 patients"):
        check_network_unseen(network, dev, "leave_one_out")
    shutil.rmtree(dev)
    shutil.copytree(ext, dev)
    check_network_unseen(network, dev, "leave_one_out")


def test_a_network_is_refused_on_its_patients_in_an_edited_or_withdrawn_table(cohorts, tmp_path):
    """A CNN fitted on a generated cohort passed the leak check on the same patients once one
    value of its clinical.csv was changed, or a withdrawal rewrote it: only the file's sha256
    was compared. The card keeps its training patients' keys (case id and outcome), and the
    check counts the cohort's among them; another cohort sharing its case ids (SYN-0001 to
    SYN-0012) is not refused, nor is the edited table under a card written before."""
    from survival_core.cohort.withdrawal import withdraw
    from survival_core.errors import ConfigError
    from survival_core.runs.runner import check_network_unseen
    from survival_core.workflows.training import train_model

    ext = shutil.copytree(cohorts / "ext", tmp_path / "ext")
    network = tmp_path / "cnn"
    train_model([ext / "clinical.csv"], "cnn3d", dict(TINY_CNN), network, cohort=ext)
    assert len(ModelCard.load(network).trained_patients) == 12
    clinical = pd.read_csv(ext / "clinical.csv")
    clinical.loc[0, "age"] += 1  # one value edited: another sha256, the same 12 patients
    clinical.to_csv(ext / "clinical.csv", index=False)

    def refused(count: str) -> str:
        return (
            f"features.deep.network: the network {network} was trained on the outcomes of {ext} "
            f"(the same case ids and outcomes: {count} patients), the patients protocol "
            "'nested_cv' tests"
        )

    with pytest.raises(ConfigError) as edited:
        check_network_unseen(network, ext, "nested_cv")
    assert str(edited.value).startswith(refused("12 of its 12"))
    withdraw(ext, [str(clinical.loc[1, "case_id"])])
    with pytest.raises(ConfigError) as withdrawn:
        check_network_unseen(network, ext, "nested_cv")
    assert str(withdrawn.value).startswith(refused("11 of its 11"))
    check_network_unseen(network, cohorts / "dev", "nested_cv")  # other patients, same ids
    older = json.loads((network / "card.json").read_text())
    del older["trained_patients"]
    (network / "card.json").write_text(json.dumps(older))
    check_network_unseen(network, ext, "nested_cv")


def _centre(folder: Path, X: pd.DataFrame, y: np.ndarray, rows: np.ndarray) -> Path:
    """A centre's cohort folder of GBSG2's ``rows``, its case ids restarting at 001."""
    frame = X.iloc[rows].reset_index(drop=True)[["age", "tsize", "pnodes"]]
    frame.insert(0, "case_id", [f"{i + 1:03d}" for i in range(len(rows))])
    frame.insert(1, "time", y["time"][rows])
    frame.insert(2, "event", y["cens"][rows].astype(int))
    folder.mkdir()
    frame.to_csv(folder / "clinical.csv", index=False)
    return folder


def test_a_network_is_not_refused_on_another_centre_matching_a_patient_by_chance(tmp_path):
    """GBSG2's halves as two centres, case ids restarting at 001: a CNN's card keeping centre
    A's patients refused centre B, 343 other patients, because its patient 042 has A's 042's
    time and event (550 days, a recurrence). So few may be chance: the run goes on with a note
    counting them; a cohort holding 5 of A's patients in 100 (5 %) is refused."""
    from sksurv.datasets import load_gbsg2

    from survival_core.errors import ConfigError
    from survival_core.models.card import build_card
    from survival_core.runs.runner import check_network_unseen

    X, y = load_gbsg2()
    half = len(y) // 2
    rows = np.random.default_rng(6).permutation(len(y))
    a = _centre(tmp_path / "centre_a", X, y, rows[:half])
    b = _centre(tmp_path / "centre_b", X, y, rows[half : 2 * half])
    trained, other = (pd.read_csv(c / "clinical.csv", dtype={"case_id": str}) for c in (a, b))
    same = trained.merge(other, on=["case_id", "time", "event"])
    assert same[["case_id", "time", "age_x", "age_y"]].values.tolist() == [["042", 550, 50, 65]]
    card = build_card("cnn3d", Surv.from_arrays(trained.event == 1, trained.time),
                      trained.age.to_numpy(float), clinical_columns=[],
                      case_ids=trained.case_id.tolist())  # fmt: skip
    network = tmp_path / "cnn"
    network.mkdir()
    card.save(network)
    assert check_network_unseen(network, b, "nested_cv") == (
        f"The deep network {network}'s training patients hold 1 of the 343 patients of {b} (the "
        "same case id, time and event): so few may be chance, other centres' case ids "
        "restarting at 001 too, and the run goes on. If they are these patients, their deep "
        "features have seen their outcomes: leave them out of the cohort."
    )
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    both = pd.concat([trained[:5], other[100:195]])  # 001-005 of A, 101-195 of B
    both.to_csv(mixed / "clinical.csv", index=False)
    with pytest.raises(ConfigError, match=r"the same case ids and outcomes: 5 of its 100 patients"):
        check_network_unseen(network, mixed, "nested_cv")


def test_a_cards_training_patients_are_keyed_by_its_data_folder(tmp_path, monkeypatch):
    """A card's trained_patients were an unsalted SHA-256 of case id, time and event: whoever
    held a card and a case id got the patient's time and event by trying every day (0.08 s).
    They are keyed by the data folder's keys/deid.key: trying every day finds nothing, the same
    folder gives the same keys (its leak check), another folder's key matches none."""
    import hashlib

    from sksurv.datasets import load_gbsg2

    from survival_core.models.card import build_card, patient_keys

    X, y = load_gbsg2()
    outcomes = Surv.from_arrays(y["cens"], y["time"])
    ids = [f"{i + 1:03d}" for i in range(len(y))]
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "here"))
    card = build_card("cnn3d", outcomes, X["age"].to_numpy(float), clinical_columns=[],
                      case_ids=ids)  # fmt: skip
    keys = set(card.trained_patients)
    tried = (f"001\0{float(day)!r}\0{event}" for day in range(3000) for event in (0, 1))
    assert [t for t in tried if hashlib.sha256(t.encode()).hexdigest()[:16] in keys] == []
    assert len(keys) == 686 and (tmp_path / "here" / "keys" / "deid.key").is_file()
    assert set(patient_keys(ids, outcomes)) == keys
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "elsewhere"))
    assert keys.isdisjoint(patient_keys(ids, outcomes))


def test_the_demo_network_is_refused_on_the_demo_external_patients(
    cohorts, tmp_path, monkeypatch, capsys
):
    """`deep: {network: demo}` validated on demo-external finished without a word: the demo CNN
    is trained on demo-external's outcomes (its card: its clinical.csv, n 40, apparent c 0.697),
    and the result was called external on the card, PDF and Risk page. Refused by the config
    (the keywords) and by the run (the external cohort given as its folder, the network's card
    naming its clinical.csv)."""
    import json

    from survival_core.errors import ConfigError
    from survival_core.runs.runner import prepare_data
    from survival_core.workflows import demo

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    shutil.copytree(cohorts / "ext", demo.demo_external_dir())
    made = json.loads((cohorts / "ext" / "cohort.json").read_text())
    monkeypatch.setattr(demo, "EXTERNAL_N", made["n"])
    monkeypatch.setattr(demo, "EXTERNAL_SEED", made["seed"])
    monkeypatch.setitem(demo.IMAGE_MODEL, "params", dict(TINY_CNN))
    deep = {"clinical": False, "deep": {"network": "demo", "layer": None}}
    protocol = {"name": "external", "external_cohort": "demo-external"}
    config = _config(tmp_path, cohorts / "dev", name="demo-deep", features=deep, protocol=protocol)
    assert main(["train", "--config", str(config)]) == 2
    assert (
        "features.deep.network: the demo network (models/demo-cnn3d) was trained on the outcomes "
        "of the demo's external cohort, the patients protocol 'external' tests"
    ) in capsys.readouterr().err
    protocol["external_cohort"] = str(demo.demo_external_dir())
    config = _config(tmp_path, cohorts / "dev", name="demo-deep", features=deep, protocol=protocol)
    (tmp_path / "run").mkdir()
    with pytest.raises(ConfigError) as refused:
        prepare_data(load_config(config), tmp_path / "run", None, lambda _: None)
    assert str(refused.value).startswith(
        f"features.deep.network: the network {demo.image_model_dir()} was trained on the "
        f"outcomes of {demo.demo_external_dir()} (its card's training table is this cohort's "
        f"clinical.csv, the same sha256; {made['n']} patients)"
    )
    assert not list((tmp_path / "run").rglob("*.parquet"))


def test_search_tunes_inside_each_fold_and_for_the_final_model(cohorts, tmp_path, store):
    from survival_core.models import load_model
    from survival_core.runs.search import read_search

    space = {"penalizer": {"loguniform": [0.01, 1.0]}}
    path = _config(
        tmp_path,
        cohorts / "dev",
        name="searched",
        model={"name": "coxph", "search": {"space": space, "trials": 3}},
    )
    result = run_training(load_config(path), store=store)
    registered = store.model_folder("searched", result.model_version)
    search = read_search(registered)
    assert search is not None and len(search["trials"]) == 3
    best = search["best_params"]["penalizer"]
    assert 0.01 <= best <= 1.0
    assert load_model(registered).penalizer == pytest.approx(best)  # the refitted best model


def test_model_choice_runs_compare_every_candidate_and_register_a_scoring_model(
    cohorts, tmp_path, store
):
    name = "ensemble"  # auto's run: tests/test_app_training.py
    from survival_core.explain.case import explain_case

    candidates = [
        {"model": "coxph", "params": {"penalizer": 0.5}},
        {"model": "gbsa", "params": {"n_estimators": 30, "max_depth": 1}},
        {"model": "coxph", "params": {"penalizer": 0.5}, "columns": "clinical"},
    ]
    path = _config(
        tmp_path,
        cohorts / "dev",
        name=f"chosen-{name}",
        model={"name": name, "params": {"candidates": candidates, "inner_folds": 2}},
    )
    result = run_training(load_config(path), store=store)
    reports = store.get_run(result.run_id).folder / "reports"
    table = pd.read_csv(reports / "comparison.csv")
    assert {"auto", "ensemble", "coxph(penalizer=0.5) [clinical only]"} <= set(table["model"])
    selection = json.loads((reports / "selection.json").read_text())
    assert selection["versus_baseline"]["baseline"] == "coxph(penalizer=0.5) [clinical only]"
    assert selection["final"]["chosen"] in set(table["model"])  # the registered model's choice
    assert json.loads((reports / "model_comparison.json").read_text())["data"]
    folder = store.model_folder(f"chosen-{name}", result.model_version)
    loaded = load_scoring_model(folder)
    case = load_case(sorted((cohorts / "dev" / "cases").iterdir())[0])
    scored = score_case(case, loaded)
    assert np.isfinite(scored.risk)
    explained = explain_case(case, loaded)
    assert explained.completeness_delta < 1e-8 and explained.attributions


def test_killed_run_is_marked_failed_and_resumes_from_finished_folds(cohorts, tmp_path, store):
    config = _config(
        tmp_path,
        cohorts / "dev",
        name="killed",
        model={"name": "deepsurv", "params": {"epochs": 150, "patience": 150}},
        protocol={"name": "nested_cv", "repeats": 1, "folds": 3},
    )
    runs = Path(os.environ["RADSURV_DATA_DIR"]) / "runs"
    before = set(runs.glob("*/folds/*.json"))  # other tests' runs
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "survival_core", "train", "--config", str(config)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    finished: list[Path] = []
    while time.monotonic() < deadline and child.poll() is None:
        finished = sorted(set(runs.glob("*/folds/*.json")) - before)
        if finished:
            break
        time.sleep(0.05)
    assert finished and child.poll() is None, "the run ended before a fold finished"
    child.send_signal(signal.SIGKILL)
    child.wait()
    run_id = finished[0].parents[1].name
    stamps = {p.name: p.stat().st_mtime_ns for p in finished[0].parent.glob("*.json")}
    store.reap_dead_runs()
    assert store.get_run(run_id).status == "FAILED"
    resumed = run_training(load_config(config), resume=run_id, store=store)
    assert resumed.run_id == run_id and resumed.status == "FINISHED"
    assert store.get_run(run_id).status == "FINISHED"
    after = {p.name: p.stat().st_mtime_ns for p in finished[0].parent.glob("*.json")}
    assert len(after) == 3 > len(stamps)  # killed with folds still to do
    assert all(after[name] == stamp for name, stamp in stamps.items())  # not recomputed
    # the same numbers as an uninterrupted run (seeded, deterministic on the CPU)
    fresh = run_training(load_config(config), store=store)
    assert resumed.metrics["c_index"] == pytest.approx(fresh.metrics["c_index"], abs=1e-12)
    assert np.isfinite(resumed.metrics["ibs"])


# -- real tables (scikit-survival's datasets as table-only cohorts) ---------------------------------
def _import(sheet: Path, out: Path) -> Path:
    """``sheet`` imported into ``out`` under a fixed de-identification key: the module's key is
    drawn anew each session and the rows go in case id order, so 1 key in 70 split 60 veterans
    with all 6 'large' cell types in the test half, left out of it (n 24, not 30)."""
    data = out.parent / "import-data"
    clinical_exports.write_fixed_key(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADSURV_DATA_DIR", str(data))
        assert main(["cohort", "import", "--clinical", str(sheet), "--out", str(out)]) == 0
    assert not (out / "manifest.csv").exists()
    return out


@pytest.fixture(scope="module")
def veterans(tmp_path_factory) -> Path:
    """The veterans' lung cancer trial as a table-only cohort (clinical.csv, no manifest)."""
    root = tmp_path_factory.mktemp("veterans")
    return _import(clinical_exports.veterans(root).path, root / "cohort")


@pytest.fixture(scope="module")
def gbsg2(tmp_path_factory) -> Path:
    """GBSG2 as two table-only cohorts: ``dev`` (the first 400 patients) and ``ext`` (the other
    286, its clinical.csv listing the same columns in reverse order)."""
    root = tmp_path_factory.mktemp("gbsg2")
    sheet = pd.read_csv(clinical_exports.gbsg2(root).path)
    for name, rows in (("dev", sheet.iloc[:400]), ("ext", sheet.iloc[400:])):
        rows.to_csv(root / f"{name}.csv", index=False)
        _import(root / f"{name}.csv", root / name)
    clinical = pd.read_csv(root / "ext" / "clinical.csv")
    first, *rest = clinical.columns  # case_id stays first
    clinical[[first, *reversed(rest)]].to_csv(root / "ext" / "clinical.csv", index=False)
    return root


def _table_config(folder: Path, cohort: Path, **overrides) -> Path:
    """A quick config of a table-only cohort: 2 x 3 folds, horizons within its follow-up."""
    quick = {"protocol": {"name": "nested_cv", "repeats": 2, "folds": 3}, "horizons": [90, 180]}
    return _config(folder, cohort, **{**quick, **overrides})


def test_a_run_interrupted_after_registering_resumes_with_its_version(veterans, tmp_path, store):
    """Ctrl-C during --activate (after the model was registered) failed the run; resuming it
    refused it forever as 'has already registered a model'. Now it reuses that version."""
    config = load_config(_table_config(tmp_path, veterans, name="interrupted"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("Ctrl-C during activation")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RunStore, "set_active", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_training(config, activate=True, store=store)
    run_id = store.list_runs("interrupted")["run_id"][0]
    assert store.get_run(run_id).status == "FAILED"
    registered = store.registered_version(run_id, "interrupted")
    assert registered == 1
    copy = store.model_folder("interrupted", registered)
    fitted = (store.get_run(run_id).folder / "model" / "model.json").stat().st_mtime_ns

    resumed = run_training(config, resume=run_id, activate=True, store=store)
    assert (resumed.run_id, resumed.status, resumed.model_version) == (run_id, "FINISHED", "1")
    assert store.get_run(run_id).status == "FINISHED"
    models = store.list_models().query("name == 'interrupted'")
    assert models["version"].tolist() == [1] and models["active"].tolist() == [True]
    assert store.active_model() == ("interrupted", 1, copy)
    # the registered model was not fitted again
    assert (store.get_run(run_id).folder / "model" / "model.json").stat().st_mtime_ns == fitted


def test_a_model_trained_before_its_cohort_was_corrected_is_told_so(veterans, tmp_path, store):
    """A corrected event in clinical.csv, a withdrawn patient: the model trained before was
    listed exactly like one trained after, nothing saying it knows nothing of the changes."""
    from survival_core.io.run_sources import changed_sources

    cohort = tmp_path / "cohort"
    shutil.copytree(veterans, cohort)
    run = run_training(load_config(_table_config(tmp_path, cohort, name="before")), store=store)
    folder = store.get_run(run.run_id).folder
    assert changed_sources(folder) == []
    clinical = cohort / "clinical.csv"
    clinical.write_text(clinical.read_text().replace(",1,", ",0,", 1))
    assert changed_sources(folder) == [f"{clinical.resolve()} (changed)"]


def test_seed_is_bounded_by_what_the_folds_can_take(veterans, tmp_path, store, capsys):
    """A seed of 2**32 was accepted, then numpy refused it in the folds with a traceback; the
    largest seed the config takes runs, with the folds' offsets added to it."""
    too_big = _table_config(tmp_path, veterans, name="seeded", seed=2**32)
    assert main(["train", "--config", str(too_big)]) == 2
    err = capsys.readouterr().err
    assert "seed: expected a whole number from 0 to 2147483647" in err and "Traceback" not in err
    assert store.list_runs("seeded").empty
    largest = load_config(_table_config(tmp_path, veterans, name="seeded", seed=MAX_SEED))
    assert run_training(largest, store=store).status == "FINISHED"


def test_overlong_run_name_is_a_config_error_not_a_traceback(veterans, tmp_path, capsys):
    config = tmp_path / "long.yaml"
    config.write_text(_table_config(tmp_path, veterans).read_text().replace("quick", "r" * 300))
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "name: at most 200 characters" in err and "Traceback" not in err


def test_a_run_stopped_by_sigterm_says_so_is_failed_at_once_and_resumes(gbsg2, tmp_path, store):
    """SIGTERM (Slurm's scancel or time limit, `kill`) ended `train` with status 143, no message,
    no JSON line, and the run left RUNNING until a later command reaped it. It is now handled as
    Ctrl-C is: an `interrupted` line and JSON, the run FAILED at once, resumable."""
    model = {"name": "rsf", "params": {"n_estimators": 200}}
    config = _table_config(tmp_path, gbsg2 / "dev", name="terminated", model=model)
    child = subprocess.Popen(
        [sys.executable, "-m", "survival_core", "train", "--config", str(config), "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = []
        while not (lines and lines[-1].startswith("fold 1/")):  # a fold finished, others to do
            lines.append(child.stderr.readline())
            assert child.poll() is None, "".join(lines)[-2000:]
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "error: interrupted (SIGTERM)" in err
    assert _last_json(out)["kind"] == "Terminated"
    run_id = next(line.split()[1] for line in lines if line.startswith("run "))
    record = store.get_run(run_id)  # not reaped: marked by the run itself
    assert record.status == "FAILED" and "SIGTERM" in record.tags["radsurv.error"]
    resumed = run_training(load_config(config), resume=run_id, store=store)
    assert resumed.run_id == run_id and resumed.status == "FINISHED"


def test_external_cohort_may_list_the_same_columns_in_another_order(gbsg2, tmp_path, store):
    external = {"name": "external", "external_cohort": str(gbsg2 / "ext")}
    config = load_config(
        _table_config(tmp_path, gbsg2 / "dev", name="gbsg2-ext", protocol=external)
    )
    result = run_training(config, store=store)
    assert result.status == "FINISHED" and result.metrics["n"] == 286  # tested on the external
    assert 0.6 < result.metrics["c_index"] < 0.8
    card = ModelCard.load(store.model_folder("gbsg2-ext", result.model_version))
    assert card.validated == "external" and card.cv["c_index"] == result.metrics["c_index"]
    stacked = pd.read_csv(store.get_run(result.run_id).folder / "tables" / "clinical.csv")
    assert list(stacked.columns) == list(pd.read_csv(gbsg2 / "dev" / "clinical.csv").columns)
    ext = pd.read_csv(gbsg2 / "ext" / "clinical.csv").set_index("case_id")
    row = stacked.set_index("case_id").loc[EXTERNAL_PREFIX + str(ext.index[0])]
    assert row.to_dict() == ext.iloc[0][row.index].to_dict()  # each value under its own name

    other = tmp_path / "other"  # a really different set of columns is still refused
    other.mkdir()
    for name in ("clinical.csv", "schema.yaml"):
        if (gbsg2 / "ext" / name).exists():
            (other / name).write_bytes((gbsg2 / "ext" / name).read_bytes())
    pd.read_csv(other / "clinical.csv").drop(columns=["tsize"]).to_csv(
        other / "clinical.csv", index=False
    )
    external = {"name": "external", "external_cohort": str(other)}
    config = load_config(
        _table_config(tmp_path, gbsg2 / "dev", name="gbsg2-ext", protocol=external)
    )
    with pytest.raises(InputError, match="clinical.csv lacks 'tsize' .*, and the model reads it"):
        run_training(config, store=store)


def test_image_model_without_table_features_trains_on_the_images(cohorts, tmp_path, store):
    """cnn3d with clinical: false passed the config (it reads no table column) and then failed
    the run: 'with clinical: false, no other feature column is left'."""
    tiny = {"volume_shape": [16, 16, 8], "patch_size": [16, 16, 8], "epochs": 1}
    config = _config(
        tmp_path,
        cohorts / "dev",
        name="images-only",
        features={"clinical": False},
        model={"name": "cnn3d", "params": tiny},
        protocol={"name": "fixed_split", "test_fraction": 0.3},
        device="cpu",
    )
    result = run_training(load_config(config), store=store)
    assert result.status == "FINISHED" and np.isfinite(result.metrics["c_index"])
    loaded = load_scoring_model(store.model_folder("images-only", result.model_version))
    assert loaded.inputs == []  # no table column: the clinical variables were not used


def test_a_run_says_and_records_what_it_left_out(veterans, tmp_path, store, capsys):
    """A run dropped rows, columns and cases on its console at most: card.json and report.html
    said nothing of them. Now the notes are printed, kept in reports/notes.txt and in the
    report, and the cases a feature table has no row for are listed with why."""
    import shutil

    cohort = shutil.copytree(veterans, tmp_path / "cohort")
    clinical = pd.read_csv(cohort / "clinical.csv", dtype={"case_id": str})
    clinical.loc[0, "event"] = None  # one patient without an outcome
    clinical.to_csv(cohort / "clinical.csv", index=False)
    config = _table_config(tmp_path, cohort, name="noted", model={"name": "coxph"})
    assert main(["train", "--config", str(config), "--json"]) == 0
    out = capsys.readouterr()
    said = next(line for line in out.err.splitlines() if "without a usable time/event" in line)
    assert said.startswith("note: 1 case(s)") and said.endswith(f": {clinical.case_id[0]}.")
    run_id = _last_json(out.out)["run_id"]
    reports = store.get_run(run_id).folder / "reports"
    assert said.removeprefix("note: ") in (reports / "notes.txt").read_text().splitlines()
    html = (reports / "report.html").read_text()
    assert "Notes on the data" in html and said.removeprefix("note: ") in html


def test_a_run_names_a_variable_measured_after_baseline(tmp_path, store, capsys):
    """ACTG175's first 600 patients as a table-only cohort: the CD4 count at week 96 and its
    missingness indicator 'r' lifted a Cox model's c-index with no word but the imputation's;
    the run's notes (its console, reports/notes.txt, which the Training page shows) name them."""
    sheet = pd.read_csv(clinical_exports.actg175(tmp_path)).iloc[:600]
    sheet = sheet.rename(columns={"time": "time (days)"})
    sheet.to_csv(tmp_path / "actg600.csv", index=False)
    cohort = _import(tmp_path / "actg600.csv", tmp_path / "cohort")
    config = _table_config(tmp_path, cohort, name="actg", model={"name": "coxph"})
    assert main(["train", "--config", str(config), "--json"]) == 0
    out = capsys.readouterr()
    indicator = "'r' says exactly which patients have a value of 'cd496' (all 600 patients)"
    assert any(line.startswith(f"note: {indicator}") for line in out.err.splitlines())
    reports = store.get_run(_last_json(out.out)["run_id"]).folder / "reports"
    notes = (reports / "notes.txt").read_text().splitlines()
    assert any(
        note.startswith("'cd496' alone orders the outcome with a c-index of 0.8") for note in notes
    )
    assert any(note.startswith(indicator) for note in notes)


def test_the_cases_a_feature_table_left_out_are_listed_with_why(tmp_path):
    from survival_core.features.cohort import failures_path
    from survival_core.runs.runner import left_out_cases

    table = tmp_path / "wei2021.parquet"
    pd.DataFrame({"case_id": ["007"], "error": ["gtv mask is empty"]}).to_csv(
        failures_path(table), index=False
    )
    listed = left_out_cases([tmp_path / "clinical.csv", table])
    assert listed.to_dict("records") == [
        {"case_id": "007", "error": "gtv mask is empty", "table": "wei2021.parquet"}
    ]
    assert left_out_cases([tmp_path / "clinical.csv"]).empty


def test_a_feature_table_that_left_cases_out_is_extracted_again(tmp_path, monkeypatch):
    """A run reused a cohort's feature table whenever it existed: the 13 cases a killed worker
    had failed stayed out of every later run (the extraction promises failed cases are tried
    again); a table without failures is reused as it was."""
    from types import SimpleNamespace

    from survival_core.features import cohort as features_cohort
    from survival_core.features.cohort import (
        failures_path,
        feature_table_path,
        warnings_path,
        write_warnings,
    )
    from survival_core.features.presets import get_preset
    from survival_core.io.load_warnings import WARNING_COLUMNS
    from survival_core.runs.runner import _cohort_tables, left_out_cases

    cohort = tmp_path / "cohort"
    (cohort / "cases").mkdir(parents=True)
    (cohort / "manifest.csv").write_text(
        "case_id,format,image,organ_mask,gtv_mask,rtstruct,modality\n"
    )
    table = feature_table_path(cohort, "wei2021", get_preset("wei2021", "CT"))
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_bytes(b"features")
    extracted = []
    monkeypatch.setattr(
        features_cohort,
        "extract_cohort",
        lambda *a, **k: (
            extracted.append(1)
            or SimpleNamespace(
                withdrawn=[], outcomes=[], warnings=pd.DataFrame(columns=WARNING_COLUMNS)
            )
        ),
    )
    monkeypatch.setattr(features_cohort, "write_cohort_features", lambda *a, **k: None)
    features = SimpleNamespace(radiomics=["wei2021"], companions=(), deep=None)
    config = SimpleNamespace(features=features)
    pd.DataFrame({"case_id": [], "error": []}).to_csv(failures_path(table), index=False)
    write_warnings(pd.DataFrame(columns=WARNING_COLUMNS), table)
    assert _cohort_tables(config, cohort, tmp_path, None, print, None, [])[-1] == table
    assert not extracted
    # a table of before load warnings were kept beside it: its cases may have been loaded with
    # warnings, which a run would have reported as none; extracted again, its warnings written
    warnings_path(table).unlink()
    _cohort_tables(config, cohort, tmp_path, None, print, None, [])
    assert extracted == [1] and warnings_path(table).read_text().strip() == "case_id,warning"
    extracted.clear()
    pd.DataFrame({"case_id": ["RS-1"], "error": ["BrokenProcessPool: ..."]}).to_csv(
        failures_path(table), index=False
    )
    _cohort_tables(config, cohort, tmp_path, None, print, None, [])
    assert extracted == [1]
    failures_path(table).write_bytes(b"")  # cut short by a full disk: every run then failed
    _cohort_tables(config, cohort, tmp_path, None, print, None, [])  # EmptyDataError before
    assert extracted == [1, 1]
    assert left_out_cases([table]).empty


def test_a_run_records_and_reports_the_cases_loaded_with_warnings(
    shared_data, tmp_path, store, capsys
):
    """A case whose GTV file holds label 2 alone is taken as the GTV with a warning, which a
    training run (extracting its cohort's radiomics through the runner) dropped: the physicist
    never learnt which cases' features rest on a guess. The run says how many, lists them in
    reports/load_warnings.csv (logged with the reports), its report and --json; the cached
    table keeps them beside it, so a run reusing it reports them too."""
    from survival_core.features.cohort import feature_table_path, warnings_path
    from survival_core.features.presets import get_preset

    cohort = lungs_with_nodes(shared_data, tmp_path / "lungs")
    path = _config(
        tmp_path,
        cohort,
        name="warned-lungs",
        features={"clinical": True, "radiomics": ["han2020"], "select": "^age$"},
        protocol={"name": "nested_cv", "repeats": 1, "folds": 2},
    )
    cached = warnings_path(feature_table_path(cohort, "han2020", get_preset("han2020", "CT")))
    for how in ("extracted", "reused"):
        assert main(["train", "--config", str(path), "--json"]) == 0
        captured = capsys.readouterr()
        assert ("extracting han2020 radiomics" in captured.err) is (how == "extracted")
        result = _last_json(captured.out)
        assert result["status"] == "FINISHED" and result["n_warned"] == 1
        reports = store.get_run(result["run_id"]).folder / "reports"
        listed = pd.read_csv(reports / "load_warnings.csv")
        assert listed["case_id"].tolist() == ["nodes"]
        assert listed["warning"].iloc[0].startswith(NODES_TAKEN)
        assert listed["table"].iloc[0] == cached.name.replace(".warnings.csv", ".parquet")
        said = "note: 1 case(s) loaded with warnings (their features may rest on a guess, such "
        assert said in captured.err and f"see {reports / 'load_warnings.csv'}." in captured.err
        report = (reports / "report.html").read_text()
        assert "1 case(s) loaded with warnings (their features may rest on a guess)" in report
        assert f"nodes: {escape(NODES_TAKEN)}" in report
        assert pd.read_csv(cached)["case_id"].tolist() == ["nodes"]


def test_an_image_model_run_reports_the_cases_whose_ct_loaded_with_warnings(
    shared_data, tmp_path, store, capsys
):
    """A cnn3d run on real lung CTs, one case's GTV file holding label 2 alone (taken as the GTV
    with a warning): the run listed the warnings of its radiomics tables alone, so an image
    model's run said nothing of it (no note, n_warned 0, no load_warnings.csv). It lists the
    case as a radiomics run does, and its model keeps the list."""
    cohort = lungs_with_nodes(shared_data, tmp_path / "lungs")
    tiny = {"volume_shape": [16, 16, 8], "patch_size": [16, 16, 8], "epochs": 1}
    path = _config(
        tmp_path,
        cohort,
        name="warned-cnn",
        features={"clinical": False},
        model={"name": "cnn3d", "params": tiny},
        protocol={"name": "nested_cv", "repeats": 1, "folds": 2},
        device="cpu",
    )
    assert main(["train", "--config", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    result = _last_json(captured.out)
    assert result["status"] == "FINISHED" and result["n_warned"] == 1
    reports = store.get_run(result["run_id"]).folder / "reports"
    listed = pd.read_csv(reports / "load_warnings.csv")
    assert listed["case_id"].tolist() == ["nodes"] and listed["table"].tolist() == ["CT volumes"]
    assert listed["warning"].iloc[0].startswith(NODES_TAKEN)
    said = "note: 1 case(s) loaded with warnings (their features may rest on a guess, such "
    assert said in captured.err and f"see {reports / 'load_warnings.csv'}." in captured.err
    report = (reports / "report.html").read_text()
    assert f"nodes: {escape(NODES_TAKEN)}" in report
    model = store.model_folder("warned-cnn", result["model_version"])
    assert pd.read_csv(model / "load_warnings.csv")["case_id"].tolist() == ["nodes"]


def test_a_cohort_lacking_a_column_the_study_requires_is_refused_before_the_run(
    veterans, tmp_path, store, capsys
):
    """Sun's config on a cohort without two of its four clinical factors finished and registered
    a model fitted on the other two, without a word: ``select`` alone keeps what matches.
    ``features.require`` names what the study needs; a cohort lacking it is refused up front."""
    features = {"select": "(?i)^(celltype|karnofsky_score|mvi|mrecist)$", "require": ["mvi"]}
    config = _table_config(tmp_path, veterans, name="required", features=features)
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "features.require: the development cohort's clinical table" in err
    assert "has no column mvi; the model would be fitted without it" in err
    assert "Traceback" not in err and store.list_runs("required").empty


def test_dsfr_trains_on_a_cohort_without_the_early_recurrence_studys_columns(
    shared_data, tmp_path, store
):
    """Real lung CTs with time, event and age: features.dsfr refused them ('The clinical table
    lacks afp, albi_score, hbv, needed for the clinical model'), `train` running the `dsfr`
    command's early-recurrence study. A run trains the U-Net and pools its features alone."""
    outcomes = {"lung1": (200, 1), "lung1_mirror": (300, 1), "lung2": (900, 0),
                "lung2_mirror": (1200, 1)}  # fmt: skip
    cohort = lung_cohort(shared_data, tmp_path / "lungs", outcomes)
    path = _config(
        tmp_path,
        cohort,
        name="dsfr-lungs",
        features={
            "clinical": True,
            "dsfr": {"epochs": 1, "slice_size": 32},
            "select": "^age$|^dsfr_000$",
        },  # fmt: skip
        protocol={"name": "nested_cv", "repeats": 1, "folds": 2},
    )
    result = run_training(load_config(path), store=store)
    folder = store.get_run(result.run_id).folder
    unet = json.loads((folder / "reports" / "dsfr_segmentation.json").read_text())
    assert sorted(unet["development"] + unet["held_out"]) == sorted(outcomes)
    assert not (folder / "dsfr" / "cox_model").exists()
    assert load_scoring_model(folder / "model").inputs == ["age", "dsfr_000"]


def test_dsfr_over_cohorts_of_two_modalities_is_refused_before_the_u_net_trains(
    cohorts, tmp_path, capsys
):
    """An MR development cohort with a CT external one trained the U-Net, then refused 'case
    SYN-0001 is CT' (an id of both cohorts, the external one not named)."""
    from survival_core.synthetic.generate import generate_cohort

    generate_cohort(tmp_path / "mr", n=4, seed=12, workers=1, modality="MR")
    config = _config(
        tmp_path,
        tmp_path / "mr",
        name="dsfr-two-modalities",
        features={"dsfr": {"epochs": 1, "slice_size": 32}},
        protocol={"name": "external", "external_cohort": str(cohorts / "ext")},
    )
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "features.dsfr: one U-Net learns one modality, and these cohorts hold CT and MR" in err
    assert f"the external cohort {cohorts / 'ext'}: CT" in err and "U-Net epoch" not in err


def test_an_external_cohort_of_another_modality_is_refused_under_image_features(
    cohorts, tmp_path, capsys
):
    """A CT radiomics model validated on an MR cohort ran and reported an external c-index
    (0.818), the modalities said only in the tables' metadata; scoring refuses an MR case under
    that model ('not comparable'). Refused before the run starts, and by the run itself where a
    cohort is prepared on the way (``demo``)."""
    from survival_core.errors import ConfigError
    from survival_core.runs.runner import prepare_data
    from survival_core.synthetic.generate import generate_cohort

    generate_cohort(tmp_path / "mr", n=4, seed=12, workers=1, modality="MR")
    config = _config(
        tmp_path,
        cohorts / "dev",
        name="ct-on-mr",
        features={"clinical": True, "radiomics": ["wei2021"]},
        protocol={"name": "external", "external_cohort": str(tmp_path / "mr")},
    )
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"the external cohort {tmp_path / 'mr'} is MR and the development cohort" in err
    assert "features.radiomics" in err and "Traceback" not in err and "extracting" not in err
    (tmp_path / "run").mkdir()
    with pytest.raises(ConfigError, match="learned from CT images"):
        prepare_data(load_config(config), tmp_path / "run", None, lambda _: None)
    assert not list((tmp_path / "run").rglob("*.parquet"))


def test_external_patients_of_a_category_never_developed_on_are_left_out_and_said(tmp_path, store):
    """Centre X's patients are of grades I and II, centre Y's also of grade III: the grade III
    patients were encoded as all zeros, scored as grade I and counted in the external c-index
    (0.592 for 0.654 on the others), a note alone saying so. Now left out of the external
    metrics, counted and listed with why: the metrics equal those of the cohort without them."""
    sheet = pd.read_csv(clinical_exports.gbsg2(tmp_path).path)
    development = sheet.iloc[:400][sheet.iloc[:400]["tgrade"] != "III"]
    external = sheet.iloc[400:]
    for name, rows in (("x", development), ("y", external), ("y_no_iii", external)):
        rows = rows[rows["tgrade"] != "III"] if name == "y_no_iii" else rows
        rows.to_csv(tmp_path / f"{name}.csv", index=False)
        _import(tmp_path / f"{name}.csv", tmp_path / name)
    results = {}
    for name in ("y", "y_no_iii"):
        protocol = {"name": "external", "external_cohort": str(tmp_path / name)}
        config = _table_config(tmp_path, tmp_path / "x", name=f"grades-{name}", protocol=protocol)
        results[name] = run_training(load_config(config), store=store)
    grade_iii = int((external["tgrade"] == "III").sum())
    with_iii, without = results["y"].metrics, results["y_no_iii"].metrics
    assert with_iii["n"] == without["n"] == len(external) - grade_iii
    assert with_iii["c_index"] == pytest.approx(without["c_index"])
    reports = store.get_run(results["y"].run_id).folder / "reports"
    notes = (reports / "notes.txt").read_text()
    assert f"{grade_iii} of the external cohort's {len(external)} patients are left out" in notes
    assert "'tgrade' is 'III', a category the development cohort never had" in notes
    left_out = pd.read_csv(reports / "left_out.csv")
    assert len(left_out) == grade_iii and left_out["case_id"].str.startswith(EXTERNAL_PREFIX).all()
    assert (left_out["kind"] == "unseen_category").all()  # not a case to fix


def test_external_cases_that_failed_to_load_are_listed_in_left_out(shared_data, tmp_path, store):
    """Both cohorts of an external validation have a case whose CT file is cut short
    (pyradiomics' lung CTs): its radiomics cannot be extracted. The run's left_out.csv listed
    neither (it read the stacked tables, which have no failures table beside them); now both."""
    development = {"lung1": (200, 1), "lung1_mirror": (300, 1), "lung2": (900, 0),
                   "lung2_mirror": (1200, 1)}  # fmt: skip
    dev = lung_cohort(shared_data, tmp_path / "dev", development)
    ext = lung_cohort(
        shared_data, tmp_path / "ext", {c: (t + 50, e) for c, (t, e) in development.items()}
    )
    for table in ("clinical", "manifest"):  # other patients than the development's
        frame = pd.read_csv(ext / f"{table}.csv")
        frame.assign(case_id="x-" + frame["case_id"]).to_csv(ext / f"{table}.csv", index=False)
    for cohort in (dev, ext):
        image = cohort / "cases" / "lung2" / "image.nii"
        image.write_bytes(image.read_bytes()[:1000])
    path = _config(
        tmp_path,
        dev,
        name="failed-external",
        features={"clinical": True, "radiomics": ["han2020"], "select": "^age$"},
        protocol={"name": "external", "external_cohort": str(ext)},
    )
    result = run_training(load_config(path), store=store)
    assert result.status == "FINISHED" and result.metrics["n"] == 3
    reports = store.get_run(result.run_id).folder / "reports"
    left_out = pd.read_csv(reports / "left_out.csv")
    assert left_out["case_id"].tolist() == ["lung2", EXTERNAL_PREFIX + "x-lung2"]
    assert left_out["error"].str.contains("image.nii is truncated").all()
    assert (left_out["kind"] == "not_computed").all()
    report = (reports / "report.html").read_text()
    assert "2 case(s) left out of this run: their features could not be computed" in report


def test_cv_test_rows_of_a_category_their_fold_never_trained_on_are_listed_in_left_out(
    tmp_path, store
):
    """GBSG2 (real) with one grade III patient kept: each fold testing them was trained without
    grade III and scored them as grade I, counted in the run's c-index with a note alone. The
    run leaves them out of those folds and lists them with the fold in reports/left_out.csv."""
    sheet = pd.read_csv(clinical_exports.gbsg2(tmp_path).path)
    kept = (sheet["tgrade"] != "III") | (sheet.index == sheet.index[sheet["tgrade"] == "III"][0])
    sheet[kept].to_csv(tmp_path / "one_iii.csv", index=False)
    cohort = _import(tmp_path / "one_iii.csv", tmp_path / "one_iii")
    clinical = pd.read_csv(cohort / "clinical.csv")
    config = _table_config(tmp_path, cohort, name="one-grade-iii")
    result = run_training(load_config(config), store=store)
    assert result.metrics["n"] == len(clinical) - 1
    reports = store.get_run(result.run_id).folder / "reports"
    left_out = pd.read_csv(reports / "left_out.csv")
    iii = clinical.loc[clinical["tgrade"] == "III", "case_id"].item()
    assert left_out["case_id"].tolist() == [iii, iii]  # tested once in each of the 2 repeats
    assert (left_out["kind"] == "unseen_category").all()
    # headed as a category the folds never trained on, not as features to fix (the page's words)
    report = (reports / "report.html").read_text()
    assert "1 case(s) left out of some predictions: each holds a category" in report
    assert "their features could not be computed" not in report
    for repeat, error in enumerate(left_out["error"], start=1):
        assert error.startswith(
            f"fold {repeat}."
        ) and "'tgrade' is 'III', a category the fold's" in (error)


def test_a_new_centre_is_refused_by_its_column_not_left_out_patient_by_patient(tmp_path, store):
    """A development cohort of centres 1 and 2 (a centre column: categories) validated at centre 3:
    every external patient was left out and the refusal said to validate on the development's
    categories, which no other hospital can; the column is named, and how to leave it out."""
    sheet = pd.read_csv(clinical_exports.gbsg2(tmp_path).path)
    sheet["centre"] = np.where(np.arange(len(sheet)) < 400, 1 + np.arange(len(sheet)) % 2, 3)
    for name, rows in (("dev", sheet.iloc[:400]), ("new", sheet.iloc[400:])):
        rows.to_csv(tmp_path / f"{name}.csv", index=False)
        _import(tmp_path / f"{name}.csv", tmp_path / name)
    protocol = {"name": "external", "external_cohort": str(tmp_path / "new")}
    config = _table_config(tmp_path, tmp_path / "dev", name="new-centre", protocol=protocol)
    with pytest.raises(InputError, match="'centre' \\('3'\\) holds none.*features.select"):
        run_training(load_config(config), store=store)


def test_an_external_validation_of_a_network_validates_the_model_it_registers(
    gbsg2, tmp_path, store
):
    """The external fold held back 25 % of the development rows for a network's early stopping,
    the registered model then fitted on all of them with its own: the card's external c-index
    was another fit's (31 of 286 external patients in another risk group)."""
    from survival_core.evaluation.concordance import harrell_c_index
    from survival_core.io.tables import load_model_table

    protocol = {"name": "external", "external_cohort": str(gbsg2 / "ext")}
    model = {"name": "deepsurv", "params": {"epochs": 15}}
    config = _table_config(tmp_path, gbsg2 / "dev", name="ext-net", model=model, protocol=protocol)
    result = run_training(load_config(config), store=store)
    folder = store.get_run(result.run_id).folder
    oof = pd.read_csv(folder / "reports" / "oof.csv").dropna(subset=["risk"])
    table = load_model_table([gbsg2 / "ext" / "clinical.csv"])
    ids = oof["case_id"].str.removeprefix(EXTERNAL_PREFIX)
    registered = load_scoring_model(folder / "model")
    risk = registered.model.predict_risk(table.X.loc[ids, registered.inputs])
    assert np.corrcoef(risk, oof["risk"])[0, 1] == pytest.approx(1.0, abs=1e-9)
    y = table.subset(ids).y
    outcome = y[pd.Index(table.subset(ids).case_ids).get_indexer(ids)]
    assert harrell_c_index(outcome, risk) == pytest.approx(result.metrics["c_index"], abs=1e-9)


def test_external_columns_the_model_does_not_read_may_differ(gbsg2, tmp_path, store):
    """A site's export with a column more (a scanner kernel) or fewer (one the development's
    selection leaves out) was refused ('other columns than the development cohort's') though the
    model reads neither. Now only the columns it reads must match; the others are named in a
    note and left out: the metrics equal those of the cohort as the development's."""
    other = tmp_path / "other"
    shutil.copytree(gbsg2 / "ext", other)
    clinical = pd.read_csv(other / "clinical.csv")
    clinical.drop(columns=["progrec"]).assign(kernel="B30f").to_csv(
        other / "clinical.csv", index=False
    )
    features = {"clinical": True, "select": "^(age|tsize|pnodes|horTh)$"}
    results = {}
    for name, external in (("same", gbsg2 / "ext"), ("other", other)):
        protocol = {"name": "external", "external_cohort": str(external)}
        config = _table_config(
            tmp_path, gbsg2 / "dev", name=f"columns-{name}", features=features, protocol=protocol
        )
        results[name] = run_training(load_config(config), store=store)
    assert results["other"].metrics["n"] == results["same"].metrics["n"] == 286
    assert results["other"].metrics["c_index"] == results["same"].metrics["c_index"]
    notes = (store.get_run(results["other"].run_id).folder / "reports" / "notes.txt").read_text()
    assert "clinical.csv lacks 'progrec', column(s) the model does not read" in notes
    assert "clinical.csv has 'kernel' besides the development cohort's clinical.csv" in notes

    read = {"clinical": True, "select": "^(age|tsize|progrec)$"}  # one it reads: refused
    protocol = {"name": "external", "external_cohort": str(other)}
    config = _table_config(tmp_path, gbsg2 / "dev", name="columns-read", features=read,
                           protocol=protocol)  # fmt: skip
    with pytest.raises(InputError, match="clinical.csv lacks 'progrec' .*, and the model reads it"):
        run_training(load_config(config), store=store)


def test_an_identifier_column_is_never_one_the_model_reads():
    """The external tables are compared on the columns the model reads: an identifier (an
    export's 'mrn') is never a feature, so one cohort's alone must not refuse the run."""
    from types import SimpleNamespace

    from survival_core.runs.runner import _reads

    config = SimpleNamespace(features=SimpleNamespace(select=None, clinical=True))
    assert _reads(config, "age") and _reads(config, "time")
    assert not _reads(config, "mrn") and not _reads(config, "patient_id")


def test_the_run_report_says_what_was_validated_and_how_well(veterans, tmp_path, store):
    """report.html, the file filed with a tumour board, held the run's name, figures and notes:
    no c-index, interval, patients tested, folds, nor the cohort, model or protocol. Now it
    holds the pooled metrics with their intervals, each fold's, and every setting; a text the
    user typed is escaped."""
    config = _table_config(
        tmp_path,
        veterans,
        name="reported",
        description="<script>alert('x')</script> & co",
        model={"name": "coxph", "params": {"penalizer": 0.1}},
    )
    result = run_training(load_config(config), store=store)
    reports = store.get_run(result.run_id).folder / "reports"
    html = (reports / "report.html").read_text()
    m = result.metrics

    def row(what: str, value: str) -> str:
        return f"<tr><td>{escape(what)}</td><td>{escape(value)}</td></tr>"

    assert result.run_id in html
    c_index = f"{m['c_index']:.3f} ({m['ci_low']:.3f} to {m['ci_high']:.3f})"
    assert row("Harrell's c-index (95 % CI, bootstrap of 50)", c_index) in html
    assert row("Patients tested (out of fold)", f"{m['n']:.0f}") in html
    days = f"{m['ibs_range_from']:.0f}-{m['ibs_range_to']:.0f} days"
    assert row(f"Integrated Brier score ({days})", f"{m['ibs']:.3f}") in html
    assert row(f"Uno's c (truncated at {m['uno_tau']:g} days)", f"{m['uno_c_index']:.3f}") in html
    assert row("Time-dependent AUC at 180 days", f"{m['td_auc_180']:.3f}") in html
    for setting, value in [
        ("cohort", str(veterans)),
        ("model.name", "coxph"),
        ("model.params.penalizer", "0.1"),
        ("protocol.name", "nested_cv"),
        ("protocol.repeats", "2"),
        ("protocol.folds", "3"),
        ("seed", "0"),
    ]:
        assert row(setting, value) in html, setting
    folds = pd.read_csv(reports / "folds.csv")
    table = html.split("<h2>Per-fold metrics</h2>")[1].split("</table>")[0]
    assert table.count("<tr") == 1 + len(folds) == 7  # the header, then each fold
    assert all(f"<td>{c:.3f}</td>" in table for c in folds["c_index"])
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in html
    # repeats and folds counted from 1, as the progress log counts them ('fold 1/6 (repeat 1)')
    assert folds[["repeat", "fold"]].drop_duplicates().shape == (6, 2)
    assert (folds["repeat"].min(), folds["repeat"].max(), folds["fold"].max()) == (1, 2, 3)
    # the slope and the figures at one horizon, said: risk_groups.horizon 730 is not evaluated
    slope = "Calibration slope at 180 days, the middle td-AUC horizon (95 % CI)"
    assert f"<td>{escape(slope)}</td>" in html
    assert "calibration and decision curve at 180 days: the summary&#x27;s calibration" in html
    assert "calibration and decision curve left out" not in html
    # enough to redo the run: its code, the versions of the packages that change its numbers,
    # its data and its date, in the report, the run's tags and the model's card
    from importlib.metadata import version

    tags = store.get_run(result.run_id).tags
    digest = tags["data.table:clinical.csv"]
    assert row("Data table:clinical.csv (SHA-256)", digest) in html
    assert row("Package scikit-survival", version("scikit-survival")) in html
    assert f"<tr><td>Code version</td><td>{tags['radsurv.code_version']} (sources " in html
    assert "<tr><td>Date (UTC)</td><td>20" in html
    assert tags["package.scikit-survival"] == version("scikit-survival")
    card = ModelCard.load(store.model_folder("reported", result.model_version))
    assert card.cv["provenance"]["packages"]["lifelines"] == version("lifelines")
    assert card.cv["provenance"]["data"]["table:clinical.csv"] == digest


def test_the_calibration_intervals_are_tracked_as_the_c_index_one_is(
    veterans, tmp_path, store, capsys
):
    """The calibration slope's and calibration-in-the-large's 95 % intervals were only in the
    card and report.html: `train --json` and the tracked metrics had the c-index's (ci_low,
    ci_high) but neither of these."""
    config = _table_config(tmp_path, veterans, name="calibrated")
    assert main(["train", "--config", str(config), "--json"]) == 0
    result = _last_json(capsys.readouterr().out)
    calibration = ModelCard.load(store.model_folder("calibrated", 1)).cv["calibration"]
    intervals = {
        f"calibration_{name}_ci_{end}": calibration[f"{name}_ci"][i]
        for name in ("slope", "in_the_large")
        for i, end in enumerate(("low", "high"))
    }
    assert intervals["calibration_slope_ci_low"] < calibration["slope"]
    tracked = store.get_run(result["run_id"]).metrics
    for name, value in intervals.items():
        assert result["metrics"][name] == tracked[name] == pytest.approx(value), name


def test_a_run_restoring_an_experiment_deleted_in_mlflow_says_so(veterans, tmp_path, store, capsys):
    """An experiment deleted in MLflow (its UI, its client) was restored by the next run of its
    name without a word, its deleted runs listed again; listing the name's runs restored it too.
    Now a listing leaves it deleted, and the run that restores it says so."""
    config = _table_config(tmp_path, veterans, name="undeleted")
    earlier = [store.start_run("undeleted", yaml.safe_load(config.read_text())) for _ in "ab"]
    for run in earlier:
        run.finish("FINISHED")
    store.client.delete_experiment(store.client.get_experiment_by_name("undeleted").experiment_id)
    assert store.list_runs("undeleted").empty and "undeleted" not in set(store.list_runs()["name"])
    assert main(["train", "--config", str(config), "--json"]) == 0
    said = capsys.readouterr()
    assert (
        "note: experiment undeleted had been deleted in MLflow; restored: its 2 earlier run(s) "
        "are listed again.\n" in said.err
    )
    listed = set(store.list_runs("undeleted")["run_id"])
    assert listed == {run.run_id for run in earlier} | {_last_json(said.out)["run_id"]}


def test_an_active_model_chosen_in_another_store_of_the_data_folder_is_refused_by_name(
    veterans, tmp_path, store, monkeypatch, capsys
):
    """One data folder, two stores (a tracking server, the folder's own mlflow.db), each with a
    'twin v1': made active on the server, it was scored by `score` from a shell without
    MLFLOW_TRACKING_URI as 'the active model twin v1', the server's model, not this store's v1;
    the app refused it as 'no longer in the model registry'. Now both say which registry it was
    chosen in and what to do, and a score names the run that fitted its model."""
    import ui.models as models

    ours = run_training(load_config(_table_config(tmp_path, veterans, name="twin")), store=store)
    server = f"sqlite:///{tmp_path / 'server.db'}"  # a tracking server's registry, as far as
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)  # the data folder can tell
    stiffer = {"name": "coxph", "params": {"penalizer": 2.0}}
    (tmp_path / "server").mkdir()
    config = _table_config(tmp_path / "server", veterans, name="twin", model=stiffer)
    theirs = run_training(load_config(config), activate=True, store=RunStore())
    assert ours.model_version == theirs.model_version == "1"
    patient = pd.read_csv(veterans / "clinical.csv").drop(columns=["time", "event"]).iloc[0]
    (values := tmp_path / "patient.json").write_text(patient.to_json())
    assert main(["score", "--values", str(values), "--json"]) == 0
    scored = _last_json(capsys.readouterr().out)
    assert scored["run_id"] == theirs.run_id

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert main(["score", "--values", str(values), "--json"]) == 2
    refused = (
        f"The active model twin v1 (run {theirs.run_id}) was chosen in the model registry "
        f"{server}, not in the one in use here, the data folder's own store, which holds run "
        f"{ours.run_id}'s model under that name and version: set MLFLOW_TRACKING_URI={server} to "
        "use it, or choose the active model again in this one (the Training page's Promote, "
        "`train --activate`)."
    )
    assert _last_json(capsys.readouterr().out)["error"] == refused
    monkeypatch.setattr(models, "current_store", lambda: store)
    problems: list[str] = []
    offered = [c for c in models.model_choices(problems) if c.label.startswith("twin")]
    ours_folder = store.model_folder("twin", 1)  # this store's v1, offered, not active
    assert [(c.folder, c.default) for c in offered] == [(ours_folder, False)]
    assert main(["score", "--values", str(values), "--model", str(ours_folder), "--json"]) == 0
    mine = _last_json(capsys.readouterr().out)
    assert mine["risk"] != scored["risk"] and mine["run_id"] == ours.run_id


def test_a_patient_withdrawn_while_a_run_extracts_is_left_out_and_the_run_finishes(
    cohorts, tmp_path, store
):
    """Withdrawn while the run extracted its cohort's features: the extraction left them out and
    the clinical table, read after it, lacked them, yet the run failed after all its folds
    saying its folds held the withdrawn patient's predictions (the cohort's files were recorded
    before the extraction). What the folds read is recorded once the features are ready."""
    import shutil

    from survival_core.cohort.withdrawal import withdraw

    cohort = tmp_path / "dev"
    shutil.copytree(cohorts / "dev", cohort)
    gone = pd.read_csv(cohort / "manifest.csv", dtype=str)["case_id"].iloc[-1]
    said: list[str] = []

    def withdraw_once(message: str) -> None:
        said.append(message)
        if message.startswith("[1/") and not any(m.startswith("WITHDRAWN") for m in said):
            withdraw(cohort, [gone])
            said.append("WITHDRAWN")

    path = _config(
        tmp_path, cohort, name="withdrawn-while-extracting", features={"radiomics": ["wei2021"]}
    )
    result = run_training(load_config(path), store=store, progress=withdraw_once)
    assert "WITHDRAWN" in said and result.status == "FINISHED"
    folder = store.get_run(result.run_id).folder
    assert gone not in set(pd.read_csv(folder / "reports" / "oof.csv")["case_id"])
    assert load_scoring_model(folder / "model").card.n == 29
    said = (folder / "reports" / "notes.txt").read_text()
    assert "1 case(s) withdrawn from the cohort during the extraction left out" in said


def test_too_few_tested_events_for_a_smoothed_curve_keep_the_calibration_figure():
    """A test set of 44 GBSG2 patients with 4 events: the smoothed curve needs 5 and its
    refusal dropped the whole calibration figure (the groups, slope and in-the-large that need
    fewer), the note blaming 'positive follow-up times' besides. Now the figure stays and the
    note names the real condition."""
    from sksurv.datasets import load_gbsg2
    from sksurv.util import Surv

    from survival_core.evaluation.risk_groups import RiskGroupCut
    from survival_core.evaluation.splits import Fold
    from survival_core.models import make_model
    from survival_core.runs.config import parse_config
    from survival_core.runs.runner import run_figures
    from survival_core.workflows.crossval import cross_validate

    X, outcome = load_gbsg2()
    y = Surv.from_arrays(outcome["cens"], outcome["time"])
    test = np.r_[np.flatnonzero(~y["event"])[:40], np.flatnonzero(y["event"])[:4]]
    fold = Fold(0, 0, np.setdiff1d(np.arange(len(y)), test), np.array([], dtype=int), test)
    result = cross_validate(
        X, y, lambda: make_model("coxph"), [fold], horizons=[730.0], n_bootstrap=20,
        group_cut=RiskGroupCut(),
    )  # fmt: skip
    config = parse_config(
        {"name": "few", "cohort": "gbsg2", "model": {"name": "coxph"}, "horizons": [730]}
    )
    figures = run_figures(result, y, config)
    assert "calibration" in figures
    assert (
        "calibration: smoothed curve left out: Smoothed calibration needs at least 5 events; "
        "the 44 patients have 4."
    ) in figures["_notes"]


def test_the_report_names_the_days_of_the_integrated_brier_score():
    """The report's 'Integrated Brier score' row gave 0.187 for one external cohort and 0.116
    for the same patients followed to 800 days, without the days each covers."""
    from survival_core.runs.config import parse_config
    from survival_core.runs.runner import summary_rows

    config = parse_config({"name": "ibs", "cohort": "gbsg2", "model": {"name": "coxph"}})
    summary = {"n": 236, "ibs": 0.1163, "ibs_range": {"from": 250.8, "to": 769.28}}
    assert ("Integrated Brier score (251-769 days)", "0.116") in summary_rows(summary, config)
    del summary["ibs_range"]  # a run from before it was recorded
    assert ("Integrated Brier score", "0.116") in summary_rows(summary, config)


def test_figures_at_a_horizon_few_are_followed_after_say_so():
    """GBSG2, a fixed 8:2 split, calibration and decision curve drawn at the risk-group horizon,
    2,400 days, after which 3 of the 138 tested patients are followed: the summary's caution
    there named its td-AUC (and a calibration computed at 730 days), not the figures."""
    from sksurv.datasets import load_gbsg2
    from sksurv.util import Surv

    from survival_core.evaluation import splits
    from survival_core.evaluation.risk_groups import RiskGroupCut
    from survival_core.models import make_model
    from survival_core.runs.config import parse_config
    from survival_core.runs.runner import run_figures
    from survival_core.workflows.crossval import cross_validate

    X, outcome = load_gbsg2()
    y = Surv.from_arrays(outcome["cens"], outcome["time"])
    folds = splits.fixed_split(y["event"], test_fraction=0.2, seed=0)
    result = cross_validate(
        X, y, lambda: make_model("coxph"), folds, horizons=[365, 730, 2400], n_bootstrap=20,
        group_cut=RiskGroupCut(),
    )  # fmt: skip
    config = parse_config(
        {"name": "late", "cohort": "gbsg2", "model": {"name": "coxph"},
         "horizons": [365, 730, 2400], "risk_groups": {"horizon": 2400}}
    )  # fmt: skip
    notes = run_figures(result, y, config)["_notes"]
    assert (
        "At 2400 days only 3 of the 138 tested patients are still followed: its calibration and "
        "decision curve figures rest on that few controls, too few to trust."
    ) in notes
