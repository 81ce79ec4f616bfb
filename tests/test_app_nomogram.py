"""The Nomogram page renders the session's Cox model and follows an edited value at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

PAGE = ROOT / "pages" / "nomogram.py"


def _train(folder, model: str, params: dict):
    """``model`` trained on 60 synthetic patients (age, albumin, ecog, sex) as the demo default."""
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.training import train_model

    rng = np.random.default_rng(3)
    n = 60
    table = pd.DataFrame(
        {
            "case_id": [f"P{i:03d}" for i in range(n)],
            "age": rng.normal(62, 10, n).round(),
            "albumin": rng.normal(38, 5, n).round(1),
            "ecog": rng.integers(0, 3, n),
            "sex": rng.choice(["M", "F"], n),
        }
    )
    hazard = np.exp(0.04 * (table["age"] - 62) - 0.08 * (table["albumin"] - 38))
    table["time"] = np.ceil(rng.exponential(900 / hazard)).astype(int)
    table["event"] = (rng.random(n) < 0.7).astype(int)
    path = folder / "clinical.csv"
    table.to_csv(path, index=False)
    train_model([path], model, params, default_model_dir())
    return table


@pytest.fixture()
def data_folder(tmp_path, monkeypatch):
    """A private data folder whose demo default model is the session's only choice (the run
    store, whose first opening creates an MLflow database in ~15 s, is left out)."""
    from survival_core.workflows.demo import default_model_dir
    from ui import models

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(
        models, "model_choices", lambda: [models.ModelChoice("test", default_model_dir())]
    )
    return tmp_path


def _metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_page_draws_the_model_and_follows_an_edit(data_folder):
    table = _train(data_folder, "coxph", {"penalizer": 0.1})
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not app.exception
    assert not app.error
    labels = [w.label for w in app.text_input]
    assert {"Age (years)", "Albumin (g/L)", "ECOG performance status"} <= set(labels)
    assert [s.label for s in app.selectbox] == ["Sex"]
    age = next(w for w in app.text_input if w.label == "Age (years)")
    assert float(age.value) == table["age"].median()  # the training median (no case loaded)
    total, survival = _metric(app, "Total points"), _metric(app, "3-year survival")
    # the metrics in rows of two and three: five in one row were cut to '1...' in a laptop's
    widths = sorted(
        round(c.proto.weight, 3) for c in app.columns if c.metric and c.proto.weight < 0.7
    )
    assert widths == [0.333] * 3 + [0.5] * 2
    age.input("85").run()
    assert not app.exception
    assert _metric(app, "Total points") != total
    assert _metric(app, "3-year survival") != survival
    assert len(app.get("plotly_chart")) == 1
    assert [b.label for b in app.get("download_button")] == ["Download PNG", "Download SVG"]
    from survival_core.audit import read_audit

    since = len(read_audit())
    app.download_button[1].click().run()  # a download is an export: audited (it was not)
    assert not app.exception
    logged = [(e["user"], e["action"], e["what"], e["format"]) for e in read_audit()[since:]]
    assert logged == [("demo", "export_report", "nomogram", "svg")]


def test_page_refuses_a_model_that_is_not_cox(data_folder):
    _train(data_folder, "rsf", {"n_estimators": 20})
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not app.exception
    assert any("needs a linear Cox model" in e.value for e in app.error)


def test_page_prefills_the_current_case_and_flags_missing_values(data_folder):
    import dataclasses

    from survival_core.models.scoring import load_scoring_model
    from survival_core.nomogram import build_nomogram
    from survival_core.workflows.demo import default_model_dir
    from tests.case_builders import make_case

    _train(data_folder, "coxph", {"penalizer": 0.1})
    clinical = {"age": 80.0, "sex": "F", "ecog": 1, "albumin": None, "bilirubin": 20.0}
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["current_case"] = dataclasses.replace(make_case(), clinical=clinical)
    app.run()
    assert not app.exception
    widgets = {w.label: w.value for w in [*app.text_input, *app.selectbox]}
    assert widgets["Age (years)"] == "80" and widgets["Sex"] == "F"
    assert widgets["Albumin (g/L)"] is None
    assert any("albumin" in w.value for w in app.warning)
    expected = build_nomogram(load_scoring_model(default_model_dir())).points(
        {k: v for k, v in clinical.items() if k != "bilirubin"}
    )
    assert _metric(app, "Total points") == f"{expected.total:.1f}"


def test_a_case_the_model_cannot_read_is_refused_with_its_reason(data_folder):
    """A model reading an image feature the current case cannot give: the page says why, as the
    Case and Risk pages do, never a traceback."""
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.training import train_model
    from tests.case_builders import make_case

    table = _train(data_folder, "coxph", {"penalizer": 0.1})
    rng = np.random.default_rng(4)
    features = pd.DataFrame(
        {"case_id": table["case_id"], "gtv__original__firstorder__Mean": rng.normal(size=60)}
    )
    features.to_csv(data_folder / "radiomics.csv", index=False)
    train_model(
        [data_folder / "clinical.csv", data_folder / "radiomics.csv"],
        "coxph",
        {"penalizer": 0.1},
        default_model_dir(),
    )
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["current_case"] = make_case()
    app.run()
    assert not app.exception
    # fitted on radiomics RadSurv did not extract: no settings to compute them with
    said = [e.value for e in app.error if "lacks the radiomics settings" in e.value]
    assert said and "gtv__original__firstorder__Mean" in said[0]


def test_a_user_who_may_not_score_cases_gets_the_defaults_not_the_cases_score(
    data_folder, monkeypatch
):
    """A viewer: the Risk page withholds the case's score, and the Nomogram page showed the same
    figures (its totals and survival) prefilled from the case."""
    import dataclasses

    from tests.case_builders import make_case
    from ui import auth

    table = _train(data_folder, "coxph", {"penalizer": 0.1})
    monkeypatch.setattr(auth, "permitted", lambda action: action != "score_case")
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    clinical = {"age": 80.0, "sex": "F", "ecog": 1, "albumin": 30.0}
    app.session_state["current_case"] = dataclasses.replace(make_case(), clinical=clinical)
    app.run()
    assert not app.exception
    age = next(w for w in app.text_input if w.label == "Age (years)")
    assert float(age.value) == table["age"].median()  # the training default, not the case's 80
    assert any("your role may not see a case's score" in c.value for c in app.caption)


def test_a_yes_no_variable_reads_yes_and_no(data_folder):
    """The nomogram offered 'True'/'False' where the Case form says yes/no."""
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.training import train_model

    rng = np.random.default_rng(5)
    n = 60
    table = pd.DataFrame(
        {
            "case_id": [f"P{i:03d}" for i in range(n)],
            "age": rng.normal(62, 10, n).round(),
            "cirrhosis": rng.random(n) < 0.5,
        }
    )
    table["time"] = np.ceil(rng.exponential(900 * np.exp(-0.7 * table["cirrhosis"]))).astype(int)
    table["event"] = (rng.random(n) < 0.7).astype(int)
    table.to_csv(data_folder / "clinical.csv", index=False)
    train_model([data_folder / "clinical.csv"], "coxph", {"penalizer": 0.1}, default_model_dir())
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not app.exception
    cirrhosis = next(s for s in app.selectbox if s.label.startswith("Cirrhosis"))
    assert cirrhosis.options == ["no", "yes"]


def test_a_case_without_clinical_values_is_refused_as_on_the_risk_page(data_folder):
    """A case with no value for any of a clinical model's inputs: the Risk and Report pages say
    to give the values; the Nomogram page showed the training's typical patient's points and
    survival as "prefilled from case ..."."""
    import dataclasses

    from tests.case_builders import make_case

    _train(data_folder, "coxph", {"penalizer": 0.1})
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["current_case"] = dataclasses.replace(make_case(), clinical={})
    app.run()
    assert not app.exception and not app.error
    assert any("Give the clinical values" in i.value for i in app.info)
    assert not app.metric
    assert not any("Prefilled from case" in c.value for c in app.caption)


def test_a_no_value_code_is_imputed_and_a_value_past_its_axis_is_no_extrapolation(data_folder):
    """GBSG2 with unknown ages and tumour sizes written -99: the page scored a case's tsize of
    -99 as a real size (3-year survival 0.835 against the Risk page's 0.639) and refused the
    case's age of -99 (the Age field's range is 18-100); a pnodes of 30, within the training
    patients' (up to 51) but past the axis' 99th percentile, was called extrapolated, where the
    score says nothing."""
    import dataclasses

    from survival_core.models.scoring import load_scoring_model, survival_text
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.scoring import score_values
    from survival_core.workflows.training import train_model
    from tests.case_builders import make_case
    from tests.test_nomogram import gbsg2_with_codes

    table = gbsg2_with_codes()
    table.to_csv(data_folder / "gbsg2.csv", index=False)
    train_model([data_folder / "gbsg2.csv"], "coxph", {}, default_model_dir())
    clinical = {
        **table.drop(columns=["case_id", "time", "event"]).iloc[1].to_dict(),
        "age": -99,
        "tsize": -99,
        "pnodes": 30,
    }
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["current_case"] = dataclasses.replace(make_case(), clinical=clinical)
    app.run()
    assert not app.exception and not app.error
    widgets = {w.label: w.value for w in app.text_input}
    assert widgets["Age (years)"] is None and widgets["tsize"] is None  # empty: imputed
    score = score_values(clinical, load_scoring_model(default_model_dir()), "P1")
    assert _metric(app, "Linear predictor") == f"{score.risk:.3f}"
    # whole percentages as the drawn axis and the PDF say them ('100.0 %' for 0.9996)
    assert _metric(app, "3-year survival") == survival_text(score.survival["36"])
    (warning,) = [w.value for w in app.warning]
    assert warning.endswith(
        "age (-99: the training table's no-value code), tsize (-99: the training table's "
        "no-value code)"
    )
    assert any(c.value.startswith("Past the end of the drawn axis") for c in app.caption)


def test_albi_is_worked_out_from_albumin_and_bilirubin_as_on_the_case_page(
    data_folder, small_cohort
):
    """Albumin set to 20 g/L on the page left the ALBI score and grade at the training defaults
    (-2.24, grade 2), a patient no form can give: the linear predictor disagreed with the Risk
    page's for the same values. They are worked out from the values entered, not inputs."""
    from survival_core.io.clinical import albi_grade, albi_score
    from survival_core.models.scoring import load_scoring_model
    from survival_core.nomogram import build_nomogram
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.training import train_model

    features = "^(age|albumin|bilirubin|albi_score|albi_grade)$"
    train_model([small_cohort / "clinical.csv"], "coxph", {"penalizer": 1.0},
                default_model_dir(), features=features)  # fmt: skip
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    albumin = next(w for w in app.text_input if w.label.startswith("Albumin"))
    albumin.input("20").run()
    assert not app.exception
    fields = {w.label.split(" (")[0]: w for w in app.text_input}
    bilirubin, age = float(fields["Total bilirubin"].value), float(fields["Age"].value)
    score = fields["ALBI score"]
    assert score.disabled
    assert float(score.value) == pytest.approx(albi_score(bilirubin, 20.0), abs=1e-4)
    values = {"age": age, "albumin": 20.0, "bilirubin": bilirubin}
    values["albi_score"] = round(albi_score(bilirubin, 20.0), 4)
    nomo = build_nomogram(load_scoring_model(default_model_dir()))
    if "albi_grade" in {v.name for v in nomo.variables}:  # drawn unless its coefficient is 0
        grade = fields["ALBI grade"]
        assert grade.disabled and int(grade.value) == albi_grade(values["albi_score"])
        values["albi_grade"] = int(grade.value)
    assert float(_metric(app, "Linear predictor")) == pytest.approx(
        nomo.points(values).lp, abs=1e-3
    )


