"""Cohort extraction throughput on the Ray engine, 1 worker vs 2 (target: >= 1.7x on 2 cores).

    .venv/bin/python benchmarks/bench_scale.py --n 12 [--cohort FOLDER] [--preset wei2021] [--json]

A synthetic cohort of ``--n`` cases is generated in a temporary folder (or ``--cohort`` is reused),
then its radiomics (``--preset``, cache off so every case is computed) are extracted by a
:class:`~survival_core.engine.RayMapper` on a local Ray of 1 CPU, then of 2 CPUs. Ray is
restarted between the two so that "1 worker" is a whole 1-CPU Ray, not a 2-CPU Ray held back. Each
Ray is warmed first (every worker imports the extraction code) and only the extraction is timed.
Reports seconds and cases/s per worker count, the mean seconds of one case inside its worker (if it
grows with 2 workers, the workers slow each other down, e.g. sharing memory bandwidth, rather than
the engine adding overhead), the speed-up, and the load average before and after (a busy machine
makes the speed-up meaningless: run it on a quiet one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402
from survival_core.engine import RayMapper, shutdown  # noqa: E402
from survival_core.features.cohort import extract_cohort  # noqa: E402
from survival_core.features.presets import get_preset  # noqa: E402
from survival_core.synthetic.generate import generate_cohort  # noqa: E402

TARGET_SPEEDUP = 1.7


def _warm(seconds: float) -> None:
    """Import the extraction code in a worker and hold it, so each worker gets one of these."""
    import survival_core.features.cohort  # noqa: F401

    time.sleep(seconds)


def time_extraction(cohort: Path, preset: str, workers: int) -> dict:
    """Seconds and cases/s of extracting ``cohort`` on a fresh local Ray of ``workers`` CPUs."""
    mapper = RayMapper(num_cpus=workers)
    try:
        list(mapper.map_unordered(_warm, [1.0] * workers))
        result = extract_cohort(cohort, get_preset(preset), mapper=mapper, use_cache=False)
    finally:
        shutdown()
    return {
        "n_cases": result.n_cases,
        "seconds": round(result.seconds, 2),
        "cases_per_s": round(result.n_extracted / result.seconds, 3),
        "seconds_per_case": round(sum(o.seconds for o in result.outcomes) / result.n_cases, 2),
        "n_failed": result.n_failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="cases to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cohort", type=Path, help="reuse this cohort folder instead")
    parser.add_argument("--preset", default="wei2021")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    torch.set_num_threads(1)
    scratch = None
    cohort = args.cohort
    if cohort is None:
        scratch = Path(tempfile.mkdtemp(prefix="bench-scale-"))
        cohort = scratch / "cohort"
        progress(f"generating {args.n} cases in {cohort}")
        generate_cohort(cohort, n=args.n, seed=args.seed, workers=2)
    try:
        load_before = os.getloadavg()[0]
        runs = {}
        for workers in (1, 2):
            runs[workers] = time_extraction(cohort, args.preset, workers)
            progress(f"{workers} worker(s): {runs[workers]}")
        load_after = os.getloadavg()[0]
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    speedup = runs[2]["cases_per_s"] / runs[1]["cases_per_s"]
    report(
        {
            "n": runs[1]["n_cases"],
            "preset": args.preset,
            "cpus": os.cpu_count(),
            "workers_1": runs[1],
            "workers_2": runs[2],
            "speedup": round(speedup, 2),
            "target": TARGET_SPEEDUP,
            "meets_target": speedup >= TARGET_SPEEDUP,
            "load_average_before": round(load_before, 2),
            "load_average_after": round(load_after, 2),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
