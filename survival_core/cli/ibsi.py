"""``ibsi``: IBSI conformance of RadSurv's radiomics on the IBSI phantoms in ``../shared/data``
(:mod:`survival_core.features.conformance`): the CT phantom in configurations A to E (chapter 1) and
the phase 1 filter response maps (chapter 2). Without the data it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys

from survival_core.cli import output
from survival_core.cli.arg_types import user_path
from survival_core.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ibsi`` command."""
    parser = subparsers.add_parser(
        "ibsi",
        help="compare RadSurv's radiomics with the IBSI reference values (CT phantom, filters)",
        description="Extract the IBSI 1 CT phantom's features in configurations A-E with RadSurv "
        "(DICOM + RTSTRUCT and NIfTI) and compare every reference value that has a pyradiomics "
        "counterpart; filter the IBSI 2 phase 1 phantoms with RadSurv's filters and compare the "
        "response maps. Takes about a minute.",
    )
    parser.add_argument(
        "--data",
        type=user_path,
        help="the shared data folder (default: ../shared/data beside RadSurv)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument(
        "--markdown", action="store_true", help="print the README tables (markdown) instead"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the comparisons and report them (skipped, exit 0, when the data is absent; a folder
    given with --data that does not exist is refused)."""
    from survival_core.features.conformance import (
        SHARED_DATA,
        ibsi_report,
        markdown,
        missing_data,
    )

    shared_data = args.data or SHARED_DATA
    why = missing_data(shared_data)
    if why and args.data and not args.data.is_dir():  # a mistyped folder is no pass
        raise InputError(f"--data {args.data} is not a folder: {why}")
    if why:
        output.progress(f"skipped: {why}")
        output.report({"skipped": why}, args.json)
        return 0
    report = ibsi_report(shared_data, output.progress)
    if args.markdown:
        sys.stdout.write(markdown(report))
        return 0
    if not args.json:
        report = {
            "configs": {name: _short(counts) for name, counts in report["configs"].items()},
            "ibsi2": _short(report["ibsi2"]),
        }
    output.report(report, args.json)
    return 0


def _short(counts: dict) -> str:
    """``matched/compared`` and the deviations, for the readable report."""
    return (
        f"{counts['matched']}/{counts['compared']} matched, "
        f"{counts['documented_deviations']} documented deviations, "
        f"{counts['unexplained']} unexplained"
    )