def test_albi_is_entered_where_the_model_reads_it_without_albumin_and_bilirubin(
    data_folder, small_cohort
):
    """Wang 2022's inputs (HBV, AFP, ALBI score) hold no albumin nor bilirubin to work ALBI out
    from: it was shown fixed, worked out from inputs the page does not have."""
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.training import train_model

    train_model([small_cohort / "clinical.csv"], "coxph", {"penalizer": 1.0},
                default_model_dir(), features="^(hbv|afp|albi_score)$")  # fmt: skip
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    score = next(w for w in app.text_input if w.label.startswith("ALBI score"))
    assert not score.disabled
    before = _metric(app, "Linear predictor")
    score.input("-1").run()
    assert _metric(app, "Linear predictor") != before


def test_a_registered_models_downloads_are_named_and_titled_by_it(data_folder, monkeypatch):
    """Under the registered model 'gbsg-odd' v1 (LoadedModel.name 'gbsg-odd/v1') the PNG was
    offered as 'nomogram-gbsg-odd/v1.png' and titled 'Cox nomogram (coxph)': it named no
    model version nor its research use once away from the page."""
    import shutil
    import xml.etree.ElementTree as ET

    from streamlit.runtime.media_file_manager import MediaFileManager

    from survival_core.workflows.demo import default_model_dir
    from ui import models

    _train(data_folder, "coxph", {"penalizer": 0.1})
    registered = shutil.copytree(default_model_dir(), data_folder / "registry" / "gbsg-odd" / "v1")
    choice = models.ModelChoice("gbsg-odd v1", registered)
    monkeypatch.setattr(models, "model_choices", lambda: [choice])
    offered = {}  # file name -> what a click on its button downloads
    add_deferred = MediaFileManager.add_deferred

    def recorded(self, data, mimetype, coordinates, file_name=None, **kwargs):
        offered[file_name] = data
        return add_deferred(self, data, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recorded)
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not app.exception
    assert sorted(offered) == ["nomogram-gbsg-odd_v1.png", "nomogram-gbsg-odd_v1.svg"]
    svg = ET.fromstring(offered["nomogram-gbsg-odd_v1.svg"]())
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert "Cox nomogram of gbsg-odd/v1 (coxph), research use only" in texts


