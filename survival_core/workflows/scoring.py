"""Score one case with a saved model: its features, risk, percentile, group and survival curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from survival_core.case import Case
from survival_core.evaluation.risk_groups import CUT_RTOL
from survival_core.features.case_row import (
    case_features,
    ignored_caution,
    reads_images,
    require_values,
    values_features,
)
from survival_core.io.mr_sequence import sequence_caution
from survival_core.io.structures import SITE_ORGANS
from survival_core.models.base import SurvivalModel
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
    scored = _score(X, imputed, case_model(case, loaded), loaded)
    scored.cautions[:0] = sequence_caution(case.sequence, loaded.card.mr_sequences, loaded.name)
    sites = loaded.card.sites
    # a case without a site is suspect only under a model whose sites all contour their organ
    # (a liver model); a sarcoma model's cases carry no organ, and so no site, themselves
    unknown_matters = bool(sites) and set(sites) <= set(SITE_ORGANS)
    if sites and case.site not in sites and (case.site or unknown_matters):
        trained = " and ".join(s.replace("_", " ") for s in sites)
        scored.cautions.insert(
            0,
            f"The model was trained on {trained} cases; this is a "
            f"{case.site.replace('_', ' ')} case, unlike any it learned from: the model "
            "extrapolates."
            if case.site
            # a GTV alone (a glioma, a thigh sarcoma) says no site: it was scored unflagged
            else f"The model was trained on {trained} cases; this case's site is not known (no "
            f"organ is contoured): state it (the Case page's cancer site, score --site). If it "
            f"is not a {trained} case, the model extrapolates beyond its training cases.",
        )
    return scored


def score_values(values: Mapping[str, Any], loaded: LoadedModel, case_id: str) -> CaseScore:
    """:func:`score_case` of a patient known by clinical values alone, under a model that reads
    no image (a clinical model; others are refused). ``values`` are checked by the model's
    clinical schema; keys that are none of its variables are named in the cautions, never
    silently dropped (a misspelt variable would otherwise be imputed unnoticed)."""
    X, imputed, ignored = values_features(values, loaded, case_id)
    scored = _score(X, imputed, loaded.model, loaded, ignored)
    scored.cautions[:0] = ignored_caution(ignored, loaded)
    return scored


def typical_values_caution(imputed: list[str], loaded: LoadedModel, case_id: str) -> list[str]:
    """A caution when a model reading the image and clinical variables (fusion) got none of the
    latter for case ``case_id``: half its input is then the training cohort's typical patient
    (the percentile of a case moved from 50 to 12.5 without a word)."""
    clinical = [c for c in loaded.card.clinical_columns if c in loaded.inputs]
    if not clinical or not reads_images(loaded) or not set(clinical) <= set(imputed):
        return []
    return [
        f"None of model {loaded.name}'s {len(clinical)} clinical variable(s) came with case "
        f"{case_id}: the risk reads the image with the training cohort's typical clinical "
        "values, not this patient's. Give the clinical values (the Case page's form, or "
        "clinical.json)."
    ]


def _score(
    X: pd.DataFrame,
    imputed: list[str],
    model: SurvivalModel,
    loaded: LoadedModel,
    ignored: list[str] | None = None,
) -> CaseScore:
    """The :class:`CaseScore` of the one-row table ``X`` under ``model`` (``loaded``'s, ready
    for the case); refused by :func:`require_values` when every input is imputed (naming the
    keys given that were ``ignored``), cautioned by :func:`typical_values_caution` when every
    clinical one is."""
    case_id = str(X.index[0])
    require_values(imputed, loaded, case_id, ignored)
    risk = float(model.predict_risk(X)[0])
    times = np.array(REPORT_MONTHS) * DAYS_PER_MONTH
    survival = model.predict_survival(X, times)[0]
    return CaseScore(
        case_id=case_id,
        risk=risk,
        percentile=loaded.card.percentile(risk),
        risk_group=loaded.card.risk_group(risk),
        survival={
            str(m): float(s) if loaded.followed(m) else None
            for m, s in zip(REPORT_MONTHS, survival, strict=True)
        },
        model=loaded.name,
        imputed=imputed,
        cautions=[
            *typical_values_caution(imputed, loaded, case_id),
            *extrapolation(X, risk, loaded),
        ],
        risk_scale=model.risk_scale,
        curves_may_cross=model.curves_may_cross,
    )


#: A value lies far outside its training range when it is more than this many range widths
#: (1st to 99th percentile of the training rows) beyond it.
FAR_OUTSIDE = 1.0
#: A clinical variable is flagged nearer: beyond a quarter of its range width, well past the
#: training extremes (the 1st and 99th percentiles alone would flag 2 % of training patients).
CLINICAL_OUTSIDE = 0.25
#: A clinical variable of positive training values is flagged too when it lies this factor or
#: more below its 1st percentile or above its 99th and beyond a quarter of its range on a log
#: scale: a value in another unit (a diameter in cm under a model of mm, a bilirubin in mg/dL
#: under one of umol/L) lay within a quarter range width of zero; an AFP of 0.8 under a
#: training range of 2-20,000 ng/mL is no other unit.
CLINICAL_FACTOR = 2.0


def extrapolation(X: pd.DataFrame, risk: float, loaded: LoadedModel) -> list[str]:
    """Where a case's inputs ``X`` and ``risk`` lie outside the training cohort: a risk beyond
    every training patient's; each clinical variable more than :data:`CLINICAL_OUTSIDE` range
    widths beyond its training 1st-99th percentile range (veterans' Karnofsky -10 under a model
    trained on 20-90 passed without a word); and each other numeric input (radiomics) more than
    :data:`FAR_OUTSIDE` range widths beyond that range (a case of another site, scanner or
    modality than the model learned from: an extremity sarcoma under a liver model). The model
    still answers there, but from no patient like this one."""
    cautions = []
    training = np.asarray(loaded.card.training_risk, dtype=float)
    # the training risks are stored as computed then: a patient of them scored again may differ
    # in the last bit (the highest-risk one was told the model extrapolates from it)
    slack = CUT_RTOL * max(np.abs(training).max(initial=0.0), 1.0)
    if training.size and not training.min() - slack <= risk <= training.max() + slack:
        side = "above the highest" if risk > training.max() else "below the lowest"
        cautions.append(
            f"The risk {risk:.2f} lies {side} of the {training.size} training patients' "
            f"({training.min():.2f} to {training.max():.2f}): the model extrapolates."
        )
    model = loaded.model
    used = set(getattr(model, "features_used_", None) or [])
    preprocessor = getattr(model, "preprocessor_", None)
    for spec in getattr(preprocessor, "columns_", None) or []:
        name = spec["name"]
        if "range" not in spec or name not in X or (used and name not in used):
            continue
        value = pd.to_numeric(X[name], errors="coerce").iloc[0]
        low, high = (float(v) for v in spec["range"])
        clinical = name in loaded.card.clinical_columns
        slack = (CLINICAL_OUTSIDE if clinical else FAR_OUTSIDE) * max(high - low, 1e-12)
        if pd.isna(value):
            continue
        odd_unit = clinical and _another_unit(value, low, high)
        if low - slack <= value <= high + slack and not odd_unit:
            continue
        said = f"{name} = {value:.4g} lies {'' if clinical else 'far '}outside its training range"
        unit = loaded.schema[name].unit if name in loaded.schema.names else ""
        check = f"check that it is in {unit}, the model's unit" if unit else "check its unit"
        cautions.append(
            f"{said} {low:.4g} to {high:.4g} (1st-99th percentile)"
            + (f": {check}." if odd_unit else ".")
        )
    return cautions


def _another_unit(value: float, low: float, high: float) -> bool:
    """Whether a clinical value looks like one in another unit than its training range
    ``low``-``high`` (1st-99th percentile): beyond it by :data:`CLINICAL_FACTOR` and by
    :data:`CLINICAL_OUTSIDE` of its width on a log scale when the training values are positive,
    or below zero when they are not negative."""
    if low <= 0:
        return low == 0 and value < 0
    if value <= 0:
        return True
    factor = max(CLINICAL_FACTOR, (high / low) ** CLINICAL_OUTSIDE)
    return not low / factor <= value <= high * factor


def case_survival(case: Case, loaded: LoadedModel, times=None, level: float = 0.95) -> SurvivalBand:
    """The case's predicted survival curve under ``loaded`` (times in days; default
    :func:`follow_up_times` to its last follow-up), with a band where the model has one."""
    X, _ = case_features(case, loaded)
    model = case_model(case, loaded)
    grid = follow_up_times(loaded.last_follow_up) if times is None else times
    return survival_band(model, X, grid, level)
