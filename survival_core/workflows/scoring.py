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
from survival_core.features.settings import named_reading, reading_stamp
from survival_core.io.intensity_scale import scale_warnings
from survival_core.io.mr_sequence import sequence_caution
from survival_core.io.structures import SITE_ORGANS
from survival_core.models.base import SurvivalModel
from survival_core.models.card import ModelCard, newer_version_note
from survival_core.models.scoring import (
    DAYS_PER_MONTH,
    REPORT_MONTHS,
    CaseScore,
    LoadedModel,
    case_model,
)
from survival_core.models.survival_band import SurvivalBand, follow_up_times, survival_band
from survival_core.models.training_range import numeric_inputs, outside_caution
from survival_core.text import decimals_apart, first_few


def score_case(case: Case, loaded: LoadedModel) -> CaseScore:
    """Risk (higher = worse), its training-cohort percentile and group, survival at 12/24/36 mo
    (None past the training cohort's follow-up: a curve carried flat there is no estimate)."""
    X, imputed = case_features(case, loaded)
    scored = _score(X, imputed, case_model(case, loaded), loaded)
    scored.cautions[:0] = sequence_caution(case.sequence, loaded.card.mr_sequences, loaded.name)
    scored.cautions[:0] = reading_caution(loaded)
    scored.cautions[:0] = hu_scale_caution(case, loaded)
    sites = loaded.card.sites
    if not sites and case.site:  # a model fitted on tables alone (a spreadsheet-only cohort)
        scored.cautions.insert(
            0,
            f"Model {loaded.name} does not record the cancer site of the patients it learned "
            "from (it was trained on tables without a cohort's images), so this "
            f"{case.site.replace('_', ' ')} case cannot be checked against them: if they had "
            "another cancer, the model extrapolates beyond its training cases.",
        )
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


def hu_scale_caution(case: Case, loaded: LoadedModel) -> list[str]:
    """The case's warning that its CT values are not Hounsfield units
    (:func:`~survival_core.io.intensity_scale.scale_warnings`, where its reading said the same)
    as a caution under a model that reads the CT through an HU window (an image network): its
    risk then rests on values unlike any it learned from (a PET volume read as CT got a risk
    group and survival with a warning alone)."""
    from survival_core.models.image_base import ImageSurvivalModel

    if not isinstance(loaded.model, ImageSurvivalModel) or case.modality != "CT":
        return []
    if not case.warnings:  # nothing its reading said: the scale check is not run again
        return []
    return [
        f"{said} Model {loaded.name} reads the CT through the HU window "
        f"{loaded.model.window!r}, so its risk of this case rests on values unlike any it "
        "learned from."
        for said in scale_warnings(case.image, "CT")
        if said in case.warnings
    ]


def card_reading(card: ModelCard) -> str | None:
    """How the images a model's features came from were read: its card's
    :attr:`~survival_core.models.card.ModelCard.image_reading`, else the stamp in its cohort
    feature tables' names (a card saved before the reading was kept); None when neither says."""
    named = (named_reading(table) for table in card.tables)
    return card.image_reading or next((stamp for stamp in named if stamp), None)


def reading_caution(loaded: LoadedModel) -> list[str]:
    """A caution when the model's features came from images read otherwise than a case's are
    now, or its card does not say how they were read (:func:`card_reading`): the demo model,
    trained before NIfTI-1 geometry was read as decimals, scored a NIfTI case up to 0.008
    log-hazard away from its DICOM copy without a word."""
    reading = card_reading(loaded.card)
    if not reads_images(loaded) or reading == reading_stamp():
        return []
    said = (
        "does not record how the images it learned from were read (an earlier RadSurv made it)"
        if reading is None
        else "learned from images read another way than this RadSurv reads them"
    )
    return [
        f"Model {loaded.name} {said}: if its features were computed before images were read "
        "as now, some features, and so the risk, can differ slightly from what it learned "
        "(NIfTI-1 spacing and origin are read as the decimals they were rounded from, DICOM "
        "pixel padding as no value). Train the model again on its cohort (`train`, or `fit` "
        "on features extracted anew) to score cases read as the model learned."
    ]


def score_values(
    values: Mapping[str, Any],
    loaded: LoadedModel,
    case_id: str,
    refused: Mapping[str, str] | None = None,
) -> CaseScore:
    """:func:`score_case` of a patient known by clinical values alone, under a model that reads
    no image (a clinical model; others are refused). ``values`` are checked by the model's
    clinical schema; keys that are none of its variables are named in the cautions, never
    silently dropped (a misspelt variable would otherwise be imputed unnoticed). ``refused``:
    the values refused when ``values`` were read (``upload_clinical``'s), by variable: the case
    is refused naming them, never scored with them imputed."""
    X, imputed, ignored = values_features(values, loaded, case_id, refused)
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


