"""The server-wide caches of a case's radiomics (Viewer's radiomics panel, Nomogram inputs) are
keyed by the case's content: the same upload with another GTV mapped is another case."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _panel() -> None:
    """The radiomics panel on a synthetic case whose GTV is halved when ``half`` is set."""
    import dataclasses

    import SimpleITK as sitk
    import streamlit as st

    from tests.case_builders import make_case
    from ui.radiomics import radiomics_panel

    case = make_case((40, 40, 12), case_id="UPLOAD-1")
    if st.session_state.get("half"):
        gtv = sitk.GetArrayFromImage(case.masks["gtv"])
        gtv[: gtv.shape[0] // 2] = 0
        half = sitk.GetImageFromArray(gtv)
        half.CopyInformation(case.masks["gtv"])
        case = dataclasses.replace(case, masks={**case.masks, "gtv": half})
    radiomics_panel(case)


def _volume(app: AppTest) -> float:
    table = app.dataframe[0].value
    row = table[(table["roi"] == "gtv") & (table["feature"] == "VoxelVolume")]
    return float(row["value"].iloc[0])


def test_radiomics_panel_follows_the_gtv_of_the_same_upload():
    app = AppTest.from_function(_panel, default_timeout=120)
    app.run()
    app.selectbox(key="radiomics-preset").set_value("full")
    app.button(key="radiomics-run").click().run()
    assert not app.exception, app.exception
    whole = _volume(app)
    app.session_state["half"] = True
    app.run()
    assert not app.exception, app.exception
    assert _volume(app) < 0.75 * whole  # it showed the first contour's features
