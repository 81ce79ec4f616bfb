"""Radiomics of the current case with a chosen preset, as a table to read and download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from survival_core.case import Case
from survival_core.features.presets import PRESETS
from survival_core.text import file_name_part
from ui.auth import export_button
from ui.state import show_error


def _computable(case: Case, preset: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The preset's ROIs this case can give, and those it cannot (organ_minus_gtv without an
    organ contour)."""
    from survival_core.features.presets import get_preset
    from survival_core.features.settings import required_masks

    rois = get_preset(preset, case.modality).rois
    missing = tuple(r for r in rois if not set(required_masks((r,))) <= set(case.masks))
    return tuple(r for r in rois if r not in missing), missing


@st.cache_data(max_entries=64, show_spinner=False)
def case_radiomics(
    _case: Case, case_key: tuple[str, str, str], preset: str, rois: tuple[str, ...]
) -> pd.DataFrame:
    """Features of one case on ``rois`` as a table (roi, setting, class, feature, value); cached
    per case id, source and content (masks, modality) and preset (the MR variant for MR), and
    computed once per case content (a model scoring the case with the same settings reuses
    them)."""
    from survival_core.features.case_cache import case_radiomics as computed_once
    from survival_core.features.presets import get_preset
    from survival_core.features.settings import split_feature_name

    settings = get_preset(preset, _case.modality).with_rois(rois)
    values = computed_once(_case, settings)
    rows = [(*split_feature_name(name), value) for name, value in values.items()]
    return pd.DataFrame(rows, columns=["roi", "setting", "class", "feature", "value"])


def radiomics_panel(case: Case) -> None:
    """Pick a preset (and, for a PET/CT case, the image), extract on demand, show and offer the
    table as CSV."""
    preset = st.selectbox("Preset", list(PRESETS), key="radiomics-preset")
    modality = case.modality
    if case.companions:  # the PET beside the CT: its radiomics, the GTV moved onto its grid
        modality = st.selectbox(
            "Image", [case.modality, *sorted(case.companions)], key="radiomics-image"
        )
    shown = f"radiomics-{case.case_id}-{preset}-{modality}"
    if not st.button("Extract features", key="radiomics-run") and not st.session_state.get(shown):
        st.caption("wei2021: 56 texture features; han2020: 552; full: every pyradiomics class.")
        return
    st.session_state[shown] = True
    try:
        from survival_core.io.modality_view import modality_view

        case = modality_view(case, modality)
        rois, missing = _computable(case, preset)
        if missing:
            from survival_core.features.settings import required_masks

            lacking = sorted(set(required_masks(missing)) - set(case.masks))
            st.info(
                f"{preset}: {', '.join(missing)} cannot be computed on this case, which has no "
                f"{' or '.join(lacking)} mask (map it on the Case page to add it)"
                + ("; the other ROIs are shown." if rois else "."),
                icon=":material/info:",
            )
        if not rois:
            return
        with st.spinner(f"Extracting {preset} features ({case.modality})..."):
            table = case_radiomics(
                case, (case.case_id, case.source, case.content_digest()), preset, rois
            )
    except Exception as error:  # noqa: BLE001 - shown to the user
        show_error(error)
        return
    st.dataframe(table, hide_index=True, width="stretch", height=420)
    export_button(
        "Download CSV",
        table.to_csv(index=False).encode(),
        f"{file_name_part(case.case_id)}-{preset}-{case.modality}.csv",
        "text/csv",
        case.case_id,
        what="radiomics",
        preset=preset,
    )
