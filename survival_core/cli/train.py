"""``train``: a whole training run from one YAML config, tracked and registered (headless).

    python -m survival_core train --config assets/configs/wei2021.yaml [--activate] [--json]
    python -m survival_core train --resume RUN_ID [--json]

Progress goes to stderr, the run's notes on its data among it as 'note:' lines; the result
follows as ``key: value`` lines, or with ``--json`` as the last line {run_id, status, metrics,
seconds, model_version, notes} (``notes``: those notes, its ``reports/notes.txt``).
``--ray-address`` (or ``RAY_ADDRESS``; blank: none) sends extraction and folds to a Ray cluster;
``--ray-address local`` runs on this machine whatever the config or ``RAY_ADDRESS`` say. A resumed
run keeps the engine it started with, unless ``--config`` (the same config, its engine aside:
folds are reused across engines) or ``--ray-address`` gives another: a run started on a cluster
that is gone resumes on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import TYPE_CHECKING

from survival_core.cli.arg_types import user_path
from survival_core.cli.output import progress, report
from survival_core.errors import ConfigError

if TYPE_CHECKING:
    from survival_core.runs.config import EngineConfig

#: The ``--ray-address`` meaning no cluster: the config's engine on this machine (a private local
#: Ray for engine kind ray), whatever address the config, the resumed run or ``RAY_ADDRESS`` has.
NO_CLUSTER = "local"


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
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster address (default: RAY_ADDRESS, else the config's engine); "
        f"'{NO_CLUSTER}': this machine, no cluster",
    )
    parser.add_argument(
        "--activate", action="store_true", help="make the new model the app's active model"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load (or recover) the config, run it, report."""
    from survival_core.runs.config import load_config, parse_config
    from survival_core.runs.runner import run_training
    from survival_core.runs.store import RunStore

    store = RunStore()
    if args.resume:
        config = parse_config(store.run_config(args.resume), source=f"run {args.resume}")
        if args.config:
            given = load_config(args.config)
            if given.hash() != config.hash():
                raise ConfigError(
                    f"--config {args.config} differs from the config run {args.resume} started "
                    "with; resume without --config, or start a new run."
                )
            config = dataclasses.replace(config, engine=given.engine)  # where it runs now
    elif args.config:
        config = load_config(args.config)
    else:
        raise ConfigError("Give --config FILE (a new run) or --resume RUN_ID.")
    config = dataclasses.replace(config, engine=_engine(config.engine, args.ray_address))
    result = run_training(
        config, resume=args.resume, activate=args.activate, progress=progress, store=store
    )
    shown = result.as_dict()
    if not args.json:  # said on stderr as 'note:' lines, not again as a list
        del shown["notes"]
    report(shown, args.json)
    return 0


def _engine(engine: EngineConfig, given: str | None) -> EngineConfig:
    """The run's engine with the Ray address given (``--ray-address``, else ``RAY_ADDRESS``; blank
    is none, as a shell template's ``RAY_ADDRESS=" "`` is): a cluster address makes it Ray's;
    :data:`NO_CLUSTER` takes any address off (and ``RAY_ADDRESS`` out of this process, which Ray
    would read), so that a run started on a cluster that is gone resumes on this machine."""
    address = (given or "").strip() or os.environ.get("RAY_ADDRESS", "").strip()
    if address == NO_CLUSTER:
        os.environ.pop("RAY_ADDRESS", None)
        return dataclasses.replace(engine, address=None)
    if address:
        return dataclasses.replace(engine, kind="ray", address=address)
    return engine
