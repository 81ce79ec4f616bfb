"""The Training page: renders with no runs, refuses a bad config with the key's path, launches a
tiny run in the background that then appears, shows a run's plots, compares runs, promotes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from survival_core.runs.jobs import cancel, list_jobs
from tests.conftest import ROOT
from tests.test_jobs import clinical_cohort, tiny_config, wait_for

PAGE = str(ROOT / "pages" / "training.py")


@pytest.fixture(scope="module")
def fresh_data(tmp_path_factory):
    """A data folder of this module's own, so the page starts with no runs and no jobs."""
    from survival_core.runs.store import RunStore

    previous = os.environ["RADSURV_DATA_DIR"]
    folder = tmp_path_factory.mktemp("training-page")
    os.environ["RADSURV_DATA_DIR"] = str(folder / "data")
    cohort = clinical_cohort(folder / "cohort")
    yield cohort, RunStore()  # the tracking database is created once, here
    for job in list_jobs():  # none left running when a test failed half-way
        cancel(job, grace=1.0)
    os.environ["RADSURV_DATA_DIR"] = previous


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def with_yaml(app: AppTest, text: str) -> AppTest:
    """Open "Advanced: edit the YAML" and replace the config text."""
    app.toggle[0].set_value(True).run()
    area = next(a for a in app.text_area if a.label == "Run config (YAML)")
    area.set_value(text).run()
    return app


def start_button(app: AppTest):
    return next(b for b in app.button if b.label == "Start run")


def test_page_renders_without_runs(fresh_data):
    app = page()
    assert not app.exception
    assert any("No runs yet" in info.value for info in app.info)
    assert any("No training jobs yet" in info.value for info in app.info)
    # the first study config fills the form and is valid as shipped
    assert app.selectbox[0].value == "han2020" and not app.error
    assert not start_button(app).disabled


def test_a_config_error_is_shown_and_nothing_is_launched(fresh_data):
    cohort, _ = fresh_data
    bad = tiny_config(cohort, protocol={"name": "fixed_split", "folds": 3})
    app = with_yaml(page(), yaml.safe_dump(bad))
    assert not app.exception
    assert [e.value for e in app.error][0].startswith("protocol.folds: not used by protocol")
    assert start_button(app).disabled
    assert list_jobs() == []
    # a bad model parameter typed in the form is caught the same way
    app = page()
    params = next(a for a in app.text_area if a.label == "Model parameters (YAML)")
    params.set_value("alpha: [0.1").run()
    assert app.error[0].value.startswith("model.params: not valid YAML")


def test_a_config_its_run_would_refuse_is_shown_not_started(fresh_data, demo_in_place):
    """A column filter matching no column of the (prepared) demo cohort: the page said 'Started
    rt-badcol' and the job then failed, leaving a FAILED run; the run's first checks now refuse
    it on the page, naming the filter and the columns there are."""
    from survival_core.runs.store import RunStore
    from ui.training import BLANK

    runs_before = len(RunStore().list_runs())
    app = page()
    app.selectbox[0].set_value(BLANK).run()  # the demo cohort
    app.text_input(key=f"train-{BLANK}-select").set_value("^no_such_column$").run()
    start_button(app).click().run()
    assert not app.exception and not app.success
    (error,) = [e.value for e in app.error]
    assert error.startswith("features.select: '^no_such_column")  # its '$' escaped for markdown
    assert "matches no column of the development cohort's clinical table (demo/cohort/" in error
    assert "It has " in error and "Select among those names." in error
    assert list_jobs() == [] and len(RunStore().list_runs()) == runs_before


