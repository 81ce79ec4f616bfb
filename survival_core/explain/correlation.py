"""Spearman correlation matrices between feature groups, with significance (Wei 2021, Fig. 4).

:func:`spearman_matrix` correlates every column of ``A`` with every column of ``B`` (or of ``A``
with itself) and returns rho, the two-sided p-value, the Benjamini-Hochberg q-value and the number
of pairwise-complete observations of each pair; :func:`heatmap_figure` draws rho as a diverging
heat map with an asterisk on the cells whose q is below the significance level.

Conventions:

- Rows are matched on the index (case_id) with an inner join; duplicated index values or column
  names are refused. Rows kept only in one table are counted in ``notes``.
- Encoding: numeric columns are used as they are; booleans become 0/1; a column named in
  ``ordinal`` (``{column: [lowest, ..., highest]}``) becomes the position of its value in that list
  (0, 1, ...; a value not in the list is an error); a pandas *ordered* Categorical without an
  ``ordinal`` entry uses its declared category order the same way. Any other non-numeric column
  (strings, unordered categories, dates) is refused with an :class:`InputError` naming them all.
- Missing values are handled pairwise, exactly as ``scipy.stats.spearmanr`` on the rows where both
  columns are observed: the ranks are recomputed on those rows. The computation is vectorised per
  missingness pattern: all the columns that share a pattern are ranked once (average ranks for
  ties) and correlated with one matrix product (Pearson on ranks), so data without missing values
  take a single ranking and a single product.
- p-values come from Student's t with n - 2 degrees of freedom, as in ``scipy.stats.spearmanr``
  (|rho| = 1 gives p = 0). A pair with fewer than 3 complete observations, or in which a column is
  constant over the complete rows, gets NaN rho and p. Columns constant over all their observed
  rows are listed in ``notes``.
- q: Benjamini-Hochberg (:func:`survival_core.evaluation.comparison.benjamini_hochberg`) over all
  the tested pairs with a finite p. For ``B=None`` the tested pairs are the distinct pairs i < j
  (each counted once, mirrored into the symmetric matrix); the diagonal has rho = 1 (NaN for a
  constant column) and NaN p, q as it is not a test. With ``fdr=False``, ``q`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from survival_core.errors import InputError
from survival_core.evaluation.comparison import benjamini_hochberg

#: Fewest pairwise-complete observations for which rho and p are reported (t has n - 2 df).
MIN_OBSERVATIONS = 3


@dataclass
class CorrelationResult:
    """Spearman rho, two-sided p, BH q (None without FDR) and pairwise n; rows = A, cols = B."""

    rho: pd.DataFrame
    p: pd.DataFrame
    q: pd.DataFrame | None
    n: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    symmetric: bool = False

    def renamed(self, names: dict[str, str]) -> CorrelationResult:
        """The same result with rows and columns renamed by ``names`` (the others kept), e.g.
        to show how a category is coded on hover."""

        def rename(table: pd.DataFrame) -> pd.DataFrame:
            return table.rename(index=names, columns=names)

        q = None if self.q is None else rename(self.q)
        return replace(self, rho=rename(self.rho), p=rename(self.p), q=q, n=rename(self.n))


def _encode(frame: pd.DataFrame, name: str, ordinal: dict[str, list]) -> tuple[pd.DataFrame, list]:
    """Float copy of ``frame`` with booleans as 0/1 and ordinal columns as level positions."""
    if frame.columns.duplicated().any():
        dup = sorted(map(str, frame.columns[frame.columns.duplicated()].unique()))
        raise InputError(f"{name} has duplicated column names: {', '.join(dup)}.")
    out: dict = {}
    refused: list[str] = []
    notes: list[str] = []
    for col in frame.columns:
        s = frame[col]
        if col in ordinal:
            levels = list(ordinal[col])
            codes = {level: i for i, level in enumerate(levels)}
            present = s.dropna()
            unknown = sorted({str(v) for v in present if v not in codes})
            if unknown:
                raise InputError(
                    f"Column {col!r} of {name} has values not in its ordinal levels {levels}: "
                    f"{', '.join(unknown)}."
                )
            out[col] = s.map(lambda v, c=codes: np.nan if pd.isna(v) else float(c[v])).astype(float)
        elif isinstance(s.dtype, pd.CategoricalDtype) and s.dtype.ordered:
            out[col] = pd.Series(s.cat.codes, index=s.index).astype(float).where(s.notna())
            notes.append(
                f"{col!r} encoded by its ordered categories {list(s.dtype.categories)} -> 0, 1, ..."
            )
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.astype("float")  # nullable "boolean": <NA> becomes NaN
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype):
            out[col] = s.astype(float)
        else:
            refused.append(str(col))
    if refused:
        raise InputError(
            f"{name} has non-numeric columns that cannot be ranked: {', '.join(refused)}. "
            "Encode them, or give their order in `ordinal={column: [lowest, ..., highest]}`."
        )
    return pd.DataFrame(out, index=frame.index, columns=frame.columns), notes


def _ranked_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of the average ranks of complete columns x (m, p) and y (m, q)."""
    rx = stats.rankdata(x, axis=0)
    ry = stats.rankdata(y, axis=0)
    rx -= rx.mean(axis=0)
    ry -= ry.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (rx.T @ ry) / np.sqrt(np.outer((rx**2).sum(axis=0), (ry**2).sum(axis=0)))
    return np.clip(r, -1.0, 1.0)


