"""``cv``: cross-validate a survival model on feature tables with a chosen resampling protocol."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

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
from survival_core.io.atomic import json_ready, write_json, write_text

#: The options each protocol reads; any other of them given is refused (it ran ignored).
PROTOCOL_OPTIONS = {
    "nested_cv": ("repeats", "folds"),
    "leave_one_out": (),
    "fixed_split": ("test_fraction",),
}
DEFAULTS = {"repeats": 10, "folds": 5, "test_fraction": 0.2}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cv`` command."""
    parser = subparsers.add_parser("cv", help="cross-validate a survival model on feature tables")
    add_table_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument(
        "--protocol",
        choices=PROTOCOL_OPTIONS,
        default="nested_cv",
        help="resampling protocol (default: nested_cv)",
    )
    parser.add_argument(
        "--repeats", type=at_least(1), help=f"nested_cv: repeats (default: {DEFAULTS['repeats']})"
    )
    parser.add_argument(
        "--folds",
        type=at_least(2),
        help=f"nested_cv: folds per repeat (default: {DEFAULTS['folds']})",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        help=f"fixed_split: held-out share (default: {DEFAULTS['test_fraction']})",
    )
    parser.add_argument(
        "--horizons",
        help="td-AUC and calibration horizons in --time-unit, comma-separated (a table in months, "
        "--time-unit months: 12,24,36; a cohort's clinical.csv: days, 365,730,1095); default 1, "
        "2 and 3 years (365,730,1095 days); reported in days",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="resamples for the BCa CI (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=at_least(1),
        default=1,
        help="folds in this many processes at once (one thread each); the results do not change "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--out", type=user_path, help="write folds.csv, oof.csv and summary.json here"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def _horizons(text: str | None, time_unit: str, defaults: Sequence[float]) -> list[float]:
    """``--horizons``: times > 0 in ``time_unit``, comma-separated, in days (the table's times
    are: --time-unit months with 12,24,36 evaluated 12, 24 and 36 days); None: ``defaults``."""
    if text is None:
        return list(defaults)
    days = []
    for item in filter(str.strip, text.split(",")):
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(
                f"--horizons expects {time_unit} > 0, comma-separated (12,24 for months), got "
                f"{item.strip()!r}."
            )
        days.append(in_days(value, time_unit))
    if not days:  # '--horizons ""' ran with no td-AUC and no calibration, unsaid
        raise ConfigError(f"--horizons expects at least one time > 0 in {time_unit}.")
    return days


def _protocol_options(args: argparse.Namespace) -> None:
    """Refuse the resampling options the chosen protocol does not read (``--protocol fixed_split
    --repeats 5 --folds 3`` ran one 80/20 split), then set the defaults of those it reads."""
    ignored = [
        f"--{name.replace('_', '-')}"
        for name in DEFAULTS
        if getattr(args, name) is not None and name not in PROTOCOL_OPTIONS[args.protocol]
    ]
    if ignored:
        reads = ", ".join(f"--{n.replace('_', '-')}" for n in PROTOCOL_OPTIONS[args.protocol])
        raise ConfigError(
            f"--protocol {args.protocol} does not use {' and '.join(ignored)} (it reads "
            f"{reads or 'neither'}): leave them out, or choose the protocol that uses them."
        )
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)


