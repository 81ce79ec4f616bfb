"""Early-recurrence labels, logistic signatures, AUC/DeLong and the signature Cox model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from survival_core.errors import ConfigError, InputError
from survival_core.models import load_model
from survival_core.models.card import ModelCard
from survival_core.workflows.dsfr_study import (
    DEFAULT_GRID,
    SIGNATURE_COLUMN,
    clinical_covariates,
    compare_aucs,
    cox_signature_model,
    early_recurrence,
    early_recurrence_study,
    fit_logistic,
    held_out_auc,
    split_development,
)
from tests.small_cohorts import gbsg2_subset


def _outcome_table() -> pd.DataFrame:
    rows = [  # (time days, event) -> expected: 1, 0 or None (excluded)
        ("A", 100, 1, 1),
        ("B", 800, 1, 0),
        ("C", 800, 0, 0),
        ("D", 500, 0, None),
        ("E", 730, 1, 1),
        ("F", 730, 0, None),
        ("G", 2000, 0, 0),
        ("H", 729, "true", 1),
    ]
    return pd.DataFrame(
        [r[1:] for r in rows], index=[r[0] for r in rows], columns=["time", "event", "expected"]
    )


def test_early_recurrence_labels_and_exclusions():
    table = _outcome_table()
    status = early_recurrence(table)
    known = table["expected"].notna()
    assert status.excluded == ["D", "F"] and status.n_excluded == 2
    assert status.label.to_dict() == table.loc[known, "expected"].astype(int).to_dict()
    assert status.horizon == 730.0
    shorter = early_recurrence(table, horizon=365)
    assert shorter.label.to_dict()["A"] == 1 and shorter.label.to_dict()["D"] == 0


def test_early_recurrence_rejects_bad_outcomes():
    with pytest.raises(InputError, match="time/event"):
        early_recurrence(pd.DataFrame({"time": [10, None], "event": [1, 0]}, index=["a", "b"]))
    with pytest.raises(InputError, match="event"):
        early_recurrence(pd.DataFrame({"time": [10]}, index=["a"]))


def test_clinical_covariates():
    clinical = pd.DataFrame(
        {
            "hbv": [True, "False", None, "1"],
            "afp": [399.9, 400.0, np.nan, 5000],
            "albi_score": [-2.5, -1.9, -2.0, None],
        },
        index=[1, 2, 3, 4],
    )
    covariates = clinical_covariates(clinical)
    assert list(covariates.columns) == ["hbv", "afp_ge_400", "albi_score"]
    assert list(covariates.index) == ["1", "2", "3", "4"]
    np.testing.assert_array_equal(covariates["hbv"], [1, 0, np.nan, 1])
    np.testing.assert_array_equal(covariates["afp_ge_400"], [0, 1, np.nan, 1])
    with pytest.raises(InputError, match="albi_score"):
        clinical_covariates(clinical.drop(columns="albi_score"))


def _classification_data(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.normal(size=(n, 4)), columns=list("abcd"), index=[f"P{i}" for i in range(n)]
    )
    logit = 1.5 * X["a"] - 1.0 * X["b"]
    label = pd.Series((rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int), index=X.index)
    return X, label


def test_grid_search_matches_sklearn():
    X, label = _classification_data()
    fit = fit_logistic(X.iloc[:80], label.iloc[:80], seed=1)
    assert set(fit.best_params) == {"C", "max_iter", "tol"} and fit.inner_folds == 5
    assert all(fit.best_params[k] in DEFAULT_GRID[k] for k in DEFAULT_GRID)
    reference = GridSearchCV(
        make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression()),
        {f"logisticregression__{k}": v for k, v in DEFAULT_GRID.items()},
        scoring="roc_auc",
        cv=StratifiedKFold(5, shuffle=True, random_state=1),
    ).fit(X.iloc[:80], label.iloc[:80])
    assert fit.best_params == {
        k.removeprefix("logisticregression__"): v for k, v in reference.best_params_.items()
    }
    score = fit.score(X.iloc[80:])
    np.testing.assert_allclose(score, reference.decision_function(X.iloc[80:]), rtol=1e-8)
    result = held_out_auc(label.iloc[80:], score)
    assert result["auc"] == pytest.approx(roc_auc_score(label.iloc[80:], score))
    assert result["auc"] > 0.7 and result["ci"][0] <= result["auc"] <= result["ci"][1]


def test_logistic_with_tiny_classes():
    X, label = _classification_data(10)
    label[:] = 0
    with pytest.raises(InputError, match="with and"):
        fit_logistic(X, label)
    label.iloc[0] = 1
    fit = fit_logistic(X, label)  # one positive: no inner CV, default hyper-parameters
    assert fit.inner_folds == 1 and fit.best_params == {}
    assert fit.score(X).shape == (10,)


def test_auc_and_delong_edge_cases():
    label = np.array([0, 1, 0, 1, 1, 0])
    score = np.array([0.1, 0.9, 0.3, 0.4, 0.8, 0.5])
    same = compare_aucs(label, score, score)
    assert same["p_value"] == pytest.approx(1.0) and same["difference"] == 0.0
    other = compare_aucs(label, score, np.array([0.5, 0.1, 0.2, 0.3, 0.9, 0.4]))
    assert 0.0 <= other["p_value"] <= 1.0
    assert held_out_auc(np.zeros(4), np.arange(4.0)) == {"auc": None, "ci": None}
    assert held_out_auc(np.array([0, 1, 1]), np.array([0.1, 0.5, 0.2]))["ci"] is None
    assert compare_aucs(np.array([0, 1, 1]), np.arange(3.0), np.arange(3.0))["p_value"] is None
    # perfect against its negation: AUCs 1 and 0 with no variance, so no p (it was 1.0)
    perfect = np.array([0.1, 0.9, 0.3, 0.7, 0.8, 0.5])
    separated = compare_aucs(label, perfect, -perfect)
    assert separated["difference"] == 1.0 and separated["ci"] == [1.0, 1.0]
    assert separated["p_value"] is None and separated["note"].startswith("zero variance")
    assert "note" not in other and "note" not in same


def test_split_development_is_stratified_and_seeded():
    ids = [f"P{i:02d}" for i in range(40)]
    times = np.r_[np.full(12, 100), np.full(20, 1000), np.full(8, 300)]
    events = np.r_[np.ones(12), np.zeros(28)]
    status = early_recurrence(pd.DataFrame({"time": times, "event": events}, index=ids))
    dev, test = split_development(status, ids, 0.25, seed=4)
    assert sorted(dev + test) == ids and not set(dev) & set(test)
    assert (dev, test) == split_development(status, ids, 0.25, seed=4)
    assert (dev, test) != split_development(status, ids, 0.25, seed=5)
    groups = {"pos": ids[:12], "neg": ids[12:32], "unknown": ids[32:]}
    assert {g: len(set(m) & set(test)) for g, m in groups.items()} == {
        "pos": 3,
        "neg": 5,
        "unknown": 2,
    }
    with pytest.raises(ConfigError):
        split_development(status, ids, 1.0)


def test_split_development_does_not_depend_on_the_row_order():
    """GBSG2 patients: the same patients and seed held out other patients when the cohort's rows
    came in another order (a re-export), and its U-Net, features and Cox model changed with it."""
    _, y = gbsg2_subset(20, 30)
    ids = [f"GBSG-{i:02d}" for i in range(len(y))]
    table = pd.DataFrame({"time": y["time"], "event": y["event"].astype(int)}, index=ids)
    status = early_recurrence(table)
    expected = split_development(status, ids, 0.2, seed=0)
    assert len(expected[1]) == 10
    for order in (ids[::-1], list(np.random.default_rng(1).permutation(ids))):
        assert split_development(status, order, 0.2, seed=0) == expected


def _survival_frame(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    ids = [f"P{i:02d}" for i in range(n)]
    signature = pd.Series(rng.normal(size=n), index=ids)
    time = rng.exponential(700 * np.exp(-signature.to_numpy()))
    censor = rng.uniform(300, 2500, size=n)
    clinical = pd.DataFrame(
        {
            "time": np.minimum(time, censor).round(),
            "event": (time <= censor).astype(int),
            "hbv": rng.integers(0, 2, n).astype(bool),
            "afp": rng.lognormal(3, 2, n),
            "albi_score": rng.normal(-2.3, 0.4, n),
        },
        index=ids,
    )
    return clinical, signature


def test_cox_signature_model_is_saved_for_the_nomogram(tmp_path):
    clinical, signature = _survival_frame()
    ids = list(clinical.index)
    summary = cox_signature_model(
        signature, clinical_covariates(clinical), clinical, ids[:60], ids[60:], tmp_path / "cox"
    )
    model = load_model(tmp_path / "cox")
    card = ModelCard.load(tmp_path / "cox")
    assert card.n == 60 and card.clinical_columns == ["afp_ge_400", "albi_score", "hbv"]
    assert SIGNATURE_COLUMN in model.features_used_  # the columns are in name order
    assert summary["coefficients"][SIGNATURE_COLUMN] > 0.3
    assert 0.6 < summary["held_out_c_index"] <= 1.0
    assert (tmp_path / "cox" / "training_table.csv").is_file()


def test_early_recurrence_study_reports_every_signature(tmp_path):
    clinical, signature = _survival_frame(100, seed=2)
    rng = np.random.default_rng(3)
    dsfr = pd.DataFrame(
        {"dsfr_000": signature + rng.normal(0, 0.3, 100), "dsfr_001": rng.normal(size=100)},
        index=clinical.index,
    )
    status = early_recurrence(clinical)
    dev, test = split_development(status, list(clinical.index), 0.3, seed=0)
    study = early_recurrence_study(dsfr, clinical, dev, test, tmp_path / "cox", seed=0)
    json.dumps(study, allow_nan=False)
    assert study["n_excluded_censored"] == status.n_excluded
    assert study["n_dev_classified"] + study["n_test_classified"] == len(status.label)
    for name in ("dsfr", "clinical", "combined"):
        assert 0.0 <= study["signatures"][name]["auc"] <= 1.0
    assert study["signatures"]["dsfr"]["auc"] > 0.7
    for comparison in study["delong"].values():
        assert 0.0 <= comparison["p_value"] <= 1.0
    assert study["cox"]["held_out_c_index"] > 0.6
