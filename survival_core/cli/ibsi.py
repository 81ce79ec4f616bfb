"""``ibsi``: IBSI conformance of RadSurv's radiomics on the IBSI phantoms in ``../shared/data``
(:mod:`survival_core.features.conformance`): the CT phantom in configurations A to E (chapter 1) and
the phase 1 filter response maps (chapter 2). Exit status 1 when a value deviates unexplained (or
an image or mask diagnostic differs); 2 when a folder given with ``--data`` holds no IBSI data.
Without ``--data`` and without the data beside RadSurv it says so and exits 0.
"""

from __future__ import annotations

import argparse
from typing import Any

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
        "response maps. Takes about a minute. Exit status: 0 when every comparison matched or "
        "deviates as documented; 1 when a value deviates unexplained or an image or mask "
        "diagnostic differs; 2 when --data holds no IBSI data. Without --data and without the "
        "data beside RadSurv, the check is skipped (exit 0).",
    )
    parser.add_argument(
        "--data",
        type=user_path,
        help="the shared data folder (default: ../shared/data beside RadSurv, skipped if absent)",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print one JSON object last")
    shown.add_argument(
        "--markdown", action="store_true", help="print the README tables (markdown) instead"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the comparisons and report them; the exit status says whether any failed. Skipped
    (exit 0) when the data beside RadSurv is absent; a folder given with --data that holds none
    is refused (a CI check passed doing nothing)."""
    from survival_core.features.conformance import (
        SHARED_DATA,
        ibsi_report,
        markdown,
        missing_data,
    )

    shared_data = args.data or SHARED_DATA
    why = missing_data(shared_data)
    if why and args.data:
        raise InputError(f"--data {args.data} holds no IBSI data: {why}")
    if why:
        output.progress(f"skipped: {why}")
        output.report({"skipped": why}, args.json)
        return 0
    report = ibsi_report(shared_data, output.progress)
    failed = _failed(report)
    if failed:
        output.progress(f"IBSI conformance failed: {failed} comparison(s) unexplained.")
    if args.markdown:
        output.write_out(markdown(report))
    elif args.json:
        output.report({**report, "failed": failed}, True)
    else:
        configs = {name: _short(counts) for name, counts in report["configs"].items()}
        short = {"configs": configs, "ibsi2": _short(report["ibsi2"]), "failed": failed}
        output.report(short, False)
    return 1 if failed else 0


def _failed(report: dict[str, Any]) -> int:
    """The comparisons of ``report`` that fail: values deviating unexplained (the DICOM and NIfTI
    runs, the filters) and image or mask diagnostics that differ from the reference."""
    runs = [*report["configs"].values(), *report["nifti"].values(), report["ibsi2"]]
    diagnostics = [config["diagnostics"] for config in report["configs"].values()]
    unexplained = sum(run["unexplained"] for run in runs)
    return unexplained + sum(d["compared"] - d["matched"] for d in diagnostics)


def _short(counts: dict) -> str:
    """``matched/compared`` and the deviations, for the readable report."""
    return (
        f"{counts['matched']}/{counts['compared']} matched, "
        f"{counts['documented_deviations']} documented deviations, "
        f"{counts['unexplained']} unexplained"
    )