def test_an_auto_model_is_named_by_the_candidate_it_chose(data_folder):
    """A model fitted with ``--model auto`` was 'Model: demo-default (coxph)' here, the class of
    the candidate it chose without its penalty, and 'auto' on the Risk page and in the PDF."""
    candidates = [{"model": "coxph", "params": {"penalizer": 1.0}}]  # the plain Cox PH added
    _train(data_folder, "auto", {"candidates": candidates, "inner_folds": 3})
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    captions = [c.value for c in app.caption]
    said = "Model: demo-default (auto -> coxph(penalizer=0.1)); research use only."
    assert said in captions, captions


def test_the_survival_axes_name_the_endpoint_the_model_was_fitted_on(data_folder):
    """Reviewer's GBSG2 sheet: a recurrence-free model's nomogram read '2-year survival' on its
    page and axes (the PDF's too), as an overall-survival model's does. They name the endpoint the
    cohort's import recorded; a model of a table no import recorded reads as before."""
    import dataclasses
    import shutil

    from survival_core.models.scoring import load_scoring_model
    from survival_core.nomogram import build_nomogram, nomogram_layout
    from survival_core.workflows.demo import default_model_dir
    from tests.case_builders import make_case
    from tests.clinical_exports import imported_gbsg2_model

    clinical = {"age": 70, "estrec": 66, "horTh": "no", "menostat": "Post", "pnodes": 3}
    clinical |= {"progrec": 48, "tgrade": "II", "tsize": 21}
    for endpoint, survival in (("rfs", "recurrence/progression-free survival"), (None, "survival")):
        shutil.rmtree(default_model_dir(), ignore_errors=True)
        if endpoint is None:
            _train(data_folder, "coxph", {})
            clinical = {"age": 60, "albumin": 38, "ecog": 1, "sex": "F"}
        else:
            shutil.copytree(imported_gbsg2_model(data_folder, endpoint), default_model_dir())
        app = AppTest.from_file(str(PAGE), default_timeout=120)
        app.session_state["current_case"] = dataclasses.replace(make_case(), clinical=clinical)
        app.run()
        assert not app.exception and not app.error
        assert _metric(app, f"2-year {survival}").endswith("%")
        nomo = build_nomogram(load_scoring_model(default_model_dir()))
        labels = [row.label for row in nomogram_layout(nomo).rows[-3:]]
        assert labels == [f"{k}-year {survival}" for k in (1, 2, 3)]
        assert nomo.endpoint.events == ("recurrences or progressions" if endpoint else "events")


