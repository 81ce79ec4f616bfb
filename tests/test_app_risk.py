"""The Risk page: a demo case scored by the active registered model exactly as `score_case` does,
its charts drawn, the sidebar's model choice followed, no case or an unusable model explained."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from survival_core.models.card import ModelCard
from survival_core.text import percentile_text
from survival_core.workflows import demo
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGE = "pages/risk.py"
CONFIG = {
    "name": "risk-page",
    "model": {"name": "coxph", "params": {"penalizer": 1.0}},
    "protocol": {"name": "nested_cv", "repeats": 1, "folds": 5},
}


@pytest.fixture(scope="module")
def registry(small_cohort, tmp_path_factory):
    """A data folder of its own (so other app tests keep an empty registry) with the small cohort
    as demo cohort and three registered coxph models: albumin/bilirubin/ecog (active, with a
    calibration report in its run; fitted on the demo's clinical.csv, its outcome recorded as
    overall survival), age/afp (fitted on a copy, no outcome recorded), and one needing a
    radiomics column cases lack."""
    from survival_core.paths import demo_cohort_dir
    from survival_core.runs.store import RunStore
    from survival_core.workflows.training import train_model

    folder = tmp_path_factory.mktemp("risk-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADSURV_DATA_DIR", str(folder))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("MLFLOW_REGISTRY_URI", raising=False)
        cohort = demo_cohort_dir()
        shutil.copytree(small_cohort, cohort)
        meta = json.loads((cohort / "cohort.json").read_text())
        patch.setattr(demo, "DEMO_N", meta["n"])
        patch.setattr(demo, "DEMO_SEED", meta["seed"])
        clinical = pd.read_csv(cohort / "clinical.csv")
        rng = np.random.default_rng(0)
        clinical.assign(gtv_original_firstorder_Mean=rng.normal(60, 10, len(clinical))).to_csv(
            folder / "with_radiomics.csv", index=False
        )
        store = RunStore(folder / "runs")
        models = {}
        for name, table, features in (
            ("labs", cohort / "clinical.csv", "^(albumin|bilirubin|ecog)$"),
            ("age", folder / "with_radiomics.csv", "^(age|afp)$"),
            ("radiomic", folder / "with_radiomics.csv", "^(albumin|gtv_original_.*)$"),
        ):
            with store.start_run(name, {**CONFIG, "name": name}, {"manifest": "m"}) as run:
                out = folder / "trained" / name
                train_model([table], "coxph", {"penalizer": 1.0}, out, features=features)
                if name == "labs":
                    reports = run.folder / "reports"
                    reports.mkdir(parents=True)
                    marker = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="calibration-marker"))
                    (reports / "calibration.json").write_text(marker.to_json())
                version = store.register_model(run.run_id, out, name)
            models[name] = store.model_folder(name, version)
        store.set_active("labs", 1)
        yield {"cohort": cohort, "models": models}


def _risk_page(registry, model: str | None = None) -> AppTest:
    """The app run once (the Case page picks the first demo case), the registered ``model``
    chosen as with the sidebar picker (default: the active one), then the Risk page.

    The choice is written to the picker's session key: AppTest (streamlit 1.67) drops the
    sidebar of an ``st.navigation`` app on reruns, so its widget cannot be set there."""
    from ui.models import MODEL_CHOICE, model_choices

    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    if model is not None:
        app.session_state[MODEL_CHOICE] = next(
            c.key for c in model_choices() if c.label.startswith(f"{model} v1")
        )
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def _metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def _expected(registry, case_id: str, model: str):
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.scoring import score_case

    return score_case(
        load_case(registry["cohort"] / "cases" / case_id),
        load_scoring_model(registry["models"][model]),
    )


def _charts(app: AppTest) -> list[dict]:
    """The plotly figures on the page, as their JSON specs."""
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def test_risk_page_scores_the_case_with_the_active_model_and_draws_its_charts(registry):
    app = _risk_page(registry)
    case_id = app.subheader[0].value
    expected = _expected(registry, case_id, "labs")
    card = ModelCard.load(registry["models"]["labs"])
    digits = card.risk_digits(expected.risk)  # the risk and the cut told apart, as the PDF
    assert _metric(app, "Risk score") == f"{expected.risk:.{digits}f}"
    assert _metric(app, "Percentile of training cohort") == (
        f"{percentile_text(expected.percentile)} %"
    )
    assert _metric(app, "Risk group") == expected.risk_group
    # the demo's outcome is overall survival, and said so (a recurrence-free model read alike)
    assert _metric(app, "1-year overall survival") == f"{100 * expected.survival['12']:.0f} %"
    # rows of three metrics: six in one row were cut to '5...' in a laptop's window
    assert [round(c.proto.weight, 3) for c in app.columns[:6]] == [0.333] * 6
    titles = [json.dumps(spec["layout"].get("title")) for spec in _charts(app)]
    assert any("Predicted overall survival of this patient" in t for t in titles)
    assert any("Risk scores of the training cohort" in t for t in titles)
    km = next(s for s in _charts(app) if "survival by risk group" in json.dumps(s["layout"]))
    events = f"{card.n_events} deaths): overall survival by risk group (apparent)"
    assert events in km["layout"]["title"]["text"]
    names = [trace.get("name", "") for trace in km["data"]]
    assert any(f"{expected.risk_group.title()} risk (this patient's group)" in n for n in names)
    assert any(
        c.value.startswith(f"Risk groups: cut at {card.cut['threshold']:.{digits}f} (")
        and "log-rank p and hazard ratio are apparent" in c.value
        for c in app.caption
    )
    assert any("What drives" in t for t in titles)
    # the bars' baseline, its risk and their sum are said: risk = f_baseline + the sum
    drives = next(s for s in _charts(app) if "What drives" in json.dumps(s["layout"]))
    assert drives["layout"]["xaxis"]["title"]["text"].endswith("(vs the training mean)")
    assert any(
        c.value.startswith("Measured from the mean patient: every model input at its training")
        and f"is this patient's risk, {expected.risk:.4g}." in c.value
        for c in app.caption
    )
    # the saved coxph keeps its coefficient covariance: the survival curve has its band
    survival = next(s for s in _charts(app) if "Predicted overall" in json.dumps(s["layout"]))
    assert "band" in [trace.get("meta", {}).get("role") for trace in survival["data"]]
    # the score and the explanation are audited once for this session (demo mode: user "demo")
    from survival_core.audit import read_audit

    app.run()  # a rerun shows the same score: no second entry
    entries = [(e["user"], e["action"], e["target"]) for e in read_audit()]
    assert entries.count(("demo", "score_case", case_id)) == 1
    assert ("demo", "explain_case", case_id) in entries
    # model card: the run's protocol and calibration report
    assert any("nested_cv" in m.value for m in app.markdown)
    outcome = "**Outcome:** overall survival ('time'/'event'; events: deaths)"
    assert any(outcome in m.value for m in app.markdown)
    from importlib.metadata import version

    fitted = next(m.value for m in app.markdown if "**Fitted with:**" in m.value)
    assert f"scikit-survival {version('scikit-survival')}" in fitted
    assert "installed now" not in fitted  # fitted with the packages installed now
    assert any("calibration-marker" in json.dumps(s["data"]) for s in _charts(app))
    assert _metric(app, "Training patients") == "6"


def test_risk_page_follows_the_sidebar_model(registry):
    app = _risk_page(registry, model="age")
    case_id = app.subheader[0].value
    expected = _expected(registry, case_id, "age")
    assert expected.risk != pytest.approx(_expected(registry, case_id, "labs").risk)
    assert _metric(app, "Risk score") == f"{expected.risk:.2f}"
    assert any("No calibration data" in c.value for c in app.caption)
    # a model of a table no import recorded reads as before: 'survival', 'events'
    assert _metric(app, "1-year survival") == f"{100 * expected.survival['12']:.0f} %"
    km = next(s for s in _charts(app) if "survival by risk group" in json.dumps(s["layout"]))
    assert "events): survival by risk group (apparent)" in km["layout"]["title"]["text"]
    assert not any("**Outcome:**" in m.value for m in app.markdown)
    events = next(m for m in app.metric if m.label == "Events")
    assert not events.proto.help  # a tooltip 'Events' under 'Events' said nothing


def test_the_events_tooltip_names_the_event_column_as_written(registry):
    """The Events metric's tooltip said 'Events (recurrence, progression or death, as
    'pfs_event' records them)' of a column 'PFS_event': str.capitalize lowered the rest."""
    from dataclasses import replace

    from ui.risk import events_help

    card = ModelCard.load(registry["models"]["labs"])
    assert events_help(card) == "Deaths"
    recorded = {"time_column": "PFS_days", "event_column": "PFS_event", "time_unit": "days"}
    pfs = replace(card, outcome={**recorded, "endpoint": "disease"})
    assert events_help(pfs) == (
        "Events (recurrence, progression or death, as 'PFS_event' records them)"
    )
    assert events_help(replace(card, outcome=None)) is None


