"""``train``: a whole training run from one YAML config, tracked and registered (headless).

    python -m survival_core train --config assets/configs/wei2021.yaml [--activate] [--json]
    python -m survival_core train --resume RUN_ID [--json]

Progress goes to stderr; with ``--json`` the last line is {run_id, status, metrics, seconds,
model_version}. ``--ray-address`` (or ``RAY_ADDRESS``) sends extraction and folds to a Ray cluster.
"""

from __future__ import annotations

import argparse
import os

from survival_core.cli.arg_types import user_path
from survival_core.cli.output import progress, report
from survival_core.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train", help="run a training config (features, CV, final model), tracked and registered"
    )
    parser.add_argument("--config", type=user_path, metavar="FILE", help="run config (YAML)")
    parser.add_argument(
        "--resume", metavar="RUN_ID", help="finish an interrupted run, reusing its finished folds"
    )
    parser.add_argument(
        "--ray-address", metavar="ADDR", help="Ray cluster address (default: RAY_ADDRESS, or local)"
    )
    parser.add_argument(
        "--activate", action="store_true", help="make the new model the app's active model"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load (or recover) the config, run it, report."""
    import dataclasses

    from survival_core.runs.config import load_config, parse_config
    from survival_core.runs.runner import run_training
    from survival_core.runs.store import RunStore

    store = RunStore()
    if args.resume:
        config = parse_config(store.run_config(args.resume), source=f"run {args.resume}")
        if args.config and load_config(args.config).hash() != config.hash():
            raise ConfigError(
                f"--config {args.config} differs from the config run {args.resume} started with; "
                "resume without --config, or start a new run."
            )
    elif args.config:
        config = load_config(args.config)
    else:
        raise ConfigError("Give --config FILE (a new run) or --resume RUN_ID.")
    address = args.ray_address or os.environ.get("RAY_ADDRESS")
    if address:
        engine = dataclasses.replace(config.engine, kind="ray", address=address)
        config = dataclasses.replace(config, engine=engine)
    result = run_training(
        config, resume=args.resume, activate=args.activate, progress=progress, store=store
    )
    report(result.as_dict(), args.json)
    return 0
