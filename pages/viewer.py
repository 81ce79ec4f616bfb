"""Viewer page: the current case in three planes with its window, every structure's contour (one
toggle each) and an IG/Grad-CAM overlay."""

from __future__ import annotations

import streamlit as st

from survival_core.text import markdown_literal
from survival_core.viewer.figures import site_label
from survival_core.viewer.slices import PLANES
from ui.auth import require
from ui.state import current_case, show_error
from ui.widgets import (
    case_overlay,
    overlay_model_picker,
    planes_viewer,
    structure_toggles,
    window_controls,
)

st.title("Viewer")
require("view")
case = current_case()
if case is None:
    st.info("No case yet: pick a demo case or upload one on the Case page.")
    st.page_link("pages/case.py", label="Go to the Case page", icon=":material/person_search:")
    st.stop()

size, spacing = case.image.GetSize(), case.image.GetSpacing()
site = site_label(case.site)
st.subheader(f"{markdown_literal(case.case_id)} · {case.modality}" + (f" · {site}" if site else ""))
st.caption(
    f"{size[0]} x {size[1]} x {size[2]} voxels of {spacing[0]:.2f} x {spacing[1]:.2f} x "
    f"{spacing[2]:.2f} mm; planes drawn to physical scale."
)
window_col, roi_col, overlay_col = st.columns([2, 1, 2])
with window_col:
    window = window_controls("viewer", case)
with roi_col:
    st.markdown("**Contours**")
    shown = structure_toggles(case, "viewer")
    single = st.toggle("One plane at a time (larger)", key="viewer-single")
    planes = [st.radio("Plane", PLANES, key="viewer-plane")] if single else list(PLANES)
with overlay_col:
    method = st.radio("Overlay", ["none", "IG", "Grad-CAM"], horizontal=True, key="viewer-method")
    opacity = st.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="viewer-opacity")
    overlay = explained = None
    if method != "none":
        require("score_case")
        choice = overlay_model_picker("viewer")
        if choice is not None:
            try:
                overlay, explained = case_overlay(case, choice, method, "viewer")
            except Exception as error:  # noqa: BLE001 - shown to the user
                show_error(error)

planes_viewer(
    case,
    "viewer",
    window,
    planes=planes,
    overlay=overlay,
    opacity=opacity,
    structures=shown,
    height=720 if single else 480,
)
if explained is not None:
    notes = [f"{method} map computed in {explained.seconds:.1f} s"]
    if explained.completeness_delta is not None:
        notes.append(f"completeness delta {explained.completeness_delta:.1%}")
    if explained.enrichment is not None:
        notes.append(
            f"GTV enrichment of the {explained.enrichment_note} {explained.enrichment:.1f}x"
        )
    elif explained.enrichment_note:
        notes.append(f"no GTV enrichment: {explained.enrichment_note}")
    notes.append(f"colour limit {overlay.scale.limit:.2g} (99.5th percentile of |map|)")
    if overlay.scale.signed:
        notes.append("red raises the risk, blue lowers it")
    st.caption(" · ".join(notes))
