"""Cox nomogram: points on the raw scale, totals back to the model's own lp and survival, figures."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_gbsg2, load_whas500
from sksurv.util import Surv

from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.clinical_schema import SCHEMA_FILE, CohortSchema, SchemaVariable
from survival_core.models import load_model, make_model
from survival_core.models.reduction import make_reduction
from survival_core.models.scoring import DAYS_PER_MONTH, REPORT_MONTHS, LoadedModel
from survival_core.nomogram import (
    build_nomogram,
    nice_ticks,
    nomogram_layout,
    plotly_figure,
    static_image,
)
from survival_core.text import number_text

TIMES = np.array(REPORT_MONTHS) * DAYS_PER_MONTH


@pytest.fixture(scope="module")
def gbsg2() -> tuple[pd.DataFrame, np.ndarray]:
    """200 patients of the German Breast Cancer Study Group 2 (5 numeric, 3 categorical)."""
    X, y = load_gbsg2()
    return X.iloc[:200].reset_index(drop=True), Surv.from_arrays(y["cens"][:200], y["time"][:200])


@pytest.fixture(scope="module")
def fitted(gbsg2, tmp_path_factory) -> dict[str, LoadedModel]:
    """coxph and coxnet on GBSG2, plus the coxph read back from its saved JSON."""
    X, y = gbsg2
    models = {name: make_model(name).fit(X, y) for name in ("coxph", "coxnet")}
    folder = models["coxph"].save(tmp_path_factory.mktemp("coxph"))
    models["coxph-saved"] = load_model(folder)
    return {name: LoadedModel(Path(name), m, None) for name, m in models.items()}


@pytest.mark.parametrize("name", ["coxph", "coxnet", "coxph-saved"])
def test_total_points_give_the_models_lp_and_survival(gbsg2, fitted, name):
    X, _ = gbsg2
    loaded = fitted[name]
    nomo = build_nomogram(loaded)
    rows = X.iloc[:40]
    expected_lp = loaded.model.predict_risk(rows)
    expected_s = loaded.model.predict_survival(rows, TIMES)
    for i in range(len(rows)):
        patient = nomo.points(rows.iloc[i].to_dict())
        assert patient.total == pytest.approx(sum(patient.points.values()))
        assert patient.lp == pytest.approx(expected_lp[i], abs=1e-9)
        got = [patient.survival[m] for m in REPORT_MONTHS]
        np.testing.assert_allclose(got, expected_s[i], atol=1e-6)


def test_a_rare_factor_coded_as_a_number_keeps_its_axis_and_effect(gbsg2):
    """Held by 1 of 200 patients, a 0/1 column's 1st-99th percentile range was [0, 0]: the
    nomogram listed it unused and gave its holder the survival of a patient without it."""
    X, y = gbsg2
    rare = X.assign(metastasis=np.eye(len(X))[0])  # the first patient only
    loaded = LoadedModel(Path("rare"), make_model("coxph").fit(rare, y), None)
    nomo = build_nomogram(loaded)
    axis = next(v for v in nomo.variables if v.name == "metastasis")
    assert (axis.low, axis.high) == (0.0, 1.0) and "metastasis" not in nomo.unused
    patient = nomo.points(rare.iloc[0].to_dict())
    assert patient.lp == pytest.approx(loaded.model.predict_risk(rare.iloc[:1])[0], abs=1e-9)
    assert not patient.outside


def test_points_are_linear_and_the_widest_variable_spans_0_to_100(fitted):
    nomo = build_nomogram(fitted["coxph"])
    spans = {}
    for var in nomo.variables:
        if var.kind == "numeric":
            grid = np.linspace(var.low, var.high, 7)
            pts = [nomo.points_of(var, var.contribution(v)) for v in grid]
            np.testing.assert_allclose(np.diff(pts, 2), 0.0, atol=1e-9)
            spans[var.name] = (min(pts), max(pts))
        else:
            pts = [nomo.points_of(var, e) for e in var.effects]
            spans[var.name] = (min(pts), max(pts))
    assert all(
        lo == pytest.approx(0.0, abs=1e-12) and hi <= 100 + 1e-9 for lo, hi in spans.values()
    )
    widest = max(spans.values(), key=lambda s: s[1] - s[0])
    assert widest == (pytest.approx(0.0, abs=1e-12), pytest.approx(100.0))
    assert nomo.max_total == pytest.approx(sum(hi for _, hi in spans.values()))


def test_raw_coefficients_match_lifelines(fitted):
    """beta per raw unit = lifelines' coefficient on the z-scored column / the training SD."""
    model = fitted["coxph"].model
    prep = model.preprocessor_
    nomo = build_nomogram(fitted["coxph"])
    names = prep.feature_names_out_
    for var in (v for v in nomo.variables if v.kind == "numeric"):
        j = names.index(var.name)
        assert var.beta == pytest.approx(model.fitter_.params_[f"x{j}"] / prep.scale_[j], rel=1e-9)


