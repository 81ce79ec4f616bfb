"""The dashboard in a real browser: upload a DICOM zip on the Case page, read its risk and the
Kaplan-Meier plot on the Risk page, draw a Grad-CAM overlay on the Viewer; full-page screenshots
of every step are kept in the test's output folder (printed; on failure, in the message too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from survival_core.io.manifest import read_manifest
from tests.browser_app import (
    CHROMIUM,
    IDLE_APP,
    STEP_MS,
    demo_server,
    dicom_zip,
    explained_failure,
    nav,
    open_app,
    read_risk,
    upload_case,
)

pytestmark = pytest.mark.heavy(60)  # two real-browser sessions
sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: `make browser` installs it", allow_module_level=True)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Tallest screenshot (px): Streamlit scrolls inside its main block, so the viewport is grown.
MAX_SHOT_HEIGHT = 8000
#: Name of a Kaplan-Meier curve trace (not its band, censor marks or at-risk row).
KM_CURVE = re.compile(r"(Low|High) risk( \(this patient's group\))?(, n = \d+)?")

#: Height (px) of the app's scrolled content.
CONTENT_HEIGHT_JS = """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]']
    .map(s => document.querySelector(s)).filter(Boolean).map(el => el.scrollHeight))"""
#: Title, trace names and types of every plotly chart on the page.
PLOTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => ({
    title: (el.layout && el.layout.title && el.layout.title.text) || '',
    names: (el.data || []).map(t => t.name || ''),
    types: (el.data || []).map(t => t.type || 'scatter'),
}))"""
KM_DRAWN_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(el =>
    (el.data || []).some(t => (t.name || '').includes("this patient's group")))"""
OVERLAY_DRAWN_JS = """(method) => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(el =>
    (el.data || []).some(t => t.type === 'heatmap' && t.name === method)).length >= 3"""


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots and the server log go (printed so a run can be inspected)."""
    folder = tmp_path_factory.mktemp("browser")
    print(f"browser test output: {folder}")
    return folder


@pytest.fixture(scope="module")
def server(small_cohort: Path, output: Path, tmp_path_factory: pytest.TempPathFactory):
    """The app served over its own data folder (demo cohort = the small cohort, tiny models)."""
    data = tmp_path_factory.mktemp("browser-data")
    with demo_server(small_cohort, data, output / "streamlit.log") as served:
        yield served


def _full_page_screenshot(page, path: Path) -> None:
    """The whole page once its script run ended: the viewport grown to the scrolled content's
    height, then restored."""
    page.locator(IDLE_APP).wait_for()
    viewport = page.viewport_size
    height = min(max(page.evaluate(CONTENT_HEIGHT_JS), viewport["height"]), MAX_SHOT_HEIGHT)
    page.set_viewport_size({"width": viewport["width"], "height": height})
    try:
        page.wait_for_timeout(500)  # let plotly re-layout to the new size
        page.screenshot(path=path, full_page=True)
    finally:
        page.set_viewport_size(viewport)


def test_upload_risk_and_overlay_in_a_browser(server, page, small_cohort, output, monkeypatch):
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.scoring import score_case

    url, data, log = server
    manifest = read_manifest(small_cohort)
    dicom_case = manifest.loc[manifest["format"] == "dicom", "case_id"].iloc[0]
    archive = dicom_zip(small_cohort / "cases" / dicom_case, output)
    # the zip read as the server reads it: its case id is a pseudonym keyed by the data folder
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))
    expected = score_case(load_case(archive), load_scoring_model(default_model_dir()))
    case_id = expected.case_id
    shots = []

    def shot(name: str) -> None:
        path = output / f"{len(shots) + 1:02d}-{name}.png"
        _full_page_screenshot(page, path)
        shots.append(path)

    with explained_failure(page, output / "failure.png", log):
        # the demo cohort is ready, so its first case is shown before the upload
        open_app(page, url, manifest["case_id"].iloc[0])
        upload_case(page, archive, case_id)
        shot("case-uploaded")

        shown = read_risk(page, case_id)
        assert shown == {"risk": f"{expected.risk:.2f}", "risk_group": expected.risk_group}
        page.wait_for_function(KM_DRAWN_JS, timeout=STEP_MS)
        shot("risk")
        km = [p for p in page.evaluate(PLOTS_JS) if "survival by risk group" in p["title"]]
        assert len(km) == 1, page.evaluate(PLOTS_JS)
        curves = [n for n in km[0]["names"] if KM_CURVE.fullmatch(n)]
        assert sorted(n.split()[0] for n in curves) == ["High", "Low"], km[0]["names"]
        mine = [n for n in curves if "this patient's group" in n]
        assert len(mine) == 1 and mine[0].startswith(expected.risk_group.title()), curves

        nav(page, "Viewer")
        page.get_by_role("heading", name=f"{case_id} ·").wait_for()  # "<id> · CT · Liver"
        overlay = page.locator('[data-testid="stRadio"]', has_text="Overlay")
        overlay.get_by_text("Grad-CAM", exact=True).click()
        page.wait_for_function(OVERLAY_DRAWN_JS, arg="Grad-CAM", timeout=STEP_MS)
        page.get_by_text("Grad-CAM map computed in").wait_for()
        shot("viewer-gradcam")
        planes = [p for p in page.evaluate(PLOTS_JS) if "Grad-CAM" in p["names"]]
        assert sorted(p["title"].split()[0] for p in planes) == ["axial", "coronal", "sagittal"]
        assert all(p["types"][p["names"].index("Grad-CAM")] == "heatmap" for p in planes)

    for path in shots:
        content = path.read_bytes()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 20_000, path


