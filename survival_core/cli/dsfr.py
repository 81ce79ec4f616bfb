"""``dsfr``: segmentation-feature radiomics (Wang 2022) on a cohort folder.

    python -m survival_core dsfr --cohort DIR --out OUT_DIR [--epochs N] [--slice-size N]
        [--test-fraction 0.2] [--seed S] [--json]

Splits the cases into development and held-out sets (stratified by early recurrence, seeded),
trains the tumour U-Net on the development cases, measures its Dice on the held-out cases, pools
the DSFR features of every case and evaluates early-recurrence signatures and the Cox model.
Writes OUT_DIR/dsfr.parquet (join it with clinical.csv in ``cv``/``fit``), OUT_DIR/unet/ (the
U-Net), OUT_DIR/segmentation.json (split, Dice), OUT_DIR/dsfr.failures.csv (the cases left out,
and why: unreadable, or a GTV thinner than a grid voxel), OUT_DIR/classification.json and
OUT_DIR/cox_model/ (model + card, for the study's report: it cannot score new cases). Without
the study's clinical columns (hbv, afp, albi_score) the study is skipped, said before the U-Net
trains and in the summary's ``study_skipped``; the U-Net and dsfr.parquet are still written.
OUT_DIR is written as a whole, as ``fit`` writes its folder: a re-run replaces every file of the
run before (a folder holding any file a run does not write, at any depth, is refused, naming
it, as is a second run into it while one runs).
"""

from __future__ import annotations

import argparse

from survival_core.cli.arg_types import user_path
from survival_core.cli.model_args import seed
from survival_core.cli.output import check_out, progress, report
from survival_core.io.locks import folder_lock

#: What a dsfr refused for another dsfr into its folder is told: the later would replace it.
ONE_RUN = (
    "wait for it to finish, or give another --out: each dsfr replaces the whole folder, so one "
    "of the two runs would be lost."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dsfr`` command."""
    parser = subparsers.add_parser(
        "dsfr",
        help="train a tumour U-Net, pool its features (DSFR) and evaluate early recurrence",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--cohort", required=True, type=user_path, help="cohort folder")
    parser.add_argument("--out", required=True, type=user_path, metavar="OUT_DIR")
    parser.add_argument(
        "--epochs", type=int, default=30, help="U-Net training epochs (default: %(default)s)"
    )
    parser.add_argument(
        "--slice-size",
        type=int,
        default=128,
        help="in-plane network grid, voxels (default: %(default)s; Wang: 256)",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=32,
        help="axial slices of the network grid (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=16, help="slices per U-Net batch (default: %(default)s)"
    )
    parser.add_argument(
        "--test-fraction", type=float, default=0.2, help="held-out share (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=seed, default=0, help="seeds the split and the U-Net (default: %(default)s)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the study and report its headline numbers."""
    from survival_core.workflows.dsfr_study import run_pipeline  # torch: only when run

    check_out(args.out, folder=True)
    with folder_lock(args.out.resolve(), "dsfr.lock", "dsfr", beside=True, advice=ONE_RUN):
        summary = run_pipeline(
            args.cohort,
            args.out,
            epochs=args.epochs,
            slice_size=args.slice_size,
            n_slices=args.slices,
            batch_size=args.batch_size,
            test_fraction=args.test_fraction,
            seed=args.seed,
            device=args.device,
            progress=progress,
        )
    report(summary, args.json)
    return 0
