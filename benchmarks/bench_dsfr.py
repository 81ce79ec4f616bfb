"""DSFR (Wang 2022) end to end on a synthetic cohort: U-Net Dice, early-recurrence AUCs, Cox c-index.

    .venv/bin/python benchmarks/bench_dsfr.py [--n 60] [--epochs 30] [--cohort DIR] [--threads 1] [--json]

Generates an ``--n`` case cohort (seeded) in a temporary folder, or reuses ``--cohort``, and runs
the ``dsfr`` command's pipeline: stratified development/held-out split, 2-D U-Net on the
development cases, held-out 3-D Dice, DSFR features of every case, logistic signatures (DSFR,
clinical, combined) with held-out ROC AUC and DeLong tests, Cox model of signature + clinical.
Reports the headline numbers and the seconds spent generating and running.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402
from survival_core.synthetic.generate import generate_cohort  # noqa: E402
from survival_core.workflows.dsfr_study import run_pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="cases to generate")
    parser.add_argument("--cohort", type=Path, help="reuse this cohort folder instead")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--slice-size", type=int, default=128)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-dsfr-") as tmp:
        cohort, generate_seconds = args.cohort, 0.0
        if cohort is None:
            cohort = Path(tmp) / "cohort"
            progress(f"generating {args.n} cases in {cohort}")
            start = time.perf_counter()
            generate_cohort(cohort, n=args.n, seed=args.seed, workers=1)
            generate_seconds = time.perf_counter() - start
        summary = run_pipeline(
            cohort,
            Path(tmp) / "out",
            epochs=args.epochs,
            slice_size=args.slice_size,
            test_fraction=args.test_fraction,
            seed=args.seed,
            device=args.device,
            progress=progress,
        )
    summary.pop("out")
    summary.update(
        {
            "generate_seconds": round(generate_seconds, 2),
            "epochs": args.epochs,
            "slice_size": args.slice_size,
            "threads": args.threads,
            "device": str(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
            if args.device == "auto"
            else args.device,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    )
    report(summary, args.json)


if __name__ == "__main__":
    main()
