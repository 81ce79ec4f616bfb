"""Clinical columns that may not be baseline variables: measured after baseline, or telling the
outcome through whether they were recorded.

Checked once on the whole development table, outcome-aware and so never inside a fold's
preprocessing, and said as notes, never refused (:func:`outcome_leak_notes`). ACTG175's CD4
count at week 96 (``cd496``, missing for the patients no longer followed by then) and its
missingness indicator ``r`` lifted a Cox model's cross-validated c-index from 0.687 (baseline
variables) to 0.831 with one note alone: "'cd496': 39% missing in training, imputed with the
median".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from survival_core.columns import is_image_feature
from survival_core.errors import InputError
from survival_core.evaluation.concordance import concordance_columns
from survival_core.evaluation.risk_groups import logrank_groups
from survival_core.io.clinical_schema import NO_TOKENS, YES_TOKENS
from survival_core.models.tabular import TablePreprocessor
from survival_core.outcome import survival_arrays
from survival_core.text import first_few

#: A variable whose univariate Harrell's c-index (either direction) reaches this orders the
#: outcome as real baseline predictors rarely do (GBSG2's best, pnodes, 0.645; WHAS500's age
#: 0.731; ACTG175's CD4 at week 96, 0.866).
HIGH_C_INDEX = 0.80
#: Fewest events among a variable's observed rows for its c-index to be read (a handful of
#: events gives chance c-indices of 0.8).
MIN_EVENTS = 10
#: Log-rank p below which a column's missingness is said to go with the outcome, Holm-corrected
#: across the columns tested (400 noise columns, randomly missing, gave 3 notes uncorrected), and
#: the fewest patients each of its missing and observed groups needs.
MISSING_P = 0.01
MIN_GROUP = 10
#: Below this a p-value is said as '< 1e-300': one that underflowed to 0 is no certainty.
SMALLEST_P = 1e-300


def outcome_leak_notes(X: pd.DataFrame, y: Any) -> list[str]:
    """Notes naming the clinical columns of ``X`` (image features aside) that may not be
    baseline variables against outcome ``y``: one whose univariate c-index is at least
    :data:`HIGH_C_INDEX`, one that is exactly another's missingness indicator, and one whose
    missingness goes with the outcome (log-rank p < :data:`MISSING_P`, Holm), which the
    imputation hides, unless its indicator is a column (the model sees it: GBSG2's horTh beside
    a tamoxifen dose given to its 'yes' patients). Columns are read as a model's preprocessing
    reads them (no-value codes missing)."""
    clinical = [c for c in X.columns if not is_image_feature(str(c))]
    if not clinical or len(X) < 2:
        return []
    frame = X[clinical].rename(columns=str)  # by the names the preprocessing gives them
    prep = TablePreprocessor(max_missing_fraction=1.0, allow_empty=True).fit(frame)
    if not prep.columns_:
        return []
    event, time = survival_arrays(y)
    event = event.astype(bool)
    filled = prep.missing_filled(frame)
    observed = {
        spec["name"]: ~_marked(len(frame), filled.get(spec["name"], ([], ""))[0])
        for spec in prep.columns_
    }
    indicators = _indicators(frame, observed)
    indicated = {name for marked in indicators.values() for name in marked}
    return [
        *_high_c_notes(prep.transform(frame), prep.input_of_, observed, event, time),
        *_indicator_notes(indicators, len(frame)),
        *_missingness_notes(
            {name: fill for name, fill in filled.items() if name not in indicated}, event, time
        ),
    ]


def _marked(n: int, rows: Any) -> np.ndarray:
    """A flag per row of ``n``, set at positions ``rows``."""
    flags = np.zeros(n, dtype=bool)
    flags[np.asarray(rows, dtype=int)] = True
    return flags


def _high_c_notes(
    encoded: pd.DataFrame,
    input_of: dict[str, str],
    observed: dict[str, np.ndarray],
    event: np.ndarray,
    time: np.ndarray,
) -> list[str]:
    """A note per variable whose c-index on its observed rows, in either direction (a
    category's: its best level against the others), is at least :data:`HIGH_C_INDEX`."""
    by_rows: dict[bytes, list[str]] = {}  # features of the same observed rows: one pass
    for feature, name in input_of.items():
        if event[observed[name]].sum() >= MIN_EVENTS:
            by_rows.setdefault(observed[name].tobytes(), []).append(feature)
    best: dict[str, float] = {}
    for features in by_rows.values():
        rows = observed[input_of[features[0]]]
        values = encoded[features].to_numpy(float)[rows]
        scores = concordance_columns(event[rows], time[rows], values)
        for feature, c in zip(features, scores, strict=True):
            name = input_of[feature]
            best[name] = max(best.get(name, 0.0), c, 1.0 - c)  # NaN: no comparable pair
    return [
        f"'{name}' alone orders the outcome with a c-index of {c:.3f} (its "
        f"{int(observed[name].sum())} patients with a value), as baseline predictors rarely do "
        f"({HIGH_C_INDEX:.2f} or more): check it was known at baseline (not measured after it, "
        "nor derived from the outcome), else leave it out of the table."
        for name, c in sorted(best.items(), key=lambda item: -item[1])
        if c >= HIGH_C_INDEX
    ]


def _indicators(frame: pd.DataFrame, observed: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """Each 0/1 or yes/no column, without missing values, that is exactly whether other columns
    have a value, with those columns (ACTG175's ``r``: whether ``cd496`` was measured at week
    96; a treatment flag: whether its dose is given)."""
    indicators = {}
    for name, present in observed.items():
        flags = _yes_no_flags(frame[name]) if present.all() else None
        if flags is None:
            continue
        marked = [
            other
            for other, rows in observed.items()
            if other != name
            and not rows.all()
            and (np.array_equal(flags, rows) or np.array_equal(flags, ~rows))
        ]
        if marked:
            indicators[name] = marked
    return indicators


def _indicator_notes(indicators: dict[str, list[str]], n: int) -> list[str]:
    """A note per missingness indicator of :func:`_indicators`, said as a fact to check: a
    treatment flag and its dose are ordinary baseline structure, a value measured later only
    for the patients still followed is not."""
    return [
        f"'{name}' says exactly which patients have a value of "
        f"{first_few([repr(m) for m in marked], 3)} (all {n} patients): if it was known at "
        "baseline (a treatment and its dose) this is fine; if it says who was still followed "
        "when a value was measured later, it tells their outcome: leave such columns out of "
        "the table."
        for name, marked in indicators.items()
    ]


def _yes_no_flags(column: pd.Series) -> np.ndarray | None:
    """``column`` (no value missing) as its two values' flags, where they are 0/1 (or
    True/False) or yes/no words; None for any other column."""
    values = column.astype(object)
    words = {str(v).strip().lower() for v in values.unique()}
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().all() and set(numbers.unique()) == {0, 1}:
        return numbers.to_numpy() == 1
    if len(words) == 2 and words <= YES_TOKENS | NO_TOKENS and words & YES_TOKENS:
        return values.map(lambda v: str(v).strip().lower() in YES_TOKENS).to_numpy(bool)
    return None


def _missingness_notes(
    filled: dict[str, tuple[np.ndarray, str]], event: np.ndarray, time: np.ndarray
) -> list[str]:
    """A note per column whose patients without a value fare otherwise than those with one
    (log-rank p < :data:`MISSING_P` by Holm's step-down across the columns tested, at least
    :data:`MIN_GROUP` in each), smallest p first: the filling makes them look like the others,
    hiding what the missingness says. Said without presuming a measurement after baseline:
    FLCHAIN's creatinine, a baseline lab, is one (1350 of 7874 missing, p 6e-22)."""
    tested = {}
    for name, (rows, _fill) in filled.items():
        if not MIN_GROUP <= rows.size <= time.size - MIN_GROUP:
            continue
        try:
            tested[name] = logrank_groups((event, time), _marked(time.size, rows)).p_value
        except InputError:  # no event, or one group never at risk at an event
            continue
    notes = []
    for rank, (name, p) in enumerate(sorted(tested.items(), key=lambda item: item[1])):
        if p * (len(tested) - rank) >= MISSING_P:
            break  # Holm: no larger p is said either
        rows, fill = filled[name]
        notes.append(
            f"'{name}': the {rows.size} of {time.size} patients without a value fare "
            f"otherwise than the others (log-rank {_p_said(p)}): whether it is missing goes "
            f"with the outcome, which its filling with the {fill} hides. Check why it is "
            "missing (measured only later, or only in some patients?), or add a 0/1 column "
            "saying whether it was measured (a missingness indicator) where that was known "
            "at baseline."
        )
    return notes


def _p_said(p: float) -> str:
    """'p = 0.0022'; 'p < 1e-300' below :data:`SMALLEST_P` (FLCHAIN's cause of death: 'p = 0')."""
    return f"p < {SMALLEST_P:g}" if p < SMALLEST_P else f"p = {p:.2g}"
