"""A Cox model as a nomogram: points per variable, total points, linear predictor, survival.

Follows the convention of R's ``rms::nomogram``. Each variable ``j`` adds ``c_j(x_j)`` to the
linear predictor (lp); over the variable's range in the training data ``c_j`` spans
``[min_j, max_j]``. One scale ``k = 100 / max_j (max_j - min_j)`` turns contributions into points,
``points_j = k (c_j(x_j) - min_j)``, so the variable with the widest contribution spans 0-100 points
and the others are scaled alike. Total points ``T`` give back the model's own lp,
``lp = lp_0 + T / k``, and survival ``S(t | x) = exp(-H0(t) exp(lp))`` comes from the model's
training Breslow baseline (the function ``predict_survival`` uses).

The contributions are read from the model itself, on the raw scale a clinician edits (years, g/L,
umol/L): the model's preprocessing (imputation, one-hot columns, z-scores, feature reduction) and
coefficients map a table row to the lp, and that map is affine for the linear Cox models, so
probing it once per variable gives each variable's coefficient per raw unit (numeric) or its effect
per level (categorical) exactly. Additivity is checked on a probe row before the nomogram is used.

Axis ranges: the training range stored with the preprocessing when a model carries one (``range``
of a numeric column: 1st and 99th training percentiles); models saved without it get the training
mean +- 2 SD (the preprocessing's fitted statistics) clipped to the variable's plausible range
(variables outside the clinical schema with a non-negative training median: clipped at 0). A
patient's value past its axis is not called extrapolated for that: only where the score cautions
it (:func:`~survival_core.models.training_range.outside_caution`), with the same words.

Labels, units and plausible ranges are those of the model's clinical schema
(:attr:`~survival_core.models.scoring.LoadedModel.schema`: an own cohort's, else the demo's HCC).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from survival_core.errors import ClinicalValueError, InputError
from survival_core.features.case_row import no_value_coded
from survival_core.io.clinical import MISSING_CODES, is_missing
from survival_core.io.clinical_schema import INTEGER, NO_TOKENS, YES_NO, YES_TOKENS, SchemaVariable
from survival_core.io.outcome_source import EndpointWords
from survival_core.models.coxnet import Coxnet
from survival_core.models.coxph import CoxPH
from survival_core.models.scoring import DAYS_PER_MONTH, REPORT_MONTHS, LoadedModel
from survival_core.models.training_range import impossible_value, outside_caution

#: Models whose risk is a linear predictor over preprocessed columns (lasso_cox is a Coxnet).
LINEAR_COX = (CoxPH, Coxnet)
#: Half-width of the fallback axis range in training standard deviations.
FALLBACK_SDS = 2.0
#: Relative tolerance of the additivity check (the lp of a probe row against the sum of effects).
ADDITIVITY_TOL = 1e-8


@dataclass(frozen=True)
class NomogramVariable:
    """One variable's axis: its lp contribution on the raw scale and the points it earns.

    Numeric: ``contribution(x) = beta * (x - default)`` over ``[low, high]`` (raw units).
    Categorical: ``contribution(level) = effects[level]`` (relative to the default level).
    ``clinical``: the variable in the model's clinical schema (None for other columns).
    """

    name: str
    kind: str
    default: Any
    beta: float = 0.0
    low: float = 0.0
    high: float = 0.0
    levels: tuple[str, ...] = ()
    effects: tuple[float, ...] = ()
    range_source: str = ""
    clinical: SchemaVariable | None = None
    #: The training values were whole numbers (a 0/1 code, a count): ticked at whole numbers
    #: (WHAS500's 0/1 codes were ticked at 0.2), though a value between may be entered.
    whole: bool = False

    @property
    def label(self) -> str:
        """Display name with the unit (e.g. 'Albumin (g/L)')."""
        if self.clinical is None:
            return self.name
        label = self.clinical.label or self.name
        return f"{label} ({self.unit})" if self.unit else label

    @property
    def unit(self) -> str:
        return self.clinical.unit if self.clinical is not None else ""

    @property
    def whole_numbers(self) -> bool:
        """Whether the axis takes whole numbers only (integer and yes/no variables)."""
        return _whole(self.clinical)

    def level_text(self, level: str) -> str:
        """A level as the page's select box and the PDF say it: 'yes' / 'no' for a yes/no
        variable's 'True' / 'False' (the drawing showed 'True'), else the level itself."""
        if set(self.levels) == {"False", "True"}:
            return "yes" if level == "True" else "no"
        return level

    def contribution(self, value: Any) -> float:
        """lp change from the default value to ``value`` (raw units or a level)."""
        if self.kind == "categorical":
            return self.effects[self.levels.index(value)]
        return self.beta * (float(value) - float(self.default))

    @property
    def span(self) -> tuple[float, float]:
        """(lowest, highest) contribution over the axis range."""
        if self.kind == "categorical":
            return min(self.effects), max(self.effects)
        ends = (self.contribution(self.low), self.contribution(self.high))
        return min(ends), max(ends)

    def given(self, value: Any) -> Any:
        """``value`` as typed, None where it says no value as the score reads it: a level of a
        categorical is that level first (GBSG2's grade 'unknown' was imputed as grade II); a
        variable of the clinical schema reads the rest as a case's value
        (:meth:`SchemaVariable.read`: the missing-value words, 'none' and '-' by its kind),
        another as its training table read it (:func:`_no_value`). 'NA' and '' were refused
        as no grade or no number."""
        if self.kind == "categorical" and isinstance(value, str) and value in self.levels:
            return value
        if self.clinical is not None:
            return self.clinical.read(value)
        return None if _no_value(value) else value

    def check(self, value: Any) -> Any:
        """``value`` as the model reads it: a level of a categorical, a float of a numeric.

        A variable of the clinical schema reads the value as a case's clinical values are read
        (:meth:`SchemaVariable.coerce`: 'squamous' for 'Squamous', 'Yes', '69,5'), so the
        nomogram takes every spelling the score and the report take.
        """
        if self.clinical is not None:
            value = self.clinical.coerce(value)
        if self.kind == "categorical":
            text = str(value)
            if set(self.levels) == {"False", "True"}:  # a yes/no variable: 'yes', 1, True...
                word = text.strip().lower()
                text = "True" if word in YES_TOKENS else "False" if word in NO_TOKENS else text
            if text not in self.levels:
                raise ClinicalValueError(
                    f"{self.label}: {value!r} is not one of the model's levels "
                    f"{', '.join(self.levels)}."
                )
            return text
        try:
            number = float(value)
        except (TypeError, ValueError) as err:
            raise ClinicalValueError(f"{self.label}: {value!r} is not a number.") from err
        if not math.isfinite(number):
            raise ClinicalValueError(f"{self.label}: {value!r} is not a finite number.")
        return number