def test_launch_follow_inspect_compare_and_promote(fresh_data):
    from survival_core.runs.config import parse_config
    from survival_core.runs.runner import run_training

    cohort, store = fresh_data
    app = with_yaml(page(), yaml.safe_dump(tiny_config(cohort, name="launched")))
    start_button(app).click().run()
    assert not app.exception and any("Started" in s.value for s in app.success)
    (job,) = list_jobs()
    # meanwhile, a run made directly (the page shows runs from any source)
    direct = run_training(parse_config(tiny_config(cohort, name="direct", seed=3)), store=store)
    wait_for(lambda: job.status != "running", 120, "the launched job")
    assert job.status == "finished", job.log()

    app = page()
    assert not app.exception
    runs = next(d.value for d in app.dataframe if "c-index (95 % CI)" in d.value)
    assert set(runs["run_id"]) == {job.run_id, direct.run_id}
    assert set(runs["status"]) == {"FINISHED"}
    row = runs.set_index("run_id").loc[direct.run_id]
    assert row["c-index (95 % CI)"].startswith(f"{direct.metrics['c_index']:.3f} (")
    # each run names its cohort and model (runs of other cohorts were told apart by name alone)
    assert (row["cohort"], row["model"]) == (cohort.name, "coxph")
    # one run's figures and per-fold metrics
    app.selectbox(key="train-run").set_value(direct.run_id).run()
    assert not app.exception
    saved = {p.stem for p in (store.get_run(direct.run_id).folder / "reports").glob("*.json")}
    assert {"km_risk_groups", "td_auc"} <= saved
    assert len(app.get("plotly_chart")) == len(saved)
    folds = next(d.value for d in app.dataframe if "fold_c_index" in d.value)
    assert folds["fold_c_index"].iloc[0] == pytest.approx(direct.metrics["c_index"], abs=1e-3)

    # compare both runs: one column each, td-AUC overlaid
    app.multiselect(key="train-compare").set_value([job.run_id, direct.run_id]).run()
    assert not app.exception
    compared = app.dataframe[-1].value
    assert len(compared.columns) == 2
    settings = app.dataframe[-2].value
    assert settings.loc["cohort"].tolist() == [cohort.name] * 2
    assert settings.loc["model"].tolist() == ["coxph"] * 2
    assert settings.loc["searched, chose"].tolist() == [""] * 2  # neither run searched
    assert compared.loc["c-index"].tolist() == pytest.approx(
        [round(store.get_run(r).metrics["c_index"], 3) for r in (job.run_id, direct.run_id)]
    )

    # promote the direct run's model
    assert store.active_model() is None
    promote = next(b for b in app.button if b.label.startswith("Promote direct v1"))
    promote.click().run()
    assert not app.exception
    active = store.active_model()
    assert (active.name, active.version) == ("direct", 1)
    assert any("direct v1" in c.value for c in app.caption)
    assert not any("has changed since" in w.value for w in app.warning)
    # its cohort corrected since (a value fixed in clinical.csv): the model is said to be older
    clinical = cohort / "clinical.csv"
    before = clinical.read_text()
    try:
        clinical.write_text(before + "\n")
        app.run()
        assert any(
            "Trained on cohort data that has changed since" in w.value and "clinical.csv" in w.value
            for w in app.warning
        )
    finally:
        clinical.write_text(before)


def test_a_model_choice_run_shows_every_candidate_and_the_final_choice(fresh_data):
    from survival_core.runs.config import parse_config
    from survival_core.runs.runner import run_training

    cohort, store = fresh_data
    candidates = [
        {"model": "coxph", "params": {"penalizer": 0.5}},
        {"model": "coxph", "params": {"penalizer": 5.0}},
        {"model": "gbsa", "params": {"n_estimators": 20, "max_depth": 1}},
    ]
    config = tiny_config(
        cohort,
        name="chooser",
        model={"name": "auto", "params": {"candidates": candidates, "inner_folds": 2}},
        protocol={"name": "nested_cv", "repeats": 1, "folds": 2},
    )
    run = run_training(parse_config(config), store=store)
    app = page()
    app.selectbox(key="train-run").set_value(run.run_id).run()
    assert not app.exception
    table = next(d.value for d in app.dataframe if "times_chosen" in d.value)
    assert {"coxph(penalizer=0.5)", "coxph(penalizer=5.0)", "auto", "ensemble"} <= set(
        table["model"]
    )
    assert (table["final model"] == "chosen").sum() == 1
    assert table["q_value"].dropna().between(0, 1).all()
    assert any("does not beat the plain Cox PH baseline" in w.value for w in app.warning)  # a tie
    # auto registers one candidate: no ensemble weights or stacking shown for it, and the events
    # per variable of its final choice (all patients) beside the folds' (fewer)
    assert "final weight" not in table
    assert not any("stacked" in c.value for c in app.caption)
    selection = json.loads(
        (store.get_run(run.run_id).folder / "reports/selection.json").read_text()
    )
    final = selection["final"]["events_per_variable"]
    low, high = selection["events_per_variable_range"]  # the folds': two, of different sizes
    assert low < high and selection["choice_rules"] == {selection["choice_rule"]: 2}
    shown = f"{final:.1f} for the final model's choice, {low:.1f}-{high:.1f} in the cross-valid"
    assert any(shown in c.value for c in app.caption)


def _comparison(folder: str, kind: str) -> None:
    """The model comparison of the reports in ``folder`` for a run of model ``kind``."""
    from pathlib import Path

    from ui.training import model_comparison

    model_comparison(Path(folder), kind)


