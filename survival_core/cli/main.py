"""Argument parsing and dispatch for ``python -m survival_core``.

Each command module exposes ``register(subparsers)`` which adds its parser and sets ``func`` to a
handler taking the parsed namespace and returning an exit code. Expected failures
(:class:`RadSurvError`) print their message, not a traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from survival_core import __version__
from survival_core.cli import (
    cleanup,
    cohort,
    cv,
    demo_cohort,
    dsfr,
    explain,
    extract,
    fit,
    ibsi,
    prepare_demo,
    report,
    score,
    serve,
    train,
    users,
)
from survival_core.errors import RadSurvError

COMMANDS = (
    demo_cohort,
    cohort,
    prepare_demo,
    extract,
    ibsi,
    dsfr,
    cv,
    fit,
    score,
    explain,
    train,
    report,
    users,
    cleanup,
    serve,
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's sub-parser."""
    parser = argparse.ArgumentParser(
        prog="python -m survival_core",
        description="RadSurv: survival prediction from oncology imaging and clinical data.",
    )
    parser.add_argument("--version", action="version", version=f"radsurv {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except RadSurvError as error:
        sys.stderr.write(f"error: {error}\n")
        if getattr(args, "json", False):  # a script reading the last line learns why
            print(json.dumps({"error": str(error), "kind": type(error).__name__}))
        return 2
