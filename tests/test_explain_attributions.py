"""The tree models' attributions (Shapley value sampling against the training cohort), the
steps each method takes, and what the explanation says it is measured from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_veterans_lung_cancer, load_whas500
from sksurv.util import Surv

from survival_core.cli.main import main
from survival_core.errors import ConfigError
from survival_core.explain.attributions import model_attributions, shapley_attributions
from survival_core.models import load_model, make_model
from survival_core.viewer.patient import attribution_figure


@pytest.fixture(scope="module")
def whas500() -> tuple[pd.DataFrame, np.ndarray, object]:
    """WHAS500 with its yes/no columns as 0/1 numbers, as an export writes them, and a forest."""
    X, y = load_whas500()
    X = X.apply(pd.to_numeric)
    y = Surv.from_arrays(y["fstat"], y["lenfol"])
    forest = make_model("rsf", n_estimators=50, min_samples_leaf=10).fit(X, y)
    return X, y, forest


def test_a_tree_credits_a_majority_level_against_the_training_cohort(whas500):
    """A forest's attributions started from the z = 0 point, to a tree a patient with every
    majority level: every chf = 0 patient got exactly 0 for chf (also sho, gender...), though
    chf = 0 for all lowers the mean risk, and the bars summed to the risk minus 21.9 where the
    cohort's mean risk was 66.5."""
    X, _, forest = whas500
    rows = X.iloc[:20]
    result = shapley_attributions(forest, rows)
    chf, without = result.values["chf"], rows["chf"] == 0
    assert without.any() and (~without).any()
    assert (chf[without] < 0).all() and (chf[~without] > 0).all()
    for name in ("sho", "gender", "miord", "mitype"):
        assert (result.values[name] != 0).all()
    # every patient's bars add up to the risk minus the stated baseline's risk, exactly
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.f_baseline, forest.predict_risk(rows), rtol=1e-12
    )
    cohort = forest.predict_risk(X).mean()
    assert abs(result.f_baseline.iloc[0] - cohort) < 0.1 * cohort
    assert result.baseline_note.startswith("the training cohort: each of the 64 sampled orders")
    # the sampling error is said, per variable, and small beside the effect
    assert (result.sampling_error["chf"] < 0.3 * chf.abs()).all()
    again = shapley_attributions(forest, rows)
    np.testing.assert_array_equal(result.values.to_numpy(), again.values.to_numpy())


def test_a_categorys_reference_level_is_credited_too():
    """Every veterans' adeno patient (the dropped reference level) got 0 for Celltype though
    adeno raises the risk above the cohort's."""
    X, y = load_veterans_lung_cancer()
    X = X.astype({name: str for name in X.select_dtypes("category")})  # text, as a CSV reads
    boosted = make_model("gbsa").fit(X, Surv.from_arrays(y["Status"], y["Survival_in_days"]))
    adeno = X["Celltype"] == "adeno"
    assert boosted.predict_risk(X.assign(Celltype="adeno")).mean() > boosted.predict_risk(X).mean()
    result = shapley_attributions(boosted, X[adeno])
    assert (result.values.filter(like="Celltype=").sum(axis=1) > 0).all()
    # a category's indicator columns switch together: one standard error per variable
    assert list(result.sampling_error.columns) == [
        "Age_in_years", "Celltype", "Karnofsky_score", "Months_from_Diagnosis",
        "Prior_therapy", "Treatment",
    ]  # fmt: skip


def test_background_draws_keep_each_columns_training_distribution(whas500):
    """The saved model keeps percentiles and level shares (no training row), and its background
    patients are drawn from them."""
    X, _, forest = whas500
    prep = forest.preprocessor_
    age = next(spec for spec in prep.columns_ if spec["name"] == "age")
    assert len(age["quantiles"]) == 100 and age["quantiles"][-1] == X["age"].max()
    frame, held = prep.draw_inputs(400, np.random.default_rng(0))
    raw = frame * prep.scale_ + prep.mean_
    assert held == []
    assert set(raw["chf"].round(9)) == {0.0, 1.0}
    assert raw["chf"].mean() == pytest.approx(X["chf"].mean(), abs=0.01)
    levels = [0.1, 0.5, 0.9]
    np.testing.assert_allclose(np.quantile(raw["age"], levels), X["age"].quantile(levels), atol=2)