def test_only_an_ensemble_run_shows_stacking_weights(tmp_path: Path):
    """An ``auto`` run's comparison showed the final weights and "The ensemble stacked 2 of the
    3 candidates", which describe the ensemble it did not register; an ensemble's marked one
    candidate 'chosen' as its final model and said `auto` took it, where it weighs them all."""
    labels = ["coxph(penalizer=0.5)", "coxph(penalizer=5.0)", "gbsa(max_depth=1)"]
    table = {"model": [*labels, "auto", "ensemble"], "c_index": [0.7, 0.69, 0.65, 0.7, 0.71]}
    pd.DataFrame(table).to_csv(tmp_path / "comparison.csv", index=False)
    final = {
        "chosen": labels[0],
        "choice_rule": "within one standard error of the best",
        "stacked": labels[:2],
        "events_per_variable": 9.5,
        "candidates": [
            {"label": lab, "weight": w} for lab, w in zip(labels, (0.7, 0.3, 0.0), strict=True)
        ],
    }
    selection = {"events_per_variable": 6.3, "stacked": labels[:2], "warnings": [], "final": final}
    (tmp_path / "selection.json").write_text(json.dumps(selection))
    for kind, stacking in (("auto", False), ("ensemble", True)):
        app = AppTest.from_function(_comparison, args=(str(tmp_path), kind)).run()
        assert not app.exception
        shown = app.dataframe[0].value
        assert ("final weight" in shown) is stacking and ("final model" in shown) is not stacking
        if not stacking:
            assert shown.loc[shown["final model"] == "chosen", "model"].tolist() == [labels[0]]
        (caption,) = [c.value for c in app.caption]
        assert ("The ensemble stacked 2 of the 3 candidates" in caption) is stacking, kind
        assert ("`auto` took the simplest candidate" in caption) is not stacking, kind
        assert "9.5 for the final model's choice, 6.3 in the cross-validation folds" in caption


def _details(folder: str, cancelled: bool = False) -> None:
    """:func:`ui.training.run_details` of a finished run whose folder is ``folder`` (of a job
    ``cancelled`` before it was resumed)."""
    from pathlib import Path
    from types import SimpleNamespace

    import pandas as pd

    from survival_core.runs.store import RunRecord
    from ui.training import run_details

    record = RunRecord("r1", "left", "FINISHED", None, None, {}, {}, {}, "", Path(folder))
    store = SimpleNamespace(get_run=lambda _: record, fold_metrics=lambda _: pd.DataFrame())
    run_details(store, "r1", cancelled=cancelled)


def test_a_cancelled_run_resumed_to_its_end_is_not_said_cancelled(tmp_path: Path):
    """`train --resume` finished a run whose job had been cancelled: its view still said "This
    run was cancelled before it finished" above its metrics and its Promote button."""
    app = AppTest.from_function(_details, args=(str(tmp_path), True)).run()
    assert not app.exception
    assert not any("cancelled" in i.value for i in app.info)


def test_a_runs_report_download_is_an_audited_export(tmp_path: Path):
    """The Training page's run report (HTML, naming the cases the run left out) was a plain
    download: every other download (radiomics CSV, nomogram, PDF report) is audited as an
    export, this one was not."""
    from survival_core.audit import read_audit

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "report.html").write_text("<html>run r1</html>")
    app = AppTest.from_function(_details, args=(str(tmp_path),)).run()
    (button,) = app.get("download_button")
    assert button.proto.label == "Download the run report (HTML)"
    since = len(read_audit())
    app.get("download_button")[0].click().run()
    assert not app.exception
    logged = [(e["action"], e["target"], e["what"]) for e in read_audit()[since:]]
    assert logged == [("export_report", "r1", "run report")]


