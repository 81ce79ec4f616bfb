"""The Cohort page renders the demo cohort; another variable redraws the KM plot; the Cox table
has a row per clinical variable."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from survival_core.features.table import write_table
from survival_core.io.manifest import read_clinical
from survival_core.workflows.demo import default_model_dir, demo_features_path
from tests.conftest import ROOT

PAGE = ROOT / "pages" / "cohort.py"


@pytest.fixture()
def demo_with_features(demo_in_place):
    """The small demo cohort with a two-column radiomics-like table (derived from the clinical
    values, so correlations are defined) written as the demo's feature table."""
    clinical = read_clinical(demo_in_place).set_index("case_id")
    rng = np.random.default_rng(0)
    features = pd.DataFrame(
        {
            "gtv__lloydmax8__glcm__Correlation": clinical["tumor_diameter"] / 100.0,
            "gtv__firstorder__Entropy": clinical["albumin"] + rng.normal(0, 1, len(clinical)),
        },
        index=clinical.index,
    )
    write_table(features, demo_features_path(), {})
    return demo_in_place, clinical


def _km_figure(app: AppTest) -> dict:
    chart = next(c for c in app.get("plotly_chart") if c.proto.id and "km-chart" in c.proto.id)
    return json.loads(chart.proto.spec)


def test_cohort_page_renders_and_follows_the_variable(demo_with_features):
    _, clinical = demo_with_features
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.caption[0].value.startswith(f"{len(clinical)} patients")
    before = _km_figure(app)
    app.selectbox(key="km-variable").set_value("albumin").run()
    assert not app.exception
    after = _km_figure(app)
    assert after != before
    assert "Albumin (g/L)" in after["layout"]["title"]["text"]
    # the Cox table lists every clinical variable of the cohort, one row each
    cox = app.dataframe[0].value  # the KM tab has no table: the first one is the Cox table
    clinical_columns = [c for c in clinical.columns if c not in ("time", "event")]
    assert len(cox) == len(clinical_columns)
    # p and q as numbers, so that the columns sort by value (as text, '0.0012' sorted before
    # '1e-05'), none shown as 0 (one that underflowed is raised to 1e-300, the caption says)
    for column in ("p", "q (BH)"):
        assert pd.api.types.is_float_dtype(cox[column]) and (cox[column].dropna() > 0).all()


@pytest.fixture()
def default_model(demo_with_features):
    """A tiny clinical Cox model as the demo default."""
    from survival_core.workflows.training import train_model

    cohort, _ = demo_with_features
    model_dir = default_model_dir()
    train_model(
        [cohort / "clinical.csv"],
        "coxph",
        {"penalizer": 1.0},
        model_dir,
        features="^(albumin|bilirubin|ecog)$",
    )
    return model_dir


def test_distributions_use_the_models_risk_groups(default_model):
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    assert any(c.value.startswith("Groups: risk groups of demo default") for c in app.caption)
    violins = json.loads(
        next(c for c in app.get("plotly_chart") if "dist-chart" in c.proto.id).proto.spec
    )
    assert {t["type"] for t in violins["data"]} == {"violin"}
    assert [t["name"].split(" ")[0] for t in violins["data"]] == ["low", "high"]


def test_a_missing_table_path_is_an_error_not_a_traceback(tmp_path):
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.button_group(key="cohort-source").set_value("Tables by path").run()
    app.text_input(key="cohort-path").input(str(tmp_path / "nowhere.csv")).run()
    assert not app.exception
    assert "does not exist" in app.error[0].value


def test_distributions_split_in_two_by_a_binary_variable(demo_with_features):
    """Without a usable model the tab splits by a variable: a yes/no one by its two levels (it
    used to offer only a median split, which a binary variable refused)."""
    _, clinical = demo_with_features
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.radio(key="dist-grouping").set_value("Two groups by a variable").run()
    choice = app.selectbox(key="dist-split")
    assert "bclc" not in choice.options  # four stages: not two groups
    app.selectbox(key="dist-split").set_value("cirrhosis").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any(c.value.startswith("Groups: Cirrhosis") for c in app.caption), [
        c.value for c in app.caption
    ]
    violins = json.loads(
        next(c for c in app.get("plotly_chart") if "dist-chart" in c.proto.id).proto.spec
    )
    assert len(violins["data"]) == 2
    # the clinical variables' table: numbers and categories in one column of medians (a float
    # beside a level's name broke the table's Arrow conversion)
    app.selectbox(key="dist-family").set_value("clinical").run()
    assert not app.exception, [e.message for e in app.exception]
    medians = app.dataframe[-1].value.filter(like="median")  # the tab's table, drawn last
    assert medians.notna().any().all() and "PR" in set(medians.stack())
    # the split variable is not tested against itself (p 5e-151, counted in the others' q)
    assert "cirrhosis" not in set(app.dataframe[-1].value["variable"])
    assert any("Cirrhosis makes the groups: not compared" in c.value for c in app.caption)


