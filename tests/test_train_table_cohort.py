"""``train`` on a table-only cohort (a real spreadsheet through ``cohort import --clinical``), the
checks it makes before any fold runs, and ``cv``/``fit`` seeding a model as ``train`` does."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from survival_core.cli.main import main
from survival_core.runs.store import RunStore
from tests import clinical_exports

#: A seeded model, small enough for seconds: 3 folds of a 20-tree forest on 137 patients.
RSF = ["--model", "rsf", "--param", "n_estimators=20", "--repeats", "1", "--folds", "3"]


@pytest.fixture(scope="module")
def veterans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The veterans' lung cancer trial as a table-only cohort (clinical.csv, no manifest)."""
    root = tmp_path_factory.mktemp("veterans")
    sheet = clinical_exports.veterans(root).path
    assert main(["cohort", "import", "--clinical", str(sheet), "--out", str(root / "c")]) == 0
    assert not (root / "c" / "manifest.csv").exists()
    return root / "c"


def _config(folder: Path, cohort: Path, **overrides) -> Path:
    config = {
        "name": "veterans",
        "cohort": str(cohort),
        "model": {"name": "rsf", "params": {"n_estimators": 20}},
        "protocol": {"name": "nested_cv", "repeats": 1, "folds": 3},
        "bootstrap": 50,
        "seed": 3,
        **overrides,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _last_json(capsys: pytest.CaptureFixture) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_reads_a_table_only_cohort_with_the_seed_cv_and_fit_use(veterans, tmp_path, capsys):
    """The same seed, cohort and folds: ``train``, ``cv --seed`` and ``fit --seed`` seed the
    forest alike (before, cv and fit left it at seed 0); an explicit ``--param seed`` wins."""
    assert main(["train", "--config", str(_config(tmp_path, veterans)), "--json"]) == 0
    trained = _last_json(capsys)
    assert trained["status"] == "FINISHED"
    cv = [*RSF, "--cohort", str(veterans), "--bootstrap", "50", "--json"]
    assert main(["cv", *cv, "--seed", "3"]) == 0
    assert _last_json(capsys)["c_index"] == pytest.approx(trained["metrics"]["c_index"], abs=1e-12)
    assert main(["cv", *cv, "--seed", "3", "--param", "seed=0"]) == 0
    assert _last_json(capsys)["c_index"] != pytest.approx(trained["metrics"]["c_index"])

    def apparent(*args: str) -> float:
        out = ["--out", str(tmp_path / "fit"), "--json"]
        assert main(["fit", *RSF[:4], "--cohort", str(veterans), *args, *out]) == 0
        return _last_json(capsys)["apparent_c_index"]

    assert apparent("--seed", "3") == apparent("--param", "seed=3") != apparent("--seed", "0")


def test_image_inputs_of_a_table_only_cohort_are_refused_before_a_run(veterans, tmp_path, capsys):
    for overrides in (
        {"features": {"radiomics": ["wei2021"]}},
        {"model": {"name": "cnn3d"}, "features": {"clinical": False}},
    ):
        config = _config(tmp_path, veterans, name="refused", **overrides)
        assert main(["train", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert "is table-only" in err and "images are needed by" in err, err
    assert RunStore().list_runs("refused").empty  # refused up front: no FAILED run left


def test_a_selection_matching_no_column_is_refused_before_a_run(veterans, tmp_path, capsys):
    """'select' of the sheet's headers matched none of the imported names: the run was created,
    then failed with 'No feature column matches', naming neither the key nor the columns."""
    select = "^(Age_in_years|Karnofsky_score|Celltype)$"
    config = _config(tmp_path, veterans, name="unselected", features={"select": select})
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"features.select: {select!r} matches no column of the development cohort's" in err
    assert "It has age, celltype, karnofsky_score, months_from_diagnosis" in err
    assert "Karnofsky_score as karnofsky_score" in err and "Traceback" not in err
    assert RunStore().list_runs("unselected").empty
    kept = _config(tmp_path, veterans, name="selected", features={"select": "^(age|celltype)$"})
    assert main(["train", "--config", str(kept), "--json"]) == 0


def test_youden_horizon_past_follow_up_is_refused_before_the_folds(veterans, tmp_path, capsys):
    risk_groups = {"cut": "youden", "horizon": 5000}  # follow-up ends at 999 days
    config = _config(tmp_path, veterans, name="youden", risk_groups=risk_groups)
    assert main(["train", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert "risk_groups.horizon: the Youden cut is learned at 5000 days" in captured.err
    assert "fold 1/3" not in captured.err


def test_resuming_an_unknown_run_is_an_error_line(veterans, tmp_path, capsys):
    for extra in ([], ["--config", str(_config(tmp_path, veterans))]):
        assert main(["train", "--resume", "nonexistent", *extra]) == 2
        err = capsys.readouterr().err
        assert "No run with id 'nonexistent'" in err and "Traceback" not in err


def test_a_ray_cluster_nothing_answers_at_is_refused_before_a_run(veterans, tmp_path, capsys):
    """The refusal was clear, but a FAILED run was left for a config that never started."""
    engine = {"engine": {"kind": "ray", "address": "127.0.0.1:1"}}
    config = _config(tmp_path, veterans, name="unreachable", **engine)
    assert main(["train", "--config", str(config)]) == 2
    assert "Cannot reach the Ray cluster at '127.0.0.1:1'" in capsys.readouterr().err
    assert RunStore().list_runs("unreachable").empty


def _external(tmp_path: Path, veterans: Path, table: pd.DataFrame) -> Path:
    folder = tmp_path / "ext"
    folder.mkdir(parents=True)
    table.to_csv(folder / "clinical.csv", index=False)
    protocol = {"name": "external", "external_cohort": str(folder)}
    return _config(tmp_path, veterans, name="external", protocol=protocol)


def test_an_external_cohort_coded_otherwise_or_of_the_same_patients_is_refused(
    veterans, tmp_path, capsys
):
    """A 1/2 (R) coded external cohort under a 0/1 development one was half read (its events
    dropped, its censored patients counted as deaths: c-index 0.580 for 0.684); the development
    patients themselves given as the external cohort were 'externally validated'."""
    own = pd.read_csv(veterans / "clinical.csv", dtype={"case_id": str})
    recoded = own.assign(case_id="X" + own["case_id"], event=own["event"] + 1)
    assert main(["train", "--config", str(_external(tmp_path / "a", veterans, recoded))]) == 2
    assert "The external cohort's clinical.csv: The event column holds 1 and 2" in (
        capsys.readouterr().err
    )
    copy = own.iloc[:40]
    assert main(["train", "--config", str(_external(tmp_path / "b", veterans, copy))]) == 2
    assert "40 of the external cohort's 40 patients are development patients" in (
        capsys.readouterr().err
    )
    # the same patients under other case ids: 'externally validated' at the apparent c-index
    renamed = own.iloc[:40].assign(case_id="B-" + own["case_id"].iloc[:40])
    assert main(["train", "--config", str(_external(tmp_path / "c", veterans, renamed))]) == 2
    err = capsys.readouterr().err
    assert "40 of the external cohort's 40 patients have a development patient's follow-up" in err
    assert f"(B-{own['case_id'].iloc[0]} = {own['case_id'].iloc[0]}, " in err
    # a column read as float beside a gap ('63.0') is the same value as '63' in a copy
    from survival_core.runs.runner import _comparable

    gap = pd.DataFrame({"age": [63.0, None], "sex": [" f", "m"]})
    whole = pd.DataFrame({"age": [63, 70], "sex": ["f", "m"]})
    assert (_comparable(gap.iloc[:1]) == _comparable(whole.iloc[:1])).all()


def _gbsg2_sites(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GBSG2 (real) as two sites' clinical tables: postmenopausal (development) and
    premenopausal (external) patients, keyed by case ids as an import writes them."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    table = X.astype({c: str for c in X.select_dtypes("category")})
    table = table.assign(time=y["time"], event=y["cens"].astype(int))
    table.insert(0, "case_id", [f"RS-{i:010X}" for i in range(len(table))])
    post, pre = (table[table["menostat"] == m].drop(columns="menostat") for m in ("Post", "Pre"))
    return post, pre


@pytest.mark.parametrize(
    ("column", "change", "said"), [("time", 180, "follow-up"), ("age", 1, "age")]
)
def test_development_patients_exported_again_are_refused_whatever_changed(
    tmp_path, column, change, said
):
    """60 development patients exported again in the external cohort under their case ids, their
    follow-up 180 days longer or their age a year on: only identical records were refused, and
    these were 'validated' with the others (n = 350, c = 0.671, no note). Other patients under
    the same case ids (centres numbering alike) are still validated on."""
    from survival_core.errors import InputError
    from survival_core.runs.runner import _check_external_patients

    post, pre = _gbsg2_sites(tmp_path)
    again = post.iloc[:60].assign(**{column: post[column].iloc[:60] + change})
    for name, table in (("dev", post), ("ext", pd.concat([pre, again])), ("alike", pre)):
        (tmp_path / name).mkdir()
        if name == "alike":
            table = table.assign(case_id=post["case_id"].iloc[: len(pre)].to_numpy())
        table.to_csv(tmp_path / name / "clinical.csv", index=False)
    dev = tmp_path / "dev" / "clinical.csv"
    with pytest.raises(InputError) as refused:
        _check_external_patients(dev, tmp_path / "ext" / "clinical.csv")
    assert str(refused.value).startswith(
        "60 of the external cohort's 350 patients are development patients: the case_id of a "
        f"patient of dev/clinical.csv in ext/clinical.csv with the same record but for {said} "
        f"(60 patients): likely a later export of the same patients, follow-up or values updated "
        f"('{post['case_id'].iloc[0]}', "
    )
    assert _check_external_patients(dev, tmp_path / "alike" / "clinical.csv") == []


def test_an_external_cohort_without_events_is_refused_before_the_run(veterans, tmp_path, capsys):
    """290 external patients all censored: the run fitted its model, then failed on 'No
    comparable patient pairs ...' alone, the external cohort and its 0 events said nowhere."""
    own = pd.read_csv(veterans / "clinical.csv", dtype={"case_id": str})
    censored = own.assign(case_id="C" + own["case_id"], event=0)
    assert main(["train", "--config", str(_external(tmp_path, veterans, censored))]) == 2
    err = capsys.readouterr().err
    assert (
        f"protocol.external_cohort: the external cohort {tmp_path / 'ext'} has 0 events in its "
        f"{len(own)} patients" in err
    )
    assert "fold 1/1" not in err


def test_an_external_cohort_on_another_time_scale_is_noted(veterans, tmp_path, capsys):
    """An external cohort's times in weeks read as days: its 1-year td-AUC was taken at seven
    years, and nothing said so (the stacked table's longest follow-up was the development's)."""
    own = pd.read_csv(veterans / "clinical.csv", dtype={"case_id": str})
    weeks = own.assign(case_id="W" + own["case_id"], time=(own["time"] / 7).round(1), age=70)
    config = _external(tmp_path, veterans, weeks)
    assert main(["train", "--config", str(config), "--json"]) == 0
    run_id = _last_json(capsys)["run_id"]
    notes = (RunStore().get_run(run_id).folder / "reports" / "notes.txt").read_text()
    assert "The external cohort's median follow-up (" in notes
    assert "is 1/7 of the development cohort's" in notes  # not '1/7 times'


def test_an_external_validation_is_reported_as_one_not_as_cross_validation(
    veterans, tmp_path, capsys
):
    """Veterans without prior therapy developed on, those with it validated on: report.html said
    'Summary (pooled out-of-fold predictions)', 'Patients tested (out of fold)' and a 'c-index
    over the folds' of one test set, the KM figure 'Out-of-fold risk groups (each fold's
    training median cut)', and the runs table and model picker showed the development cohort
    beside the external c-index as the nested-CV run of that cohort shows its own."""
    from ui.training import runs_table

    own = pd.read_csv(veterans / "clinical.csv", dtype={"case_id": str})
    (prior,) = [c for c in own.columns if "prior" in c.lower()]
    treated = own[prior].astype(str).str.lower().isin(["yes", "10", "true", "1"])
    dev = tmp_path / "dev"
    dev.mkdir()
    own[~treated].drop(columns=prior).to_csv(dev / "clinical.csv", index=False)
    config = _external(tmp_path, dev, own[treated].drop(columns=prior))
    assert main(["train", "--config", str(config), "--json"]) == 0
    run_id = _last_json(capsys)["run_id"]
    store = RunStore()
    reports = store.get_run(run_id).folder / "reports"
    html = (reports / "report.html").read_text()
    n = int(treated.sum())
    assert f"<h2>Summary (external validation on the external cohort ext, {n} patients)</h2>" in (
        html
    )
    assert f"<tr><td>Patients tested (the external cohort ext)</td><td>{n}</td></tr>" in html
    assert f"<tr><td>Protocol</td><td>external (ext, {n} patients)</td></tr>" in html
    assert "out of fold" not in html and "over the folds" not in html
    km = json.loads((reports / "km_risk_groups.json").read_text())
    assert km["layout"]["title"]["text"] == "External cohort's risk groups (development median cut)"
    runs = store.list_runs("external")
    assert runs.set_index("run_id").loc[run_id, "validation"] == f"external (ext, {n} patients)"
    assert runs_table(runs)["validated on"].iloc[0] == f"external (ext, {n} patients)"
    versions = store.list_models().set_index("run_id")
    assert versions.loc[run_id, "protocol"] == "external"


def test_external_inputs_lying_elsewhere_are_noted(veterans, tmp_path, capsys):
    """A Karnofsky score recorded on a 0-10 scale at the other site: the calibration fell and
    nothing said why."""
    own = pd.read_csv(veterans / "clinical.csv", dtype={"case_id": str})
    (karnofsky,) = [c for c in own.columns if "karno" in c.lower()]
    scaled = own.assign(case_id="K" + own["case_id"], **{karnofsky: own[karnofsky] / 10})
    assert main(["train", "--config", str(_external(tmp_path, veterans, scaled)), "--json"]) == 0
    run_id = _last_json(capsys)["run_id"]
    notes = (RunStore().get_run(run_id).folder / "reports" / "notes.txt").read_text()
    said = [n for n in notes.splitlines() if "inputs lie elsewhere" in n]
    assert len(said) == 1 and f"(largest: {karnofsky} " in said[0]


def _imported_sites(tmp_path: Path, external: pd.DataFrame) -> Path:
    """A coxph external-validation config: GBSG2's postmenopausal patients (real) imported as
    the development cohort, ``external`` (as a site exports it) as the external cohort."""
    post, _ = _gbsg2_sites(tmp_path)
    for name, table in (("dev", post), ("ext", external)):
        sheet = tmp_path / f"{name}.csv"
        table.rename(columns={"case_id": "patient_id"}).to_csv(sheet, index=False)
        argv = ["cohort", "import", "--clinical", str(sheet), "--out", str(tmp_path / name)]
        assert main([*argv, "--time-unit", "days"]) == 0
    protocol = {"name": "external", "external_cohort": str(tmp_path / "ext")}
    model = {"name": "coxph", "params": {"penalizer": 0.0}}
    return _config(tmp_path, tmp_path / "dev", name="sites", model=model, protocol=protocol)


def test_a_column_only_the_external_site_exports_is_left_out_with_a_note(tmp_path, capsys):
    """Site B's export had a constant 'site_scanner' column besides the variables: the run was
    refused ("it has 'site_scanner' besides"), though the model, fitted on the development
    patients, never reads it (README: named in a note and left out)."""
    _, pre = _gbsg2_sites(tmp_path)
    config = _imported_sites(tmp_path, pre.assign(site_scanner="X"))
    assert main(["train", "--config", str(config), "--json"]) == 0
    result = _last_json(capsys)
    assert result["metrics"]["n"] == len(pre)
    notes = (RunStore().get_run(result["run_id"]).folder / "reports" / "notes.txt").read_text()
    assert (
        "The external cohort's clinical.csv has 'site_scanner' besides the development cohort's "
        "clinical.csv: the model, fitted on the development patients, does not read it; left "
        "out.\n"
    ) in notes


def test_an_external_variable_recorded_blank_is_refused_as_such(tmp_path, capsys):
    """Site B exported 'tsize' with every cell blank: its import dropped the empty column, and
    the run was refused as if the export lacked it ("... it lacks 'tsize'")."""
    _, pre = _gbsg2_sites(tmp_path)
    config = _imported_sites(tmp_path, pre.assign(tsize=None))
    assert main(["train", "--config", str(config)]) == 2
    assert (
        "error: The external cohort recorded no value of 'tsize' (its import dropped the empty "
        "column: clinical_report.csv), and the model reads it: both cohorts need the variables "
        "and features the model reads. Give the external cohort's values, or leave it out of "
        "the model (features.select).\n"
    ) in capsys.readouterr().err


def test_chance_matches_of_coarse_columns_are_not_taken_for_renamed_patients(veterans):
    """Two independent cohorts of follow-up in months, sex and ECOG match by chance (51 of 150
    rows): the external cohort was refused as re-identified development patients. A few rows
    of columns that tell patients apart are a note; a fifth or more, a refusal."""
    import numpy as np

    from survival_core.errors import InputError
    from survival_core.runs.runner import _renamed_patients

    rng = np.random.default_rng(0)

    def coarse(n: int, prefix: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": rng.integers(1, 60, n) * 30.4375,
                "event": rng.integers(0, 2, n),
                "sex": rng.choice(["F", "M"], n),
                "ecog": rng.integers(0, 3, n),
            },
            index=[f"{prefix}{i}" for i in range(n)],
        )

    columns = ["time", "event", "sex", "ecog"]
    assert _renamed_patients(coarse(200, "D"), coarse(150, "E"), columns, "clinical.csv") == []
    own = pd.read_csv(veterans / "clinical.csv", dtype={"case_id": str}).set_index("case_id")
    columns = list(own.columns)
    few = own.iloc[:5].set_axis([f"B-{c}" for c in own.index[:5]])
    other = pd.concat([few, coarse(60, "X").reindex(columns=columns)])
    (note,) = _renamed_patients(own, other, columns, "clinical.csv")
    assert note.startswith("5 of the external cohort's 65 patients have a development patient's")
    with pytest.raises(InputError, match="the same patients, re-identified"):
        _renamed_patients(own, few, columns, "clinical.csv")


def test_fit_keeps_its_notes_in_the_summary_and_the_card(tmp_path):
    """`fit --json` and card.json left out the notes said on stderr (a coefficient with no
    finite estimate): 40 GBSG2 patients with 3 events and a marker equal to the event, fitted
    without a penalty."""
    from survival_core.models.card import ModelCard
    from survival_core.workflows.training import train_model
    from tests.small_cohorts import gbsg2_subset

    X, y = gbsg2_subset(3, 37)
    table = X.assign(
        case_id=[f"G{i:03d}" for i in range(len(X))],
        time=y["time"],
        event=y["event"].astype(int),
        marker=y["event"].astype(int),
    )
    table.to_csv(path := tmp_path / "small.csv", index=False)
    summary = train_model(
        [path], "coxph", {"penalizer": 0.0}, tmp_path / "model", features="marker"
    )
    kept, unbounded = summary["notes"]
    assert kept.startswith("Kept, though it matches the event exactly: marker")
    assert unbounded.startswith("The Cox coefficient(s) of 'marker' (SE ")
    assert "have no finite estimate" in unbounded
    assert ModelCard.load(tmp_path / "model").notes == summary["notes"]


def test_the_card_keeps_the_exact_tables_and_package_versions_of_the_fit(veterans, tmp_path):
    """`fit`'s card named its tables only: one edited or re-extracted since under the same name
    could not be told apart, nor the package versions that made its numbers (a run's tags had
    them; a `fit` kept them nowhere)."""
    from importlib.metadata import version

    from survival_core.io.hashing import file_sha256
    from survival_core.models.card import ModelCard, packages_changed
    from survival_core.workflows.training import train_model

    table = veterans / "clinical.csv"
    train_model([table], "coxph", {"penalizer": 0.1}, tmp_path / "model")
    card = ModelCard.load(tmp_path / "model")
    assert card.tables == ["clinical.csv"]
    assert card.tables_sha256 == [file_sha256(table)]
    # two tables of one name (two cohorts' clinical.csv) each keep their own digest, in order
    other = tmp_path / "b" / "clinical.csv"
    other.parent.mkdir()
    ids = pd.read_csv(table)["case_id"]
    pd.DataFrame({"case_id": ids, "marker": range(len(ids))}).to_csv(other, index=False)
    train_model([table, other], "coxph", {"penalizer": 0.1}, tmp_path / "two")
    two = ModelCard.load(tmp_path / "two")
    assert two.tables == ["clinical.csv", "clinical.csv"]
    assert two.tables_sha256 == [file_sha256(table), file_sha256(other)]
    assert card.packages["scikit-survival"] == version("scikit-survival")
    assert card.packages["numpy"] == version("numpy")
    assert packages_changed(card) == []
    card.packages["lifelines"] = "0.1.0"  # fitted with another lifelines than installed now
    assert packages_changed(card) == [f"lifelines 0.1.0 -> {version('lifelines')}"]


@pytest.mark.parametrize("change", ["reimport", "withdraw"])
def test_a_cohort_changed_while_the_folds_run_fits_and_registers_no_model(
    veterans, tmp_path, change
):
    """A corrected sheet imported while the folds ran: the final fit read it, and the model was
    registered under the card, metrics and data hash of the sheet it replaced; a patient
    withdrawn meanwhile: every fold ran on them and the run failed at the end naming only a case
    missing from the table. The run now fails before fitting, naming the changed file, and a
    resume recomputes the folds on the cohort as it is."""
    from survival_core.cohort.withdrawal import withdraw
    from survival_core.errors import InputError
    from survival_core.runs.config import load_config
    from survival_core.runs.runner import run_training

    cohort = tmp_path / "c"
    sheet = clinical_exports.veterans(tmp_path).path
    assert main(["cohort", "import", "--clinical", str(sheet), "--out", str(cohort)]) == 0
    name = f"changed-{change}"
    config = load_config(_config(tmp_path, cohort, name=name))
    store = RunStore()
    changed = []

    def change_once(message: str) -> None:
        if message.startswith("fold 1/") and not changed:
            if change == "withdraw":
                changed.append(withdraw(cohort, [pd.read_csv(cohort / "clinical.csv").iloc[0, 0]]))
            else:
                frame = pd.read_csv(sheet, sep="\t")
                frame["Age_in_years"] += 10
                frame.to_csv(sheet, sep="\t", index=False)
                argv = ["cohort", "import", "--clinical", str(sheet), "--out", str(cohort)]
                changed.append(main(argv))

    with pytest.raises(InputError, match="The cohort changed while run") as refused:
        run_training(config, store=store, progress=change_once)
    assert changed and "clinical.csv (changed)" in str(refused.value)
    assert ("withdrawn patients' predictions" in str(refused.value)) == (change == "withdraw")
    runs = store.list_runs(name)
    assert list(runs["status"]) == ["FAILED"]
    assert store.registered_version(runs["run_id"].iloc[0], name) is None
    resumed = run_training(config, resume=runs["run_id"].iloc[0], store=store)
    assert resumed.status == "FINISHED"


def _run_view(run_id: str) -> None:
    """The Training page's view of run ``run_id`` (:func:`ui.training.run_details`)."""
    from survival_core.runs.store import RunStore
    from ui.training import run_details

    run_details(RunStore(), run_id)


def _compared(run_id: str) -> None:
    """The Training page's comparison (:func:`ui.training.compare_runs`) of run ``run_id`` with
    its twin not searched."""
    import pandas as pd

    from survival_core.runs.store import RunStore
    from ui.training import compare_runs

    runs = RunStore().list_runs()
    runs = runs[runs["run_id"] == run_id]  # the module's other runs are in the store too
    twin = runs.assign(run_id="unsearched", searched=None)
    compare_runs(pd.concat([runs, twin], ignore_index=True), [run_id, "unsearched"])


def test_a_searched_runs_choices_are_tagged_reported_and_shown(veterans, tmp_path, capsys):
    """GBSG2's searched coxph chose penalizer 0.1398 and its outer folds 0.1398, 0.0431 and
    0.1398, but only model/search.json said so: MLflow held the search space alone, report.html
    and the run's Training page view nothing of it, and the fold records dropped each choice.
    Runs compared side by side named the model alone; the trial table numbered from 0 the trials
    its log counts from 1."""
    from streamlit.testing.v1 import AppTest

    from survival_core.runs.search import read_search

    space = {"penalizer": {"loguniform": [0.001, 1.0]}}
    model = {"name": "coxph", "search": {"space": space, "trials": 3}}
    config = _config(tmp_path, veterans, name="searched", model=model)
    assert main(["train", "--config", str(config), "--json"]) == 0
    run = RunStore().get_run(_last_json(capsys)["run_id"])
    search = read_search(run.folder / "model")
    best = search["best_params"]["penalizer"]
    assert run.tags["search.best.penalizer"] == json.dumps(best)
    assert float(run.tags["search.best_score"]) == search["best_score"]
    folds = pd.read_csv(run.folder / "reports" / "folds.csv")
    assert folds["chosen"].str.fullmatch(r"penalizer=0\.\d+").all()
    assert folds["chosen_inner_c_index"].between(0.5, 1).all()
    said = (
        f"chose penalizer={best:.4g} (inner c-index {search['best_score']:.3f} over 3 inner "
        "folds; 3 trials)"
    )
    report = (run.folder / "reports" / "report.html").read_text()
    assert f"<h2>Hyper-parameter search of the final model: {said}</h2>" in report
    app = AppTest.from_function(_run_view, args=(run.run_id,), default_timeout=60).run()
    assert not app.exception
    (caption,) = [c.value for c in app.caption if "search" in c.value]
    assert caption.startswith(f"The final model's search {said}. The cross-validation folds'")
    assert all(f"{choice} (" in caption for choice in folds["chosen"])
    trials = next(d.value for d in app.dataframe if "penalizer" in d.value)
    assert len(trials) == 3 and set(trials["state"]) == {"COMPLETE"}
    assert trials["trial"].tolist() == [1, 2, 3]
    assert RunStore().list_runs("searched")["searched"].tolist() == [f"penalizer={best:.4g}"]
    compared = AppTest.from_function(_compared, args=(run.run_id,), default_timeout=60).run()
    assert not compared.exception, compared.exception
    settings = compared.dataframe[0].value
    assert settings.loc["searched, chose"].tolist() == [f"penalizer={best:.4g}", ""]


def test_a_cohort_of_events_alone_is_a_warning_from_import_to_fit_cv_and_train(
    tmp_path, capsys
) -> None:
    """lymph-node's overall survival with its 515 living patients' times lost (as its import
    left them before): the import said so in one report row, and fit (apparent c 0.788), cv and
    train ran on the 171 deaths alone, said only as cases left out."""
    sheet = pd.read_csv(clinical_exports.lymph_node(tmp_path))
    sheet["survtime"] = sheet["survtime"].where(sheet["censdead"] == 1)
    sheet.to_csv(path := tmp_path / "deaths_only.csv", index=False)
    cohort = tmp_path / "c"
    given = ["--time-column", "survtime", "--event-column", "censdead", "--time-unit", "days"]
    argv = ["cohort", "import", "--clinical", str(path), "--out", str(cohort), *given, "--json"]
    assert main(argv) == 0
    (warning,) = _last_json(capsys)["warnings"]
    assert warning.startswith("(rows): Most outcomes missing: no usable time/event for ")
    assert "(515 of 686 rows): a model or survival curve of the cohort" in warning
    said = "Every one of the 171 training patients has the event, none is censored."
    fit = ["fit", "--cohort", str(cohort), "--model", "coxph", "--out", str(tmp_path / "m")]
    assert main([*fit, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1])["warnings"][-1].startswith(said)
    assert f"warning: {said}" in err
    assert main(["cv", *RSF, "--cohort", str(cohort), "--json"]) == 0
    out, err = capsys.readouterr()
    assert [w[: len(said)] for w in json.loads(out.splitlines()[-1])["warnings"]] == [said]
    assert f"warning: {said}" in err
    config = _config(tmp_path, cohort, bootstrap=1)
    assert main(["train", "--config", str(config), "--json"]) == 0
    run = RunStore().get_run(_last_json(capsys)["run_id"])
    notes = (Path(run.folder) / "reports" / "notes.txt").read_text().splitlines()
    assert [n for n in notes if n.startswith(said)]
