"""Widgets used by several pages: the slice viewer and the clinical-values panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from survival_core.case import Case
from survival_core.io.clinical import SCHEMA, validate_clinical
from survival_core.preprocess.window import WINDOW_PRESETS, Window
from survival_core.viewer.figures import slice_figure
from survival_core.viewer.slices import PLANES, best_slice, extract_slice, n_slices
from ui.state import CLINICAL_EDITS, clinical_values, show_error

_WINDOW_LABELS = {name: f"{name} ({w.level:g}/{w.width:g})" for name, w in WINDOW_PRESETS.items()}


def _apply_preset(key: str) -> None:
    preset = WINDOW_PRESETS[st.session_state[f"{key}-preset"]]
    st.session_state[f"{key}-level"] = int(preset.level)
    st.session_state[f"{key}-width"] = int(preset.width)


def slice_viewer(
    case: Case, key: str, overlay: np.ndarray | None = None, height: int = 600
) -> None:
    """Slices of ``case`` with contours, a window preset plus level/width, plane and slice choice."""
    default = "liver" if "liver" in WINDOW_PRESETS else next(iter(WINDOW_PRESETS))
    if f"{key}-level" not in st.session_state:
        st.session_state[f"{key}-preset"] = default
        _apply_preset(key)
    view_col, control_col = st.columns([4, 1])
    with control_col:
        plane = st.radio("Plane", PLANES, key=f"{key}-plane")
        st.selectbox(
            "Window preset",
            list(WINDOW_PRESETS),
            format_func=_WINDOW_LABELS.get,
            key=f"{key}-preset",
            on_change=_apply_preset,
            args=(key,),
            help="Level/width in HU",
        )
        level = st.slider("Level (HU)", -1200, 1500, key=f"{key}-level")
        width = st.slider("Width (HU)", 1, 4000, key=f"{key}-width")
        count = n_slices(case.image, plane)
        number = st.slider(
            "Slice",
            1,
            count,
            value=best_slice(case, plane) + 1,
            key=f"{key}-{case.case_id}-{plane}",
        )
        index = number - 1
    window = Window(level, width)
    with view_col:
        view = extract_slice(case, plane, index, overlay=overlay)
        title = f"{case.case_id} · {plane} slice {index + 1}/{count}"
        st.plotly_chart(
            slice_figure(view, window.low, window.high, height=height, title=title),
            use_container_width=True,
            key=f"{key}-figure",
        )


def clinical_table(values: dict) -> pd.DataFrame:
    """Clinical values as a readable table with units; missing values say so."""
    rows = []
    for var in SCHEMA:
        value = values.get(var.name)
        if value is None:
            shown = "missing"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, float):
            shown = f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
        else:
            shown = str(value)
        rows.append({"variable": var.label, "value": shown, "unit": var.unit})
    return pd.DataFrame(rows)


def _input(var, current):
    """One form input for a clinical variable; ``None`` means left empty."""
    label = f"{var.label} [{var.unit}]" if var.unit else var.label
    key = f"clinical-{var.name}"
    if var.kind in ("float", "int"):
        step = 1 if var.kind == "int" else 0.1
        value = None if current is None else (int(current) if var.kind == "int" else float(current))
        kwargs = {"step": step} if var.kind == "int" else {"step": step, "format": "%.2f"}
        return st.number_input(label, value=value, key=key, help=var.help or None, **kwargs)
    options = ["yes", "no"] if var.kind == "bool" else list(var.categories)
    shown = (
        None
        if current is None
        else ("yes" if current is True else "no" if current is False else str(current))
    )
    choice = st.selectbox(
        label, options, index=options.index(shown) if shown in options else None, key=key
    )
    if var.kind == "bool" and choice is not None:
        return choice == "yes"
    return choice


def clinical_panel(case: Case) -> None:
    """The case's clinical values with units, and a form to complete or correct them."""
    values = clinical_values(case)
    missing = [var.label for var in SCHEMA if values.get(var.name) is None and not var.derived]
    st.dataframe(clinical_table(values), hide_index=True, use_container_width=True)
    if missing:
        st.warning("Missing: " + ", ".join(missing), icon=":material/warning:")
    with st.expander("Edit clinical values"), st.form(f"clinical-form-{case.case_id}"):
        columns = st.columns(3)
        raw = {}
        for n, var in enumerate(v for v in SCHEMA if not v.derived):
            with columns[n % 3]:
                raw[var.name] = _input(var, values.get(var.name))
        if st.form_submit_button("Validate and save"):
            try:
                checked = validate_clinical(raw).values
            except Exception as error:  # noqa: BLE001 - shown to the user
                show_error(error)
            else:
                st.session_state[CLINICAL_EDITS] = checked
                st.success("Clinical values saved for this session.")
                st.rerun()