def test_categorical_levels_one_tick_each(gbsg2, fitted):
    X, _ = gbsg2
    loaded = fitted["coxph"]
    nomo = build_nomogram(loaded)
    grade = next(v for v in nomo.variables if v.name == "tgrade")
    assert grade.kind == "categorical" and grade.levels == ("I", "II", "III")
    base = X.iloc[0].to_dict()
    by_level = {lv: nomo.points({**base, "tgrade": lv}) for lv in grade.levels}
    risk = {
        lv: loaded.model.predict_risk(pd.DataFrame([{**base, "tgrade": lv}]).astype(X.dtypes))[0]
        for lv in grade.levels
    }
    for lv in grade.levels:
        shift = by_level[lv].points["tgrade"] - by_level["I"].points["tgrade"]
        assert shift == pytest.approx(nomo.points_per_lp * (risk[lv] - risk["I"]))
    row = next(r for r in nomogram_layout(nomo).rows if r.label == "tgrade")
    assert sorted(t.text for t in row.ticks) == ["I", "II", "III"]
    with pytest.raises(ClinicalValueError, match="IV"):
        nomo.points({**base, "tgrade": "IV"})


def test_missing_values_are_imputed_like_the_model_and_flagged(gbsg2, fitted):
    X, _ = gbsg2
    loaded = fitted["coxph"]
    nomo = build_nomogram(loaded)
    row = X.iloc[3].to_dict()
    row["age"], row["horTh"] = None, None
    patient = nomo.points(row)
    assert patient.imputed == ["age", "horTh"]
    frame = X.iloc[[3]].copy()
    frame.loc[:, ["age", "horTh"]] = np.nan
    assert patient.lp == pytest.approx(loaded.model.predict_risk(frame)[0], abs=1e-9)


def test_unknown_variable_is_refused(fitted):
    nomo = build_nomogram(fitted["coxph"])
    with pytest.raises(InputError, match="does not use albumin"):
        nomo.points({"albumin": 40.0})


@pytest.mark.parametrize(
    "name, params", [("deepsurv", {"epochs": 2, "hidden": (4,)}), ("rsf", {"n_estimators": 3})]
)
def test_non_cox_models_are_refused(gbsg2, name, params):
    X, y = gbsg2
    model = make_model(name, **params).fit(X, y)
    with pytest.raises(InputError, match="needs a linear Cox model"):
        build_nomogram(LoadedModel(Path("m"), model, None))


def test_survival_axis_ticks_sit_where_the_model_gives_that_survival(fitted):
    nomo = build_nomogram(fitted["coxph"])
    layout = nomogram_layout(nomo)
    scale = 100.0 / nomo.max_total
    for column, months in enumerate(REPORT_MONTHS):
        row = next(r for r in layout.rows if r.label == f"{months // 12}-year survival")
        assert len(row.ticks) >= 2
        for tick in row.ticks:
            lp = nomo.lp_of_total(tick.x / scale)
            assert nomo.survival_of_lp(lp)[0, column] == pytest.approx(float(tick.text))


