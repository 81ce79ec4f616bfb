"""Radiomics of the current case with a chosen preset, as a table to read and download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from survival_core.case import LEGACY_ROLES, Case
from survival_core.features.presets import PRESETS
from ui.state import show_error


@st.cache_data(max_entries=64, show_spinner=False)
def case_radiomics(_case: Case, case_key: tuple[str, str], preset: str) -> pd.DataFrame:
    """Features of one case as a table (roi, setting, class, feature, value); cached per case+preset."""
    from survival_core.features.presets import get_preset
    from survival_core.features.radiomics import extract_case
    from survival_core.features.settings import ROI_SOURCES, split_feature_name

    settings = get_preset(preset)
    # ROIs made from a mask the case lacks (organ_minus_gtv without an organ contour) are skipped
    present = {LEGACY_ROLES.get(role, role) for role in _case.masks}
    rois = tuple(
        roi
        for roi in settings.rois
        if {LEGACY_ROLES.get(m, m) for m in ROI_SOURCES.get(roi, ())} <= present
    )
    values = extract_case(_case, settings.with_rois(rois))
    rows = [(*split_feature_name(name), value) for name, value in values.items()]
    return pd.DataFrame(rows, columns=["roi", "setting", "class", "feature", "value"])


def radiomics_panel(case: Case) -> None:
    """Pick a preset, extract on demand, show and offer the table as CSV."""
    preset = st.selectbox("Preset", list(PRESETS), key="radiomics-preset")
    if not st.button("Extract features", key="radiomics-run") and not st.session_state.get(
        f"radiomics-{case.case_id}-{preset}"
    ):
        st.caption("wei2021: 56 texture features; han2020: 552; full: every pyradiomics class.")
        return
    st.session_state[f"radiomics-{case.case_id}-{preset}"] = True
    try:
        with st.spinner(f"Extracting {preset} features..."):
            table = case_radiomics(case, (case.case_id, case.source), preset)
    except Exception as error:  # noqa: BLE001 - shown to the user
        show_error(error)
        return
    st.dataframe(table, hide_index=True, width="stretch", height=420)
    st.download_button(
        "Download CSV",
        table.to_csv(index=False).encode(),
        file_name=f"{case.case_id}-{preset}.csv",
        mime="text/csv",
    )
