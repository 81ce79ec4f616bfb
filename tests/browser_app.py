"""Helpers of the real-browser tests: a prepared data folder, the app served on a free port, the
Chromium that `make browser` installs (Debian's package, never a downloaded one), and the steps of
a browser session (open the app, upload a case, read its risk), timed, one session per thread."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: Debian's chromium (`make browser` installs it); playwright drives it, never its own download.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
#: Default model of the served app: Cox on three clinical columns (trains in well under 1 s).
CLINICAL_FEATURES = "^(albumin|bilirubin|ecog)$"
#: Image model of the Viewer's overlays: the smallest cnn3d that trains in seconds on one thread.
TINY_CNN = {
    "volume_shape": [32, 32, 8],
    "patch_size": [24, 24, 8],
    "channels": [4, 8, 8, 8],
    "fc": 8,
    "epochs": 1,
}


def prepare_data_folder(folder: Path, cohort: Path) -> None:
    """Install ``cohort`` as the demo cohort of the data folder ``folder`` and train its default
    model (coxph) and image model (tiny cnn3d) where the app looks for them.

    The server is another process and reads the demo's size and seed from assets/demo.yaml, so
    the copy's cohort.json is rewritten to match them: ``demo_ready()`` is then true there.
    """
    from survival_core.workflows import demo
    from survival_core.workflows.training import train_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADSURV_DATA_DIR", str(folder))
        target = demo.demo_cohort_dir()
        shutil.copytree(cohort, target)
        meta = target / "cohort.json"
        info = json.loads(meta.read_text())
        meta.write_text(json.dumps({**info, "n": demo.DEMO_N, "seed": demo.DEMO_SEED}, indent=1))
        clinical = target / "clinical.csv"
        train_model(
            [clinical], "coxph", {"penalizer": 1.0}, demo.default_model_dir(),
            features=CLINICAL_FEATURES,
        )  # fmt: skip
        train_model([clinical], "cnn3d", dict(TINY_CNN), demo.image_model_dir(), cohort=target)


def dicom_zip(
    case_folder: Path,
    out: Path,
    *,
    patient_id: str | None = None,
    clinical: dict | None = None,
    name: str | None = None,
) -> Path:
    """A zip of a DICOM case (its ct/*.dcm, rtstruct.dcm and clinical.json), named ``name`` or
    after the case.

    With ``patient_id``, every DICOM file carries it as PatientID and PatientName and is no longer
    marked de-identified, so the server gives the upload its own pseudonym; ``clinical`` overrides
    values of clinical.json (the ALBI score and grade are then dropped, for the reader to derive
    them from albumin and bilirubin).
    """
    import pydicom

    archive = out / f"{name or case_folder.name}.zip"
    files = [(p, f"ct/{p.name}") for p in sorted((case_folder / "ct").glob("*.dcm"))]
    files.append((case_folder / "rtstruct.dcm", "rtstruct.dcm"))
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path, member in files:
            if patient_id is None:
                zipped.write(path, member)
                continue
            dataset = pydicom.dcmread(path)
            dataset.PatientID = dataset.PatientName = patient_id
            if "PatientIdentityRemoved" in dataset:
                del dataset.PatientIdentityRemoved
            content = io.BytesIO()
            dataset.save_as(content)
            zipped.writestr(member, content.getvalue())
        if not clinical:
            zipped.write(case_folder / "clinical.json", "clinical.json")
            return archive
        values = json.loads((case_folder / "clinical.json").read_text())
        derived = ("albi_score", "albi_grade")
        values = {k: v for k, v in values.items() if k not in derived} | clinical
        zipped.writestr("clinical.json", json.dumps(values))
    return archive


def dicom_cases(cohort: Path) -> list[Path]:
    """The folders of the cohort's DICOM cases."""
    from survival_core.io.manifest import read_manifest

    manifest = read_manifest(cohort)
    return [cohort / "cases" / c for c in manifest.loc[manifest["format"] == "dicom", "case_id"]]


def distinct_uploads(cohort: Path, data: Path, out: Path, count: int) -> list[tuple[Path, str]]:
    """``count`` DICOM zips in ``out``, made from the cohort's DICOM cases in turn, each with its
    own PatientID and clinical values (albumin, bilirubin, ECOG; under the tests' default model the
    first nine risks run from about -1.8 to 4.1, both risk groups), with the case id the server over
    the data folder ``data`` shows for it: the pseudonym of its PatientID under that folder's key."""
    from survival_core.io.deid import Deidentifier

    bases = dicom_cases(cohort)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADSURV_DATA_DIR", str(data))
        deidentifier = Deidentifier()
    made = []
    for index in range(count):
        step = index % 15  # albumin stays within 28-56 g/L, bilirubin within 10-80 umol/L
        clinical = {"albumin": 28.0 + 2 * step, "bilirubin": 10.0 + 5 * step, "ecog": index % 3}
        patient = f"LOAD-PATIENT-{index}"
        archive = dicom_zip(
            bases[index % len(bases)], out, patient_id=patient, clinical=clinical,
            name=f"upload-{index}",
        )  # fmt: skip
        made.append((archive, deidentifier.pseudonym(patient)))
    return made


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (empty when there is none yet)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(server: subprocess.Popen) -> None:
    """Terminate the server's process group; kill it if it is still there after 15 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(15)


@dataclass(frozen=True)
class Served:
    """A running app: its URL and the server's process id (also its process group's)."""

    url: str
    pid: int


@contextmanager
def serve_app(
    data_folder: Path, log: Path, timeout: float = 120.0, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """``streamlit run app.py`` on a free port over ``data_folder`` (``env`` added to its
    environment), its output in ``log``; yields the app once /_stcore/health answers, and stops
    the server afterwards."""
    port = free_port()
    env = {
        **os.environ, "RADSURV_DATA_DIR": str(data_folder), "OMP_NUM_THREADS": "1", **(env or {})
    }  # fmt: skip
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        # no file watcher: it only costs CPU here, and inotify floods the log on a busy machine
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://localhost:{port}"
    try:
        _wait_answering(server, f"{url}/_stcore/health", timeout, log)
        yield Served(url, server.pid)
    finally:
        _stop(server)


def _wait_answering(process: subprocess.Popen, url: str, timeout: float, log: Path) -> None:
    """Return once ``url`` answers 200; raise (with ``log``'s tail) if ``process`` exits first or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args[0]} exited with {process.returncode}:\n{log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not answering after {timeout:.0f} s:\n{log_tail(log)}")
        time.sleep(0.5)


def group_rss_mb(pgid: int) -> float:
    """Resident memory (MB) of every process in the process group ``pgid`` (a served app and any
    child it started), read from /proc."""
    total_kb = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
        total_kb += sum(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return total_kb / 1024


#: Longest wait for one browser step (ms): a cold server on two busy cores loads, scores, explains.
STEP_MS = 120_000
#: The app when no script run is under way (the attribute Streamlit's own browser tests read).
IDLE_APP = '[data-testid="stApp"][data-test-script-state="notRunning"]'
VIEWPORT = {"width": 1600, "height": 1000}


def launch_chromium(playwright):
    """Debian's headless chromium, driven by ``playwright`` (a sync or async Playwright)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


@contextmanager
def shared_chromium(log: Path, timeout: float = 60.0) -> Iterator[str]:
    """One headless chromium for many threads; yields its DevTools endpoint, to which each thread's
    own Playwright connects (playwright's sync API is bound to the thread that started it)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, log.open("w") as output:
        process = subprocess.Popen(
            [str(CHROMIUM), *CHROMIUM_ARGS, f"--remote-debugging-port={port}",
             f"--user-data-dir={profile}", "about:blank"],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        endpoint = f"http://localhost:{port}"
        try:
            _wait_answering(process, f"{endpoint}/json/version", timeout, log)
            yield endpoint
        finally:
            _stop(process)


@contextmanager
def explained_failure(page, shot: Path, log: Path) -> Iterator[None]:
    """Turn any failure into one naming the screenshot ``shot`` and ending in the server log."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - re-raised with what is needed to debug it
        with contextlib.suppress(Exception):
            page.screenshot(path=shot, full_page=True)
        raise AssertionError(
            f"{type(error).__name__}: {error}\nscreenshot: {shot}\n"
            f"server log tail:\n{log_tail(log)}"
        ) from error


def metric(page, label: str) -> str:
    """The shown value of the metric labelled ``label`` (waits until it is there)."""
    shown = page.locator('[data-testid="stMetric"]', has_text=label).first
    return shown.locator('[data-testid="stMetricValue"]').inner_text().strip()


def nav(page, title: str) -> None:
    """Click the sidebar link to the page titled ``title``."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()


def open_app(page, url: str, first_case: str) -> None:
    """Open the app; the Case page shows the demo cohort's first case (``first_case``)."""
    page.goto(url)
    page.get_by_role("heading", name=f"{first_case} ·").wait_for()


def upload_case(page, archive: Path, case_id: str) -> None:
    """On the Case page: switch to Upload, upload ``archive``, wait until ``case_id`` is shown."""
    page.get_by_role("radiogroup", name="Source").get_by_role("radio", name="Upload").click()
    page.locator('input[type="file"]').set_input_files(archive)
    page.get_by_role("heading", name=f"{case_id} ·").wait_for()


def read_risk(page, case_id: str) -> dict[str, str]:
    """Go to the Risk page and read the current case's risk score and group as shown, once the
    page names ``case_id`` (another session's case never satisfies this wait)."""
    nav(page, "Risk")
    page.get_by_role("heading", name=case_id, exact=True).wait_for()
    return {"risk": metric(page, "Risk score"), "risk_group": metric(page, "Risk group")}


@dataclass(frozen=True)
class Shown:
    """What one session's Risk page showed for one upload, and seconds from upload to risk."""

    risk: str
    risk_group: str
    seconds: float


def score_uploads(
    endpoint: str,
    url: str,
    first_case: str,
    uploads: list[tuple[Path, str]],
    shot: Path,
    log: Path,
    start: threading.Barrier | None = None,
    step_ms: int = STEP_MS,
) -> list[Shown]:
    """One browser session on the shared chromium at ``endpoint``, in its own context (own
    cookies, own Streamlit session): open the app, then for each (zip, its case id) upload it on
    the Case page and read its risk on the Risk page. With ``start``, the uploads begin once every
    session sharing the barrier has the app open. A failure leaves a screenshot at ``shot``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(endpoint)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(step_ms)
        shown: list[Shown] = []
        try:
            with explained_failure(page, shot, log):
                open_app(page, url, first_case)
                if start is not None:  # the last of 8 pages to open on 2 loaded cores: a step
                    start.wait(3 * step_ms / 1000)  # each past the first's, not a speed check
                for archive, case_id in uploads:
                    if shown:
                        nav(page, "Case")
                        page.get_by_role("radiogroup", name="Source").wait_for()
                    began = time.perf_counter()
                    upload_case(page, archive, case_id)
                    risk = read_risk(page, case_id)
                    shown.append(Shown(**risk, seconds=time.perf_counter() - began))
        except BaseException:
            if start is not None:
                start.abort()  # the other sessions stop waiting for this one
            raise
        finally:
            context.close()
            browser.close()
        return shown


@contextmanager
def sampled_rss(pgid: int, every: float = 0.25) -> Iterator[list[float]]:
    """:func:`group_rss_mb` of ``pgid`` sampled every ``every`` seconds while the block runs (the
    list's max is the peak, its last item the value at the end)."""
    samples = [group_rss_mb(pgid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            samples.append(group_rss_mb(pgid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()
        samples.append(group_rss_mb(pgid))


@contextmanager
def demo_server(cohort: Path, data: Path, log: Path) -> Iterator[tuple[str, Path, Path]]:
    """The app over the data folder ``data`` prepared with ``cohort`` as its demo cohort (see
    :func:`prepare_data_folder`); yields (url, data folder, server log)."""
    prepare_data_folder(data, cohort)
    with serve_app(data, log) as served:
        yield served.url, data, log