def test_a_run_says_which_cases_it_left_out_and_why(tmp_path: Path):
    """The runner writes the cases it could not use (``left_out.csv``) and its notes on the data
    (``notes.txt``); the run's view said nothing, its metrics read as the whole cohort's."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "notes.txt").write_text("2 case(s) missing from a joined table were left out.\n")
    left_out = {
        "case_id": ["SYN-0003", "SYN-0004"],
        "error": ["SYN-0003 holds no image.", "image.nii.gz does not exist."],
        "table": ["radiomics.parquet"] * 2,
    }
    pd.DataFrame(left_out).to_csv(reports / "left_out.csv", index=False)
    app = AppTest.from_function(_details, args=(str(tmp_path),)).run()
    assert not app.exception
    warnings = [w.value for w in app.warning]
    left = next(w for w in warnings if "2 case(s) left out of this run" in w)
    assert "- SYN-0003: SYN-0003 holds no image." in left
    assert "- SYN-0004: image.nii.gz does not exist." in left
    assert any("2 case(s) missing from a joined table were left out." in w for w in warnings)


@pytest.mark.parametrize("with_kind", [True, False], ids=["kind-column", "older-run"])
def test_left_out_cases_are_headed_by_why(tmp_path: Path, with_kind: bool):
    """A run left out a case for a category its fold's training rows never had (the demo's
    SYN-0051, 'bclc' 0) under the heading of cases whose features could not be computed, to be
    fixed: a clinician hunted for a broken CT. Each kind has its own heading; a run written
    before the ``kind`` column is told apart by its ``table`` column, as its runner wrote it."""
    reports = tmp_path / "reports"
    reports.mkdir()
    left_out = pd.DataFrame(
        {
            "case_id": ["SYN-0003", "SYN-0051"],
            "error": [
                "image.nii.gz does not exist.",
                "fold 1.3: 'bclc' is '0', a category the fold's training rows never had.",
            ],
            "table": ["radiomics.parquet", None],
            "kind": ["not_computed", "unseen_category"],
        }
    )
    if not with_kind:
        left_out = left_out.drop(columns="kind")
    left_out.to_csv(reports / "left_out.csv", index=False)
    app = AppTest.from_function(_details, args=(str(tmp_path),)).run()
    assert not app.exception
    failed, unseen = [w.value for w in app.warning if "left out of" in w.value]
    assert failed.startswith("**1 case(s) left out of this run**: their features could not be")
    assert "- SYN-0003: image.nii.gz does not exist." in failed and "SYN-0051" not in failed
    assert unseen.startswith("**1 case(s) left out of some predictions**: each holds a category")
    assert "Nothing is wrong with these cases" in unseen and "merging it" in unseen
    assert "- SYN-0051: fold 1.3: 'bclc' is '0'" in unseen and "could not be" not in unseen
    # a run of such cases alone (the table column missing, as the demo's older run wrote it)
    left_out.iloc[1:][["case_id", "error"]].to_csv(reports / "left_out.csv", index=False)
    app = AppTest.from_function(_details, args=(str(tmp_path),)).run()
    assert not app.exception
    (said,) = [w.value for w in app.warning if "left out of" in w.value]
    assert said.startswith("**1 case(s) left out of some predictions**")


def test_a_run_says_which_cases_were_loaded_with_warnings(tmp_path: Path):
    """The runner lists the cases loaded with warnings (``load_warnings.csv``: a GTV taken from
    label 2...): the run's view says how many, and lists each case with its warning."""
    reports = tmp_path / "reports"
    reports.mkdir()
    warned = {
        "case_id": ["nodes", "nodes", "C7"],
        "warning": ["gtv.nii:2 is taken as the GTV.", "contours off-plane.", "PTV taken as GTV."],
        "table": ["radiomics.parquet"] * 3,
    }
    pd.DataFrame(warned).to_csv(reports / "load_warnings.csv", index=False)
    app = AppTest.from_function(_details, args=(str(tmp_path),)).run()
    assert not app.exception
    said = next(w.value for w in app.warning if "loaded with warnings" in w.value)
    assert said.startswith("**2 case(s) loaded with warnings**: their features may rest on a guess")
    (expander,) = [e for e in app.expander if e.label == "Cases loaded with warnings (2)"]
    (table,) = expander.table
    assert table.value.reset_index().values.tolist() == [
        ["nodes", "gtv.nii:2 is taken as the GTV."],
        ["nodes", "contours off-plane."],
        ["C7", "PTV taken as GTV."],
    ]


def test_the_folds_input_refuses_one_fold(fresh_data):
    """The form took 1 fold, which the config then refused."""
    from ui.training import BLANK

    app = page()
    app.selectbox[0].set_value(BLANK).run()  # nested_cv, 5 folds
    assert app.number_input(key=f"train-{BLANK}-folds").proto.min == 2


def test_the_ray_address_input_says_the_servers_ray_address_overrides_it(fresh_data):
    """An empty field was said to mean 'a local Ray', though the run's `train` reads RAY_ADDRESS
    from the server's environment, which sends it to that cluster instead."""
    from ui.training import BLANK

    app = page()
    app.selectbox[0].set_value(BLANK).run()
    app.radio(key=f"train-{BLANK}-engine").set_value("ray").run()
    assert app.text_input(key=f"train-{BLANK}-ray").label == (
        "Ray address (empty: a local Ray; RAY_ADDRESS set for the server overrides this)"
    )


def test_each_study_config_comes_through_the_form_unchanged(fresh_data):
    from survival_core.runs.config import load_config, loads_config
    from ui.training import BLANK, model_defaults, study_configs

    app = page()
    for name, path in study_configs().items():
        app.selectbox[0].set_value(name).run()
        assert not app.exception and not app.error, name
        app.toggle(key=f"train-{name}-advanced").set_value(True).run()
        text = next(a for a in app.text_area if a.label == "Run config (YAML)").value
        shown = loads_config(text, base_dir=path.parent)
        assert shown.to_dict() == load_config(path).to_dict(), name
        assert not start_button(app).disabled
    # a blank config is valid too; another model starts from its own defaults
    app.selectbox[0].set_value(BLANK).run()
    app.selectbox(key=f"train-{BLANK}-model").set_value("rsf").run()
    assert not app.exception and not app.error and not start_button(app).disabled
    params = next(a for a in app.text_area if a.label == "Model parameters (YAML)").value
    assert yaml.safe_load(params)["n_estimators"] == model_defaults("rsf")["n_estimators"]


