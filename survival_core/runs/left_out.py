"""The cases a run left out (its ``reports/left_out.csv``), told apart by why: a case whose
features could not be computed needs fixing, while one holding a category the model's training
patients never had is sound, only unscored there. The Training page and ``report.html`` head each
kind with the same words (:func:`left_out_groups`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: The table of the cases a run left out, in its reports: case_id, error, table, kind.
LEFT_OUT_FILE = "left_out.csv"
#: ``kind`` of a case whose features (or images) could not be computed: the case needs fixing.
NOT_COMPUTED = "not_computed"
#: ``kind`` of a case holding a category of a clinical variable that the patients its model was
#: trained on never had (a fold's training rows, or the development cohort for an external one).
UNSEEN_CATEGORY = "unseen_category"

_ADVICE = {
    NOT_COMPUTED: (
        "left out of this run",
        "their features could not be computed, so the metrics are of the other patients. Fix "
        "these cases (or remove them from the cohort) and run again.",
    ),
    UNSEEN_CATEGORY: (
        "left out of some predictions",
        "each holds a category of a clinical variable that the patients its model was trained "
        "on never had (a fold's training patients, or the development cohort for an external "
        "one), so that model cannot score it. Nothing is wrong with these cases; the metrics are "
        "of the patients scored (a patient scored in another repeat still counts). For a rare "
        "category, consider merging it with a similar one, or adding patients who have it.",
    ),
}


@dataclass(frozen=True)
class LeftOutGroup:
    """The left-out cases of one kind: a heading with their count, what it means and what to
    do, and their rows (case_id, error...)."""

    heading: str
    advice: str
    rows: pd.DataFrame


def left_out_groups(left_out: pd.DataFrame) -> list[LeftOutGroup]:
    """The rows of a run's left-out table by kind, cases whose features could not be computed
    first. A table written before the ``kind`` column is read by its ``table`` column: only a
    case whose features failed names the feature table it is missing from."""
    if "kind" in left_out:  # a kind it does not know (a later RadSurv's) asks to look at them
        kinds = left_out["kind"].where(left_out["kind"].isin(list(_ADVICE)), NOT_COMPUTED)
    else:
        named = left_out["table"] if "table" in left_out else pd.Series(index=left_out.index)
        kinds = named.notna().map({True: NOT_COMPUTED, False: UNSEEN_CATEGORY})
    groups = []
    for kind, (heading, advice) in _ADVICE.items():
        rows = left_out[kinds == kind]
        if len(rows):
            count = f"{rows['case_id'].nunique()} case(s) {heading}"
            groups.append(LeftOutGroup(count, advice, rows))
    return groups