def test_risk_page_explains_a_model_the_case_cannot_feed(registry):
    app = _risk_page(registry, model="radiomic")
    # fitted on a CSV of radiomics RadSurv did not extract: its card holds no settings to
    # compute them with, which the page says, naming the inputs
    said = [e.value for e in app.error if "lacks the radiomics settings" in e.value]
    assert said and "gtv_original" in said[0]
    assert not [m for m in app.metric if m.label == "Risk score"]
    assert not app.get("plotly_chart")


def test_risk_page_without_a_case_points_to_the_case_page(registry):
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page(PAGE).run()
    assert not app.exception
    assert any("No case loaded yet" in i.value for i in app.info)
    assert not app.metric


def test_risk_page_flags_imputed_clinical_values(registry):
    from ui.state import CLINICAL_EDITS, CURRENT_CASE, CURRENT_ORIGIN, edits_key

    app = AppTest.from_file(APP, default_timeout=120).run()
    case = app.session_state[CURRENT_CASE]
    key = edits_key(case, app.session_state[CURRENT_ORIGIN])
    saved = {"values": {"albumin": None}, "read": dict(case.clinical), "refused": set()}
    app.session_state[CLINICAL_EDITS] = {key: saved}
    app.switch_page(PAGE).run()
    assert not app.exception
    assert any("imputed" in w.value and "albumin" in w.value for w in app.warning)
    assert _metric(app, "Risk score")


def test_an_auto_models_card_names_the_candidate_it_chose(demo_in_place, tmp_path, monkeypatch):
    """A model fitted with ``--model auto`` showed 'Model = auto' in its card: not which
    candidate it chose and predicts with, which the PDF and the Nomogram page now name too."""
    from survival_core.workflows.training import train_model
    from ui import models

    folder = tmp_path / "demo-auto"
    train_model(
        [demo_in_place / "clinical.csv"],
        "auto",
        {"candidates": [{"model": "coxph", "params": {"penalizer": 1.0}}], "inner_folds": 2},
        folder,
        features="^(albumin|bilirubin|ecog)$",
    )
    choice = models.ModelChoice("demo-auto", folder, default=True)
    monkeypatch.setattr(models, "model_choices", lambda problems=None: [choice])
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page(PAGE).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert _metric(app, "Model") == "auto -> coxph(penalizer=0.1)"  # the plain Cox PH added
    captions = [c.value for c in app.caption]
    assert "auto chose coxph(penalizer=0.1), which alone predicts" in captions
