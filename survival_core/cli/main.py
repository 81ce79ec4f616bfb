"""Argument parsing and dispatch for ``python -m survival_core``.

Each command module exposes ``register(subparsers)`` which adds its parser and sets ``func`` to a
handler taking the parsed namespace and returning an exit code. Expected failures
(:class:`RadSurvError`, a refused argument, a file that cannot be written, memory or disk running
out) print their message, not a traceback, and exit with status 2; with ``--json`` the last line
of stdout is then ``{"error": ..., "kind": ...}``. An interruption does the same with status 130
(Ctrl-C) or 143: SIGTERM (Slurm's ``scancel`` or time limit, ``kill``, a cancelled job) is raised
as :class:`Terminated`, a ``KeyboardInterrupt``, so that the clean-up Ctrl-C gets runs for it too
(a tracked run is marked failed, to be resumed, not left RUNNING). Either signal interrupts once:
the same again during the clean-up is ignored (``timeout`` sends it twice, to the command and to
its process group; a second Ctrl-C broke off the clean-up with a traceback at exit).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

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
from survival_core.cli.output import OUTPUT_CLOSED_STATUS, OutputClosed, progress, write_out
from survival_core.errors import RadSurvError, is_disk_full, memory_refusal
from survival_core.paths import data_root

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


class UsageError(Exception):
    """An argument argparse refused (its message), raised instead of argparse's exit."""


class _Parser(argparse.ArgumentParser):
    """argparse refusing by :class:`UsageError`, so that :func:`main` reports it as any other
    refusal (argparse exits before ``--json`` is known; a script found no JSON line). Options
    are taken only as spelled in full (its sub-parsers are of this class too): argparse took
    ``--js`` for ``--json``, which a refusal did not see, and an abbreviation in a script could
    come to mean another option when one is added."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "allow_abbrev": False})

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's sub-parser."""
    parser = _Parser(
        prog="python -m survival_core",
        description="RadSurv: survival prediction from oncology imaging and clinical data.",
    )
    parser.add_argument("--version", action="version", version=f"radsurv {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread where the signal came, as Ctrl-C's interruption is."""


#: Set when SIGTERM came: Ray, waiting on a task, raises the handler's :class:`Terminated` again
#: as a plain ``KeyboardInterrupt``, which was then reported as a Ctrl-C (130, not 143).
_terminated = threading.Event()


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    """SIGINT's and SIGTERM's handler: raise ``KeyboardInterrupt`` or :class:`Terminated`, once
    (the signal is ignored from then on; SIGKILL still ends the process)."""
    signal.signal(signum, signal.SIG_IGN)
    if signum == signal.SIGTERM:
        _terminated.set()
        raise Terminated(f"stopped by {signal.Signals(signum).name}")
    raise KeyboardInterrupt


@contextmanager
def _interruptible() -> Iterator[None]:
    """While the block runs, Ctrl-C and SIGTERM interrupt it once (:func:`_interrupt`), in the
    main thread, where Python runs signal handlers; a signal ignored on entry (a background job's
    Ctrl-C) stays ignored. The earlier handlers are put back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _terminated.clear()
    before = {
        sig: signal.signal(sig, _interrupt)
        for sig in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(sig) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _refused(message: str, kind: str, as_json: bool) -> None:
    """Say why a command stopped; with ``as_json`` a script reading the last line learns it."""
    progress(f"error: {message}")
    if as_json:
        write_out(json.dumps({"error": message, "kind": kind}) + "\n")


def _os_message(error: OSError) -> str:
    """An operating-system failure in words naming the file ('Not a directory: out/m'); of a
    folder's copy (``shutil.Error``, a list of every file that failed), the first file's."""
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        failed = error.args[0]
        _src, dst, why = failed[0]
        more = f" (and {len(failed) - 1} more file(s))" if len(failed) > 1 else ""
        return f"{why}: copying to {dst}{more}"
    where = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or error}{where}"


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit status, :data:`OUTPUT_CLOSED_STATUS` (141)
    without a word where standard output went away (`| head`, `>&-`): the command stops there,
    as a command its reader's exit kills by SIGPIPE."""
    try:
        return _main(argv)
    except OutputClosed as closed:
        closed.silence()
        return OUTPUT_CLOSED_STATUS


def _main(argv: list[str] | None) -> int:
    """:func:`main`, its output streams open."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        _refused(str(error), "UsageError", "--json" in argv)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    as_json = getattr(args, "json", False)
    try:
        with _interruptible():
            return int(args.func(args) or 0)
    except RadSurvError as error:
        _refused(str(error), type(error).__name__, as_json)
        return 2
    except OSError as error:  # an output folder under a file, a full disk, no permission
        logging.getLogger(__name__).debug("the command failed", exc_info=True)
        _refused(_os_message(error), type(error).__name__, as_json)
        return 2
    except KeyboardInterrupt as interruption:
        if isinstance(interruption, Terminated) or _terminated.is_set():
            _refused("interrupted (SIGTERM); nothing more was done.", "Terminated", as_json)
            return 128 + signal.SIGTERM
        _refused("interrupted; nothing more was done.", "KeyboardInterrupt", as_json)
        return 130
    except Exception as error:
        refusal = _machine_refusal(error)
        if refusal is None:
            raise
        logging.getLogger(__name__).debug("the command failed", exc_info=True)
        _refused(*refusal, as_json)
        return 2


def _machine_refusal(error: Exception) -> tuple[str, str] | None:
    """The message and kind of a failure of the machine, not of the input: its memory or disk
    ran out (:func:`~survival_core.errors.memory_refusal`, a full disk); None for another."""
    memory = memory_refusal(error)
    if memory is not None:
        return memory, "MemoryError"
    if is_disk_full(error):
        where = f"the data folder {data_root()}"
        return f"No space left on device ({where}): free space, run again.", "OSError"
    return None