def run(args: argparse.Namespace) -> int:
    """Run the protocol and report the pooled out-of-fold metrics."""
    from survival_core.engine import process_fold_map
    from survival_core.evaluation import splits
    from survival_core.io.load_warnings import warned_cases, warned_notes, write_load_warnings
    from survival_core.io.tables import load_model_table
    from survival_core.runs.config import with_run_params
    from survival_core.workflows.crossval import DEFAULT_HORIZONS, cross_validate
    from survival_core.workflows.training import model_factory, no_censored_warning

    _protocol_options(args)
    horizons = _horizons(args.horizons, args.time_unit, DEFAULT_HORIZONS)
    if args.out:
        check_out(args.out, folder=True)
    if args.bootstrap < 1:
        raise ConfigError(f"--bootstrap expects a whole number >= 1, got {args.bootstrap}.")
    table = load_model_table(table_paths(args), time_unit=args.time_unit, features=args.features)
    for note in table.notes:
        progress(f"note: {note}")
    warnings = no_censored_warning(table.y)
    for warning in warnings:
        progress(f"warning: {warning}")
    factory = model_factory(
        args.model,
        with_run_params(args.model, parse_params(args.param, args.time_unit), seed=args.seed),
        args.reduction,
        args.cohort,
        table.case_ids,
        progress,
    )
    # an image model's cases whose CT loaded with warnings (a label 2 taken as the GTV...)
    warned = factory.load_warnings(table.case_ids)
    event = table.y["event"]
    if args.protocol == "nested_cv":
        folds = splits.nested_cv(event, args.repeats, args.folds, seed=args.seed)
    elif args.protocol == "leave_one_out":
        folds = splits.leave_one_out(event, seed=args.seed)
    else:
        folds = splits.fixed_split(event, args.test_fraction, seed=args.seed)

    progress(
        f"{args.model}: {len(table.y)} patients, {table.X.shape[1]} columns, {len(folds)} folds"
    )
    result = cross_validate(
        table.X,
        table.y,
        factory,
        folds,
        case_ids=table.case_ids,
        horizons=horizons,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        map_folds=process_fold_map(args.workers),
        progress=progress,
    )
    summary = {"model": args.model, "protocol": args.protocol, **result.summary}
    if factory.images is not None:  # an image model: how many cases' CT loaded with warnings
        summary["n_warned"] = warned_cases(warned)
    for note in summary["preprocessing_notes"]:
        progress(f"note: {note}")
    for warning in summary.get("selection", {}).get("warnings", []):
        progress(f"warning: {warning}")
    if result.comparison is not None:
        progress("model comparison (pooled out-of-fold, same folds):")
        progress(result.comparison.round(3).to_string(index=False))
    if args.out:  # each file whole; no table of an earlier run left beside this one's
        write_text(args.out / "folds.csv", result.counted_folds().to_csv(index=False))
        write_text(args.out / "oof.csv", result.oof.to_csv(index=False))
        if result.comparison is not None:
            write_text(args.out / "comparison.csv", result.comparison.to_csv(index=False))
        else:  # an earlier `auto` run's candidates beside this run's model
            (args.out / "comparison.csv").unlink(missing_ok=True)
        if len(result.left_out):  # the test rows of categories their fold never trained on
            write_text(args.out / "left_out.csv", result.left_out.to_csv(index=False))
        else:
            (args.out / "left_out.csv").unlink(missing_ok=True)
        n_warned = write_load_warnings(warned, args.out)
        said_warned = warned_notes(n_warned, args.out)
        write_json(args.out / "summary.json", json_ready(summary))
    else:  # no folder to list them in: each said here
        said_warned = [
            f"case {row.case_id} loaded with a warning: {row.warning}"
            for row in warned.itertuples()
        ]
    for note in said_warned:
        progress(f"note: {note}")
    keys = (
        *("model", "n", "c_index", "ci_low", "ci_high", "fold_c_index_mean", "fold_c_index_sd"),
        *("uno_c_index", "uno_tau", "td_auc", "ibs", "ibs_range", "calibration"),
    )
    shown = {k: summary[k] for k in keys}
    if result.comparison is not None:
        shown["selection"] = summary["selection"]
        shown["comparison"] = result.comparison.to_dict("records")
    shown |= {"seconds": summary["seconds"], "protocol": args.protocol}
    shown |= {"warnings": warnings} if warnings else {}
    shown |= {"n_warned": summary["n_warned"]} if "n_warned" in summary else {}
    if args.json:  # the lines said on stderr, for a pipeline that reads the JSON alone
        shown["notes"] = [*table.notes, *summary["preprocessing_notes"], *said_warned]
        shown["left_out"] = result.left_out_records()
    report(shown, args.json)
    return 0