def _patterns(observed: np.ndarray) -> dict[bytes, np.ndarray]:
    """Column indices grouped by their observed-rows pattern."""
    groups: dict[bytes, list[int]] = {}
    for j in range(observed.shape[1]):
        groups.setdefault(np.packbits(observed[:, j]).tobytes(), []).append(j)
    return {k: np.asarray(v) for k, v in groups.items()}


def _spearman_arrays(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rho and n for all column pairs, ranks recomputed on each pair's complete rows."""
    ox, oy = ~np.isnan(x), ~np.isnan(y)
    rho = np.full((x.shape[1], y.shape[1]), np.nan)
    n = (ox.astype(float).T @ oy.astype(float)).astype(int)
    for xcols in _patterns(ox).values():
        rows = ox[:, xcols[0]]
        for ycols in _patterns(oy[rows]).values():
            both = rows.copy()
            both[rows] = oy[rows][:, ycols[0]]
            if both.sum() < MIN_OBSERVATIONS:
                continue
            rho[np.ix_(xcols, ycols)] = _ranked_pearson(x[both][:, xcols], y[both][:, ycols])
    return rho, n


def _p_values(rho: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided p of rho from Student's t with n - 2 df (as scipy.stats.spearmanr)."""
    dof = (n - 2).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = rho * np.sqrt((dof / ((rho + 1.0) * (1.0 - rho))).clip(0))
        p = 2.0 * stats.t.sf(np.abs(t), np.where(dof > 0, dof, np.nan))
    return np.where(np.isfinite(rho), np.minimum(p, 1.0), np.nan)


def spearman_matrix(
    A: pd.DataFrame,
    B: pd.DataFrame | None = None,
    fdr: bool = True,
    ordinal: dict[str, list] | None = None,
) -> CorrelationResult:
    """Spearman rho of every column of ``A`` with every column of ``B`` (``A`` x ``A`` if None).

    See the module notes for the join, encoding, missing-value and FDR conventions.
    """
    ordinal = dict(ordinal or {})
    if not isinstance(A, pd.DataFrame) or not (B is None or isinstance(B, pd.DataFrame)):
        raise InputError("spearman_matrix needs pandas DataFrames indexed by case_id.")
    symmetric = B is None
    tables = [A] if symmetric else [A, B]
    for name, t in zip(("A", "B"), tables, strict=False):
        if t.index.duplicated().any():
            dup = sorted(map(str, t.index[t.index.duplicated()].unique()))[:10]
            raise InputError(f"{name} has duplicated case ids in its index: {', '.join(dup)}.")
        if t.shape[1] == 0:
            raise InputError(f"{name} has no columns to correlate.")
    known = set(A.columns) | (set() if symmetric else set(B.columns))
    missing = [str(c) for c in ordinal if c not in known]
    if missing:
        raise InputError(f"`ordinal` names columns that are not in the data: {', '.join(missing)}.")

    notes: list[str] = []
    if symmetric:
        index = A.index
    else:
        index = A.index[A.index.isin(B.index)]
        dropped_a, dropped_b = len(A.index) - len(index), len(B.index) - len(index)
        if dropped_a or dropped_b:
            notes.append(
                f"Inner join on case id kept {len(index)} cases "
                f"({dropped_a} only in A and {dropped_b} only in B dropped)."
            )
    if len(index) < MIN_OBSERVATIONS:
        raise InputError(
            f"Only {len(index)} cases are shared by the tables; at least {MIN_OBSERVATIONS} are "
            "needed for a Spearman test."
        )
    ea, na = _encode(A.loc[index], "A", ordinal)
    notes += na
    if symmetric:
        eb = ea
    else:
        eb, nb = _encode(B.loc[index], "B", ordinal)
        notes += [note for note in nb if note not in notes]

    x, y = ea.to_numpy(float), eb.to_numpy(float)
    for name, frame, arr in (("A", ea, x), ("B", eb, y))[: 1 if symmetric else 2]:
        const = [
            str(c)
            for j, c in enumerate(frame.columns)
            if np.unique(arr[~np.isnan(arr[:, j]), j]).size < 2
        ]
        if const:
            notes.append(
                f"Constant (or all-missing) columns in {name}, rho is NaN: {', '.join(const)}."
            )

    rho, n = _spearman_arrays(x, y)
    p = _p_values(rho, n)
    tested = np.isfinite(p)
    if symmetric:  # mirror the upper triangle so the matrices are exactly symmetric
        lower = np.tril_indices_from(rho, k=-1)
        rho[lower], p[lower] = rho.T[lower], p.T[lower]
        np.fill_diagonal(rho, np.where(np.isfinite(np.diag(rho)), 1.0, np.nan))
        p[np.diag_indices_from(p)] = np.nan
        tested = np.triu(np.isfinite(p), k=1)
    few = int(np.sum((n < MIN_OBSERVATIONS) & (np.triu(np.ones_like(n), 1) if symmetric else 1)))
    if few:
        notes.append(
            f"{few} pair(s) have fewer than {MIN_OBSERVATIONS} complete cases: rho is NaN."
        )

    q = None
    if fdr:
        qa = np.full(p.shape, np.nan)
        if tested.any():
            qa[tested] = benjamini_hochberg(p[tested])
        if symmetric:
            lower = np.tril_indices_from(qa, k=-1)
            qa[lower] = qa.T[lower]
        q = pd.DataFrame(qa, index=ea.columns, columns=eb.columns)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=ea.columns, columns=eb.columns)

    return CorrelationResult(frame(rho), frame(p), q, frame(n), notes, symmetric)


def heatmap_figure(
    result: CorrelationResult, title: str = "Spearman correlation", significance: float = 0.05
) -> go.Figure:
    """Diverging heat map of rho (-1..1), '*' on the cells whose q (p without FDR) < significance."""
    rho, p, n = result.rho, result.p, result.n
    sig_source = result.q if result.q is not None else p
    label = "q" if result.q is not None else "p (unadjusted)"
    q = (
        result.q
        if result.q is not None
        else pd.DataFrame(np.nan, index=rho.index, columns=rho.columns)
    )
    x = [str(c) for c in rho.columns]
    y = [str(r) for r in rho.index]
    custom = np.dstack([p.to_numpy(float), q.to_numpy(float), n.to_numpy(float)])
    fig = go.Figure(
        go.Heatmap(
            z=rho.to_numpy(float),
            x=x,
            y=y,
            zmin=-1.0,
            zmax=1.0,
            zmid=0.0,
            colorscale="RdBu_r",
            colorbar={"title": {"text": "Spearman ρ"}},
            customdata=custom,
            hoverongaps=False,
            hovertemplate=(
                "%{y} vs %{x}<br>ρ = %{z:.3f}<br>p = %{customdata[0]:.3g}"
                "<br>q = %{customdata[1]:.3g}<br>n = %{customdata[2]:.0f}<extra></extra>"
            ),
        )
    )
    with np.errstate(invalid="ignore"):
        sig = np.asarray(sig_source.to_numpy(float) < significance)
    rows, cols = np.nonzero(sig)
    fig.update_layout(
        title={"text": f"{title}<br><sup>* {label} < {significance:g}</sup>"},
        annotations=[
            {
                "x": x[j],
                "y": y[i],
                "text": "*",
                "showarrow": False,
                "font": {"size": 14, "color": "black"},
                "xref": "x",
                "yref": "y",
            }
            for i, j in zip(rows, cols, strict=True)
        ],
        xaxis={"type": "category", "tickangle": -45},
        yaxis={"type": "category", "autorange": "reversed"},
        plot_bgcolor="white",
    )
    return fig
