"""Small real cohorts as a pilot study exports them: a few events among many censored patients,
drawn from scikit-survival's GBSG2, for the tests of models and evaluations at their limits; and
a schema in units other than the demo's."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core.io.clinical_schema import NUMBER, CohortSchema, SchemaVariable


def gbsg2_subset(n_events: int, n_censored: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """``n_events`` GBSG2 patients with an event and ``n_censored`` censored ones, drawn with
    ``seed``, in the dataset's order: the covariates and sksurv's structured outcome."""
    X, y = load_gbsg2()
    event = y["cens"].astype(bool)
    rng = np.random.default_rng(seed)
    rows = np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(event), n_events, replace=False),
                rng.choice(np.flatnonzero(~event), n_censored, replace=False),
            ]
        )
    )
    return X.iloc[rows].reset_index(drop=True), Surv.from_arrays(event[rows], y["time"][rows])


def bilirubin_mg_dl_schema() -> CohortSchema:
    """Age (years) and total bilirubin in mg/dL (plausible 0.1-35), as US laboratories report
    it: a model's schema whose bilirubin unit is not the demo's umol/L (1 mg/dL = 17.1 umol/L)."""
    return CohortSchema(
        (
            SchemaVariable("age", NUMBER, "Age", "years", 18, 100),
            SchemaVariable("bilirubin", NUMBER, "Total bilirubin", "mg/dL", 0.1, 35),
        )
    )
