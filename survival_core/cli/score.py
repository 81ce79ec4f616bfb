"""``score``: risk, percentile, risk group and survival of one case with a saved model."""

from __future__ import annotations

import argparse
from pathlib import Path

from survival_core.cli.output import report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``score`` command."""
    parser = subparsers.add_parser(
        "score", help="score one case (folder or zip) with a saved model"
    )
    parser.add_argument("--case", type=Path, required=True, help="case folder or zip")
    parser.add_argument(
        "--model", type=Path, help="saved model folder (default: the demo cohort's default model)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the case and the model, score, report (survival keyed by months)."""
    from survival_core.errors import InputError
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.scoring import score_case

    folder = args.model or default_model_dir()
    if not (folder / "model.json").exists():
        raise InputError(
            f"No model at {folder}. Train one with `fit`, or run `make run` once to prepare the "
            "demo model."
        )
    result = score_case(load_case(args.case), load_scoring_model(folder)).as_dict()
    report(result, args.json)
    return 0
