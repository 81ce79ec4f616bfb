"""Whether a new patient's input lies outside a saved model's training data: one rule for the
score's cautions (:func:`survival_core.workflows.scoring.extrapolation`: the CLI, the Risk page,
the PDF) and the nomogram's word "extrapolated", which flagged a GBSG2 pnodes of 30 (six training
patients had 30 or more) that the score passed without a word."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from survival_core.io.clinical_schema import SchemaVariable, names_a_scale
from survival_core.models.scoring import LoadedModel
from survival_core.text import number_text

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


#: A value of a bounded scale more than this many times its largest training value is refused,
#: not cautioned: a Karnofsky score of 600 under a training range of 20-90 (largest 99) was
#: scored, risk -17. A measurement has no such bound: a tumour of 300 mm under 8-80 mm (largest
#: 120), a creatinine of 10 under flchain's 100 patients of 0.7-1.6 are patients beyond them.
IMPOSSIBLE_FACTOR = 5.0


def numeric_inputs(X: pd.DataFrame, loaded: LoadedModel) -> Iterator[tuple[dict, float]]:
    """(spec, value) of each numeric input of ``loaded``'s table preprocessing that the one-row
    ``X`` holds (NaN where it holds no number), for :func:`impossible_value` and
    :func:`outside_caution`."""
    for spec in getattr(getattr(loaded.model, "preprocessor_", None), "columns_", None) or []:
        if spec["kind"] == "numeric" and spec["name"] in X:
            yield spec, float(pd.to_numeric(X[spec["name"]], errors="coerce").iloc[0])


def impossible_value(spec: Mapping[str, Any], value: float, loaded: LoadedModel) -> str | None:
    """Why ``value`` of the numeric input ``spec`` (a column of ``loaded``'s preprocessing) is
    refused, for a clinical variable whose schema gives no plausible range to check (a model
    fitted without one: GBSG2's tsize, veterans' Karnofsky_score): below zero where every
    training value was 0 or more (a tsize of -25 was scored), or, for a bounded scale
    (:func:`_bounded_scale`), more than :data:`IMPOSSIBLE_FACTOR` times the largest. None
    otherwise (a lab value far beyond is cautioned: :func:`outside_caution`), for a missing value
    and for a variable whose schema states its range (that range checks it)."""
    name = spec["name"]
    if "range" not in spec or value != value or not _clinical(name, loaded):
        return None
    known = loaded.schema[name] if name in loaded.schema.names else None
    if known is not None and (known.low is not None or known.high is not None):
        return None
    low, high = (float(v) for v in spec["range"])
    least, most = (float(v) for v in spec.get("extent", spec["range"]))
    trained = (
        f"its training range is {number_text(low)} to {number_text(high)} (1st-99th percentile)"
    )
    if value < 0 <= least:
        said = f"is below zero, while every training value was 0 or more: {trained}"
    elif most > 0 and value > IMPOSSIBLE_FACTOR * most and _bounded_scale(spec, known):
        said = (
            f"is more than {IMPOSSIBLE_FACTOR:g} times the largest training value "
            f"({number_text(most)}): {trained}"
        )
    else:
        return None
    return (
        f"{name} = {number_text(value)} {said}. Check the value and its unit: the model "
        "cannot score it."
    )


def _bounded_scale(spec: Mapping[str, Any], known: SchemaVariable | None) -> bool:
    """Whether the numeric input ``spec`` is a bounded scale: whole numbers under a name or label
    that names a scale or score (veterans' Karnofsky_score), not a measurement with a long tail
    (flchain's creatinine and lambda, which real patients of the cohort pass fivefold)."""
    names = (spec["name"], known.label if known is not None else "")
    return bool(spec.get("whole")) and any(names_a_scale(n) for n in names if n)


def outside_caution(spec: Mapping[str, Any], value: float, loaded: LoadedModel) -> str | None:
    """The caution for ``value`` of the numeric input ``spec`` (a column of ``loaded``'s
    preprocessing) when it lies outside the training data: a clinical variable more than
    :data:`CLINICAL_OUTSIDE` range widths beyond its training 1st-99th percentile range, or in
    another unit by :func:`another_unit` (veterans' Karnofsky -10 under a model trained on
    20-90); any other input (radiomics) more than :data:`FAR_OUTSIDE` range widths beyond (an
    extremity sarcoma under a liver model). None within it, for a missing value, and for a
    column saved without its training range."""
    if "range" not in spec or value != value:
        return None
    name = spec["name"]
    low, high = (float(v) for v in spec["range"])
    clinical = _clinical(name, loaded)
    slack = (CLINICAL_OUTSIDE if clinical else FAR_OUTSIDE) * max(high - low, 1e-12)
    odd_unit = clinical and another_unit(value, low, high)
    if low - slack <= value <= high + slack and not odd_unit:
        return None
    shown = number_text(value)
    said = f"{name} = {shown} lies {'' if clinical else 'far '}outside its training range"
    unit = loaded.schema[name].unit if name in loaded.schema.names else ""
    check = f"check that it is in {unit}, the model's unit" if unit else "check its unit"
    return f"{said} {number_text(low)} to {number_text(high)} (1st-99th percentile)" + (
        f": {check}." if odd_unit else "."
    )


def _clinical(name: str, loaded: LoadedModel) -> bool:
    """Whether input ``name`` is one of the model's clinical variables (its card's; a model
    built in memory, without a card, reads its schema's)."""
    if loaded.card is None:
        return name in loaded.schema.names
    return name in loaded.card.clinical_columns


def another_unit(value: float, low: float, high: float) -> bool:
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