def test_another_cohorts_model_is_a_note_on_the_distributions(default_model, tmp_path):
    """A breast-cancer table under the demo's liver model: the tab showed a red error naming
    the demo's HCC variables; the model belongs to another cohort, which a note says."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    table = X.assign(case_id=[f"G{i}" for i in range(len(X))], time=y["time"], event=y["cens"])
    table.iloc[:120].to_csv(tmp_path / "gbsg2.csv", index=False)
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.button_group(key="cohort-source").set_value("Tables by path").run()
    app.text_input(key="cohort-path").input(str(tmp_path / "gbsg2.csv")).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any("The chosen model cannot place these patients" in i.value for i in app.info)


def _grade_schema(folder, ordered: bool, label: str) -> None:
    """The schema.yaml of a GBSG2 cohort in ``folder``: tumour grade I < II < III, ordered or
    not, under ``label``."""
    from survival_core.io.clinical_schema import CohortSchema

    grade = {"name": "tgrade", "kind": "category", "label": label, "ordered": ordered}
    schema = {"variables": [{**grade, "categories": ["I", "II", "III"]}]}
    CohortSchema.from_dict(schema).save(folder / "schema.yaml")


def test_an_edited_schema_is_read_again(tmp_path):
    """schema.yaml edited beside unchanged tables (as the README says to): the page kept the
    cohort read with the old schema (its cache was keyed on the tables alone), in this session
    and in a fresh one; tumour grade stayed three unordered levels under its old label."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    table = X.assign(case_id=[f"G{i}" for i in range(len(X))], time=y["time"], event=y["cens"])
    table.to_csv(tmp_path / "clinical.csv", index=False)
    _grade_schema(tmp_path, ordered=False, label="tgrade")

    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.button_group(key="cohort-source").set_value("Tables by path").run()
    app.text_input(key="cohort-path").input(str(tmp_path / "clinical.csv")).run()
    app.multiselect(key="cox-families").set_value(["clinical"]).run()
    cox = app.dataframe[0].value.set_index("variable")
    assert cox.loc["tgrade", "HR per"].startswith("levels vs")
    _grade_schema(tmp_path, ordered=True, label="Tumour grade")
    app.run()
    cox = app.dataframe[0].value.set_index("variable")
    assert "tgrade" not in cox.index
    assert cox.loc["Tumour grade", "HR per"] == "per step (I < II < III)"
    fresh = AppTest.from_file(str(PAGE), default_timeout=60).run()
    fresh.button_group(key="cohort-source").set_value("Tables by path").run()
    fresh.text_input(key="cohort-path").input(str(tmp_path / "clinical.csv")).run()
    fresh.multiselect(key="cox-families").set_value(["clinical"]).run()
    assert fresh.dataframe[0].value.set_index("variable").loc["Tumour grade", "HR per"] == (
        "per step (I < II < III)"
    )


def _widget(widgets, prefix: str):
    """The one widget whose key starts with ``prefix`` (the page keys them per cohort)."""
    (found,) = [w for w in widgets if w.key and w.key.startswith(prefix)]
    return found


def test_a_km_threshold_is_not_carried_to_another_cohort(tmp_path):
    """A threshold of 25 years for GBSG2's age was kept when WHAS500 was opened, where every
    patient is older (no plot, "puts every patient ... in one group"); the new cohort's age
    starts at its own median."""
    from sksurv.datasets import load_gbsg2, load_whas500

    for name, loader in (("gbsg2", load_gbsg2), ("whas500", load_whas500)):
        X, y = loader()
        event, time = y.dtype.names
        table = X.assign(case_id=[f"{name}-{i}" for i in range(len(X))], time=y[time])
        table.assign(event=y[event].astype(int)).to_csv(tmp_path / f"{name}.csv", index=False)
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.button_group(key="cohort-source").set_value("Tables by path").run()
    app.text_input(key="cohort-path").input(str(tmp_path / "gbsg2.csv")).run()
    app.selectbox(key="km-variable").set_value("age").run()
    _widget(app.selectbox, "km-rule-age").set_value("threshold").run()
    _widget(app.text_input, "km-threshold-age").input("25").run()
    assert "at 25" in _km_figure(app)["layout"]["title"]["text"]
    app.text_input(key="cohort-path").input(str(tmp_path / "whas500.csv")).run()
    app.selectbox(key="km-variable").set_value("age").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    _widget(app.selectbox, "km-rule-age").set_value("threshold").run()
    ages = load_whas500()[0]["age"]
    assert float(_widget(app.text_input, "km-threshold-age").value) == ages.median()
    assert not app.error, [e.value for e in app.error]
    assert f"at {ages.median():.4g}" in _km_figure(app)["layout"]["title"]["text"]


