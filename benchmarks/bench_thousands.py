"""Cohorts of thousands (issue 16): cross-validation, the BCa bootstrap and radiomics throughput.

    .venv/bin/python benchmarks/bench_thousands.py [--models coxnet,rsf,deepsurv] [--repeats 10]
        [--folds 5] [--workers 1,2] [--rsf-time-points 100] [--rsf-max-bins 64] [--patients 3000]
        [--columns 200] [--bootstrap-sizes 300,1000,3000] [--direct-max 3000] [--cases 24]
        [--skip cv,bootstrap,extract] [--json]

(a) A generated clinical table: ``--patients`` x ``--columns`` (default 3,000 x 200), seeded.
    Columns are correlated through 10 latent factors; 8 of them carry a known Weibull log-hazard,
    the rest are noise (20 of them binary); about 35 % censored. Written as the CSV that
    ``cv --table`` reads (case_id, time in days, event 0/1, the feature columns).
(b) ``python -m survival_core cv --table FILE --model NAME --repeats R --folds F --json`` per model,
    with 1 and 2 fold workers (``cv --workers``), each in its own process: wall seconds, pooled
    c-index and the peak RSS of its largest process (``os.wait4``). rsf runs with
    ``time_points=100`` (its step functions on 100 event-time quantiles; ``--rsf-time-points 0``
    for every training time) and ``max_bins=64`` (splits between 64 quantile bins of each
    feature; ``--rsf-max-bins 0`` to split at every value). Targets for 10 x 5 on 2 cores:
    coxnet <= 60 s, rsf <= 10 min, deepsurv <= 5 min.
(c) The BCa c-index interval (1,000 resamples) at each of ``--bootstrap-sizes`` patients: the
    direct path (``bca_interval`` recomputing Harrell's C on every resample and jackknife sample,
    which ``c_index_ci`` was before the pair-matrix fast path; only up to ``--direct-max``
    patients, since it takes about 5 minutes at 3,000) against ``c_index_ci``, side by side, with
    the largest absolute difference of value and end points.
(d) Radiomics (``wei2021``, no cache) of a generated imaging cohort of ``--cases`` cases with 1 and
    2 worker processes, each in its own process: cases/min, peak RSS of the main process and of
    the largest worker. The time of 1,000 cases is extrapolated from the measured rate (and marked
    so): generating and extracting 1,000 cases does not fit a benchmark run on 2 cores.

Everything is printed as one JSON object on the last line with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from survival_core.cli.output import progress, report  # noqa: E402

TARGETS_S = {"coxnet": 60.0, "rsf": 600.0, "deepsurv": 300.0}
INFORMATIVE = 8


def clinical_table(n: int, p: int, seed: int = 0) -> pd.DataFrame:
    """case_id, time (days), event (0/1) and ``p`` correlated feature columns with a known signal.

    Features: 10 latent factors, each column loads on one (correlation about 0.5 within a factor)
    plus its own noise; the last 20 columns are thresholded to 0/1. The log-hazard is linear in
    the first 8 columns; event times are Weibull (shape 1.3, median about 3 years at zero risk),
    censoring uniform administrative follow-up (1-8 years) with 5 % a year of loss to follow-up.
    """
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 10))
    loading = rng.uniform(0.5, 0.9, p) * rng.choice([-1.0, 1.0], p)
    X = factors[:, np.arange(p) % 10] * loading + rng.normal(size=(n, p)) * np.sqrt(1 - loading**2)
    binary = np.arange(p) >= p - min(20, p // 5)
    X[:, binary] = (X[:, binary] > 0).astype(float)
    beta = np.zeros(p)
    beta[:INFORMATIVE] = rng.uniform(0.25, 0.6, INFORMATIVE) * rng.choice([-1, 1], INFORMATIVE)
    log_hazard = X @ beta
    event_time = 1100.0 * (rng.exponential(size=n) * np.exp(-log_hazard)) ** (1 / 1.3)
    censor = np.minimum(rng.uniform(365, 8 * 365, n), rng.exponential(365 / 0.05, n))
    frame = pd.DataFrame(np.round(X, 4), columns=[f"x{j:03d}" for j in range(p)])
    frame.insert(0, "event", (event_time <= censor).astype(int))
    frame.insert(0, "time", np.ceil(np.minimum(event_time, censor)))  # whole days: tied times
    frame.insert(0, "case_id", [f"P{i:05d}" for i in range(n)])
    frame.attrs["log_hazard"] = log_hazard
    return frame


def run_measured(command: list[str]) -> tuple[str, float, float, int]:
    """Run ``command``; its stdout, wall seconds, peak RSS (MB, this child alone) and exit code."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return out.read(), seconds, usage.ru_maxrss / 1024, child.returncode


