"""``prepare-demo``: make the bundled demo cohort ready (what ``make run`` does before serving)."""

from __future__ import annotations

import argparse
import time

from survival_core.cli.output import progress, report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare-demo`` command."""
    parser = subparsers.add_parser(
        "prepare-demo",
        help="prepare the demo cohort, its radiomics and the default model (reused afterwards)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the demo cohort and report what was done."""
    from survival_core.workflows.demo import prepare_demo

    start = time.perf_counter()
    progress("Preparing the demo cohort and default model (first run only)...")
    summary = prepare_demo(progress=progress)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    done = [k for k in ("generated", "extracted", "trained") if summary[k]]
    progress("Demo ready (" + (", ".join(done) or "nothing to do") + ").")
    report(summary, args.json)
    return 0