def test_a_km_threshold_typed_with_a_decimal_comma_splits_there(tmp_path):
    """Browser review: a number input's browser drops a comma, so a threshold typed '42,8' split
    GBSG2's ages at 428, every patient in one group (or, where the values reach it, silently
    other groups and another log-rank p). The field is text read as a typed clinical value: the
    split is at 42.8, the groups and p those of the same split made directly; '1,250' (1.25 or
    1250?) is refused under the field and draws nothing."""
    from sksurv.datasets import load_gbsg2

    from survival_core.cohort import exploration as ex

    X, y = load_gbsg2()
    table = X.assign(case_id=[f"G{i}" for i in range(len(X))], time=y["time"])
    table.assign(event=y["cens"].astype(int)).to_csv(tmp_path / "gbsg2.csv", index=False)
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.button_group(key="cohort-source").set_value("Tables by path").run()
    app.text_input(key="cohort-path").input(str(tmp_path / "gbsg2.csv")).run()
    app.selectbox(key="km-variable").set_value("age").run()
    _widget(app.selectbox, "km-rule-age").set_value("threshold").run()
    _widget(app.text_input, "km-threshold-age").input("42,8").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    data = ex.load_cohort([tmp_path / "gbsg2.csv"])
    named = {"schema": data.schema, "endpoint": data.endpoint, "cohort": data.name}
    expected = ex.km_by(data.frame, data.y, "age", "threshold", 42.8, **named)
    assert expected.split.counts == {"≤ 42.8 years": 94, "> 42.8 years": 592}
    figure = _km_figure(app)
    assert figure == json.loads(expected.figure.to_json())  # its groups, curves and p
    assert "split at 42.8 years" in figure["layout"]["title"]["text"]
    assert "Read as 42.8 years" in [c.value for c in app.caption]
    _widget(app.text_input, "km-threshold-age").input("1,250").run()
    assert [e.value for e in app.error] == [
        "Threshold (age): '1,250' is ambiguous: 1250 with a thousands separator, or a decimal "
        "comma? Write 1.25 or 1250: the number without a thousands separator and with a "
        "decimal point."
    ]
    assert not [c for c in app.get("plotly_chart") if c.proto.id and "km-chart" in c.proto.id]


def test_a_table_by_path_in_months_is_warned_of_and_read_in_its_time_unit(tmp_path):
    """GBSG2 in months given by path: drawn as days (the KM axis in months ending at 2.9 where
    the follow-up runs to 87), a grey caption pointing to cv and fit's --time-unit, which the
    page has not. The note is a warning naming the page's Time unit, which reads the table."""
    import base64

    from sksurv.datasets import load_gbsg2

    from survival_core.io.tables import TIME_UNITS

    X, y = load_gbsg2()
    months = y["time"] / TIME_UNITS["months"]
    table = X.assign(case_id=[f"G{i}" for i in range(len(X))], time=months)
    table.assign(event=y["cens"].astype(int)).to_csv(tmp_path / "gbsg2.csv", index=False)
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.button_group(key="cohort-source").set_value("Tables by path").run()
    app.text_input(key="cohort-path").input(str(tmp_path / "gbsg2.csv")).run()
    (warning,) = [w.value for w in app.warning]
    assert warning.startswith(
        "The longest follow-up is 87.3593 days (time read in days), likely in months (read so, "
        "2659 days: 7.3 years): if the times are in another unit, give it (a table by path: its "
        "Time unit months; an imported cohort, whose clinical.csv is in days: import its sheet "
        "again in Import mode with the Time unit months)"
    )
    assert not [c for c in app.caption if "longest follow-up" in c.value]
    app.selectbox(key="cohort-time-unit").set_value("months").run()
    assert not app.warning and not app.exception and not app.error
    figure = _km_figure(app)
    assert figure["layout"]["xaxis2"]["title"]["text"] == "Time (months)"
    drawn = [t["x"] for t in figure["data"] if t.get("yaxis") == "y"]
    longest = max(np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"]).max() for x in drawn)
    assert longest == pytest.approx(months.max())


def test_an_imported_cohort_is_shown_with_its_endpoint_and_exported_by_its_name(tmp_path):
    """GBSG2 imported as recurrence-free survival: the caption counts its events as such, the
    KM figure is titled with the endpoint and the cohort, and its PNG download is named after
    the cohort and variable, laid out at a set size (it was cut to the title's first words and
    drawn at the window's size: 'survival-by-horth-split-by-its-levels-68.png')."""
    from tests.clinical_exports import imported_gbsg2

    cohort = imported_gbsg2(tmp_path, "rfs")
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.button_group(key="cohort-source").set_value("Tables by path").run()
    app.text_input(key="cohort-path").input(str(cohort)).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.selectbox(key="km-variable").value == "age"  # the first column
    assert app.caption[0].value.startswith("686 patients, 299 recurrences or progressions; ")
    layout = _km_figure(app)["layout"]
    assert layout["title"]["text"].startswith(
        "Recurrence/progression-free survival by age<br><sup>cohort cohort_rfs, split"
    )
    chart = next(c for c in app.get("plotly_chart") if c.proto.id and "km-chart" in c.proto.id)
    image = json.loads(chart.proto.config)["toImageButtonOptions"]
    assert image == {
        "format": "png",
        "filename": "cohort_rfs-km-age",
        "width": 1200,
        "height": 560,
        "scale": 2,
    }