def test_real_sarcoma_ct_upload_in_a_browser(server, page, small_cohort, output, shared_data):
    """A real non-liver case written by others (TCIA STS_001 CT, whose RTSTRUCT was drawn before
    the image was re-exported) uploaded as a zip: its GTV is mapped unasked, it loads with the
    frame-of-reference warning, and the Viewer draws its one structure."""
    import shutil

    url, _, log = server
    manifest = read_manifest(small_cohort)
    archive = Path(
        shutil.make_archive(
            str(output / "sts_001_ct"), "zip", shared_data / "sts_sarcoma" / "STS_001" / "CT"
        )
    )
    with explained_failure(page, output / "failure-sarcoma.png", log):
        open_app(page, url, manifest["case_id"].iloc[0])
        page.get_by_role("radiogroup", name="Source").get_by_role("radio", name="Upload").click()
        page.locator('input[type="file"]').set_input_files(archive)
        heading = page.get_by_role("heading", name=re.compile(r" · CT · series \d+, [\d.]+ mm"))
        heading.wait_for()  # the series read: "<id> · CT · series 2, 3.27 mm slices"
        case_id = heading.inner_text().split(" · ")[0]
        assert case_id != manifest["case_id"].iloc[0]
        page.get_by_text("linked by frame of reference and geometry").wait_for()
        _full_page_screenshot(page, output / "sarcoma-case.png")
        nav(page, "Viewer")
        page.get_by_role("heading", name=f"{case_id} ·").wait_for()
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(el =>
                (el.data || []).some(t => (t.name || '').startsWith('GTV_Mass_CT'))).length >= 3""",
            timeout=STEP_MS,
        )
        _full_page_screenshot(page, output / "sarcoma-viewer.png")
        # the model refuses a case without its clinical values: the page stops early, and the
        # sidebar, drawn after the page, still names the case (it went blank)
        nav(page, "Risk")
        page.get_by_text("None of model").wait_for()  # its clinical values are missing
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text(f"Current case: {case_id}").wait_for()
    assert (output / "sarcoma-viewer.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_decimal_comma_typed_in_the_clinical_form_is_saved_as_typed(
    server, page, small_cohort, output, monkeypatch
):
    """Browser review: '42,8' typed for bilirubin showed 428 (a number input's browser drops the
    comma before the server sees it), and 428 umol/L was saved and scored. The field keeps the
    text, the page says it is read as 42.8, and the Risk page scores 42.8."""
    import json

    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.scoring import score_values

    url, data, log = server
    first = read_manifest(small_cohort)["case_id"].iloc[0]
    given = json.loads((small_cohort / "cases" / first / "clinical.json").read_text())
    typed = {k: v for k, v in given.items() if not k.startswith("albi_")} | {"bilirubin": 42.8}
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))
    expected = score_values(typed, load_scoring_model(default_model_dir()), first)
    with explained_failure(page, output / "failure-comma.png", log):
        open_app(page, url, first)
        page.get_by_role("tab", name="Clinical values").click()
        page.get_by_text("Edit clinical values").click()
        field = page.get_by_label("Total bilirubin [umol/L]", exact=True)
        field.fill("")
        field.press_sequentially("42,8")  # typed key by key, as a user does
        assert field.input_value() == "42,8"  # not '428'
        page.locator("button", has_text="Validate and save").click()
        page.get_by_text("Your corrections saved in this session replace").wait_for()
        saved = page.get_by_text("Clinical values saved for this session.")
        saved.wait_for(state="attached")  # drawn: in its tab, shown or not
        # the rerun keeps the tab the user was on (it went back to 'Slices and contours')
        selected = page.locator('[role="tab"][aria-selected="true"]')
        assert selected.all_inner_texts() == ["Clinical values"]
        saved.wait_for()
        page.get_by_text("Edit clinical values").click()  # closed by the rerun
        page.get_by_text("Read as 42.8 umol/L", exact=True).wait_for()
        assert read_risk(page, first)["risk"] == f"{expected.risk:.2f}"