def test_layout_marks_the_patient_on_every_axis(gbsg2, fitted):
    X, _ = gbsg2
    nomo = build_nomogram(fitted["coxnet"])
    patient = nomo.points(X.iloc[5].to_dict())
    layout = nomogram_layout(nomo, patient)
    labels = [r.label for r in layout.rows]
    assert labels[0] == "Points" and labels[-3:] == [f"{k}-year survival" for k in (1, 2, 3)]
    assert len(labels) == 1 + len(nomo.variables) + 2 + 3
    assert all(r.marker is not None for r in layout.rows[1:])
    assert [r.marker for r in layout.rows[1 : 1 + len(nomo.variables)]] == list(
        patient.points.values()
    )
    figure = plotly_figure(layout)
    marks = next(t for t in figure.data if t.name == "Patient")
    assert len(marks.x) == len(labels) - 1


@pytest.mark.parametrize(
    "low, high, whole",
    [(31.9, 75.2, False), (-304.7, 517.9, False), (0, 4, True), (0.7, 1.3, False)],
)
def test_nice_ticks_are_round_and_inside(low, high, whole):
    ticks = nice_ticks(low, high, 5, whole)
    assert len(ticks) >= 2 and ticks.min() >= low and ticks.max() <= high
    step = ticks[1] - ticks[0]
    np.testing.assert_allclose(np.diff(ticks), step)
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert round(mantissa, 9) in (1, 2, 5)
    if whole:
        assert np.all(ticks == np.round(ticks))


def test_static_exports_are_valid_png_and_svg(gbsg2, fitted):
    X, _ = gbsg2
    nomo = build_nomogram(fitted["coxph"])
    layout = nomogram_layout(nomo, nomo.points(X.iloc[0].to_dict()))
    png = static_image(layout, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    svg = ET.fromstring(static_image(layout, "svg"))
    assert svg.tag.endswith("svg")
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"Points", "Total points", "3-year survival", "Age (years)"} <= texts
    with pytest.raises(InputError, match="pdf"):
        static_image(layout, "pdf")


def test_a_stored_training_range_sets_the_axis(fitted):
    """Models whose preprocessing keeps each numeric column's training range use it as the axis."""
    loaded = copy.deepcopy(fitted["coxph"])
    spec = next(c for c in loaded.model.preprocessor_.columns_ if c["name"] == "age")
    spec["range"] = [30.0, 80.0]
    age = next(v for v in build_nomogram(loaded).variables if v.name == "age")
    assert (age.low, age.high) == (30.0, 80.0)
    assert "percentile" in age.range_source
    # fitting stores the 1st-99th percentile; models saved before that fall back to mean +- 2 SD
    stored = next(v for v in build_nomogram(fitted["coxph"]).variables if v.name == "progrec")
    assert "percentile" in stored.range_source and stored.low >= 0.0
    older = copy.deepcopy(fitted["coxph"])
    spec = next(c for c in older.model.preprocessor_.columns_ if c["name"] == "progrec")
    del spec["range"]
    fallback = next(v for v in build_nomogram(older).variables if v.name == "progrec")
    assert fallback.low == 0.0 and "SD" in fallback.range_source  # non-negative: clipped at 0


def test_the_variables_are_drawn_in_the_schemas_order(tmp_path):
    """A model's inputs are taken in name order (an export's column order moved its fit): the
    nomogram drew GBSG2's variables 'age, estrec, horTh, menostat, ...' in that order, not in
    its cohort schema's (the sheet's, as the import kept it)."""
    from survival_core.io.clinical_schema import SCHEMA_FILE, CohortSchema, SchemaVariable

    X, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    model = make_model("coxph", penalizer=0.1).fit(X[["age", "pnodes", "tsize"]], y)  # by name
    sheet = ["tsize", "pnodes", "age"]
    CohortSchema([SchemaVariable(name, "number") for name in sheet]).save(tmp_path / SCHEMA_FILE)
    nomogram = build_nomogram(LoadedModel(tmp_path, model, None))
    assert [v.name for v in nomogram.variables] == sheet