def last_json(stdout: str) -> dict:
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def time_cv(
    table: Path, models: list[str], repeats: int, folds: int, workers: list[int], params: dict
) -> dict:
    """(b): ``cv`` of each model with each number of fold workers, each run in its own process."""
    out = {}
    for name, n_workers in ((m, w) for m in models for w in workers):
        extra = [a for p in params.get(name, []) for a in ("--param", p)]
        progress(f"cv {name} {repeats} x {folds}, {n_workers} worker(s) {' '.join(extra)} ...")
        stdout, seconds, rss, code = run_measured(
            [sys.executable, "-m", "survival_core", "cv", "--table", str(table), "--model", name]
            + ["--repeats", str(repeats), "--folds", str(folds), "--workers", str(n_workers)]
            + [*extra, "--json"]
        )
        summary = last_json(stdout) if code == 0 else {}
        row = {
            "repeats": repeats,
            "folds": folds,
            "workers": n_workers,
            "params": params.get(name, []),
            "seconds": round(seconds, 1),
            "cv_seconds": summary.get("seconds"),
            "c_index": summary.get("c_index"),
            "ci": [summary.get("ci_low"), summary.get("ci_high")],
            "peak_rss_mb_largest_process": round(rss),
            "exit_code": code,
        }
        if repeats < 10:
            row["extrapolated_10x_seconds"] = round(seconds * 10 / repeats, 0)
        target = TARGETS_S.get(name)
        if target is not None:
            row["target_10x_seconds"] = target
        out[f"{name}_{n_workers}w"] = row
        progress(f"cv {name}: {row}")
    return out


def time_bootstrap(table: pd.DataFrame, sizes: list[int], direct_max: int) -> dict:
    """(c): the direct BCa path against ``c_index_ci`` on the table's first n patients."""
    from survival_core.evaluation.bootstrap import bca_interval, c_index_ci
    from survival_core.evaluation.concordance import harrell_c_index

    rng = np.random.default_rng(1)
    out = {}
    for n in sizes:
        part = table.iloc[:n]
        event, days = part["event"].to_numpy(bool), part["time"].to_numpy(float)
        risk = np.round(table.attrs["log_hazard"][:n] + rng.normal(0, 0.7, n), 2)  # tied risks
        start = time.perf_counter()
        fast = c_index_ci((event, days), risk, n_resamples=1000, seed=n)
        row = {"fast_seconds": round(time.perf_counter() - start, 3)}
        if n <= direct_max:
            progress(f"direct BCa bootstrap at n = {n} ...")
            start = time.perf_counter()
            direct = bca_interval(
                lambda e, t, r: harrell_c_index((e, t), r),
                event,
                days,
                risk,
                n_resamples=1000,
                seed=n,
            )
            row["direct_seconds"] = round(time.perf_counter() - start, 2)
            row["speedup"] = round(row["direct_seconds"] / row["fast_seconds"], 1)
            row["max_abs_diff"] = max(
                abs(a - b)
                for a, b in zip(
                    (fast.value, fast.ci_low, fast.ci_high),
                    (direct.value, direct.ci_low, direct.ci_high),
                    strict=True,
                )
            )
            row["identical"] = fast == direct
        row["c_index"] = [fast.value, fast.ci_low, fast.ci_high]
        out[str(n)] = row
        progress(f"bootstrap n = {n}: {row}")
    return out


def extract_stage(cohort: Path, workers: int) -> None:
    """Child process of (d): extract the cohort with ``workers`` and print one JSON line."""
    import SimpleITK as sitk

    from survival_core.engine import ProcessMapper, SerialMapper
    from survival_core.features.cohort import extract_cases
    from survival_core.features.presets import wei2021
    from survival_core.io.manifest import cohort_cases

    logging.getLogger("radiomics").setLevel(logging.CRITICAL)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    cases = cohort_cases(cohort)
    mapper = SerialMapper() if workers == 1 else ProcessMapper(workers)
    start = time.perf_counter()
    result = extract_cases(cases, wei2021(), mapper=mapper, use_cache=False)
    seconds = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "n_cases": len(cases),
                "n_failed": int(result.n_failed),
                "seconds": round(seconds, 2),
                "main_peak_rss_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                ),
                "worker_peak_rss_mb": round(children) if workers > 1 else None,
            }
        )
    )


