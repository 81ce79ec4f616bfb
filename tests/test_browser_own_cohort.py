"""A physicist's own cohort, end to end in a real browser: a TCIA-like download of lung CT +
RTSTRUCT patients (one of them broken) and the study's own clinical CSV are imported from the
Cohort page as a background job; a run on clinical + radiomics is trained from the Training page
on the imported cohort and made the active model; a radiologist then uploads a new lung patient,
fills the clinical form the model's schema produces, and reads the risk, the KM group and the
nomogram. Screenshots of every step are kept in the test's output folder."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest

from survival_core.io.manifest import read_manifest
from survival_core.synthetic.download_tree import write_download
from survival_core.synthetic.generate import generate_cohort
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

pytestmark = pytest.mark.heavy(160)  # import, train and score in a real browser
sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: `make browser` installs it", allow_module_level=True)

COHORT = "lung-study"
RADIOMICS = (
    "gtv__native_original__firstorder__Mean",
    "gtv__1mm_original__shape__Sphericity",
)
NEW_PATIENT = "NEW-LUNG-PATIENT"
#: Longest wait for a background job (import, training) on two busy cores.
JOB_S = 600
KM_DRAWN_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(el =>
    (el.data || []).some(t => (t.name || '').includes("this patient's group")))"""
#: Every text on the plotly figures of the page (nomogram axis labels are annotations).
FIGURE_TEXT_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(el =>
    ((el.layout && el.layout.annotations) || []).map(a => a.text || ''))"""


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory):
    """14 generated lung patients: 13 in a download tree (one without a recognisable GTV) with
    the study's clinical CSV, and one DICOM patient kept out of it for the upload."""
    generated = tmp_path_factory.mktemp("lung") / "generated"
    generate_cohort(generated, 14, seed=5, workers=2, site="lung")
    manifest = read_manifest(generated)
    held_out = manifest.loc[manifest["format"] == "dicom", "case_id"].iloc[-1]
    cases = [c for c in manifest["case_id"] if c != held_out]
    tree = write_download(
        generated, tmp_path_factory.mktemp("download"), cases=cases, problems=["no_gtv"]
    )
    return tree, generated / "cases" / held_out


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser-own-cohort")
    print(f"browser test output: {folder}")
    return folder


@pytest.fixture(scope="module")
def server(small_cohort: Path, output: Path, tmp_path_factory: pytest.TempPathFactory):
    """The app served over its own data folder (demo cohort = the small cohort, tiny models)."""
    data = tmp_path_factory.mktemp("own-cohort-data")
    with demo_server(small_cohort, data, output / "streamlit.log") as served:
        yield served


