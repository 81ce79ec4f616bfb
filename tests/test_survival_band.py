"""A patient's survival curve with its delta-method band, checked against lifelines' own
coefficients, standard errors and baseline, and the patient figures drawn from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.models import make_model
from survival_core.models.card import last_follow_up
from survival_core.models.survival_band import (
    NO_BAND,
    follow_up_times,
    survival_band,
)

TIMES = np.array([0.0, 180.0, 365.0, 730.0, 1095.0])


def cohort(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Exponential survival with a log-hazard 0.08 per g/L of albumin below 37, 30 % censoring."""
    rng = np.random.default_rng(seed)
    albumin = rng.uniform(28, 46, n)
    age = rng.uniform(40, 80, n)
    time = rng.exponential(900 * np.exp((albumin - 37) * 0.08))
    censor = rng.uniform(300, 3000, n)
    y = Surv.from_arrays(time <= censor, np.minimum(time, censor))
    return pd.DataFrame({"albumin": albumin, "age": age}), y


@pytest.fixture(scope="module")
def fitted():
    X, y = cohort(150)
    return make_model("coxph", penalizer=0.0).fit(X, y), X


def test_band_matches_the_delta_method_with_lifelines_quantities():
    X, y = cohort(120, seed=1)
    X = X[["albumin"]]
    model = make_model("coxph", penalizer=0.0).fit(X, y)
    patient = pd.DataFrame({"albumin": [31.0]})
    band = survival_band(model, patient, TIMES)
    # direct: one covariate, so se(eta) = |z - mean| * se(beta) with lifelines' own numbers
    fitter = model.fitter_
    z = model.preprocessor_.transform(patient).to_numpy(float)[0, 0]
    d = z - fitter._norm_mean["x0"]
    eta = d * fitter.params_["x0"]
    se = abs(d) * fitter.standard_errors_["x0"]
    h0 = fitter.baseline_cumulative_hazard_["baseline cumulative hazard"]
    h0_at = np.array([h0[h0.index <= t].iloc[-1] if (h0.index <= t).any() else 0.0 for t in TIMES])
    q = norm.ppf(0.975)
    np.testing.assert_allclose(band.survival, np.exp(-h0_at * np.exp(eta)), rtol=1e-6)
    np.testing.assert_allclose(band.low, np.exp(-h0_at * np.exp(eta + q * se)), rtol=1e-6)
    np.testing.assert_allclose(band.high, np.exp(-h0_at * np.exp(eta - q * se)), rtol=1e-6)


def test_band_contains_the_estimate_and_is_a_survival_curve(fitted):
    model, X = fitted
    band = survival_band(model, X.iloc[[3]], np.linspace(0, 2000, 50))
    assert np.all(band.low <= band.survival + 1e-12)
    assert np.all(band.survival <= band.high + 1e-12)
    assert band.low[0] == band.high[0] == 1.0
    for curve in (band.low, band.survival, band.high):
        assert np.all(np.diff(curve) <= 1e-12)
    assert np.any(band.high - band.low > 0.01)
    # the training-mean patient has eta = 0 with no uncertainty: the band collapses
    mean = pd.DataFrame({"albumin": [X["albumin"].mean()], "age": [X["age"].mean()]})
    centred = survival_band(model, mean, TIMES)
    np.testing.assert_allclose(centred.low, centred.high, atol=1e-9)


@pytest.mark.parametrize("level", [0.8, 0.95])
def test_band_narrows_with_more_data_and_widens_with_the_level(level):
    patient = pd.DataFrame({"albumin": [30.0], "age": [70.0]})
    widths = []
    for n in (60, 600):
        model = make_model("coxph", penalizer=0.0).fit(*cohort(n, seed=2))
        band = survival_band(model, patient, [730.0], level=level)
        widths.append(float(band.high[0] - band.low[0]))
    assert widths[1] < 0.6 * widths[0]
    wider = survival_band(model, patient, [730.0], level=0.99)
    assert wider.high[0] - wider.low[0] > widths[1]


def test_a_saved_coxph_keeps_its_band_and_an_older_one_says_why(fitted, tmp_path):
    from survival_core.models import load_model

    model, X = fitted
    loaded = load_model(model.save(tmp_path / "m"))
    band = survival_band(loaded, X.iloc[[0]], TIMES)
    np.testing.assert_allclose(band.survival, model.predict_survival(X.iloc[[0]], TIMES)[0])
    np.testing.assert_allclose(band.low, survival_band(model, X.iloc[[0]], TIMES).low)
    np.testing.assert_allclose(band.high, survival_band(model, X.iloc[[0]], TIMES).high)
    loaded.covariance_ = None  # as loaded from a folder saved before the covariance was kept
    older = survival_band(loaded, X.iloc[[0]], TIMES)
    assert older.low is None and "no coefficient covariance" in older.note


