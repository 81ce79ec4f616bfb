"""The Viewer page: three planes of the current case, slice and window controls, IG overlay."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from survival_core.io.case_loader import load_case
from survival_core.workflows.demo import image_model_dir
from tests.conftest import ROOT
from ui.widgets import NO_IMAGE_MODEL

TINY_CNN = {
    "channels": [4, 8],
    "fc": 8,
    "batch_size": 4,
    "epochs": 1,
    "volume_shape": [32, 32, 8],
    "patch_size": [24, 24, 8],
}


@pytest.fixture()
def viewer(tmp_path, monkeypatch):
    """An app with the Viewer (default) and Case pages, in a fresh data folder."""
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "pages").symlink_to(ROOT / "pages")
    script = tmp_path / "app.py"
    script.write_text(
        "import streamlit as st\n"
        "st.navigation([st.Page('pages/viewer.py', default=True), st.Page('pages/case.py')]).run()\n"
    )
    return AppTest.from_file(str(script), default_timeout=60)


@pytest.fixture(scope="module")
def cohort_case(small_cohort):
    return load_case(sorted((small_cohort / "cases").iterdir())[0])


def _figures(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _values(encoded) -> np.ndarray:
    """A plotly array from the chart's JSON (base64 typed array or nested lists)."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])
    return np.asarray(encoded, dtype=float)


def _slider(app: AppTest, label: str):
    return next(s for s in app.slider if s.label == label)


def test_without_a_case_the_page_links_to_the_case_page(viewer):
    viewer.run()
    assert not viewer.exception
    assert "Case page" in viewer.info[0].value
    assert len(viewer.get("page_link")) == 1 and not viewer.get("plotly_chart")


def test_three_planes_follow_slice_and_window_controls(viewer, cohort_case):
    viewer.session_state["current_case"] = cohort_case
    viewer.run()
    assert not viewer.exception
    figures = _figures(viewer)
    assert [f["layout"]["title"]["text"].split()[0] for f in figures] == [
        "axial", "coronal", "sagittal"
    ]  # fmt: skip
    # each plane starts at the GTV's largest cross-section and moves with its slider
    axial = _slider(viewer, "Axial slice")
    start = axial.value
    axial.set_value(start + 1 if start < axial.max else start - 1).run()
    moved = _figures(viewer)
    assert moved[0]["data"][0]["z"] != figures[0]["data"][0]["z"]
    assert moved[1]["data"] == figures[1]["data"]  # the coronal image stays, its crosshair moves
    # a window preset sets level and width, and the CT is drawn in that window
    viewer.selectbox(key="viewer-preset").set_value("bone").run()
    assert (_slider(viewer, "Level (HU)").value, _slider(viewer, "Width (HU)").value) == (400, 1800)
    ct = _figures(viewer)[0]["data"][0]
    assert (ct["zmin"], ct["zmax"]) == (400 - 900, 400 + 900)
    # the axial slice's level is marked on the coronal plane
    z_mm = (axial.value - 1) * cohort_case.image.GetSpacing()[2]
    assert any(shape.get("y0") == pytest.approx(z_mm) for shape in moved[1]["layout"]["shapes"])
    # hiding the organ contour leaves the GTV alone in the legend
    shown = [t for t in viewer.toggle if (t.key or "").startswith("viewer-show-")]
    assert len(shown) == 2 and all(t.value for t in shown)
    for toggle in shown:
        toggle.set_value("GTV" in toggle.label)
    viewer.run()
    names = {t.get("name") for t in _figures(viewer)[0]["data"] if t["type"] == "scatter"}
    assert len(names) == 1 and "GTV" in next(iter(names))
    # one larger plane at a time on a narrow screen
    viewer.toggle(key="viewer-single").set_value(True).run()
    viewer.radio(key="viewer-plane").set_value("sagittal").run()
    (single,) = _figures(viewer)
    assert single["layout"]["title"]["text"].startswith("sagittal")


def test_overlay_without_an_image_model_says_how_to_get_one(viewer, cohort_case, monkeypatch):
    import ui.models

    # no registered model at all (skips creating a run store: the IG test below reads a real one)
    monkeypatch.setattr(ui.models, "model_choices", list)
    viewer.session_state["current_case"] = cohort_case
    viewer.run()
    viewer.radio(key="viewer-method").set_value("IG").run()
    assert not viewer.exception and not viewer.error
    assert any(NO_IMAGE_MODEL in info.value for info in viewer.info)
    assert all(len(f["data"]) >= 1 and f["data"][1]["type"] == "scatter" for f in _figures(viewer))


def test_ig_overlay_from_the_demo_image_model(viewer, cohort_case, small_cohort):
    from survival_core.workflows.training import train_model

    train_model(
        [small_cohort / "clinical.csv"], "cnn3d", TINY_CNN,
        image_model_dir(), cohort=small_cohort,
    )  # fmt: skip
    viewer.session_state["current_case"] = cohort_case
    viewer.run()
    viewer.radio(key="viewer-method").set_value("IG").run()
    assert not viewer.exception and not viewer.error
    assert viewer.selectbox(key="viewer-overlay-model").value.startswith("demo cnn3d")
    figures = _figures(viewer)
    overlays = [f["data"][1] for f in figures]
    assert all(o["type"] == "heatmap" and o["colorscale"] for o in overlays)
    limits = {(o["zmin"], o["zmax"]) for o in overlays}
    assert len(limits) == 1 and next(iter(limits))[0] == -next(iter(limits))[1]
    assert [o["showscale"] for o in overlays] == [False, False, True]
    # the map shows through somewhere and is transparent (NaN) elsewhere
    shown = np.concatenate([_values(o["z"]) for o in overlays])
    assert np.isfinite(shown).any() and np.isnan(shown).any()
    assert any("completeness delta" in c.value for c in viewer.caption)
    viewer.slider(key="viewer-opacity").set_value(0.8).run()
    assert _figures(viewer)[0]["data"][1]["opacity"] == 0.8


def test_a_one_slice_scan_is_drawn_without_a_slider(viewer, shared_data, tmp_path):
    """One axial slice of pyradiomics' real lung1 with its GTV: Streamlit refused the 1-to-1 slice
    slider and the page showed its exception instead of the image."""
    import SimpleITK as sitk

    source = shared_data / "pyradiomics"
    if not (source / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics' lung1 not in ../shared/data")
    image, label = (sitk.ReadImage(str(source / f"lung1_{n}.nrrd")) for n in ("image", "label"))
    k = int(np.argmax(sitk.GetArrayViewFromImage(label).sum(axis=(1, 2))))
    folder = tmp_path / "single"
    folder.mkdir()
    sitk.WriteImage(image[:, :, k : k + 1], str(folder / "image.nii.gz"))
    sitk.WriteImage(label[:, :, k : k + 1], str(folder / "gtv.nii.gz"))
    viewer.session_state["current_case"] = load_case(folder)
    viewer.run()
    assert not viewer.exception
    assert len(_figures(viewer)) == 3 and "Axial slice: 1 of 1" in [c.value for c in viewer.caption]
