"""Eight browser sessions upload and score eight different cases at once against one server: each
sees its own case and the risk the CLI computes for it, the model is loaded once, and the server's
memory grows by what the uploaded cases weigh, not by a model or a server per session.

The eight uploads are distinct twice over: they are the two DICOM cases of the small cohort, four
zips each, every zip with its own PatientID (so the server gives it its own ``RS-`` pseudonym)
and its own albumin, bilirubin and ECOG values (the default model's inputs, so its own risk)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from survival_core.io.manifest import read_manifest
from tests.browser_app import (
    CHROMIUM,
    dicom_cases,
    distinct_uploads,
    group_rss_mb,
    prepare_data_folder,
    sampled_rss,
    score_uploads,
    serve_app,
    shared_chromium,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.serial  # the load test: eight sessions on the whole machine, alone
pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: `make browser` installs it", allow_module_level=True)

SESSIONS = 8
#: Worker processes of the server's case pool (scoring, survival band, attributions).
WORKERS = 2
#: Per-step wait (ms): eight sessions share two busy cores with the server and the CLI runs.
STEP_MS = 90_000
#: Memory bound of the eight sessions, over the server's RSS after the warm-up session (which
#: imported the scoring stack and loaded the model, ~700 MB in all): per session, PER_CASE_FACTOR
#: times the loaded case (float32 image + uint8 masks, ~10 MB here: the cached case, its upload
#: bytes, stored copy and slice figures in Streamlit's message cache; ~2.5x measured), plus a
#: fixed allowance for allocator arenas and code the warm-up did not reach. The model is tiny, so
#: copies of it are caught by counting its loads (LOAD_COUNTER), not by RSS; a copy of the
#: scoring stack per session (hundreds of MB each) would break the bound many times over.
FIXED_ALLOWANCE_MB = 150.0
PER_CASE_FACTOR = 6.0

#: Loaded into the server through PYTHONPATH: appends each load_scoring_model call's folder to
#: $RADSURV_TEST_MODEL_LOADS, so the test sees from outside how often a model is loaded.
LOAD_COUNTER = """
import os

from survival_core.models import scoring

_load = scoring.load_scoring_model


def _counted(folder):
    with open(os.environ["RADSURV_TEST_MODEL_LOADS"], "a") as out:
        out.write(f"{folder}\\n")
    return _load(folder)


scoring.load_scoring_model = _counted
"""


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots, logs and the model-load record (printed so a run can be inspected)."""
    folder = tmp_path_factory.mktemp("concurrency")
    print(f"concurrency test output: {folder}")
    return folder


@pytest.fixture(scope="module")
def data(small_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's data folder: the small cohort as the demo, its tiny default model."""
    folder = tmp_path_factory.mktemp("concurrency-data")
    prepare_data_folder(folder, small_cohort)
    return folder


@pytest.fixture(scope="module")
def uploads(small_cohort: Path, data: Path, output: Path) -> list[tuple[Path, str]]:
    """Nine distinct DICOM zips (one warm-up, eight for the concurrent sessions) with the case id
    the server will show for each."""
    return distinct_uploads(small_cohort, data, output, SESSIONS + 1)


def default_model(data: Path) -> Path:
    """The default model folder of the data folder ``data``."""
    from survival_core.workflows.demo import default_model_dir

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADSURV_DATA_DIR", str(data))
        return default_model_dir()


@contextlib.contextmanager
def cli_scores(uploads: list[tuple[Path, str]], data: Path) -> Iterator[subprocess.Popen]:
    """``python -m survival_core score --case ZIP... --model <default model> --json``: every
    upload scored by one process, started at once (it runs while the server starts and the
    sessions score); killed if still running when the block ends."""
    env = {**os.environ, "RADSURV_DATA_DIR": str(data), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "survival_core", "score", "--json"]
    command += ["--model", str(default_model(data)), "--case", *(str(a) for a, _ in uploads)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def cli_results(process: subprocess.Popen, uploads: list[tuple[Path, str]]) -> list[dict]:
    """The scores of a finished ``score --json`` over ``uploads``, in their order."""
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    by_source = {row["source"]: row for row in result["cases"]}
    return [by_source[str(archive)] for archive, _ in uploads]


def test_eight_sessions_score_their_own_uploads(uploads, data, small_cohort, output):
    from survival_core.io.case_loader import load_case

    # image float32 + one uint8 mask per role, of the larger of the two DICOM cases
    case_mb = max(
        case.image.GetNumberOfPixels() * (4 + len(case.masks)) / 2**20
        for case in map(load_case, dicom_cases(small_cohort))
    )
    counter = output / "counter"
    counter.mkdir()
    (counter / "sitecustomize.py").write_text(LOAD_COUNTER)
    loads = output / "model-loads.txt"
    env = {
        "PYTHONPATH": f"{counter}:{ROOT}",
        "RADSURV_TEST_MODEL_LOADS": str(loads),
        "RADSURV_CASE_WORKERS": str(WORKERS),
    }
    log = output / "streamlit.log"
    first_case = read_manifest(small_cohort)["case_id"].iloc[0]

    with (
        cli_scores(uploads, data) as cli,
        serve_app(data, log, env=env) as served,
        shared_chromium(output / "chromium.log") as cdp,
    ):

        def session(index: int, start: threading.Barrier | None = None):
            shot = output / f"failure-session-{index}.png"
            upload = uploads[index]
            return score_uploads(cdp, served.url, first_case, [upload], shot, log, start, STEP_MS)

        # warm-up: one session loads the model and imports the upload and scoring code
        started = group_rss_mb(served.pid)
        shown = {0: session(0)[0]}
        before = group_rss_mb(served.pid)
        start = threading.Barrier(SESSIONS)
        with sampled_rss(served.pid) as rss, ThreadPoolExecutor(SESSIONS) as pool:
            futures = {i: pool.submit(session, i, start) for i in range(1, SESSIONS + 1)}
            shown |= {i: future.result()[0] for i, future in futures.items()}
        expected = dict(enumerate(cli_results(cli, uploads)))
    # the eight risks differ when shown to 2 decimals, so no session can pass with another's
    assert len({f"{e['risk']:.2f}" for e in expected.values()}) == SESSIONS + 1, expected
    # each session waited for its own case id on the Case and Risk pages (score_uploads)
    for index, (_, case_id) in enumerate(uploads):
        assert expected[index]["case_id"] == case_id  # the CLI reads the zip as the server does
        assert shown[index].risk == f"{expected[index]['risk']:.2f}", (index, shown[index])
        assert shown[index].risk_group == expected[index]["risk_group"], (index, shown[index])

    # the one model the sessions use, loaded once for all nine of them: once in the server (its
    # pages read the card) and once in each worker of its case pool
    assert Counter(loads.read_text().splitlines()) == {str(default_model(data)): 1 + WORKERS}
    growth = max(rss) - before
    limit = FIXED_ALLOWANCE_MB + SESSIONS * PER_CASE_FACTOR * case_mb
    print(
        f"server RSS {started:.0f} MB started, {before:.0f} MB after warm-up, peak {max(rss):.0f} MB under {SESSIONS} "
        f"sessions (+{growth:.0f} MB, limit {limit:.0f} MB; case {case_mb:.1f} MB); "
        f"seconds per case {sorted(round(s.seconds, 1) for s in shown.values())}"
    )
    assert growth < limit