def test_models_without_a_covariance_give_the_curve_and_say_why():
    X, y = cohort(80, seed=3)
    model = make_model("coxnet", cv_folds=3, n_alphas=10).fit(X, y)
    band = survival_band(model, X.iloc[[0]], TIMES)
    assert band.low is None and band.high is None
    assert band.note == NO_BAND.format(model="coxnet")
    np.testing.assert_allclose(band.survival, model.predict_survival(X.iloc[[0]], TIMES)[0])


@pytest.mark.parametrize(
    ("rows", "times", "level"),
    [(slice(0, 2), TIMES, 0.95), (slice(0, 1), [-1.0], 0.95), (slice(0, 1), TIMES, 1.0)],
)
def test_bad_requests_are_refused(fitted, rows, times, level):
    model, X = fitted
    with pytest.raises((ConfigError, InputError)):
        survival_band(model, X.iloc[rows], times, level)


def test_follow_up_grid_holds_the_report_times_and_the_follow_up():
    from types import SimpleNamespace

    km = {"0": {"time": [10.0, 1500.0]}, "1": {"time": [5.0, 900.0]}}
    card = SimpleNamespace(stratification={"km": km})
    grid = follow_up_times(last_follow_up(card), points=50)
    assert grid[0] == 0.0 and grid[-1] == 1500.0
    for months in (12, 24, 36):
        assert np.isclose(grid, months * 365.25 / 12).any()


def test_the_curve_stops_at_the_last_follow_up_like_the_reported_survival():
    """Veterans (last follow-up 999 days): the curve ran to 3 years (1095.75 days) while the
    score reported the 36-month survival as not estimated there."""
    from types import SimpleNamespace

    from survival_core.models.scoring import REPORT_MONTHS, LoadedModel

    card = SimpleNamespace(stratification={"km": {"0": {"time": [3.0, 999.0]}}})
    grid = follow_up_times(last_follow_up(card), points=50)
    assert grid[0] == 0.0 and grid[-1] == 999.0
    loaded = LoadedModel(Path("veterans"), None, card)
    for months in REPORT_MONTHS:
        on_grid = bool(np.isclose(grid, months * 365.25 / 12).any())
        assert on_grid == loaded.followed(months) == (months < 36)


def test_survival_figure_marks_the_yearly_points_with_their_interval(fitted):
    from survival_core.models.scoring import survival_text
    from survival_core.viewer.patient import survival_band_figure

    model, X = fitted
    card = type("Card", (), {"stratification": {"km": {"0": {"time": [2000.0]}}}})()
    band = survival_band(model, X.iloc[[5]], follow_up_times(last_follow_up(card)))
    fig = survival_band_figure(band)
    roles = [t.meta["role"] for t in fig.data if t.meta]
    assert roles == ["band", "survival", "marks"]
    marks = fig.data[-1]
    expected = [band.at(m * 365.25 / 12) for m in (12, 24, 36)]
    np.testing.assert_allclose(marks.y, [e[0] for e in expected])
    assert marks.text[0].startswith(
        f"1 y: {survival_text(expected[0][0])} ({survival_text(expected[0][1])}"
    )
    # a survival of 0.9995 is not a certainty: '> 99 %' as the metric and the PDF say, not 100%
    ends = survival_band_figure(
        dataclasses.replace(band, survival=np.clip(band.survival * 0 + 0.9995, 0, 1), low=None)
    ).data[-1]
    assert all(text.endswith(": > 99 %") for text in ends.text)
    bare = survival_band_figure(dataclasses.replace(band, low=None, high=None, note="no band"))
    assert [t.meta["role"] for t in bare.data if t.meta] == ["survival", "marks"]
    # a cohort followed 999 days (veterans): the curve stops there, marks at 1 and 2 years only
    # (the Risk page raised "1095.75 days is not on the survival curve's time grid")
    short = type("Card", (), {"stratification": {"km": {"0": {"time": [999.0]}}}})()
    marks = survival_band_figure(
        survival_band(model, X.iloc[[5]], follow_up_times(last_follow_up(short)))
    ).data[-1]
    assert [text[:3] for text in marks.text] == ["1 y", "2 y"]


@pytest.mark.parametrize(
    ("features", "colours"),
    [
        (
            [{"name": "albumin", "attribution": -0.4}, {"name": "ecog", "attribution": 0.2}],
            ["#D55E00", "#0072B2"],
        ),
        (
            [{"name": "tumour (GTV)", "share": 0.7}, {"name": "liver", "share": 0.3}],
            ["#009E73", "#009E73"],
        ),
    ],
)
def test_attribution_bars_put_the_largest_on_top(features, colours):
    from survival_core.viewer.patient import attribution_figure

    bars = attribution_figure(features).data[0]
    assert list(bars.y) == [f["name"] for f in features][::-1]
    assert list(bars.marker.color) == colours


def test_attribution_figure_refuses_mixed_or_empty_input():
    from survival_core.viewer.patient import attribution_figure

    with pytest.raises(InputError):
        attribution_figure([])
    with pytest.raises(InputError):
        attribution_figure([{"name": "a", "attribution": 1.0}, {"name": "b", "share": 0.5}])
