"""Per-case latency at the server when several users work at once, and page switches under load.

    .venv/bin/python benchmarks/bench_load.py [--users 8] [--cases 1] [--workers 2] [--same-case]
                                              [--switch-every 1.0] [--json]

Measured at the server, without browsers (a browser per user on the same two cores measured
mostly the browsers): each user is a thread making the calls the app's pages make for a new case,
in the same process with the same case pool as ``streamlit run app.py``. A case's time runs from
its upload's bytes to everything the Risk and Report pages show: the DICOM zip de-identified and
stored by content, classified and read (the Case page, in the case pool); radiomics (in
parts side by side), score, survival band and input attributions from the case pool (the Risk
page, worker processes); the PDF (the Report page, also drawn in the pool). Every user has a
different patient (a demo case of its own, its own PatientID and clinical values), so nothing is
shared between them; ``--same-case`` gives every user the same file instead (a tumor board
opening one case, new to the server: the alone run's results are forgotten first), which the
pool stores, classifies, reads, scores and draws once.

Run on the prepared demo (``make run`` or ``prepare-demo``; its default model reads wei2021
radiomics). First one user alone (after a warm-up case: workers started, imports done), then
``--users`` users at once, each doing ``--cases`` cases one after another. Meanwhile another
thread switches pages in Streamlit's AppTest (the server-side script run of a page switch: the
Case and Cohort pages) every ``--switch-every`` seconds (a user clicking; 0: back to back, which
keeps a core of the server busy with page runs alone) and times each switch. Reports the alone
time, p50/p95/max per case under load, their ratio, the page-switch p50/p95/max during the load
and the peak RSS of the server process and of each pool worker.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _uploads(count: int, same: bool, out: Path) -> list[bytes]:
    """``count`` DICOM zips of distinct demo cases (or one case ``count`` times), each with its own
    PatientID and clinical values."""
    from survival_core.paths import demo_cohort_dir
    from tests.browser_app import dicom_cases, dicom_zip

    bases = dicom_cases(demo_cohort_dir())
    if not same and count > len(bases):
        raise SystemExit(f"--users x --cases = {count} > the demo's {len(bases)} DICOM cases")
    made = []
    for index in range(count):
        shared = same and index > 0  # the warm-up case is another patient's
        base = bases[1 if shared else index]
        step = 0 if shared else index % 15
        clinical = {"albumin": 28.0 + 2 * step, "bilirubin": 10.0 + 5 * step, "ecog": step % 3}
        patient = "LOAD-PATIENT" if shared else f"LOAD-PATIENT-{index}"
        archive = dicom_zip(base, out, patient_id=patient, clinical=clinical, name=f"u{index}")
        made.append(archive.read_bytes())
    return made


def one_case(
    data: bytes, name: str, pool, loaded, modified: float, new: bool = True
) -> tuple[dict[str, float], str, Path]:
    """Seconds from an upload's bytes to its score, survival band, attributions and PDF
    (``total``), and of its stages: ``read`` (store, classify, read), ``pool`` (waiting for the
    case pool's three results), ``pdf``; the case's content digest and its upload folder. ``new``:
    first forget the case's cached radiomics (left by an earlier run of this benchmark)."""
    from survival_core.features.case_row import radiomics_settings
    from survival_core.features.cohort import FeatureCache
    from survival_core.io.uploads import CLINICAL_KEEP
    from survival_core.workflows.case_pool import (
        band_task,
        explain_task,
        radiomics,
        read_upload,
        score_task,
        store,
    )
    from survival_core.workflows.case_pool import (
        report as report_pdf,
    )

    folder = str(loaded.folder)
    start = time.perf_counter()
    upload, contents = store(pool, [(f"{name}.zip", data)], CLINICAL_KEEP).result()
    roles = contents.suggested_roles()  # the Case page's structure mapping
    mapping = tuple((role, tuple(names)) for role, names in roles.items())
    case = read_upload(pool, str(upload), mapping).result()
    settings = radiomics_settings(loaded)
    if new:
        FeatureCache(settings).discard(case.content_digest())
    values = json.dumps(case.clinical, sort_keys=True, default=str)
    read = time.perf_counter()
    # as the Risk page: the radiomics in parts, the score, then the survival band and attributions
    radiomics(pool, case, settings)
    score = pool.submit(score_task, case, values, folder, modified).result()
    band = pool.submit(band_task, case, values, folder, modified)
    explained = pool.submit(explain_task, case, values, folder, modified, "ig")
    band.result()
    explanation = explained.result()
    pooled = time.perf_counter()
    report_pdf(pool, case, values, folder, modified, score, explanation).result()
    end = time.perf_counter()
    stages = {
        "total": end - start,
        "read": read - start,
        "pool": pooled - read,
        "pdf": end - pooled,
    }
    return stages, case.content_digest(), Path(upload)


def page_switches(start: threading.Barrier, stop: threading.Event, every: float) -> list[float]:
    """Seconds of each AppTest page switch (Case, Cohort pages in turn, one every ``every``
    seconds) from ``start`` (its pages visited once before) until ``stop``."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    pages = ("pages/case.py", "pages/cohort.py")
    for page in pages:  # first visits fill the caches
        app.switch_page(page).run()
    start.wait()
    seconds = []
    while not stop.is_set():
        for page in pages:
            begin = time.perf_counter()
            app.switch_page(page).run()
            seconds.append(time.perf_counter() - begin)
            stop.wait(max(0.0, every - seconds[-1]))
    return seconds


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_s": None, "p95_s": None, "max_s": None}
    return {
        "p50_s": round(float(np.percentile(values, 50)), 2),
        "p95_s": round(float(np.percentile(values, 95)), 2),
        "max_s": round(max(values), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--cases", type=int, default=1, help="cases per user, one after another")
    parser.add_argument("--workers", type=int, default=2, help="case-pool worker processes")
    parser.add_argument("--same-case", action="store_true", help="every user opens one upload")
    parser.add_argument(
        "--switch-every", type=float, default=1.0, help="seconds between page switches"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from survival_core.features.case_row import radiomics_settings
    from survival_core.features.cohort import FeatureCache
    from survival_core.io.upload_case import forget_uploads
    from survival_core.workflows.case_pool import CasePool
    from survival_core.workflows.demo import default_model_dir, demo_ready

    if not demo_ready():
        parser.error("the demo is not prepared: run `python -m survival_core prepare-demo` first")
    os.environ["RADSURV_CASE_WORKERS"] = "0"  # the AppTest pages' own pool: they use none here
    from survival_core.models.scoring import load_scoring_model

    loaded = load_scoring_model(default_model_dir())
    modified = (default_model_dir() / "model.json").stat().st_mtime
    count = 2 + args.users * args.cases
    with tempfile.TemporaryDirectory() as tmp:
        uploads = _uploads(count, args.same_case, Path(tmp))
    pool = CasePool(workers=args.workers)
    workers_rss: list[float] = []
    try:
        progress("warm-up case (workers start, imports)")
        warm = one_case(uploads[0], "warm", pool, loaded, modified)[0]["total"]
        alone_stages, shared_digest, stored = one_case(uploads[1], "alone", pool, loaded, modified)
        alone = alone_stages["total"]
        progress(f"alone: {alone:.2f} s; now {args.users} users x {args.cases} case(s)")
        if args.same_case:  # the shared case is new to the server again: forget the alone run
            pool._tasks.clear()
            forget_uploads()
            shutil.rmtree(stored)  # the workers' memos of the stored upload lapse with it
            FeatureCache(radiomics_settings(loaded)).discard(shared_digest)  # and its radiomics
        stop, start = threading.Event(), threading.Barrier(args.users + 2)

        def user(k: int) -> list[dict[str, float]]:
            start.wait()
            mine = uploads[2 + k * args.cases : 2 + (k + 1) * args.cases]
            name = "shared" if args.same_case else f"user{k}"  # one shared file: read once
            return [
                one_case(data, f"{name}-{j}", pool, loaded, modified, not args.same_case)[0]
                for j, data in enumerate(mine)
            ]

        with ThreadPoolExecutor(args.users + 1) as threads:
            users = [threads.submit(user, k) for k in range(args.users)]
            switches = threads.submit(page_switches, start, stop, args.switch_every)
            start.wait()
            began = time.perf_counter()
            try:
                cases = [stages for future in users for stages in future.result()]
            finally:  # a failed case ends the page switches too
                stop.set()
            latencies = [stages["total"] for stages in cases]
            wall = time.perf_counter() - began
            switched = switches.result()
        workers_rss = [_peak_rss_mb(pid) for pid in pool._executor._processes]
    finally:
        pool.shutdown()
    under_load = _quantiles(latencies)
    report(
        {
            "users": args.users,
            "cases_per_user": args.cases,
            "workers": args.workers,
            "same_case": args.same_case,
            "switch_every_s": args.switch_every,
            "warm_up_s": round(warm, 2),
            "alone_s": round(alone, 2),
            "alone_stages_s": {k: round(v, 2) for k, v in alone_stages.items()},
            **under_load,
            "p95_over_alone": round(under_load["p95_s"] / alone, 2),
            "median_stages_s": {
                k: round(float(np.median([c[k] for c in cases])), 2) for k in alone_stages
            },
            "wall_s": round(wall, 2),
            "page_switch": {**_quantiles(switched), "n": len(switched)},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "worker_peak_rss_mb": workers_rss,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
