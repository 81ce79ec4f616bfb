"""Cohort exploration on real survival cohorts (GBSG2, WHAS500 from scikit-survival), cross-checked
against lifelines and scipy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import multivariate_logrank_test
from scipy import stats
from sksurv.datasets import load_gbsg2, load_whas500
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from survival_core.cohort import exploration as ex
from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.risk_groups import logrank_test
from survival_core.models.reduction import univariate_cox
from tests.clinical_exports import imported_gbsg2, veterans


def _cohort(loader) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = loader()
    event_field, time_field = y.dtype.names
    X = X.copy()
    X.index = pd.Index([f"P{k:04d}" for k in range(len(X))], name="case_id")
    return X, Surv.from_arrays(y[event_field], y[time_field])


@pytest.fixture(scope="module")
def gbsg2():
    return _cohort(load_gbsg2)


@pytest.fixture(scope="module")
def whas500():
    return _cohort(load_whas500)


def _lifelines(x: np.ndarray, y: np.ndarray) -> CoxPHFitter:
    data = pd.DataFrame({"x": x, "time": y["time"], "event": y["event"].astype(int)})
    return CoxPHFitter().fit(data, "time", "event", fit_options={"precision": 1e-12})


def _untied(y: np.ndarray) -> np.ndarray:
    """``y`` with distinct times (Breslow = Efron, lifelines' only tie rule), order kept."""
    jitter = np.random.default_rng(1).uniform(0, 0.5, len(y))
    return Surv.from_arrays(y["event"], y["time"] + jitter)


@pytest.mark.parametrize(
    ("dataset", "column", "kind"),
    [
        ("gbsg2", "age", "continuous"),
        ("gbsg2", "pnodes", "continuous"),
        ("gbsg2", "horTh", "binary"),
        ("whas500", "bmi", "continuous"),
        ("whas500", "gender", "binary"),
    ],
)
def test_univariate_cox_row_equals_lifelines(request, dataset, column, kind):
    frame, y = request.getfixturevalue(dataset)
    x = ex.variable(frame[column]).values.to_numpy()
    # tied times: the p of the cox_pvalue feature filter (Breslow ties), to the last bit
    assert (
        ex.univariate_cox(frame, y, [column]).iloc[0]["p"]
        == univariate_cox(x[:, None], y["event"], y["time"])[1][0]
    )
    y = _untied(y)
    row = ex.univariate_cox(frame, y, [column]).iloc[0]
    fit = _lifelines(x, y)  # Newton-Raphson stopping rules differ: agreement to ~1e-8
    summary = fit.summary.loc["x"]
    assert row["kind"] == kind and row["n"] == len(frame) and row["note"] == ""
    assert row["hr"] == pytest.approx(summary["exp(coef)"], rel=1e-7)
    assert row["hr_low"] == pytest.approx(summary["exp(coef) lower 95%"], rel=1e-7)
    assert row["hr_high"] == pytest.approx(summary["exp(coef) upper 95%"], rel=1e-7)
    assert row["p"] == pytest.approx(summary["p"], rel=1e-7)
    assert row["c_index"] == pytest.approx(fit.concordance_index_, rel=1e-9)
    if kind == "continuous":  # per SD: lifelines on the standardised covariate
        standard = _lifelines(x / np.std(x, ddof=1), y).summary.loc["x"]
        assert row["hr_per_sd"] == pytest.approx(standard["exp(coef)"], rel=1e-6)
        assert row["hr_per_sd_low"] == pytest.approx(standard["exp(coef) lower 95%"], rel=1e-6)
    else:
        assert np.isnan(row["hr_per_sd"])


def test_binary_scale_names_the_levels(gbsg2):
    frame, y = gbsg2
    table = ex.univariate_cox(frame, y, ["horTh", "age"])
    assert list(table["scale"]) == ["yes vs no", "per 1 year"]  # age: the schema unit


def test_q_values_are_benjamini_hochberg_of_the_p_values(whas500):
    frame, y = whas500
    table = ex.univariate_cox(frame, y, list(frame.columns))
    tested = table["p"].notna()
    assert tested.sum() >= 12
    expected = stats.false_discovery_control(table.loc[tested, "p"].to_numpy(), method="bh")
    np.testing.assert_allclose(table.loc[tested, "q"], expected, rtol=1e-12)


def test_problem_columns_are_flagged_not_raised(gbsg2):
    frame, y = gbsg2
    frame = frame.assign(
        constant=1.0,
        separating=-y["time"],  # shorter follow-up -> higher value: monotone likelihood
        tgrade_text=frame["tgrade"].astype(str),
    )
    table = ex.univariate_cox(frame, y, ["age", "constant", "separating", "tgrade_text"])
    notes = dict(zip(table["variable"], table["note"], strict=True))
    assert notes["age"] == ""
    assert "constant" in notes["constant"] and np.isnan(table["p"].iloc[1])
    assert notes["separating"] != ""
    assert "unordered" in notes["tgrade_text"]
    # q only over the rows with a p
    assert table["q"].notna().sum() == table["p"].notna().sum()


def _no_event_under_hormone_therapy(frame: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """GBSG2 (untied) with every patient on hormone therapy censored: 0 events in horTh yes."""
    y = _untied(y)
    return Surv.from_arrays(y["event"] & (frame["horTh"] == "no").to_numpy(), y["time"])


def test_a_level_without_events_gets_the_likelihood_ratio_p(gbsg2):
    """A two-level variable with no event in one level: its HR runs to 0 and its Wald p to 1
    (Hauck-Donner). The table showed HR 4.4e-16 (0 to inf), p = q = 0.99999 beside a log-rank p
    of 9e-6 on the same split; lifelines' Wald p is 0.99 and its likelihood-ratio p 8e-47."""
    frame, y = gbsg2
    y = _no_event_under_hormone_therapy(frame, y)
    table = ex.univariate_cox(frame, y, ["horTh", "age"]).set_index("variable")
    row = table.loc["horTh"]
    x = ex.variable(frame["horTh"]).values.to_numpy()
    expected = _lifelines(x, y).log_likelihood_ratio_test().p_value
    assert expected < 1e-40 and row["p"] == pytest.approx(expected, rel=1e-5)
    assert row["note"] == (
        "no event in level yes: its HR is not estimable; p from the likelihood-ratio test "
        "(its Wald p tends to 1)"
    )
    assert ex.hr_text(row["hr"], row["hr_low"], row["hr_high"]) == ""
    assert row["q"] == pytest.approx(2 * expected, rel=1e-5)  # the smaller of the two p's
    assert table.loc["age", "note"] == ""


def test_a_separating_number_gets_the_likelihood_ratio_p(gbsg2):
    """A number that orders the events perfectly (the shorter the follow-up the higher), 40 real
    patients: the HR was 1e+249-wide and p = 0.99. Its partial likelihood tends to 1, so the
    likelihood ratio is 2 * sum(log patients at risk at each event)."""
    frame, y = gbsg2
    y = _untied(y)[:40]
    separating = pd.DataFrame({"separating": -y["time"]}, index=frame.index[:40])
    row = ex.univariate_cox(separating, y, ["separating"]).iloc[0]
    at_risk = (y["time"][None, :] >= y["time"][y["event"]][:, None]).sum(axis=1)
    expected = stats.chi2.sf(2 * np.log(at_risk).sum(), df=1)
    assert row["p"] == pytest.approx(expected, rel=1e-6)
    assert np.isnan([row["hr"], row["hr_per_sd"], row["sd"]]).all()
    assert row["note"].startswith("the fit does not converge: separating orders the events")
    assert row["c_index"] == 1.0


def test_missing_values_are_left_out_and_counted(gbsg2):
    frame, y = gbsg2
    frame = frame.copy()
    frame.loc[frame.index[:10], "age"] = np.nan
    y = _untied(y)
    row = ex.univariate_cox(frame, y, ["age"]).iloc[0]
    assert row["n"] == len(frame) - 10
    fit = _lifelines(frame["age"].to_numpy()[10:], y[10:])
    assert row["hr"] == pytest.approx(fit.summary.loc["x", "exp(coef)"], rel=1e-7)


def test_median_split_counts(gbsg2):
    frame, _ = gbsg2
    values = frame["tsize"].copy()
    values.iloc[:7] = np.nan
    split = ex.split_groups(values, "median")
    median = values.median()
    low, high = split.order
    assert split.counts == {low: int((values <= median).sum()), high: int((values > median).sum())}
    assert split.n_missing == 7 and "7 patient(s)" in split.notes[-1]
    assert split.how.endswith(f"{len(values) - 7} patients; 7 without a value left out")
    assert split.cuts == (median,)
    assert low.startswith("≤") and high.startswith(">")


def test_tertiles_and_threshold(whas500):
    frame, _ = whas500
    age = frame["age"]
    tertiles = ex.split_groups(age, "tertiles")
    q1, q2 = age.quantile([1 / 3, 2 / 3])
    assert list(tertiles.counts.values()) == [
        int((age <= q1).sum()),
        int(((age > q1) & (age <= q2)).sum()),
        int((age > q2).sum()),
    ]
    cut = ex.split_groups(age, "threshold", threshold=70)
    assert list(cut.counts.values()) == [int((age <= 70).sum()), int((age > 70).sum())]
    with pytest.raises(InputError, match="one group"):
        ex.split_groups(age, "threshold", threshold=age.max() + 1)
    with pytest.raises(ConfigError, match="threshold"):
        ex.split_groups(age, "threshold")
    with pytest.raises(InputError, match="no value"):
        ex.split_groups(pd.Series(np.nan, index=age.index, name="albumin"), "median")


def test_schema_categories_split_in_their_order():
    bclc = pd.Series(["C", "0", "A", None, "B", "A", "C"], name="bclc")
    split = ex.split_groups(bclc)
    assert split.rule == "levels"
    assert split.order == ("0", "A", "B", "C")  # the schema's order; D absent
    assert split.counts == {"0": 1, "A": 2, "B": 1, "C": 2} and split.n_missing == 1
    assert ex.variable(bclc).scale == "per step (0 < A < B < C < D)"
    with pytest.raises(ConfigError, match="cannot be split by median"):
        ex.split_groups(bclc, "median")


def test_yes_no_columns_with_gaps():
    mvi = pd.Series([True, False, None, True], name="mvi", dtype=object)
    var = ex.variable(mvi)
    assert var.kind == "binary" and var.levels == ("no", "yes")
    assert var.values.tolist()[:2] == [1.0, 0.0] and var.n_missing == 1


@pytest.mark.parametrize(("dataset", "column"), [("gbsg2", "tgrade"), ("whas500", "chf")])
def test_logrank_equals_lifelines(request, dataset, column):
    frame, y = request.getfixturevalue(dataset)
    labels = frame[column].astype(str).to_numpy()
    ours = ex.logrank_groups(y, labels)
    theirs = multivariate_logrank_test(y["time"], labels, y["event"])
    assert ours.df == theirs.degrees_of_freedom == np.unique(labels).size - 1
    assert ours.chi2 == pytest.approx(theirs.test_statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-9)
    if ours.df == 1:  # the two-group test of risk_groups agrees
        two = logrank_test(y, (labels == labels[0]).astype(int))
        assert ours.chi2 == pytest.approx(two.chi2, rel=1e-9)


def test_km_by_draws_one_curve_per_group_with_the_p(gbsg2):
    frame, y = gbsg2
    result = ex.km_by(frame, y, "tgrade")
    assert list(result.curves) == ["I", "II", "III"]
    curves = [t for t in result.figure.data if (t.meta or {}).get("role") == "km"]
    assert [t.meta["group"] for t in curves] == ["I", "II", "III"]
    note = result.figure.layout.annotations[-1].text
    assert "Log-rank" in note and "(2 df)" in note
    assert result.figure.layout.title.text.startswith("Survival by tgrade")
    assert sum(c.n_at_risk[0] for c in result.curves.values()) == len(frame)
    with pytest.raises(InputError, match="no column"):
        ex.km_by(frame, y, "nope")


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, Path]:
    """Real cohorts as ``cohort import`` records their outcome: GBSG2 as recurrence-free
    survival ('rfs_days'/'recurrence') and under scikit-survival's 'time'/'cens', which name no
    endpoint; the veterans' trial as overall survival (its Dead/Alive status)."""
    from survival_core.cli.main import main

    root = tmp_path_factory.mktemp("imported")
    veterans_cohort = root / "veterans"
    sheet = ["cohort", "import", "--clinical", str(veterans(root).path)]
    assert main([*sheet, "--out", str(veterans_cohort)]) == 0
    cohorts = {e: imported_gbsg2(root, e) for e in ("rfs", "unnamed")}
    return {**cohorts, "veterans": veterans_cohort}


@pytest.mark.parametrize(
    ("cohort", "column", "survival", "events"),
    [
        ("rfs", "horth", "Recurrence/progression-free survival", "299 recurrences or progressions"),
        ("veterans", "treatment", "Overall survival", "128 deaths"),
        ("unnamed", "horth", "Survival", "299 events"),
    ],
)
def test_km_by_names_the_cohort_and_its_recorded_endpoint(
    imported, cohort, column, survival, events
):
    """GBSG2 imported as recurrence-free survival was drawn as 'Survival by horTh', 'Survival
    probability', '299 events', as any cohort; its export named neither cohort nor endpoint
    ('survival-by-horth-split-by-its-levels-68.png'). A cohort without a recorded endpoint keeps
    the neutral 'survival'."""
    folder = imported[cohort]
    data = ex.load_cohort([folder])
    assert data.name == folder.name
    assert f"{data.n_events} {data.endpoint.events}" == events
    named = {"schema": data.schema, "endpoint": data.endpoint, "cohort": data.name}
    result = ex.km_by(data.frame, data.y, column, **named)
    layout = result.figure.layout
    assert layout.title.text == (
        f"{survival} by {ex.short_label(column, schema=data.schema)}<br><sup>cohort "
        f"{folder.name}, split by its levels: "
        f"{len(data.y)} patients</sup>"
    )
    assert layout.yaxis.title.text.replace("<br>", " ") == f"{survival} probability"
    image = {"format": "png", "filename": f"{folder.name}-km-{column}", "width": 1200}
    assert result.config == {"toImageButtonOptions": {**image, "height": 560, "scale": 2}}


def test_correlation_heatmap_shape_labels_and_values():
    rng = np.random.default_rng(3)
    n = 40
    index = pd.Index([f"C{k}" for k in range(n)], name="case_id")
    frame = pd.DataFrame(
        {
            "albumin": rng.normal(38, 5, n),
            "bclc": rng.choice(["0", "A", "B", "C"], n),
            "gtv__lloydmax8__glrlm__GrayLevelNonUniformity": rng.normal(size=n),
            "liver_minus_gtv__lloydmax16__glrlm__GrayLevelNonUniformity": rng.normal(size=n),
            "gtv__lloydmax8__glcm__Correlation": rng.normal(size=n),
        },
        index=index,
    )
    radiomics = list(frame.columns[2:])
    figure, _ = ex.correlation_figure(frame, ["albumin", "bclc"], radiomics)
    heat = figure.data[0]
    assert np.asarray(heat.z).shape == (2, 3)
    coded = ["albumin", "bclc (0 < A < B < C < D)"]  # full on hover, with the coding
    assert list(heat.x) == radiomics and list(heat.y) == coded
    ticks = list(figure.layout.xaxis.ticktext)
    assert ticks[0] == "gtv·lloydmax8·glrlm·GLNU"
    assert all(len(t) <= ex.LABEL_WIDTH for t in ticks) and len(set(ticks)) == 3
    assert list(figure.layout.yaxis.ticktext) == ["Albumin", "BCLC stage (0 < A < B < C < D)"]
    assert list(figure.layout.yaxis.tickvals) == coded
    bclc_codes = frame["bclc"].map({"0": 0, "A": 1, "B": 2, "C": 3})
    rho = stats.spearmanr(bclc_codes, frame[radiomics[2]]).statistic
    assert heat.z[1][2] == pytest.approx(rho, abs=1e-12)


def test_correlation_ticks_and_hover_say_how_categories_are_coded(gbsg2):
    """Real GBSG2: rho(age, menostat) = -0.80 was shown as "menostat vs age", with nothing to say
    that Pre is 1 and Post 0 (its sign could not be read); the Cox table says "Pre vs Post"."""
    frame, _ = gbsg2
    grades = frame["tgrade"].cat.reorder_categories(["I", "II", "III"], ordered=True)
    figure, _ = ex.correlation_figure(frame.assign(tgrade=grades), ["age", "menostat", "tgrade"])
    heat = figure.data[0]
    coded = ["age", "menostat (Pre vs Post)", "tgrade (I < II < III)"]
    assert list(heat.y) == list(heat.x) == coded  # the hover's "%{y} vs %{x}"
    assert list(figure.layout.yaxis.tickvals) == list(figure.layout.xaxis.tickvals) == coded
    assert list(figure.layout.xaxis.ticktext) == ["Age", *coded[1:]]
    pre = (frame["menostat"] == "Pre").astype(float)
    rho = stats.spearmanr(frame["age"], pre).statistic
    assert heat.z[1][0] == pytest.approx(rho, abs=1e-12) and round(rho, 2) == -0.80
    table = ex.univariate_cox(frame, gbsg2[1], ["menostat"])
    assert table["scale"].iloc[0] == "Pre vs Post"  # the Cox table's words


def test_short_labels_are_unique():
    names = ["x" * 40 + "a", "x" * 40 + "b", "age"]
    labels = ex.short_labels(names)
    assert labels[2] == "Age" and len(set(labels)) == 3
    assert labels[1].endswith("#2")


def test_distributions_by_group_mann_whitney(gbsg2):
    frame, _ = gbsg2
    groups = ex.split_groups(frame["age"], "median").groups
    table = ex.distributions_by_group(frame, ["tsize", "pnodes", "horTh"], groups)
    low, high = ex.split_groups(frame["age"], "median").order
    a = frame.loc[groups == low, "tsize"]
    b = frame.loc[groups == high, "tsize"]
    assert table["p"].iloc[0] == pytest.approx(stats.mannwhitneyu(a, b).pvalue, rel=1e-12)
    np.testing.assert_allclose(
        table["q"], stats.false_discovery_control(table["p"], method="bh"), rtol=1e-12
    )
    figure = ex.distribution_figure(frame, "tsize", groups)
    assert [t.type for t in figure.data] == ["violin", "violin"]
    assert sum(len(t.y) for t in figure.data) == len(frame)
    assert "Mann-Whitney p" in figure.layout.title.text


def test_an_untested_variable_says_why_and_stays_out_of_the_q_values(gbsg2):
    """Distributions by horTh: an unordered grade had an all-empty row, without a reason; it
    says why it is not tested, and the q values are those of the variables tested."""
    frame, _ = gbsg2
    frame = frame.assign(tgrade=frame["tgrade"].astype(str))
    groups = ex.two_group_split(frame["horTh"]).groups
    table = ex.distributions_by_group(frame, ["tgrade", "age", "tsize", "pnodes"], groups)
    grade = table.set_index("variable").loc["tgrade"]
    assert pd.isna(grade["p"]) and pd.isna(grade["q"])
    assert grade["note"].startswith("not tested: 3 unordered categories")
    tested = table[table["p"].notna()]
    assert list(tested["variable"]) == ["age", "tsize", "pnodes"]
    assert (tested["note"] == "").all()
    np.testing.assert_allclose(
        tested["q"], stats.false_discovery_control(tested["p"], method="bh"), rtol=1e-12
    )
    one_sided = ex.distributions_by_group(
        frame.assign(age=frame["age"].where(groups == "no")), ["age"], groups
    )
    assert one_sided["note"].iloc[0] == "not tested: no patient of group yes has a value"


def test_a_p_value_that_underflows_is_shown_as_a_bound():
    """flchain's age against survival (7,874 patients): its Wald p underflows to 0.0, which the
    page showed as "0", a certainty; it shows 1e-300, which the caption says is a bound."""
    from sksurv.datasets import load_flchain

    X, y = load_flchain()
    table = ex.univariate_cox(
        X, Surv.from_arrays(y["death"], y["futime"]), ["age", "creatinine"]
    ).set_index("variable")
    assert table.loc["age", "p"] == 0.0 and table.loc["age", "q"] == 0.0
    shown = ex.p_shown(table["p"])
    assert shown["age"] == ex.SMALLEST_P and shown["creatinine"] == table.loc["creatinine", "p"]
    assert np.isnan(ex.p_shown(pd.Series([np.nan]))[0])


def test_two_groups_by_a_number_a_binary_variable_not_an_ordinal(gbsg2):
    """The Distributions tab splits patients in two: a number at its median, a two-level
    variable by its levels (it used to offer the median of every column, then refuse these);
    GBSG2's three tumour grades are refused, naming why, and not offered."""
    frame, _ = gbsg2
    data = ex.CohortData(frame, np.zeros(0), ("gbsg2",))
    horth = ex.two_group_split(frame["horTh"])
    assert horth.rule == "levels" and len(horth.order) == 2
    assert horth.groups.value_counts().to_dict() == frame["horTh"].value_counts().to_dict()
    assert ex.two_group_split(frame["age"]).rule == "median"
    with pytest.raises(InputError, match="tgrade has 3 categories: it does not split"):
        ex.two_group_split(frame["tgrade"])
    offered = data.two_group_columns()
    assert "tgrade" not in offered and {"horTh", "age", "pnodes"} <= set(offered)


def test_model_risk_groups_use_the_cards_cut(tmp_path, gbsg2):
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.training import train_model

    frame, y = gbsg2
    table = frame[["age", "tsize", "pnodes"]].assign(time=y["time"], event=y["event"].astype(int))
    table.to_csv(tmp_path / "gbsg2.csv")
    train_model([tmp_path / "gbsg2.csv"], "coxph", {"penalizer": 0.1}, tmp_path / "m")
    loaded = load_scoring_model(tmp_path / "m")
    groups = ex.model_risk_groups(loaded, frame).groups
    risk = loaded.model.predict_risk(frame[loaded.inputs])
    expected = np.where(risk > loaded.card.cut["threshold"], "high", "low")
    assert (groups.to_numpy() == expected).all()
    assert (groups == "high").sum() == (
        np.asarray(loaded.card.training_risk) > loaded.card.cut["threshold"]
    ).sum()
    with pytest.raises(InputError, match="lacks"):
        ex.model_risk_groups(loaded, frame[["age"]])


def test_model_risk_groups_leave_out_patients_without_a_model_input(tmp_path, gbsg2):
    """GBSG2 exported with gaps (estrec and tgrade empty, tsize -99 for unknown as its training
    table wrote it): the groups placed every patient by values the model filled in, without a
    word; those patients are now in no group and counted per input, the others placed as the
    model places them."""
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.training import train_model

    frame, y = gbsg2
    frame = frame.assign(tgrade=frame["tgrade"].astype(str))
    frame.loc[frame.index[::17], "estrec"] = np.nan
    frame.loc[frame.index[3::23], "tgrade"] = np.nan
    frame.loc[frame.index[5::29], "tsize"] = -99.0
    table = frame.assign(time=y["time"], event=y["event"].astype(int))
    table.to_csv(tmp_path / "gbsg2.csv")
    train_model([tmp_path / "gbsg2.csv"], "coxph", {"penalizer": 0.1}, tmp_path / "m")
    loaded = load_scoring_model(tmp_path / "m")
    placed = ex.model_risk_groups(loaded, frame)
    lacking = frame[["estrec", "tgrade"]].isna().any(axis=1) | (frame["tsize"] == -99)
    assert placed.groups.isna().to_numpy().tolist() == lacking.to_numpy().tolist()
    assert placed.missing == {"tsize": 24, "tgrade": 30, "estrec": 41}
    assert placed.how == (
        f"{(~lacking).sum()} patients; {lacking.sum()} without a value of a model input left "
        "out (estrec 41, tgrade 30, tsize 24)"
    )
    complete = frame[~lacking]
    risk = loaded.model.predict_risk(complete[loaded.inputs])
    expected = np.where(risk > loaded.card.cut["threshold"], "high", "low")
    assert (placed.groups[~lacking].to_numpy() == expected).all()
    with pytest.raises(InputError, match="No patient has a value of every input"):
        ex.model_risk_groups(loaded, frame.assign(estrec=np.nan))


def test_load_cohort_reads_a_folder_and_refuses_bad_paths(tmp_path, gbsg2):
    frame, y = gbsg2
    folder = tmp_path / "cohort"
    folder.mkdir()
    frame[["age"]].assign(time=y["time"], event=y["event"].astype(int)).to_csv(
        folder / "clinical.csv"
    )
    feature = "gtv__original__firstorder__Mean"  # a radiomics column (tsize's values)
    frame[["tsize"]].rename(columns={"tsize": feature}).iloc[:100].to_csv(tmp_path / "features.csv")
    data = ex.load_cohort([folder, tmp_path / "features.csv"])
    assert data.frame.shape == (100, 2) and data.n_events == int(y["event"][:100].sum())
    assert data.families() == {"clinical": ["age"], "radiomics": [feature], "deep": []}
    assert any("left out" in note for note in data.notes)
    with pytest.raises(InputError, match="does not exist"):
        ex.load_cohort([tmp_path / "missing.csv"])
    with pytest.raises(InputError, match="clinical.csv"):
        ex.load_cohort([tmp_path])


def test_categories_of_a_drafted_schema_are_nominal_unless_ordered():
    """Veterans' cell type (real) as a drafted schema lists it, alphabetically: it was entered in
    the Cox table as a scale (adeno < large < smallcell < squamous, HR 0.80 per step), an order
    the alphabet made up; marked ``ordered``, a category is a scale as HCC's BCLC is."""
    from sksurv.datasets import load_veterans_lung_cancer

    from survival_core.io.clinical_schema import CATEGORY, CohortSchema, SchemaVariable

    X, _ = load_veterans_lung_cancer()
    cells = X["Celltype"].astype(str).rename("celltype")
    levels = tuple(sorted(cells.unique()))
    drafted = CohortSchema((SchemaVariable("celltype", CATEGORY, categories=levels),))
    assert ex.variable(cells, drafted).kind == "nominal"
    ordered = CohortSchema((SchemaVariable("celltype", CATEGORY, categories=levels, ordered=True),))
    assert ex.variable(cells, ordered).kind == "ordinal"
    assert CohortSchema.from_dict(ordered.to_dict()) == ordered
    assert "ordered" not in drafted.to_dict()["variables"][0]


def test_an_unordered_category_gets_a_likelihood_ratio_test_and_level_hazard_ratios():
    """Veterans' cell type (real, 4 levels) had no row in the Cox table but a note; now one
    likelihood-ratio p (3 df) and each level's HR against smallcell (the most frequent level),
    the HRs as scikit-survival's Cox (Efron ties) fits them, the p as the LR statistic of the
    partial likelihoods with and without the levels."""
    from sksurv.datasets import load_veterans_lung_cancer
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    X, y = load_veterans_lung_cancer()
    cells = X["Celltype"].astype(str).rename("celltype")
    cells.index = pd.Index([f"V{k:03d}" for k in range(len(cells))], name="case_id")
    outcome = Surv.from_arrays(y["Status"], y["Survival_in_days"])
    row = ex.univariate_cox(cells.to_frame(), outcome, ["celltype"]).iloc[0]
    assert row["kind"] == "nominal" and row["scale"] == "levels vs smallcell"
    assert (row["n"], row["events"]) == (137, 128)
    others = ["squamous", "adeno", "large"]  # by frequency, as the note lists them
    dummies = pd.DataFrame({c: (cells == c).astype(float) for c in others})
    sksurv = CoxPHSurvivalAnalysis(ties="efron").fit(dummies, outcome)
    for name, coef in zip(others, sksurv.coef_, strict=True):
        assert f"{name} {np.exp(coef):.4g} (" in row["note"]
    eta = dummies.to_numpy() @ sksurv.coef_
    statistic = 2 * (_efron_log_likelihood(eta, outcome) - _efron_log_likelihood(0 * eta, outcome))
    assert row["p"] == pytest.approx(stats.chi2.sf(statistic, 3), rel=1e-4)
    assert row["p"] < 1e-4 and "3 df" in row["note"]
    event, time = outcome["event"], outcome["time"]
    assert row["c_index"] == pytest.approx(
        concordance_index_censored(event, time, eta)[0], abs=1e-9
    )


def _efron_log_likelihood(eta: np.ndarray, y: np.ndarray) -> float:
    """The Cox partial log-likelihood with Efron's ties, written out time by time."""
    total = 0.0
    for t in np.unique(y["time"][y["event"]]):
        dead = (y["time"] == t) & y["event"]
        at_risk = np.exp(eta[y["time"] >= t]).sum()
        tied = np.exp(eta[dead]).sum()
        d = int(dead.sum())
        total += eta[dead].sum() - sum(np.log(at_risk - k / d * tied) for k in range(d))
    return total


def test_a_table_without_schema_is_not_read_through_the_demos_hcc_codes(tmp_path):
    """AIDS (real) as a plain CSV: its `sex` is coded 1/2, which the demo's HCC schema (M/F), the
    fallback without schema.yaml, refused, taking the Cox, Correlations and Distributions tabs
    with it; its clinical columns were filed as radiomics."""
    from sksurv.datasets import load_aids

    X, y = load_aids()
    table = X.astype(float).assign(time=y["time"], event=y["censor"].astype(int))
    table.insert(0, "case_id", [f"A{i:04d}" for i in range(len(table))])
    table.to_csv(tmp_path / "aids.csv", index=False)
    data = ex.load_cohort([tmp_path / "aids.csv"])
    sex = ex.variable(data.frame["sex"], data.schema)
    assert sex.kind == "binary" and sex.levels == ("1", "2")
    assert set(data.families()["clinical"]) == set(X.columns) and not data.families()["radiomics"]


def test_a_number_of_few_code_like_values_says_its_cox_hr_is_a_trend_across_codes(tmp_path):
    """AIDS (real) imported table-only: its race codes 1-5 (raceth) and treatment arms 1-4
    (txgrp) are drafted as integers, and the Cox table gave them a bare 'per unit' HR, a linear
    trend over arbitrary codes, while the Kaplan-Meier tab splits them into unordered levels.
    The row says so and how to test the levels; a Karnofsky score or an age says nothing."""
    from survival_core.cohort.clinical_join import import_table
    from tests import clinical_exports

    export = clinical_exports.aids(tmp_path)
    import_table(tmp_path / "cohort", export.path, time_unit="days", **export.options)
    data = ex.load_cohort([tmp_path / "cohort"])
    columns = ["raceth", "txgrp", "karnof", "age"]
    table = ex.univariate_cox(data.frame, data.y, columns, schema=data.schema)
    table = table.set_index("variable")
    assert (
        data.schema["raceth"].kind == "integer"
        and ex.rules_for(ex.variable(data.frame["raceth"], data.schema))[0] == "levels"
    )
    assert table.loc["raceth", "note"] == (
        "read as a number: its HR is per unit, a linear trend across 1, 2, 3, 4, 5; if these "
        "are codes of unordered groups, make raceth a category in schema.yaml (kind: category, "
        "categories: [1, 2, 3, 4, 5]) to test its levels, as the Kaplan-Meier tab splits them"
    )
    assert "a linear trend across 1, 2, 3, 4;" in table.loc["txgrp", "note"]
    assert table.loc["txgrp", "hr"] == pytest.approx(0.504, abs=1e-3)  # the fit is unchanged
    assert table.loc[["karnof", "age"], "note"].tolist() == ["", ""]


def test_few_valued_numbers_keep_every_value_as_its_own_level():
    """Month codes 201001/201002/301001 were all labelled to 4 digits: two merged into one curve."""
    codes = pd.Series([201001.0, 201002.0, 301001.0, 201001.0, None], name="month")
    var = ex.variable(codes)
    assert var.levels == ("201001", "201002", "301001")
    assert list(var.labels.dropna()) == ["201001", "201002", "301001", "201001"]


def test_cox_table_c_index_of_each_column_with_its_own_patients(gbsg2):
    """The c-indices are computed in one pass per set of patients with a value; a column missing
    for some patients gets the c-index over the others (as the Cox fit), and one without a
    comparable pair (its only event last) NaN, not an error taking the whole table."""
    frame, y = gbsg2
    columns = frame[["age", "tsize"]].copy()
    columns.loc[columns.index[:200], "tsize"] = np.nan
    table = ex.univariate_cox(columns, y, ["age", "tsize"]).set_index("variable")
    for name, used in (("age", slice(None)), ("tsize", slice(200, None))):
        event, time = y["event"][used], y["time"][used]
        sign = np.sign(np.log(table.loc[name, "hr"]))
        expected = concordance_index_censored(event, time, sign * frame[name].to_numpy()[used])[0]
        assert table.loc[name, "c_index"] == pytest.approx(expected, abs=1e-12)
    last = np.argsort(y["time"])[-6:]  # six patients; the one event is the last time
    small = Surv.from_arrays(np.arange(6) == 5, np.sort(y["time"][last]).astype(float))
    row = ex.univariate_cox(frame.iloc[last][["age"]], small, ["age"]).iloc[0]
    assert np.isnan(row["c_index"]) and row["n"] == 6


@pytest.mark.parametrize("name", ["aa lost", "zz lost"])
def test_a_group_never_at_risk_at_an_event_adds_nothing_whatever_its_name(gbsg2, name):
    """Two patients censored on day 1 in a group of their own: named 'zz' the test answered on
    2 degrees of freedom (p 0.014), named 'aa' it was refused. As R's survdiff, the group takes
    no degree of freedom: the test of the other two groups (p 0.0035)."""
    frame, y = gbsg2
    labels = np.where(frame["tgrade"].astype(str) == "III", "III", "I-II")
    time = y["time"].copy()
    time[:2] = 1.0
    event = y["event"].copy()
    event[:2] = False
    y_lost = Surv.from_arrays(event, time)
    labels_lost = labels.copy()
    labels_lost[:2] = name
    both = ex.logrank_groups(Surv.from_arrays(event[2:], time[2:]), labels[2:])
    ours = ex.logrank_groups(y_lost, labels_lost)
    assert ours.df == 1 and ours.chi2 == pytest.approx(both.chi2, rel=1e-12)


def test_a_two_valued_number_not_one_apart_has_the_hr_its_scale_names(gbsg2):
    """GBSG2 with a dose of 50 for hormone therapy, else 0: the row said '50 vs 0' with the HR
    per unit (0.9927), the 50th root of lifelines' 0.695; the Distributions tab ticked 1/2 codes
    at 0/1."""
    X, y = gbsg2
    dose = (X["horTh"] == "yes").map({True: 50.0, False: 0.0}).rename("rt_dose")
    row = ex.univariate_cox(dose.to_frame(), y, ["rt_dose"]).iloc[0]
    assert row["scale"] == "50 vs 0"
    expected = _lifelines((dose.to_numpy() == 50).astype(float), y)
    assert row["hr"] == pytest.approx(float(expected.hazard_ratios_.iloc[0]), rel=2e-3)
    coded = (dose / 50 + 1).rename("arm")  # 1/2
    var = ex.variable(coded)
    assert sorted(var.values.unique()) == [0.0, 1.0] and var.levels == ("1", "2")


def test_an_unordered_column_of_a_level_per_patient_is_not_tested(gbsg2):
    """A lab column with a few '<2' became a category of 131 levels (one per value): pure noise
    gave p = 5e-18, a c-index of 0.94 and 131 KM curves."""
    X, y = gbsg2
    rng = np.random.default_rng(0)
    lab = pd.Series(np.round(rng.lognormal(3, 1.5, len(X)), 1).astype(object), index=X.index)
    lab.iloc[:8] = "<2"
    row = ex.univariate_cox(lab.rename("afp").to_frame(), y, ["afp"]).iloc[0]
    assert pd.isna(row["p"]) and pd.isna(row["c_index"]) and row["note"].startswith("not tested")
    with pytest.raises(InputError, match="too many to compare"):
        ex.split_groups(lab.rename("afp"), "levels")


def test_a_demo_named_number_outside_the_demos_range_is_not_given_its_unit(tmp_path, gbsg2):
    """Albumin in g/dL (about 3.6) in a table without schema took the demo's 'g/L' label, its
    HR 'per 1 g/L' and its KM groups '<= 3.6 g/L'."""
    X, y = gbsg2
    albumin = pd.Series(np.linspace(2.5, 4.8, len(X)), index=X.index, name="albumin")
    var = ex.variable(albumin)
    assert var.unit == "" and var.label == "albumin"
    in_g_per_l = ex.variable(albumin * 10)  # the demo's unit and range: its label stays
    assert in_g_per_l.unit == "g/L"


def test_a_bound_short_of_one_never_prints_as_one():
    """GBSG2's estrec showed '0.999 (0.998 to 1)' beside p = 0.041: its bound is 0.99996."""
    assert ex.hr_text(0.99898, 0.99800, 0.99996) == "0.99898 (0.998 to 0.99996)"
    assert ex.hr_text(1.52, 1.21, 1.9) == "1.52 (1.21 to 1.9)"
    assert ex.hr_text(float("nan"), 0.0, 0.0) == ""


def test_a_categorys_median_by_group_is_a_level_not_its_code(gbsg2):
    """The Distributions table's median of tumour grade was its position code (1.0 for 'II'),
    and of a 0/50 dose the 0/1 code."""
    frame, _ = gbsg2
    frame = frame.assign(
        dose=(frame["horTh"] == "yes").map({True: 50.0, False: 0.0}),
        tgrade=frame["tgrade"].astype(pd.CategoricalDtype(["I", "II", "III"], ordered=True)),
    )
    groups = ex.split_groups(frame["age"], "median").groups
    table = ex.distributions_by_group(frame, ["tgrade", "dose", "tsize"], groups).set_index(
        "variable"
    )
    low, high = ex.split_groups(frame["age"], "median").order
    assert table.loc["tgrade", f"median {low}"] == "II"
    assert table.loc["dose", f"median {low}"] in ("0", "0/50", "50")
    assert float(table.loc["tsize", f"median {low}"]) == frame.loc[groups == low, "tsize"].median()


def test_a_level_without_events_is_said_not_estimable():
    """Veterans' cell types with three censored 'mesothelioma' patients added: that level's HR
    came out 1.4e-08 (0 to inf) with no flag."""
    from sksurv.datasets import load_veterans_lung_cancer

    X, y = _cohort(load_veterans_lung_cancer)
    censored = np.flatnonzero(~y["event"])[:3]
    cells = X["Celltype"].astype(str).to_numpy(object)
    cells[censored] = "mesothelioma"
    frame = pd.DataFrame({"cell": cells}, index=X.index)
    row = ex.univariate_cox(frame, y, ["cell"]).iloc[0]
    assert row["note"].endswith("; no event in level mesothelioma: its HR is not estimable")


def test_a_demo_named_number_in_another_unit_within_its_range_is_not_given_its_unit(gbsg2):
    """GBSG2's tumour size in cm (1-12, median 2.5) under the demo's name passed its 1-300 mm
    range: labelled mm. Its median, where no cohort's median in mm lies, says otherwise."""
    X, _ = gbsg2
    size = pd.Series(X["tsize"].to_numpy(float), index=X.index, name="tumor_diameter")
    assert ex.variable((size / 10).clip(lower=1.0)).unit == ""  # all within 1-300
    assert ex.variable(size).unit == "mm"  # GBSG2's own mm
    comma = size.map(lambda v: f"{v:g}".replace(".", ",") + ",5")  # '25,5': a decimal comma
    assert ex.variable(comma).unit == "mm"  # read as the demo reads it, never a crash
    assert ex.variable(size.where(size < 0)).unit == "mm"  # no value: nothing to tell it by