def test_form_parameters_are_read_as_a_config_file_is(fresh_data):
    """The form read its model parameters as PyYAML's YAML 1.1, unlike the CLI: 'n_estimators:
    0100' and 'min_samples_leaf: 010' became 64 and 8, and of two 'l1_ratio' lines the last
    was kept, where `train --config` reads ten and refuses the duplicate."""
    from survival_core.runs.config import loads_config
    from ui.training import BLANK

    def typed(model: str, text: str) -> AppTest:
        app = page()
        app.selectbox[0].set_value(BLANK).run()
        app.selectbox(key=f"train-{BLANK}-model").set_value(model).run()
        next(a for a in app.text_area if a.label == "Model parameters (YAML)").set_value(text).run()
        return app

    app = typed("rsf", "n_estimators: 0100\nmin_samples_leaf: 010\nmax_features: 0.5\n")
    assert not app.exception and not app.error
    app.toggle(key=f"train-{BLANK}-advanced").set_value(True).run()
    text = next(a for a in app.text_area if a.label == "Run config (YAML)").value
    params = loads_config(text).model.params
    assert (params["n_estimators"], params["min_samples_leaf"]) == (100, 10)
    app = typed("coxnet", "l1_ratio: 0.1\ncv_folds: 010\nl1_ratio: 1\n")
    assert app.error[0].value.startswith("model.params: not valid YAML at line 3: key 'l1_ratio'")
    assert "given twice" in app.error[0].value and start_button(app).disabled


def test_a_running_job_shows_progress_and_cancels(fresh_data):
    import sys

    from survival_core.runs.jobs import start_job

    cohort, _ = fresh_data
    script = "import time; print('run 0123abcd (sleeper)', flush=True); time.sleep(120)"
    job = start_job(tiny_config(cohort, name="sleeper"), command=[sys.executable, "-c", script])
    wait_for(lambda: job.run_id == "0123abcd", 30, "the job's first line")
    app = page()
    assert not app.exception
    assert app.get("progress")[0].proto.value == 5  # percent: started, no fold yet
    assert any("run 0123abcd (sleeper)" in c.value for c in app.code)
    next(b for b in app.button if b.key == f"cancel-{job.job_id}").click().run()
    assert not app.exception and job.status == "cancelled"
    assert not any(b.key == f"cancel-{job.job_id}" for b in app.button)
    ended = next(d.value for d in app.dataframe if "job" in d.value)
    assert ended.set_index("job").loc[job.label, "status"] == "cancelled"


def test_runs_table_formats_and_marks_cancelled_runs():
    import numpy as np
    import pandas as pd

    from ui.training import runs_table

    start = pd.Timestamp("2026-01-02 10:00", tz="UTC")
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b"],
            "name": ["x", "y"],
            "status": ["FINISHED", "FAILED"],
            "start_time": [start, start],
            "end_time": [start + pd.Timedelta(seconds=83), start + pd.Timedelta(hours=1.5)],
            "error": [None, "killed"],
            "cohort": ["/srv/radsurv/data/cohorts/gbsg2", None],
            "model": ["coxph", "rsf"],
            "c_index": [0.71234, np.nan],
            "ci_low": [0.6, np.nan],
            "ci_high": [0.8, np.nan],
            "td_auc_365": [0.7, np.nan],
            "td_auc_1000": [0.65, np.nan],
        }
    )
    table = runs_table(runs, cancelled={"b"})
    assert table["status"].tolist() == ["FINISHED", "CANCELLED"]
    assert table["cohort"].tolist() == ["gbsg2", ""] and table["model"].tolist() == ["coxph", "rsf"]
    assert table["c-index (95 % CI)"].tolist() == ["0.712 (0.600 to 0.800)", ""]
    assert table["td-AUC 1 y"].iloc[0] == 0.7 and table["td-AUC 1000 d"].iloc[0] == 0.65
    assert table["duration"].tolist() == ["1 min 23 s", "1 h 30 min"]
    assert table["started"].iloc[0] == "2026-01-02 10:00 UTC"
    # the run picker said FAILED for a cancelled run (the runs table CANCELLED)
    from ui.training import run_label

    labels = [run_label(r, cancelled={"b"}) for r in runs.to_dict("records")]
    assert " · FINISHED · " in labels[0] and " · CANCELLED · " in labels[1]