def test_variables_a_reduction_dropped_are_listed_unused_not_drawn():
    """WHAS500 (real) through the cox_pvalue reduction keeps 5 of 14 variables; the probe
    differences of two dropped ones were rounding (3e-17) and drew zero-point axes."""
    X, y = load_whas500()
    X = X.astype(float)  # 0/1 columns as a spreadsheet gives them
    y = Surv.from_arrays(y["fstat"], y["lenfol"])
    model = make_model("coxph").with_reduction(make_reduction("cox_pvalue")).fit(X, y)
    nomogram = build_nomogram(LoadedModel(Path("whas500"), model, None))
    assert sorted(v.name for v in nomogram.variables) == sorted(model.features_used_)
    assert set(nomogram.unused) == set(X.columns) - set(model.features_used_)


def test_a_yes_no_variable_takes_yes_no_words(gbsg2):
    """An imported yes/no column is boolean (levels False, True): the nomogram refused 'yes',
    'no', 1 and 0, which the score and the report accept."""
    X, y = gbsg2
    X = X.assign(hormonal=X["horTh"] == "yes").drop(columns=["horTh"])
    loaded = LoadedModel(Path("bool"), make_model("coxph").fit(X, y), None)
    nomo = build_nomogram(loaded)
    assert next(v for v in nomo.variables if v.name == "hormonal").levels == ("False", "True")
    base = X.iloc[0].to_dict()
    for yes, no in (("yes", "no"), (1, 0), (True, False), ("Y", "N")):
        assert (
            nomo.points({**base, "hormonal": yes}).lp == nomo.points({**base, "hormonal": True}).lp
        )
        assert (
            nomo.points({**base, "hormonal": no}).lp == nomo.points({**base, "hormonal": False}).lp
        )
    with pytest.raises(ClinicalValueError, match="'maybe' is not one of the model's levels"):
        nomo.points({**base, "hormonal": "maybe"})
    # drawn as the page's select box and the PDF say it, not 'True' / 'False'
    layout = nomogram_layout(nomo, nomo.points({**base, "hormonal": "yes"}))
    (row,) = [r for r in layout.rows if r.label == "hormonal"]
    assert sorted(t.text for t in row.ticks) == ["no", "yes"]
    assert row.marker_text.startswith("hormonal: yes = ")


def test_tick_labels_of_a_short_axis_never_overprint():
    """The demo's Age axis, 1.2 points long, ticked 40, 60 and 80: '60' went below the line and
    '80', crowding both, above it onto '40' ('4080'). Its ends are labelled, one on each side,
    and a value label that has no room on either side is left out (its tick kept)."""
    from survival_core.nomogram.layout import _crowd, _ticks

    ticks = _ticks([(0.07, "40"), (0.61, "60"), (1.16, "80")])
    assert [t.x for t in ticks] == [0.07, 0.61, 1.16]
    assert {t.text for t in ticks if t.text} == {"40", "80"}
    for side in (False, True):
        placed = [(t.x, t.text) for t in ticks if t.text and t.below is side]
        assert not any(_crowd(a, b) for k, a in enumerate(placed) for b in placed[k + 1 :])
    # a level is never left out: two levels of one effect go one on each side
    levels = _ticks([(0.0, "B"), (23.7, "0"), (23.7, "A"), (34.3, "C")], numeric=False)
    assert [t.text for t in levels] == ["B", "0", "A", "C"]