def _select(page, label: str, option: str) -> None:
    """Pick the option starting with ``option`` in the selectbox labelled ``label``: typed to
    filter the list, then clicked (Enter would also submit a form); tried again if the list
    re-rendered under the click, or the box still shows its prompt afterwards (on a loaded
    machine a click landing as the list re-rendered left 'Choose an option')."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label).first
    for attempt in range(3):
        box.locator("input").click()
        page.keyboard.type(option)
        try:
            page.get_by_role("option", name=option).first.click(timeout=15_000)
            _settle(page)
        except sync_api.TimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            continue
        if not box.get_by_text("Choose an option").count():  # a choice shown, not the prompt
            return
        assert attempt < 2, f"the {label} box shows no choice after picking {option!r}"


def _settle(page) -> None:
    """Wait until the rerun a widget change starts has ended."""
    page.wait_for_timeout(500)
    page.locator(IDLE_APP).wait_for()


def _wait_job(kind: str, timeout: float = JOB_S):
    """The newest job of ``kind`` once it has ended (the app runs it; this reads its folder)."""
    from survival_core.runs.jobs import list_jobs

    deadline = time.monotonic() + timeout
    while True:
        jobs = list_jobs(kind)
        if jobs and jobs[0].status != "running":
            return jobs[0]
        assert time.monotonic() < deadline, f"no {kind} job ended within {timeout:.0f} s"
        time.sleep(1)


def _run_config(cohort: Path) -> str:
    """The study's clinical variables + two han2020 radiomics features (so the nomogram has a
    readable number of axes), Cox, 3-fold CV: a 70/30 split of 12 patients tested 4, and when
    its training rows lacked a tested patient's histology (the split follows the data folder's
    key) that patient was left out and the 2 or 3 left held no comparable pair."""
    columns = "age_at_diagnosis|gender|ecog|t_stage|histology|" + "|".join(RADIOMICS)
    return (
        f"name: lung-own\ncohort: {cohort}\n"
        f"features:\n  clinical: true\n  radiomics: [han2020]\n  select: '^({columns})$'\n"
        "model:\n  name: coxph\n  params: {penalizer: 1.0}\n"
        "protocol:\n  name: nested_cv\n  repeats: 1\n  folds: 3\n"
    )


def test_own_cohort_import_train_and_score_in_a_browser(
    server, page, download, small_cohort, output, monkeypatch
):
    from survival_core.io.deid import Deidentifier
    from survival_core.runs.store import RunStore

    url, data, log = server
    tree, held_out = download
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))  # read the app's jobs and registry
    first_case = read_manifest(small_cohort)["case_id"].iloc[0]
    shots: list[Path] = []

    def shot(name: str) -> None:
        page.locator(IDLE_APP).wait_for()
        path = output / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        shots.append(path)

    with explained_failure(page, output / "failure.png", log):
        open_app(page, url, first_case)

        # -- the physicist imports the download and the spreadsheet -----------------------------
        nav(page, "Cohort")
        page.locator('[data-testid="stButtonGroup"] button', has_text="Import").click()
        page.get_by_role("textbox", name="Cohort name", exact=True).fill(COHORT)
        page.get_by_role("textbox", name="Download folder on this server", exact=True).fill(
            str(tree.images)
        )
        page.get_by_role(
            "textbox", name="Clinical spreadsheet on this server (CSV, XLSX or JSON)", exact=True
        ).fill(str(tree.clinical))
        _select(page, "Cancer site", "lung")
        page.get_by_text("Spreadsheet columns").click()
        _select(page, "Time unit", tree.time_unit)
        page.locator("button", has_text="Start the import").click()
        job = _wait_job("import")
        assert job.status == "finished", job.log()
        page.get_by_text(re.compile(r"1\s+failed\s+·\s+12\s+imported")).wait_for()
        shot("import-report")

        cohort = data / "cohorts" / COHORT
        report = pd.read_csv(cohort / "import_report.csv")
        failed = report[report["status"] == "failed"]
        assert (
            len(failed) == 1
            and tree.failing[tree.with_problem("no_gtv").patient_id] in (failed["reason"].iloc[0])
        )
        schema = (cohort / "schema.yaml").read_text()
        assert "T Stage" in schema and "Histology" in schema

        # -- ... trains on it and makes the model the app's active one ---------------------------
        nav(page, "Training")
        _select(page, "Start from", "(blank config)")
        page.get_by_text("Advanced: edit the YAML").click()
        editor = page.get_by_role("textbox", name="Run config (YAML)", exact=True)
        editor.fill(_run_config(cohort))
        editor.press("Control+Enter")
        page.locator(IDLE_APP).wait_for()
        page.get_by_text("Make its model the app's active model when the run finishes").click()
        page.locator("button", has_text="Start run").click()
        page.get_by_text(re.compile(r"^Started lung-own")).wait_for()
        job = _wait_job("train")
        assert job.status == "finished", job.log()
        active = RunStore().active_model()
        assert active is not None and active.name == "lung-own"

        # -- a radiologist uploads a new lung patient and fills the model's form -----------------
        page.goto(url)
        page.get_by_role("heading", name=f"{first_case} ·").wait_for()
        archive = dicom_zip(held_out, output, patient_id=NEW_PATIENT, name="new-lung-patient")
        case_id = Deidentifier().pseudonym(NEW_PATIENT)
        _select(page, "Model", "lung-own")
        upload_case(page, archive, case_id)
        page.get_by_role("tab", name="Clinical values").click()
        page.get_by_text("Missing: ").first.wait_for()  # the schema's variables, not given yet
        page.get_by_text("Edit clinical values").click()
        page.get_by_role("textbox", name="Age at diagnosis [years]", exact=True).fill("64")
        _select(page, "T Stage", "T2")
        _select(page, "Histology", "Adenocarcinoma")
        _select(page, "gender", "Male")
        page.locator("button", has_text="Validate and save").click()
        page.get_by_text("Missing: ").first.wait_for(state="detached")  # every variable given
        shot("case-form")

        shown = read_risk(page, case_id)
        page.wait_for_function(KM_DRAWN_JS, timeout=STEP_MS)
        assert shown["risk_group"].lower() in ("low", "high")
        assert abs(float(shown["risk"])) < 50
        shot("risk")

        nav(page, "Nomogram")
        page.wait_for_function(
            f"() => ({FIGURE_TEXT_JS})().some(t => t.includes('Total points'))", timeout=STEP_MS
        )
        # a long label is drawn on two lines, broken after a '__' or a space
        axes = " ".join(t.replace("</b><br><b>", "") for t in page.evaluate(FIGURE_TEXT_JS))
        for label in ("Age at diagnosis (years)", "T Stage", "Histology", *RADIOMICS):
            assert label in axes, axes
        shot("nomogram")
    assert all(path.stat().st_size > 20_000 for path in shots)