def test_a_forest_setting_scikit_survival_refuses_disables_start_run(fresh_data):
    """'max_features: foo' under rsf passed the form's check: the job started and failed at its
    first fit, 'Random survival forest settings rejected'."""
    from ui.training import BLANK

    app = page()
    app.selectbox[0].set_value(BLANK).run()
    app.selectbox(key=f"train-{BLANK}-model").set_value("rsf").run()
    app.text_area(key=f"train-{BLANK}-params-rsf").set_value("max_features: foo").run()
    assert not app.exception and start_button(app).disabled
    shown = app.error[0].value
    assert shown.startswith(
        "model.params: Random survival forest settings rejected: The 'max_features' parameter "
        "of RandomSurvivalForest must be an int in the range "
    )
    assert "Got 'foo' instead." in shown


def shown_config(app: AppTest, key: str) -> dict:
    """The config the page would start: its "Advanced" YAML, read back."""
    app.toggle(key=f"{key}-advanced").set_value(True).run()
    text = next(a for a in app.text_area if a.label == "Run config (YAML)").value
    app.toggle(key=f"{key}-advanced").set_value(False).run()
    return yaml.safe_load(text)


def test_a_template_runs_only_what_the_form_shows(fresh_data):
    """From han2020, a Cox run on clinical variables alone still held the template's hidden
    features.deep (82 inputs, 64 of them deep) and its description; from sun2023 and wang2022
    their hidden required columns and DSFR features: each is now on the form, and left out when
    unticked or removed."""
    app = page()
    key = "train-han2020"
    deep = app.checkbox(key=f"{key}-deep")
    assert deep.label == "Deep features (network demo)" and deep.value
    description = app.text_input(key=f"{key}-description")
    assert description.value.startswith("Han 2020: radiomics + deep features")
    app.checkbox(key=f"{key}-clinical").check().run()
    app.multiselect(key=f"{key}-rad").set_value([]).run()
    app.selectbox(key=f"{key}-reduction").set_value("none").run()
    app.selectbox(key=f"{key}-model").set_value("coxph").run()
    app.checkbox(key=f"{key}-deep").uncheck().run()
    app.text_input(key=f"{key}-description").set_value("Clinical Cox").run()
    shown = shown_config(app, key)
    assert shown["features"] == {"clinical": True, "radiomics": []}
    assert shown["description"] == "Clinical Cox" and shown["model"]["name"] == "coxph"
    app.text_input(key=f"{key}-description").set_value("").run()
    assert "description" not in shown_config(app, key)

    app.selectbox[0].set_value("sun2023").run()
    key = "train-sun2023"
    required = app.multiselect(key=f"{key}-require")
    assert required.value == ["mrecist", "mvi", "albi_grade", "bclc"]
    required.set_value(["mvi"]).run()
    assert shown_config(app, key)["features"]["require"] == ["mvi"]
    app.multiselect(key=f"{key}-require").set_value([]).run()
    assert "require" not in shown_config(app, key)["features"]

    app.selectbox[0].set_value("wang2022").run()
    key = "train-wang2022"
    dsfr = app.checkbox(key=f"{key}-dsfr")
    assert dsfr.label == "DSFR features (U-Net, 5 epochs on 64 x 64 slices)"
    dsfr.uncheck().run()
    features = shown_config(app, key)["features"]
    assert "dsfr" not in features and features["require"] == ["hbv", "afp", "albi_score"]
    assert shown_config(app, key)["horizons"] == [365, 730]
    assert not app.exception


def test_typed_values_survive_a_look_at_another_choice(fresh_data):
    """coxph's 'penalizer: 0.7' came back as the template's 0.1 after the model was switched to
    rsf and back (Streamlit drops the state of a widget it does not draw); so did the folds
    after a look at leave-one-out, a cohort folder after a look at the demo, and a Ray address
    after a look at the local engine."""
    from ui.training import BLANK

    key = f"train-{BLANK}"
    app = page()
    app.selectbox[0].set_value(BLANK).run()
    app.text_area(key=f"{key}-params-coxph").set_value("penalizer: 0.7").run()
    app.number_input(key=f"{key}-folds").set_value(3).run()
    app.radio(key=f"{key}-engine").set_value("ray").run()
    app.text_input(key=f"{key}-ray").set_value("ray://head:10001").run()
    app.selectbox(key=f"{key}-cohort-choice").set_value("another folder...").run()
    app.text_input(key=f"{key}-cohort").set_value("/srv/cohorts/lung").run()
    for widget, other, back in (
        ("model", "rsf", "coxph"),
        ("protocol", "leave_one_out", "nested_cv"),
        ("cohort-choice", "demo", "another folder..."),
    ):
        app.selectbox(key=f"{key}-{widget}").set_value(other).run()
        app.selectbox(key=f"{key}-{widget}").set_value(back).run()
    app.radio(key=f"{key}-engine").set_value("local").run()
    app.radio(key=f"{key}-engine").set_value("ray").run()
    assert app.text_area(key=f"{key}-params-coxph").value == "penalizer: 0.7"
    assert not app.exception and not app.error
    shown = shown_config(app, key)
    assert shown["model"] == {"name": "coxph", "params": {"penalizer": 0.7}}
    assert shown["protocol"] == {"name": "nested_cv", "repeats": 1, "folds": 3}
    assert shown["engine"] == {"kind": "ray", "address": "ray://head:10001"}
    assert shown["cohort"] == "/srv/cohorts/lung"