def test_the_nomogram_takes_the_spellings_the_score_takes(gbsg2, tmp_path):
    """A model of an own cohort's schema: the nomogram refused 'Ii' for grade 'II', 'Yes' and a
    decimal comma, which the case's clinical values accept."""
    X, y = gbsg2
    X = X.assign(tgrade=X["tgrade"].astype(str), horTh=X["horTh"] == "yes")
    schema = CohortSchema(
        (
            SchemaVariable("age", "number", "Age", "years", 18, 100),
            SchemaVariable("tgrade", "category", "Grade", categories=("I", "II", "III")),
            SchemaVariable("horTh", "yes/no", "Hormonal therapy"),
        )
    )
    schema.save(tmp_path / SCHEMA_FILE)
    nomo = build_nomogram(LoadedModel(tmp_path, make_model("coxph").fit(X, y), None))
    base = X.iloc[0].to_dict()
    plain = nomo.points({**base, "age": 69.5, "tgrade": "II", "horTh": True})
    spelled = nomo.points({**base, "age": "69,5", "tgrade": " ii ", "horTh": "Yes"})
    assert spelled.lp == plain.lp and spelled.values == plain.values
    with pytest.raises(
        ClinicalValueError, match=r"Age \(age\): '150' years is outside the plausible"
    ):
        nomo.points({**base, "age": "150"})


@pytest.mark.parametrize(
    ("value", "text"),
    [(1997, "1997"), (1234.5, "1234.5"), (2380.0, "2380"), (0.0123, "0.0123"), (12.5, "12.5")],
)
def test_values_are_plain_numbers(value, text):
    assert number_text(value) == text


def test_patient_marks_read_as_plain_numbers_and_whole_percentages(gbsg2, fitted):
    """Red team on GBSG2: progrec 1234.5 showed as '1.23e+03' and estrec 2380 as '2.38e+03'; a
    survival below 1 % showed '0.0 %' where the score and the PDF say '< 1 %'."""
    X, _ = gbsg2
    nomo = build_nomogram(fitted["coxph"])
    patient = nomo.points({**X.iloc[0].to_dict(), "progrec": 1234.5, "estrec": 2380})
    texts = [r.marker_text for r in nomogram_layout(nomo, patient).rows]
    assert any(t.startswith("progrec: 1234.5 ") for t in texts)
    assert any(t.startswith("estrec: 2380 ") for t in texts)
    assert not any("e+" in t for t in texts)
    patient.survival = {12: 0.004, 24: 0.0021, 36: 0.996}
    texts = [r.marker_text for r in nomogram_layout(nomo, patient).rows[-3:]]
    assert texts == ["1-year survival: < 1 %", "2-year survival: < 1 %", "3-year survival: > 99 %"]


def test_a_tables_whole_number_columns_get_whole_ticks(tmp_path):
    """WHAS500's 0/1 codes (chf, sho, gender) had axes ticked at 0.2 or 0.5, a value no
    patient can have; a fractional column (bmi) keeps its fractional ticks."""
    from survival_core.models.scoring import load_scoring_model
    from survival_core.nomogram import build_nomogram
    from survival_core.workflows.training import train_model

    X, y = load_whas500()
    table = X[["age", "bmi", "chf", "gender", "sho"]].assign(time=y["lenfol"], event=y["fstat"])
    table.insert(0, "case_id", [f"W{i:03d}" for i in range(len(table))])
    table.to_csv(tmp_path / "whas.csv", index=False)
    train_model([tmp_path / "whas.csv"], "coxph", {"penalizer": 0.1}, tmp_path / "m", cv_repeats=0)
    nomo = build_nomogram(load_scoring_model(tmp_path / "m"))
    rows = {r.label: r for r in nomogram_layout(nomo).rows}
    for code in ("chf", "gender", "sho"):
        assert sorted(t.text for t in rows[code].ticks) == ["0", "1"], code
    whole = {v.name: v.whole for v in nomo.variables}
    assert whole == {"age": True, "bmi": False, "chf": True, "gender": True, "sho": True}


