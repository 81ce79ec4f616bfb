"""``demo-cohort``: write a synthetic cohort (liver or lung phantoms, CT or MR, masks, clinical
data, survival from a known hazard)."""

from __future__ import annotations

import argparse

from survival_core.cli import output
from survival_core.cli.arg_types import user_path
from survival_core.synthetic.sites import MODALITIES, SITES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo-cohort`` command."""
    parser = subparsers.add_parser(
        "demo-cohort",
        help="write a synthetic cohort with known ground truth",
        description="Write N synthetic cases (phantoms of the liver with HCC or of the chest with "
        "lung tumours, imaged by CT or MR, as DICOM with an RTSTRUCT or NIfTI with organ and GTV "
        "masks; clinical variables; survival from a known hazard) to a cohort folder. The same "
        "seed gives the same patients and outcomes at every site and modality, and the same "
        "cohort whatever the number of workers.",
    )
    parser.add_argument("--out", type=user_path, required=True, help="cohort folder to create")
    parser.add_argument("--n", type=int, default=200, help="number of cases (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: number of CPUs)"
    )
    parser.add_argument(
        "--risk-source",
        choices=["all", "tumour"],
        default="all",
        help="what drives the hazard: everything (default) or only the tumours (for checking "
        "that explanations point at the tumour)",
    )
    parser.add_argument(
        "--site",
        choices=list(SITES),
        default="liver",
        help="body site: liver (abdomen, HCC; the default) or lung (chest, lung tumours)",
    )
    parser.add_argument(
        "--modality",
        choices=list(MODALITIES),
        default="CT",
        help="CT (HU; the default) or MR (T1-weighted, arbitrary units with bias field)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the cohort and report its summary; returns the exit status."""
    from survival_core.synthetic.generate import generate_cohort

    result = generate_cohort(
        args.out,
        args.n,
        args.seed,
        workers=args.workers,
        progress=output.progress,
        risk_source=args.risk_source,
        site=args.site,
        modality=args.modality,
    )
    output.report(result, args.json)
    return 0