def time_extraction(n_cases: int, folder: Path) -> dict:
    """(d): generate ``n_cases`` and extract them with 1 and 2 workers (each a fresh process)."""
    from survival_core.synthetic.generate import generate_cohort

    cohort = folder / "cohort"
    progress(f"generating {n_cases} imaging cases ...")
    start = time.perf_counter()
    generate_cohort(cohort, n=n_cases, seed=11, workers=2)
    out: dict = {
        "n_cases": n_cases,
        "generate_seconds_2_workers": round(time.perf_counter() - start, 1),
    }
    for workers in (1, 2):
        progress(f"extracting with {workers} worker(s) ...")
        stdout, seconds, rss, code = run_measured(
            [sys.executable, __file__, "--extract-stage", str(cohort), str(workers)]
        )
        row = last_json(stdout) if code == 0 else {"exit_code": code}
        if "seconds" in row:
            row["cases_per_min"] = round(60 * n_cases / row["seconds"], 1)
            row["extrapolated_1000_cases_min"] = round(1000 / row["cases_per_min"], 1)
        row["process_seconds"] = round(seconds, 1)
        out[f"workers_{workers}"] = row
        progress(f"extraction, {workers} worker(s): {row}")
    one, two = out["workers_1"].get("cases_per_min"), out["workers_2"].get("cases_per_min")
    if one and two:
        out["parallel_gain"] = round(two / one, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="coxnet,rsf,deepsurv")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workers", default="1,2", help="fold workers of (b), comma-separated")
    parser.add_argument(
        "--rsf-time-points",
        type=int,
        default=100,
        help="rsf's time_points in (b) (0: every training time, the model's default)",
    )
    parser.add_argument(
        "--rsf-max-bins",
        type=int,
        default=64,
        help="rsf's max_bins in (b) (0: split at every value, the model's default)",
    )
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--bootstrap-sizes", default="300,1000,3000")
    parser.add_argument(
        "--direct-max", type=int, default=3000, help="largest n for the slow direct bootstrap"
    )
    parser.add_argument("--cases", type=int, default=24, help="imaging cases for (d)")
    parser.add_argument("--skip", default="", help="comma-separated: cv, bootstrap, extract")
    parser.add_argument(
        "--extract-stage", nargs=2, metavar=("COHORT", "WORKERS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.extract_stage:
        extract_stage(Path(args.extract_stage[0]), int(args.extract_stage[1]))
        return
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    folder = Path(tempfile.mkdtemp(prefix="bench-thousands-"))
    try:
        table = clinical_table(args.patients, args.columns)
        path = folder / "clinical.csv"
        table.to_csv(path, index=False)
        result: dict = {
            "table": {
                "patients": len(table),
                "columns": args.columns,
                "censored_fraction": round(1 - table["event"].mean(), 3),
                "oracle_c_index": None,
                "cpus": os.cpu_count(),
            }
        }
        if "bootstrap" not in skip or "cv" not in skip:
            from survival_core.evaluation.concordance import harrell_c_index

            result["table"]["oracle_c_index"] = round(
                harrell_c_index(
                    (table["event"].to_numpy(bool), table["time"].to_numpy(float)),
                    table.attrs["log_hazard"],
                ),
                4,
            )
        if "bootstrap" not in skip:
            sizes = [int(s) for s in args.bootstrap_sizes.split(",") if s.strip()]
            result["bootstrap_1000_resamples"] = time_bootstrap(table, sizes, args.direct_max)
        if "cv" not in skip:
            models = [m.strip() for m in args.models.split(",") if m.strip()]
            workers = [int(w) for w in args.workers.split(",") if w.strip()]
            rsf = {"time_points": args.rsf_time_points, "max_bins": args.rsf_max_bins}
            params = {"rsf": [f"{name}={value}" for name, value in rsf.items() if value]}
            result["cv"] = time_cv(path, models, args.repeats, args.folds, workers, params)
        if "extract" not in skip:
            result["extraction"] = time_extraction(args.cases, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(result, args.json)


if __name__ == "__main__":
    main()
