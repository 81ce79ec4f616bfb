"""Nomogram page: the chosen Cox model as an rms-style nomogram; edit a value, its points and the
totals move at once. PNG/SVG downloads of the same drawing."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import streamlit as st

from survival_core.case import Case
from survival_core.errors import ClinicalValueError, RadSurvError, ValuesNeeded
from survival_core.features.case_row import (
    case_features,
    model_values,
    no_value_coded,
    reads_images,
    require_values,
)
from survival_core.io.clinical_schema import (
    ALBI_SOURCES,
    NUMBER,
    SchemaVariable,
    derived_values,
)
from survival_core.models.scoring import BEYOND_FOLLOW_UP, LoadedModel, survival_text
from survival_core.nomogram import (
    Nomogram,
    NomogramVariable,
    PatientPoints,
    build_nomogram,
    nomogram_layout,
    plotly_figure,
    points_rows,
    static_image,
)
from survival_core.text import file_name_part, markdown_literal, number_text
from ui.auth import export_button, permitted, require
from ui.models import chosen_model, clinical_json, loaded_model
from ui.state import clinical_values, current_case, refused_notice, scoring_model, show_error
from ui.widgets import correct_fields, number_field


def _model():
    """The session's chosen model, loaded (None when there is none yet)."""
    choice = chosen_model()
    return None if choice is None else loaded_model(choice)


@st.cache_data(max_entries=64, show_spinner=False)
def _case_inputs(
    _case: Case, case_key: tuple[str, str, str], values_json: str, folder: str, modified: float
) -> dict:
    """The case's model inputs, radiomics extracted once per (case id, source and content,
    clinical values, model): the cache is the server's, and the same upload with another GTV
    mapped is another case."""
    case = dataclasses.replace(_case, clinical=json.loads(values_json))
    X, _ = case_features(case, scoring_model(folder, modified))
    return {k: None if v != v else v for k, v in X.iloc[0].to_dict().items()}  # NaN: missing


def _case_values(case: Case, loaded: LoadedModel, nomo: Nomogram) -> dict:
    """Clinical values (with this session's edits), plus radiomics when the model reads them.
    A clinical model is refused (ValuesNeeded) when none of its inputs came with the case, as on
    the Risk and Report pages: its points would be the training cohort's typical patient's."""
    values = clinical_values(case)
    clinical_only = not reads_images(loaded)
    if clinical_only:
        _, imputed = case_features(dataclasses.replace(case, clinical=values), loaded)
        require_values(imputed, loaded, case.case_id)
    if clinical_only or all(v.name in loaded.card.clinical_columns for v in nomo.variables):
        return model_values(values, loaded)
    with st.spinner("Extracting the case's radiomics..."):
        return _case_inputs(
            case,
            (case.case_id, case.source, case.content_digest()),
            clinical_json(case),
            str(loaded.folder),
            (loaded.folder / "card.json").stat().st_mtime,
        )


def _widget(var: NomogramVariable, value, key: str, refused: list[str], disabled: bool = False):
    """One input in the variable's raw units; ``value`` None leaves it empty (imputed);
    ``disabled`` for a value worked out from others. A number is typed as text and read as the
    Case form reads it ('4,2' is 4.2: a number input's browser dropped the comma, scoring 42),
    one it cannot read named in ``refused`` (:func:`~ui.widgets.number_field`)."""
    if var.kind == "categorical":
        text = None if value is None else str(value)
        index = var.levels.index(text) if text in var.levels else None
        yes_no = set(var.levels) == {"False", "True"}  # shown as the Case form says it
        return st.selectbox(
            var.label,
            var.levels,
            index=index,
            key=key,
            placeholder="missing: imputed",
            format_func=(lambda level: "yes" if level == "True" else "no") if yes_no else str,
            disabled=disabled,
        )
    cast = int if var.whole_numbers else float
    return number_field(
        var.clinical or SchemaVariable(var.name, NUMBER),  # read as the Case form reads it
        var.label,
        None if value is None else cast(value),
        key,
        refused,
        placeholder="missing: imputed",
        help=f"Axis range {var.low:.3g}-{var.high:.3g} ({var.range_source}); "
        f"training default {var.default:.3g}",
        disabled=disabled,
    )


def _inputs(loaded: LoadedModel, nomo: Nomogram) -> dict:
    """Widgets for every variable, prefilled from the current case or the training defaults; a
    user who may not score cases (a viewer) gets the defaults: the case's totals and survival
    are its score, which the Risk page withholds from them."""
    case = current_case()
    defaults = "prefilled with the training medians / most frequent levels"
    if case is not None and not permitted("score_case"):
        st.caption(f"{defaults.capitalize()}: your role may not see a case's score.")
        case = None
    elif case is None:
        st.caption(f"No case loaded: {defaults}.")
    source = _case_values(case, loaded, nomo) if case is not None else nomo.defaults()
    if case is not None:  # said once the case's values are there (a refused case has none)
        shown = markdown_literal(case.case_id)
        st.caption(f"Prefilled from case **{shown}**; empty fields are imputed.")
    prefix = f"nomogram-{loaded.folder}"
    prefix += f"-{case.case_id}" if case is not None else "-defaults"
    coded = no_value_coded(source, loaded)  # empty, as the model reads them: missing
    drawn = {var.name for var in nomo.variables}  # derived where their sources are inputs too:
    # a model of ALBI without albumin and bilirubin (Wang 2022's) has its ALBI entered
    derived = (
        set(derived_values(loaded.schema, {})) & drawn if set(ALBI_SOURCES) <= drawn else set()
    )
    refused: list[str] = []
    entered = {
        # the prefill is part of the key: a new case or an edit on the Case page resets the input
        var.name: _widget(
            var,
            None if var.name in coded else source.get(var.name),
            f"{prefix}-{var.name}-{source.get(var.name)!r}",
            refused,
        )
        for var in nomo.variables
        if var.name not in derived
    }
    # a code's field left empty passes the code on, so the points say why it was missing
    values = {name: coded.get(name) if value is None else value for name, value in entered.items()}
    values |= _derived(loaded, nomo, derived, {**source, **entered}, prefix, refused)
    if refused:  # said under each field; no points of a value guessed, nor of one imputed
        raise ClinicalValueError(f"Not scored: {correct_fields(refused)}.")
    return values