def test_a_decimal_comma_typed_is_read_as_the_case_form_reads_it(data_folder):
    """Browser review: '4,2' typed into a field showed 42.00 and its points were 42's (a number
    input's browser drops the comma). Albumin '38,5' is 38.5, said under the field, with 38.5's
    points; '1,200' (1.2 or 1200 g/L, neither plausible) is refused there, and nothing scored."""
    from survival_core.models.scoring import load_scoring_model
    from survival_core.nomogram import build_nomogram
    from survival_core.workflows.demo import default_model_dir

    _train(data_folder, "coxph", {"penalizer": 0.1})
    app = AppTest.from_file(str(PAGE), default_timeout=120).run()
    albumin = next(w for w in app.text_input if w.label == "Albumin (g/L)")
    albumin.input("38,5").run()
    assert not app.exception and not app.error
    assert "Read as 38.5 g/L" in [c.value for c in app.caption]
    fields = {w.label: w.value for w in [*app.text_input, *app.selectbox]}
    age, ecog = float(fields["Age (years)"]), int(fields["ECOG performance status"])
    values = {"age": age, "albumin": 38.5, "ecog": ecog, "sex": fields["Sex"]}
    expected = build_nomogram(load_scoring_model(default_model_dir())).points(values)
    assert _metric(app, "Linear predictor") == f"{expected.lp:.3f}"
    assert _metric(app, "Total points") == f"{expected.total:.1f}"
    albumin.input("1,200").run()
    assert not app.exception and not app.metric
    assert [e.value for e in app.error] == [
        "Albumin (albumin): '1,200' is ambiguous: 1200 with a thousands separator, or a decimal "
        "comma? Write 1.2 or 1200: the number without a thousands separator and with a decimal "
        "point.",
        "Not scored: correct Albumin (g/L), as said under its field.",
    ]


