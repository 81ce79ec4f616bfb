"""How commands report: readable lines for people, one JSON object on the last line with ``--json``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from survival_core.errors import InputError
from survival_core.io.atomic import json_ready
from survival_core.text import one_line

#: The exit status of a command whose standard output went away: 128 + SIGPIPE, as a shell
#: reports a command its reader's exit killed (`score ... | head -1`).
OUTPUT_CLOSED_STATUS = 141


class OutputClosed(Exception):
    """A standard stream (``stream``: 'stdout' or 'stderr') its reader stopped reading (EPIPE:
    `| head`, `| true`) or that the shell closed (`>&-`, None in Python): a command whose stdout
    it is stops, quietly (it failed with a traceback, then a second one writing its error to
    that stream)."""

    def __init__(self, stream: str) -> None:
        super().__init__(f"standard {stream[3:]} is closed")
        self.stream = stream

    def silence(self) -> None:
        """Point the stream's descriptor at the null device, so that the interpreter's flush at
        exit writes nowhere rather than failing again (the Python documentation's recipe)."""
        stream = getattr(sys, self.stream)
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # None, or not a file (a test's capture)
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def write_out(text: str, stream: str = "stdout") -> None:
    """Write ``text`` to sys.stdout (or sys.stderr) and flush it; :class:`OutputClosed` when its
    reader has gone or it is closed."""
    out = getattr(sys, stream)
    if out is None:
        raise OutputClosed(stream)
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise OutputClosed(stream) from None


def report(result: dict[str, Any], as_json: bool) -> None:
    """Print ``result``: ``key: value`` lines, or (``as_json``) one JSON object as the last line."""
    if as_json:
        write_out(json.dumps(json_ready(result)) + "\n")
    else:  # one_line: a case id's newline
        write_out("".join(f"{key}: {one_line(str(value))}\n" for key, value in result.items()))


def progress(message: str) -> None:
    """A progress line on stderr, so stdout's last line stays the JSON result; dropped where
    stderr is closed or its reader has gone (`2>&-`): the work and its result go on."""
    try:
        write_out(message + "\n", "stderr")
    except OutputClosed as closed:
        closed.silence()


def check_out(path: Path, folder: bool) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written: a file where a folder goes
    (``folder``) or a folder where a file goes, a path under a file, or under a folder not
    writable (a fit or an extraction failed there only after all its work). ``path`` comes
    expanded (:func:`~survival_core.cli.arg_types.user_path`)."""
    if folder and path.is_file():
        raise InputError(f"--out {path} is a file; give a folder.")
    if not folder and path.is_dir():
        raise InputError(f"--out {path} is a folder; give a file name.")
    parent = next(p for p in path.absolute().parents if p.exists())
    if not parent.is_dir():
        raise InputError(f"--out {path} cannot be written: {parent} is a file, not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {path} cannot be written: {parent} is not writable.")
