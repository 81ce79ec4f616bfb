"""Score one case with a saved model: its features, risk, percentile, group and survival.

The features a model needs are rebuilt from the case exactly as for its training table: clinical
variables from the case's validated clinical values, radiomics with the extraction settings stored
in the model card, DSFR and deep features with the networks bundled in the model folder. A model whose inputs the case cannot provide is refused with the missing names.
Clinical values that are missing are imputed by the model's training-fitted preprocessing and
reported as such, never silently.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survival_core.case import Case
from survival_core.cohort.clinical_schema import CohortSchema, hcc_schema, model_schema
from survival_core.errors import InputError, MaskError
from survival_core.models import load_model
from survival_core.models.base import SurvivalModel
from survival_core.models.card import ModelCard

DAYS_PER_MONTH = 365.25 / 12
#: Survival is reported at these horizons (months).
REPORT_MONTHS = (12, 24, 36)


@dataclass
class LoadedModel:
    """A saved model with its card, loaded once and shared read-only."""

    folder: Path
    model: SurvivalModel
    card: ModelCard

    @property
    def inputs(self) -> list[str]:
        return [c["name"] for c in self.model.preprocessor_.input_schema_]

    @cached_property
    def schema(self) -> CohortSchema:
        """The clinical schema of the model's variables (labels, units, ranges): the one it
        carries when trained on an own cohort, else the demo's HCC schema; read once."""
        return model_schema(self.folder) or hcc_schema()


def load_scoring_model(folder: Path | str) -> LoadedModel:
    """Model and card from a folder written by the ``fit`` command."""
    folder = Path(folder)
    return LoadedModel(folder, load_model(folder), ModelCard.load(folder))


@dataclass
class CaseScore:
    """What the Risk page and the ``score`` command report for a case."""

    case_id: str
    risk: float
    percentile: float
    risk_group: str
    survival: dict[str, float]
    model: str
    imputed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "risk": self.risk,
            "percentile": self.percentile,
            "risk_group": self.risk_group,
            "survival": self.survival,
            "model": self.model,
            "imputed": self.imputed,
        }


def case_features(case: Case, loaded: LoadedModel) -> tuple[pd.DataFrame, list[str]]:
    """One-row feature table of ``case`` in the model's input schema, and the imputed variables."""
    row: dict[str, Any] = {}
    clinical = [c for c in loaded.inputs if c in loaded.card.clinical_columns]
    for name in clinical:
        row[name] = case.clinical.get(name)
    others = [c for c in loaded.inputs if c not in row]
    if others and loaded.card.radiomics_settings:
        from survival_core.features.radiomics import extract_case
        from survival_core.features.settings import ExtractionSettings, required_masks

        settings = ExtractionSettings.from_json(loaded.card.radiomics_settings)
        lacking = [r for r in required_masks(settings.rois) if r not in case.masks]
        if lacking:
            raise MaskError(
                f"Model {loaded.folder.name} computes its {settings.preset} features on "
                f"{', '.join(settings.rois)}, which need the {' and '.join(lacking)} mask; case "
                f"{case.case_id} has {', '.join(sorted(case.masks)) or 'no masks'}. Map the "
                "structure on the Case page, or use a model on the GTV alone."
            )
        features = extract_case(case, settings)
        row.update({name: features[name] for name in others if name in features})
    others = [c for c in loaded.inputs if c not in row]
    if others:
        from survival_core.features.extractors import case_columns

        row.update(case_columns(case, loaded.folder, others))
    missing = [c for c in loaded.inputs if c not in row]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise InputError(
            f"Model {loaded.folder.name} needs {len(missing)} input(s) this case cannot provide: "
            f"{shown}."
        )
    imputed = [name for name in clinical if row[name] is None]
    frame = pd.DataFrame([row], index=pd.Index([case.case_id], name="case_id"))
    return frame[loaded.inputs], imputed


def case_model(case: Case, loaded: LoadedModel) -> SurvivalModel:
    """The loaded model ready for ``case``: image models get a shallow copy reading its CT (the
    shared loaded model is never modified, so concurrent sessions cannot mix cases up)."""
    from survival_core.models.image_base import ImageSurvivalModel
    from survival_core.models.image_set import ImageSet

    if isinstance(loaded.model, ImageSurvivalModel):
        if case.modality != "CT":
            raise InputError(
                f"Model {loaded.folder.name} reads CT through the HU window "
                f"{loaded.model.window!r}; case {case.case_id} is {case.modality}, which has no "
                "HU scale. Use a model trained on this modality."
            )
        return copy.copy(loaded.model).with_images(ImageSet.from_cases([case]))
    return loaded.model


def score_case(case: Case, loaded: LoadedModel) -> CaseScore:
    """Risk (higher = worse), its training-cohort percentile and group, survival at 12/24/36 mo."""
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
        survival={str(m): float(s) for m, s in zip(REPORT_MONTHS, survival, strict=True)},
        model=loaded.folder.name,
        imputed=imputed,
    )