def test_a_tables_words_under_the_demos_variable_names_are_its_own_levels(tmp_path):
    """WHAS500 (real) with heart failure written yes/no under the demo's name 'cirrhosis' and
    gender m/f under 'sex': the demo's variables read 'no' as False and 'm' as 'M', levels the
    model never learned, and the nomogram refused every patient, its own defaults too."""
    from survival_core.io.tables import load_model_table
    from survival_core.models.scoring import load_scoring_model
    from survival_core.nomogram import build_nomogram
    from survival_core.workflows.training import train_model

    X, y = load_whas500()
    table = pd.DataFrame(
        {
            "case_id": [f"W{i:03d}" for i in range(len(X))],
            "hr": X["hr"],
            "sex": X["gender"].map({"0": "m", "1": "f"}),
            "cirrhosis": X["chf"].map({"0": "no", "1": "yes"}),
            "time": y["lenfol"],
            "event": y["fstat"],
        }
    )
    table.to_csv(tmp_path / "whas.csv", index=False)
    train_model([tmp_path / "whas.csv"], "coxph", {"penalizer": 0.1}, tmp_path / "m", cv_repeats=0)
    loaded = load_scoring_model(tmp_path / "m")
    nomo = build_nomogram(loaded)
    patients = table.iloc[:6][["hr", "sex", "cirrhosis"]]
    lps = [nomo.points(row).lp for row in patients.to_dict("records")]
    as_read = load_model_table([tmp_path / "whas.csv"]).X.iloc[:6]  # 'yes'/'no' as True/False
    np.testing.assert_allclose(lps, loaded.model.predict_risk(as_read), rtol=1e-9)
    assert nomo.points(nomo.defaults()).values["cirrhosis"] in ("False", "True")  # as trained


def test_long_level_names_do_not_overprint_and_long_names_are_drawn_whole(tmp_path):
    """Veterans (real) with German cell-type names and a 95-character Karnofsky header: three
    level names 17-20 points apart overprinted each other above the line (crowding was judged by
    distance alone), and the header was cut at the exported image's left edge."""
    from sksurv.datasets import load_veterans_lung_cancer

    from survival_core.nomogram.layout import CHAR_POINTS, label_lines

    X, y = load_veterans_lung_cancer()
    long_name = (
        "Karnofsky performance status at enrolment, percent of normal activity "
        "(10-100, higher is better)"
    )
    names = {
        "adeno": "Adenokarzinom",
        "large": "großzelliges Karzinom (large cell undifferentiated)",
        "smallcell": "kleinzellig (SCLC)",
        "squamous": "Plattenepithelkarzinom",
    }
    X = pd.DataFrame(
        {"Zelltyp": X["Celltype"].map(names).astype(str), long_name: X["Karnofsky_score"]}
    )
    model = make_model("coxph").fit(X, Surv.from_arrays(y["Status"], y["Survival_in_days"]))
    loaded = LoadedModel(tmp_path, model, None)
    layout = nomogram_layout(build_nomogram(loaded))
    (row,) = [r for r in layout.rows if r.label == "Zelltyp"]
    for side in (False, True):
        placed = [t for t in row.ticks if t.below is side]
        for left, right in zip(placed, placed[1:], strict=False):
            assert right.x - left.x >= (len(left.text) + len(right.text)) / 2 * CHAR_POINTS
    lines = label_lines(long_name)
    assert " ".join(lines) == long_name and len(lines) == 2 and max(map(len, lines)) <= 52
    radiomics = "gtv__native_original__firstorder__Mean"  # broken after a separator, not a letter
    assert label_lines(radiomics) == ["gtv__native_original__", "firstorder__Mean"]
    svg = ET.fromstring(static_image(layout, "svg"))
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert set(lines) <= texts