#: Texts a model's table read as no value (:func:`_no_value`).
_NO_VALUE_TEXT = MISSING_CODES | frozenset({"", "na"})


def _no_value(value: Any) -> bool:
    """Whether ``value``, given for a variable outside the clinical schema, is no value as its
    model's table read one: None, NaN, a blank, 'NA' and the missing-value codes ('.', '#N/A':
    :data:`~survival_core.io.clinical.MISSING_CODES`). The schema's wider words ('unknown',
    'none', '-') may be a level or a mistyped number there, not a value to impute."""
    if isinstance(value, str):
        return value.strip().lower() in _NO_VALUE_TEXT
    return is_missing(value)


@dataclass
class PatientPoints:
    """A patient on the nomogram: points per variable, total points, lp and survival.

    ``survival`` maps months (12, 24, 36) to S(t); ``imputed`` lists variables that were missing
    and took the training median or most frequent level, ``coded`` those of them given as the
    training table's no-value code (tsize -99: missing to the model too); ``outside`` maps each
    value outside the training data to the score's caution
    (:func:`~survival_core.models.training_range.outside_caution`: the nomogram extrapolates
    where the score says so); ``beyond_axis`` lists the others past the end of their axis.
    """

    values: dict[str, Any]
    points: dict[str, float]
    total: float
    lp: float
    survival: dict[int, float | None]  # None past the training cohort's follow-up
    imputed: list[str] = field(default_factory=list)
    coded: dict[str, float] = field(default_factory=dict)
    outside: dict[str, str] = field(default_factory=dict)
    beyond_axis: list[str] = field(default_factory=list)

    def missing_note(self, name: str) -> str:
        """Why imputed variable ``name`` was missing when it was given: '-99: the training
        table's no-value code'; '' when no value was given."""
        code = self.coded.get(name)
        return "" if code is None else f"{code:g}: the training table's no-value code"