def with_templates(monkeypatch, folder: Path, **templates: dict) -> AppTest:
    """The page offering the study configs ``templates`` (name: config) in place of the shipped
    ones, written as YAML files to ``folder``."""
    import ui.training

    for name, config in templates.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.setattr(ui.training, "CONFIGS_DIR", folder)
    return page()


def test_a_templates_search_and_workers_are_on_the_form(fresh_data, tmp_path, monkeypatch):
    """Since the form holds only what it shows, a template's hyper-parameter search and its
    engine workers were dropped unseen (the run fitted the template's fixed parameters, on one
    worker per CPU): the search is a ticked checkbox while the template's model is chosen, gone
    with another model, and the workers a number."""
    search = {"space": {"penalizer": {"loguniform": [0.001, 1.0]}}, "trials": 5}
    searched = {
        "name": "searched",
        "cohort": "demo",
        "model": {"name": "coxph", "params": {"l1_ratio": 0.5}, "search": search},
        "engine": {"kind": "local", "workers": 2},
    }
    app = with_templates(monkeypatch, tmp_path, searched=searched)
    key = "train-searched"
    box = app.checkbox(key=f"{key}-search")
    assert box.label == "Hyper-parameter search (from the template): 5 trials over penalizer"
    assert box.value and app.number_input(key=f"{key}-workers").value == 2
    shown = shown_config(app, key)
    assert shown["model"] == searched["model"] and shown["engine"] == searched["engine"]

    app.checkbox(key=f"{key}-search").uncheck().run()
    assert shown_config(app, key)["model"] == {"name": "coxph", "params": {"l1_ratio": 0.5}}
    app.checkbox(key=f"{key}-search").check().run()
    app.selectbox(key=f"{key}-model").set_value("rsf").run()
    assert not any(box.key == f"{key}-search" for box in app.checkbox)
    assert "search" not in shown_config(app, key)["model"]
    app.selectbox(key=f"{key}-model").set_value("coxph").run()
    assert shown_config(app, key)["model"]["search"] == search

    app.number_input(key=f"{key}-workers").set_value(0).run()
    assert shown_config(app, key)["engine"] == {"kind": "local"}
    assert not app.exception and not app.error and not start_button(app).disabled


def test_a_template_at_the_configs_bounds_fills_the_form(fresh_data, tmp_path, monkeypatch):
    """The form's inputs stopped short of what a run config takes: a template with 200,000
    bootstrap resamples, a 30,000-day horizon or 200 folds raised StreamlitValueAboveMaxError
    on the page, one with a test fraction of 0.01 or a horizon of half a day its BelowMin twin.
    Each now fills the form as written; a value the config refuses is named by its key."""
    from survival_core.runs.config import load_config, loads_config

    cox = {"name": "coxph", "params": {"penalizer": 0.1}}
    cv = {"name": "nested", "cohort": "demo", "model": cox, "bootstrap": 200000}
    cv |= {"protocol": {"name": "nested_cv", "repeats": 150, "folds": 200}}
    split = {"name": "split", "cohort": "demo", "model": cox}
    split |= {"protocol": {"name": "fixed_split", "test_fraction": 0.01}}
    long, short = ({"cut": "median", "horizon": days} for days in (30000, 0.5))
    app = with_templates(
        monkeypatch,
        tmp_path,
        nested={**cv, "risk_groups": long},
        split={**split, "risk_groups": short},
        zero={**split, "name": "zero", "bootstrap": 0},
    )
    assert app.selectbox[0].value == "nested"
    assert app.number_input(key="train-nested-bootstrap").value == 200000
    assert app.number_input(key="train-nested-folds").value == 200
    for name, days in (("nested", 30000), ("split", 0.5)):
        app.selectbox[0].set_value(name).run()
        assert not app.exception and not app.error, name
        assert float(app.text_input(key=f"train-{name}-hz").value) == days
        shown = loads_config(yaml.safe_dump(shown_config(app, f"train-{name}")))
        assert shown.to_dict() == load_config(tmp_path / f"{name}.yaml").to_dict(), name
    assert app.text_input(key="train-split-test_fraction").value == "0.01"
    app.selectbox[0].set_value("zero").run()
    assert not app.exception
    assert [e.value.replace("\\", "") for e in app.error] == [  # as Markdown shows it
        "bootstrap: expected a whole number >= 1, got 0 (in zero.yaml)"
    ]
    assert start_button(app).disabled