#: Share of the inputs a score depends on above which their imputation is cautioned: the score
#: then rests mostly on the training cohort's typical values (a breast cancer Cox model scored a
#: liver case from its age alone, its 7 other inputs imputed, with no caution).
MOSTLY_IMPUTED = 0.5


def mostly_imputed_caution(imputed: list[str], loaded: LoadedModel, case_id: str) -> list[str]:
    """A caution when more than :data:`MOSTLY_IMPUTED` of the inputs the score depends on
    (:attr:`~survival_core.models.scoring.LoadedModel.used_inputs`) were imputed for case
    ``case_id``, naming how many; every one imputed is refused (:func:`require_values`)."""
    used = loaded.used_inputs
    missing = [name for name in imputed if name in used]
    if len(missing) <= MOSTLY_IMPUTED * len(used):
        return []
    return [
        f"{len(missing)} of the {len(used)} inputs model {loaded.name}'s score depends on were "
        f"missing for case {case_id} and imputed ({first_few(missing, 6)}): the score rests "
        "mostly on the training cohort's typical values, not on this patient's. Give the missing "
        "values (the Case page's form, or clinical.json), and check that the model suits this "
        "patient."
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
    clinical one is, else by :func:`mostly_imputed_caution` when most are."""
    case_id = str(X.index[0])
    require_values(imputed, loaded, case_id, ignored)
    risk = float(model.predict_risk(X)[0])
    times = np.array(REPORT_MONTHS) * DAYS_PER_MONTH
    survival = model.predict_survival(X, times)[0]
    return CaseScore(
        case_id=case_id,
        risk=risk,
        percentile=loaded.card.percentile(risk),
        training_patients=len(loaded.card.training_risk),
        risk_group=loaded.card.risk_group(risk),
        survival={
            str(m): float(s) if loaded.followed(m) else None
            for m, s in zip(REPORT_MONTHS, survival, strict=True)
        },
        model=loaded.name,
        chosen=loaded.chosen,
        imputed=imputed,
        cautions=[
            *([note] if (note := newer_version_note(loaded.card)) else []),
            *(
                typical_values_caution(imputed, loaded, case_id)
                or mostly_imputed_caution(imputed, loaded, case_id)
            ),
            *extrapolation(X, risk, loaded),
        ],
        risk_scale=model.risk_scale,
        curves_may_cross=model.curves_may_cross,
    )


#: How far (a share of the training risks' range) a training patient's risk recomputed from
#: its images may stray from the one stored, without being an extrapolation.
RECOMPUTED = 1e-6


def extrapolation(X: pd.DataFrame, risk: float, loaded: LoadedModel) -> list[str]:
    """Where a case's inputs ``X`` and ``risk`` lie outside the training cohort: a risk beyond
    every training patient's, and each numeric input the risk depends on
    (:attr:`~survival_core.models.scoring.LoadedModel.used_inputs`) that
    :func:`~survival_core.models.training_range.outside_caution` finds outside its training
    range (the nomogram's rule too). The model still answers there, but from no patient like
    this one."""
    cautions = []
    training = np.asarray(loaded.card.training_risk, dtype=float)
    # the training risks are stored as computed then: a patient of them scored again may differ
    # in the last bits (the highest-risk one was told the model extrapolates from it), or by a
    # millionth of the range where its features are recomputed (a resampling's rounding)
    width = float(np.ptp(training)) if training.size else 0.0
    slack = max(CUT_RTOL * max(np.abs(training).max(initial=0.0), 1.0), RECOMPUTED * width)
    if training.size and not training.min() - slack <= risk <= training.max() + slack:
        side = "above the highest" if risk > training.max() else "below the lowest"
        low, high = training.min(), training.max()
        shown = decimals_apart(risk, high if risk > high else low)
        cautions.append(
            f"The risk {risk:.{shown}f} lies {side} of the {training.size} training patients' "
            f"({low:.{shown}f} to {high:.{shown}f}): the model extrapolates."
        )
    used = set(loaded.used_inputs)  # a LASSO's zeroed variable changes no risk: no caution
    for spec, value in numeric_inputs(X, loaded):
        caution = outside_caution(spec, value, loaded) if spec["name"] in used else None
        if caution is not None:
            cautions.append(caution)
    return cautions


def case_survival(case: Case, loaded: LoadedModel, times=None, level: float = 0.95) -> SurvivalBand:
    """The case's predicted survival curve under ``loaded`` (times in days; default
    :func:`follow_up_times` to its last follow-up), with a band where the model has one."""
    X, _ = case_features(case, loaded)
    model = case_model(case, loaded)
    grid = follow_up_times(loaded.last_follow_up) if times is None else times
    return survival_band(model, X, grid, level)