@dataclass
class Nomogram:
    """The nomogram of one fitted linear Cox model (build it with :func:`build_nomogram`)."""

    #: The model as :attr:`~survival_core.models.scoring.LoadedModel.kind` names it ('coxph';
    #: 'auto -> coxph(penalizer=1.0)', where the bare class named no penalty).
    model_name: str
    variables: list[NomogramVariable]
    unused: list[str]
    points_per_lp: float
    lp_at_zero: float
    loaded: LoadedModel

    @property
    def endpoint(self) -> EndpointWords:
        """How its survival axes are named: the model card's endpoint ('overall survival');
        'survival' for a model without a card or a recorded outcome."""
        return EndpointWords() if self.loaded.card is None else self.loaded.card.endpoint

    @property
    def max_total(self) -> float:
        """Total points of the worst value on every axis."""
        return float(sum(self.points_of(v, v.span[1]) for v in self.variables))

    def points_of(self, variable: NomogramVariable, contribution: float) -> float:
        """Points of a variable's lp contribution."""
        return self.points_per_lp * (contribution - variable.span[0])

    def lp_of_total(self, total: float | np.ndarray) -> float | np.ndarray:
        """Linear predictor (the model's risk score) of total points."""
        return self.lp_at_zero + np.asarray(total, dtype=float) / self.points_per_lp

    def total_of_lp(self, lp: float | np.ndarray) -> float | np.ndarray:
        return (np.asarray(lp, dtype=float) - self.lp_at_zero) * self.points_per_lp

    def survival_of_lp(self, lp: float | np.ndarray, months: tuple[int, ...] = REPORT_MONTHS):
        """S(t | lp) at ``months`` from the model's training baseline, shape (len(lp), len(months))."""
        times = np.asarray(months, dtype=float) * DAYS_PER_MONTH
        return self.loaded.model.baseline_.survival(np.atleast_1d(lp), times)

    def defaults(self) -> dict[str, Any]:
        """Training median (numeric) or most frequent level (categorical) of every variable."""
        return {v.name: v.default for v in self.variables}

    def points(self, values: Mapping[str, Any]) -> PatientPoints:
        """Points, total, lp and 12/24/36-month survival of a patient's raw values.

        Missing values (absent, None/NaN, a blank or 'NA': :meth:`NomogramVariable.given`; or a
        no-value code of the training table, as the model's preprocessing reads it) take the
        model's imputation value and are flagged; names the nomogram does not use are refused.
        A value outside the training data is flagged by the score's rule, one past its axis'
        end but within the data apart.
        """
        known = {v.name for v in self.variables} | set(self.unused)
        strange = sorted(set(values) - known)
        if strange:
            raise InputError(
                f"The model does not use {', '.join(strange)}; its nomogram variables are "
                f"{', '.join(v.name for v in self.variables)}."
            )
        coded = no_value_coded(values, self.loaded)
        specs = {spec["name"]: spec for spec in self.loaded.model.preprocessor_.columns_}
        used: dict[str, Any] = {}
        points: dict[str, float] = {}
        imputed, outside, beyond = [], {}, []
        for var in self.variables:
            value = None if var.name in coded else var.given(values.get(var.name))
            if value is None:
                value = var.default
                imputed.append(var.name)
            value = var.check(value)
            if var.kind == "numeric":
                if (why := impossible_value(specs[var.name], value, self.loaded)) is not None:
                    raise ClinicalValueError(why)  # as the score refuses it
                caution = outside_caution(specs[var.name], value, self.loaded)
                if caution is not None:
                    outside[var.name] = caution
                elif not var.low <= value <= var.high:
                    beyond.append(var.name)
            used[var.name] = value
            points[var.name] = self.points_of(var, var.contribution(value))
        total = float(sum(points.values()))
        lp = float(self.lp_of_total(total))
        survival = self.survival_of_lp(lp)[0]
        return PatientPoints(
            values=used,
            points=points,
            total=total,
            lp=lp,
            survival={
                m: float(s) if self.loaded.followed(m) else None
                for m, s in zip(REPORT_MONTHS, survival, strict=True)
            },
            imputed=imputed,
            coded={name: coded[name] for name in imputed if name in coded},
            outside=outside,
            beyond_axis=beyond,
        )


def _whole(var: SchemaVariable | None) -> bool:
    """Whether a clinical variable takes whole numbers only (integers, yes/no as 0/1)."""
    return var is not None and var.kind in (INTEGER, YES_NO)


def _numeric_range(
    spec: dict[str, Any], mean: float, sd: float, var: SchemaVariable | None
) -> tuple[float, float, str]:
    """Axis range of a numeric column: the stored training range, else mean +- 2 SD clipped to
    ``var``'s plausible range (the column's clinical variable, if it is one)."""
    low, high = (float(v) for v in spec.get("range", (0.0, 0.0)))
    if low < high:  # else none stored, or a rare factor's percentiles met (saved before min-max)
        return low, high, "training range (1st-99th percentile; min-max for a rare value)"
    low, high = mean - FALLBACK_SDS * sd, mean + FALLBACK_SDS * sd
    if var is not None and var.low is not None and var.high is not None:
        low, high = max(low, var.low), min(high, var.high)
    elif spec["fill"] >= 0:  # skewed non-negative quantities (counts, volumes, texture sums)
        low = max(low, 0.0)
    if _whole(var):
        low, high = float(math.floor(low + 0.5)), float(math.floor(high + 0.5))
    return low, high, f"training mean +- {FALLBACK_SDS:g} SD"


