"""Time, disk size and peak memory of generating a synthetic cohort (target: 200 cases <= 120 s, <= 300 MB).

    .venv/bin/python benchmarks/bench_cohort.py --n 200 --workers 2 [--json]

Peak memory is the largest resident set of this process and of any worker process (getrusage).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from survival_core.cli.output import report
from survival_core.synthetic.generate import generate_cohort


def folder_megabytes(folder: Path) -> float:
    """Bytes of all files under ``folder``, in MB (10^6)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-cohort-")) / "cohort"
    try:
        start = time.perf_counter()
        summary = generate_cohort(out, n=args.n, seed=args.seed, workers=args.workers)
        seconds = time.perf_counter() - start
        result = {
            "n": args.n,
            "workers": args.workers,
            "seconds": round(seconds, 1),
            "megabytes_on_disk": round(folder_megabytes(out), 1),
            "peak_rss_mb_main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_rss_mb_worker": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
            ),
            "oracle_c_index": summary.get("oracle_c_index"),
            "censored_fraction": summary.get("censored_fraction"),
        }
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    report(result, args.json)


if __name__ == "__main__":
    main()
