"""``report``: the tumor-board PDF of one case under a saved model."""

from __future__ import annotations

import argparse

from survival_core.cli.arg_types import user_path
from survival_core.cli.model_args import add_case_options, case_options
from survival_core.cli.output import check_out, progress, report
from survival_core.io.atomic import write_bytes


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report", help="write the tumor-board PDF of one case under a saved model"
    )
    parser.add_argument("--case", type=user_path, required=True, help="case folder or zip")
    parser.add_argument("--model", type=user_path, required=True, metavar="MODEL_DIR")
    parser.add_argument("--out", type=user_path, required=True, metavar="FILE.pdf")
    add_case_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score and explain the case (Grad-CAM overlay for image models), draw, write the PDF;
    report what ``score`` reports of the case (its warnings, the DICOM series read, a PET's
    uptake), and the PDF written."""
    from survival_core.cli.score import case_result as score_result
    from survival_core.cli.score import model_fitted_by, shown_score
    from survival_core.errors import InputError
    from survival_core.explain.case import explain_case
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model
    from survival_core.report.pdf import build_report, explanation_method

    if args.out.suffix.lower() != ".pdf":
        raise InputError(f"--out {args.out} should end in .pdf.")
    check_out(args.out, folder=False)  # before scoring and explaining, not after
    loaded = load_scoring_model(args.model)
    case = load_case(args.case, schema=loaded.schema, **case_options(args))
    progress(f"scoring {case.case_id}")
    score = score_result(case, loaded)
    method = explanation_method(loaded)
    progress(f"explaining ({method})")
    explanation = explain_case(case, loaded, method, top=10)
    pdf = build_report(case, loaded, score, explanation)
    try:  # whole or not at all: a full disk truncated the earlier report it replaced
        write_bytes(args.out, pdf)
    except OSError as err:
        raise InputError(f"Cannot write the report to {args.out}: {err.strerror}.") from err
    progress(f"wrote {args.out}")
    result = {
        **score,
        **model_fitted_by(loaded, args.json),  # as score gives it
        "overlay": explanation.map is not None,
        "out": str(args.out),
        "bytes": len(pdf),
    }
    shown = shown_score(result, args.json, loaded.card.endpoint.survival)  # as score prints it
    report(shown, args.json)
    return 0
