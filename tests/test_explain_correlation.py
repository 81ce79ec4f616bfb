"""Spearman correlation matrices between feature groups against scipy, and their heat map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from survival_core.errors import InputError
from survival_core.explain.correlation import heatmap_figure, spearman_matrix


def groups(seed: int = 0, n: int = 60):
    rng = np.random.default_rng(seed)
    ids = [f"case{i:03d}" for i in range(n)]
    latent = rng.normal(size=n)
    clinical = pd.DataFrame(
        {
            "age": np.round(60 + 8 * latent + rng.normal(size=n)),  # ties
            "stage": rng.integers(1, 5, n).astype(float),  # heavy ties
            "male": rng.random(n) < 0.5,
        },
        index=ids,
    )
    radiomics = pd.DataFrame(
        {
            "volume": np.exp(latent + 0.5 * rng.normal(size=n)),
            "entropy": rng.normal(size=n),
            "glcm": latent**2 + rng.normal(size=n),
            "strong": 3 * latent + 0.1 * rng.normal(size=n),
        },
        index=ids,
    )
    return clinical, radiomics


def assert_matches_scipy(res, A, B, symmetric=False):
    for a in A.columns:
        for b in B.columns:
            if symmetric and a == b:
                continue
            x, y = A[a].astype(float), B[b].astype(float)
            keep = x.notna() & y.notna()
            ref = stats.spearmanr(x[keep], y[keep])
            assert res.rho.loc[a, b] == pytest.approx(ref.statistic, abs=1e-10, rel=0)
            assert res.p.loc[a, b] == pytest.approx(ref.pvalue, abs=1e-10, rel=1e-10)
            assert res.n.loc[a, b] == keep.sum()


def test_matches_scipy_without_missing():
    A, B = groups()
    res = spearman_matrix(A, B)
    assert list(res.rho.index) == list(A.columns) and list(res.rho.columns) == list(B.columns)
    assert_matches_scipy(res, A, B)
    assert res.notes == []


def test_matches_scipy_on_pairwise_complete_rows():
    A, B = groups(1, 80)
    rng = np.random.default_rng(5)
    A = A.astype(float)
    for frame in (A, B):
        for col in frame.columns:
            frame.loc[rng.random(len(frame)) < 0.2, col] = np.nan
    res = spearman_matrix(A, B)
    assert (res.n.to_numpy() < len(A)).all()
    assert_matches_scipy(res, A, B)


def test_q_is_benjamini_hochberg_of_all_pairs():
    A, B = groups(2)
    res = spearman_matrix(A, B)
    p = res.p.to_numpy().ravel()
    np.testing.assert_allclose(
        res.q.to_numpy().ravel(), stats.false_discovery_control(p), rtol=1e-12, atol=0
    )
    assert spearman_matrix(A, B, fdr=False).q is None


def test_square_matrix_tests_each_pair_once():
    _, B = groups(3)
    B.loc[B.index[:7], "entropy"] = np.nan
    res = spearman_matrix(B)
    assert res.symmetric
    np.testing.assert_array_equal(res.rho.to_numpy(), res.rho.to_numpy().T)
    np.testing.assert_array_equal(np.diag(res.rho), 1.0)
    assert np.isnan(np.diag(res.p)).all() and np.isnan(np.diag(res.q)).all()
    assert_matches_scipy(res, B, B, symmetric=True)
    iu = np.triu_indices(B.shape[1], 1)
    np.testing.assert_allclose(
        res.q.to_numpy()[iu], stats.false_discovery_control(res.p.to_numpy()[iu]), rtol=1e-12
    )
    np.testing.assert_array_equal(res.q.to_numpy(), res.q.to_numpy().T)


def test_constant_column_gives_nan_and_note():
    A, B = groups(4)
    B["flat"] = 2.5
    res = spearman_matrix(A, B)
    assert res.rho["flat"].isna().all() and res.p["flat"].isna().all()
    assert res.q["flat"].isna().all() and res.q.drop(columns="flat").notna().all().all()
    assert any("flat" in note and "onstant" in note for note in res.notes)
    # the FDR is over the tested (finite) pairs only
    p = res.p.drop(columns="flat").to_numpy().ravel()
    np.testing.assert_allclose(
        res.q.drop(columns="flat").to_numpy().ravel(), stats.false_discovery_control(p)
    )


def test_inner_join_on_index():
    A, B = groups(5)
    A2 = A.iloc[5:].sample(frac=1.0, random_state=0)  # shuffled, 5 cases missing
    B2 = pd.concat([B, pd.DataFrame({"volume": [1.0]}, index=["extra"])])
    res = spearman_matrix(A2, B2)
    shared = A.index[5:]
    assert (res.n.to_numpy() == len(shared)).all()
    assert_matches_scipy(res, A.loc[shared], B.loc[shared])
    assert any("Inner join" in note for note in res.notes)


def test_encoding_ordinal_bool_and_refusal():
    A, B = groups(6)
    levels = ["I", "II", "III", "IV"]
    A["stage_txt"] = [levels[int(s) - 1] for s in A["stage"]]
    res = spearman_matrix(A, B, ordinal={"stage_txt": levels})
    np.testing.assert_allclose(res.rho.loc["stage_txt"], res.rho.loc["stage"], atol=1e-14)
    np.testing.assert_allclose(
        res.rho.loc["male"],
        spearman_matrix(A[["age"]].assign(male=A["male"].astype(int)), B).rho.loc["male"],
        atol=1e-14,
    )
    A["site"] = "lung"
    A["histology"] = pd.Categorical(["a", "b"] * (len(A) // 2))
    with pytest.raises(InputError, match="site, histology"):
        spearman_matrix(A, B, ordinal={"stage_txt": levels})
    with pytest.raises(InputError, match="II"):
        spearman_matrix(A[["stage_txt"]], B, ordinal={"stage_txt": ["I", "III", "IV"]})


def test_heatmap_marks_only_significant_cells():
    A, B = groups(7)
    res = spearman_matrix(A, B)
    fig = heatmap_figure(res, "Clinical vs radiomics", significance=0.05)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(fig.data) == 1 and len(heat) == 1
    assert heat[0].zmin == -1 and heat[0].zmax == 1
    for key in ("customdata[0]", "customdata[1]", "customdata[2]", "%{z"):
        assert key in heat[0].hovertemplate
    expected = {
        (res.rho.columns[int(j)], res.rho.index[int(i)])
        for i, j in zip(*np.nonzero(res.q.to_numpy() < 0.05), strict=True)
    }
    marked = {(ann.x, ann.y) for ann in fig.layout.annotations}
    assert expected and marked == expected
    assert 0 < len(marked) < res.rho.size