def test_a_model_saved_without_percentiles_still_explains_and_says_so(whas500, tmp_path):
    X, _, forest = whas500
    forest.save(tmp_path)
    document = json.loads((tmp_path / "model.json").read_text())
    for spec in document["preprocessing"]["columns"]:
        spec.pop("quantiles", None)
    (tmp_path / "model.json").write_text(json.dumps(document))
    rows = X.iloc[:5]
    result = shapley_attributions(load_model(tmp_path), rows)
    assert result.baseline_note.endswith(
        "; age, bmi, diasbp, hr, los, sysbp held at the training mean (the model was saved "
        "without their training percentiles: fit it again to draw them)"
    )
    assert (result.values["chf"] != 0).all()  # a 0/1 code is drawn from its two values
    np.testing.assert_allclose(
        result.values.sum(axis=1) + result.f_baseline, forest.predict_risk(rows), rtol=1e-12
    )


def test_steps_set_a_trees_orders_and_are_refused_for_a_linear_model(whas500):
    """`--steps` was accepted and silently ignored by the forests and the linear Cox models."""
    X, y, forest = whas500
    result = model_attributions(forest, X.iloc[:2], n_steps=16)
    assert (result.steps == 16).all() and "each of the 16 sampled orders" in result.baseline_note
    cox = make_model("coxph").fit(X, y)
    with pytest.raises(ConfigError, match="take no steps"):
        model_attributions(cox, X.iloc[:2], n_steps=16)
    with pytest.raises(ConfigError, match="at least 2 orders"):
        model_attributions(forest, X.iloc[:2], n_steps=1)


@pytest.fixture(scope="module")
def saved(whas500, tmp_path_factory):
    """A forest and a Cox model fitted by the CLI on WHAS500's table, and patient 0's values."""
    X, y, _ = whas500
    root = tmp_path_factory.mktemp("whas500")
    table = X.assign(time=y["time"], event=y["event"].astype(int))
    table.insert(0, "case_id", [f"whas500-{k:04d}" for k in range(len(X))])
    table.to_csv(root / "whas500.csv", index=False)
    for model, params in (("rsf", ["--param", "n_estimators=50"]), ("coxph", [])):
        fit = ["fit", "--table", str(root / "whas500.csv"), "--model", model, *params]
        assert main([*fit, "--out", str(root / model)]) == 0
    values = table.drop(columns=["time", "event"]).iloc[0].to_dict()
    (root / "w0.json").write_text(json.dumps(values))
    return root


def _explain(*args: str, capsys) -> dict:
    assert main(["explain", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_explain_names_a_trees_method_orders_and_baseline(saved, capsys):
    """`explain --json` said "method": "ig" and "steps": 960 for a forest explained by Shapley
    value sampling, and the Risk page's axis said "vs the training mean" for every model."""
    values = ["--values", str(saved / "w0.json"), "--top", "14"]
    result = _explain(*values, "--model", str(saved / "rsf"), capsys=capsys)
    assert result["method"] == "shapley" and result["steps"] == 64
    assert result["baseline"] == "the training cohort"
    errors = [item["standard_error"] for item in result["top_features"]]
    assert errors[0] > 0 and min(errors) >= 0  # 0 for an input no tree splits on
    figure = attribution_figure(result["top_features"], baseline=result["baseline"])
    assert (
        figure.layout.xaxis.title.text == "Contribution to the risk score (vs the training cohort)"
    )
    assert list(figure.data[0].error_x.array) == errors[::-1]
    fewer = _explain(*values, "--model", str(saved / "rsf"), "--steps", "8", capsys=capsys)
    assert fewer["steps"] == 8
    linear = _explain(*values, "--model", str(saved / "coxph"), capsys=capsys)
    assert linear["method"] == "linear" and linear["baseline"] == "the training mean"
    assert "standard_error" not in linear["top_features"][0]
    assert main(["explain", *values, "--model", str(saved / "coxph"), "--steps", "8"]) == 2
    assert "take no steps" in capsys.readouterr().err