def test_a_png_of_letters_the_font_lacks_shows_their_code_points(gbsg2, fitted):
    """A nomogram of a Chinese category ('性别' with '男'/'女') downloaded as PNG drew empty boxes
    (23 'Glyph missing from font' warnings on the server, nothing for the user)."""
    import dataclasses
    import warnings

    from survival_core.text import drawable

    X, _ = gbsg2
    nomo = build_nomogram(fitted["coxph"])
    layout = nomogram_layout(nomo, nomo.points(X.iloc[0].to_dict()))
    rows = [dataclasses.replace(layout.rows[0], label="性别 男"), *layout.rows[1:]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        static_image(dataclasses.replace(layout, rows=rows), "png")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert drawable("性别 男") == "U+6027U+522B U+7537"


@pytest.mark.parametrize("header", ["Cost $\\frac$ per $k$", "Nodes_$N$_{pos}"])
def test_a_dollar_in_a_column_header_is_drawn_as_written(gbsg2, tmp_path, header):
    """GBSG2's pnodes under a header with dollars: the PNG and SVG downloads failed on
    'Cost $\\frac$' (matplotlib's mathtext: 'Expected \\frac{num}{den}') and drew 'Nodes_$N$'
    as italic math."""
    X, y = gbsg2
    X = X.rename(columns={"pnodes": header})
    loaded = LoadedModel(tmp_path, make_model("coxph").fit(X, y), None)
    layout = nomogram_layout(build_nomogram(loaded))
    assert static_image(layout, "png").startswith(b"\x89PNG")
    svg = ET.fromstring(static_image(layout, "svg"))
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert header in texts


def gbsg2_with_codes() -> pd.DataFrame:
    """GBSG2 (686 real patients) as an export writes unknowns: 25 tumour sizes and 10 ages of
    -99, the rest as recorded; case_id, time (days) and event columns."""
    X, y = load_gbsg2()
    table = X.assign(tgrade=X["tgrade"].astype(str), time=y["time"], event=y["cens"].astype(int))
    table.loc[table.index[::27][:25], "tsize"] = -99.0
    table.loc[table.index[5::61][:10], "age"] = -99.0
    table.insert(0, "case_id", [f"G{i:03d}" for i in range(len(table))])
    return table


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> tuple[LoadedModel, dict]:
    """A coxph trained on :func:`gbsg2_with_codes` (-99 read as missing at fit), loaded as
    the pages and the CLI load it, and one patient's values."""
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.training import train_model

    folder = tmp_path_factory.mktemp("coded")
    table = gbsg2_with_codes()
    table.to_csv(folder / "gbsg2.csv", index=False)
    train_model([folder / "gbsg2.csv"], "coxph", {}, folder / "m")
    patient = table.drop(columns=["case_id", "time", "event"]).iloc[1].to_dict()
    return load_scoring_model(folder / "m"), patient


@pytest.mark.parametrize("code", [-99, -99.0, "-99"])
def test_a_no_value_code_is_missing_to_the_nomogram_as_to_the_score(coded, code):
    """GBSG2 with tumour sizes of -99 for unknown: fit and score read -99 as missing (risk 0.102,
    3-year survival 0.639, tsize imputed); the nomogram drew it as a tumour of -99 mm, 40 points
    below the smallest, lp -0.809 and 3-year survival 0.835, called 'extrapolated'."""
    from survival_core.workflows.scoring import score_values

    loaded, patient = coded
    values = {**patient, "tsize": code, "age": code}
    score = score_values(values, loaded, "P1")
    nomo = build_nomogram(loaded)
    points = nomo.points(values)
    assert points.lp == pytest.approx(score.risk, abs=1e-12)
    assert [points.survival[m] for m in REPORT_MONTHS] == pytest.approx(
        [score.survival[str(m)] for m in REPORT_MONTHS], abs=1e-12
    )
    assert points.imputed == score.imputed == ["age", "tsize"]
    assert points.coded == {"age": -99.0, "tsize": -99.0} and not points.outside
    assert points.values["tsize"] == 25.0  # the training median, as the model imputes it
    texts = [r.marker_text for r in nomogram_layout(nomo, points).rows]
    assert any(
        t.startswith("tsize: 25 (imputed; -99: the training table's no-value code) = ")
        for t in texts
    )
    assert nomo.points({**patient, "tsize": None}).coded == {}


@pytest.fixture(scope="module")
def unknown_grade(gbsg2) -> tuple[LoadedModel, dict]:
    """A coxph on :func:`gbsg2` whose tgrade has a level 'unknown' (the first 30 patients),
    fitted without a clinical schema, and the first patient's values (grade 'unknown')."""
    X, y = gbsg2
    X = X.assign(tgrade=X["tgrade"].astype(str))
    X.loc[:29, "tgrade"] = "unknown"
    return LoadedModel(Path("unknown"), make_model("coxph").fit(X, y), None), X.iloc[0].to_dict()


@pytest.mark.parametrize("blank", ["", " ", "NA", "."])
def test_a_blank_or_na_is_missing_to_the_nomogram_as_to_the_score(
    coded, fitted, unknown_grade, blank
):
    """`score --values` imputes a grade and a tumour size typed '' or 'NA' (risk 0.10273,
    imputed tgrade and tsize); the nomogram refused them ("tgrade: '' is not one of I, II,
    III", "'NA' is not a number"), under a cohort's schema or none. A grade 'unknown' that is
    one of the model's levels is that level: read as missing, grade II was imputed (GBSG2's lp
    -0.12469, the model's own -0.28140), and 'none' or '-' too, where its table read no value
    by them."""
    from survival_core.workflows.scoring import score_values

    loaded, patient = coded
    values = {**patient, "tgrade": blank, "tsize": blank}
    score = score_values(values, loaded, "P1")
    points = build_nomogram(loaded).points(values)
    assert points.lp == pytest.approx(score.risk, abs=1e-12)
    assert points.imputed == score.imputed == ["tgrade", "tsize"]
    assert (points.values["tgrade"], points.values["tsize"]) == ("II", 25.0)
    plain = build_nomogram(fitted["coxph"])  # gbsg2's columns, none in a clinical schema
    row = {**plain.defaults(), "tgrade": blank, "tsize": blank}
    assert plain.points(row).imputed == ["tgrade", "tsize"]
    loaded, patient = unknown_grade
    nomo = build_nomogram(loaded)
    points = nomo.points(patient)
    assert points.values["tgrade"] == "unknown" and points.imputed == []
    risk = loaded.model.predict_risk(pd.DataFrame([patient]))[0]
    assert points.lp == pytest.approx(risk, abs=1e-12)
    assert nomo.points({**patient, "tgrade": blank}).imputed == ["tgrade"]
    with pytest.raises(ClinicalValueError) as refused:
        nomo.points({**patient, "tgrade": "none"})
    assert str(refused.value) == (
        "tgrade: 'none' is not one of the model's levels I, II, III, unknown."
    )


@pytest.mark.parametrize(
    ("name", "value", "outside"),
    [("pnodes", 30, False), ("pnodes", 60, True), ("tsize", 3.0, True), ("age", 84, False)],
)
def test_the_nomogram_extrapolates_where_the_score_cautions(coded, name, value, outside):
    """GBSG2 pnodes 30 lies past the nomogram's axis (1st-99th percentile, 1-24.3) but within
    the training data (six patients had 30 or more, up to 51): the score said nothing, the
    nomogram 'extrapolated'. Now both read one rule: the nomogram gives the score's caution
    (a tumour of 3 mm: check its unit) and calls a value past its axis end no more than that."""
    from survival_core.workflows.scoring import score_values

    loaded, patient = coded
    values = {**patient, name: value}
    cautions = [c for c in score_values(values, loaded, "P1").cautions if c.startswith(name)]
    points = build_nomogram(loaded).points(values)
    assert list(points.outside.values()) == cautions and bool(cautions) == outside
    assert points.beyond_axis == ([] if outside else [name])
