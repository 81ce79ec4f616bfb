"""``fit``: train one model on all rows of the tables and save what ``score`` and ``explain`` load."""

from __future__ import annotations

import argparse
import math
import time

from survival_core.cli.arg_types import user_path
from survival_core.cli.model_args import (
    add_model_arguments,
    add_table_arguments,
    at_least,
    in_days,
    parse_params,
    table_paths,
)
from survival_core.cli.output import check_out, progress, report
from survival_core.errors import ConfigError
from survival_core.io.locks import folder_lock

#: What a fit refused for another fit into its folder is told: the later would replace the model.
ONE_FIT = (
    "wait for it to finish, or give another --out: each fit replaces the whole folder, so one "
    "of the two models would be lost."
)

#: Folds of each --cv-repeats repeat unless --cv-folds says.
CV_FOLDS = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit`` command."""
    parser = subparsers.add_parser("fit", help="train a model on all rows and save it")
    add_table_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--out", type=user_path, required=True, metavar="MODEL_DIR")
    parser.add_argument(
        "--cut",
        choices=["median", "youden"],
        default="median",
        help="risk-group cut on training risk (default: median)",
    )
    parser.add_argument(
        "--horizon",
        type=float,
        help="--cut youden only: its horizon, in --time-unit (days for a cohort's clinical.csv; "
        "default: 2 years, 730 days)",
    )
    parser.add_argument(
        "--cv-repeats",
        type=at_least(0),
        default=0,
        help="also run N x --cv-folds nested CV and store its metrics in the model card "
        "(default: 0, none)",
    )
    parser.add_argument(
        "--cv-folds",
        type=at_least(2),
        help=f"with --cv-repeats: folds of each repeat (default: {CV_FOLDS}; fewer on a cohort "
        "of few events)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def _check_options(args: argparse.Namespace) -> None:
    """Refuse, before the fit, an option that would change nothing: ``--horizon`` without the
    Youden cut, ``--cv-folds`` without ``--cv-repeats`` (both ran ignored, unsaid); and a Youden
    horizon that is no time > 0."""
    if args.horizon is not None and args.cut != "youden":
        raise ConfigError(
            f"--horizon is the Youden cut's; --cut {args.cut} does not use it: add --cut youden, "
            "or leave --horizon out."
        )
    if args.horizon is not None and not (math.isfinite(args.horizon) and args.horizon > 0):
        raise ConfigError(
            f"--horizon expects {args.time_unit} > 0 for the Youden cut, got {args.horizon:g}."
        )
    if args.cv_folds is not None and args.cv_repeats == 0:
        raise ConfigError(
            f"--cv-folds {args.cv_folds} applies with --cv-repeats N (N >= 1), which cross-"
            "validates the model; without it no cross-validation runs: add --cv-repeats, or "
            "leave --cv-folds out."
        )


def run(args: argparse.Namespace) -> int:
    """Fit, save the model and its card, report the apparent (and CV) c-index."""
    from survival_core.runs.config import with_run_params
    from survival_core.workflows.training import train_model

    check_out(args.out, folder=True)
    _check_options(args)
    horizon = {}  # given with the table's --time-unit (24 months, not days); else 2 years
    if args.horizon is not None:
        horizon["horizon"] = in_days(args.horizon, args.time_unit)
    start = time.perf_counter()
    with folder_lock(args.out.resolve(), "fit.lock", "fit", beside=True, advice=ONE_FIT):
        summary = train_model(
            table_paths(args),
            args.model,
            with_run_params(args.model, parse_params(args.param, args.time_unit), seed=args.seed),
            args.out,
            reduction=args.reduction,
            features=args.features,
            time_unit=args.time_unit,
            cut=args.cut,
            **horizon,
            cv_repeats=args.cv_repeats,
            cv_folds=args.cv_folds or CV_FOLDS,
            horizon_option="--horizon",
            seed=args.seed,
            cohort=args.cohort,
            progress=progress,
        )
    summary["seconds"] = round(time.perf_counter() - start, 2)
    if not args.json and "left_out" in summary:  # one line per run, not a list's repr
        summary["left_out"] = (
            "; ".join(
                f"{r['case_id']} (fold {r['fold']}: {r['column']} {r['value']!r})"
                for r in summary["left_out"]
            )
            or "none"
        )
    report(summary, args.json)
    return 0