def test_decimal_commas_typed_in_the_form_are_read_and_its_bounds_said_under_the_field(
    fresh_data,
):
    """Browser review: a number input's browser drops a comma, so a test fraction typed '0,3'
    lost it and a risk-group horizon '365,25' was 36525 days. Both are text read as a typed
    clinical value (0.3, 365.25 days, said under the field); a value the config refuses is said
    under its field, kept there while another protocol is looked at, and the run cannot start."""
    from ui.training import BLANK

    key = f"train-{BLANK}"
    app = page()
    app.selectbox[0].set_value(BLANK).run()
    app.selectbox(key=f"{key}-protocol").set_value("fixed_split").run()
    app.text_input(key=f"{key}-test_fraction").input("0,3").run()
    app.text_input(key=f"{key}-hz").input("365,25").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert {"Read as 0.3", "Read as 365.25 days"} <= {c.value for c in app.caption}
    shown = shown_config(app, key)
    assert shown["protocol"] == {"name": "fixed_split", "test_fraction": 0.3}
    assert shown["risk_groups"]["horizon"] == 365.25
    assert not start_button(app).disabled
    app.text_input(key=f"{key}-test_fraction").input("1").run()
    app.text_input(key=f"{key}-hz").input("").run()
    assert [e.value for e in app.error] == [
        "Test fraction (protocol.test_fraction) must lie strictly between 0 and 1 (the share of "
        "the patients held out for the test, such as 0.2); got 1.",
        "Horizon (risk_groups.horizon) must be above 0 days (the follow-up time at which the "
        "Youden cut is learned, such as 730); got nothing.",
        "The run cannot start: correct Test fraction, Horizon (days), as said under their fields.",
    ]
    assert start_button(app).disabled
    for protocol in ("nested_cv", "fixed_split"):
        app.selectbox(key=f"{key}-protocol").set_value(protocol).run()
    assert app.text_input(key=f"{key}-test_fraction").value == "1"


def _brier_scores(folder: str, whole_days: bool = True) -> None:
    """One run's view and two runs compared, the same patients followed whole (IBS 0.187 over
    281-1526 days; ``whole_days`` False: a run made before the days were recorded) and to 800
    days (0.116 over 251-769)."""
    from pathlib import Path
    from types import SimpleNamespace

    import pandas as pd

    from survival_core.runs.store import RunRecord
    from ui.training import compare_runs, run_details

    whole = {"ibs": 0.1867, "ibs_range_from": 281.0, "ibs_range_to": 1525.6, "n": 236.0}
    cut = {"ibs": 0.1163, "ibs_range_from": 250.8, "ibs_range_to": 769.28, "n": 236.0}
    if not whole_days:
        whole = {"ibs": 0.1867, "n": 236.0}
    record = RunRecord("r1", "cut", "FINISHED", None, None, {}, cut, {}, "", Path(folder))
    store = SimpleNamespace(get_run=lambda _: record, fold_metrics=lambda _: pd.DataFrame())
    run_details(store, "r1")
    runs = pd.DataFrame(
        [{"run_id": run_id, "name": run_id, "cohort": "ext", "model": "coxph", **metrics}
         for run_id, metrics in (("whole", whole), ("cut", cut))]
    )  # fmt: skip
    compare_runs(runs, ["whole", "cut"])


def test_the_integrated_brier_score_is_shown_with_the_days_it_covers(tmp_path: Path):
    """The same model on the same external patients: 0.187 with their whole follow-up, 0.116
    followed to 800 days, shown as 'Integrated Brier score' alike on the run's tile and side by
    side in the comparison, which then read as the better run."""
    app = AppTest.from_function(_brier_scores, args=(str(tmp_path),)).run()
    assert not app.exception
    tile = next(m for m in app.metric if m.label.startswith("Integrated Brier score"))
    assert (tile.label, tile.value) == ("Integrated Brier score (251-769 days)", "0.116")
    compared = app.dataframe[-1].value
    assert compared.loc["Integrated Brier score"].tolist() == [0.187, 0.116]
    assert compared.loc["Integrated Brier score from (days)"].tolist() == [281.0, 250.8]
    assert compared.loc["Integrated Brier score to (days)"].tolist() == [1525.6, 769.28]
    assert any("cover different days" in c.value for c in app.caption)


def test_a_compared_run_that_did_not_record_its_brier_days_is_said(tmp_path: Path):
    """A run made before the integrated Brier score's days were recorded, beside one that did:
    the 'different days' check left the older one out and said nothing."""
    app = AppTest.from_function(_brier_scores, args=(str(tmp_path), False)).run()
    assert not app.exception
    said = [c.value for c in app.caption if "did not record the days" in c.value]
    assert said == [
        "whole (whole) did not record the days its integrated Brier score covers: compare the "
        "scores with care (a lower score over fewer days does not make a better model)."
    ]
