"""The Viewer page on any case: MR gets percentile windows (never HU presets), a PET in SUV opens in
an SUV window from 0, CT opens in its site's window, and every structure has a toggle, a colour and
a legend entry."""

from __future__ import annotations

import dataclasses
import json

import pytest
import SimpleITK as sitk
from streamlit.testing.v1 import AppTest

from survival_core.io.case_loader import load_case
from survival_core.preprocess.window import (
    DEFAULT_SUV_WINDOW,
    PERCENTILE_WINDOWS,
    SUV_WINDOWS,
    WINDOW_PRESETS,
    percentile_window,
)
from tests.case_builders import make_case
from tests.conftest import ROOT
from tests.test_pet_suv import write_pet_case
from tests.test_viewer_structures import lung_case


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


def _figures(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _image_range(app: AppTest) -> set[tuple[float, float]]:
    return {(f["data"][0]["zmin"], f["data"][0]["zmax"]) for f in _figures(app)}


def _legend(figure: dict) -> dict[str, str]:
    """Legend entry -> its line colour."""
    return {
        t["name"]: t["line"]["color"]
        for t in figure["data"]
        if t["type"] == "scatter" and t.get("showlegend", True)
    }


def test_mr_gets_percentile_windows_never_hu_presets(viewer):
    case = lung_case("MR")
    viewer.session_state["current_case"] = case
    viewer.run()
    assert not viewer.exception
    labels = {w.label for w in (*viewer.selectbox, *viewer.slider)}
    assert "Window preset" not in labels and not any("HU" in label for label in labels)
    assert any("no absolute scale" in c.value and "HU" in c.value for c in viewer.caption)
    percentiles = viewer.selectbox(key="viewer-percentile")
    assert percentiles.options == list(PERCENTILE_WINDOWS) and percentiles.value == "1-99 %"
    # every plane is drawn in the volume's 1-99 % window, in the image's own units
    expected = percentile_window(case.image, "1-99 %")
    ((low, high),) = _image_range(viewer)
    assert (low, high) == pytest.approx((expected.low, expected.high))
    assert all("HU" not in f["data"][0]["hovertemplate"] for f in _figures(viewer))
    # another percentile window, over one structure
    percentiles.set_value("5-95 %").run()
    viewer.selectbox(key="viewer-percentile-region").set_value("Lung-Left").run()
    expected = percentile_window(case.image, "5-95 %", case.structures["Lung-Left"])
    ((low, high),) = _image_range(viewer)
    assert (low, high) == pytest.approx((expected.low, expected.high))
    # fine-tuned by hand on the intensity range
    intensity = next(s for s in viewer.slider if s.label == "Intensity range")
    intensity.set_value((100.0, 500.0)).run()
    assert _image_range(viewer) == {(100.0, 500.0)}
    # the next case has no Lung-Left: its window starts over the whole volume
    other = make_case(case_id="MR-2")
    other.modality = "MR"
    viewer.session_state["current_case"] = other
    viewer.run()
    assert not viewer.exception
    assert viewer.selectbox(key="viewer-percentile-region").value == "whole volume"
    expected = percentile_window(other.image, "5-95 %")
    ((low, high),) = _image_range(viewer)
    assert (low, high) == pytest.approx((expected.low, expected.high))


def test_a_pet_in_suv_opens_in_an_suv_window_from_0(viewer, tmp_path):
    """A PET read as SUVbw (background SUV 2, lesion 8) was shown in its 1st-99th percentile
    window, SUV 2-8: the background black, and the caption said PET has no absolute scale."""
    case = load_case(write_pet_case(tmp_path / "pet"))
    assert case.modality == "PT"
    viewer.session_state["current_case"] = case
    viewer.run()
    assert not viewer.exception
    assert any("SUVbw" in c.value and "SUV 0" in c.value for c in viewer.caption)
    assert not any("no absolute scale" in c.value for c in viewer.caption)
    preset = viewer.selectbox(key="viewer-suv-preset")
    assert preset.options == list(SUV_WINDOWS) and preset.value == DEFAULT_SUV_WINDOW
    assert _image_range(viewer) == {(0.0, 5.0)}
    assert all(
        f["data"][0]["hovertemplate"].endswith(" SUVbw<extra></extra>") for f in _figures(viewer)
    )
    preset.set_value("SUV 0-10").run()
    assert _image_range(viewer) == {(0.0, 10.0)}
    suv = next(s for s in viewer.slider if s.label == "SUV range (SUVbw)")
    assert (suv.min, suv.max) == (0.0, 20.0)
    suv.set_value((1.0, 8.0)).run()
    assert _image_range(viewer) == {(1.0, 8.0)}
    # the same PET in Bq/ml (a volume file not in SUV): no SUV window, percentiles as for MR
    activity = sitk.Cast(case.image * 5300.0, sitk.sitkFloat32)
    viewer.session_state["current_case"] = dataclasses.replace(case, image=activity, case_id="Bq")
    viewer.run()
    assert not viewer.exception
    assert any("PT intensities have no absolute scale" in c.value for c in viewer.caption)
    expected = percentile_window(activity, "1-99 %")
    ((low, high),) = _image_range(viewer)
    assert (low, high) == pytest.approx((expected.low, expected.high))


@pytest.fixture(scope="module")
def mr_t1(shared_data):
    """The real sarcoma T1 (its volume's 1-99 % window 0-1063)."""
    return load_case(shared_data / "sts_sarcoma" / "STS_001" / "MR_T1")


def _intensity_slider(viewer: AppTest):
    return next(s for s in viewer.slider if s.label == "Intensity range")


def test_the_intensity_slider_shows_small_values(viewer, mr_t1):
    """The T1 scaled as an ADC map in mm^2/s (window 0-0.0018) read '0.00 - 0.00'."""
    adc = sitk.Cast(mr_t1.image * 1.7e-6, sitk.sitkFloat32)
    viewer.session_state["current_case"] = dataclasses.replace(mr_t1, image=adc)
    viewer.run()
    assert not viewer.exception
    window = percentile_window(adc, "1-99 %")
    slider = _intensity_slider(viewer)
    shown = [float(slider.proto.format % value) for value in slider.value]
    assert shown == pytest.approx([window.low, window.high], rel=0.01, abs=slider.step)
    assert shown[1] > 0.0017


def test_a_few_bright_voxels_do_not_stretch_the_intensity_slider(viewer, mr_t1):
    """20 voxels of 1e6 in the T1 stretched the slider to 0-1,000,000 in steps of 1000, the useful
    window being 0-1063; the full range stays one choice away."""
    bright = sitk.GetArrayFromImage(mr_t1.image)
    bright[29, 10:14, 10:15] = 1.0e6
    image = sitk.GetImageFromArray(bright)
    image.CopyInformation(mr_t1.image)
    viewer.session_state["current_case"] = dataclasses.replace(mr_t1, image=image)
    viewer.run()
    assert not viewer.exception
    slider = _intensity_slider(viewer)
    assert slider.value == pytest.approx((0.0, 1063.0))
    assert slider.max < 2000 and slider.step <= 1
    assert _image_range(viewer) == {(0.0, 1063.0)}
    viewer.selectbox(key="viewer-percentile").set_value("0-100 % (full range)").run()
    slider = _intensity_slider(viewer)
    assert (slider.min, slider.max) == (0.0, 1.0e6) and slider.value == (0.0, 1.0e6)
    assert _image_range(viewer) == {(0.0, 1.0e6)}


def test_ct_opens_in_its_sites_window(viewer):
    viewer.session_state["current_case"] = lung_case("CT")
    viewer.run()
    assert not viewer.exception
    assert viewer.selectbox(key="viewer-preset").value == "lung"
    lung = WINDOW_PRESETS["lung"]
    assert _image_range(viewer) == {(lung.low, lung.high)}
    assert not any(s.key == "viewer-percentile" for s in viewer.selectbox)


def test_four_structures_four_toggles_four_legend_entries(viewer):
    viewer.session_state["current_case"] = lung_case("CT")
    viewer.run()
    assert not viewer.exception
    assert viewer.subheader[0].value == "LUNG-1 · CT · Lung"
    toggles = [t for t in viewer.toggle if (t.key or "").startswith("viewer-show-")]
    assert [t.label for t in toggles] == [
        "GTV-1 · GTV",
        "Lung-Left · Lung (organ)",
        "Lung-Right · Lung (organ)",
        "Spinal-Cord",
    ]
    for figure in _figures(viewer):
        legend = _legend(figure)
        assert len(legend) == 4 and len(set(legend.values())) == 4
    # one toggle hides one structure, in every plane
    next(t for t in toggles if t.label == "Spinal-Cord").set_value(False).run()
    for figure in _figures(viewer):
        assert len(_legend(figure)) == 3
        assert not any(name.startswith("Spinal-Cord") for name in _legend(figure))
