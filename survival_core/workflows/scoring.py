"""Score one case with a saved model: its features, risk, percentile, group and survival curve."""

from __future__ import annotations

import numpy as np

from survival_core.case import Case
from survival_core.features.case_row import case_features
from survival_core.models.scoring import (
    DAYS_PER_MONTH,
    REPORT_MONTHS,
    CaseScore,
    LoadedModel,
    case_model,
)
from survival_core.models.survival_band import SurvivalBand, follow_up_times, survival_band


def score_case(case: Case, loaded: LoadedModel) -> CaseScore:
    """Risk (higher = worse), its training-cohort percentile and group, survival at 12/24/36 mo
    (None past the training cohort's follow-up: a curve carried flat there is no estimate)."""
    X, imputed = case_features(case, loaded)
    model = case_model(case, loaded)
    risk = float(model.predict_risk(X)[0])
    times = np.array(REPORT_MONTHS) * DAYS_PER_MONTH
    survival = model.predict_survival(X, times)[0]
    return CaseScore(
        case_id=case.case_id,
        risk=risk,
        percentile=loaded.card.percentile(risk),
        risk_group=loaded.card.risk_group(risk),
        survival={
            str(m): float(s) if loaded.followed(m) else None
            for m, s in zip(REPORT_MONTHS, survival, strict=True)
        },
        model=loaded.folder.name,
        imputed=imputed,
    )


def case_survival(case: Case, loaded: LoadedModel, times=None, level: float = 0.95) -> SurvivalBand:
    """The case's predicted survival curve under ``loaded`` (times in days; default
    :func:`follow_up_times` of its card), with a band where the model has one."""
    X, _ = case_features(case, loaded)
    model = case_model(case, loaded)
    grid = follow_up_times(loaded.card) if times is None else times
    return survival_band(model, X, grid, level)