def test_the_drawing_is_given_as_a_table_whose_points_sum_to_the_total(data_folder):
    """Accessibility review: the plotly nomogram had no text alternative, its per-variable points
    nowhere in text. A table under it lists each variable's value and points, the total points
    (their sum, as the metric shows it) and the linear predictor; an imputed value says so."""
    import dataclasses

    from tests.case_builders import make_case

    _train(data_folder, "coxph", {"penalizer": 0.1})
    clinical = {"age": 80.0, "sex": "F", "ecog": 1, "albumin": None}
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["current_case"] = dataclasses.replace(make_case(), clinical=clinical)
    app.run()
    assert not app.exception and not app.error
    (table,) = [t.value for t in app.table]
    rows = table.set_index("variable")
    drawn = rows.drop(index=["Total points", "Linear predictor"])
    assert set(drawn.index) == {"Age (years)", "Albumin (g/L)", "ECOG performance status", "Sex"}
    assert drawn.loc["Age (years)", "value"] == "80 years"
    assert drawn.loc["Albumin (g/L)", "value"].endswith(" g/L (imputed)")
    assert drawn.loc["Sex", "value"] == "F"
    total = rows.loc["Total points", "points"]
    assert drawn["points"].sum() == pytest.approx(total, abs=1e-9)
    assert _metric(app, "Total points") == f"{total:.1f}"
    assert rows.loc["Linear predictor", "value"] == _metric(app, "Linear predictor")
