"""A saved model loaded for scoring cases (:class:`LoadedModel`), what a case's score reports
(:class:`CaseScore`) and the model instance a case is scored with (:func:`case_model`).

Building a case's feature row is :mod:`survival_core.features.case_row`; scoring a case end to end
is :func:`survival_core.workflows.scoring.score_case`.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from survival_core.case import Case
from survival_core.columns import clinical_inputs
from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.clinical import in_unit
from survival_core.io.clinical_schema import (
    CATEGORY,
    INTEGER,
    NUMBER,
    YES_NO,
    CohortSchema,
    SchemaVariable,
    hcc_schema,
    model_schema,
    names_a_scale,
)
from survival_core.models import load_model
from survival_core.models.base import SurvivalModel, survival_reach
from survival_core.models.card import ModelCard, check_tie, last_follow_up, newer_version_note
from survival_core.models.selection import AUTO, ENSEMBLE, read_selection
from survival_core.text import number_text

DAYS_PER_MONTH = 365.25 / 12
#: A model folder's note that the model was written for a study's report and cannot score a case
#: (its text says why and what to use instead): the ``dsfr`` command's Cox model reads columns
#: its study derives, which no case has.
STUDY_ONLY_FILE = "study_only.txt"
#: Survival is reported at these horizons (months).
REPORT_MONTHS = (12, 24, 36)
#: Why a horizon's survival is not reported.
BEYOND_FOLLOW_UP = (
    "Beyond the training cohort's last follow-up: its survival curve is not estimated there."
)


@dataclass
class LoadedModel:
    """A saved model with its card, loaded once and shared read-only."""

    folder: Path
    model: SurvivalModel
    card: ModelCard

    @property
    def name(self) -> str:
        """The model's name in messages and reports: its folder's, with the parent for the
        generic folders a training run writes (``<run id>/model``; the registry's local copies
        ``<name>/v<N>-<entry key>``, named ``<name>/v<N>``)."""
        copy = re.fullmatch(r"(v\d+)(-[0-9a-f]+)?", self.folder.name)
        if self.folder.name == "model" or copy:
            return f"{self.folder.parent.name}/{copy[1] if copy else 'model'}"
        return self.folder.name

    @property
    def run_id(self) -> str | None:
        """The training run that fitted it (its card's provenance), which tells one registry's
        'name vN' from another's; None for a model of ``fit``."""
        return ((self.card.cv or {}).get("provenance") or {}).get("run_id")

    @cached_property
    def chosen(self) -> str | None:
        """The candidate an ``auto`` model chose, which alone predicts, as its selection labels
        it ('coxph(penalizer=1.0)'; '... [clinical only]' where it reads the clinical columns
        alone); None for any other model (an ensemble weights several)."""
        if self.card is None or self.card.model != AUTO:
            return None
        selection = read_selection(self.folder)
        return None if selection is None else selection["chosen"]

    @property
    def kind(self) -> str:
        """The model as the pages, the PDF and the nomogram name it: its card's kind ('coxnet',
        'ensemble'), an ``auto`` model's with the candidate it chose ('auto ->
        coxph(penalizer=1.0)'): 'auto' alone named none of the models it may be."""
        kind = self.model.name if self.card is None else self.card.model
        return kind if self.chosen is None else f"{kind} -> {self.chosen}"

    @property
    def inputs(self) -> list[str]:
        return [c["name"] for c in self.model.preprocessor_.input_schema_]

    @cached_property
    def study_only(self) -> str | None:
        """Why the model cannot score a case (its folder's :data:`STUDY_ONLY_FILE`), or None."""
        path = self.folder / STUDY_ONLY_FILE
        return path.read_text(encoding="utf-8").strip() if path.is_file() else None

    @cached_property
    def used_inputs(self) -> list[str]:
        """The inputs the score depends on: those of which the model's feature reduction (a
        filter, LASSO) kept a column and, in a linear model, whose coefficient is not 0 (a
        LASSO-Cox's zeroed variables); all of them otherwise. A value of another input changes
        nothing."""
        preprocessor = getattr(self.model, "preprocessor_", None)
        if preprocessor is None:
            return self.inputs
        features = self.model.features_used_
        coef = getattr(self.model, "coef_", None)
        if coef is not None and len(coef) == len(features):
            features = [f for f, c in zip(features, coef, strict=True) if c != 0]
        encodes = preprocessor.input_of_
        used = {encodes.get(f, f) for f in features}
        return [c for c in self.inputs if c in used]

    @cached_property
    def last_follow_up(self) -> float:
        """The training cohort's last follow-up (days), or the model's last estimated time if
        earlier (a discrete-time model's last edge): its survival curves are estimated up to
        there and only carried flat beyond, so nothing is reported past it (no limit for a
        model built in memory, without a card)."""
        cohort = float("inf") if self.card is None else last_follow_up(self.card)
        return min(cohort, survival_reach(self.model))

    def followed(self, months: int) -> bool:
        """Whether ``months`` lie within the training cohort's follow-up."""
        return months * DAYS_PER_MONTH <= self.last_follow_up

    @cached_property
    def schema(self) -> CohortSchema:
        """The clinical schema of the model's variables (labels, units, ranges): the one it
        carries when trained on an own cohort, else the demo's HCC schema; a column of a model
        fitted on another table whose training values the HCC variable of its name refuses (an
        'age' of 102, a 'sex' coded 0-3) is as its training data gave it
        (:func:`_trained_variable`: the HCC ranges and categories are not its cohort's). Read
        once."""
        own = model_schema(self.folder)
        if own is not None:
            return own
        hcc = hcc_schema()
        if self.card is None:
            return hcc
        specs = {spec["name"]: spec for spec in getattr(self.model.preprocessor_, "columns_", [])}
        known = {v.name: v for v in hcc.variables}
        if set(self.card.clinical_columns) <= set(hcc.names) and all(
            _fits(known[c], specs[c]) for c in self.card.clinical_columns if c in specs
        ):
            return hcc
        return CohortSchema(
            tuple(
                known[c]
                if c in known and _fits(known[c], specs[c])
                else _trained_variable(specs[c])
                for c in self.card.clinical_columns
                if c in specs
            )
        )


def _fits(variable: SchemaVariable, spec: dict[str, Any]) -> bool:
    """Whether a model's training column (its preprocessing ``spec``) holds values the demo's
    variable of that name accepts: its labels, units and checks then apply (an 'albi_score'),
    else the column is not that variable (a 'sex' coded 0-3)."""
    # every value it was trained on (models saved before the extent was kept: 1st-99th pct)
    values = spec.get("extent", spec["range"]) if spec["kind"] == "numeric" else spec["categories"]
    try:
        read = [variable.coerce(value) for value in values]
    except (ClinicalValueError, ValueError, TypeError):
        return False
    # a category must read as itself: 'no' read as False, 'm' as 'M', is no level the model
    # learned, and every patient was refused
    if spec["kind"] == "numeric":
        return in_unit(variable.name, float(spec["fill"]))  # the training median
    return [str(v) for v in read] == [str(v) for v in values]


def _trained_variable(spec: dict[str, Any]) -> SchemaVariable:
    """A clinical column as the model's training rows gave it: a number (no plausible range to
    check: the nomogram and the score flag values outside the training range; its help names
    that range), a 0/1 code (:func:`_zero_one`), yes/no (a column of True and False), or one of
    the categories it was trained on."""
    name = spec["name"]
    if spec["kind"] == "numeric":
        low, high = (number_text(float(v)) for v in spec["range"])
        trained = f"Training values: {low} to {high} (1st-99th percentile)."
        if _zero_one(spec):
            return SchemaVariable(name, INTEGER, name, low=0, high=1, help=trained)
        return SchemaVariable(name=name, kind=NUMBER, label=name, help=trained)
    categories = tuple(str(c) for c in spec["categories"])
    if set(categories) == {"False", "True"}:  # a yes/no column: 'yes', 'No', 1 and 0 read too
        return SchemaVariable(name=spec["name"], kind=YES_NO, label=spec["name"])
    return SchemaVariable(
        name=spec["name"], kind=CATEGORY, label=spec["name"], categories=categories
    )


def _zero_one(spec: dict[str, Any]) -> bool:
    """Whether a numeric column's training values were exactly 0 and 1 (WHAS500's gender, chf,
    sho), not a scale's (an ECOG of 0 and 1 alone, whose 2 is an ECOG 2): a model saved before
    its whole-number extent was kept says nothing of it and reads numbers as before."""
    return (
        bool(spec.get("whole"))
        and [float(v) for v in spec.get("extent", ())] == [0.0, 1.0]
        and not names_a_scale(spec["name"])
    )


def load_scoring_model(folder: Path | str) -> LoadedModel:
    """Model and card from a folder written by the ``fit`` command. On a model of tables without
    radiomics every input that is not an image feature is a clinical column
    (:func:`~survival_core.columns.clinical_inputs`; cards written before listed only the HCC
    variables and an own cohort's, so a model fitted on a table of other variables could not
    read them from a case)."""
    folder = Path(folder)
    model, card = load_model(folder), ModelCard.load(folder)
    if card.model != _described(folder, model):  # its groups and percentiles are another's
        raise InputError(
            f"{folder} mixes two models: its card describes a {card.model} model, its model "
            f"file is a {model.name}. Fit the model again into its own folder."
        )
    check_tie(folder, card)  # a card of another fit of the same kind
    if note := newer_version_note(card):
        logging.getLogger(__name__).warning("%s: %s", folder, note)
    inputs = [c["name"] for c in model.preprocessor_.input_schema_]
    tabular = card.radiomics_settings is None and not card.radiomics_by_modality
    card.clinical_columns = clinical_inputs(inputs, set(card.clinical_columns), tabular=tabular)
    return LoadedModel(folder, model, card)


def _described(folder: Path, model: SurvivalModel) -> str:
    """The model a card beside ``model`` describes: ``auto`` where ``auto`` saved ``model`` as
    its choice (its ``selection.json`` names a candidate of ``model``'s kind; every auto model
    was refused as mixing two models), else ``model``'s own."""
    selection = read_selection(folder)
    if selection is None or model.name == ENSEMBLE:
        return model.name
    chosen = [c for c in selection["candidates"] if c["label"] == selection["chosen"]]
    return AUTO if [c["model"] for c in chosen] == [model.name] else model.name


def survival_text(probability: float) -> str:
    """A survival probability as a whole percentage ('< 1 %' / '> 99 %' at the ends), as the
    Risk page and the PDF show it (0.999 is not a certainty, nor 0.001 a certain death)."""
    if probability <= 0.005:  # 0.5 % prints as 0 (half to even): a certain death
        return "< 1 %"
    if probability >= 0.995:
        return "> 99 %"
    return f"{100 * probability:.0f} %"


@dataclass
class CaseScore:
    """What the Risk page and the ``score`` command report for a case."""

    case_id: str
    risk: float
    percentile: float
    #: The training patients the percentile ranks the risk among.
    training_patients: int
    risk_group: str
    #: Survival at 12/24/36 months; None beyond the training cohort's follow-up (not estimated).
    survival: dict[str, float | None]
    model: str
    imputed: list[str] = field(default_factory=list)
    #: Where the case lies outside the training cohort, so the model extrapolates (see
    #: :func:`~survival_core.workflows.scoring.extrapolation`).
    cautions: list[str] = field(default_factory=list)
    #: What the risk score is (:attr:`SurvivalModel.risk_scale`), and whether the model's curves
    #: can cross, so that a higher risk need not mean a lower survival at each year.
    risk_scale: str = "log relative hazard"
    curves_may_cross: bool = False
    #: The candidate an ``auto`` model chose, which scored the case (:attr:`LoadedModel.chosen`);
    #: None for any other model.
    chosen: str | None = None

    def model_fields(self) -> dict[str, str]:
        """The model that scored the case, as the JSON of `score`, `explain` and `report` name
        it: ``model``, and an ``auto`` model's ``chosen`` candidate."""
        return {"model": self.model, **({"chosen": self.chosen} if self.chosen else {})}

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "risk": self.risk,
            "percentile": self.percentile,
            "percentile_among": f"the {self.training_patients} training patients",
            "training_patients": self.training_patients,
            "risk_group": self.risk_group,
            "survival": self.survival,
            **self.model_fields(),
            "imputed": self.imputed,
            "cautions": self.cautions,
            "risk_scale": self.risk_scale,
            "curves_may_cross": self.curves_may_cross,
        }


def case_model(case: Case, loaded: LoadedModel) -> SurvivalModel:
    """The loaded model ready for ``case``: image models get a shallow copy reading its CT (the
    shared loaded model is never modified, so concurrent sessions cannot mix cases up)."""
    from survival_core.models.image_base import ImageSurvivalModel
    from survival_core.models.image_set import ImageSet

    if isinstance(loaded.model, ImageSurvivalModel):
        if case.modality != "CT":
            raise InputError(
                f"Model {loaded.name} reads CT through the HU window "
                f"{loaded.model.window!r}; case {case.case_id} is {case.modality}, which has no "
                "HU scale. Use a model trained on this modality."
            )
        return copy.copy(loaded.model).with_images(ImageSet.from_cases([case]))
    return loaded.model