def _require_linear_cox(loaded: LoadedModel) -> None:
    model = loaded.model
    if not isinstance(model, LINEAR_COX) or not loaded.model.preprocessor_.columns_:
        raise InputError(
            f"The nomogram needs a linear Cox model (coxph, coxnet or lasso_cox) on table "
            f"variables; model {loaded.name} is '{model.name}', whose risk is not a sum "
            "of per-variable terms. Choose a Cox model on the sidebar or train one."
        )


def build_nomogram(loaded: LoadedModel) -> Nomogram:
    """The nomogram of a fitted linear Cox model (coxph, coxnet, lasso_cox), its axes labelled
    by the model's clinical schema (:attr:`LoadedModel.schema`).

    Raises :class:`InputError` for any other model (deepsurv, rsf, image models) and when the
    model's lp is not additive over its input variables.
    """
    _require_linear_cox(loaded)
    model = loaded.model
    prep = model.preprocessor_
    out_names = prep.feature_names_out_
    specs = prep.columns_
    reference = {s["name"]: s["fill"] for s in specs}
    clinical = {v.name: v for v in loaded.schema.variables}
    # Probe rows: the reference, then one row per numeric variable (default + 1 SD) and one per
    # level of each categorical; their lp differences are the effects.
    probes: list[dict[str, Any]] = [reference]
    for spec in specs:
        if spec["kind"] == "numeric":
            sd = prep.scale_[out_names.index(spec["name"])]
            probes.append({**reference, spec["name"]: spec["fill"] + sd})
        else:
            probes.extend({**reference, spec["name"]: c} for c in spec["categories"])
    risk = model.predict_risk(pd.DataFrame(probes, columns=list(reference)))
    base, effects = float(risk[0]), risk[1:] - risk[0]
    variables: list[NomogramVariable] = []
    check_row = dict(reference)
    expected = base
    position = 0
    for spec in specs:
        name = spec["name"]
        var = clinical.get(name)
        if spec["kind"] == "numeric":
            index = out_names.index(name)
            sd, mean = prep.scale_[index], prep.mean_[index]
            low, high, source = _numeric_range(spec, mean, sd, var)
            variable = NomogramVariable(
                name,
                "numeric",
                float(spec["fill"]),
                beta=float(effects[position]) / sd,
                low=min(low, high),
                high=max(low, high),
                range_source=source,
                clinical=var,
                whole=bool(spec.get("whole")),
            )
            position += 1
            check_row[name] = high
        else:
            count = len(spec["categories"])
            variable = NomogramVariable(
                name,
                "categorical",
                spec["fill"],
                levels=tuple(spec["categories"]),
                effects=tuple(float(e) for e in effects[position : position + count]),
                clinical=var,
            )
            position += count
            check_row[name] = spec["categories"][-1]
        expected += variable.contribution(check_row[name])
        variables.append(variable)
    # a dropped variable's probe difference is rounding (3e-17), not an effect
    spans = [variable.span[1] - variable.span[0] for variable in variables]
    floor = 1e-9 * max(spans, default=0.0)
    unused = [v.name for v, span in zip(variables, spans, strict=True) if span <= floor]
    variables = [v for v, span in zip(variables, spans, strict=True) if span > floor]
    if not variables:
        raise InputError(
            f"Model {loaded.name} has no variable with a non-zero coefficient; there is "
            "nothing to draw."
        )
    actual = float(model.predict_risk(pd.DataFrame([check_row], columns=list(reference)))[0])
    if abs(actual - expected) > ADDITIVITY_TOL * max(1.0, abs(actual)):
        raise InputError(
            f"Model {loaded.name}: the risk is not a sum of per-variable terms "
            f"(probe lp {actual:.6g} vs {expected:.6g}); a nomogram cannot represent it."
        )
    # in the clinical schema's order: the model's inputs are in name order, which drew GBSG2's
    # 'Age, estrec, horTh, menostat'
    position = {name: i for i, name in enumerate(loaded.schema.in_order(v.name for v in variables))}
    variables.sort(key=lambda v: position[v.name])
    widest = max(v.span[1] - v.span[0] for v in variables)
    points_per_lp = 100.0 / widest
    lp_at_zero = base + sum(v.span[0] for v in variables)
    return Nomogram(loaded.kind, variables, unused, points_per_lp, lp_at_zero, loaded)