def _derived(
    loaded: LoadedModel,
    nomo: Nomogram,
    names: set[str],
    given: dict,
    prefix: str,
    refused: list[str],
) -> dict:
    """The variables worked out from others (ALBI score and grade from albumin and bilirubin),
    from the values entered, shown but not editable: an edited albumin left the ALBI at its
    case's value, a patient no form can give (the LP disagreed with the Risk page's)."""
    if not names:
        return {}
    worked = derived_values(loaded.schema, given)
    st.caption("Worked out from albumin and bilirubin, as the Case page's form does:")
    for var in nomo.variables:
        if var.name in names:  # disabled: edit albumin or bilirubin instead
            key = f"{prefix}-{var.name}-derived-{worked[var.name]!r}"
            _widget(var, worked[var.name], key, refused, disabled=True)
    return {name: worked[name] for name in names}


def _points_table(nomo: Nomogram, patient: PatientPoints) -> None:
    """The drawing's marks as a table (:func:`points_rows`), under it: a screen reader reads no
    plotly figure, and the points per variable were nowhere else in text."""
    table = pd.DataFrame(points_rows(nomo, patient))
    st.caption("The nomogram as text: the patient's value and points on each axis.")
    st.table(
        table.style.format({"points": "{:.1f}"}, na_rep=""),  # as the drawing's markers say it
        hide_index=True,
        alt="The patient on the nomogram: each variable's value and points, the total points and "
        "the linear predictor",
    )


st.title("Nomogram")
require("view")
try:
    loaded = _model()
    nomo = build_nomogram(loaded) if loaded is not None else None
except Exception as error:  # noqa: BLE001 - shown to the user, logged if unexpected
    show_error(error)
    st.stop()
if nomo is None:
    st.info("No model yet: train a Cox model on the Training page (or `make run` for the demo).")
    st.stop()

current = current_case()
if current is not None and permitted("score_case") and refused_notice(current):
    st.stop()  # loaded, but this model refuses a clinical value: no typical patient in its place
inputs_column, figure_column = st.columns([1, 3])
try:
    with inputs_column:  # the case's features: refused when the model cannot read the case
        values = _inputs(loaded, nomo)
    patient = nomo.points(values)
except ValuesNeeded as error:  # nothing entered yet: what to do, not a failure
    st.info(str(error), icon=":material/info:")
    st.stop()
except RadSurvError as error:
    show_error(error)
    st.stop()

with figure_column:
    metrics = [*st.columns(2), *st.columns(3)]  # five in a row were cut to '1...' in a laptop's
    metrics[0].metric("Total points", f"{patient.total:.1f}")
    metrics[1].metric("Linear predictor", f"{patient.lp:.3f}", help="Log relative hazard")
    for column, (months, value) in zip(metrics[2:], patient.survival.items(), strict=True):
        shown = "n/a" if value is None else survival_text(value)  # '> 99 %', as drawn
        column.metric(
            f"{months // 12}-year {nomo.endpoint.short}",
            shown,
            help=BEYOND_FOLLOW_UP if value is None else None,
        )
    if patient.imputed:
        named = [
            f"{name} ({note})" if (note := patient.missing_note(name)) else name
            for name in patient.imputed
        ]
        st.warning(
            "Imputed with the training median / most frequent level: " + ", ".join(named),
            icon=":material/warning:",
        )
    if patient.outside:  # the score's cautions, word for word (the Risk page, the PDF)
        st.warning(
            "Outside the training data (extrapolated): " + " ".join(patient.outside.values()),
            icon=":material/warning:",
        )
    if patient.beyond_axis:  # within the score's training range: no extrapolation
        st.caption(
            "Past the end of the drawn axis, not outside the training data (the score cautions "
            "nothing): "
            + "; ".join(
                f"{var.name} {number_text(patient.values[var.name])} (axis "
                f"{number_text(var.low)} to {number_text(var.high)}: {var.range_source})"
                for var in nomo.variables
                if var.name in patient.beyond_axis
            )
            + "."
        )
    layout = nomogram_layout(nomo, patient)
    st.plotly_chart(plotly_figure(layout), width="stretch")
    _points_table(nomo, patient)
    if permitted("export_report"):  # downloads are exports: none drawn (nor their columns)
        downloads = st.columns(2)
        for column, fmt, mime in (
            (downloads[0], "png", "image/png"),
            (downloads[1], "svg", "image/svg+xml"),
        ):
            export_button(
                f"Download {fmt.upper()}",
                lambda fmt=fmt: static_image(layout, fmt),
                f"nomogram-{file_name_part(loaded.name)}.{fmt}",
                mime,
                loaded.name,
                into=column,
                what="nomogram",
                format=fmt,
            )
    if nomo.unused:
        st.caption("Not drawn (zero coefficient): " + ", ".join(nomo.unused))
    st.caption(f"Model: {loaded.name} ({nomo.model_name}); research use only.")
