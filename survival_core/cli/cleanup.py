"""``cleanup``: delete the uploads, caches and job logs unused for longer than the retention
period (:mod:`survival_core.runs.retention`), and report the bytes freed and the disk use left.

Never a registered model, a training run, a cohort (demo or imported), the keys, the audit log
or the users file. A deletion (not a dry run) is written to the audit log under the operating
system's user name.
"""

from __future__ import annotations

import argparse

from survival_core.cli import output


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cleanup`` command."""
    parser = subparsers.add_parser(
        "cleanup",
        help="delete expired uploads, caches and job logs (never models, runs or cohorts)",
        description="Delete what the data folder holds for a while only (uploaded cases, caches, "
        "feature tables, background job folders) once unused for longer than the retention "
        "period ($RADSURV_RETENTION_DAYS, default 30 days; 0 keeps everything). Each item is "
        "moved into the data folder's trash in one step, then deleted there.",
    )
    parser.add_argument(
        "--days", help="retention period in whole days (default: $RADSURV_RETENTION_DAYS or 30)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the cleanup, name each item on stderr and report the totals."""
    from survival_core.audit import audit, os_user
    from survival_core.paths import existing_data_root
    from survival_core.runs.retention import check_days, cleanup, disk_usage, format_bytes

    days = None if args.days is None else check_days(args.days, "--days")
    # never created: a mistyped RADSURV_DATA_DIR made an empty folder and reported 'deleted: 0'
    root = existing_data_root("it holds nothing to clean up")
    result = cleanup(days, dry_run=args.dry_run, root=root)
    verb = "would delete" if args.dry_run else "deleted"
    for item in result.removed:
        output.progress(
            f"{verb} {item.area} {item.path} ({format_bytes(item.bytes)}, "
            f"unused for {item.idle_days:.0f} days)"
        )
    for error in result.errors:
        output.progress(f"could not delete {error}")
    if result.removed and not args.dry_run:
        outcome = "error" if result.errors else "ok"
        audit(
            os_user(),
            "cleanup",
            outcome=outcome,
            deleted=len(result.removed),
            freed_bytes=result.freed_bytes,
        )
    summary = result.as_dict()
    if not args.json:
        summary["freed_bytes"] = format_bytes(result.freed_bytes)
        summary.pop("items")
    summary["usage_bytes"] = disk_usage(root)
    output.report(summary, args.json)
    return 1 if result.errors else 0
