"""Time per case when several browser sessions upload and score cases at once on one server.

    .venv/bin/python benchmarks/bench_load.py [--sessions 8] [--cases 2] [--data DIR] [--json]

The app is served (``streamlit run app.py``) over a data folder: by default a private one under a
temporary folder, prepared like the browser tests (a 6-case synthetic cohort as the demo cohort,
a tiny default coxph and cnn3d); with ``--data``, an already prepared one (e.g. the real demo's,
after `make run`). Uploads are DICOM zips of the demo cohort's DICOM cases, each with its own
PatientID and clinical values, so every case is a new one to the server
(:func:`tests.browser_app.distinct_uploads`).

One headless chromium, one browser context (own Streamlit session) per session, one thread each.
A warm-up session first scores one upload (model load and imports, reported apart); then all
sessions start together and each uploads its cases one after another on the Case page. A case's
time runs from its upload's start to its risk score shown on the Risk page. Reports p50, p95 and
max seconds per case, the wall time of the loaded phase and the server's CPU time in it (its
process group; wall x 2 would be both cores), and the server's resident memory (MB) when started,
before the loaded phase, at its peak and after it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402
from survival_core.io.manifest import read_manifest  # noqa: E402
from tests.browser_app import (  # noqa: E402
    distinct_uploads,
    group_rss_mb,
    prepare_data_folder,
    sampled_rss,
    score_uploads,
    serve_app,
    shared_chromium,
)


def _group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds used so far by the processes of the group ``pgid`` (/proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _prepared(work: Path) -> Path:
    """A private data folder under ``work`` with the browser tests' cohort and models."""
    from survival_core.synthetic.generate import generate_cohort

    cohort = work / "cohort"
    generate_cohort(cohort, n=6, seed=7, workers=1)
    data = work / "data"
    prepare_data_folder(data, cohort)
    return data


def _load(data: Path, work: Path, sessions: int, cases: int) -> dict:
    from survival_core.paths import demo_cohort_dir

    os.environ["RADSURV_DATA_DIR"] = str(data)  # this process reads the served data folder too
    cohort = demo_cohort_dir()
    first_case = read_manifest(cohort)["case_id"].iloc[0]
    uploads = distinct_uploads(cohort, data, work, 1 + sessions * cases)
    log = work / "streamlit.log"
    with serve_app(data, log) as served, shared_chromium(work / "chromium.log") as cdp:

        def session(plan: list[tuple[Path, str]], start: threading.Barrier | None = None):
            shot = work / f"failure-{plan[0][1]}.png"
            return score_uploads(cdp, served.url, first_case, plan, shot, log, start)

        started = group_rss_mb(served.pid)
        warmup = session(uploads[:1])[0].seconds
        before = group_rss_mb(served.pid)
        progress(f"warm-up case {warmup:.1f} s; {sessions} sessions x {cases} cases...")
        plans = [uploads[1 + s * cases : 1 + (s + 1) * cases] for s in range(sessions)]
        barrier = threading.Barrier(sessions)
        with sampled_rss(served.pid) as rss, ThreadPoolExecutor(sessions) as pool:
            began, cpu = time.perf_counter(), _group_cpu_seconds(served.pid)
            results = list(pool.map(session, plans, [barrier] * sessions))
            wall = time.perf_counter() - began
            cpu = _group_cpu_seconds(served.pid) - cpu
    seconds = np.array([shown.seconds for result in results for shown in result])
    return {
        "sessions": sessions,
        "cases_per_session": cases,
        "cases": int(seconds.size),
        "p50_seconds": round(float(np.percentile(seconds, 50)), 2),
        "p95_seconds": round(float(np.percentile(seconds, 95)), 2),
        "max_seconds": round(float(seconds.max()), 2),
        "wall_seconds": round(wall, 1),
        "server_cpu_seconds": round(cpu, 1),
        "warmup_case_seconds": round(warmup, 2),
        "rss_started_mb": round(started),
        "rss_before_mb": round(before),
        "rss_peak_mb": round(max(rss)),
        "rss_after_mb": round(rss[-1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions")
    parser.add_argument("--cases", type=int, default=2, help="cases uploaded per session")
    parser.add_argument("--data", type=Path, help="prepared data folder (default: a private one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        data = args.data or _prepared(work)
        report(_load(data, work, args.sessions, args.cases), args.json)


if __name__ == "__main__":
    main()
